"""Indexes for the lookups identity providers run before every write (issue 3, item 10).

Entra ID, Okta and the others match accounts with ``userName eq``, ``externalId eq`` and
``displayName eq`` filters. ``userName`` and ``displayName`` are caseExact false (RFC 7643 sections
4.1.1 and 4.2), so the filter compiler emits ``LOWER(<column>) = LOWER(%s)``: a plain index on the
column cannot serve that, an index on the expression ``LOWER(<column>)`` can (SQLite 3.9+ and
PostgreSQL both have expression indexes).

Those columns belong to the *site's* tables (``AUTH_USER_MODEL``, the configured group model),
which this app never alters: no field changes, no ``Meta.indexes`` on a model that is not ours.
So this migration adds only an index, found at migration time from the configured adapters
(``get_adapter("User")`` / ``get_adapter("Group")`` and their attribute maps), by raw
``CREATE INDEX IF NOT EXISTS`` (idempotent, and removed again by ``DROP INDEX IF EXISTS`` when
migrating backwards). ``externalId`` lives on our companion tables, where ``external_id`` already
has a plain index (caseExact true: plain equality, which that index serves).

A resource type whose model table does not exist yet when this runs (a group model created by a
later migration of the site), or whose attribute is computed or on a related model, gets no index;
a warning names it.
"""

from __future__ import annotations

import warnings
from typing import Any

from django.db import migrations, router

from django_scim.orm import indexes

#: (resource type, SCIM attribute) pairs whose ``eq`` lookups get an index.
LOOKUPS = (("User", "userName"), ("Group", "displayName"))


def index_name(table: str, column: str, *, lower: bool) -> str:
    """The name of the lookup index on ``table.column`` (stable: tests and DROP use it)."""
    return indexes.index_name(table, column, "lower" if lower else "eq")


def lookup_indexes(alias: str) -> list[tuple[str, str, str, bool]]:
    """``(index name, table, column, lower)`` for each configured lookup on database ``alias``."""
    from django_scim.adapters.registry import get_adapter, is_served

    found: list[tuple[str, str, str, bool]] = []
    for resource_type, path in LOOKUPS:
        if not is_served(resource_type):
            continue
        adapter = get_adapter(resource_type)
        model = adapter.get_model()
        if not router.allow_migrate_model(alias, model):
            continue
        attribute = adapter.find_attribute(path)
        mapping = next((m for p, _keys, m in adapter.get_attribute_map() if p.lower() == path.lower()), None)
        field = None
        if mapping is not None and mapping.lookup and "__" not in mapping.lookup:
            # The model's own columns only: a path through a relation (``a__b``) is another table.
            field = mapping.model_field(model)
        if attribute is None or field is None or field.column is None:
            warnings.warn(
                f"django_scim: no index for {resource_type} {path}: it is not mapped to a field of "
                f"{model._meta.label}; add one yourself if you filter on it.",
                RuntimeWarning,
                stacklevel=1,
            )
            continue
        column = field.column
        table = model._meta.db_table
        # caseExact false -> the compiler compares LOWER(column) = LOWER(value).
        lower = not attribute.case_exact
        found.append((index_name(table, column, lower=lower), table, column, lower))
    return found


def _supported(schema_editor: Any) -> bool:
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        return True
    warnings.warn(
        f"django_scim: lookup indexes are created on PostgreSQL and SQLite only, not on {vendor}; "
        "index LOWER(<userName column>) and LOWER(<displayName column>) yourself.",
        RuntimeWarning,
        stacklevel=1,
    )
    return False


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if not _supported(schema_editor):
        return
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    for name, table, column, lower in lookup_indexes(connection.alias):
        if table not in tables:
            warnings.warn(
                f"django_scim: table {table!r} does not exist yet; no index {name!r} on it. Run "
                f"CREATE INDEX {name} ON {table} (LOWER({column})) once it does.",
                RuntimeWarning,
                stacklevel=1,
            )
            continue
        expression = f"LOWER({quote(column)})" if lower else quote(column)
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({expression})")


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if not _supported(schema_editor):
        return
    for name, _table, _column, _lower in lookup_indexes(schema_editor.connection.alias):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0002_token_expiry_throttle_provisioning_log"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
