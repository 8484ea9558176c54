"""A base class for walking filter trees (RFC 7644 section 3.4.2.2)."""

from __future__ import annotations

from typing import Generic, TypeVar

from .ast import And, Compare, Filter, Not, Or, Present, ValuePath

T = TypeVar("T")

_METHODS: dict[type, str] = {
    Compare: "visit_compare",
    Present: "visit_present",
    And: "visit_and",
    Or: "visit_or",
    Not: "visit_not",
    ValuePath: "visit_value_path",
}


class FilterVisitor(Generic[T]):
    """Turns a filter tree into a ``T``, one method per node type.

    :meth:`visit` dispatches on the node's type; subclasses implement every ``visit_*`` method
    (and recurse with ``self.visit(node.left)`` and so on). A method left out raises
    :class:`NotImplementedError` naming the node type.
    """

    def visit(self, node: Filter) -> T:
        """The result for ``node``, from the ``visit_*`` method for its type."""
        for cls in type(node).__mro__:
            name = _METHODS.get(cls)
            if name is not None:
                result: T = getattr(self, name)(node)
                return result
        raise TypeError(f"{node!r} is not a filter node.")

    def _missing(self, node: Filter) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} does not handle {type(node).__name__} nodes.")

    def visit_compare(self, node: Compare) -> T:
        """``attrPath compareOp compValue``."""
        raise self._missing(node)

    def visit_present(self, node: Present) -> T:
        """``attrPath pr``."""
        raise self._missing(node)

    def visit_and(self, node: And) -> T:
        """``FILTER and FILTER``."""
        raise self._missing(node)

    def visit_or(self, node: Or) -> T:
        """``FILTER or FILTER``."""
        raise self._missing(node)

    def visit_not(self, node: Not) -> T:
        """``not (FILTER)``."""
        raise self._missing(node)

    def visit_value_path(self, node: ValuePath) -> T:
        """``attrPath[valFilter]``."""
        raise self._missing(node)
