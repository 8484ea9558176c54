"""SCIM errors (RFC 7644 section 3.12): one class per ``scimType`` or HTTP status.

Class names are the ``scimType`` keywords of Table 9 in CapWords, so they grep against the RFC.
Every error renders to the RFC's error body with :meth:`ScimError.to_dict`; ``status`` is a
string there, as the RFC's examples and Microsoft Entra ID expect.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .constants import ERROR, ScimType


class ScimError(Exception):
    """Base class: an HTTP status, an optional ``scimType`` and a human-readable detail."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[ScimType | None] = None
    default_detail: ClassVar[str] = "The request is not valid."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        """The error body of RFC 7644 section 3.12."""
        body: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status)}
        if self.scim_type is not None:
            body["scimType"] = str(self.scim_type)
        body["detail"] = self.detail
        return body


# --- 400 with a scimType (RFC 7644 section 3.12, Table 9) ---------------------------------


class InvalidFilter(ScimError):
    scim_type = ScimType.INVALID_FILTER
    default_detail = "The specified filter syntax is invalid or the attribute is not supported."


class TooMany(ScimError):
    scim_type = ScimType.TOO_MANY
    default_detail = "The filter yields too many results for the server to process."


class Uniqueness(ScimError):
    status = 409
    scim_type = ScimType.UNIQUENESS
    default_detail = "One or more of the attribute values are already in use or are reserved."


class Mutability(ScimError):
    scim_type = ScimType.MUTABILITY
    default_detail = "The attempted modification is not compatible with the attribute's mutability."


class InvalidSyntax(ScimError):
    scim_type = ScimType.INVALID_SYNTAX
    default_detail = "The request body message structure was invalid."


class InvalidPath(ScimError):
    scim_type = ScimType.INVALID_PATH
    default_detail = "The path attribute was invalid or malformed."


class NoTarget(ScimError):
    scim_type = ScimType.NO_TARGET
    default_detail = "The specified path did not yield an attribute or attribute value."


class InvalidValue(ScimError):
    scim_type = ScimType.INVALID_VALUE
    default_detail = "A required value was missing, or the value specified was not compatible."


class InvalidVers(ScimError):
    scim_type = ScimType.INVALID_VERS
    default_detail = "The specified SCIM protocol version is not supported."


class Sensitive(ScimError):
    status = 403
    scim_type = ScimType.SENSITIVE
    default_detail = "The request cannot be completed due to the passing of sensitive information."


class InvalidCursor(ScimError):
    """RFC 9865 section 3.1: the cursor value is not recognised."""

    scim_type = ScimType.INVALID_CURSOR
    default_detail = "The cursor value is invalid."


class ExpiredCursor(ScimError):
    """RFC 9865 section 2.1: the cursor has expired (older than ``cursorTimeout``)."""

    scim_type = ScimType.EXPIRED_CURSOR
    default_detail = "The cursor has expired; start again without a cursor."


class InvalidCount(ScimError):
    """RFC 9865 section 3.1: the count value is not valid."""

    scim_type = ScimType.INVALID_COUNT
    default_detail = "The count value is invalid."


# --- errors identified by their HTTP status alone (RFC 7644 section 3.12) ------------------


class Unauthorized(ScimError):
    status = 401
    default_detail = "Authorization failure."


class Forbidden(ScimError):
    status = 403
    default_detail = "The operation is not permitted."


class NotFound(ScimError):
    status = 404
    default_detail = "Resource not found."


class MethodNotAllowed(ScimError):
    status = 405
    default_detail = "The method is not allowed on this endpoint."


class NotAcceptable(ScimError):
    status = 406
    default_detail = "The requested media type cannot be produced."


class Conflict(ScimError):
    status = 409
    default_detail = "The request conflicts with the current state of the resource."


class PreconditionFailed(ScimError):
    status = 412
    default_detail = "The resource has changed on the server (version mismatch)."


class PayloadTooLarge(ScimError):
    status = 413
    default_detail = "The request payload is too large."


class UnsupportedMediaType(ScimError):
    status = 415
    default_detail = "Unsupported media type; send application/scim+json or application/json."


class TooManyRequests(ScimError):
    status = 429
    default_detail = "Too many requests."


class InternalError(ScimError):
    status = 500
    default_detail = "An internal error occurred."


class NotImplementedByServer(ScimError):
    status = 501
    default_detail = "The service provider does not support the requested operation."
