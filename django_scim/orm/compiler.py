"""The filter compiler: a SCIM filter tree (RFC 7644 section 3.4.2.2) -> a Django ``Q``.

Filters always run in SQL: every value is a bound parameter, and an attribute the mapping
cannot serve is a 400 ``invalidFilter``, never a silent empty or full result (identity
providers read an empty result as "not found" and create duplicates).

Semantics follow the in-memory reference matcher (:mod:`django_scim.core.filter.evaluate`):
``caseExact`` from the schema decides case sensitivity; unassigned means NULL, ``""`` or absent;
``ne`` matches unassigned values; ``eq null`` is ``not pr``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, lookups
from django.db.models.fields import json as json_lookups
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Lower

from ..core.constants import AttributeType
from ..core.errors import InvalidFilter
from ..core.filter import And, Compare, CompValue, Filter, FilterVisitor, Not, Or, Present, ValuePath
from ..core.filter.evaluate import parse_datetime
from ..core.paths import AttrPath
from ..core.schema import Attribute

if TYPE_CHECKING:
    from ..adapters.base import ResourceAdapter


@dataclass(frozen=True, slots=True)
class Target:
    """Where a filtered attribute lives: a model lookup or a path in the companion JSONField."""

    attribute: Attribute
    """The (sub-)attribute definition: its type and caseExact decide the comparison."""

    lookup: str | None = None
    """ORM lookup path from the served model (``username``, ``scim__external_id``)."""

    json_keys: tuple[str, ...] = ()
    """Keys inside the companion's ``attributes`` JSONField, when ``lookup`` is ``None``."""

    uuid: bool = False
    """The lookup is a UUID column (SCIM ids): a value that is not a UUID matches nothing."""


_SUBSTRING = {"co": "contains", "sw": "startswith", "ew": "endswith"}
_ORDERING = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


class QCompiler(FilterVisitor[Q]):
    """Compiles a filter for one adapter; the adapter resolves attribute paths to targets."""

    def __init__(self, adapter: ResourceAdapter) -> None:
        self.adapter = adapter

    def visit_and(self, node: And) -> Q:
        return self.visit(node.left) & self.visit(node.right)

    def visit_or(self, node: Or) -> Q:
        return self.visit(node.left) | self.visit(node.right)

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_present(self, node: Present) -> Q:
        return self._present(self.adapter.filter_target(node.path))

    def visit_compare(self, node: Compare) -> Q:
        target = self.adapter.filter_target(node.path)
        return self._compare(target, node.op, node.value)

    def visit_value_path(self, node: ValuePath) -> Q:
        inner = _ValuePathCompiler(self, node)
        return inner.visit(node.filter)

    # --- comparisons -----------------------------------------------------------------------

    def _lhs(self, target: Target, *, text: bool) -> Any:
        if target.lookup is not None:
            return F(target.lookup)
        expr: Any = F(f"{self.adapter.companion_accessor}__attributes")
        for key in target.json_keys[:-1]:
            expr = KeyTransform(key, expr)
        last = target.json_keys[-1]
        return KeyTextTransform(last, expr) if text else KeyTransform(last, expr)

    def _q(self, target: Target, lookup: str, value: Any, *, text: bool = True, lower: bool = False) -> Q:
        """``target <lookup> value`` with ``value`` bound as a parameter."""
        if target.lookup is not None and not lower:
            return Q(**{f"{target.lookup}__{lookup}": value})
        lhs = self._lhs(target, text=text)
        if lower:
            lhs = Lower(lhs)
        classes = _LOOKUPS if text or target.lookup is not None else _JSON_LOOKUPS
        return Q(classes[lookup](lhs, value))

    def _present(self, target: Target) -> Q:
        attr = target.attribute
        if target.lookup is not None:
            q = Q(**{f"{target.lookup}__isnull": False})
            if attr.type in _TEXT_TYPES:
                q &= ~Q(**{target.lookup: ""})
            return q
        value = self._lhs(target, text=True)
        q = Q(lookups.IsNull(value, False))
        if attr.type in _TEXT_TYPES:
            q &= ~Q(lookups.Exact(value, ""))
        return q

    def _compare(self, target: Target, op: str, value: CompValue) -> Q:
        attr = target.attribute
        if attr.multi_valued and target.lookup is None:
            raise InvalidFilter(f"Filtering on the multi-valued attribute {attr.name!r} is not supported.")
        if value is None:
            if op == "eq":
                return ~self._present(target)
            if op == "ne":
                return self._present(target)
            raise InvalidFilter(f"'{op} null' is not a valid comparison.")
        value = self._coerce(attr, op, value)
        if target.uuid and op in ("eq", "ne"):
            try:
                value = uuid.UUID(value)
            except ValueError:
                # No resource has a malformed id.
                nothing = Q(pk__in=[])
                return ~nothing if op == "ne" else nothing
        elif target.uuid and op in _ORDERING:
            raise InvalidFilter(f"'{op}' cannot order ids.")
        if op == "ne":
            return ~self._eq(target, value) | ~self._present(target)
        if op == "eq":
            return self._eq(target, value)
        text = attr.type in _TEXT_TYPES
        if op in _SUBSTRING:
            if not text:
                raise InvalidFilter(f"'{op}' needs a string attribute; {attr.name!r} is {attr.type}.")
            return self._q(target, ("" if attr.case_exact else "i") + _SUBSTRING[op], value)
        if attr.type in (AttributeType.BOOLEAN, AttributeType.BINARY, AttributeType.COMPLEX):
            raise InvalidFilter(f"'{op}' cannot order the {attr.type} attribute {attr.name!r}.")
        if text and not attr.case_exact:
            return self._q(target, _ORDERING[op], value.lower(), lower=True)
        return self._q(target, _ORDERING[op], value, text=text)

    def _eq(self, target: Target, value: Any) -> Q:
        attr = target.attribute
        if attr.type in _TEXT_TYPES and not attr.case_exact and not target.uuid:
            return self._q(target, "iexact", value)
        return self._q(target, "exact", value, text=attr.type in _TEXT_TYPES)

    @staticmethod
    def _coerce(attr: Attribute, op: str, value: CompValue) -> Any:
        kind = attr.type
        if kind is AttributeType.BOOLEAN:
            if not isinstance(value, bool):
                raise InvalidFilter(f"{attr.name!r} is a boolean; compare it with true or false.")
            return value
        if kind in (AttributeType.INTEGER, AttributeType.DECIMAL):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidFilter(f"{attr.name!r} is a number; compare it with a number.")
            return value
        if not isinstance(value, str):
            raise InvalidFilter(f"{attr.name!r} is a {kind}; compare it with a string.")
        if kind is AttributeType.DATETIME:
            parsed = parse_datetime(value)
            if parsed is None:
                raise InvalidFilter(f"{value!r} is not a dateTime (xsd:dateTime, RFC 7643 section 2.3.5).")
            return parsed
        return value


