"""Response rendering: always ``application/scim+json`` (RFC 7644 section 3.8)."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from ..core.constants import MEDIA_TYPE


class ScimJsonRenderer(JSONRenderer):
    """JSON rendered as ``application/scim+json``; non-ASCII kept as UTF-8."""

    media_type = MEDIA_TYPE
    charset = None


class ScimContentNegotiation(BaseContentNegotiation):
    """Every SCIM response is ``application/scim+json``, whatever ``Accept`` says.

    Clients send ``Accept: application/json`` or nothing at all; answering 406 helps nobody,
    and Microsoft Entra ID requires ``application/scim+json`` on every response.
    """

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, str(renderer.media_type)
