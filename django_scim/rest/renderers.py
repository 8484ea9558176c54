"""Response rendering: always ``application/scim+json`` (RFC 7644 section 3.8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from ..core.constants import MEDIA_TYPE
from ..orm.documents import JSONText, encode_list


class ScimJsonRenderer(JSONRenderer):
    """JSON rendered as ``application/scim+json``; non-ASCII kept as UTF-8.

    A ListResponse's ``Resources`` may hold documents the database wrote
    (:class:`~django_scim.orm.documents.JSONText`): they are embedded as they are.
    """

    media_type = MEDIA_TYPE
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        encode = super().render
        resources = data.get("Resources") if isinstance(data, dict) else None
        if not (isinstance(resources, list) and any(type(item) is JSONText for item in resources)):
            return encode(data, accepted_media_type, renderer_context)  # type: ignore[no-any-return]
        head = {key: value for key, value in data.items() if key != "Resources"}
        return encode_list(
            encode(head, accepted_media_type, renderer_context),
            [
                item.encode()
                if type(item) is JSONText
                else encode(item, accepted_media_type, renderer_context)
                for item in resources
            ],
        )


class ScimContentNegotiation(BaseContentNegotiation):
    """Every SCIM response is ``application/scim+json``, whatever ``Accept`` says.

    Clients send ``Accept: application/json`` or nothing at all; answering 406 helps nobody,
    and Microsoft Entra ID requires ``application/scim+json`` on every response.
    """

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)
