"""``/Bulk`` (RFC 7644 section 3.7): many operations in one request.

Each operation is what a single POST, PUT, PATCH or DELETE would be, run through the same
adapter method the resource views call, so validation, hooks, signals, version bumps and errors
are identical. ``bulkId`` references (``"bulkId:qwerty"``) are resolved in any order: the
operations are ordered up front (:func:`django_scim.core.bulk.plan`) so that a resource exists
before anything refers to it, and the response lists the results in request order.

Transaction model
-----------------

``SCIM["BULK_TRANSACTION"] = "operation"`` (the default): each operation is atomic on its own
(the adapter's ``transaction.atomic`` block) and the others go on whatever happens to it, as RFC
7644 section 3.7 asks ("continue performing as many changes as possible and disregard partial
failures"), until ``failOnErrors`` errors have occurred. Operations forming a circle of
references are one unit (see below).

``SCIM["BULK_TRANSACTION"] = "request"``: all or nothing. The whole request runs in one
transaction; the first failing operation rolls every operation back (those before it included),
and the response is that operation's SCIM error, its detail naming the operation. Signals are
sent only when the transaction commits. This is not in the RFC: clients that expect partial
success should not be served in this mode.

Circular references (RFC 7644 section 3.7.1: the service provider "MUST try to resolve circular
cross-references between resources in a single bulk job but MAY stop after a failed attempt and
instead return HTTP status code 409 (Conflict)"): the POST operations of a circle are created
without their references to each other, then replaced (PUT semantics) with their full data once
every id is known, all in one transaction. If any step fails, the unit is rolled back and each of
its operations answers 409 with the reason.

Other failures are reported per operation, never as a 500 of the whole request: a reference to a
bulkId no POST defines is 400 invalidValue, one to a POST that failed is 409, a ``version`` that
does not match the resource's ETag is 412 (the check of ``If-Match``, section 3.7), and an
unexpected exception is logged and reported as that operation's 500.

Cost: one adapter per resource type for the whole request (no per-operation lookup), references
found in one pass, the order computed in linear time; each operation then costs the queries of
the single request it stands for, without rendering the resource (the response carries
``location`` and ``version`` only, which section 3.7.3 allows).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response

from ..adapters.base import ResourceAdapter
from ..adapters.registry import get_adapters
from ..conf import scim_settings
from ..core import bulk as scim_bulk
from ..core.constants import BULK_RESPONSE
from ..core.errors import (
    Conflict,
    InternalError,
    InvalidValue,
    NotFound,
    NotImplementedByServer,
    PayloadTooLarge,
    PreconditionFailed,
    ScimError,
)
from ..models import ScimCompanion
from .conditional import etag_matches
from .exceptions import _translate
from .views import ScimView

logger = logging.getLogger("django_scim")

__all__ = ["BulkProcessor", "BulkView"]


class _Abort(Exception):
    """All-or-nothing mode: an operation failed; unwinds the request's transaction."""

    def __init__(self, operation: scim_bulk.BulkOperation, error: ScimError) -> None:
        super().__init__(error.detail)
        self.operation = operation
        self.error = error