_TEXT_TYPES = (AttributeType.STRING, AttributeType.REFERENCE, AttributeType.BINARY)

_LOOKUPS: dict[str, type[lookups.Lookup[Any]]] = {
    "exact": lookups.Exact,
    "iexact": lookups.IExact,
    "contains": lookups.Contains,
    "icontains": lookups.IContains,
    "startswith": lookups.StartsWith,
    "istartswith": lookups.IStartsWith,
    "endswith": lookups.EndsWith,
    "iendswith": lookups.IEndsWith,
    "gt": lookups.GreaterThan,
    "gte": lookups.GreaterThanOrEqual,
    "lt": lookups.LessThan,
    "lte": lookups.LessThanOrEqual,
}
# JSON booleans and numbers compare as JSON values, not as text.
_JSON_LOOKUPS: dict[str, type[lookups.Lookup[Any]]] = {
    "exact": json_lookups.KeyTransformExact,
    "gt": json_lookups.KeyTransformGt,
    "gte": json_lookups.KeyTransformGte,
    "lt": json_lookups.KeyTransformLt,
    "lte": json_lookups.KeyTransformLte,
}


class _ValuePathCompiler(QCompiler):
    """Compiles the element filter of ``attr[...]``: its paths are sub-attributes of ``attr``."""

    def __init__(self, outer: QCompiler, node: ValuePath) -> None:
        super().__init__(outer.adapter)
        self.node = node

    def _sub(self, path: AttrPath) -> AttrPath:
        return AttrPath(self.node.path.urn, self.node.path.attr, path.attr)

    def visit_present(self, node: Present) -> Q:
        return self._present(self.adapter.filter_target(self._sub(node.path)))

    def visit_compare(self, node: Compare) -> Q:
        target = self.adapter.filter_target(self._sub(node.path))
        return self._compare(target, node.op, node.value)


def compile_filter(adapter: ResourceAdapter, tree: Filter) -> Q:
    """The ``Q`` selecting the resources that ``tree`` matches."""
    return QCompiler(adapter).visit(tree)
