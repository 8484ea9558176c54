"""The filter compiler: a SCIM filter tree (RFC 7644 section 3.4.2.2) -> a Django ``Q``.

Filters always run in SQL: every value is a bound parameter, and an attribute the mapping
cannot serve is a 400 ``invalidFilter``, never a silent empty or full result (identity
providers read an empty result as "not found" and create duplicates).

Semantics are those of the in-memory reference matcher (:mod:`django_scim.core.filter.evaluate`),
which the oracle test (``tests/orm/test_oracle.py``) holds the SQL to:

* ``caseExact`` from the schema decides case sensitivity (``LOWER()`` on both sides otherwise);
  string ordering is code-point order (``COLLATE "C"`` on PostgreSQL; SQLite's ``BINARY``).
* unassigned means NULL, ``""``, ``[]``, ``{}`` or absent; ``ne`` matches unassigned values and
  values of another JSON type; ``eq null`` is ``not pr``.
* a multi-valued attribute matches when *any* value matches (``ne`` too: any value differs, or
  there is none); ``emails[type eq "work" and value co "@x"]`` needs one element matching both.

Where values live decides the SQL:

* model columns: Django lookups (datetimes, booleans, numbers, UUIDs) or the portable text
  predicates below (strings);
* scalars in the companion's JSONField: ``json_extract``/``json_type`` on SQLite, ``->``/
  ``jsonb_typeof`` on PostgreSQL, guarded so that a value of another JSON type never raises;
* multi-valued attributes in the JSONField: ``EXISTS`` over ``json_each`` / ``jsonb_array_elements``
  (only when the stored value is an array); a :class:`~django_scim.orm.mapping.PrimaryValue`
  mirror (``emails`` -> ``user.email``) is folded in as :meth:`PrimaryValue.read` renders it;
* relations (``groups``, ``members``): ``EXISTS`` subqueries, one per condition, so each resource
  is returned once and negation means "no element matches" as in the matcher.

Negation is pushed down to the leaves (De Morgan) rather than wrapped around SQL that may be
NULL: a leaf of our own SQL is negated as ``NOT COALESCE(..., FALSE)``, a Django lookup with ``~Q``
(which adds its own NULL handling). Positive leaves stay plain so that indexes can serve them
(``LOWER("username") = LOWER(%s)``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import connections, router
from django.db.models import BooleanField, Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL

from ..core.constants import AttributeType
from ..core.errors import InvalidFilter
from ..core.filter import And, Compare, CompValue, Filter, FilterVisitor, Not, Or, Present, ValuePath
from ..core.filter.evaluate import _comparator, parse_datetime
from ..core.paths import AttrPath
from ..core.schema import Attribute
from . import keys, trigram

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Model, QuerySet
    from django.db.models.sql.compiler import SQLCompiler

    from ..adapters.base import ResourceAdapter

Sql: TypeAlias = tuple[str, list[Any]]

_TEXT_TYPES = (AttributeType.STRING, AttributeType.REFERENCE, AttributeType.BINARY)
_ORDERING = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
_SQL_ORDERING = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@dataclass(frozen=True, slots=True)
class RelationLookup:
    """A multi-valued attribute backed by a relation (Group ``members``, User ``groups``)."""

    model: type[Model]
    """The related model whose rows are the attribute's elements."""

    link: str
    """Lookup on :attr:`model` that points back to the filtered model's rows."""

    lookups: Mapping[str, str]
    """Sub-attribute -> lookup on :attr:`model` (``value`` -> ``scim__id``)."""

    constants: Mapping[str, str] = field(default_factory=dict)
    """Sub-attributes with one value for every element (``type`` -> ``"User"``)."""

    scope: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None
    """Narrows the related rows (the related adapter's tenant scope), so a condition on them
    never matches rows the client may not see."""

    uuid_subs: frozenset[str] = frozenset({"value"})
    """Sub-attributes whose lookup is a UUID column."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a filtered attribute lives; exactly one of the location fields is set."""

    attribute: Attribute
    """The (sub-)attribute definition: its type and caseExact decide the comparison. For
    :attr:`elements` targets, the multi-valued attribute itself."""

    lookup: str | None = None
    """ORM lookup path from the served model (``username``, ``scim__external_id``)."""

    json_keys: tuple[str, ...] = ()
    """Keys inside the companion's ``attributes`` JSONField."""

    uuid: bool = False
    """The lookup is a UUID column (SCIM ids): a value that is not a UUID matches nothing."""

    elements: bool = False
    """``json_keys`` hold an array: the attribute is multi-valued, stored in the JSONField."""

    sub: str | None = None
    """For :attr:`elements` and :attr:`relation` targets: the sub-attribute compared
    (canonical name), ``None`` for the whole element."""

    mirror: str | None = None
    """For :attr:`elements` targets: the model field a
    :class:`~django_scim.orm.mapping.PrimaryValue` mirrors the primary ``value`` into."""

    mirror_type: str = "work"
    """The ``type`` of the element synthesised from :attr:`mirror` when nothing is stored."""

    relation: RelationLookup | None = None
    """For relation-backed multi-valued attributes."""

    parts: tuple[Target, ...] = ()
    """For a complex single-valued attribute named without sub-attribute: its sub-attributes."""


# --- a small SQL tree for what Django lookups cannot say ----------------------------------


