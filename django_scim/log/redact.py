"""Redaction of request bodies before they are logged: secrets never reach the database.

A value is replaced by :data:`REDACTED` when

- its key contains one of the sensitive words (``SCIM["LOG_REDACTED_KEYS"]``: ``password``,
  ``secret``, ``token``), in any case and wherever it is (nested objects, URN-qualified keys
  ``urn:...:User:password``, Entra ID's dotted PATCH value keys);
- it is under ``x509Certificates`` (RFC 7643 section 4.1.2): the certificates' ``value``;
- it is the ``value`` of a PATCH operation (RFC 7644 section 3.5.2) whose ``path`` names one of
  the above: ``{"op": "replace", "path": "password", "value": "..."}``.

It errs on the side of hiding: ``tokenLifetime`` is hidden too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"

#: Keys whose whole value is replaced: certificates are credentials, and large.
_CERTIFICATE_KEYS = ("x509certificates",)


def _sensitive(key: str, words: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in words) or any(cert in lowered for cert in _CERTIFICATE_KEYS)


def _redact_certificates(value: Any) -> Any:
    # Keep type/primary/display: "which certificate" helps debugging, its bytes do not.
    if isinstance(value, list):
        return [_redact_certificates(item) for item in value]
    if isinstance(value, dict):
        return {key: (REDACTED if key.lower() == "value" else item) for key, item in value.items()}
    return REDACTED


def redact(value: Any, words: Iterable[str] = ("password", "secret", "token")) -> Any:
    """A copy of the JSON value ``value`` with sensitive values replaced by :data:`REDACTED`."""
    lowered = tuple(word.lower() for word in words if word)
    return _redact(value, lowered)


def _redact(value: Any, words: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        return [_redact(item, words) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    path = value.get("path")
    patch_target_sensitive = "op" in value and isinstance(path, str) and _sensitive(path, words)
    for key, item in value.items():
        if not isinstance(key, str):
            result[key] = _redact(item, words)
        elif any(cert in key.lower() for cert in _CERTIFICATE_KEYS):
            result[key] = _redact_certificates(item)
        elif _sensitive(key, words):
            result[key] = REDACTED
        elif patch_target_sensitive and key.lower() == "value":
            result[key] = REDACTED
        else:
            result[key] = _redact(item, words)
    return result


def redacted_json(value: Any, *, words: Iterable[str], max_size: int) -> str:
    """``value`` redacted and serialised as JSON text, cut after ``max_size`` characters.

    The cut comes after redaction, so it can never expose a secret; a marker with the full
    length follows it.
    """
    text = json.dumps(redact(value, words), ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= max_size:
        return text
    return f"{text[:max_size]}... [truncated: {len(text)} characters]"
