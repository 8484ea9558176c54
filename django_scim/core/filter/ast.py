"""Filter expression trees (RFC 7644 section 3.4.2.2).

Nodes are immutable and ``str(node)`` is canonical filter text which parses back to an equal
tree: lowercase operators, one space between tokens, string values as JSON strings, and
parentheses only where precedence (``not`` > ``and`` > ``or``, left-associative) needs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

from ..paths import AttrPath

#: RFC 7644 section 3.4.2.2, Table 3 (``pr`` is :class:`Present`).
COMPARE_OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
#: Operators that order values; booleans, binary and null cannot be ordered.
ORDERING_OPERATORS = frozenset({"gt", "ge", "lt", "le"})
#: Operators that look for a substring.
SUBSTRING_OPERATORS = frozenset({"co", "sw", "ew"})

#: A JSON scalar (RFC 7644 section 3.4.2.2 ``compValue``). Numbers are ``int`` when written
#: without fraction and exponent, ``float`` otherwise: that is what ``json.loads`` gives for a
#: resource document, so values compare the way the document's values do.
CompValue: TypeAlias = str | bool | int | float | None

_OR, _AND, _UNARY = 1, 2, 3


def render_value(value: CompValue) -> str:
    """``value`` as filter text (a JSON scalar)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    # repr() of a finite float is the shortest text that reads back as the same float.
    return repr(value)


@dataclass(frozen=True, slots=True, eq=False)
class Compare:
    """``attrPath SP compareOp SP compValue``."""

    path: AttrPath
    """The attribute compared."""

    op: str
    """The operator, lowercase: one of :data:`COMPARE_OPERATORS`."""

    value: CompValue
    """The value compared with."""

    def _key(self) -> tuple[object, ...]:
        # The value's type takes part: True == 1 and 1 == 1.0 in Python, not in a filter.
        return (self.path, self.op, type(self.value), self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compare):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return f"{self.path} {self.op} {render_value(self.value)}"


@dataclass(frozen=True, slots=True)
class Present:
    """``attrPath SP "pr"``: the attribute has a non-empty value."""

    path: AttrPath
    """The attribute tested."""

    def __str__(self) -> str:
        return f"{self.path} pr"


@dataclass(frozen=True, slots=True)
class And:
    """``FILTER SP "and" SP FILTER``."""

    left: Filter
    right: Filter

    def __str__(self) -> str:
        return f"{_operand(self.left, _AND)} and {_operand(self.right, _AND + 1)}"


@dataclass(frozen=True, slots=True)
class Or:
    """``FILTER SP "or" SP FILTER``."""

    left: Filter
    right: Filter

    def __str__(self) -> str:
        return f"{_operand(self.left, _OR)} or {_operand(self.right, _OR + 1)}"


@dataclass(frozen=True, slots=True)
class Not:
    """``"not" SP "(" FILTER ")"``."""

    expr: Filter

    def __str__(self) -> str:
        return f"not ({self.expr})"


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: some element of a multi-valued attribute matches ``filter``."""

    path: AttrPath
    """The multi-valued (complex) attribute."""

    filter: Filter
    """The element filter; its paths are sub-attribute names (``type``, ``value``)."""

    def __str__(self) -> str:
        return f"{self.path}[{self.filter}]"


Filter: TypeAlias = Compare | Present | And | Or | Not | ValuePath


def _precedence(node: Filter) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    return _UNARY


def _operand(node: Filter, minimum: int) -> str:
    """``node`` as an operand that needs precedence ``minimum``, parenthesised if it binds looser.

    The right operand asks for one level more: ``and``/``or`` associate to the left, so
    ``a or (b or c)`` keeps its parentheses.
    """
    return str(node) if _precedence(node) >= minimum else f"({node})"
