"""Attribute paths (RFC 7644 sections 3.4.2.2 and 3.10) and PATCH paths (RFC 7644 section 3.5.2).

An attribute path names an attribute, optionally fully qualified by its schema URN, and
optionally one sub-attribute::

    attrPath  = [URI ":"] ATTRNAME *1subAttr
    ATTRNAME  = ALPHA *(nameChar)
    nameChar  = "-" / "_" / DIGIT / ALPHA
    subAttr   = "." ATTRNAME

Names are kept as written; they are case-insensitive (RFC 7643 section 2.1) and resolving
them against a schema is the caller's job.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidFilter, InvalidPath, ScimError

if TYPE_CHECKING:
    from .filter.ast import Filter

# RFC 7643 section 2.4 / RFC 7644 section 3.10: "$ref" is the one name outside the ATTRNAME
# rule (``members.$ref``, ``groups.$ref``, ``manager.$ref``).
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref")
# The URI part of an attribute path: a scheme, then RFC 3986 / RFC 8141 path characters. The
# parentheses, brackets and quote that RFC 8141 would allow are left out: they are filter syntax.
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~%!$&'*+,;=:@/]+")

_SHOWN_CHARS = 80


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut short: details must not echo megabytes back."""
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "..."
    return repr(text)


def is_attr_name(name: str) -> bool:
    """Whether ``name`` is a valid ATTRNAME (RFC 7644 section 3.4.2.2), ``$ref`` included."""
    return _NAME_RE.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """An attribute path: ``[urn ":"] attr ["." sub_attr]`` (RFC 7644 section 3.10)."""

    urn: str | None
    """The schema URN, when the path is written fully qualified; as written."""

    attr: str | None
    """The top-level attribute name as written; ``None`` only for a bare extension-URN PATCH path."""

    sub_attr: str | None = None
    """The sub-attribute name as written, or ``None``."""

    def __str__(self) -> str:
        if self.attr is None:
            return self.urn or ""
        text = self.attr if self.urn is None else f"{self.urn}:{self.attr}"
        return text if self.sub_attr is None else f"{text}.{self.sub_attr}"


def parse_attr_path(
    text: str,
    *,
    known_urns: Collection[str] = (),
    error: type[ScimError] = InvalidPath,
) -> AttrPath:
    """Parse ``text`` as an attribute path, raising ``error(detail)`` when it is malformed.

    ``known_urns`` are the schema URNs the caller recognises (compared case-insensitively):
    ``text`` equal to one of them is a bare URN path (``attr`` is ``None``; meaningful only as a
    PATCH path, RFC 7644 section 3.5.2), and ``text`` starting with one of them and ``":"`` is
    split there. Any other text containing ``":"`` is split at its last ``":"``, since an
    ATTRNAME cannot contain one; the part after it may hold one ``"."`` for the sub-attribute.
    """
    if not text:
        raise error("The attribute path is empty.")
    lowered = text.lower()
    urn: str | None = None
    rest = text
    # Longest first, so that a URN which is a prefix of another cannot steal its attributes.
    for known in sorted(known_urns, key=len, reverse=True):
        known_lower = known.lower()
        if lowered == known_lower:
            return AttrPath(text, None, None)
        if lowered.startswith(known_lower + ":"):
            urn, rest = text[: len(known)], text[len(known) + 1 :]
            break
    else:
        if ":" in text:
            urn, _, rest = text.rpartition(":")
            if _URI_RE.fullmatch(urn) is None:
                raise error(f"Invalid attribute path {_shown(text)}: {_shown(urn)} is not a schema URI.")
    name, dot, sub = rest.partition(".")
    if not is_attr_name(name):
        if not name:
            reason = "the attribute name is missing"
        else:
            reason = f"{_shown(name)} is not an attribute name (a letter, then letters, digits, '-' or '_')"
        raise error(f"Invalid attribute path {_shown(text)}: {reason}.")
    if dot and not is_attr_name(sub):
        if not sub or sub.startswith("."):
            reason = "the sub-attribute name after '.' is missing"
        elif "." in sub:
            reason = "only one sub-attribute level is allowed"
        else:
            reason = f"{_shown(sub)} is not a sub-attribute name"
        raise error(f"Invalid attribute path {_shown(text)}: {reason}.")
    return AttrPath(urn, name, sub if dot else None)


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH ``path`` (RFC 7644 section 3.5.2): ``PATH = attrPath / valuePath [subAttr]``."""

    attr_path: AttrPath
    """The attribute (or, with ``attr`` ``None``, the whole extension) the operation targets."""

    value_filter: Filter | None = None
    """The filter in brackets selecting elements of a multi-valued attribute; paths in it are
    sub-attribute names of ``attr_path``."""

    sub_attr: str | None = None
    """The sub-attribute after the closing bracket (``emails[type eq "work"].value``)."""

    def __str__(self) -> str:
        text = str(self.attr_path)
        if self.value_filter is not None:
            text = f"{text}[{self.value_filter}]"
        return text if self.sub_attr is None else f"{text}.{self.sub_attr}"


def parse_patch_path(
    text: str,
    *,
    known_urns: Collection[str] = (),
    max_length: int = 4096,
    max_depth: int = 50,
) -> PatchPath:
    """Parse a PATCH operation's ``path`` (RFC 7644 section 3.5.2), raising :class:`InvalidPath`.

    A malformed filter inside the brackets is reported as ``invalidPath`` as well (with the
    filter parser's detail): RFC 7644 section 3.5.2 lists ``invalidPath`` for a path that is
    "invalid or malformed", and a client needs one error kind for one request member.
    ``max_length`` and ``max_depth`` bound the path and the filter in it as for ``filter=``.
    """
    if len(text) > max_length:
        raise InvalidPath(f"The path is longer than {max_length} characters.")
    bracket = text.find("[")
    if bracket < 0:
        return PatchPath(parse_attr_path(text, known_urns=known_urns))
    # The last "]" closes the value filter: after it only ".subAttr" may follow, and a "]"
    # inside a string literal of the filter comes before it.
    close = text.rfind("]")
    if close < bracket:
        raise InvalidPath(f"Invalid path {_shown(text)}: '[' is not closed by ']'.")
    attr_path = parse_attr_path(text[:bracket], known_urns=known_urns)
    if attr_path.attr is None or attr_path.sub_attr is not None:
        raise InvalidPath(
            f"Invalid path {_shown(text)}: a value filter applies to a multi-valued attribute, "
            f"not to {_shown(str(attr_path))}."
        )
    tail = text[close + 1 :]
    sub_attr: str | None = None
    if tail:
        if not tail.startswith(".") or not is_attr_name(tail[1:]):
            raise InvalidPath(
                f"Invalid path {_shown(text)}: only '.subAttribute' may follow ']', not {_shown(tail)}."
            )
        sub_attr = tail[1:]
    # Imported here: the filter package builds on this module.
    from .filter.parser import parse_value_filter

    try:
        value_filter = parse_value_filter(
            text[bracket + 1 : close], max_length=max_length, max_depth=max_depth
        )
    except InvalidFilter as exc:
        raise InvalidPath(f"Invalid value filter in path {_shown(text)}: {exc.detail}") from exc
    return PatchPath(attr_path, value_filter, sub_attr)
