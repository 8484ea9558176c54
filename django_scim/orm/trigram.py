"""Substring filters served by trigram indexes (PostgreSQL ``pg_trgm``).

``emails.value co "1234"`` is an ``EXISTS`` over the elements of the JSON array, with the primary
element's value read from the mirrored column (``user.email``): exact, but no index can serve it,
so every user's document is unpacked (issue 7 measured 0.003 of the stack's limit at 100,000
users). A substring can still be *pre*-filtered by index: if an element's value contains the text,
then so does the text of the whole JSON array (``attributes #>> '{emails}'``), as long as the text
has no character that JSON escapes (``"``, ``\\``, controls), and so does the mirrored column. Both
are ``LOWER(<text>) LIKE LOWER('%<text>%')``, the form a ``gin_trgm_ops`` index on ``LOWER(<text>)``
answers (migration ``0006_trigram_indexes`` creates them). The compiler adds

    pk IN (SELECT resource_id FROM companion WHERE LOWER(json text) LIKE ...
           UNION ALL SELECT pk FROM model WHERE LOWER(mirror) LIKE ...)

in front of the exact condition: PostgreSQL turns it into a semi-join that reads the few
candidate rows through both indexes, and the exact condition then runs on those alone. The
prefilter is a necessary condition only (it never decides a match), so results stay those of the
reference matcher. SQLite has no trigram index and gets the exact condition alone.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Operators whose matches all contain the compared text.
SUBSTRING_OPERATORS = frozenset({"co", "sw", "ew"})


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
