"""``pk IN (<subquery>)`` in the form each database answers by key, not by scanning the table,
and ``<column> IN (<values>)`` with one parameter where the database takes an array.

The members of a 10,000-member group among 100,000 users: written as a join (or ``IN``) of the
user table with the membership rows, PostgreSQL's planner (default costs) hash-joins the
memberships with a sequential scan of the whole user table, so the read grows with the table
(``EXPLAIN ANALYZE``: 36 ms at 100,000 users, more at 10⁶). ``pk = ANY(ARRAY(<subquery>))`` hides
the number of keys from the planner (it assumes a few), which then looks each one up in the
primary key index: the cost follows the number of keys, whatever the size of the table. Other
databases get ``pk IN (<subquery>)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import F, Field, Lookup, Q, QuerySet, Value


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``<lhs> = ANY(<rhs>)``: the left side is one of the elements of the array on the right
    (PostgreSQL; the array is ``ARRAY(<subquery>)`` or a parameter). Not registered on any
    field: built by :func:`key_in` and :func:`values_in`."""

    lookup_name = "any_of"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # A subquery's SQL comes parenthesised, a parameter's does not.
        rhs = rhs if rhs.startswith("(") else f"({rhs})"
        return f"{lhs} = ANY{rhs}", (*lhs_params, *rhs_params)


def key_in(queryset: QuerySet[Any], keys: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` narrowed to the rows whose primary key is among ``keys`` (a one-column
    ``values()`` queryset), read by primary-key lookups."""
    return queryset.filter(key_among(queryset.db, keys))


def key_among(alias: str, keys: QuerySet[Any]) -> Q:
    """The condition of :func:`key_in` on database ``alias``, to combine with others."""
    if connections[alias].vendor != "postgresql":
        return Q(pk__in=keys)
    # contrib.postgres imports psycopg: only on PostgreSQL.
    from django.contrib.postgres.expressions import ArraySubquery

    return Q(AnyOf(F("pk"), ArraySubquery(keys)))


def values_in(
    queryset: QuerySet[Any], path: str, values: Sequence[Any], field: Field[Any, Any]
) -> QuerySet[Any]:
    """``queryset.filter(<path>__in=values)``, with ``values`` (values of the model field
    ``field``, as the database gets them: :func:`~django_scim.orm.statements.db_values`) in one
    array parameter where the database takes one (PostgreSQL: ``<column> = ANY(%s)``); the
    statement's parameters for them are :func:`in_slots`.

    ``IN (%s, %s, ...)`` with the 100 keys of a page of users made psycopg parse the statement's
    placeholders on every run (it caches that only for statements of up to 50 parameters), and
    the statement's text depend on the number of keys.
    """
    if not _takes_arrays(queryset.db):
        return queryset.filter(**{f"{path}__in": values})
    # contrib.postgres imports psycopg: only on PostgreSQL.
    from django.contrib.postgres.fields import ArrayField

    return queryset.filter(AnyOf(F(path), Value(list(values), output_field=ArrayField(field))))


def in_slots(alias: str, values: Sequence[Any]) -> list[Any]:
    """The parameters that :func:`values_in` gives ``values`` on database ``alias`` (the slots
    of :func:`~django_scim.orm.statements.values_rows`): one array, or one per value."""
    return [list(values)] if _takes_arrays(alias) else list(values)


def _takes_arrays(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"
