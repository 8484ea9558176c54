"""Evaluate a filter against a resource document in memory (RFC 7644 section 3.4.2.2).

The PATCH engine uses :func:`matches_element` for value filters (RFC 7644 section 3.5.2), and
tests use :func:`matches` as the reference the ORM translation must agree with.

Rules, beyond the RFC's wording:

* Attribute names and extension URNs are case-insensitive in the document, as in the schema
  (RFC 7643 section 2.1). A path without URN is looked up in the core schema, then among the
  common attributes (``id``, ``externalId``, ``meta``, ``schemas``), then in the extensions
  (the first one defining it): clients (Okta among them) send extension attributes unqualified.
* Every branch is evaluated, without short-circuit, so an unsupported attribute or comparison
  raises :class:`InvalidFilter` whatever the data (as a query compiler would).
* Absent, ``null``, ``""``, ``[]`` and ``{}`` are "unassigned" (RFC 7643 section 2.5; ``pr``
  in RFC 7644 section 3.4.2.2 wants a "non-empty" value). ``attr eq null`` matches an
  unassigned attribute and ``attr ne null`` an assigned one: ``eq null`` is ``not (attr pr)``.
* ``ne`` matches when the attribute is unassigned: "the attribute and operator values are not
  identical" holds when there is no value (and Django's ``exclude()`` agrees for NULL). On a
  multi-valued attribute ``ne`` matches when any value differs, like every operator
  ("the filter matches if any of the values ... match").
* Other comparisons with an unassigned attribute are false.
* Naive date-times (no ``Z`` or offset, which xsd:dateTime allows) are taken as UTC.
* Comparisons of a value of the wrong JSON type in the document (a number for a string
  attribute) are false (``ne``: true); a filter value of the wrong type for the attribute is
  :class:`InvalidFilter` ("the specified attribute and filter comparison combination is not
  supported", RFC 7644 section 3.12).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..constants import AttributeType
from ..errors import InvalidFilter
from ..paths import AttrPath
from ..schema import COMMON_ATTRIBUTE_INDEX, Attribute, ResourceType
from .ast import (
    ORDERING_OPERATORS,
    SUBSTRING_OPERATORS,
    And,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
)
from .visitor import FilterVisitor

# RFC 7643 section 3: "schemas" is on every resource; schema.COMMON_ATTRIBUTES leaves it out
# because the document rules treat it apart. URIs compare case-insensitively, as
# ResourceType.extension() does.
_SCHEMAS_ATTRIBUTE = Attribute(
    "schemas", type=AttributeType.REFERENCE, multi_valued=True, reference_types=("uri",)
)

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "co": lambda actual, expected: expected in actual,
    "sw": lambda actual, expected: actual.startswith(expected),
    "ew": lambda actual, expected: actual.endswith(expected),
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}

# xsd:dateTime (RFC 7643 section 2.3.5), with "T"/"Z" in either case.
_DATETIME_RE = re.compile(
    r"(?P<year>-?[0-9]{4,})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<tz>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)

_MISMATCH = object()


def parse_datetime(text: str) -> datetime | None:
    """``text`` as an aware datetime if it is an xsd:dateTime (naive ones in UTC), else ``None``."""
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    fraction = parts["fraction"] or ".0"
    tz_text = parts["tz"]
    try:
        if tz_text is None or tz_text in ("Z", "z"):
            tz = UTC
        else:
            sign = -1 if tz_text[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(tz_text[1:3]), minutes=int(tz_text[4:6])))
        hour = int(parts["hour"])
        # xsd:dateTime allows 24:00:00, the midnight that ends the day.
        extra = timedelta(days=1) if hour == 24 else timedelta(0)
        if hour == 24 and (parts["minute"], parts["second"], fraction.strip(".0")) != ("00", "00", ""):
            return None
        return (
            datetime(
                int(parts["year"]),
                int(parts["month"]),
                int(parts["day"]),
                0 if hour == 24 else hour,
                int(parts["minute"]),
                int(parts["second"]),
                int(fraction[1:7].ljust(6, "0")),
                tzinfo=tz,
            )
            + extra
        )
    except (ValueError, OverflowError):
        return None


def _lookup(container: Any, name: str) -> Any:
    """``container[name]`` with the key matched case-insensitively; ``None`` if absent."""
    if not isinstance(container, Mapping):
        return None
    if name in container:
        return container[name]
    lowered = name.lower()
    for key, value in container.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _values(value: Any) -> list[Any]:
    """The values of an attribute: a multi-valued attribute's list, or the one value."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [item for item in value if item is not None]
    return [value]


def _is_assigned(value: Any) -> bool:
    """Not null, ``""``, ``[]``, or a complex value with nothing assigned in it."""
    if value is None or value == "":
        return False
    if isinstance(value, list | tuple):
        return any(_is_assigned(item) for item in value)
    if isinstance(value, Mapping):
        return any(_is_assigned(item) for item in value.values())
    return True


def _is_number(value: Any) -> bool:
    # Decimal: a document built from a model's DecimalField before it is rendered to JSON.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        # A document built from a model's DateTimeField before it is rendered to JSON.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return parse_datetime(value) if isinstance(value, str) else None


