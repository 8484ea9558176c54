#!/usr/bin/env python
"""Seed the benchmark data set through the ORM, in bulk: ``python benchmarks/seed.py --users N``.

What it writes (after wiping users, groups, their SCIM companions and SCIM tokens):

- N users ``user{i}@example.com`` (i < N) with first/last name, ``email`` (the mirrored primary
  address), ``is_active``, and a :class:`~django_scim.models.ScimUser` companion holding the SCIM id
  (a UUID), ``externalId`` ``ext-{i}`` and ``emails`` (one primary work address) in its JSONField:
  the same rows a SCIM POST would have made.
- 100 groups with :class:`~django_scim.models.ScimGroup` companions: ``bench-big`` holding users
  0..9,999 (all users when N < 10,000) and ``bench-00``..``bench-98`` with 100 random members each
  (a seeded RNG, so every run seeds the same memberships).
- A SCIM token, printed on stdout: ``Authorization: Bearer <token>``.

Rows go in with ``bulk_create`` in batches (HTTP would take hours at N = 1,000,000), then
``VACUUM ANALYZE`` on PostgreSQL so the planner has statistics for the fresh tables.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._setup import configure_django, ensure_environment  # noqa: E402

BATCH_SIZE = 5_000
BIG_GROUP = "bench-big"
BIG_GROUP_SIZE = 10_000
SMALL_GROUPS = 99
SMALL_GROUP_SIZE = 100
RANDOM_SEED = 7
TOKEN_NAME = "benchmark"
#: ``make_password(None)`` semantics without its per-row random string: "!" marks it unusable.
UNUSABLE_PASSWORD = "!benchmark-unusable"


@dataclass(frozen=True)
class SeedResult:
    """What the runner needs from a seeding."""

    users: int
    token: str
    big_group_id: str
    seconds: float


def user_name(i: int) -> str:
    """``userName`` of seeded user ``i``."""
    return f"user{i}@example.com"


def external_id(i: int) -> str:
    """``externalId`` of seeded user ``i``."""
    return f"ext-{i}"


def _batches(total: int, size: int = BATCH_SIZE) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def wipe() -> None:
    """Remove every user, group, companion, membership and token (TRUNCATE on PostgreSQL)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.models import Model

    from django_scim.models import ScimGroup, ScimToken, ScimUser

    user_model = get_user_model()
    models: list[type[Model]] = [ScimUser, ScimGroup, ScimToken, user_model.groups.through, Group, user_model]
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            # CASCADE reaches the admin log and permission links; RESTART IDENTITY makes user i pk i+1.
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return
    for model in models:
        model._default_manager.all().delete()


def seed(users: int, *, verbose: bool = True) -> SeedResult:
    """Wipe and seed ``users`` users and 100 groups; returns the token and the big group's SCIM id."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from django_scim.models import ScimGroup, ScimToken, ScimUser

    def say(message: str) -> None:
        if verbose:
            print(f"seed: {message}", file=sys.stderr, flush=True)

    started = time.monotonic()
    user_model = get_user_model()
    rng = random.Random(RANDOM_SEED)
    wipe()
    user_pks: list[int] = []
    with transaction.atomic():
        for batch in _batches(users):
            rows = [
                user_model(
                    username=user_name(i),
                    email=user_name(i),
                    first_name=f"First{i}",
                    last_name=f"Last{i}",
                    is_active=True,
                    password=UNUSABLE_PASSWORD,
                )
                for i in batch
            ]
            # PostgreSQL returns the new primary keys from bulk_create (RETURNING).
            created = user_model._default_manager.bulk_create(rows, batch_size=BATCH_SIZE)
            user_pks.extend(row.pk for row in created)
            ScimUser.objects.bulk_create(
                [
                    ScimUser(
                        id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        resource_id=pk,
                        external_id=external_id(i),
                        attributes={"emails": [{"value": user_name(i), "type": "work", "primary": True}]},
                    )
                    for i, pk in zip(batch, (row.pk for row in created), strict=True)
                ],
                batch_size=BATCH_SIZE,
            )
        say(f"{users} users in {time.monotonic() - started:.1f}s")

        names = [BIG_GROUP, *(f"bench-{g:02d}" for g in range(SMALL_GROUPS))]
        groups = Group.objects.bulk_create([Group(name=name) for name in names])
        ScimGroup.objects.bulk_create(
            [ScimGroup(id=uuid.UUID(int=rng.getrandbits(128), version=4), resource=g) for g in groups]
        )
        through = user_model.groups.through
        memberships = [through(user_id=pk, group_id=groups[0].pk) for pk in user_pks[:BIG_GROUP_SIZE]]
        for group in groups[1:]:
            picked = rng.sample(user_pks, min(SMALL_GROUP_SIZE, len(user_pks)))
            memberships.extend(through(user_id=pk, group_id=group.pk) for pk in picked)
        through.objects.bulk_create(memberships, batch_size=BATCH_SIZE)
        say(f"{len(groups)} groups, {len(memberships)} memberships")
        _row, token = ScimToken.issue(TOKEN_NAME)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    big_id = str(ScimGroup.objects.get(resource=groups[0]).id)
    elapsed = time.monotonic() - started
    say(f"done in {elapsed:.1f}s")
    return SeedResult(users=users, token=token, big_group_id=big_id, seconds=elapsed)


def main(argv: Sequence[str]) -> int:
    ensure_environment(__file__, argv, ["django", "psycopg"])
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, required=True, help="number of users N")
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/name of a migrated database (default: $DATABASE_URL, "
        "else the example project's SQLite file)",
    )
    args = parser.parse_args(argv)
    if args.users < 0:
        parser.error("--users must be >= 0")
    configure_django(args.database_url or os.environ.get("DATABASE_URL", ""))
    result = seed(args.users)
    print(result.token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
