"""Schema-driven rules for resource documents (RFC 7643 sections 2 and 7, RFC 7644 section 3).

A *document* is a resource as JSON decodes it: a ``dict`` with ``schemas``, the common
attributes (``id``, ``externalId``, ``meta``), the core schema's attributes at the top level and
each extension's attributes in an object keyed by the extension's URN.

* :func:`normalize` validates a POST or PUT body against a :class:`~.schema.ResourceType` and
  returns it in canonical form (canonical attribute spelling, readOnly attributes dropped,
  unassigned values dropped, immutability and ``required`` checked). It raises only
  :class:`~.errors.ScimError` subclasses, whatever JSON it is given.
* :func:`project` applies the ``returned`` characteristic and the ``attributes`` /
  ``excludedAttributes`` query parameters to a stored document before it is sent.
* :func:`find_attribute` resolves an attribute path such as ``name.givenName`` or
  ``urn:...:enterprise:2.0:User:manager.value`` to its definition.

Decisions where the RFCs leave room (each repeated where the code makes it):

* Unknown attributes and sub-attributes in a body are dropped, not rejected. RFC 7644 section 3.3
  and 3.5.1 only say that readOnly values "SHALL be ignored"; they say nothing of attributes the
  schema lacks. Rejecting them breaks provisioning as soon as an Entra ID admin maps one more
  attribute than the app knows (SCIM-SDK#539, grafana#111809, scimmy#41). ``reject_unknown=True``
  turns them into ``invalidValue`` errors instead.
* ``meta`` is returned like any ``returned: "default"`` attribute (RFC 7643 section 3.1: all of its
  sub-attributes are ``default``): dropped by ``excludedAttributes=meta`` or by an ``attributes``
  list that does not name it. ``id`` (``always``) and ``schemas`` are always returned.
* A name in ``attributes`` / ``excludedAttributes`` that is malformed or names no attribute is
  ignored, in the spirit of RFC 7644 section 3.4.2 ("SHOULD ignore any query parameters they do
  not recognize"): a client asking for an attribute this server lacks still gets the resource.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .constants import AttributeType, Mutability, Returned
from .errors import InvalidSyntax, InvalidValue
from .errors import Mutability as MutabilityError
from .schema import COMMON_ATTRIBUTE_INDEX, Attribute, ResourceType, Schema

__all__ = ["find_attribute", "normalize", "project", "returned_attributes", "split_attribute_list"]


class _Missing(enum.Enum):
    """Marker for "no value" (absent, ``null`` or empty: RFC 7643 section 2.5). An enum's one
    member, so that type checkers narrow ``value is _MISSING``."""

    MISSING = "missing"

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing.MISSING

# RFC 7643 section 2.1 / RFC 7644 section 3.10: ATTRNAME = ALPHA *(nameChar); "$ref" is the
# one name outside that rule.
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref")

# xsd:dateTime (XML Schema part 2, section 3.2.7), which RFC 7643 section 2.3.5 requires: a date,
# "T", a time, optional fractional seconds and an optional zone. Field ranges are checked after.
_DATETIME_RE = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{4,}|[0-9]{4}))-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<zone>Z|[+-](?P<zone_hour>[0-9]{2}):(?P<zone_minute>[0-9]{2}))?"
)

_BOOLEAN_STRINGS: Final = {"true": True, "false": False}

_SHOWN_CHARS = 80


def _shown(text: str) -> str:
    """``text`` quoted for an error detail, cut short: a detail must not echo megabytes back."""
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "..."
    return repr(text)


@dataclass(frozen=True, slots=True)
class _Options:
    string_booleans: bool
    reject_unknown: bool


# --- normalize ------------------------------------------------------------------------------


def normalize(
    document: object,
    resource_type: ResourceType,
    *,
    existing: Mapping[str, Any] | None = None,
    allow_undeclared_extensions: bool = True,
    string_booleans: bool = True,
    reject_unknown: bool = False,
) -> dict[str, Any]:
    """Validate a POST or PUT body and return it in canonical form.

    ``existing`` is ``None`` for POST and the stored document for PUT; with it, immutable
    attributes that have a value may not change, and are carried over when the body omits them
    (RFC 7644 section 3.5.1). The result holds ``schemas`` (the core URN, then the URNs of the
    extensions present, canonically spelled), ``externalId`` and the writable attributes in the
    schema's spelling and order; ``id``, ``meta`` and other readOnly attributes are not in it
    (the caller owns them).

    ``allow_undeclared_extensions`` keeps objects under URN keys of extensions the resource type
    does not declare, verbatim; ``string_booleans`` accepts ``"True"``/``"false"`` for booleans
    (Microsoft Entra ID); ``reject_unknown`` turns unknown attributes into errors instead of
    dropping them.

    Raises :class:`~.errors.InvalidSyntax` when the body is not a JSON object,
    :class:`~.errors.Mutability` when an immutable value changes, and
    :class:`~.errors.InvalidValue` for every other violation, its detail naming the attribute.
    """
    # RFC 7644 section 3.12, Table 9: "invalidSyntax: The request body message structure was
    # invalid"; everything about the attributes inside it is "invalidValue".
    if not isinstance(document, dict) or not all(isinstance(key, str) for key in document):
        raise InvalidSyntax("The request body must be a JSON object.")
    options = _Options(string_booleans=string_booleans, reject_unknown=reject_unknown)
    core = resource_type.schema
    listed = _listed_schemas(document, core)

    core_entries: list[tuple[str, Any]] = []
    extension_entries: dict[str, list[tuple[str, Any]]] = {}
    undeclared: dict[str, dict[str, Any]] = {}
    core_prefix = core.id.lower() + ":"
    extensions = {ext.schema.id.lower(): ext for ext in resource_type.extensions}

    for key, value in document.items():
        lowered = key.lower()
        if lowered == "schemas":
            continue
        if lowered in extensions:
            ext = extensions[lowered]
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"The extension {ext.schema.id!r} must be a JSON object.")
            # RFC 7643 section 3: "schemas" lists the URIs of the schemas whose attributes the
            # representation holds, so an extension object needs its URN listed.
            if lowered not in listed:
                raise InvalidValue(f"The extension {ext.schema.id!r} is present but not listed in 'schemas'.")
            extension_entries.setdefault(lowered, []).extend(value.items())
            continue
        extension_urn = _urn_prefix(lowered, extensions)
        if extension_urn is not None:
            # Fully qualified extension attribute as a top-level key, the way Entra ID writes
            # them ("urn:...:enterprise:2.0:User:employeeNumber"): folded into the extension.
            extension_entries.setdefault(extension_urn, []).append((key[len(extension_urn) + 1 :], value))
            continue
        if lowered.startswith(core_prefix):
            # RFC 7644 section 3.10: a core attribute may be written fully qualified.
            core_entries.append((key[len(core_prefix) :], value))
            continue
        if lowered.startswith("urn:") and lowered != core.id.lower():
            _add_undeclared(undeclared, key, value, allow=allow_undeclared_extensions)
            continue
        core_entries.append((key, value))

    result: dict[str, Any] = {"schemas": [core.id]}
    top = _object(
        (*_common_for(core), *core.attributes),
        lambda name: core.attribute(name) or COMMON_ATTRIBUTE_INDEX.get(name.lower()),
        core_entries,
        existing,
        "",
        options,
        dotted=True,
    )
    _require((*_common_for(core), *core.attributes), top, "")
    result.update(top)

    for ext in resource_type.extensions:
        urn = ext.schema.id
        entries = extension_entries.get(urn.lower())
        old = _get_ci(existing, urn) if existing is not None else None
        old_map = old if isinstance(old, Mapping) else ({} if existing is not None else None)
        values = _object(
            ext.schema.attributes,
            ext.schema.attribute,
            entries or [],
            old_map,
            urn + ":",
            options,
            dotted=True,
        )
        if values or entries:
            # An extension that was sent is checked for its required attributes even if
            # everything in it was dropped (RFC 7643 section 7, "required").
            _require(ext.schema.attributes, values, urn + ":")
        if values:
            result[urn] = values
            result["schemas"].append(urn)
        elif ext.required:
            # RFC 7643 section 6: "required" on a schemaExtension means every resource of the
            # type carries it.
            raise InvalidValue(f"The extension {urn!r} is required.")

    for urn, values in undeclared.items():
        if values:
            result[urn] = values
            result["schemas"].append(urn)
    return result


def _common_for(schema: Schema) -> tuple[Attribute, ...]:
    """The common attributes (RFC 7643 section 3.1) that ``schema`` does not define itself."""
    return tuple(attr for attr in COMMON_ATTRIBUTE_INDEX.values() if schema.attribute(attr.name) is None)


def _listed_schemas(document: Mapping[str, Any], core: Schema) -> set[str]:
    """The lower-cased URIs in ``schemas``, which must include the core schema's URN."""
    found = [(key, value) for key, value in document.items() if key.lower() == "schemas"]
    if not found:
        # RFC 7643 section 3: "schemas" is REQUIRED; Table 9: "A required value was missing".
        raise InvalidValue("The 'schemas' attribute is required.")
    if len(found) > 1:
        raise InvalidValue("The 'schemas' attribute is given more than once.")
    value = found[0][1]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue("The 'schemas' attribute must be a list of schema URIs.")
    # Schema URIs compare case-insensitively, as ResourceType.extension() does. Unknown URIs
    # are tolerated: Entra ID adds "http://schemas.microsoft.com/2006/11/ResourceManagement/
    # ADSCIM/2.0/Group" to group bodies.
    listed = {item.lower() for item in value}
    if core.id.lower() not in listed:
        raise InvalidValue(f"'schemas' must include {core.id!r}.")
    return listed


