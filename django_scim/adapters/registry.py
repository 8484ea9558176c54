"""Adapter lookup: ``get_adapter("User", request)`` returns a fresh adapter for the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import scim_settings
from ..core.errors import NotFound

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest

    from .base import ResourceAdapter


def _entry(name: str) -> dict[str, Any]:
    try:
        return scim_settings.RESOURCE_TYPES[name]
    except KeyError:
        raise NotFound(f"Resource type {name!r} is not served.") from None


def get_adapter(name: str, request: HttpRequest | None = None) -> ResourceAdapter:
    """A new adapter for resource type ``name`` as ``SCIM["RESOURCE_TYPES"]`` configures it."""
    entry = _entry(name)
    try:
        cls = import_string(entry["ADAPTER"])
    except (KeyError, ImportError) as exc:
        raise ImproperlyConfigured(f"SCIM['RESOURCE_TYPES'][{name!r}]['ADAPTER']: {exc}") from exc
    options = {key: value for key, value in entry.items() if key != "ADAPTER"}
    adapter: ResourceAdapter = cls(request=request, options=options)
    if adapter.name != name:
        raise ImproperlyConfigured(
            f"SCIM['RESOURCE_TYPES'][{name!r}] names adapter {cls.__qualname__}, "
            f"which serves {adapter.name!r}"
        )
    return adapter


def get_adapters(request: HttpRequest | None = None) -> list[ResourceAdapter]:
    """Adapters of every configured resource type, in settings order."""
    return [get_adapter(name, request) for name in scim_settings.RESOURCE_TYPES]


#: The resource type last found at each endpoint: a hint that spares building the adapters of
#: the types configured before it on every request; checked on use, so never stale.
_ENDPOINT_HINTS: dict[str, str] = {}


def get_adapter_for_endpoint(endpoint: str, request: HttpRequest | None = None) -> ResourceAdapter:
    """The adapter serving ``/{endpoint}`` (``Users``); :class:`NotFound` for unknown endpoints."""
    hint = _ENDPOINT_HINTS.get(endpoint)
    if hint is not None and is_served(hint):
        adapter = get_adapter(hint, request)
        if adapter.endpoint == endpoint:
            return adapter
    for name in scim_settings.RESOURCE_TYPES:
        adapter = get_adapter(name, request)
        if adapter.endpoint == endpoint:
            _ENDPOINT_HINTS[endpoint] = name
            return adapter
    raise NotFound(f"No resource type is served at /{endpoint}.")


def is_served(name: str) -> bool:
    return name in scim_settings.RESOURCE_TYPES


def served_models() -> list[type[Model]]:
    """The models of the configured resource types, whose tables the app's migrations index and
    whose rows it counts (:mod:`django_scim.orm.rowcount`).

    A model whose app is not available is left out: ``TransactionTestCase.available_apps``
    narrows the app registry, and a flush under it still sends ``post_migrate``
    (``get_user_model()`` then raises ImproperlyConfigured; a setting that is really wrong is
    reported by the system checks, which ``migrate`` runs first).
    """
    models: list[type[Model]] = []
    for name in scim_settings.RESOURCE_TYPES:
        try:
            models.append(get_adapter(name).get_model())
        except (LookupError, ImproperlyConfigured):
            continue
    return models
