"""Rows of a related table read as one JSON value, so they come with the row they belong to.

A user's groups were a query of their own after the user's: a round trip more per lookup, which
PostgreSQL also planned anew each time. As a correlated subquery aggregating its rows into one
JSON array, they are a column of the user's own statement (issue 7).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Func, JSONField

#: The database vendors :class:`JSONRows` compiles on.
JSON_ROWS_VENDORS = frozenset({"postgresql", "sqlite"})


class JSONRows(Func):
    """All the rows of a subquery as one JSON array holding an array of ``expressions`` per row.

    The only column of a subquery (``Subquery(queryset.values(rows=JSONRows(...)))``): it
    aggregates every row the subquery's ``WHERE`` keeps. Django does not know it for an
    aggregate, so the subquery has no ``GROUP BY``, which PostgreSQL would plan for nothing: the
    correlated subquery has one group. ``NULL`` (Python ``None``) when there is no row, in no
    particular order. PostgreSQL ``JSONB_AGG(JSONB_BUILD_ARRAY(...))`` (``jsonb``, which Django
    reads as text and decodes as a ``JSONField``), SQLite ``JSON_GROUP_ARRAY(JSON_ARRAY(...))``;
    other vendors: see :data:`JSON_ROWS_VENDORS`.
    """

    function = "JSONB_AGG"
    template = "%(function)s(JSONB_BUILD_ARRAY(%(expressions)s))"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        function, template = "JSON_GROUP_ARRAY", "%(function)s(JSON_ARRAY(%(expressions)s))"
        return self.as_sql(compiler, connection, function=function, template=template, **extra_context)
