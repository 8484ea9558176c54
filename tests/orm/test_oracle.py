"""Correctness oracle (issue 3, point 4): the SQL compiler returns exactly the resources that the
reference matcher (:func:`django_scim.core.filter.matches`, RFC 7644 section 3.4.2.2) selects
from the rendered documents, for generated filters over a seeded population.

Runs on whichever database the settings name (SQLite by default, PostgreSQL with DATABASE_URL).
The generator stays where SQL and Python must agree by construction:

* case changes are made on ASCII letters only: SQLite's ``LOWER()`` folds ASCII only, so
  ``"ZÜRICH"`` and ``"zürich"`` differ there while Python's ``str.lower()`` equates them;
* everything else (operators, ``ne``/``pr``/``null`` rules, value paths, negation, string
  ordering, mixed types) is generated freely: ordering is code-point order on both sides.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from django.contrib.auth.models import User

from django_scim.adapters.registry import get_adapter
from django_scim.core.errors import InvalidFilter
from django_scim.core.filter import matches, parse_filter
from tests.orm.seeding import ENTERPRISE, seed_users

pytestmark = pytest.mark.django_db

FILTERS = 520

STRING_PATHS = [
    "userName",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "name.middleName",
    "displayName",
    "nickName",
    "title",
    "userType",
    "preferredLanguage",
    "externalId",
    "emails.value",
    "emails.type",
    "emails",
    "phoneNumbers.value",
    "phoneNumbers.type",
    "phoneNumbers",
    "roles.value",
    "addresses.locality",
    "groups.display",
    "groups.value",
    "groups.type",
    "employeeNumber",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:department",
    "costCenter",
    "manager.value",
    f"{ENTERPRISE}:manager.displayName",
    "id",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
]
BOOLEAN_PATHS = ["active", "emails.primary", "roles.primary"]
DATETIME_PATHS = ["meta.created", "meta.lastModified"]
PRESENT_PATHS = [
    *STRING_PATHS,
    *BOOLEAN_PATHS,
    *DATETIME_PATHS,
    "name",
    "emails",
    "addresses",
    "manager",
    ENTERPRISE + ":manager",
    "groups",
    "roles",
    "meta",
]
VALUE_PATHS = {
    "emails": ["value", "type", "primary"],
    "phoneNumbers": ["value", "type"],
    "roles": ["value", "primary"],
    "addresses": ["locality", "country", "type"],
    "groups": ["value", "display", "type"],
}
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


def _values(doc: Any, path: list[str]) -> list[Any]:
    """Values at a path in a rendered document (lists flattened), for drawing filter values."""
    current = [doc]
    for key in path:
        nxt: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            for element in items:
                if isinstance(element, dict) and key in element:
                    nxt.append(element[key])
        current = nxt
    out: list[Any] = []
    for item in current:
        out.extend(item if isinstance(item, list) else [item])
    return out


def _ascii_case(rng: random.Random, text: str) -> str:
    return "".join((c.swapcase() if c.isascii() and c.isalpha() and rng.random() < 0.4 else c) for c in text)


def _quote(text: str) -> str:
    import json

    return json.dumps(text)


class Generator:
    def __init__(self, rng: random.Random, docs: list[dict[str, Any]]) -> None:
        self.rng = rng
        self.docs = docs

    def pool(self, path: str) -> list[Any]:
        doc = self.rng.choice(self.docs)
        if path.startswith(ENTERPRISE + ":"):
            keys = [ENTERPRISE, *path[len(ENTERPRISE) + 1 :].split(".")]
        elif path.startswith("urn:ietf:params:scim:schemas:core:2.0:User:"):
            keys = path.rsplit(":", 1)[1].split(".")
        elif path in ("employeeNumber", "costCenter") or path.startswith("manager"):
            keys = [ENTERPRISE, *path.split(".")]
        else:
            keys = path.split(".")
        if keys[-1] in ("emails", "phoneNumbers"):
            keys.append("value")
        return _values(doc, keys)

    def string_value(self, path: str) -> str:
        rng = self.rng
        found = [v for v in self.pool(path) if isinstance(v, str)]
        if not found or rng.random() < 0.1:
            return rng.choice(["", "zzz", "x' OR 1=1 --", "%", "_", "a", "\\", "Ä"])
        value = rng.choice(found)
        cut = rng.random()
        if cut < 0.3 and len(value) > 2:
            i = rng.randrange(len(value) - 1)
            value = value[i : i + rng.randint(1, 4)]
        if path not in ("id", "externalId", "groups.value") or rng.random() < 0.2:
            value = _ascii_case(rng, value)
        return value

    def attr_exp(self) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.12:
            return f"{rng.choice(PRESENT_PATHS)} pr"
        if kind < 0.2:
            path = rng.choice(BOOLEAN_PATHS)
            return f"{path} {rng.choice(['eq', 'ne'])} {rng.choice(['true', 'false'])}"
        if kind < 0.27:
            path = rng.choice(DATETIME_PATHS)
            doc = rng.choice(self.docs)
            stamp = doc["meta"][path.split(".")[1]]
            return f"{path} {rng.choice(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])} {_quote(stamp)}"
        if kind < 0.32:
            return f"{rng.choice(PRESENT_PATHS)} {rng.choice(['eq', 'ne'])} null"
        path = rng.choice(STRING_PATHS)
        op = rng.choice(OPS)
        if path == "id" and op not in ("eq", "ne"):
            op = "eq"
        return f"{path} {op} {_quote(self.string_value(path))}"

    def element_exp(self, attr: str, depth: int) -> str:
        rng = self.rng
        sub = rng.choice(VALUE_PATHS[attr])
        roll = rng.random()
        if depth < 2 and roll < 0.2:
            op = rng.choice(["and", "or"])
            return f"{self.element_exp(attr, depth + 1)} {op} {self.element_exp(attr, depth + 1)}"
        if depth < 2 and roll < 0.3:
            return f"not ({self.element_exp(attr, depth + 1)})"
        if roll < 0.4:
            return f"{sub} pr"
        if sub == "primary":
            return f"primary {rng.choice(['eq', 'ne'])} {rng.choice(['true', 'false'])}"
        op = rng.choice(OPS)
        if attr == "groups" and sub == "value" and op not in ("eq", "ne"):
            op = "eq"
        return f"{sub} {op} {_quote(self.string_value(f'{attr}.{sub}'))}"

    def value_path(self) -> str:
        rng = self.rng
        attr = rng.choice(list(VALUE_PATHS))
        text = f"{attr}[{self.element_exp(attr, 0)}]"
        if attr == "emails" and rng.random() < 0.3:
            # Microsoft Entra ID's form (shared/README): emails[type eq "work"].value eq "x".
            text += f".value {rng.choice(['eq', 'co', 'ne'])} {_quote(self.string_value('emails.value'))}"
        return text

    def filter(self, depth: int = 0) -> str:
        rng = self.rng
        roll = rng.random()
        if depth < 3 and roll < 0.25:
            return f"({self.filter(depth + 1)}) {rng.choice(['and', 'or'])} ({self.filter(depth + 1)})"
        if depth < 3 and roll < 0.35:
            return f"not ({self.filter(depth + 1)})"
        if roll < 0.55:
            return self.value_path()
        return self.attr_exp()


def _sql_ids(adapter: Any, text: str) -> set[str]:
    rows = adapter.filter_queryset(adapter.get_queryset(), text)
    return {str(value) for value in rows.values_list(f"{adapter.companion_accessor}__id", flat=True)}


def _smallest_disagreement(adapter: Any, tree: Any, docs: list[dict[str, Any]]) -> str:
    """The deepest sub-filter on which SQL and the matcher disagree (for the failure message)."""
    from django_scim.core.filter import And, Not, Or

    rt = adapter.resource_type
    children = (
        [tree.left, tree.right]
        if isinstance(tree, And | Or)
        else [tree.expr]
        if isinstance(tree, Not)
        else []
    )
    for child in children:
        expected = {doc["id"] for doc in docs if matches(child, doc, rt)}
        if _sql_ids(adapter, str(child)) != expected:
            return _smallest_disagreement(adapter, child, docs)
    return str(tree)


def test_sql_compiler_agrees_with_the_reference_matcher() -> None:
    """>= 1,000 users, >= 500 generated filters: SQL ids == matcher ids (RFC 7644 3.4.2.2)."""
    began = time.monotonic()
    seed_users(1000)
    adapter = get_adapter("User")
    users = list(adapter.get_queryset())
    docs = adapter.render_many(users)
    assert len(docs) == User.objects.count() >= 1000
    rt = adapter.resource_type
    generator = Generator(random.Random(7644), docs)
    checked = refused = nonempty = 0
    texts: set[str] = set()
    while checked < FILTERS:
        text = generator.filter()
        if text in texts:
            continue
        texts.add(text)
        tree = parse_filter(text, known_urns=rt.schema_ids)
        try:
            expected = {doc["id"] for doc in docs if matches(tree, doc, rt)}
        except InvalidFilter:
            with pytest.raises(InvalidFilter):
                list(adapter.filter_queryset(adapter.get_queryset(), text))
            refused += 1
            continue
        got_ids = _sql_ids(adapter, text)
        assert got_ids == expected, (
            f"{text}\nsmallest disagreeing part: {_smallest_disagreement(adapter, tree, docs)}\n"
            f"only SQL: {sorted(got_ids - expected)[:5]}\nonly matcher: {sorted(expected - got_ids)[:5]}"
        )
        checked += 1
        nonempty += bool(expected) and len(expected) < len(docs)
    assert checked >= 500
    print(
        f"oracle: {len(docs)} users, {checked} filters compared, {refused} refused by both, "
        f"{nonempty} selective, {time.monotonic() - began:.1f}s"
    )
    # The generator must produce selective filters, not only all-or-nothing ones.
    assert nonempty >= checked // 3, (nonempty, checked)