@dataclass(eq=False)
class _Ctx:
    """What the SQL of one predicate is rendered against."""

    vendor: str
    columns: Mapping[str, str]
    element: _ElementCtx | None = None

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def param(self) -> str:
        # PostgreSQL cannot type a bare literal given to LENGTH()/LOWER()/STRPOS().
        return "CAST(%s AS TEXT)" if self.pg else "%s"


@dataclass(eq=False)
class _ElementCtx:
    """The array element in scope: ``alias`` inside ``EXISTS``, or the synthesised element."""

    alias: str | None
    main: Sql | None = None
    mirror: str | None = None
    mirror_type: str = "work"


class _Node:
    def render(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def columns(self) -> Iterator[str]:
        return iter(())

    def nullable(self) -> bool:
        """Whether the SQL may be NULL (and so needs COALESCE under NOT)."""
        return True


class _Ref:
    """A single value: a text column, a JSON scalar in the document, or (a sub of) an element."""

    def string(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def number(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def boolean(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def assigned(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def columns(self) -> Iterator[str]:
        return iter(())


@dataclass(eq=False)
class _ColumnRef(_Ref):
    lookup: str

    def string(self, ctx: _Ctx) -> Sql:
        return ctx.columns[self.lookup], []

    def assigned(self, ctx: _Ctx) -> Sql:
        return f"COALESCE({ctx.columns[self.lookup]} <> '', FALSE)", []

    def columns(self) -> Iterator[str]:
        yield self.lookup


@dataclass(eq=False)
class _UuidTextRef(_ColumnRef):
    """A UUID column as the text SCIM shows (``8-4-4-4-12`` lowercase hex)."""

    def string(self, ctx: _Ctx) -> Sql:
        column = ctx.columns[self.lookup]
        if ctx.pg:
            return f"({column})::text", []
        # SQLite keeps UUIDs as 32 hex digits (Django's UUIDField without a native type).
        parts = [
            f"substr({column}, {start}, {length})"
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        ]
        return "(" + " || '-' || ".join(parts) + ")", []

    def assigned(self, ctx: _Ctx) -> Sql:
        return f"({ctx.columns[self.lookup]} IS NOT NULL)", []


def _sqlite_path(keys: Sequence[str]) -> str:
    return "$" + "".join("." + json.dumps(key) for key in keys)


class _JsonRef(_Ref):
    """A JSON value; subclasses give its type and value SQL for SQLite, its jsonb for PostgreSQL."""

    def sqlite(self, ctx: _Ctx) -> tuple[Sql, Sql]:
        """``(json_type sql, json value sql)``."""
        raise NotImplementedError

    def jsonb(self, ctx: _Ctx) -> Sql:
        raise NotImplementedError

    def _typed(self, ctx: _Ctx, sqlite_types: str, pg_type: str, pg_cast: str) -> Sql:
        if ctx.pg:
            j, params = self.jsonb(ctx)
            return f"(CASE WHEN jsonb_typeof({j}) = '{pg_type}' THEN {pg_cast.format(j)} END)", params * 2
        (kind, kind_params), (value, value_params) = self.sqlite(ctx)
        return f"(CASE WHEN {kind} IN ({sqlite_types}) THEN {value} END)", kind_params + value_params

    def string(self, ctx: _Ctx) -> Sql:
        return self._typed(ctx, "'text'", "string", "({} #>> '{{}}')")

    def number(self, ctx: _Ctx) -> Sql:
        return self._typed(ctx, "'integer', 'real'", "number", "({})::numeric")

    def boolean(self, ctx: _Ctx) -> Sql:
        if ctx.pg:
            return self._typed(ctx, "", "boolean", "({})::boolean")
        (kind, params), _ = self.sqlite(ctx)
        return f"(CASE {kind} WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END)", params

    def assigned(self, ctx: _Ctx) -> Sql:
        # RFC 7643 section 2.5: null, "" and empty arrays/objects are unassigned.
        if ctx.pg:
            j, params = self.jsonb(ctx)
            return (
                f"COALESCE(jsonb_typeof({j}) <> 'null' "
                f"AND {j} NOT IN ('\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb), FALSE)",
                params * 2,
            )
        (kind, kind_params), (value, value_params) = self.sqlite(ctx)
        return (
            f"COALESCE({kind} <> 'null' AND NOT ({kind} IN ('text', 'array', 'object') "
            f"AND {value} IN ('', '[]', '{{}}')), FALSE)",
            kind_params + kind_params + value_params,
        )


@dataclass(eq=False)
class _DocRef(_JsonRef):
    """A scalar at ``keys`` in the companion document."""

    doc: str
    keys: tuple[str, ...]

    def sqlite(self, ctx: _Ctx) -> tuple[Sql, Sql]:
        column, path = ctx.columns[self.doc], _sqlite_path(self.keys)
        return (f"json_type({column}, %s)", [path]), (f"json_extract({column}, %s)", [path])

    def jsonb(self, ctx: _Ctx) -> Sql:
        return _pg_path(ctx.columns[self.doc], self.keys)

    def columns(self) -> Iterator[str]:
        yield self.doc


def _pg_path(column: str, keys: Sequence[str]) -> Sql:
    return "(" + column + " -> %s" * len(keys) + ")", list(keys)


@dataclass(eq=False)
class _ElemRef(_JsonRef):
    """The element in scope (``sub`` ``None``) or one of its sub-attributes."""

    sub: str | None

    def sqlite(self, ctx: _Ctx) -> tuple[Sql, Sql]:
        alias = _alias(ctx)
        if self.sub is None:
            return (f"{alias}.type", []), (f"{alias}.value", [])
        path = [_sqlite_path([self.sub])]
        # json_extract() on a string element would fail: reach into objects only.
        return (
            (f"(CASE WHEN {alias}.type = 'object' THEN json_type({alias}.value, %s) END)", path),
            (f"(CASE WHEN {alias}.type = 'object' THEN json_extract({alias}.value, %s) END)", path),
        )

    def jsonb(self, ctx: _Ctx) -> Sql:
        alias = _alias(ctx)
        if self.sub is None:
            return f"{alias}.value", []
        # "->" on a scalar or an array gives NULL, never an error.
        return f"({alias}.value -> %s)", [self.sub]

    def _mirrored(self, ctx: _Ctx) -> _ElementCtx | None:
        element = ctx.element
        if element is not None and element.mirror is not None and self.sub == "value":
            return element
        return None

    def string(self, ctx: _Ctx) -> Sql:
        element = ctx.element
        if element is not None and element.alias is None:
            return self._synthetic(ctx, "string")
        mirrored = self._mirrored(ctx)
        sql, params = super().string(ctx)
        if mirrored is None:
            return sql, params
        assert mirrored.main is not None
        main, main_params = mirrored.main
        return (
            f"(CASE WHEN {_index(ctx)} = {main} THEN NULLIF({mirrored.mirror}, '') ELSE {sql} END)",
            main_params + params,
        )

    def number(self, ctx: _Ctx) -> Sql:
        if ctx.element is not None and ctx.element.alias is None:
            return self._synthetic(ctx, "number")
        return super().number(ctx)

    def boolean(self, ctx: _Ctx) -> Sql:
        if ctx.element is not None and ctx.element.alias is None:
            return self._synthetic(ctx, "boolean")
        return super().boolean(ctx)

    def assigned(self, ctx: _Ctx) -> Sql:
        element = ctx.element
        if element is not None and element.alias is None:
            return self._synthetic(ctx, "assigned")
        mirrored = self._mirrored(ctx)
        sql, params = super().assigned(ctx)
        if mirrored is None:
            return sql, params
        assert mirrored.main is not None
        main, main_params = mirrored.main
        return (
            f"(CASE WHEN {_index(ctx)} = {main} THEN COALESCE({mirrored.mirror}, '') <> '' ELSE {sql} END)",
            main_params + params,
        )

    def _synthetic(self, ctx: _Ctx, what: str) -> Sql:
        """The element PrimaryValue.read() makes from the mirror alone: value, type, primary."""
        element = ctx.element
        assert element is not None and element.mirror is not None
        if self.sub == "value":
            if what == "string":
                return f"NULLIF({element.mirror}, '')", []
            if what == "assigned":
                return f"(COALESCE({element.mirror}, '') <> '')", []
        elif self.sub == "type":
            if what == "string":
                return ctx.param(), [element.mirror_type]
            if what == "assigned":
                return "TRUE", []
        elif self.sub == "primary":
            if what == "boolean":
                return "TRUE", []
            if what == "assigned":
                return "TRUE", []
        return ("FALSE", []) if what == "assigned" else ("NULL", [])


def _alias(ctx: _Ctx) -> str:
    assert ctx.element is not None and ctx.element.alias is not None
    return ctx.element.alias


def _index(ctx: _Ctx) -> str:
    """The element's position: 0-based ``key`` of json_each, 1-based ordinality in PostgreSQL."""
    return f"{_alias(ctx)}.idx" if ctx.pg else f"{_alias(ctx)}.key"


@dataclass(eq=False)
class _Const(_Node):
    value: bool

    def render(self, ctx: _Ctx) -> Sql:
        return ("TRUE" if self.value else "FALSE"), []

    def nullable(self) -> bool:
        return False


@dataclass(eq=False)
class _Assigned(_Node):
    ref: _Ref

    def render(self, ctx: _Ctx) -> Sql:
        return self.ref.assigned(ctx)

    def columns(self) -> Iterator[str]:
        return self.ref.columns()

    def nullable(self) -> bool:
        return False


@dataclass(eq=False)
class _Cmp(_Node):
    """``ref op value`` for one value; NULL when the stored value is of another type."""

    ref: _Ref
    kind: AttributeType
    op: str
    value: Any
    case_exact: bool

    def columns(self) -> Iterator[str]:
        return self.ref.columns()

    def render(self, ctx: _Ctx) -> Sql:
        if self.kind is AttributeType.BOOLEAN:
            sql, params = self.ref.boolean(ctx)
            return f"({sql} = %s)", [*params, self.value]
        if self.kind in (AttributeType.INTEGER, AttributeType.DECIMAL):
            sql, params = self.ref.number(ctx)
            return f"({sql} {_SQL_ORDERING.get(self.op, '=')} %s)", [*params, self.value]
        text, params = self.ref.string(ctx)
        rhs = ctx.param()
        if not self.case_exact:
            text, rhs = f"LOWER({text})", f"LOWER({rhs})"
        value = self.value
        op = self.op
        if op == "eq":
            return f"({text} = {rhs})", [*params, value]
        if op == "co":
            function = "STRPOS" if ctx.pg else "INSTR"
            return f"({function}({text}, {rhs}) > 0)", [*params, value]
        if op == "sw":
            if ctx.pg:
                return f"(LEFT({text}, LENGTH({rhs})) = {rhs})", [*params, value, value]
            return f"(SUBSTR({text}, 1, LENGTH({rhs})) = {rhs})", [*params, value, value]
        if op == "ew":
            if ctx.pg:
                return f"(RIGHT({text}, LENGTH({rhs})) = {rhs})", [*params, value, value]
            return f"(SUBSTR({text}, -LENGTH({rhs})) = {rhs})", [*params, value, value]
        # Code-point order, as Python compares strings (RFC 7644 section 3.4.2.3 asks for a
        # Unicode order with no locale): PostgreSQL's default collation is a locale's.
        collate = ' COLLATE "C"' if ctx.pg else ""
        sql = f"({text} <> '' AND {text}{collate} {_SQL_ORDERING[op]} {rhs}{collate})"
        return sql, [*params, *params, value]


@dataclass(eq=False)
class _Bool(_Node):
    """AND / OR of nodes."""

    connector: str
    items: list[_Node]

    def render(self, ctx: _Ctx) -> Sql:
        parts: list[str] = []
        params: list[Any] = []
        for item in self.items:
            sql, item_params = item.render(ctx)
            parts.append(sql)
            params += item_params
        return "(" + f" {self.connector} ".join(parts) + ")", params

    def columns(self) -> Iterator[str]:
        for item in self.items:
            yield from item.columns()

    def nullable(self) -> bool:
        return any(item.nullable() for item in self.items)


@dataclass(eq=False)
class _NotNode(_Node):
    item: _Node

    def render(self, ctx: _Ctx) -> Sql:
        sql, params = self.item.render(ctx)
        if self.item.nullable():
            return f"(NOT COALESCE({sql}, FALSE))", params
        return f"(NOT {sql})", params

    def columns(self) -> Iterator[str]:
        return self.item.columns()

    def nullable(self) -> bool:
        return False


@dataclass(eq=False)
class _ExistsElement(_Node):
    """Some element of the array at ``keys`` satisfies ``condition`` (RFC 7644 section 3.4.2.2)."""

    doc: str
    keys: tuple[str, ...]
    condition: _Node
    objects_only: bool
    mirror: str | None = None
    mirror_type: str = "work"

    def columns(self) -> Iterator[str]:
        yield self.doc
        if self.mirror is not None:
            yield self.mirror
        yield from self.condition.columns()

    def nullable(self) -> bool:
        return False

    def render(self, ctx: _Ctx) -> Sql:
        alias = "scim_e"
        doc = ctx.columns[self.doc]
        mirror = ctx.columns[self.mirror] if self.mirror is not None else None
        if ctx.pg:
            array, array_params = _pg_path(doc, self.keys)
            source = f"CASE WHEN jsonb_typeof({array}) = 'array' THEN {array} ELSE '[]'::jsonb END"
            source_params = array_params * 2
            elements = f"jsonb_array_elements({source}) WITH ORDINALITY AS {{alias}}(value, idx)"
            is_object = f"jsonb_typeof({alias}.value) = 'object'"
            length = (
                f"(CASE WHEN jsonb_typeof({array}) = 'array' THEN jsonb_array_length({array}) ELSE 0 END)"
            )
            length_params = array_params * 2
            primary = "m.value -> 'primary' = 'true'::jsonb"
            first = "1"
        else:
            path = _sqlite_path(self.keys)
            source, source_params = f"{doc}, %s", [path]
            elements = f"json_each({source}) AS {{alias}}"
            is_object = f"{alias}.type = 'object'"
            length, length_params = f"COALESCE(json_array_length({doc}, %s), 0)", [path]
            primary = "m.type = 'object' AND json_type(m.value, '$.primary') = 'true'"
            first = "0"
        element = _ElementCtx(alias)
        where: list[str] = []
        params: list[Any] = list(source_params)
        if not ctx.pg:
            # json_each() walks objects' members and yields a scalar itself: arrays only.
            where.append(f"json_type({doc}, %s) = 'array'")
            params.append(_sqlite_path(self.keys))
        if self.objects_only:
            where.append(is_object)
        if mirror is not None:
            # PrimaryValue.read(): the primary (or else the first) element shows the mirrored
            # field's value, and disappears when the field is empty.
            main = (
                f"COALESCE((SELECT MIN({'m.idx' if ctx.pg else 'm.key'}) FROM "
                f"{elements.format(alias='m')} WHERE {primary}), {first})"
            )
            element = _ElementCtx(alias, (main, list(source_params)), mirror, self.mirror_type)
            index = _index(_Ctx(ctx.vendor, ctx.columns, element))
            where.append(f"NOT ({index} = {main} AND COALESCE({mirror}, '') = '')")
            params += list(source_params)
        inner_ctx = _Ctx(ctx.vendor, ctx.columns, element)
        condition, condition_params = self.condition.render(inner_ctx)
        where.append(condition)
        params += condition_params
        sql = f"EXISTS (SELECT 1 FROM {elements.format(alias=alias)} WHERE {' AND '.join(where)})"
        if mirror is None:
            return sql, params
        # Nothing stored (a user made outside SCIM): one element made from the mirror alone.
        synthetic_ctx = _Ctx(ctx.vendor, ctx.columns, _ElementCtx(None, None, mirror, self.mirror_type))
        synthetic, synthetic_params = self.condition.render(synthetic_ctx)
        sql = f"({sql} OR ({length} = 0 AND COALESCE({mirror}, '') <> '' AND COALESCE({synthetic}, FALSE)))"
        return sql, params + length_params + synthetic_params


@dataclass(eq=False)
class _LowerLike(_Node):
    """``LOWER(text) LIKE LOWER(pattern)`` over a text column or the JSON text at ``json_keys``
    in one: the form of the trigram prefilter (:mod:`django_scim.orm.trigram`, PostgreSQL only)."""

    lookup: str
    pattern: str
    json_keys: tuple[str, ...] = ()

    def columns(self) -> Iterator[str]:
        yield self.lookup

    def render(self, ctx: _Ctx) -> Sql:
        column = ctx.columns[self.lookup]
        text = trigram.json_text(column, self.json_keys) if self.json_keys else column
        return f"(LOWER({text}) LIKE LOWER({ctx.param()}))", [self.pattern]


class _SqlPredicate(RawSQL):
    """A Django boolean expression rendering a :class:`_Node` for the connection's vendor.

    A ``RawSQL`` subclass (its SQL is built at compile time, from the resolved columns) because
    Django trusts a conditional ``RawSQL`` in WHERE as it is; any other expression becomes
    ``(...) = True`` on backends without a native boolean type (SQLite from Django 6.1), which
    hides the comparison from the functional indexes of migration 0003.
    """

    def __init__(self, node: _Node, *, negated: bool = False) -> None:
        super().__init__("", (), output_field=BooleanField())
        self.node = node
        self.negated = negated
        self.lookups = list(dict.fromkeys(node.columns()))
        self.sources: list[Any] = [F(lookup) for lookup in self.lookups]

    def get_source_expressions(self) -> list[Any]:
        return self.sources

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.sources = list(exprs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor not in ("sqlite", "postgresql"):
            raise InvalidFilter(f"Filtering in the JSON document is not supported on {connection.vendor}.")
        columns: dict[str, str] = {}
        params: list[Any] = []
        for lookup, source in zip(self.lookups, self.sources, strict=True):
            sql, source_params = compiler.compile(source)
            if source_params:
                raise InvalidFilter("Unsupported column expression in a filter.")
            columns[lookup] = sql
        sql, params = self.node.render(_Ctx(connection.vendor, columns))
        if self.negated:
            sql = f"NOT COALESCE({sql}, FALSE)" if self.node.nullable() else f"NOT {sql}"
        # Parameters as a tuple, as Django's own expressions give them.
        return sql, tuple(params)


# --- the compiler ------------------------------------------------------------------------


def _validate(attribute: Attribute, op: str, value: CompValue) -> None:
    """Refuse what the reference matcher refuses, with the same error (400 invalidFilter)."""
    if value is None:
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"'{op}' cannot compare with null.")
        return
    _comparator(attribute, op, value)


def _nothing() -> Q:
    return Q(pk__in=[])


def _everything() -> Q:
    return ~Q(pk__in=[])


class QCompiler(FilterVisitor[Q]):
    """Compiles a filter for one adapter; the adapter resolves attribute paths to targets.

    Negation is carried down the tree (``_negated``) so that each leaf is negated in the way
    that is NULL-safe for it (see the module docstring).
    """

    def __init__(self, adapter: ResourceAdapter) -> None:
        self.adapter = adapter
        self._negated = False

    @property
    def doc(self) -> str:
        return f"{self.adapter.companion_accessor}__attributes"

    # --- logic ---------------------------------------------------------------------------

    def visit_and(self, node: And) -> Q:
        left, right = self.visit(node.left), self.visit(node.right)
        return left | right if self._negated else left & right

    def visit_or(self, node: Or) -> Q:
        left, right = self.visit(node.left), self.visit(node.right)
        return left & right if self._negated else left | right

    def visit_not(self, node: Not) -> Q:
        self._negated = not self._negated
        try:
            return self.visit(node.expr)
        finally:
            self._negated = not self._negated

    def _emit(self, leaf: Q | _Node) -> Q:
        if isinstance(leaf, _Node):
            if isinstance(leaf, _Const):
                return _everything() if leaf.value != self._negated else _nothing()
            return Q(_SqlPredicate(leaf, negated=self._negated))
        return ~leaf if self._negated else leaf

    def resolve(self, path: AttrPath) -> Target:
        return self.adapter.filter_target(path)

    # --- leaves --------------------------------------------------------------------------

    def visit_present(self, node: Present) -> Q:
        return self._emit(self._present(self.resolve(node.path)))

    def visit_compare(self, node: Compare) -> Q:
        target = self.resolve(node.path)
        leaf = self._emit(self._compare(target, node.op, node.value))
        prefilter = None if self._negated else self._substring_prefilter(target, node.op, node.value)
        return leaf if prefilter is None else prefilter & leaf

    def _substring_prefilter(self, target: Target, op: str, value: CompValue) -> Q | None:
        """PostgreSQL: candidates for ``co``/``sw``/``ew`` on a multi-valued attribute in the
        JSON document, found through trigram indexes (see :mod:`django_scim.orm.trigram`)."""
        if not (target.elements and op in trigram.SUBSTRING_OPERATORS and trigram.usable_text(value)):
            return None
        if target.mirror is not None and (target.sub or "value") != "value":
            # The element synthesised from the mirror has a type and primary of its own.
            return None
        model = self.adapter.get_model()
        alias = router.db_for_read(model)
        if connections[alias].vendor != "postgresql":
            return None
        assert isinstance(value, str)
        pattern = trigram.like_pattern(value)
        candidates = (
            self.adapter.companions()
            .filter(_SqlPredicate(_LowerLike("attributes", pattern, target.json_keys)))
            .values("resource_id")
        )
        if target.mirror is not None:
            mirrored = model._default_manager.filter(_SqlPredicate(_LowerLike(target.mirror, pattern)))
            candidates = candidates.union(mirrored.values("pk"), all=True)
        # Read by key (orm.keys): as a semi-join, the plan followed the estimate of the LIKE, which
        # comes from whether sampled values contain the text; one ANALYZE in ten at 100,000
        # users estimated 1,200 rows for 12 and scanned the whole primary key (2 -> 33 ms).
        return keys.key_among(alias, candidates)

    def visit_value_path(self, node: ValuePath) -> Q:
        target = self.resolve(node.path)
        attribute = target.attribute
        if not attribute.is_complex or node.path.sub_attr is not None:
            raise InvalidFilter(f"{str(node.path)!r} is not a complex attribute; it takes no [filter].")
        if target.relation is not None:
            return self._emit(self._relation_exists(target.relation, attribute, node.filter))
        if target.elements:
            condition = _ElementCompiler(attribute).visit(node.filter)
            return self._emit(self._exists(target, condition))
        if target.parts:
            # A complex single-valued attribute (``name[givenName eq "x"]``): its one value.
            inner = _SubCompiler(self.adapter, node.path)
            inner._negated = self._negated
            present = self._emit(self._present(target))
            body = inner.visit(node.filter)
            return present | body if self._negated else present & body
        raise InvalidFilter(f"Filtering on {str(node.path)!r} is not supported.")

    def _present(self, target: Target) -> Q | _Node:
        """``pr``: the attribute has a non-empty value (RFC 7644 section 3.4.2.2)."""
        if target.parts:
            leaves = [self._present(part) for part in target.parts]
            return _or_leaves(leaves)
        if target.relation is not None:
            if target.sub is None:
                return self._wrap_exists(target.relation, Q())
            return self._relation_any(target, lambda compiler, sub: compiler._present(sub))
        if target.elements:
            return self._exists(target, self._element_assigned(target))
        if target.json_keys:
            return _Assigned(_DocRef(self.doc, target.json_keys))
        assert target.lookup is not None
        if target.attribute.type in _TEXT_TYPES and not target.uuid:
            return _Assigned(_ColumnRef(target.lookup))
        return Q(**{f"{target.lookup}__isnull": False})

    def _compare(self, target: Target, op: str, value: CompValue) -> Q | _Node:
        attribute = target.attribute
        if value is None:
            # Before the "value" rule below, as in the matcher: `emails eq null` is about the
            # elements, not their values (RFC 7643 section 2.5).
            _validate(attribute, op, value)
            present = self._present(target)
            return present if op == "ne" else _negate(present)
        if (target.elements or target.relation is not None) and target.sub is None and attribute.is_complex:
            # RFC 7644 section 3.4.2.2: `emails co "@example.com"` compares the "value"
            # sub-attribute of a multi-valued complex attribute.
            value_attribute = attribute.sub_attribute("value")
            if value_attribute is not None:
                _validate(value_attribute, op, value)
                return self._compare(_replace(target, sub=value_attribute.name), op, value)
        definition = self._definition(target)
        _validate(definition, op, value)
        if target.elements or target.relation is not None:
            return self._compare_any(target, op, value)
        if target.json_keys:
            ref = _DocRef(self.doc, target.json_keys)
            return _scalar(ref, definition, op, value)
        assert target.lookup is not None
        if definition.type in _TEXT_TYPES and not target.uuid:
            return _scalar(_ColumnRef(target.lookup), definition, op, value)
        return self._lookup_compare(target, definition, op, value)

    def _definition(self, target: Target) -> Attribute:
        if (target.elements or target.relation is not None) and target.sub is not None:
            sub = target.attribute.sub_attribute(target.sub)
            assert sub is not None
            return sub
        return target.attribute

    def _lookup_compare(self, target: Target, attribute: Attribute, op: str, value: Any) -> Q | _Node:
        """A comparison on a typed model column, with Django lookups."""
        lookup = target.lookup
        if target.uuid:
            if op not in ("eq", "ne"):
                # Ordering and substrings compare the id's text, as the matcher does.
                return _scalar(_UuidTextRef(lookup or ""), attribute, op, value)
            try:
                parsed = uuid.UUID(value)
            except ValueError:
                parsed = None
            if parsed is None or str(parsed) != (value if attribute.case_exact else value.lower()):
                # No resource has a malformed id; a caseExact id (``id``) equals only the
                # canonical lowercase form SCIM shows (``members.value`` is caseExact false).
                return _Const(op == "ne")
            value = parsed
        elif attribute.type is AttributeType.DATETIME:
            value = parse_datetime(value)
        eq = Q(**{f"{lookup}__exact": value})
        if op == "eq":
            return eq
        if op == "ne":
            return ~eq | Q(**{f"{lookup}__isnull": True})
        return Q(**{f"{lookup}__{_ORDERING[op]}": value})

    # --- multi-valued attributes ---------------------------------------------------------------

    def _element_ref(self, target: Target) -> _ElemRef:
        return _ElemRef(target.sub)

    def _element_assigned(self, target: Target) -> _Node:
        attribute = target.attribute
        if target.sub is not None or not attribute.is_complex:
            return _Assigned(_ElemRef(target.sub))
        # A complex element is assigned when any of its sub-attributes is (RFC 7643 section 2.5).
        return _Bool("OR", [_Assigned(_ElemRef(sub.name)) for sub in attribute.sub_attributes])

    def _exists(self, target: Target, condition: _Node) -> _Node:
        return _ExistsElement(
            self.doc,
            target.json_keys,
            condition,
            objects_only=target.attribute.is_complex,
            mirror=target.mirror,
            mirror_type=target.mirror_type,
        )

    def _compare_any(self, target: Target, op: str, value: CompValue) -> Q | _Node:
        """Any value matches; for ``ne``: any assigned value differs, or none is assigned."""
        definition = self._definition(target)
        if target.relation is not None:
            return self._relation_compare(target, op, value)
        ref = self._element_ref(target)
        if op != "ne":
            return self._exists(target, _scalar(ref, definition, op, value))
        differs = _Bool("AND", [_Assigned(ref), _NotNode(_scalar(ref, definition, "eq", value))])
        return _Bool("OR", [self._exists(target, differs), _NotNode(self._exists(target, _Assigned(ref)))])

    # --- relations ---------------------------------------------------------------------------

    def _relation_exists(self, relation: RelationLookup, attribute: Attribute, tree: Filter) -> Q:
        inner = _RelationCompiler(self.adapter, relation, attribute)
        return self._wrap_exists(relation, inner.visit(tree))

    @staticmethod
    def _wrap_exists(relation: RelationLookup, condition: Q) -> Q:
        rows = relation.model._default_manager.filter(**{relation.link: OuterRef("pk")}).filter(condition)
        if relation.scope is not None:
            rows = relation.scope(rows)
        return Q(Exists(rows.values("pk")))

    def _relation_any(self, target: Target, build: Callable[[_RelationCompiler, Target], Q | _Node]) -> Q:
        assert target.relation is not None
        inner = _RelationCompiler(self.adapter, target.relation, target.attribute)
        sub = inner.sub_target(target.sub or "value")
        return self._wrap_exists(target.relation, inner._emit(build(inner, sub)))

    def _relation_compare(self, target: Target, op: str, value: CompValue) -> Q:
        if op != "ne":
            return self._relation_any(target, lambda compiler, sub: compiler._compare(sub, op, value))

        def differs(compiler: _RelationCompiler, sub: Target) -> Q:
            return compiler._emit(compiler._present(sub)) & compiler._emit(
                _negate(compiler._compare(sub, "eq", value))
            )

        assert target.relation is not None
        inner = _RelationCompiler(self.adapter, target.relation, target.attribute)
        sub = inner.sub_target(target.sub or "value")
        some_differs = self._wrap_exists(target.relation, differs(inner, sub))
        some_assigned = self._relation_any(target, lambda compiler, s: compiler._present(s))
        return some_differs | ~some_assigned


def _replace(target: Target, **changes: Any) -> Target:
    values = {name: getattr(target, name) for name in Target.__dataclass_fields__}
    values.update(changes)
    return Target(**values)


def _negate(leaf: Q | _Node) -> Q | _Node:
    if isinstance(leaf, _Const):
        return _Const(not leaf.value)
    if isinstance(leaf, _Node):
        return _NotNode(leaf)
    return ~leaf


def _or_leaves(leaves: list[Q | _Node]) -> Q | _Node:
    if all(isinstance(leaf, _Node) for leaf in leaves):
        return _Bool("OR", [leaf for leaf in leaves if isinstance(leaf, _Node)])
    result = Q(pk__in=[])
    for leaf in leaves:
        # NOT NOT: never NULL, so that a later ~Q stays right.
        result |= Q(_SqlPredicate(_NotNode(_NotNode(leaf)))) if isinstance(leaf, _Node) else leaf
    return result


def _scalar(ref: _Ref, attribute: Attribute, op: str, value: Any) -> _Node:
    """``ref op value`` with the matcher's rules for one value (RFC 7644 section 3.4.2.2)."""
    kind = attribute.type
    if op == "ne":
        return _NotNode(_scalar(ref, attribute, "eq", value))
    if kind is AttributeType.DATETIME:
        # dateTime values kept in the JSONField compare as text: exact for the canonical
        # xsd:dateTime form the document rules store (UTC, "Z").
        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed.isoformat().replace("+00:00", "Z")
        kind = AttributeType.STRING
        attribute = Attribute(attribute.name, case_exact=True)
    if kind in _TEXT_TYPES and value == "":
        # "" is unassigned: nothing equals or orders below it; every assigned string contains it.
        if op in ("co", "sw", "ew", "ge", "gt"):
            return _Assigned(ref)
        return _Const(False)
    case_exact = attribute.case_exact or kind is AttributeType.BINARY
    return _Cmp(ref, kind if kind not in _TEXT_TYPES else AttributeType.STRING, op, value, case_exact)


class _ElementCompiler(FilterVisitor[_Node]):
    """The bracketed filter of ``attr[...]`` over one JSON element; paths are sub-attributes."""

    def __init__(self, attribute: Attribute) -> None:
        self.attribute = attribute

    def _sub(self, path: AttrPath) -> Attribute:
        if path.urn is not None or path.sub_attr is not None or path.attr is None:
            raise InvalidFilter(
                f"Inside a value filter, name a sub-attribute of {self.attribute.name!r}, not {str(path)!r}."
            )
        sub = self.attribute.sub_attribute(path.attr)
        if sub is None:
            raise InvalidFilter(f"The attribute {self.attribute.name!r} has no sub-attribute {path.attr!r}.")
        return sub

    def visit_and(self, node: And) -> _Node:
        return _Bool("AND", [self.visit(node.left), self.visit(node.right)])

    def visit_or(self, node: Or) -> _Node:
        return _Bool("OR", [self.visit(node.left), self.visit(node.right)])

    def visit_not(self, node: Not) -> _Node:
        return _NotNode(self.visit(node.expr))

    def visit_present(self, node: Present) -> _Node:
        return _Assigned(_ElemRef(self._sub(node.path).name))

    def visit_compare(self, node: Compare) -> _Node:
        sub = self._sub(node.path)
        _validate(sub, node.op, node.value)
        ref = _ElemRef(sub.name)
        if node.value is None:
            present = _Assigned(ref)
            return present if node.op == "ne" else _NotNode(present)
        return _scalar(ref, sub, node.op, node.value)

    def visit_value_path(self, node: ValuePath) -> _Node:
        raise InvalidFilter("A value filter cannot contain another value filter.")


class _SubCompiler(QCompiler):
    """The bracketed filter of a complex single-valued attribute: ``name[givenName eq "x"]``."""

    def __init__(self, adapter: ResourceAdapter, path: AttrPath) -> None:
        super().__init__(adapter)
        self.path = path

    def resolve(self, path: AttrPath) -> Target:
        if path.urn is not None or path.sub_attr is not None or path.attr is None:
            raise InvalidFilter(f"Inside a value filter, name a sub-attribute, not {str(path)!r}.")
        return self.adapter.filter_target(AttrPath(self.path.urn, self.path.attr, path.attr))

    def visit_value_path(self, node: ValuePath) -> Q:
        raise InvalidFilter("A value filter cannot contain another value filter.")


class _RelationCompiler(QCompiler):
    """Conditions on one related row (a member, a group), inside an ``EXISTS`` subquery."""

    def __init__(self, adapter: ResourceAdapter, relation: RelationLookup, attribute: Attribute) -> None:
        super().__init__(adapter)
        self.relation = relation
        self.attribute = attribute

    def sub_target(self, name: str) -> Target:
        sub = self.attribute.sub_attribute(name)
        if sub is None:
            raise InvalidFilter(f"The attribute {self.attribute.name!r} has no sub-attribute {name!r}.")
        if sub.name in self.relation.constants:
            return Target(sub, json_keys=("\x00constant", self.relation.constants[sub.name]))
        lookup = self.relation.lookups.get(sub.name)
        if lookup is None:
            raise InvalidFilter(f"Filtering on {self.attribute.name}.{sub.name} is not supported.")
        return Target(sub, lookup=lookup, uuid=sub.name in self.relation.uuid_subs)

    def resolve(self, path: AttrPath) -> Target:
        if path.urn is not None or path.sub_attr is not None or path.attr is None:
            raise InvalidFilter(f"Inside a value filter, name a sub-attribute, not {str(path)!r}.")
        return self.sub_target(path.attr)

    def _present(self, target: Target) -> Q | _Node:
        # A related row always shows its constant sub-attributes and its id (the adapter
        # gives it one when rendering, see ResourceAdapter.companion_ids).
        if target.json_keys[:1] == ("\x00constant",) or target.uuid:
            return _Const(True)
        return super()._present(target)

    def _compare(self, target: Target, op: str, value: CompValue) -> Q | _Node:
        if target.json_keys[:1] == ("\x00constant",):
            # A sub-attribute with one value for all elements (``members.type`` is "User"):
            # decided here, with the matcher's own comparison.
            _validate(target.attribute, op, value)
            if value is None:
                return _Const(op == "ne")
            return _Const(_comparator(target.attribute, op, value)(target.json_keys[1]))
        return super()._compare(target, op, value)

    def visit_value_path(self, node: ValuePath) -> Q:
        raise InvalidFilter("A value filter cannot contain another value filter.")


def compile_filter(adapter: ResourceAdapter, tree: Filter) -> Q:
    """The ``Q`` selecting the resources that ``tree`` matches."""
    return QCompiler(adapter).visit(tree)
