"""Schemas a site declares: extension schemas and the core schemas of its own resource types.

A schema is written in Python (:class:`~django_scim.core.schema.Schema` and
:class:`~django_scim.core.schema.Attribute`) or in JSON, in the representation ``/Schemas``
serves (RFC 7643 section 7). Wherever settings or an adapter name a schema (an adapter's
``schema``, the ``(schema, required)`` pairs of its ``extensions``, ``SCIM["RESOURCE_TYPES"][name]
["SCHEMA"]`` / ``["EXTENSIONS"]``), the value may be:

* a :class:`~django_scim.core.schema.Schema`, or a ``dict`` in the RFC 7643 section 7 form;
* a schema URN: one of ``SCIM["SCHEMAS"]``, or one RFC 7643 defines (User, Group, EnterpriseUser);
* a path to a JSON file (ending in ``.json``; a relative path is taken from ``settings.BASE_DIR``
  when the project defines it, else from the working directory);
* a dotted path to any of the above (``"myapp.scim.BADGE_SCHEMA"``).

Example::

    SCIM = {
        "SCHEMAS": ["myapp/scim/badge.json"],
        "RESOURCE_TYPES": {
            "User": {"EXTENSIONS": [
                ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", False),
                ("urn:example:params:scim:schemas:extension:badge:2.0:User", False),
            ]},
        },
    }
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import scim_settings
from .core.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from .core.schema import Schema, builtin_schema

__all__ = ["declared_schemas", "get_schema", "schema_from_file"]

_BUILTIN = {urn.lower(): urn for urn in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA)}


def schema_from_file(path: str | Path) -> Schema:
    """The schema in a JSON file (RFC 7643 section 7 representation); read once per process."""
    resolved = Path(path)
    if not resolved.is_absolute():
        resolved = Path(getattr(settings, "BASE_DIR", None) or Path.cwd()) / resolved
    return _load_file(str(resolved))


@lru_cache(maxsize=64)
def _load_file(path: str) -> Schema:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ImproperlyConfigured(f"SCIM schema file {path!r} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImproperlyConfigured(f"SCIM schema file {path!r} is not valid JSON: {exc}") from exc
    return _from_dict(data, path)


def _from_dict(data: Any, origin: str) -> Schema:
    try:
        return Schema.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Schema.from_dict raises on a missing "id"/"name" or an unknown type/mutability/... keyword.
        raise ImproperlyConfigured(
            f"SCIM schema {origin}: not an RFC 7643 section 7 schema ({exc!r})"
        ) from exc


def declared_schemas() -> dict[str, Schema]:
    """``SCIM["SCHEMAS"]`` resolved, by lower-cased URN (schema URNs compare case-insensitively)."""
    found: dict[str, Schema] = {}
    for source in scim_settings.SCHEMAS:
        schema = _resolve(source, by_urn=False)
        found[schema.id.lower()] = schema
    return found


def get_schema(value: object) -> Schema:
    """The :class:`~django_scim.core.schema.Schema` that ``value`` names (see the module docstring)."""
    return _resolve(value, by_urn=True)


def _resolve(value: object, *, by_urn: bool) -> Schema:
    if isinstance(value, Schema):
        return value
    if isinstance(value, dict):
        return _from_dict(value, repr(value.get("id", "")))
    if isinstance(value, Path):
        return schema_from_file(value)
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(f"SCIM schema: expected a Schema, a dict, a URN or a path, not {value!r}")
    if value.lower().startswith("urn:"):
        if by_urn:
            declared = declared_schemas().get(value.lower())
            if declared is not None:
                return declared
        if value.lower() in _BUILTIN:
            return builtin_schema(_BUILTIN[value.lower()])
        raise ImproperlyConfigured(
            f"SCIM schema {value!r} is neither declared in SCIM['SCHEMAS'] nor defined by RFC 7643."
        )
    if value.lower().endswith(".json"):
        return schema_from_file(value)
    try:
        target = import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SCIM schema {value!r}: {exc}") from exc
    if isinstance(target, str) and target.lower().startswith("urn:"):
        return _resolve(target, by_urn=by_urn)
    if isinstance(target, str | Path) and str(target).lower().endswith(".json"):
        return schema_from_file(target)
    if isinstance(target, Schema | dict):
        return _resolve(target, by_urn=by_urn)
    raise ImproperlyConfigured(f"SCIM schema {value!r} names {target!r}, which is not a schema.")