def _comparator(attribute: Attribute, op: str, expected: CompValue) -> Callable[[Any], bool]:
    """A test of one document value against ``op expected``; raises if the combination is invalid."""
    kind = attribute.type

    def unsupported(what: str) -> InvalidFilter:
        return InvalidFilter(f"'{op}' cannot compare the {kind} attribute {attribute.name!r} with {what}.")

    coerce: Callable[[Any], Any]
    if kind in (AttributeType.STRING, AttributeType.REFERENCE, AttributeType.BINARY):
        if not isinstance(expected, str):
            raise unsupported("a non-string value")
        if kind is AttributeType.BINARY and op not in ("eq", "ne"):
            # RFC 7644 section 3.4.2.2: binary attributes cannot be ordered; a substring of
            # base64 text means nothing either.
            raise unsupported("anything but eq and ne")
        if attribute.case_exact or kind is AttributeType.BINARY:

            def coerce(value: Any) -> Any:
                return value if isinstance(value, str) else _MISMATCH

        else:
            # RFC 7644 section 3.4.2.2: caseExact false means case-insensitive matching.
            expected = expected.lower()

            def coerce(value: Any) -> Any:
                return value.lower() if isinstance(value, str) else _MISMATCH

    elif kind is AttributeType.BOOLEAN:
        if op not in ("eq", "ne") or not isinstance(expected, bool):
            raise unsupported(f"{'a non-boolean value' if op in ('eq', 'ne') else 'that operator'}")

        def coerce(value: Any) -> Any:
            return value if isinstance(value, bool) else _MISMATCH

    elif kind in (AttributeType.INTEGER, AttributeType.DECIMAL):
        if op in SUBSTRING_OPERATORS or not _is_number(expected):
            raise unsupported(
                "a non-number value" if op not in SUBSTRING_OPERATORS else "a substring operator"
            )

        def coerce(value: Any) -> Any:
            return value if _is_number(value) else _MISMATCH

    elif kind is AttributeType.DATETIME:
        if op in SUBSTRING_OPERATORS:
            raise unsupported("a substring operator")
        parsed = parse_datetime(expected) if isinstance(expected, str) else None
        if parsed is None:
            raise unsupported("a value that is not an xsd:dateTime string")
        expected = parsed  # type: ignore[assignment]

        def coerce(value: Any) -> Any:
            result = _as_datetime(value)
            return _MISMATCH if result is None else result

    else:
        raise InvalidFilter(
            f"The complex attribute {attribute.name!r} cannot be compared; name one of its sub-attributes."
        )

    compare = _OPERATORS[op]

    def test(value: Any) -> bool:
        actual = coerce(value)
        if actual is _MISMATCH:
            return op == "ne"
        return bool(compare(actual, expected))

    return test


class _ResourceScope:
    """Resolves paths of a whole resource: ``userName``, ``name.givenName``, ``urn:...:employeeNumber``."""

    def __init__(self, document: Mapping[str, Any], resource_type: ResourceType) -> None:
        self.document = document
        self.resource_type = resource_type

    def resolve(self, path: AttrPath) -> tuple[Attribute, list[Any]]:
        if path.attr is None:
            raise InvalidFilter(f"The filter path {str(path)!r} names no attribute.")
        resource_type = self.resource_type
        container: Any = self.document
        attribute: Attribute | None = None
        if path.urn is not None and path.urn.lower() != resource_type.schema.id.lower():
            extension = resource_type.extension(path.urn)
            if extension is None:
                raise InvalidFilter(
                    f"The schema {path.urn!r} is not a schema of the {resource_type.name} resource type."
                )
            container = _lookup(self.document, extension.schema.id)
            attribute = extension.schema.attribute(path.attr)
        else:
            attribute = resource_type.schema.attribute(path.attr) or COMMON_ATTRIBUTE_INDEX.get(
                path.attr.lower()
            )
            if attribute is None and path.attr.lower() == "schemas":
                attribute = _SCHEMAS_ATTRIBUTE
            if attribute is None and path.urn is None:
                for extension in resource_type.extensions:
                    attribute = extension.schema.attribute(path.attr)
                    if attribute is not None:
                        container = _lookup(self.document, extension.schema.id)
                        break
        if attribute is None:
            raise InvalidFilter(f"The {resource_type.name} resource type has no attribute {str(path)!r}.")
        values = _values(_lookup(container, attribute.name))
        if path.sub_attr is None:
            return attribute, values
        if not attribute.is_complex:
            raise InvalidFilter(f"The attribute {attribute.name!r} has no sub-attributes ({str(path)!r}).")
        sub = attribute.sub_attribute(path.sub_attr)
        if sub is None:
            raise InvalidFilter(f"The attribute {attribute.name!r} has no sub-attribute {path.sub_attr!r}.")
        return sub, [item for value in values for item in _values(_lookup(value, sub.name))]


