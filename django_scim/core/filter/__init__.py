"""The SCIM filter language (RFC 7644 section 3.4.2.2): trees, parser, visitor, matcher."""

from __future__ import annotations

from .ast import (
    COMPARE_OPERATORS,
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
from .evaluate import Matcher, matches, matches_element
from .parser import parse_filter, parse_value_filter
from .visitor import FilterVisitor

__all__ = [
    "COMPARE_OPERATORS",
    "ORDERING_OPERATORS",
    "SUBSTRING_OPERATORS",
    "And",
    "Compare",
    "CompValue",
    "Filter",
    "FilterVisitor",
    "Matcher",
    "Not",
    "Or",
    "Present",
    "ValuePath",
    "matches",
    "matches_element",
    "parse_filter",
    "parse_value_filter",
]