def _urn_prefix(lowered_key: str, urns: Iterable[str]) -> str | None:
    """The (lower-cased) URN in ``urns`` that ``lowered_key`` starts with followed by ``:``."""
    best: str | None = None
    for urn in urns:
        if lowered_key.startswith(urn + ":") and (best is None or len(urn) > len(best)):
            best = urn
    return best


def _add_undeclared(undeclared: dict[str, dict[str, Any]], key: str, value: object, *, allow: bool) -> None:
    """Keep a URN-keyed object of an extension the resource type does not declare, as free JSON."""
    if value is None:
        return
    if not allow:
        raise InvalidValue(f"The schema extension {_shown(key)} is not supported for this resource type.")
    if isinstance(value, dict):
        urn, values = key, value
    else:
        # "urn:...:CustomExtensionName:2.0:User:tag": "x" (Entra ID's custom extension naming)
        # is a flattened attribute of the extension "urn:...:User".
        urn, _, name = key.rpartition(":")
        if not _NAME_RE.fullmatch(name) or urn.count(":") < 2:
            raise InvalidValue(f"The schema extension {_shown(key)} must be a JSON object.")
        values = {name: value}
    target = _get_ci_key(undeclared, urn)
    if target is None:
        undeclared[urn] = {}
        target = urn
    merged = undeclared[target]
    for name, item in values.items():
        if _get_ci_key(merged, name) is not None:
            raise InvalidValue(f"The attribute {_shown(urn + ':' + name)} is given more than once.")
        merged[name] = copy_json(item)


