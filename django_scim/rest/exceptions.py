"""One exception handler turning every failure into a SCIM error body (RFC 7644 section 3.12).

Set on the SCIM views only (``get_exception_handler``), so the site's ``REST_FRAMEWORK``
setting is left alone. Foreign errors are translated here, once; anything unexpected is logged
and answered with a SCIM 500 body, and the transaction is rolled back in every case.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..core import errors
from ..core.constants import MEDIA_TYPE

logger = logging.getLogger("django_scim")

#: PostgreSQL's deadlock_detected, serialization_failure and lock_not_available: two requests
#: changed the same rows at the same moment and the database aborted this one.
CONCURRENCY_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _translate(exc: Exception) -> errors.ScimError:
    if isinstance(exc, errors.ScimError):
        return exc
    if isinstance(exc, DataError):
        # A value the database cannot hold (NUL in free-form JSON on PostgreSQL, an integer out
        # of range): the client's data, not a server fault. The transaction is rolled back below.
        return errors.InvalidValue("A value cannot be stored by this server's database.")
    if (
        isinstance(exc, OperationalError)
        and getattr(exc.__cause__, "sqlstate", None) in CONCURRENCY_SQLSTATES
    ):
        # A write raced another on the same rows (deleting a user while a group PATCH adds it):
        # RFC 7644 section 3.12's 409 for a state that changed under the request; nothing was
        # written, and the same request sent again succeeds or fails on the state it then finds.
        return errors.Conflict("Another request changed this resource at the same moment; send it again.")
    if isinstance(exc, Http404):
        return errors.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.Forbidden()
    if isinstance(exc, drf.ParseError):
        return errors.InvalidSyntax(f"The request body is not valid JSON: {exc.detail}")
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.Unauthorized(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return errors.Forbidden(str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return errors.NotFound(str(exc.detail))
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return errors.UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return errors.NotAcceptable(str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return errors.TooManyRequests(str(exc.detail))
    if isinstance(exc, drf.APIException):
        error = errors.ScimError(str(exc.detail))
        error.status = exc.status_code  # type: ignore[misc]
        return error
    logger.exception("Unexpected error in a SCIM request", exc_info=exc)
    return errors.InternalError()


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The SCIM views' DRF exception handler: always a SCIM error response."""
    error = _translate(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        authenticate_header = getattr(exc, "auth_header", None)
        view = context.get("view")
        request = context.get("request")
        if authenticate_header is None and view is not None and request is not None:
            authenticate_header = view.get_authenticate_header(request)
        headers["WWW-Authenticate"] = authenticate_header or 'Bearer realm="SCIM"'
    wait = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    set_rollback()
    return Response(error.to_dict(), status=error.status, headers=headers, content_type=MEDIA_TYPE)