class _VersionCheck:
    """A per-operation ``version``, checked on the locked row like ``If-Match`` (RFC 7644 section 3.7)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def __call__(self, companion: ScimCompanion) -> None:
        etag = ResourceAdapter.etag(companion)
        if not etag_matches(self.version, etag):
            raise PreconditionFailed(f"The version {self.version} does not match the current version {etag}.")


class BulkProcessor:
    """Runs the operations of one BulkRequest (see the module docstring for the rules)."""

    def __init__(self, request: Request, *, all_or_nothing: bool = False) -> None:
        self.request = request
        self.all_or_nothing = all_or_nothing
        self._adapters: dict[str, ResourceAdapter] | None = None
        #: bulkId -> permanent SCIM id of the resources created so far.
        self.ids: dict[str, str] = {}
        #: bulkIds whose POST failed: operations referring to them fail with 409.
        self.failed: set[str] = set()
        self.results: dict[int, dict[str, Any]] = {}
        self.errors = 0

    # --- entry point -----------------------------------------------------------------------

    def run(self, raw_operations: list[Any], fail_on_errors: int | None) -> list[dict[str, Any]]:
        """The ``Operations`` of the BulkResponse, in request order; raises in all-or-nothing mode."""
        operations = [scim_bulk.read_operation(index, raw) for index, raw in enumerate(raw_operations)]
        references = [op.references for op in operations]
        plan = scim_bulk.plan([(op.bulk_id, refs) for op, refs in zip(operations, references, strict=True)])
        if self.all_or_nothing:
            try:
                with transaction.atomic():
                    self._run_steps(plan, operations, references, fail_on_errors=None)
            except _Abort as abort:
                failed = abort.operation
                error = copy.copy(abort.error)
                error.detail = (
                    f"Operation {failed.index + 1} ({failed.method} {failed.path}) failed "
                    f"and no operation was applied: {abort.error.detail}"
                )
                raise error from None
        else:
            self._run_steps(plan, operations, references, fail_on_errors=fail_on_errors)
        return [self.results[index] for index in sorted(self.results)]

    def _run_steps(
        self,
        plan: scim_bulk.Plan,
        operations: list[scim_bulk.BulkOperation],
        references: list[frozenset[str]],
        *,
        fail_on_errors: int | None,
    ) -> None:
        for step in plan.steps:
            members = [operations[index] for index in step.indices]
            if step.circular:
                self._run_circle(members, references, plan)
            else:
                self._run_one(members[0], references[members[0].index], plan)
            if fail_on_errors is not None and self.errors >= fail_on_errors:
                # RFC 7644 section 3.7: failOnErrors is "the number of errors that the service
                # provider will accept before the operation is terminated"; only the operations
                # processed so far are reported (section 3.7.3).
                return

    # --- one operation ---------------------------------------------------------------------

    def _blocked(
        self, operation: scim_bulk.BulkOperation, refs: frozenset[str], plan: scim_bulk.Plan
    ) -> ScimError | None:
        """Why ``operation`` cannot run before it starts, or ``None``."""
        if operation.error is not None:
            return operation.error
        if operation.index in plan.duplicates:
            return InvalidValue(f"The bulkId {operation.bulk_id!r} is used by an earlier operation.")
        undefined = plan.undefined.get(operation.index)
        if undefined:
            names = ", ".join(repr(f"{scim_bulk.BULK_ID_PREFIX}{ref}") for ref in undefined)
            return InvalidValue(f"No POST operation in this request defines {names}.")
        failed = sorted(refs & self.failed)
        if failed:
            return Conflict(
                f"The operation creating bulkId {failed[0]!r} failed, so it cannot be referred to."
            )
        return None

    def _run_one(
        self, operation: scim_bulk.BulkOperation, refs: frozenset[str], plan: scim_bulk.Plan
    ) -> None:
        error = self._blocked(operation, refs, plan)
        if error is None:
            try:
                self.results[operation.index] = self._execute(operation)
                return
            except ScimError as exc:
                error = exc
            except RecursionError:
                error = InvalidValue("The operation's data is nested too deeply.")
            except Exception as exc:  # noqa: BLE001 - reported per operation, never a 500 of /Bulk
                error = _translate(exc)
        self._fail(operation, error)

    def _execute(self, operation: scim_bulk.BulkOperation) -> dict[str, Any]:
        path = scim_bulk.substitute_path(operation.path, self.ids)
        endpoint, scim_id = scim_bulk.split_path(path) or ("", None)
        adapter = self._adapter(endpoint)
        data = scim_bulk.substitute(operation.data, self.ids) if self.ids else operation.data
        precondition: Callable[[ScimCompanion], None] | None = (
            _VersionCheck(operation.version) if operation.version is not None else None
        )
        if operation.method == "POST":
            obj = adapter.create(data)
            status = "201"
        else:
            assert scim_id is not None
            if operation.method == "DELETE":
                adapter.delete(scim_id, precondition)
                return {"method": "DELETE", "location": adapter.location(scim_id), "status": "204"}
            if operation.method == "PUT":
                obj = adapter.replace(scim_id, data, precondition)
            else:
                patch = getattr(adapter, "patch", None)
                if patch is None:
                    raise NotImplementedByServer(f"PATCH is not supported for {adapter.name} resources.")
                obj = patch(scim_id, data, precondition)
            status = "200"
        return self._success(operation, adapter, obj, status)

    def _success(
        self, operation: scim_bulk.BulkOperation, adapter: ResourceAdapter, obj: Any, status: str
    ) -> dict[str, Any]:
        companion = adapter.companion(obj)
        assert companion is not None
        scim_id = str(companion.id)
        if operation.bulk_id is not None:
            self.ids[operation.bulk_id] = scim_id
        result: dict[str, Any] = {"method": operation.method}
        if operation.bulk_id is not None:
            # RFC 7644 section 3.7: "the service provider MUST return the same "bulkId" together
            # with the newly created resource".
            result["bulkId"] = operation.bulk_id
        result["location"] = adapter.location(scim_id)
        result["version"] = adapter.etag(companion)
        result["status"] = status
        return result

    def _fail(self, operation: scim_bulk.BulkOperation, error: ScimError) -> None:
        if self.all_or_nothing:
            raise _Abort(operation, error)
        self.errors += 1
        if operation.bulk_id is not None:
            self.failed.add(operation.bulk_id)
        result: dict[str, Any] = {"method": operation.method}
        if operation.bulk_id is not None:
            result["bulkId"] = operation.bulk_id
        location = self._location(operation)
        if location is not None:
            # RFC 7644 section 3.7.3: "location" for every operation but a failed POST.
            result["location"] = location
        result["status"] = str(error.status)
        result["response"] = error.to_dict()
        self.results[operation.index] = result

    def _location(self, operation: scim_bulk.BulkOperation) -> str | None:
        if operation.method == "POST" or operation.error is not None:
            return None
        endpoint, scim_id = scim_bulk.split_path(scim_bulk.substitute_path(operation.path, self.ids)) or (
            "",
            None,
        )
        adapter = self.adapters.get(endpoint)
        if adapter is None or scim_id is None or scim_bulk.reference(scim_id) is not None:
            return None
        return adapter.location(scim_id)

    # --- circular references (RFC 7644 section 3.7.1) --------------------------------------

    def _run_circle(
        self, members: list[scim_bulk.BulkOperation], references: list[frozenset[str]], plan: scim_bulk.Plan
    ) -> None:
        own = {op.bulk_id for op in members if op.bulk_id is not None}
        reason: ScimError | None = None
        for operation in members:
            reason = self._blocked(operation, references[operation.index] - own, plan)
            if reason is not None:
                break
        results: dict[int, dict[str, Any]] = {}
        if reason is None:
            try:
                results = self._resolve_circle(members, own)
            except ScimError as exc:
                reason = exc
            except RecursionError:
                reason = InvalidValue("The operation's data is nested too deeply.")
            except Exception as exc:  # noqa: BLE001 - reported per operation, never a 500 of /Bulk
                reason = _translate(exc)
        if reason is None:
            self.results.update(results)
            return
        names = ", ".join(str(op.index + 1) for op in members)
        for operation in members:
            self.ids.pop(operation.bulk_id or "", None)
            error = Conflict(
                f"Operations {names} refer to each other in a circle that could not be resolved "
                f"(RFC 7644 section 3.7.1): {reason.detail}"
            )
            self._fail(operation, error)

    def _resolve_circle(
        self, members: list[scim_bulk.BulkOperation], own: set[str]
    ) -> dict[int, dict[str, Any]]:
        """Create every member without the links between them, then complete each with PUT."""
        created: list[tuple[scim_bulk.BulkOperation, ResourceAdapter, str]] = []
        results: dict[int, dict[str, Any]] = {}
        with transaction.atomic():
            for operation in members:
                endpoint, _ = scim_bulk.split_path(operation.path) or ("", None)
                adapter = self._adapter(endpoint)
                data = scim_bulk.strip_references(scim_bulk.substitute(operation.data, self.ids), own)
                obj = adapter.create(data)
                companion = adapter.companion(obj)
                assert companion is not None and operation.bulk_id is not None
                self.ids[operation.bulk_id] = str(companion.id)
                created.append((operation, adapter, str(companion.id)))
            for operation, adapter, scim_id in created:
                obj = adapter.replace(scim_id, scim_bulk.substitute(operation.data, self.ids))
                results[operation.index] = self._success(operation, adapter, obj, "201")
        return results

    # --- adapters ----------------------------------------------------------------------------

    @property
    def adapters(self) -> dict[str, ResourceAdapter]:
        """One adapter per served endpoint, made once per request."""
        if self._adapters is None:
            self._adapters = {adapter.endpoint: adapter for adapter in get_adapters(self.request)}
        return self._adapters

    def _adapter(self, endpoint: str) -> ResourceAdapter:
        adapter = self.adapters.get(endpoint)
        if adapter is None:
            raise NotFound(f"No resource type is served at /{endpoint}.")
        return adapter


class BulkView(ScimView):
    """``POST /Bulk`` (RFC 7644 section 3.7); answers a BulkResponse."""

    def body_limit(self) -> int:
        return int(scim_settings.BULK_MAX_PAYLOAD_SIZE)

    def body_too_large(self, size: int) -> PayloadTooLarge:
        # RFC 7644 section 3.7.4: 413 with the limit in the detail.
        return PayloadTooLarge(
            f"The size of the bulk operation exceeds the maxPayloadSize ({self.body_limit()})."
        )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if scim_settings.BULK_MAX_OPERATIONS <= 0:
            raise NotImplementedByServer("Bulk operations are not supported (RFC 7644 section 3.7).")

    def post(self, request: Request) -> Response:
        operations, fail_on_errors = scim_bulk.read_bulk_request(request.data)
        limit = scim_settings.BULK_MAX_OPERATIONS
        if len(operations) > limit:
            raise PayloadTooLarge(f"The number of operations exceeds the maxOperations ({limit}).")
        mode = scim_settings.BULK_TRANSACTION
        if mode not in ("operation", "request"):
            raise InternalError(f"SCIM['BULK_TRANSACTION'] must be 'operation' or 'request', not {mode!r}.")
        processor = BulkProcessor(request, all_or_nothing=mode == "request")
        results = processor.run(operations, fail_on_errors)
        return Response({"schemas": [BULK_RESPONSE], "Operations": results})
