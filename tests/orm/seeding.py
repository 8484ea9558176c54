"""A deterministic, varied user population for the filter and listing tests (bulk, no HTTP)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User

from django_scim.models import ScimUser

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

FIRST = ["Ann", "bob", "Carla", "DAVE", "eve", "Frank", "gina", "Hugo", "Ines", "jo", "Kim", "O'Neil"]
LAST = ["Smith", "jones", "Brown", "TAYLOR", "wilson", "Evans", "thomas", "Roberts", "Li", "x_y", "50%"]
DOMAINS = ["example.com", "Example.org", "corp.example.COM", "mail.test"]
DEPARTMENTS = ["Sales", "sales", "R&D", "Tour Operations", "", "Support"]
ROLES = ["admin", "Dev", "viewer", "AUDITOR"]
EMAIL_TYPES = ["work", "home", "other", "Work"]
# Values with SQL and LIKE metacharacters, bound as parameters like any other.
ODD = ["x' OR 1=1 --", 'q"uote', "per%cent", "under_score", "back\\slash", ") OR 1=1"]


def _case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.3 else c for c in text)


def seed_users(count: int = 1000, *, seed: int = 9865, groups: int = 6) -> list[User]:
    """``count`` users, most provisioned "through SCIM" (companion + JSON), some made outside."""
    rng = random.Random(seed)
    start = datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)
    users: list[User] = []
    attributes: list[dict[str, Any] | None] = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = _case(rng, f"{first}.{last}.{i}")
        if rng.random() < 0.02:
            username = f"{rng.choice(ODD)}{i}"
        emails: list[dict[str, Any]] = []
        for n in range(rng.choice([0, 1, 1, 2, 3])):
            email: dict[str, Any] = {"value": _case(rng, f"{first}{n}.{i}@{rng.choice(DOMAINS)}")}
            if rng.random() < 0.85:
                email["type"] = rng.choice(EMAIL_TYPES)
            emails.append(email)
        if emails and rng.random() < 0.7:
            rng.choice(emails)["primary"] = True
        outside = rng.random() < 0.1
        main = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
        mirror = main["value"] if main else ""
        roll = rng.random()
        if roll < 0.04:
            mirror = f"site.edit{i}@{rng.choice(DOMAINS)}"  # changed by the site, not through SCIM
        elif roll < 0.06:
            mirror = ""  # cleared by the site
        if outside:
            mirror = "" if rng.random() < 0.2 else f"{first}.outside{i}@{rng.choice(DOMAINS)}"
        users.append(
            User(
                username=username,
                first_name=first if rng.random() < 0.9 else "",
                last_name=last if rng.random() < 0.85 else "",
                email=mirror,
                is_active=rng.random() < 0.8,
            )
        )
        if outside:
            attributes.append(None)
            continue
        doc: dict[str, Any] = {}
        if emails:
            doc["emails"] = emails
        if rng.random() < 0.6:
            doc["phoneNumbers"] = [
                {"value": f"+1-555-{rng.randint(0, 9999):04d}", "type": rng.choice(["work", "mobile"])}
                for _ in range(rng.randint(1, 2))
            ]
        for key, pool in (
            ("nickName", FIRST + ODD),
            ("title", ["Tour Guide", "tour guide", "Engineer", "", "CEO"]),
            ("displayName", [f"{first} {last}"]),
            ("userType", ["Employee", "Contractor", "intern"]),
            ("preferredLanguage", ["en-US", "fr", "de-CH"]),
        ):
            if rng.random() < 0.6:
                doc[key] = rng.choice(pool)
        if rng.random() < 0.5:
            doc["name"] = {"formatted": f"{first} {last}", "middleName": rng.choice(["J", "k", "Lee"])}
        if rng.random() < 0.4:
            doc["roles"] = [{"value": rng.choice(ROLES), "primary": rng.random() < 0.5}]
        if rng.random() < 0.3:
            doc["addresses"] = [
                {"type": "work", "locality": rng.choice(["Hollywood", "paris", "Zürich"]), "country": "US"}
            ]
        if rng.random() < 0.7:
            enterprise: dict[str, Any] = {"employeeNumber": str(rng.randint(1, 400))}
            if rng.random() < 0.8:
                enterprise["department"] = rng.choice(DEPARTMENTS)
            if rng.random() < 0.5:
                enterprise["costCenter"] = rng.choice(["4130", "4131", "A-1"])
            if rng.random() < 0.5:
                enterprise["manager"] = {"value": f"m-{rng.randint(1, 30)}", "displayName": rng.choice(FIRST)}
            doc[ENTERPRISE] = enterprise
        attributes.append(doc)
    User.objects.bulk_create(users)
    created = list(User.objects.order_by("pk"))
    companions = []
    for n, (user, stored) in enumerate(zip(created, attributes, strict=True)):
        if stored is None:
            continue
        moment = start + timedelta(days=n % 400, seconds=n * 37)
        companions.append(
            ScimUser(
                resource=user,
                external_id=None if rng.random() < 0.3 else _case(rng, f"ext-{rng.randint(1, 900)}"),
                attributes=stored,
                created=moment,
                last_modified=moment + timedelta(hours=rng.randint(0, 5000)),
            )
        )
    ScimUser.objects.bulk_create(companions)
    made = Group.objects.bulk_create([Group(name=f"{_case(rng, 'group')}-{n}") for n in range(groups)])
    through = User.groups.through
    links = [
        through(user_id=user.pk, group_id=group.pk)
        for user in created
        for group in made
        if rng.random() < 0.15
    ]
    through.objects.bulk_create(links)
    return created
