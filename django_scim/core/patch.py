"""The PATCH engine (RFC 7644 section 3.5.2): PatchOp operations applied to a resource document.

Pure and all-or-nothing: :func:`apply_patch` works on a copy of the document and returns the new
document, or raises a :class:`~.errors.ScimError` and leaves nothing changed. The steps are public
so that an adapter can route some operations elsewhere (Group ``members`` become membership-row
deltas in the database, never a list in memory):

1. :func:`read_patch_request` checks the message (``schemas``, ``Operations``: RFC 7644 section
   3.5.2) and returns its operations;
2. :func:`compile_operations` validates each operation and resolves its ``path`` against the
   resource type (a PATCH without ``path``, or with a whole extension as ``path``, is expanded into
   one operation per attribute of its value);
3. :func:`apply_operations` applies them to a copy of the document;
4. :func:`~.document.normalize` (``existing`` = the old document) checks the result against every
   schema rule, so a wrong value type is ``invalidValue`` whatever operation produced it.

Decisions where the RFC leaves room, or where real clients bend it (each optional behaviour is a
field of :class:`PatchOptions`, set from ``SCIM["PATCH_*"]`` settings by the adapter):

* ``op`` is accepted in any case: Microsoft Entra ID sends ``"Add"``, ``"Replace"``, ``"Remove"``.
  RFC 7644 section 3.5.2 lists the lowercase names and says nothing of case; nothing else could be
  meant by ``"Add"``, so this is no setting.
* ``add`` on a single-valued attribute replaces it (RFC 7644 section 3.5.2.1), and ``add`` or
  ``replace`` on a single-valued complex attribute merges the given sub-attributes (sections
  3.5.2.1 and 3.5.2.3: "Sub-attributes that are not specified ... are left unchanged").
* ``add`` of an element equal to an existing one does not duplicate it; "equal" means the
  existing element has every sub-attribute the new one gives, with an equal value, ``primary``
  aside (which is then copied over, so ``add`` can make an existing e-mail primary).
* Setting ``primary`` to true on one element sets it to false on the others (RFC 7643 section
  2.4: "The primary attribute value "true" MUST appear no more than once").
* ``remove`` whose value filter matches nothing is a no-op by default (RFC 7644 section 3.5.2.2
  lists no error for it, and identity providers retry removals); ``strict_remove`` makes it
  ``noTarget`` (Table 9). ``replace`` whose filter matches nothing is ``noTarget`` (section
  3.5.2.3), unless ``replace_creates_filtered_value``.
* ``add`` with a value filter that matches nothing creates the element from the filter's
  ``eq`` terms (``add emails[type eq "work"].value`` on a user without a work address creates
  ``{"type": "work", "value": ...}``): the Entra ID SCIM validator expects it (SCIM-SDK#416), and
  section 3.5.2.1 says "If the target location does not exist, the attribute and value are added".
* An explicit ``path`` naming no attribute is ``invalidPath``; an unknown key inside a value object
  is dropped, as :func:`~.document.normalize` drops unknown attributes of a PUT body.
* ``id`` is readOnly, but Okta sends it back in its group rename (``{"op": "replace", "value":
  {"id": ..., "displayName": ...}}``): equal to the resource's id it is ignored
  (``ignore_matching_id``). ``schemas`` inside a value object is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .constants import PATCH_OP, AttributeType, Mutability
from .document import _get_ci_key, copy_json, normalize
from .errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from .errors import Mutability as MutabilityError
from .filter import And, Compare, Filter, matches_element
from .paths import PatchPath, is_attr_name, parse_patch_path
from .schema import COMMON_ATTRIBUTE_INDEX, Attribute, ResourceType

__all__ = [
    "Operation",
    "PatchOptions",
    "Target",
    "apply_operations",
    "apply_patch",
    "compile_operations",
    "read_patch_request",
]

OPS: Final = ("add", "remove", "replace")

_SHOWN_CHARS = 80


class _Absent:
    """Marker for an operation without a ``value`` member."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()


def _shown(text: object) -> str:
    text = str(text)
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "..."
    return repr(text)