def _object(
    attributes: Sequence[Attribute],
    lookup: Callable[[str], Attribute | None],
    entries: Iterable[tuple[str, Any]],
    old: Mapping[str, Any] | None,
    prefix: str,
    options: _Options,
    *,
    dotted: bool = False,
) -> dict[str, Any]:
    """Normalise a set of attributes: a resource's top level, an extension, or a complex value.

    ``old`` is the stored object at the same place (PUT), used for immutability; ``dotted``
    allows ``"name.givenName"`` keys, folded into their parent (fully qualified keys, RFC 7644
    section 3.10).
    """
    raw = _gather(lookup, entries, prefix, options, dotted=dotted)
    # The stored values by lower-cased name, folded once rather than searched per attribute.
    folded = _folded(old) if old is not None else {}
    out: dict[str, Any] = {}
    for attr in attributes:
        path = prefix + attr.name
        lowered = attr.name.lower()
        supplied = raw.get(lowered, _MISSING)
        if attr.mutability is Mutability.READ_ONLY:
            # RFC 7643 section 7 and RFC 7644 section 3.3: readOnly values "SHALL be ignored".
            continue
        old_value = None
        if old is not None:
            # The exact spelling first, as _get_ci() has it.
            old_value = old[attr.name] if attr.name in old else folded.get(lowered)
        value = _MISSING if supplied is _MISSING else _coerce(attr, supplied, path, options, old_value)
        if attr.mutability is Mutability.IMMUTABLE and old is not None and _assigned(old_value):
            # RFC 7644 section 3.5.1: "If one or more values are already set for the attribute,
            # the input value(s) MUST match". An omitted (or null) value keeps the stored one, so
            # a PUT that leaves it out does not clear it.
            if value is _MISSING:
                value = copy_json(old_value)
            elif not _same(attr, value, old_value):
                raise MutabilityError(f"The attribute {_shown(path)} is immutable and already has a value.")
        if value is not _MISSING:
            out[attr.name] = value
    return out


def _gather(
    lookup: Callable[[str], Attribute | None],
    entries: Iterable[tuple[str, Any]],
    prefix: str,
    options: _Options,
    *,
    dotted: bool,
) -> dict[str, Any]:
    """Map lower-cased attribute names to the raw values given for them (any key spelling)."""
    whole: dict[str, Any] = {}
    parts: dict[str, dict[str, tuple[str, Any]]] = {}
    owners: dict[str, Attribute] = {}
    for key, value in entries:
        if not isinstance(key, str):  # pragma: no cover - JSON object keys are strings
            continue
        head, dot, tail = key.partition(".") if dotted else (key, "", "")
        attr = lookup(head)
        if attr is None:
            if options.reject_unknown:
                raise InvalidValue(f"Unknown attribute {_shown(prefix + key)}.")
            continue
        lowered = attr.name.lower()
        owners[lowered] = attr
        if not dot:
            if lowered in whole:
                raise InvalidValue(f"The attribute {_shown(prefix + attr.name)} is given more than once.")
            whole[lowered] = value
            continue
        sub = attr.sub_attribute(tail) if attr.is_complex else None
        if sub is None or attr.multi_valued:
            # "emails.value" cannot say which email it means; an unknown sub-attribute is
            # dropped like an unknown attribute.
            if options.reject_unknown or (sub is not None and attr.multi_valued):
                raise InvalidValue(f"Cannot use {_shown(prefix + key)} as an attribute name here.")
            continue
        bucket = parts.setdefault(lowered, {})
        if sub.name.lower() in bucket:
            raise InvalidValue(f"The attribute {_shown(prefix + key)} is given more than once.")
        bucket[sub.name.lower()] = (sub.name, value)
    for lowered, bucket in parts.items():
        base = whole.get(lowered)
        if base is None:
            base = {}
        elif not isinstance(base, dict):
            raise InvalidValue(
                f"The attribute {_shown(prefix + owners[lowered].name)} must be a JSON object."
            )
        merged = dict(base)
        for name, value in bucket.values():
            if _get_ci_key(merged, name) is not None:
                full = f"{prefix}{owners[lowered].name}.{name}"
                raise InvalidValue(f"The attribute {_shown(full)} is given more than once.")
            merged[name] = value
        whole[lowered] = merged
    return whole


