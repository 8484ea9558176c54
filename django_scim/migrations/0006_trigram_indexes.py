"""Trigram indexes for substring filters on ``emails`` (issue 7): PostgreSQL only.

``filter=emails.value co "..."`` (``sw``, ``ew`` too) is answered through a prefilter that
``GIN (LOWER(...) gin_trgm_ops)`` indexes serve: on the text of the ``emails`` array in the User
companion's JSON, and on the column a ``PrimaryValue`` mirrors the primary address into
(``user.email``). See :mod:`django_scim.orm.trigram` for why the prefilter is exact.

This installs the ``pg_trgm`` extension (trusted since PostgreSQL 13, so a database owner may);
where it cannot, a warning says so and filters stay exact but unindexed. On other databases it
does nothing. Like migration 0003 it finds the tables through the configured adapters and adds
indexes to the site's user table without altering it (``CREATE INDEX IF NOT EXISTS``, dropped
again when migrating backwards; the extension stays).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

from django.db import DatabaseError, migrations, router, transaction

from django_scim.orm import indexes, trigram

#: (resource type, multi-valued attribute) whose substring filters get trigram indexes.
INDEXED_ATTRIBUTES = (("User", "emails"),)


class TrigramIndex(NamedTuple):
    """One ``GIN (LOWER(<expression>) gin_trgm_ops)`` index."""

    name: str
    table: str
    expression: str


def trigram_indexes(alias: str, quote: Any) -> list[TrigramIndex]:
    """The indexes for :data:`INDEXED_ATTRIBUTES` under the configured adapters, on ``alias``:
    the JSON text in the companion table, and the mirrored column when it is one of the model's."""
    from django_scim.adapters.registry import get_adapter, is_served
    from django_scim.orm.mapping import PrimaryValue

    found: list[TrigramIndex] = []
    for resource_type, name in INDEXED_ATTRIBUTES:
        if not is_served(resource_type):
            continue
        adapter = get_adapter(resource_type)
        companion = adapter.get_companion_model()
        if router.allow_migrate_model(alias, companion):
            table = companion._meta.db_table
            column = companion._meta.get_field("attributes").column
            found.append(
                TrigramIndex(
                    indexes.index_name(table, f"{column}_{name}", "trgm"),
                    table,
                    trigram.json_text(quote(column), (name,)),
                )
            )
        model = adapter.get_model()
        mapping = next((m for p, _keys, m in adapter.get_attribute_map() if p.lower() == name.lower()), None)
        if not isinstance(mapping, PrimaryValue) or not mapping.lookup or "__" in mapping.lookup:
            if mapping is not None:
                warnings.warn(
                    f"django_scim: no trigram index for {resource_type} {name}: it is mirrored through "
                    f"{mapping.lookup!r}, not a field of {model._meta.label}.",
                    RuntimeWarning,
                    stacklevel=1,
                )
            continue
        if router.allow_migrate_model(alias, model):
            field = mapping.model_field(model)
            assert field is not None and field.column is not None  # PrimaryValue reads a text column.
            table = model._meta.db_table
            column = field.column
            found.append(TrigramIndex(indexes.index_name(table, column, "trgm"), table, quote(column)))
    return found


def create_indexes(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        warnings.warn(
            f"django_scim: pg_trgm could not be installed ({exc}); substring filters on emails stay "
            "exact but unindexed. Install it (CREATE EXTENSION pg_trgm) and run this migration again.",
            RuntimeWarning,
            stacklevel=1,
        )
        return
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    for index in trigram_indexes(connection.alias, quote):
        if index.table in tables:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(index.name)} ON {quote(index.table)} "
                f"USING gin (LOWER({index.expression}) gin_trgm_ops)"
            )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for index in trigram_indexes(schema_editor.connection.alias, quote):
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(index.name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0005_companion_deleted"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
