"""Substring filters served by trigram indexes (PostgreSQL ``pg_trgm``).

``emails.value co "1234"`` is an ``EXISTS`` over the elements of the JSON array, with the primary
element's value read from the mirrored column (``user.email``): exact, but no index can serve it,
so every user's document is unpacked (issue 7 measured 0.003 of the stack's limit at 100,000
users). A substring can still be *pre*-filtered by index: if an element's value contains the text,
then so does the text of the whole JSON array (``attributes #>> '{emails}'``), as long as the text
has no character that JSON escapes (``"``, ``\\``, controls), and so does the mirrored column. Both
are ``LOWER(<text>) LIKE LOWER('%<text>%')``, the form a ``gin_trgm_ops`` index on ``LOWER(<text>)``
answers (migration 0006 creates them). The compiler adds

    pk IN (SELECT resource_id FROM companion WHERE LOWER(json text) LIKE ...
           UNION ALL SELECT pk FROM model WHERE LOWER(mirror) LIKE ...)

in front of the exact condition: PostgreSQL turns it into a semi-join that reads the few
candidate rows through both indexes, and the exact condition then runs on those alone. The
prefilter is a necessary condition only (it never decides a match), so results stay those of the
reference matcher. SQLite has no trigram index and gets the exact condition alone.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import router

if TYPE_CHECKING:
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

#: (resource type, multi-valued attribute) whose substring filters get trigram indexes.
INDEXED_ATTRIBUTES = (("User", "emails"),)
#: Operators whose matches all contain the compared text.
SUBSTRING_OPERATORS = frozenset({"co", "sw", "ew"})
#: The longest identifier PostgreSQL keeps (NAMEDATALEN - 1).
MAX_NAME_LENGTH = 63


def usable_text(value: object) -> bool:
    """Whether ``value`` appears unchanged in the JSON text of a string containing it."""
    return isinstance(value, str) and bool(value) and not any(c in '"\\' or c < " " for c in value)


def like_pattern(value: str) -> str:
    """``LIKE`` pattern of the strings containing ``value`` (backslash is PostgreSQL's escape)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def json_text(column: str, keys: Sequence[str]) -> str:
    """SQL of the text of the JSON value at ``keys`` in ``column`` (keys inlined as a constant,
    so that the expression is the one the index was built on, whatever the parameter binding)."""
    elements = ",".join('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in keys)
    literal = "'{" + elements.replace("'", "''") + "}'"
    return f"({column} #>> {literal})"


@dataclass(frozen=True)
class TrigramIndex:
    """One ``GIN (LOWER(<expression>) gin_trgm_ops)`` index."""

    name: str
    table: str
    expression: str

    def create_sql(self, quote: Any) -> str:
        return (
            f"CREATE INDEX IF NOT EXISTS {quote(self.name)} ON {quote(self.table)} "
            f"USING gin (LOWER({self.expression}) gin_trgm_ops)"
        )


def index_name(table: str, column: str, suffix: str) -> str:
    name = f"scim_{table}_{column}_{suffix}"
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.md5(f"{table}.{column}.{suffix}".encode(), usedforsecurity=False).hexdigest()[:8]
        name = f"scim_{table[:20]}_{column[:16]}_{digest}_{suffix}"
    return name.lower()


def trigram_indexes(alias: str, quote: Any) -> list[TrigramIndex]:
    """The indexes for :data:`INDEXED_ATTRIBUTES` under the configured adapters, on ``alias``:
    the JSON text in the companion table, and the mirrored column when it is one of the model's."""
    from ..adapters.registry import get_adapter, is_served
    from .mapping import PrimaryValue

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
                    index_name(table, f"{column}_{name}", "trgm"), table, json_text(quote(column), (name,))
                )
            )
        model = adapter.get_model()
        mapping = next((m for p, _keys, m in adapter.get_attribute_map() if p.lower() == name.lower()), None)
        if not isinstance(mapping, PrimaryValue) or "__" in mapping.lookup:
            if mapping is not None:
                warnings.warn(
                    f"django_scim: no trigram index for {resource_type} {name}: it is mirrored through "
                    f"{mapping.lookup!r}, not a field of {model._meta.label}.",
                    RuntimeWarning,
                    stacklevel=1,
                )
            continue
        if router.allow_migrate_model(alias, model):
            field = model._meta.get_field(mapping.lookup).column
            table = model._meta.db_table
            found.append(TrigramIndex(index_name(table, field, "trgm"), table, quote(field)))
    return found


def create_indexes(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Install ``pg_trgm`` and create the indexes (PostgreSQL only; a warning where impossible)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(using=connection.alias):
            # A trusted extension since PostgreSQL 13: a database owner may install it.
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        warnings.warn(
            f"django_scim: pg_trgm could not be installed ({exc}); substring filters on emails stay "
            "exact but unindexed. Install it (CREATE EXTENSION pg_trgm) and run this migration again.",
            RuntimeWarning,
            stacklevel=1,
        )
        return
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    for index in trigram_indexes(connection.alias, schema_editor.quote_name):
        if index.table in tables:
            schema_editor.execute(index.create_sql(schema_editor.quote_name))


def drop_indexes(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Drop the indexes (the extension stays: other code may use it)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in trigram_indexes(schema_editor.connection.alias, schema_editor.quote_name):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index.name)}")
