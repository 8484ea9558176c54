"""Names and columns of the indexes the app's migrations add (to its own tables and to the site's)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Model

#: The longest identifier PostgreSQL keeps (NAMEDATALEN - 1); SQLite has no limit.
MAX_NAME_LENGTH = 63


def index_name(table: str, column: str, suffix: str) -> str:
    """``scim_<table>_<column>_<suffix>``, shortened with a digest past :data:`MAX_NAME_LENGTH`
    (stable: tests and ``DROP INDEX`` find the index by it)."""
    name = f"scim_{table}_{column}_{suffix}"
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.md5(f"{table}.{column}".encode(), usedforsecurity=False).hexdigest()[:8]
        name = f"scim_{table[:20]}_{column[:20]}_{digest}_{suffix}"
    return name.lower()


def column(model: type[Model], name: str) -> str:
    """The column of ``model``'s field ``name``: a mapping's lookup, which names a concrete field
    (``ValueError`` for one without a column, such as a reverse relation)."""
    value = getattr(model._meta.get_field(name), "column", None)
    if not isinstance(value, str):
        raise ValueError(f"{model._meta.label}.{name} has no column to index")
    return value
