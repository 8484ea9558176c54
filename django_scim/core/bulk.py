"""Bulk request planning (RFC 7644 section 3.7): ``bulkId`` references and the order of operations.

Pure graph work, no I/O. A client names a resource it creates in a bulk request with a
``bulkId`` and refers to it elsewhere in the same request with the string ``"bulkId:<id>"``
(RFC 7644 section 3.7.2), in the ``data`` of another operation (a group's ``members[].value``)
or in its ``path`` (``/Users/bulkId:qwerty``). The service provider replaces such strings with the
permanent ids once the resources exist.

* :func:`find_references` lists the ``bulkId`` values a JSON value refers to;
* :func:`plan` orders the operations so that every resource exists before an operation that
  refers to it runs, whatever order the client sent them in (section 3.7.2: a group may list a
  member created later in the request). Operations that refer to each other in a circle (two
  groups each a member of the other, section 3.7.1) form one :class:`Step` marked
  ``circular``, which the caller resolves by creating first and completing after, or refuses
  with 409;
* :func:`substitute` puts permanent ids in place of resolved references, and
  :func:`strip_references` removes unresolved ones (the first half of resolving a circle).

The order is stable: operations run in request order unless a reference forces one earlier, so a
DELETE followed by a POST reusing a ``userName`` still works. Everything is linear in the size
of the request (the graph search is Tarjan's algorithm without recursion, the ordering a heap).
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .constants import BULK_REQUEST
from .document import _get_ci
from .errors import InvalidSyntax, InvalidValue, ScimError

#: RFC 7644 section 3.7.2: 'the value is "bulkId:qwerty"'.
BULK_ID_PREFIX: Final = "bulkId:"


def reference(value: object) -> str | None:
    """The ``bulkId`` that ``value`` refers to (``"bulkId:qwerty"`` -> ``"qwerty"``), or ``None``."""
    if isinstance(value, str) and value.startswith(BULK_ID_PREFIX) and len(value) > len(BULK_ID_PREFIX):
        return value[len(BULK_ID_PREFIX) :]
    return None


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, without recursion (bodies may nest deeply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def find_references(data: Any, path: str = "") -> frozenset[str]:
    """The ``bulkId`` values that an operation's ``data`` and ``path`` refer to.

    In ``data`` a reference is a whole string value (section 3.7.2: the service provider
    "MUST replace the string "bulkId:qwerty""); in ``path`` it is one path segment.
    """
    found = {ref for text in _strings(data) if (ref := reference(text)) is not None}
    found.update(ref for segment in path.split("/") if (ref := reference(segment)) is not None)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Step:
    """Operations to run together, by their index in the request."""

    indices: tuple[int, ...]
    """One operation, or (``circular``) the operations of one circle of references, in request order."""

    circular: bool = False
    """The operations refer to each other in a circle (RFC 7644 section 3.7.1)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of :func:`plan`."""

    steps: tuple[Step, ...]
    """Every operation exactly once, each after the operations defining the bulkIds it refers to."""

    definitions: Mapping[str, int] = field(default_factory=dict)
    """``bulkId`` -> index of the operation that defines it (the first one, when repeated)."""

    duplicates: Mapping[int, str] = field(default_factory=dict)
    """Operations whose ``bulkId`` an earlier operation already defines (section 3.7: "unique
    within a bulk request")."""

    undefined: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    """Operations that refer to bulkIds no operation defines, with those bulkIds (sorted)."""


def plan(operations: Sequence[tuple[str | None, Collection[str]]]) -> Plan:
    """Order the operations of a bulk request by their ``bulkId`` references.

    ``operations`` holds, per operation in request order, the ``bulkId`` it defines (``None``
    when it defines none: only POST defines one, section 3.7) and the bulkIds it refers to
    (:func:`find_references`). Operation *i* depends on operation *j* when *i* refers to the
    bulkId *j* defines. Strongly connected groups of operations (and an operation referring to
    its own bulkId) become ``circular`` steps; the steps come out dependencies first and
    otherwise in request order (the smallest index first).
    """
    definitions: dict[str, int] = {}
    duplicates: dict[int, str] = {}
    for index, (bulk_id, _refs) in enumerate(operations):
        if bulk_id is None:
            continue
        if bulk_id in definitions:
            duplicates[index] = bulk_id
        else:
            definitions[bulk_id] = index

    count = len(operations)
    edges: list[list[int]] = [[] for _ in range(count)]
    self_loops: set[int] = set()
    undefined: dict[int, tuple[str, ...]] = {}
    for index, (_bulk_id, refs) in enumerate(operations):
        missing = []
        for ref in refs:
            target = definitions.get(ref)
            if target is None:
                missing.append(ref)
            elif target == index:
                self_loops.add(index)
            else:
                edges[index].append(target)
        if missing:
            undefined[index] = tuple(sorted(missing))

    components = _strongly_connected(edges)
    component_of = [0] * count
    for number, members in enumerate(components):
        for member in members:
            component_of[member] = number

    # Kahn's algorithm over the components: a component is ready once every component it
    # depends on has run; among ready ones the one holding the earliest operation goes first.
    waiting = [0] * len(components)
    dependents: list[set[int]] = [set() for _ in components]
    for index, targets in enumerate(edges):
        for target in targets:
            source_c, target_c = component_of[index], component_of[target]
            if source_c != target_c and source_c not in dependents[target_c]:
                dependents[target_c].add(source_c)
                waiting[source_c] += 1
    ready = [(min(found), number) for number, found in enumerate(components) if not waiting[number]]
    heapq.heapify(ready)
    steps: list[Step] = []
    while ready:
        _first, number = heapq.heappop(ready)
        indices = tuple(sorted(components[number]))
        circular = len(indices) > 1 or indices[0] in self_loops
        steps.append(Step(indices, circular))
        for dependent in dependents[number]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                heapq.heappush(ready, (min(components[dependent]), dependent))
    return Plan(tuple(steps), definitions, duplicates, undefined)


def _strongly_connected(edges: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively (a request may chain 1,000 references)."""
    count = len(edges)
    index_of = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(count):
        if index_of[root] != -1:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, edge = work[-1]
            if edge == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            if edge < len(edges[node]):
                work[-1] = (node, edge + 1)
                target = edges[node][edge]
                if index_of[target] == -1:
                    work.append((target, 0))
                elif on_stack[target]:
                    low[node] = min(low[node], index_of[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    members.append(member)
                    if member == node:
                        break
                components.append(members)
    return components


def substitute(data: Any, ids: Mapping[str, str]) -> Any:
    """A copy of ``data`` with every ``"bulkId:<id>"`` string of ``ids`` replaced by ``ids[<id>]``."""
    return _rebuild(data, lambda text: ids.get(ref) if (ref := reference(text)) is not None else None)


def substitute_path(path: str, ids: Mapping[str, str]) -> str:
    """``path`` with ``bulkId:<id>`` segments replaced (``/Users/bulkId:q`` -> ``/Users/2819c2...``)."""
    segments = []
    for segment in path.split("/"):
        ref = reference(segment)
        segments.append(ids.get(ref, segment) if ref is not None else segment)
    return "/".join(segments)


def strip_references(data: Any, bulk_ids: Collection[str]) -> Any:
    """A copy of ``data`` without the references to ``bulk_ids``.

    An object member whose value is such a reference is dropped, and so is an element of a list
    that is a reference or an object holding one (``{"value": "bulkId:g2", "type": "Group"}``):
    the resource is created without the link, which is added once the other end exists (RFC
    7644 section 3.7.1).
    """
    targets = set(bulk_ids)

    def refers(value: Any) -> bool:
        return reference(value) in targets

    def holds(value: Any) -> bool:
        if refers(value):
            return True
        if isinstance(value, dict):
            return any(refers(item) for item in value.values())
        return False

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items() if not refers(item)}
        if isinstance(value, list):
            return [walk(item) for item in value if not holds(item)]
        return value

    return walk(data)


def _rebuild(value: Any, replace: Any) -> Any:
    if isinstance(value, str):
        new = replace(value)
        return value if new is None else new
    if isinstance(value, dict):
        return {key: _rebuild(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuild(item, replace) for item in value]
    return value


# --- the request message ----------------------------------------------------------------------

#: RFC 7644 section 3.7: "Possible values are "POST", "PUT", "PATCH", or "DELETE"".
METHODS: Final = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class BulkOperation:
    """One member of ``Operations`` in a BulkRequest (RFC 7644 section 3.7), checked."""

    index: int
    """Position in the request."""

    method: str
    """Upper-cased HTTP method, or what the client sent when it is not one of :data:`METHODS`."""

    path: str
    """The resource's relative path as sent (``/Users``, ``/Groups/2819c...``, ``/Users/bulkId:q``)."""

    bulk_id: str | None = None
    """The ``bulkId`` the operation defines (POST only)."""

    version: str | None = None
    """The ``version`` (an ETag) the resource must have: checked like ``If-Match`` (section 3.7)."""

    data: Any = None
    """The body of the POST, PUT or PATCH."""

    error: ScimError | None = None
    """Why the operation cannot run, found before anything ran; ``None`` when it is well formed."""

    @property
    def references(self) -> frozenset[str]:
        """The bulkIds this operation refers to, in its data and its path."""
        return find_references(self.data, self.path)


def read_bulk_request(body: object) -> tuple[list[Any], int | None]:
    """The ``Operations`` and ``failOnErrors`` of a BulkRequest message (RFC 7644 section 3.7).

    Raises :class:`~.errors.InvalidSyntax` when the body is not a BulkRequest (not an object, no
    ``urn:ietf:params:scim:api:messages:2.0:BulkRequest`` in ``schemas``, ``Operations`` not a
    list) and :class:`~.errors.InvalidValue` when ``failOnErrors`` is not a positive integer.
    Member names are matched in any case (RFC 7643 section 2.1).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The bulk request body must be a JSON object (a BulkRequest message).")
    schemas = _get_ci(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(urn, str) and urn.lower() == BULK_REQUEST.lower() for urn in schemas
    ):
        raise InvalidSyntax(f"A bulk request must list {BULK_REQUEST!r} in 'schemas' (RFC 7644 section 3.7).")
    operations = _get_ci(body, "Operations")
    if not isinstance(operations, list):
        raise InvalidSyntax("'Operations' must be a list of operations (RFC 7644 section 3.7).")
    fail_on_errors = _get_ci(body, "failOnErrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int) or fail_on_errors < 1
    ):
        # "An integer specifying the number of errors that the service provider will accept
        # before the operation is terminated": zero or less accepts nothing meaningful.
        raise InvalidValue("'failOnErrors' must be a positive integer.")
    return operations, fail_on_errors


def read_operation(index: int, raw: object) -> BulkOperation:
    """Check one operation (RFC 7644 section 3.7); problems land in :attr:`BulkOperation.error`."""
    if not isinstance(raw, dict):
        return BulkOperation(index, "", "", error=InvalidSyntax("Each operation must be a JSON object."))
    method_value = _get_ci(raw, "method")
    path_value = _get_ci(raw, "path")
    bulk_id_value = _get_ci(raw, "bulkId")
    version_value = _get_ci(raw, "version")
    data = _get_ci(raw, "data")
    method = method_value.upper() if isinstance(method_value, str) else ""
    path = path_value if isinstance(path_value, str) else ""
    bulk_id = bulk_id_value if isinstance(bulk_id_value, str) and bulk_id_value else None
    version = version_value if isinstance(version_value, str) and version_value else None
    fields = {"bulk_id": bulk_id if method == "POST" else None, "version": version, "data": data}
    error: ScimError | None = None
    if method not in METHODS:
        error = InvalidValue(f"'method' must be one of {', '.join(METHODS)}.")
    elif not path.startswith("/"):
        error = InvalidValue("'path' must be the resource's relative path, such as '/Users'.")
    elif bulk_id_value is not None and bulk_id is None:
        error = InvalidValue("'bulkId' must be a non-empty string.")
    elif version_value is not None and version is None:
        error = InvalidValue("'version' must be a non-empty string.")
    else:
        segments = split_path(path)
        if segments is None or (method == "POST") != (segments[1] is None):
            wanted = "a resource type endpoint, such as '/Users'" if method == "POST" else "'/Endpoint/id'"
            error = InvalidValue(f"The path of a {method} operation must be {wanted}.")
        elif method != "DELETE" and data is None:
            error = InvalidSyntax(f"A {method} operation needs 'data' (RFC 7644 section 3.7).")
    return BulkOperation(index, method or str(method_value or ""), path, error=error, **fields)


def split_path(path: str) -> tuple[str, str | None] | None:
    """``/Users`` -> ``("Users", None)``, ``/Users/abc`` -> ``("Users", "abc")``; ``None`` otherwise."""
    parts = path.split("/")
    if parts[0] != "" or len(parts) not in (2, 3) or not all(parts[1:]):
        return None
    return parts[1], parts[2] if len(parts) == 3 else None