@dataclass(frozen=True, slots=True)
class PatchOptions:
    """Behaviour the RFC leaves open or real clients need (see the module docstring)."""

    string_booleans: bool = True
    """``"True"`` / ``"False"`` strings are booleans (Entra ID without ``aadOptscim062020``)."""

    single_value_lists: bool = True
    """A single-valued complex attribute may be sent as a one-element list."""

    paths_as_value_keys: bool = True
    """Keys of a value object may be attribute paths: ``"name.givenName"``, URN-qualified names
    (Entra ID with ``aadOptscim062020``)."""

    remove_with_value: bool = True
    """``remove`` of a multi-valued attribute with a ``value`` list removes those values
    (Entra ID without the flag: ``{"op": "Remove", "path": "members", "value": [{"value": id}]}``).
    When false such an operation is ``invalidSyntax``, never "remove all"."""

    ignore_matching_id: bool = True
    """``id`` in a value object is ignored when it equals the resource's id (Okta)."""

    add_creates_filtered_value: bool = True
    """``add`` through a value filter that matches nothing creates the element (Entra ID)."""

    replace_creates_filtered_value: bool = False
    """The same for ``replace``, which RFC 7644 section 3.5.2.3 answers with ``noTarget``."""

    strict_remove: bool = False
    """``remove`` whose filter (or value list) matches nothing is ``noTarget``, not a no-op."""

    allow_undeclared_extensions: bool = True
    """Paths into extensions the resource type does not declare address free JSON."""

    max_path_length: int = 4096
    max_filter_depth: int = 50


@dataclass(frozen=True, slots=True)
class Target:
    """Where an operation applies, resolved against the resource type."""

    container: str | None
    """``None`` for the core and common attributes; else the extension's URN (the document key)."""

    name: str | None
    """The attribute's name in the schema's spelling; ``None`` for a whole extension."""

    attribute: Attribute | None = None
    """Its definition; ``None`` for a whole extension and inside undeclared extensions."""

    sub_name: str | None = None
    """The sub-attribute (``name.givenName``, ``emails[...].value``), or ``None``."""

    sub_attribute: Attribute | None = None
    value_filter: Filter | None = None
    """The value filter selecting elements of a multi-valued attribute, or ``None``."""

    @property
    def is_core(self) -> bool:
        return self.container is None


@dataclass(frozen=True, slots=True)
class Operation:
    """One validated operation: ``op`` is ``"add"``, ``"remove"`` or ``"replace"``."""

    op: str
    target: Target
    value: Any = ABSENT
    """The ``value`` member, or :data:`ABSENT`."""

    path: str = ""
    """The path as the client wrote it (or the key of a value object), for error details."""


# --- 1. the message -------------------------------------------------------------------------


