"""Names of the indexes the app's migrations add (to its own tables and to the site's)."""

from __future__ import annotations

import hashlib

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
