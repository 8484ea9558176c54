"""Per-token request throttling (RFC 7644 section 3.12 lists 429 "Too Many Requests").

:class:`TokenRateThrottle` is in ``SCIM["THROTTLE_CLASSES"]`` by default and does nothing until a
rate is set: ``SCIM["TOKEN_THROTTLE_RATE"]`` for every token, or a token's own ``throttle_rate``
(admin), which wins. Over the rate the request gets a SCIM 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..conf import scim_settings
from ..models import ScimToken


class TokenRateThrottle(SimpleRateThrottle):
    """DRF throttle keyed by the authenticating :class:`~django_scim.models.ScimToken`.

    Each token has its own counter, so one identity provider's full sync cannot starve another.
    Requests not authenticated by a token (a site that swapped in session authentication) are
    not throttled by this class. Counters live in DRF's throttle cache (Django's ``default``
    cache): use a shared cache when several server processes run, or each gets its own budget.
    """

    scope = "scim_token"

    def __init__(self) -> None:
        # DRF's __init__ reads REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; the rate is per request
        # here (the token's own or the setting), so it is resolved in allow_request.
        self.rate: str | None = None
        self.num_requests: int | None = None
        self.duration: int | None = None

    def get_rate(self) -> str | None:
        return scim_settings.TOKEN_THROTTLE_RATE

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ScimToken):
            return True
        self.rate = token.throttle_rate or self.get_rate()
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ScimToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
