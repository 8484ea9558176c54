"""``sortBy`` / ``sortOrder`` (RFC 7644 section 3.4.2.3) and keyset paging (RFC 9865) in SQL.

A sort is one expression, annotated on the queryset as ``_scim_sort``, then the primary key as a
tie-breaker, so that every order is total and paging (by index or by cursor) is deterministic.
The RFC's rules:

* "if there is no data for the specified sortBy value, they are sorted via the sortOrder
  parameter, i.e., they are ordered last if ascending and first if descending": ``""`` counts as
  no data (RFC 7643 section 2.5), so text keys are ``NULLIF(x, '')``.
* case-insensitive attributes sort on ``LOWER()``; strings sort in code-point order ("Unicode
  alphabetic sort order, with no specific locale implied"): ``COLLATE "C"`` on PostgreSQL,
  SQLite's ``BINARY`` collation.
* a multi-valued attribute sorts by "the value of the primary attribute, if any, or else the first
  value in the list, if any".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Expression, F, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Collate, Lower, NullIf

from ..core.constants import AttributeType
from ..core.errors import InvalidFilter, InvalidValue
from ..core.paths import parse_attr_path
from .compiler import _TEXT_TYPES, _pg_path, _sqlite_path

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from ..adapters.base import ResourceAdapter

#: The annotation holding the sort value of each row.
SORT_ALIAS = "_scim_sort"


@dataclass(frozen=True, slots=True)
class SortKey:
    """What ``sortBy`` orders by: an expression and whether it is (lowered) text."""

    expression: Any
    text: bool


class _PrimaryOrFirst(Expression):
    """``sub`` of the primary element of the array at ``keys``, else of the first one."""

    def __init__(self, doc: str, keys: Sequence[str], sub: str | None, *, lower: bool) -> None:
        super().__init__(output_field=TextField())
        self.doc: Any = F(doc)
        self.keys = tuple(keys)
        self.sub = sub
        self.lower = lower

    def get_source_expressions(self) -> list[Any]:
        return [self.doc]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.doc,) = exprs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        doc, params = compiler.compile(self.doc)
        if connection.vendor == "postgresql":
            array, array_params = _pg_path(doc, self.keys)
            value = "(e.value ->> %s)" if self.sub else "(e.value #>> '{}')"
            value_params = [self.sub] if self.sub else []
            sql = (
                f"(SELECT {value} FROM jsonb_array_elements(CASE WHEN jsonb_typeof({array}) = 'array' "
                f"THEN {array} ELSE '[]'::jsonb END) WITH ORDINALITY AS e(value, idx) "
                f"ORDER BY (e.value -> 'primary' = 'true'::jsonb) DESC NULLS LAST, e.idx LIMIT 1)"
            )
            all_params = [*value_params, *params, *array_params, *params, *array_params]
        else:
            path = _sqlite_path(self.keys)
            value = "json_extract(e.value, %s)" if self.sub else "e.value"
            value_params = [_sqlite_path([self.sub])] if self.sub else []
            sql = (
                f"(SELECT CASE WHEN e.type = 'object' OR %s THEN {value} END FROM json_each({doc}, %s) AS e "
                f"WHERE json_type({doc}, %s) = 'array' "
                "ORDER BY (e.type = 'object' AND json_type(e.value, '$.primary') = 'true') DESC, "
                "e.key LIMIT 1)"
            )
            all_params = [int(self.sub is None), *value_params, *params, path, *params, path]
        sql = f"NULLIF({sql}, '')"
        if self.lower:
            sql = f"LOWER({sql})"
        return sql, tuple(all_params)


def sort_key(adapter: ResourceAdapter, path: str) -> SortKey:
    """The sort expression for ``sortBy=path`` on ``adapter``'s queryset.

    An attribute that does not exist, or cannot be sorted on (a complex attribute named without
    sub-attribute, a relation), is 400 ``invalidValue``: RFC 7644 section 3.12 lists it for GET
    query parameters whose value "was not compatible with the operation or attribute type".
    """
    try:
        parsed = parse_attr_path(path, known_urns=adapter.resource_type.schema_ids, error=InvalidValue)
        target = adapter.filter_target(parsed)
    except InvalidFilter as exc:
        raise InvalidValue(f"sortBy: {exc.detail}") from None
    attribute = target.attribute
    if target.parts or target.relation is not None or (attribute.is_complex and not target.elements):
        raise InvalidValue(f"sortBy: {path!r} cannot be sorted on; name a sub-attribute (name.familyName).")
    if target.elements:
        definition = attribute
        sub = target.sub
        if attribute.is_complex:
            sub = sub or "value"
            found = attribute.sub_attribute(sub)
            if found is None:
                raise InvalidValue(f"sortBy: {path!r} has no value to sort on.")
            definition = found
        lower = not definition.case_exact and definition.type in _TEXT_TYPES
        if target.mirror is not None and sub == "value":
            # PrimaryValue: the primary (or first) value is the mirrored field, as GET shows it.
            return _text_key(F(target.mirror), lower=lower)
        column = f"{adapter.companion_accessor}__attributes"
        return SortKey(_PrimaryOrFirst(column, target.json_keys, sub, lower=lower), text=True)
    text = attribute.type in _TEXT_TYPES or (attribute.type is AttributeType.DATETIME and not target.lookup)
    lower = text and not attribute.case_exact and attribute.type in _TEXT_TYPES
    if target.lookup is not None:
        if attribute.type in _TEXT_TYPES and not target.uuid:
            return _text_key(F(target.lookup), lower=lower)
        return SortKey(F(target.lookup), text=False)
    doc: Any = F(f"{adapter.companion_accessor}__attributes")
    for key in target.json_keys[:-1]:
        doc = KeyTransform(key, doc)
    if text:
        return _text_key(KeyTextTransform(target.json_keys[-1], doc), lower=lower)
    # Numbers and booleans keep their JSON type, so 10 sorts after 9.
    return SortKey(KeyTransform(target.json_keys[-1], doc), text=False)


def _text_key(expression: Any, *, lower: bool) -> SortKey:
    expression = NullIf(expression, Value(""), output_field=TextField())
    if lower:
        expression = Lower(expression)
    return SortKey(expression, text=True)


def _collated(key: SortKey, vendor: str) -> Any:
    if key.text and vendor == "postgresql":
        return Collate(key.expression, "C")
    return key.expression


def apply_sort(
    queryset: QuerySet[Any], key: SortKey | None, *, descending: bool, vendor: str, reverse: bool = False
) -> QuerySet[Any]:
    """``queryset`` ordered by ``key`` (nulls last ascending, first descending), then by pk.

    ``reverse`` flips the whole order (for ``previousCursor`` pages, read backwards).
    """
    if key is None:
        return queryset.order_by("-pk" if reverse else "pk")
    queryset = queryset.annotate(**{SORT_ALIAS: _collated(key, vendor)})
    desc = descending != reverse
    # Nulls follow the sort direction (RFC 7644 3.4.2.3): last ascending, first descending.
    column = F(SORT_ALIAS).desc(nulls_first=True) if desc else F(SORT_ALIAS).asc(nulls_last=True)
    return queryset.order_by(column, "-pk" if reverse else "pk")


def seek(key: SortKey | None, last: Sequence[Any], *, descending: bool, forward: bool) -> Q:
    """Rows strictly after (``forward``) or before the row whose sort position is ``last``.

    ``last`` is ``[pk]`` without a sort key, else ``[sort value, pk]``. The total order is: the
    sort value (nulls last ascending, first descending), then the pk ascending.
    """
    if key is None:
        return Q(pk__gt=last[-1]) if forward else Q(pk__lt=last[-1])
    value, pk = last
    after_pk = Q(pk__gt=pk) if forward else Q(pk__lt=pk)
    null = Q(**{f"{SORT_ALIAS}__isnull": True})
    if value is None:
        same = null & after_pk
        # Ascending puts nulls last: before them come all values. Descending puts them first.
        others = ~null
        if descending == forward:
            return same | others
        return same
    greater = "lt" if descending == forward else "gt"
    q = Q(**{f"{SORT_ALIAS}__{greater}": value}) | (Q(**{SORT_ALIAS: value}) & after_pk)
    if descending != forward:
        # Ascending forward (or descending backward): the nulls at the end come after.
        q |= null
    return q


def encode_value(value: Any) -> Any:
    """A sort value as JSON for a cursor (datetimes and UUIDs tagged, to come back typed)."""
    from datetime import datetime
    from decimal import Decimal
    from uuid import UUID

    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    json.dumps(value)  # anything else must be plain JSON
    return value


def decode_value(value: Any) -> Any:
    """The inverse of :func:`encode_value`; raises ``ValueError`` on anything unexpected."""
    from datetime import datetime
    from decimal import Decimal
    from uuid import UUID

    if isinstance(value, dict):
        if set(value) == {"dt"}:
            return datetime.fromisoformat(value["dt"])
        if set(value) == {"uuid"}:
            return UUID(value["uuid"])
        if set(value) == {"dec"}:
            return Decimal(value["dec"])
        raise ValueError("unknown tagged value")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError("unexpected value")
