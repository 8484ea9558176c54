"""Trigram indexes for substring filters on ``emails`` (issue 7): PostgreSQL only.

``filter=emails.value co "..."`` (``sw``, ``ew`` too) is answered through a prefilter that
``GIN (LOWER(...) gin_trgm_ops)`` indexes serve: on the text of the ``emails`` array in the User
companion's JSON, and on the column a ``PrimaryValue`` mirrors the primary address into
(``user.email``). See :mod:`django_scim.orm.trigram` for why the prefilter is exact.

This installs the ``pg_trgm`` extension (trusted since PostgreSQL 13, so a database owner may);
where it cannot, a warning says so and filters stay exact but unindexed. On other databases it
does nothing. Like migration 0003 it adds indexes to the site's user table without altering it
(``CREATE INDEX IF NOT EXISTS``, dropped again when migrating backwards).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from django_scim.orm import trigram


def create_indexes(apps: Any, schema_editor: Any) -> None:
    trigram.create_indexes(schema_editor)


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    trigram.drop_indexes(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0005_companion_deleted"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