def _coerce(attr: Attribute, value: object, path: str, options: _Options, old: object) -> Any:
    """Check ``value`` against ``attr`` (RFC 7643 section 2.3); ``_MISSING`` when unassigned."""
    if value is None:
        # RFC 7643 section 2.5: null is the same as unassigned.
        return _MISSING
    if attr.multi_valued:
        if not isinstance(value, list):
            if attr.is_complex and isinstance(value, dict):
                # OneLogin sends "emails" as one object, not a list (django-scim2 parse_emails).
                value = [value]
            else:
                raise InvalidValue(f"The attribute {_shown(path)} must be a list.")
        items: list[Any] = []
        for index, item in enumerate(value):
            # Values of a multi-valued attribute have no identity besides their content, so the
            # immutability of their sub-attributes (Group members.value) is not checked value by
            # value: a PUT replaces the set, adding and removing members.
            coerced = _single(attr, item, f"{path}[{index}]", options, None)
            if coerced is not _MISSING:
                items.append(coerced)
        if not items:
            # RFC 7643 section 2.5: an empty array is unassigned.
            return _MISSING
        primary = attr.sub_attribute("primary") if attr.is_complex else None
        if primary is not None:
            primaries = sum(1 for item in items if item.get(primary.name) is True)
            if primaries > 1:
                # RFC 7643 section 2.4: "The primary attribute value "true" MUST appear no more
                # than once."
                raise InvalidValue(f"At most one value of {_shown(path)} may have primary set to true.")
        return items
    if isinstance(value, list):
        if attr.is_complex and len(value) == 1 and isinstance(value[0], dict):
            # Some clients (reported for Entra ID, e.g. the enterprise "manager") send a
            # single-valued complex attribute as a one-element list.
            value = value[0]
        elif not value:
            return _MISSING
        else:
            raise InvalidValue(f"The attribute {_shown(path)} is single-valued.")
    return _single(attr, value, path, options, old)


def _single(attr: Attribute, value: object, path: str, options: _Options, old: object) -> Any:
    """Check one value of ``attr`` (one element of a multi-valued attribute)."""
    if value is None:
        return _MISSING
    kind = attr.type
    if kind is AttributeType.COMPLEX:
        if not isinstance(value, dict):
            raise InvalidValue(f"The attribute {_shown(path)} must be a JSON object.")
        if not value:
            return _MISSING
        out = _object(
            attr.sub_attributes,
            attr.sub_attribute,
            value.items(),
            old if isinstance(old, Mapping) else None,
            path + ".",
            options,
        )
        # Required sub-attributes are checked in every value that carries something, so
        # {"display": "x"} is not a member when members.value is required.
        _require(attr.sub_attributes, out, path + ".")
        return out or _MISSING
    if kind is AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if options.string_booleans and isinstance(value, str) and value.lower() in _BOOLEAN_STRINGS:
            # Entra ID without the aadOptscim062020 flag sends "active": "True"
            # (SCIMReferenceCode#21).
            return _BOOLEAN_STRINGS[value.lower()]
        raise InvalidValue(f"The attribute {_shown(path)} must be a boolean.")
    if kind is AttributeType.INTEGER:
        # RFC 7643 section 2.3.4: "A whole number with no fractional digits"; JSON true is not 1.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InvalidValue(f"The attribute {_shown(path)} must be an integer.")
    if kind is AttributeType.DECIMAL:
        # RFC 7643 section 2.3.3: a real number; NaN and infinities are not (Python's json
        # module would decode them).
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise InvalidValue(f"The attribute {_shown(path)} must be a number.")
    if not isinstance(value, str):
        raise InvalidValue(f"The attribute {_shown(path)} must be a string.")
    if "\x00" in value:
        # JSON allows U+0000 in strings, but no identity data needs it and PostgreSQL cannot
        # store it in text or jsonb columns.
        raise InvalidValue(f"The attribute {_shown(path)} must not contain the NUL character.")
    if kind is AttributeType.DATETIME and not _is_datetime(value):
        # RFC 7643 section 2.3.5: "MUST be encoded as a valid xsd:dateTime".
        raise InvalidValue(
            f"The attribute {_shown(path)} must be an xsd:dateTime, e.g. 2008-01-23T04:56:22Z."
        )
    if kind is AttributeType.BINARY and not _is_base64(value):
        # RFC 7643 section 2.3.6: "MUST be base64 encoded as specified in Section 4 of [RFC4648]".
        raise InvalidValue(f"The attribute {_shown(path)} must be base64 encoded.")
    # Strings and references are kept as sent: canonicalValues are not enforced (RFC 7643
    # section 7: "suggested canonical values that MAY be used") and caseExact governs
    # comparison only, never the stored spelling.
    return value


def _require(attributes: Sequence[Attribute], values: Mapping[str, Any], prefix: str) -> None:
    """Raise unless every required, client-writable attribute in ``attributes`` has a value."""
    for attr in attributes:
        if not attr.required or attr.mutability is Mutability.READ_ONLY:
            # readOnly attributes are the service provider's to assign (RFC 7643 section 7).
            continue
        value = values.get(attr.name, _MISSING)
        if value is _MISSING or (isinstance(value, str) and not value.strip()):
            # RFC 7643 section 4.1.1: "Each User MUST include a non-empty userName value."
            raise InvalidValue(f"The attribute {_shown(prefix + attr.name)} is required.")


