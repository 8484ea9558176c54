"""App settings: one ``SCIM`` dict read through :data:`scim_settings`.

The pattern is Django REST framework's ``api_settings``: defaults in :data:`DEFAULTS`, dotted
paths in :data:`IMPORT_STRINGS` resolved on first access, unknown names rejected, and the cache
dropped when Django's ``setting_changed`` signal reports a change of ``SCIM`` (so
``override_settings`` and pytest-django's ``settings`` fixture work).

Example::

    SCIM = {
        "RESOURCE_TYPES": {
            "Group": {"ADAPTER": "myapp.scim.TeamAdapter"},
        },
        "MAX_PAGE_SIZE": 500,
    }
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

SETTINGS_NAME = "SCIM"

DEFAULTS: dict[str, Any] = {
    # Resource types served, by name. Each entry: "ADAPTER" (dotted path to a ResourceAdapter
    # subclass) and optional "OPTIONS" passed to the adapter (see the adapters reference). Entries
    # given in SCIM["RESOURCE_TYPES"] are merged over these; None removes a default one.
    "RESOURCE_TYPES": {
        "User": {"ADAPTER": "django_scim.adapters.users.UserAdapter"},
        "Group": {"ADAPTER": "django_scim.adapters.groups.GroupAdapter"},
    },
    # DRF policies, set on our views only: the site's REST_FRAMEWORK setting stays its own.
    "AUTHENTICATION_CLASSES": ["django_scim.rest.authentication.BearerTokenAuthentication"],
    "PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "THROTTLE_CLASSES": [],
    # RFC 7643 section 5 "authenticationSchemes" advertised in /ServiceProviderConfig.
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A bearer token issued with `manage.py scim_token create NAME`.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": True,
        }
    ],
    "DOCUMENTATION_URI": None,
    # Filter language limits (RFC 7644 section 3.4.2.2); over them: 400 invalidFilter.
    "FILTER_MAX_LENGTH": 4096,
    "FILTER_MAX_DEPTH": 50,
    # Paging (RFC 7644 section 3.4.2.4): page size when the client sends no count, and the cap.
    "DEFAULT_PAGE_SIZE": 100,
    "MAX_PAGE_SIZE": 1000,
    # Keep URN-keyed objects of extensions that no resource type declares (the free-form
    # "urn:ietf:params:scim:schemas:extension:custom:2.0:User" style) as free JSON; when False
    # they are refused with 400 invalidValue.
    "ALLOW_UNDECLARED_EXTENSIONS": True,
    # Accept "True" / "False" strings for booleans: Microsoft Entra ID sends them (shared/README).
    "STRING_BOOLEANS": True,
    # Minimum seconds between two writes of a token's last_used time.
    "TOKEN_LAST_USED_INTERVAL": 60,
}

IMPORT_STRINGS: frozenset[str] = frozenset(
    {"AUTHENTICATION_CLASSES", "PERMISSION_CLASSES", "THROTTLE_CLASSES"}
)

#: Settings that existed once, with what to do instead.
REMOVED_SETTINGS: dict[str, str] = {}


class ScimSettings:
    """Attribute access to the ``SCIM`` settings dict with defaults and imports resolved."""

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        self.defaults = defaults if defaults is not None else DEFAULTS
        self._cached: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTINGS_NAME, None) or {}
        for name in value:
            if name in REMOVED_SETTINGS:
                raise RuntimeError(f"SCIM[{name!r}] was removed: {REMOVED_SETTINGS[name]}")
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.defaults:
            raise AttributeError(f"Invalid SCIM setting: {name!r}")
        if name in self._cached:
            return self._cached[name]
        user = self.user_settings
        if name == "RESOURCE_TYPES":
            value = self._resource_types(user.get(name, {}))
        else:
            value = user.get(name, self.defaults[name])
        if name in IMPORT_STRINGS:
            value = [_import(item, name) for item in value]
        self._cached[name] = value
        return value

    def _resource_types(self, configured: dict[str, Any]) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = dict(self.defaults["RESOURCE_TYPES"])
        for name, entry in configured.items():
            if entry is None:
                merged.pop(name, None)
            else:
                merged[name] = {**merged.get(name, {}), **entry}
        return merged

    def unknown_settings(self) -> list[str]:
        """Names in ``settings.SCIM`` that are not settings (reported by a system check)."""
        return sorted(set(self.user_settings) - set(self.defaults))

    def reload(self) -> None:
        self._cached.clear()


def _import(value: Any, setting_name: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImportError(f"Could not import {value!r} for SCIM setting {setting_name!r}: {exc}") from exc


scim_settings = ScimSettings()


@receiver(setting_changed)
def _reload_scim_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        scim_settings.reload()
