"""Writing :class:`~django_scim.models.ProvisioningLog` rows for SCIM requests.

``ScimView.dispatch`` calls :func:`record` once the response exists (success or SCIM error).
The row must survive the request's own failure: a 409 or 400 rolls the adapter's transaction
back, and with ``ATOMIC_REQUESTS`` the exception handler marks the whole request's transaction
for rollback (``set_rollback``). So the row is written in autocommit mode: at once when no
transaction is open, otherwise when the response is closed (after the request's atomic block
has ended; WSGI and ASGI servers and Django's test client all close responses). Recording never
breaks a response: its own errors are logged to the ``django_scim`` logger and dropped.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import connections, router, transaction
from django.http import QueryDict

from ..adapters.registry import get_adapter_for_endpoint
from ..conf import scim_settings
from ..core.errors import ScimError
from ..models import ProvisioningLog, ScimToken
from ..orm.statements import insert
from .redact import redacted_json

if TYPE_CHECKING:
    from django.http import HttpResponseBase
    from rest_framework.request import Request

logger = logging.getLogger("django_scim")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Methods whose body is worth keeping (DELETE has none in SCIM).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Outcomes recorded without the body: 413 was never read, and a 429 flood should stay cheap.
_NO_BODY_STATUSES = frozenset({413, 429})


def should_record(method: str) -> bool:
    """Whether a request with this method is logged under the current settings."""
    if not scim_settings.LOG_ENABLED:
        return False
    return method.upper() in WRITE_METHODS or bool(scim_settings.LOG_READS)


def now() -> float:
    """The clock durations are measured with (monotonic, sub-millisecond)."""
    return time.perf_counter()


def record(view: Any, request: Request, response: HttpResponseBase, started: float) -> None:
    """Log one finished SCIM request (see the module docstring for when the row is written)."""
    try:
        if not should_record(request.method or ""):
            return
        fields = entry_fields(view, request, response, started)
    except Exception:
        logger.exception("Could not prepare a provisioning log entry")
        return
    alias = router.db_for_write(ProvisioningLog)
    closers = getattr(response, "_resource_closers", None)
    if connections[alias].in_atomic_block and closers is not None:
        # ATOMIC_REQUESTS (or a caller's atomic block) is still open and may be rolled back.
        closers.append(lambda: _save(alias, fields))
    else:
        _save(alias, fields)


def _save(alias: str, fields: dict[str, Any]) -> None:
    # One INSERT compiled once per connection (orm.statements.insert; save() where receivers
    # of the model's save signals listen).
    try:
        if connections[alias].in_atomic_block:
            # A savepoint, so that a failed insert cannot poison the open transaction.
            with transaction.atomic(using=alias):
                insert(alias, ProvisioningLog(**fields))
        else:
            # Autocommit: the one INSERT commits on its own, without BEGIN and COMMIT round trips.
            insert(alias, ProvisioningLog(**fields))
    except Exception:
        logger.exception("Could not write a provisioning log entry")


def entry_fields(view: Any, request: Request, response: HttpResponseBase, started: float) -> dict[str, Any]:
    """The column values of the log row for ``request`` answered by ``response``."""
    method = (request.method or "").upper()
    # request.auth would run authentication again when the request failed before it ran.
    token = getattr(request, "_auth", None)
    token = token if isinstance(token, ScimToken) else None
    data = getattr(response, "data", None)
    status = response.status_code
    scim_type = detail = ""
    if status >= 400 and isinstance(data, dict):
        scim_type = str(data.get("scimType") or "")
        detail = str(data.get("detail") or "")
    kwargs = getattr(view, "kwargs", None) or {}
    resource_id = str(kwargs.get("pk") or "")
    if not resource_id and status == 201 and isinstance(data, dict):
        resource_id = str(data.get("id") or "")
    body = ""
    if token is not None and method in BODY_METHODS and status not in _NO_BODY_STATUSES:
        parsed = _parsed_body(request)
        if parsed is not None:
            body = redacted_json(
                parsed, words=scim_settings.LOG_REDACTED_KEYS, max_size=scim_settings.LOG_MAX_BODY_SIZE
            )
    tenant = getattr(token, "tenant_id", None)
    return {
        "token": token,
        "token_name": token.name if token is not None else "",
        "tenant": None if tenant is None else str(tenant),
        "method": method[:10],
        "path": request.get_full_path()[:2048],
        "resource_type": _resource_type(view, request)[:100],
        "resource_id": resource_id[:255],
        "status": status,
        "scim_type": scim_type[:32],
        "detail": detail,
        "duration_ms": round((now() - started) * 1000, 3),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        "request_body": body,
    }


def _resource_type(view: Any, request: Request) -> str:
    """The resource type name (``User``), from the view's ``log_resource_type`` or its endpoint."""
    explicit = getattr(view, "log_resource_type", None)
    if explicit:
        return str(explicit)
    endpoint = (getattr(view, "kwargs", None) or {}).get("endpoint")
    if not endpoint:
        return ""
    try:
        return get_adapter_for_endpoint(endpoint, request).name
    except ScimError:
        return ""


def _parsed_body(request: Request) -> Any:
    """The request's JSON body, parsing it if the view did not; ``None`` when there is none."""
    try:
        data = request.data
    except Exception:
        # Invalid JSON or too large: the raw text cannot be redacted, so it is not kept.
        return None
    if isinstance(data, QueryDict):
        # DRF's placeholder for "no body" and for a body that failed to parse.
        return None
    return data
