"""Request parsing: ``application/scim+json`` (RFC 7644 section 3.1) and ``application/json``.

Both parsers read at most the view's body limit (``ScimView.body_limit()``: ``SCIM["MAX_BODY_SIZE"]``,
or ``BULK_MAX_PAYLOAD_SIZE`` on ``/Bulk``): a longer body is the view's 413
(:class:`~django_scim.core.errors.PayloadTooLarge`) without ever being held in memory whole.
``ScimView.initial`` already refuses a too large ``Content-Length``; this covers bodies without
one (chunked requests under ASGI).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import JSONParser

from ..conf import scim_settings
from ..core.constants import MEDIA_TYPE
from ..core.errors import PayloadTooLarge


def too_large(size: int) -> PayloadTooLarge:
    """The 413 error for a body of ``size`` bytes (or more) over ``MAX_BODY_SIZE``."""
    return PayloadTooLarge(
        f"The request body is larger than the {scim_settings.MAX_BODY_SIZE} bytes this server accepts."
    )


class _SizeLimitedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        view = (parser_context or {}).get("view")
        limit = view.body_limit() if view is not None else scim_settings.MAX_BODY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise view.body_too_large(len(data)) if view is not None else too_large(len(data))
        return super().parse(io.BytesIO(data), media_type, parser_context)


class ScimJsonParser(_SizeLimitedJSONParser):
    """Parses ``application/scim+json`` bodies exactly like JSON, up to ``MAX_BODY_SIZE`` bytes."""

    media_type = MEDIA_TYPE


class ApplicationJsonParser(_SizeLimitedJSONParser):
    """``application/json`` with the same size limit (RFC 7644 section 3.8 allows both types)."""

    media_type = "application/json"


#: Parsers of the SCIM views: RFC 7644 section 3.8 asks servers to accept both media types.
PARSER_CLASSES = [ScimJsonParser, ApplicationJsonParser]
