"""Rows of a related table read as one JSON value, so they come with the row they belong to.

A user's groups were a query of their own after the user's: a round trip more per lookup, which
PostgreSQL also planned anew each time. As a correlated subquery aggregating its rows into one
JSON array, they are a column of the user's own statement (issue 7).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, JSONField
from django.db.models.functions import JSONArray

#: The database vendors :class:`JSONRows` compiles on.
JSON_ROWS_VENDORS = frozenset({"postgresql", "sqlite"})


class JSONRows(Aggregate):
    """The aggregated rows as a JSON array holding one array of ``expressions`` per row.

    ``NULL`` (Python ``None``) when there is no row, in no particular order. PostgreSQL
    ``JSONB_AGG`` (``jsonb``, which Django reads as text and decodes as a ``JSONField``), SQLite
    ``JSON_GROUP_ARRAY``; other vendors: see :data:`JSON_ROWS_VENDORS`.
    """

    function = "JSONB_AGG"
    name = "JSONRows"
    output_field = JSONField()

    def __init__(self, *expressions: Any, **extra: Any) -> None:
        super().__init__(JSONArray(*expressions), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)