def _is_datetime(text: str) -> bool:
    """Whether ``text`` is a valid xsd:dateTime (XML Schema part 2, section 3.2.7)."""
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return False
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if year == 0 or not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    if not 1 <= day <= days or minute > 59 or second > 59:
        return False
    fraction = match["fraction"] or ""
    if hour > 24 or (hour == 24 and (minute or second or fraction.strip(".0"))):
        # xsd allows 24:00:00 (the end of the day) and no other hour-24 time.
        return False
    if match["zone_hour"] is not None:
        zone_hour, zone_minute = int(match["zone_hour"]), int(match["zone_minute"])
        if zone_minute > 59 or zone_hour > 14 or (zone_hour == 14 and zone_minute):
            return False
    return True


def _is_base64(text: str) -> bool:
    """Whether ``text`` is base64 per RFC 4648 section 4 (standard alphabet, padded)."""
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _assigned(value: object) -> bool:
    """Whether ``value`` counts as a value (RFC 7643 section 2.5: null and [] do not)."""
    return value is not None and value != [] and value != {}


def _same(attr: Attribute, new: object, old: object) -> bool:
    """Whether two values of ``attr`` are equal in SCIM terms (caseExact; multi-valued as sets)."""
    return _canonical(attr, new) == _canonical(attr, old)


def _canonical(attr: Attribute, value: object, *, element: bool = False) -> object:
    """A hashable form of ``value`` under ``attr``'s comparison rules."""
    if attr.multi_valued and not element and isinstance(value, list):
        # RFC 7643 section 2.4: the values of a multi-valued attribute have no order.
        return tuple(sorted(repr(_canonical(attr, item, element=True)) for item in value))
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            sub = attr.sub_attribute(key) if attr.is_complex else None
            items.append((key.lower(), _canonical(sub, item) if sub is not None else repr(item)))
        return tuple(sorted(items, key=repr))
    if isinstance(value, str) and attr.type is AttributeType.STRING and not attr.case_exact:
        # RFC 7643 section 2.3.1: caseExact false strings compare case-insensitively.
        return value.casefold()
    return repr(value)


# --- project ----------------------------------------------------------------------------------

# A selector: (container, attribute, sub-attribute), lower-cased. The container is "" for core
# and common attributes, else an extension's URN; attribute None means the whole container.
_Selector = tuple[str, str | None, str | None]


def split_attribute_list(text: str | None) -> list[str] | None:
    """Split an ``attributes`` / ``excludedAttributes`` query value (RFC 7644 section 3.4.2.5).

    The value is a comma-separated list of attribute names; blanks around names and empty items
    are dropped. ``None`` (the parameter was not given) and a list with no names both give
    ``None``, meaning "not specified".
    """
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    names = [name for name in names if name]
    return names or None


