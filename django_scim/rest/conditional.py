"""Conditional requests: ETag / If-Match / If-None-Match (RFC 7644 section 3.14, RFC 7232).

Resource versions are weak entity tags (``W/"3"``), compared with the weak comparison of RFC
7232 section 2.3.2 for If-Match as well, as the examples of RFC 7644 section 3.14 do.
``Last-Modified`` has one-second resolution (an HTTP date), so the date checks compare whole
seconds.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.http import http_date, parse_http_date_safe
from rest_framework.request import Request

from ..core.errors import PreconditionFailed
from ..models import ScimCompanion


def _opaque(tag: str) -> str:
    tag = tag.strip()
    if tag[:2].upper() == "W/":
        tag = tag[2:]
    return tag


def parse_etags(header: str) -> list[str]:
    """The opaque tags of an ``If-Match`` / ``If-None-Match`` header (``["*"]`` for ``*``)."""
    tags: list[str] = []
    for part in header.split(","):
        part = _opaque(part)
        if part:
            tags.append(part)
    return tags


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against a header's list (RFC 7232 section 2.3.2)."""
    tags = parse_etags(header)
    return "*" in tags or _opaque(etag) in tags


def _seconds(value: datetime) -> int:
    return int(value.timestamp())


def last_modified_header(value: datetime) -> str:
    return http_date(value.timestamp())


class WritePreconditions:
    """``If-Match`` / ``If-Unmodified-Since`` of a write, checked by the adapter on the locked row."""

    def __init__(self, request: Request) -> None:
        # META, as Django's ConditionalGetMiddleware reads it: request.headers would copy every
        # header of the request into a dict first.
        self.if_match = request.META.get("HTTP_IF_MATCH")
        self.if_unmodified_since = request.META.get("HTTP_IF_UNMODIFIED_SINCE")

    def __bool__(self) -> bool:
        return bool(self.if_match or self.if_unmodified_since)

    def __call__(self, companion: ScimCompanion) -> None:
        etag = f'W/"{companion.version}"'
        if self.if_match is not None:
            if not etag_matches(self.if_match, etag):
                raise PreconditionFailed(f"If-Match does not match the current version {etag}.")
            return
        if self.if_unmodified_since is not None:
            since = parse_http_date_safe(self.if_unmodified_since)
            if since is not None and _seconds(companion.last_modified) > since:
                raise PreconditionFailed("The resource was modified after If-Unmodified-Since.")


def not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    """True when a GET / HEAD may be answered 304 (RFC 7232 sections 3.2 and 3.3)."""
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if_modified_since = request.META.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since is not None:
        since = parse_http_date_safe(if_modified_since)
        return since is not None and _seconds(last_modified) <= since
    return False
