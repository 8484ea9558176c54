"""Request parsing: ``application/scim+json`` (RFC 7644 section 3.1) and ``application/json``."""

from __future__ import annotations

from rest_framework.parsers import JSONParser

from ..core.constants import MEDIA_TYPE


class ScimJsonParser(JSONParser):
    """Parses ``application/scim+json`` bodies exactly like JSON."""

    media_type = MEDIA_TYPE


#: Parsers of the SCIM views: RFC 7644 section 3.8 asks servers to accept both media types.
PARSER_CLASSES = [ScimJsonParser, JSONParser]