def project(
    document: Mapping[str, Any],
    resource_type: ResourceType,
    *,
    attributes: Sequence[str] | None = None,
    excluded_attributes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The representation of a stored document to return (RFC 7644 section 3.4.2.5).

    Applies the ``returned`` characteristic (RFC 7643 section 7): ``never`` (and any writeOnly
    attribute) is always removed, ``always`` (``id``; ``schemas``) always kept, ``default`` kept
    unless excluded or left out of an ``attributes`` list, ``request`` kept only when named in
    ``attributes``. Names may be sub-attributes (``name.givenName``), fully qualified
    (``urn:...:enterprise:2.0:User:employeeNumber``) or a whole extension URN, in any case.
    Objects of undeclared extensions are returned like ``default`` attributes. Names that are
    malformed or name nothing are ignored. When both lists are given, both apply. ``schemas``
    keeps the core URN and the URNs of the extensions left in the result.

    The result shares the values it keeps whole with ``document`` (the views project a document
    rendered for that one response); copy it before changing either. For many documents of one
    request, make a :class:`Projection` once.
    """
    return Projection(resource_type, attributes=attributes, excluded_attributes=excluded_attributes)(document)


class Projection:
    """:func:`project` with one request's ``attributes`` / ``excludedAttributes``, resolved once
    for every document it is applied to (a page of 100 resources resolved them 100 times)."""

    def __init__(
        self,
        resource_type: ResourceType,
        *,
        attributes: Sequence[str] | None = None,
        excluded_attributes: Sequence[str] | None = None,
    ) -> None:
        self.core = resource_type.schema
        self.attributes = attributes
        self.excluded_attributes = excluded_attributes
        self.declared = {ext.schema.id.lower(): ext.schema for ext in resource_type.extensions}
        self.containers = {urn: schema.id for urn, schema in self.declared.items()}
        self.rules = self._rules(self.containers)
        #: ``(container, name)`` -> definition, lower-cased name and plan, for :attr:`rules`:
        #: the same few attributes recur in every document of a page.
        self.plans: dict[tuple[str, str], tuple[Attribute | None, str, _Plan, bool]] = {}
        #: Top-level key, as spelt -> :meth:`_kind` with the declared containers.
        self.kinds: dict[str, object] = {}

    def _rules(self, containers: Mapping[str, str]) -> _Rules:
        excluded = _selectors(self.excluded_attributes, self.core.id, containers) or set()
        return _Rules(
            _selectors(self.attributes, self.core.id, containers),
            excluded,
            frozenset((container, name) for container, name, _sub in excluded),
        )

    def __call__(self, document: Mapping[str, Any]) -> dict[str, Any]:
        core, declared = self.core, self.declared
        containers, rules = self.containers, self.rules
        kinds = self.kinds
        undeclared = []
        for key, value in document.items():
            kind = kinds.get(key)
            if kind is None:
                kind = kinds[key] = self._kind(key)
            if kind is _URN and isinstance(value, Mapping):
                undeclared.append(key)
        if undeclared:
            # Objects of extensions the resource type does not declare: containers too.
            containers = dict(containers)
            for key in undeclared:
                containers.setdefault(key.lower(), key)
            rules = self._rules(containers)
            kinds = {}

        plans = self.plans if rules is self.rules else {}

        def kept(container: str, schema: Schema | None, name: str, value: Any) -> Any:
            entry = plans.get((container, name))
            if entry is None:
                if schema is core:
                    attr = core.attribute(name) or COMMON_ATTRIBUTE_INDEX.get(name.lower())
                else:
                    attr = schema.attribute(name) if schema is not None else None
                lowered = name.lower()
                plan = _plan(container, name, attr, rules)
                # Returned whole: nothing below it can be dropped but empty objects.
                whole = (
                    plan is None
                    and (attr is None or attr.returned_whole)
                    and (container, lowered) not in rules.excluded_attributes
                )
                entry = plans[(container, name)] = (attr, lowered, plan, whole)
            attr, lowered, plan, whole = entry
            if whole:
                return _whole_value(value)
            if plan is _MISSING:
                return _MISSING
            return _project_value(attr, value, container, lowered, plan, rules)

        out: dict[str, Any] = {}
        for key, value in document.items():
            kind = kinds.get(key)
            if kind is None:
                kind = self._kind(key, containers)
            if kind is _SCHEMAS:
                # RFC 7643 section 3: every representation carries "schemas".
                out[key] = value
            elif kind is _CONTAINER and isinstance(value, Mapping):
                lowered = key.lower()
                schema = declared.get(lowered)
                kept_values: dict[str, Any] = {}
                for name, item in value.items():
                    part = kept(lowered, schema, name, item)
                    if part is not _MISSING:
                        kept_values[name] = part
                if kept_values:
                    out[key] = kept_values
            else:
                part = kept("", core, key, value)
                if part is not _MISSING:
                    out[key] = part

        schemas_key = _get_ci_key(out, "schemas")
        if schemas_key is not None and isinstance(out[schemas_key], list):
            present = {key.lower() for key in out}
            out[schemas_key] = [
                urn
                for urn in out[schemas_key]
                if not isinstance(urn, str) or urn.lower() == core.id.lower() or urn.lower() in present
            ]
        return out

    def treatment(self, name: str, container: str = "") -> bool | None:
        """What this projection does with the value of attribute ``name`` (of the declared
        extension ``container``, lower-cased; ``""``: the core schema or a common attribute),
        whatever the value: ``True``, returns it whole (only empty values go, as always);
        ``False``, leaves it out; ``None``, returns a part of it."""
        if container:
            schema = self.declared.get(container)
            attr = schema.attribute(name) if schema is not None else None
        else:
            attr = self.core.attribute(name) or COMMON_ATTRIBUTE_INDEX.get(name.lower())
        plan = _plan(container, name, attr, self.rules)
        if (
            plan is None
            and (attr is None or attr.returned_whole)
            and (container, name.lower()) not in self.rules.excluded_attributes
        ):
            return True
        return False if plan is _MISSING else None

    def partial_names(self) -> frozenset[str] | None:
        """For documents built outside Python (:mod:`django_scim.orm.documents`): the
        lower-cased names of the attributes this projection does not return whole
        (:meth:`treatment` is not ``True``): the core schema's and the common ones, and the
        declared extensions' as ``"<extension urn>:<name>"``. Every other attribute of a
        document is returned whole (without empty values), and so are the objects of the
        declared extensions. ``None`` when the rules depend on more than attribute names:
        ``attributes`` is given, or an ``excludedAttributes`` entry names a sub-attribute or a
        whole extension."""
        rules = self.rules
        if rules.requested is not None or any(
            sub is not None or name is None for _c, name, sub in rules.excluded
        ):
            return None
        names = {
            f"{container}:{name}" if container else name
            for container, name, _sub in rules.excluded
            if name is not None
        }
        for attr in (*self.core.attributes, *COMMON_ATTRIBUTE_INDEX.values()):
            if self.treatment(attr.name) is not True:
                names.add(attr.name.lower())
        for container, schema in self.declared.items():
            for attr in schema.attributes:
                if self.treatment(attr.name, container) is not True:
                    names.add(f"{container}:{attr.name.lower()}")
        return frozenset(names)

    def _kind(self, key: str, containers: Mapping[str, str] | None = None) -> object:
        """What the top-level ``key`` of a document is: ``schemas``, a declared extension's
        container (of ``containers``, the declared ones by default), another URN, or an
        attribute of the core schema."""
        lowered = key.lower()
        if lowered == "schemas":
            return _SCHEMAS
        if lowered in (self.containers if containers is None else containers):
            return _CONTAINER
        return _URN if lowered.startswith("urn:") else _ATTRIBUTE


#: The kinds of :meth:`Projection._kind`.
_SCHEMAS, _CONTAINER, _URN, _ATTRIBUTE = object(), object(), object(), object()


@dataclass(frozen=True)
class _Rules:
    """Resolved ``attributes`` (``None``: not given) and ``excludedAttributes`` selectors."""

    requested: set[_Selector] | None
    excluded: set[_Selector]
    #: ``(container, attribute)`` of every excluded selector: attributes with a part excluded.
    excluded_attributes: frozenset[tuple[str, str | None]]


def returned_attributes(
    resource_type: ResourceType,
    *,
    attributes: Sequence[str] | None = None,
    excluded_attributes: Sequence[str] | None = None,
) -> frozenset[str]:
    """Names of the core schema's top-level attributes that :func:`project` would return.

    Decided by the same rules as :func:`project` (``returned``, ``attributes``,
    ``excludedAttributes``), for a value with every sub-attribute present: an attribute is in the
    set when some part of it would survive. Lets a server skip loading what the response drops
    (Group ``members`` with ``excludedAttributes=members``, RFC 7644 section 3.4.2.5).

    Every render asks this, mostly with the same few lists: answers are remembered per schemas
    (the core one and the extensions', by identity: hashing a frozen schema tree costs more than
    the answer, and every adapter of a resource type shares its schema objects) and lists.
    """
    schemas = (resource_type.schema, *(ext.schema for ext in resource_type.extensions))
    key = (
        tuple(map(id, schemas)),
        None if attributes is None else tuple(attributes),
        None if excluded_attributes is None else tuple(excluded_attributes),
    )
    known = _RETURNED.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], schemas, strict=True)):
        return known[1]
    answer = _returned_attributes(resource_type, attributes, excluded_attributes)
    if len(_RETURNED) >= 256:
        _RETURNED.clear()
    _RETURNED[key] = (schemas, answer)
    return answer


#: :func:`returned_attributes` answers, each with the schemas whose ``id()`` keys it.
_RETURNED: dict[
    tuple[tuple[int, ...], tuple[str, ...] | None, tuple[str, ...] | None],
    tuple[tuple[Schema, ...], frozenset[str]],
] = {}


def _returned_attributes(
    resource_type: ResourceType, attributes: Sequence[str] | None, excluded_attributes: Sequence[str] | None
) -> frozenset[str]:
    core = resource_type.schema
    containers = {ext.schema.id.lower(): ext.schema.id for ext in resource_type.extensions}
    excluded = _selectors(excluded_attributes, core.id, containers) or set()
    rules = _Rules(
        _selectors(attributes, core.id, containers),
        excluded,
        frozenset((container, name) for container, name, _sub in excluded),
    )
    return frozenset(
        attr.name
        for attr in core.attributes
        if _project_attribute("", attr.name, attr, _probe(attr), rules) is not _MISSING
    )


def _probe(attr: Attribute) -> Any:
    """A stand-in value of ``attr`` with every sub-attribute set (for :func:`returned_attributes`)."""
    value: Any = {sub.name: "" for sub in attr.sub_attributes} if attr.is_complex else ""
    return [value] if attr.multi_valued else value


def _selectors(
    names: Sequence[str] | None, core_urn: str, containers: Mapping[str, str]
) -> set[_Selector] | None:
    """Resolve attribute names to selectors; unresolvable names are ignored (see module doc)."""
    if names is None:
        return None
    found: set[_Selector] = set()
    for name in names:
        selector = _parse_name(name, core_urn, containers) if isinstance(name, str) else None
        if selector is not None:
            found.add(selector)
    return found


def _parse_name(name: str, core_urn: str, containers: Iterable[str]) -> _Selector | None:
    """``[urn ":"] attr ["." sub]`` (RFC 7644 section 3.10) as a lower-cased selector.

    ``containers`` are the lower-cased extension URNs; the core URN is written as container "".
    """
    text = name.strip()
    lowered = text.lower()
    container = ""
    if lowered.startswith("urn:"):
        candidates = (core_urn.lower(), *containers)
        urn = lowered if lowered in candidates else _urn_prefix(lowered, candidates)
        if urn is None:
            return None
        container = "" if urn == core_urn.lower() else urn
        if lowered == urn:
            return (container, None, None)
        text = text[len(urn) + 1 :]
    head, dot, tail = text.partition(".")
    if not _NAME_RE.fullmatch(head) or (dot and not _NAME_RE.fullmatch(tail)):
        return None
    return (container, head.lower(), tail.lower() if dot else None)


def _project_attribute(container: str, name: str, attr: Attribute | None, value: Any, rules: _Rules) -> Any:
    """The part of one attribute's value to return, or ``_MISSING``."""
    plan = _plan(container, name, attr, rules)
    if plan is _MISSING:
        return _MISSING
    return _project_value(attr, value, container, name.lower(), plan, rules)


_Plan = set[str] | None | _Missing


def _plan(container: str, name: str, attr: Attribute | None, rules: _Rules) -> _Plan:
    """What :func:`_project_attribute` returns of an attribute, whatever its value: nothing
    (``_MISSING``), its returned parts (``None``) or the named sub-attributes (a set)."""
    if _never(attr):
        return _MISSING
    returned = attr.returned if attr is not None else Returned.DEFAULT
    lowered = name.lower()
    requested, excluded = rules.requested, rules.excluded
    if returned is Returned.ALWAYS:
        # RFC 7643 section 7: "always ... regardless of the contents of the "attributes" parameter".
        return None
    if (container, None, None) in excluded or (container, lowered, None) in excluded:
        return _MISSING
    if requested is None:
        return _MISSING if returned is Returned.REQUEST else None
    if (container, lowered, None) in requested or (
        (container, None, None) in requested and returned is not Returned.REQUEST
    ):
        return None
    named = {sub for (c, a, sub) in requested if c == container and a == lowered and sub is not None}
    return named or _MISSING


def _never(attr: Attribute | None) -> bool:
    """RFC 7643 section 7: ``returned: never`` and writeOnly values "SHALL NOT be returned"."""
    return attr is not None and (attr.returned is Returned.NEVER or attr.mutability is Mutability.WRITE_ONLY)


def _project_value(
    attr: Attribute | None,
    value: Any,
    container: str,
    name: str,
    named: set[str] | None,
    rules: _Rules,
) -> Any:
    """Filter the sub-attributes of a complex value (or of each element of a list of them).

    ``named`` is the set of sub-attributes the ``attributes`` list names, or ``None`` when the
    attribute is returned as a whole (its ``default`` and ``always`` sub-attributes).
    """
    if (
        named is None
        and (attr is None or attr.returned_whole)
        and (container, name) not in rules.excluded_attributes
    ):
        # Nothing below can be dropped but empty objects: the same result without the checks.
        return _whole_value(value)
    if isinstance(value, list):
        items = [_project_value(attr, item, container, name, named, rules) for item in value]
        items = [item for item in items if item is not _MISSING]
        return items if items else _MISSING
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.sub_attribute(key) if attr is not None and attr.is_complex else None
        if _never(sub):
            continue
        returned = sub.returned if sub is not None else Returned.DEFAULT
        lowered = key.lower()
        if returned is not Returned.ALWAYS:
            if (container, name, lowered) in rules.excluded:
                continue
            if named is None and returned is Returned.REQUEST:
                continue
            if named is not None and lowered not in named:
                continue
        out[key] = item
    return out if out else _MISSING


#: JSON scalars: returned as they are (checked before the ``Mapping`` ABC, which costs more).
_SCALARS = frozenset({str, bool, int, float})


def _whole_value(value: Any) -> Any:
    """:func:`_project_value` of a value returned whole: the value, without empty objects."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, list):
        if all(type(item) is dict and item for item in value):
            # Objects with something in them (members, emails): kept as they are, without a
            # call per element (the 10,000 members of a group took 10 ms, this check 1.5 ms).
            return value if value else _MISSING
        items = [item for item in map(_whole_value, value) if item is not _MISSING]
        return items if items else _MISSING
    if isinstance(value, Mapping) and not value:
        return _MISSING
    return value


# --- find_attribute ------------------------------------------------------------------------


def find_attribute(resource_type: ResourceType, name_path: str) -> Attribute | None:
    """The definition that ``name_path`` names, or ``None``.

    Accepts ``userName``, ``name.givenName``, ``meta.lastModified``, ``externalId`` and fully
    qualified names (``urn:ietf:params:scim:schemas:core:2.0:User:userName``,
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value``), in any case
    (RFC 7643 section 2.1). A bare schema URN, an unknown name or a malformed path gives ``None``.
    """
    if not isinstance(name_path, str):
        return None
    extensions = [ext.schema.id.lower() for ext in resource_type.extensions]
    selector = _parse_name(name_path, resource_type.schema.id, extensions)
    if selector is None:
        return None
    container, name, sub_name = selector
    if name is None:
        return None
    if container:
        ext = resource_type.extension(container)
        attr = ext.schema.attribute(name) if ext is not None else None
    else:
        attr = resource_type.schema.attribute(name) or COMMON_ATTRIBUTE_INDEX.get(name)
    if attr is None or sub_name is None:
        return attr
    return attr.sub_attribute(sub_name) if attr.is_complex else None


# --- small helpers -------------------------------------------------------------------------


def _get_ci_key(mapping: Mapping[str, Any] | None, name: str) -> str | None:
    """The key of ``mapping`` equal to ``name`` ignoring case (RFC 7643 section 2.1)."""
    if not isinstance(mapping, Mapping):
        return None
    if name in mapping:
        return name
    lowered = name.lower()
    for key in mapping:
        if isinstance(key, str) and key.lower() == lowered:
            return key
    return None


def _folded(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` keyed by lower-cased names; of keys differing only in case, the first one's value."""
    folded: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(key, str):
            folded.setdefault(key.lower(), value)
    return folded


def _get_ci(mapping: Mapping[str, Any] | None, name: str) -> Any:
    """``mapping[name]`` ignoring the key's case, or ``None``."""
    if mapping is None:
        return None
    key = _get_ci_key(mapping, name)
    return None if key is None else mapping[key]


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value, without recursion (bodies may nest deeply)."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        pairs: Iterator[tuple[Any, Any]] = (
            iter(source.items()) if isinstance(source, dict) else enumerate(source)
        )
        for key, item in pairs:
            if isinstance(item, dict | list):
                copy: Any = {} if isinstance(item, dict) else []
                stack.append((item, copy))
                item = copy
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root