def read_patch_request(body: object) -> list[Any]:
    """The ``Operations`` of a PatchOp message (RFC 7644 section 3.5.2), or :class:`InvalidSyntax`.

    The body must be an object whose ``schemas`` lists
    ``urn:ietf:params:scim:api:messages:2.0:PatchOp`` and whose ``Operations`` is a non-empty list
    (member names in any case, RFC 7643 section 2.1).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object (a PatchOp message).")
    schemas = _get_ci(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(urn, str) and urn.lower() == PATCH_OP.lower() for urn in schemas
    ):
        raise InvalidSyntax(f"A PATCH body must list {PATCH_OP!r} in 'schemas' (RFC 7644 section 3.5.2).")
    operations = _get_ci(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty list of operations (RFC 7644 section 3.5.2).")
    return operations


# --- 2. compiling operations --------------------------------------------------------------


class _UnknownAttribute(InvalidPath):
    """A path naming no attribute: an error for an explicit path, a dropped key in a value object."""


def compile_operations(
    operations: Iterable[Any],
    resource_type: ResourceType,
    document: Mapping[str, Any],
    options: PatchOptions | None = None,
) -> list[Operation]:
    """Validate operations and resolve their paths (RFC 7644 section 3.5.2).

    ``document`` is the current resource: its id (for ``ignore_matching_id``) and the URNs of
    undeclared extensions it holds (so their paths split right). Errors: ``invalidSyntax`` for an
    operation that is not an object or has an unknown ``op``; ``invalidPath`` for a malformed path
    or one naming no attribute; ``noTarget`` for ``remove`` without ``path``; ``invalidValue`` for
    ``add`` / ``replace`` without ``value``, or without ``path`` and with a value that is not an
    object; ``mutability`` for readOnly targets and for removing required or immutable values.
    """
    options = options or PatchOptions()
    compiler = _Compiler(resource_type, document, options)
    result: list[Operation] = []
    for index, raw in enumerate(operations):
        result.extend(compiler.operation(raw, index))
    return result


class _Compiler:
    def __init__(
        self, resource_type: ResourceType, document: Mapping[str, Any], options: PatchOptions
    ) -> None:
        self.rt = resource_type
        self.document = document
        self.options = options
        undeclared = [
            key
            for key, value in document.items()
            if isinstance(key, str)
            and key.lower().startswith("urn:")
            and isinstance(value, Mapping)
            and resource_type.extension(key) is None
        ]
        self.known_urns = (*resource_type.schema_ids, *undeclared)

    def operation(self, raw: Any, index: int) -> list[Operation]:
        where = f"Operation {index + 1}"
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"{where} must be a JSON object with 'op', 'path' and 'value'.")
        op = _get_ci(raw, "op")
        if not isinstance(op, str) or op.lower() not in OPS:
            raise InvalidSyntax(
                f"{where}: 'op' must be 'add', 'remove' or 'replace', not {_shown(op)} "
                "(RFC 7644 section 3.5.2)."
            )
        op = op.lower()
        path = _get_ci(raw, "path", ABSENT)
        value = _get_ci(raw, "value", ABSENT)
        if path is None or path == "":
            path = ABSENT
        if path is not ABSENT and not isinstance(path, str):
            raise InvalidPath(f"{where}: 'path' must be a string.")
        if path is ABSENT:
            if op == "remove":
                # RFC 7644 section 3.5.2.2: "If "path" is unspecified, the operation fails with
                # HTTP status code 400 and a "scimType" error code of "noTarget"."
                raise NoTarget(f"{where}: 'remove' needs a 'path'.")
            return self._resource_value(op, value, where)
        assert isinstance(path, str)
        if value is ABSENT and op != "remove":
            # RFC 7644 sections 3.5.2.1 and 3.5.2.3: the operation "MUST contain a "value" member".
            raise InvalidValue(f"{where}: {op!r} needs a 'value'.")
        parsed = parse_patch_path(
            path,
            known_urns=self.known_urns,
            max_length=self.options.max_path_length,
            max_depth=self.options.max_filter_depth,
        )
        if parsed.attr_path.attr is None and parsed.attr_path.urn is not None:
            if parsed.attr_path.urn.lower() == self.rt.schema.id.lower():
                # The core schema's URN as path names the resource itself: as without a path.
                if op == "remove":
                    raise MutabilityError(f"{where}: the resource itself cannot be removed by PATCH.")
                return self._resource_value(op, value, where)
            return self._extension_value(op, self._container(parsed.attr_path.urn), value, path)
        target = self.resolve(parsed, path)
        if target.name is None:
            return self._extension_value(op, target.container, value, path)
        self.check_mutability(op, target, value, path)
        return [Operation(op, target, value, path)]

    # -- values without path -------------------------------------------------------------

    def _resource_value(self, op: str, value: Any, where: str) -> list[Operation]:
        """RFC 7644 sections 3.5.2.1 / 3.5.2.3 without ``path``: one operation per key of ``value``."""
        if not isinstance(value, dict):
            raise InvalidValue(f"{where}: without 'path', 'value' must be an object of attributes.")
        result: list[Operation] = []
        for key, item in value.items():
            lowered = key.lower()
            if lowered == "schemas":
                continue
            if lowered == "id" and self.options.ignore_matching_id and item == self.document.get("id"):
                # Okta's group rename repeats the id (shared/README, Okta item 6).
                continue
            container = self._whole_extension(key, item)
            if container is not None:
                result.extend(self._extension_value(op, container, item, key))
                continue
            result.extend(self._keyed(op, key, item))
        return result

    def _extension_value(self, op: str, container: str | None, value: Any, path: str) -> list[Operation]:
        """A whole extension as target: ``remove`` drops it, ``add``/``replace`` merge its keys."""
        assert container is not None
        if op == "replace" and value is None:
            # RFC 7643 section 2.5: null is unassigned, so replacing with null removes.
            op = "remove"
        if op == "remove":
            ext = self.rt.extension(container)
            if ext is not None and ext.required:
                raise MutabilityError(f"The extension {_shown(container)} is required and cannot be removed.")
            return [Operation(op, Target(container, None), ABSENT, path)]
        if value is None:
            return []
        if not isinstance(value, dict):
            raise InvalidValue(f"The value for the extension {_shown(container)} must be a JSON object.")
        result: list[Operation] = []
        for key, item in value.items():
            result.extend(self._keyed(op, f"{container}:{key}", item))
        return result

    def _keyed(self, op: str, key: str, item: Any) -> list[Operation]:
        """One key of a value object, applied as an operation with that key as ``path``."""
        if not self.options.paths_as_value_keys and not is_attr_name(key):
            # RFC 7644 section 3.5.2.1: the value "contains a set of attributes", by name.
            raise InvalidPath(f"{_shown(key)} is not an attribute name (dotted and URN keys are off).")
        try:
            parsed = parse_patch_path(
                key,
                known_urns=self.known_urns,
                max_length=self.options.max_path_length,
                max_depth=self.options.max_filter_depth,
            )
            if parsed.attr_path.attr is None and parsed.attr_path.urn is not None:
                if parsed.attr_path.urn.lower() == self.rt.schema.id.lower():
                    return self._resource_value(op, item, key)
                return self._extension_value(op, self._container(parsed.attr_path.urn), item, key)
            target = self.resolve(parsed, key)
        except _UnknownAttribute:
            # Dropped like an unknown attribute of a PUT body (core.document's module docstring).
            return []
        if target.name is None:
            return self._extension_value(op, target.container, item, key)
        self.check_mutability(op, target, item, key)
        return [Operation(op, target, item, key)]

    def _whole_extension(self, key: str, value: Any) -> str | None:
        """The container key when ``key`` names a whole extension (declared, held, or new)."""
        if not isinstance(value, dict) or not key.lower().startswith("urn:"):
            return None
        ext = self.rt.extension(key)
        if ext is not None:
            return ext.schema.id
        held = _get_ci_key(self.document, key)
        if held is not None and isinstance(self.document[held], Mapping):
            return held
        if _looks_like_extension_urn(key, self.rt) and self.options.allow_undeclared_extensions:
            return key
        return None

    def _container(self, urn: str) -> str:
        ext = self.rt.extension(urn)
        if ext is not None:
            return ext.schema.id
        if not self.options.allow_undeclared_extensions:
            raise InvalidPath(
                f"The schema {_shown(urn)} is not a schema of the {self.rt.name} resource type."
            )
        return _get_ci_key(self.document, urn) or urn

    # -- path resolution -----------------------------------------------------------------

    def resolve(self, parsed: PatchPath, text: str) -> Target:
        """The :class:`Target` of a parsed path; :class:`InvalidPath` when it names nothing."""
        rt = self.rt
        ap = parsed.attr_path
        assert ap.attr is not None
        urn = ap.urn
        container: str | None = None
        attr: Attribute | None
        if urn is None or urn.lower() == rt.schema.id.lower():
            attr = rt.schema.attribute(ap.attr) or COMMON_ATTRIBUTE_INDEX.get(ap.attr.lower())
            if attr is None and urn is None:
                # As in filters (core.filter.evaluate): clients (Okta among them) name extension
                # attributes without their URN.
                for candidate in rt.extensions:
                    attr = candidate.schema.attribute(ap.attr)
                    if attr is not None:
                        container = candidate.schema.id
                        break
            if attr is None:
                raise _UnknownAttribute(f"The {rt.name} resource type has no attribute {_shown(text)}.")
        else:
            ext = rt.extension(urn)
            if ext is not None:
                container = ext.schema.id
                attr = ext.schema.attribute(ap.attr)
                if attr is None:
                    raise _UnknownAttribute(
                        f"The schema {_shown(ext.schema.id)} has no attribute {_shown(ap.attr)}."
                    )
            else:
                whole = f"{urn}:{ap.attr}"
                if (
                    ap.sub_attr is None
                    and parsed.value_filter is None
                    and parsed.sub_attr is None
                    and (
                        _get_ci_key(self.document, whole) is not None or _looks_like_extension_urn(whole, rt)
                    )
                ):
                    # "urn:...:custom:2.0:User": a whole undeclared extension (issue 4 example).
                    return Target(self._container(whole), None)
                container = self._container(urn)
                held = self.document.get(container)
                name = (_get_ci_key(held, ap.attr) if isinstance(held, Mapping) else None) or ap.attr
                if parsed.value_filter is not None:
                    raise InvalidPath(
                        f"{_shown(text)}: a value filter needs a schema; {_shown(container)} has none here."
                    )
                return Target(container, name, None, ap.sub_attr or parsed.sub_attr)
        sub_text = ap.sub_attr or parsed.sub_attr
        sub: Attribute | None = None
        if sub_text is not None:
            sub = attr.sub_attribute(sub_text) if attr.is_complex else None
            if sub is None:
                raise _UnknownAttribute(
                    f"{_shown(attr.name)} has no sub-attribute {_shown(sub_text)} ({_shown(text)})."
                )
        if parsed.value_filter is not None:
            if not (attr.multi_valued and attr.is_complex):
                raise InvalidPath(
                    f"{_shown(text)}: only multi-valued complex attributes take a value filter."
                )
            try:
                # Evaluated against an empty element: unknown sub-attributes and comparisons of
                # the wrong type surface now, whatever the data.
                matches_element(parsed.value_filter, {}, attr)
            except InvalidFilter as exc:
                raise InvalidPath(f"Invalid value filter in {_shown(text)}: {exc.detail}") from exc
        return Target(
            container,
            attr.name,
            attr,
            sub.name if sub else None,
            sub,
            parsed.value_filter,
        )

    def check_mutability(self, op: str, target: Target, value: Any, text: str) -> None:
        """RFC 7644 section 3.5.2: operations must respect mutability (RFC 7643 section 2.2)."""
        attr, sub = target.attribute, target.sub_attribute
        if attr is None:
            return
        for definition in (attr, sub):
            if definition is not None and definition.mutability is Mutability.READ_ONLY:
                raise MutabilityError(f"{_shown(text)} is readOnly (RFC 7643 section 7).")
        if op != "remove":
            return
        removes_whole = (
            sub is None and target.value_filter is None and not (value is not ABSENT and attr.multi_valued)
        )
        if removes_whole and attr.required:
            raise MutabilityError(f"{_shown(text)} is required and cannot be removed (RFC 7643 section 2.2).")
        if sub is not None and sub.required:
            raise MutabilityError(f"{_shown(text)} is required and cannot be removed (RFC 7643 section 2.2).")
        if removes_whole and attr.mutability is Mutability.IMMUTABLE:
            holder = self.document if target.container is None else self.document.get(target.container)
            if _assigned(_get_ci(holder, attr.name) if isinstance(holder, Mapping) else None):
                # RFC 7644 section 3.5.2: "a client MUST NOT modify an attribute that has
                # mutability "readOnly" or "immutable"".
                raise MutabilityError(f"{_shown(text)} is immutable and has a value.")


def _looks_like_extension_urn(text: str, resource_type: ResourceType) -> bool:
    """``urn:...:<ResourceTypeName>``: the naming of extension schemas (RFC 7643 section 8.7.2;
    Entra ID's ``urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User``)."""
    lowered = text.lower()
    return lowered.startswith("urn:") and lowered.rpartition(":")[2] == resource_type.name.lower()


# --- 3. applying operations ----------------------------------------------------------------


def apply_operations(
    document: Mapping[str, Any],
    operations: Iterable[Operation],
    resource_type: ResourceType,
    options: PatchOptions | None = None,
) -> dict[str, Any]:
    """Apply compiled operations, in order, to a copy of ``document``; the input is untouched.

    ``schemas`` is updated to list the extensions present afterwards (RFC 7643 section 3).
    """
    options = options or PatchOptions()
    doc = copy_json(dict(document))
    for operation in operations:
        _Applier(doc, operation, options).apply()
    core = resource_type.schema.id
    schemas = [core]
    for key, value in doc.items():
        if key.lower().startswith("urn:") and isinstance(value, dict):
            if value:
                schemas.append(key)
    for key in [k for k, v in doc.items() if k.lower().startswith("urn:") and v in ({}, None)]:
        del doc[key]
    schemas_key = _get_ci_key(doc, "schemas") or "schemas"
    doc[schemas_key] = schemas
    return doc


@dataclass(slots=True)
class _Applier:
    doc: dict[str, Any]
    operation: Operation
    options: PatchOptions
    touched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def target(self) -> Target:
        return self.operation.target

    def fail_no_target(self) -> NoTarget:
        return NoTarget(f"The path {_shown(self.operation.path)} matches no value.")

    def holder(self, create: bool) -> dict[str, Any] | None:
        if self.target.container is None:
            return self.doc
        key = _get_ci_key(self.doc, self.target.container)
        if key is None:
            if not create:
                return None
            key = self.target.container
            self.doc[key] = {}
        value = self.doc[key]
        if not isinstance(value, dict):
            if not create:
                return None
            value = self.doc[key] = {}
        return value

    def apply(self) -> None:
        op, target = self.operation.op, self.target
        if op == "add" and self.operation.value is None:
            # RFC 7643 section 2.5: null is "unassigned"; adding nothing changes nothing.
            return
        if target.name is None:
            # A whole extension (only "remove" reaches here; add/replace were expanded).
            key = _get_ci_key(self.doc, target.container or "")
            if key is not None:
                del self.doc[key]
            elif self.options.strict_remove:
                raise self.fail_no_target()
            return
        holder = self.holder(create=op != "remove")
        if holder is None:
            if self.options.strict_remove:
                raise self.fail_no_target()
            return
        key = _get_ci_key(holder, target.name) or target.name
        attr = target.attribute
        if attr is not None and attr.multi_valued and attr.is_complex:
            self.multi_valued(holder, key, attr)
        elif target.sub_name is not None:
            self.sub_value(holder, key)
        else:
            self.single_value(holder, key)

    # -- single-valued attributes, and attributes of undeclared extensions -------------------

    def single_value(self, holder: dict[str, Any], key: str) -> None:
        op, attr = self.operation.op, self.target.attribute
        value = self.operation.value
        if op == "remove":
            if attr is not None and attr.multi_valued and value is not ABSENT:
                self.remove_values(holder, key, attr)
                return
            if holder.pop(key, ABSENT) is ABSENT and self.options.strict_remove:
                raise self.fail_no_target()
            return
        if attr is not None and attr.multi_valued:
            # Simple multi-valued attributes (no sub-attributes): add appends new values.
            items = value if isinstance(value, list) else [value]
            if op == "replace":
                _set(holder, key, copy_json(items) if value is not None else None)
                return
            current = holder.get(key)
            current = list(current) if isinstance(current, list) else []
            for item in items:
                if item is not None and not any(_equal(attr, item, old) for old in current):
                    current.append(copy_json(item))
            _set(holder, key, current)
            return
        if attr is not None and attr.is_complex:
            value = self.unwrap(value, attr)
            if value is None:
                if op == "replace":
                    holder.pop(key, None)
                return
            if not isinstance(value, dict):
                raise InvalidValue(f"The value for {_shown(self.operation.path)} must be a JSON object.")
            current = holder.get(key)
            # RFC 7644 sections 3.5.2.1 and 3.5.2.3: sub-attributes not given are left unchanged.
            merged = dict(current) if isinstance(current, dict) else {}
            for sub_key, sub_value in value.items():
                _set(merged, _get_ci_key(merged, sub_key) or sub_key, copy_json(sub_value))
            _set(holder, key, merged or None)
            return
        if attr is None and isinstance(value, dict) and isinstance(holder.get(key), dict) and op == "add":
            holder[key] = {**holder[key], **copy_json(value)}
            return
        # RFC 7644 section 3.5.2.1: "If the target location specifies a single-valued attribute,
        # the existing value is replaced."
        _set(holder, key, copy_json(value))

    def unwrap(self, value: Any, attr: Attribute) -> Any:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            if not self.options.single_value_lists:
                raise InvalidValue(f"{_shown(attr.name)} is single-valued; send an object, not a list.")
            # Entra ID sends the enterprise "manager" as a one-element list.
            return value[0]
        if isinstance(value, list) and not value:
            return None
        return value

    def sub_value(self, holder: dict[str, Any], key: str) -> None:
        """``name.givenName`` (a single-valued complex attribute's sub-attribute)."""
        op, sub_name = self.operation.op, self.target.sub_name
        assert sub_name is not None
        current = holder.get(key)
        if op == "remove":
            if not isinstance(current, dict) or _get_ci_key(current, sub_name) is None:
                if self.options.strict_remove:
                    raise self.fail_no_target()
                return
            del current[_get_ci_key(current, sub_name)]  # type: ignore[arg-type]
            if not current:
                del holder[key]
            return
        merged = dict(current) if isinstance(current, dict) else {}
        _set(merged, _get_ci_key(merged, sub_name) or sub_name, copy_json(self.operation.value))
        _set(holder, key, merged or None)

    # -- multi-valued complex attributes -----------------------------------------------------

    def multi_valued(self, holder: dict[str, Any], key: str, attr: Attribute) -> None:
        op, target, value = self.operation.op, self.target, self.operation.value
        current = holder.get(key)
        if isinstance(current, dict):
            current = [current]
        elements: list[Any] = list(current) if isinstance(current, list) else []
        if target.value_filter is None and target.sub_name is None:
            if op == "remove":
                if value is not ABSENT:
                    self.remove_values(holder, key, attr)
                    return
                if holder.pop(key, ABSENT) is ABSENT and self.options.strict_remove:
                    raise self.fail_no_target()
                return
            items = self.items(value, attr)
            if op == "replace":
                # RFC 7644 section 3.5.2.3: "the attribute and all values are replaced".
                elements = [copy_json(item) for item in items]
                self.touched.extend(elements)
            else:
                for item in items:
                    self.add_element(elements, item, attr)
            self.store(holder, key, elements, attr)
            return
        if target.value_filter is not None:
            matched = [e for e in elements if isinstance(e, dict) and self.matches(e, attr)]
        else:
            # "emails.type" without a filter addresses that sub-attribute of every element.
            matched = [e for e in elements if isinstance(e, dict)]
        if op == "remove":
            if not matched:
                if self.options.strict_remove:
                    raise self.fail_no_target()
                return
            if target.sub_name is None:
                elements = [e for e in elements if not any(e is m for m in matched)]
            else:
                for element in matched:
                    self.check_immutable_sub(element)
                    sub_key = _get_ci_key(element, target.sub_name)
                    if sub_key is not None:
                        del element[sub_key]
                elements = [e for e in elements if e != {}]
            self.store(holder, key, elements, attr)
            return
        if not matched:
            create = (
                self.options.add_creates_filtered_value
                if op == "add"
                else self.options.replace_creates_filtered_value or target.value_filter is None
            )
            seed = _filter_equalities(target.value_filter, attr) if target.value_filter is not None else {}
            if not create or seed is None:
                # RFC 7644 section 3.5.2.3: no record match -> 400 noTarget.
                raise self.fail_no_target()
            element = dict(seed)
            if target.sub_name is not None:
                element[target.sub_name] = copy_json(value)
            else:
                merged = self.unwrap(value, attr)
                if not isinstance(merged, dict):
                    raise InvalidValue(f"The value for {_shown(self.operation.path)} must be a JSON object.")
                element.update(copy_json(merged))
            elements.append(element)
            self.touched.append(element)
            self.store(holder, key, elements, attr)
            return
        for element in matched:
            if target.sub_name is not None:
                self.check_immutable_sub(element, value)
                _set(element, _get_ci_key(element, target.sub_name) or target.sub_name, copy_json(value))
                self.touched.append(element)
                continue
            new = self.unwrap(value, attr)
            if not isinstance(new, dict):
                raise InvalidValue(f"The value for {_shown(self.operation.path)} must be a JSON object.")
            if op == "replace":
                # RFC 7644 section 3.5.2.3: "all matching record values SHALL be replaced".
                element.clear()
            for sub_key, sub_value in new.items():
                _set(element, _get_ci_key(element, sub_key) or sub_key, copy_json(sub_value))
            self.touched.append(element)
        self.store(holder, key, [e for e in elements if e != {}], attr)

    def matches(self, element: dict[str, Any], attr: Attribute) -> bool:
        assert self.target.value_filter is not None
        try:
            return matches_element(self.target.value_filter, element, attr)
        except InvalidFilter as exc:
            raise InvalidPath(f"Invalid value filter in {_shown(self.operation.path)}: {exc.detail}") from exc

    def items(self, value: Any, attr: Attribute) -> list[Any]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise InvalidValue(f"Each value of {_shown(attr.name)} must be a JSON object.")
        return items

    def add_element(self, elements: list[Any], item: dict[str, Any], attr: Attribute) -> None:
        """Append ``item`` unless an equal element exists (RFC 7644 section 3.5.2.1)."""
        for element in elements:
            if isinstance(element, dict) and _contains(attr, element, item):
                primary = _get_ci_key(item, "primary")
                if primary is not None:
                    _set(element, _get_ci_key(element, "primary") or "primary", item[primary])
                    self.touched.append(element)
                return
        copy = copy_json(item)
        elements.append(copy)
        self.touched.append(copy)

    def remove_values(self, holder: dict[str, Any], key: str, attr: Attribute) -> None:
        """``remove`` with a ``value`` list: Entra ID's member removal without the flag."""
        if not self.options.remove_with_value:
            raise InvalidSyntax(
                f"'remove' takes no 'value' (RFC 7644 section 3.5.2.2); use a value filter: "
                f'{attr.name}[value eq "..."].'
            )
        current = holder.get(key)
        elements = list(current) if isinstance(current, list) else []
        doomed = self.operation.value if isinstance(self.operation.value, list) else [self.operation.value]
        kept = [e for e in elements if not any(_contains(attr, e, d) for d in doomed if d is not None)]
        if len(kept) == len(elements) and self.options.strict_remove:
            raise self.fail_no_target()
        _set(holder, key, kept or None)

    def check_immutable_sub(self, element: dict[str, Any], value: Any = ABSENT) -> None:
        sub = self.target.sub_attribute
        if sub is None or sub.mutability is not Mutability.IMMUTABLE:
            return
        old = _get_ci(element, sub.name)
        if _assigned(old) and (value is ABSENT or not _equal(sub, value, old)):
            # RFC 7644 section 3.5.2: immutable values may be added, never changed.
            raise MutabilityError(f"{_shown(self.operation.path)} is immutable and has a value.")

    def store(self, holder: dict[str, Any], key: str, elements: list[Any], attr: Attribute) -> None:
        primary = attr.sub_attribute("primary")
        if primary is not None:
            chosen = [e for e in self.touched if _is_true(_get_ci(e, primary.name), self.options)]
            # Two primaries in one operation's value are the client's contradiction: left for
            # normalize() to refuse (invalidValue).
            if len({id(e) for e in chosen}) == 1:
                # RFC 7643 section 2.4: setting one value primary clears the others.
                keep = chosen[-1]
                for element in elements:
                    if element is not keep and isinstance(element, dict):
                        flag = _get_ci_key(element, primary.name)
                        if flag is not None and _is_true(element[flag], self.options):
                            element[flag] = False
        _set(holder, key, elements or None)


def _filter_equalities(filt: Filter | None, attr: Attribute) -> dict[str, Any] | None:
    """The element a filter of ``eq`` terms joined by ``and`` describes, or ``None``."""
    if isinstance(filt, Compare):
        if (
            filt.op != "eq"
            or filt.value is None
            or filt.path.urn is not None
            or filt.path.sub_attr is not None
        ):
            return None
        sub = attr.sub_attribute(filt.path.attr or "")
        return {sub.name: filt.value} if sub is not None else None
    if isinstance(filt, And):
        left, right = _filter_equalities(filt.left, attr), _filter_equalities(filt.right, attr)
        if left is None or right is None or set(left) & set(right):
            return None
        return {**left, **right}
    return None


def _contains(attr: Attribute, element: Any, item: Any) -> bool:
    """Whether ``element`` has every sub-attribute of ``item`` (``primary`` aside), equal."""
    if not isinstance(element, dict) or not isinstance(item, dict):
        return _equal(attr, item, element)
    compared = False
    for key, value in item.items():
        if key.lower() == "primary" or value is None:
            continue
        sub = attr.sub_attribute(key)
        if sub is None:
            continue
        compared = True
        if not _equal(sub, value, _get_ci(element, key)):
            return False
    return compared


def _equal(attr: Attribute, new: Any, old: Any) -> bool:
    """Equality under ``attr``'s rules: caseExact false strings ignore case (RFC 7643 section 2.3.1)."""
    if (
        isinstance(new, str)
        and isinstance(old, str)
        and attr.type in (AttributeType.STRING, AttributeType.REFERENCE)
        and not attr.case_exact
    ):
        return new.casefold() == old.casefold()
    if isinstance(new, bool) or isinstance(old, bool):
        return new is old
    return bool(new == old)


def _is_true(value: Any, options: PatchOptions) -> bool:
    if value is True:
        return True
    return options.string_booleans and isinstance(value, str) and value.lower() == "true"


# --- 4. the whole thing --------------------------------------------------------------------


def apply_patch(
    document: Mapping[str, Any],
    operations: Iterable[Any],
    resource_type: ResourceType,
    *,
    options: PatchOptions | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Apply PATCH operations (RFC 7644 section 3.5.2) to ``document``; return the new document.

    ``operations`` is the ``Operations`` list of the message (see :func:`read_patch_request`).
    All or nothing: the first failing operation raises, and ``document`` is never modified. With
    ``validate`` (the default) the result goes through :func:`~.document.normalize` against the old
    document (types, required attributes, immutability, at most one primary), so it is returned in
    canonical form (``"False"`` becomes ``False``), with ``id``, ``meta`` and other readOnly
    attributes as they were. Without it, the patched document is returned as the operations left it.
    """
    options = options or PatchOptions()
    compiled = compile_operations(operations, resource_type, document, options)
    patched = apply_operations(document, compiled, resource_type, options)
    if not validate:
        return patched
    result = normalize(
        patched,
        resource_type,
        existing=document,
        allow_undeclared_extensions=options.allow_undeclared_extensions,
        string_booleans=options.string_booleans,
    )
    # normalize() leaves out what the server owns (id, meta, readOnly attributes such as a
    # User's groups): they are carried over unchanged.
    for key, value in document.items():
        attr = resource_type.schema.attribute(key) or COMMON_ATTRIBUTE_INDEX.get(key.lower())
        if attr is not None and attr.mutability is Mutability.READ_ONLY:
            result[key] = copy_json(value)
    return result


# --- helpers -------------------------------------------------------------------------------


def _set(holder: dict[str, Any], key: str, value: Any) -> None:
    """``holder[key] = value``; an unassigned value (RFC 7643 section 2.5) removes the key."""
    if value is None or value == [] or value == {}:
        holder.pop(key, None)
    else:
        holder[key] = value


def _assigned(value: object) -> bool:
    return value is not None and value != [] and value != {} and value != ""


def _get_ci(mapping: Mapping[str, Any] | None, name: str, default: Any = None) -> Any:
    key = _get_ci_key(mapping, name)
    return default if key is None or mapping is None else mapping[key]