class _ElementScope:
    """Resolves paths inside one element of a multi-valued complex attribute: ``type``, ``value``."""

    def __init__(self, element: Mapping[str, Any], attribute: Attribute) -> None:
        self.element = element
        self.attribute = attribute

    def resolve(self, path: AttrPath) -> tuple[Attribute, list[Any]]:
        if path.urn is not None or path.sub_attr is not None or path.attr is None:
            raise InvalidFilter(
                f"Inside a value filter, name a sub-attribute of {self.attribute.name!r}, not {str(path)!r}."
            )
        if not self.attribute.is_complex:
            raise InvalidFilter(f"The attribute {self.attribute.name!r} has no sub-attributes to filter on.")
        sub = self.attribute.sub_attribute(path.attr)
        if sub is None:
            raise InvalidFilter(f"The attribute {self.attribute.name!r} has no sub-attribute {path.attr!r}.")
        return sub, _values(_lookup(self.element, sub.name))


class Matcher(FilterVisitor[bool]):
    """Whether a document matches a filter (RFC 7644 section 3.4.2.2); see the module docstring.

    Give either ``resource_type`` (``document`` is a whole resource) or ``element_of`` (``document``
    is one element of that multi-valued complex attribute, and paths are its sub-attributes).
    Unknown attributes and unsupported comparisons raise :class:`InvalidFilter`.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        resource_type: ResourceType | None = None,
        *,
        element_of: Attribute | None = None,
    ) -> None:
        if (resource_type is None) == (element_of is None):
            raise TypeError("Matcher needs exactly one of resource_type and element_of.")
        self._scope: _ResourceScope | _ElementScope
        if resource_type is not None:
            self._scope = _ResourceScope(document, resource_type)
        else:
            assert element_of is not None
            self._scope = _ElementScope(document, element_of)

    def visit_compare(self, node: Compare) -> bool:
        """RFC 7644 section 3.4.2.2, Table 3; any value of a multi-valued attribute may match."""
        attribute, values = self._scope.resolve(node.path)
        if node.op in ORDERING_OPERATORS and (node.value is None or isinstance(node.value, bool)):
            raise InvalidFilter(f"'{node.op}' cannot order {node.value!r}.")
        if node.value is None:
            if node.op not in ("eq", "ne"):
                raise InvalidFilter(f"'{node.op}' cannot compare with null.")
            # RFC 7643 section 2.5: null and unassigned are the same state.
            assigned = any(_is_assigned(value) for value in values)
            return assigned if node.op == "ne" else not assigned
        if attribute.is_complex and attribute.multi_valued:
            # RFC 7644 section 3.4.2.2: a multi-valued complex attribute without a sub-attribute
            # (`emails co "example.com"`) is compared through its "value" sub-attribute.
            value_attribute = attribute.sub_attribute("value")
            if value_attribute is not None:
                attribute = value_attribute
                values = [item for value in values for item in _values(_lookup(value, "value"))]
        test = _comparator(attribute, node.op, node.value)
        assigned_values = [value for value in values if _is_assigned(value)]
        if not assigned_values:
            return node.op == "ne"
        return any(test(value) for value in assigned_values)

    def visit_present(self, node: Present) -> bool:
        """``pr``: "the attribute has a non-empty value" (RFC 7644 section 3.4.2.2)."""
        _, values = self._scope.resolve(node.path)
        return any(_is_assigned(value) for value in values)

    def visit_and(self, node: And) -> bool:
        left = self.visit(node.left)
        right = self.visit(node.right)
        return left and right

    def visit_or(self, node: Or) -> bool:
        left = self.visit(node.left)
        right = self.visit(node.right)
        return left or right

    def visit_not(self, node: Not) -> bool:
        return not self.visit(node.expr)

    def visit_value_path(self, node: ValuePath) -> bool:
        """Some element of the attribute matches the bracketed filter (RFC 7644 section 3.4.2.2)."""
        if isinstance(self._scope, _ElementScope):
            raise InvalidFilter("A value filter cannot contain another value filter.")
        attribute, values = self._scope.resolve(node.path)
        if node.path.sub_attr is not None or not attribute.is_complex:
            raise InvalidFilter(f"{str(node.path)!r} is not a complex attribute; it takes no [filter].")
        elements = [value for value in values if isinstance(value, Mapping)]
        # With no element the filter is still checked against the attribute's definition.
        results = [Matcher(element, element_of=attribute).visit(node.filter) for element in elements or [{}]]
        return bool(elements) and any(results)


def matches(filt: Filter, document: Mapping[str, Any], resource_type: ResourceType) -> bool:
    """Whether the resource ``document`` (as the API returns it) matches ``filt``."""
    return Matcher(document, resource_type).visit(filt)


def matches_element(filt: Filter, element: Mapping[str, Any], attribute: Attribute) -> bool:
    """Whether ``element``, one value of the multi-valued complex ``attribute``, matches ``filt``.

    ``filt``'s paths are sub-attribute names, as in a PATCH path's value filter
    (``emails[type eq "work"]``, RFC 7644 section 3.5.2).
    """
    return Matcher(element, element_of=attribute).visit(filt)
