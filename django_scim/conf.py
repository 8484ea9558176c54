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
    # subclass); every other key sets the adapter attribute of the same name in lower case
    # ("MODEL", "COMPANION_MODEL", "ATTRIBUTE_MAP"...). Entries given in SCIM["RESOURCE_TYPES"]
    # are merged over these; None removes a default one.
    "RESOURCE_TYPES": {
        "User": {"ADAPTER": "django_scim.adapters.users.UserAdapter"},
        "Group": {"ADAPTER": "django_scim.adapters.groups.GroupAdapter"},
    },
    # DRF policies, set on our views only: the site's REST_FRAMEWORK setting stays its own.
    "AUTHENTICATION_CLASSES": ["django_scim.rest.authentication.BearerTokenAuthentication"],
    "PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # TokenRateThrottle does nothing until a rate is set (TOKEN_THROTTLE_RATE or a token's own).
    "THROTTLE_CLASSES": ["django_scim.rest.throttling.TokenRateThrottle"],
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
    # --- PATCH (RFC 7644 section 3.5.2); STRING_BOOLEANS above applies to PATCH values too ---
    # What a successful PATCH answers: "resource" (200 with the resource, honouring attributes /
    # excludedAttributes) or "no_content" (204 with ETag), either for every resource type or as
    # {resource type name: mode} (names not listed get "resource"). Groups answer 204 by default:
    # Microsoft Entra ID advises it ("Returning a body with a list of all the members isn't
    # advisable"), Okta accepts it, RFC 7644 section 3.5.2 allows it, and a 10,000-member group is
    # then never loaded. A request carrying "attributes" or "excludedAttributes" always gets 200
    # (RFC 7644 section 3.5.2: "MUST return a 200 OK if the "attributes" parameter is specified").
    "PATCH_RESPONSE": {"Group": "no_content"},
    # A single-valued complex attribute sent as a one-element list ("manager": [{...}]) is taken
    # as the object (Entra ID). False: 400 invalidValue.
    "PATCH_SINGLE_VALUE_LISTS": True,
    # Keys of a PATCH value object may be attribute paths: "name.givenName" and URN-qualified
    # "urn:...:enterprise:2.0:User:employeeNumber" (Entra ID with aadOptscim062020). False: keys
    # must be attribute names or whole extension URNs (400 invalidPath otherwise).
    "PATCH_PATHS_AS_VALUE_KEYS": True,
    # "remove" with a "value" list removes those values of a multi-valued attribute: Entra ID
    # without aadOptscim062020 removes members with {"op": "Remove", "path": "members",
    # "value": [{"value": "<id>"}]}, which RFC 7644 section 3.5.2.2 does not define. False: such an
    # operation is 400 invalidSyntax (never "remove every member").
    "PATCH_REMOVE_WITH_VALUE": True,
    # An "id" inside a PATCH value object equal to the resource's id is ignored: Okta's group
    # rename sends {"op": "replace", "value": {"id": "<id>", "displayName": "..."}}. False: 400
    # mutability (id is readOnly, RFC 7643 section 3.1).
    "PATCH_IGNORE_MATCHING_ID": True,
    # "add" through a value filter that matches nothing creates the element from the filter's eq
    # terms: add emails[type eq "work"].value on a user without a work e-mail creates
    # {"type": "work", "value": ...} (the Entra ID SCIM validator expects it; RFC 7644 section
    # 3.5.2.1 "If the target location does not exist, the attribute and value are added").
    # False: 400 noTarget.
    "PATCH_ADD_CREATES_FILTERED_VALUE": True,
    # The same for "replace", which RFC 7644 section 3.5.2.3 answers with 400 noTarget. Off by
    # default: Entra ID sends "Add" when it believes the value is missing.
    "PATCH_REPLACE_CREATES_FILTERED_VALUE": False,
    # "remove" whose value filter or value list matches nothing (a member already gone): by
    # default a no-op, so retried removals succeed (RFC 7644 section 3.5.2.2 lists no error for
    # it). True: 400 noTarget (RFC 7644 section 3.12, Table 9).
    "PATCH_STRICT_REMOVE": False,
    # --- listing (RFC 7644 section 3.4.2, RFC 9865 cursor paging) ---
    # Seconds a nextCursor / previousCursor stays valid (advertised as pagination.cursorTimeout);
    # an older cursor is 400 expiredCursor. Cursors are signed with SECRET_KEY.
    "CURSOR_TIMEOUT": 3600,
    # Whether cursor pages carry totalResults (one COUNT per page). RFC 9865 section 2 lets a
    # provider omit it; False keeps every cursor page at the cost of reading one page.
    "CURSOR_TOTAL_RESULTS": True,
    # --- limits and tokens ---
    # Largest request body in bytes; a larger one is answered 413 before it is read or parsed
    # (RFC 7644 section 3.12 lists 413 "Request Entity Too Large").
    "MAX_BODY_SIZE": 1_048_576,
    # Default DRF throttle rate per token for TokenRateThrottle ("600/min"); a token's own
    # throttle_rate wins. None: no limit. The counters live in Django's "default" cache, which
    # must be shared (Redis, Memcached, database) when several server processes run.
    "TOKEN_THROTTLE_RATE": None,
    # Lifetime in days of new tokens (admin, `scim_token create`) given no explicit expiry;
    # None: they do not expire.
    "TOKEN_EXPIRY_DAYS": None,
    # --- provisioning log (django_scim.log) ---
    # Record SCIM writes (POST, PUT, PATCH, DELETE) in ProvisioningLog.
    "LOG_ENABLED": True,
    # Record reads (GET, HEAD) too: useful while setting up an identity provider, noisy after.
    "LOG_READS": False,
    # Default age in days beyond which `manage.py scim_prune_log` deletes entries; None keeps all.
    "LOG_RETENTION_DAYS": 90,
    # Characters of the redacted request body kept per entry; the rest is cut off.
    "LOG_MAX_BODY_SIZE": 16_384,
    # Body keys whose values are never stored: any key containing one of these (any case), and the
    # "value" of a PATCH operation whose path contains one. x509Certificates values always are.
    "LOG_REDACTED_KEYS": ["password", "secret", "token"],
    # DRF policies of the read-only log API (django_scim.log.urls): staff only by default.
    "LOG_API_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "LOG_API_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # --- declared schemas (RFC 7643 section 7) ---
    # Schemas a site declares, so that adapters and SCIM["RESOURCE_TYPES"][name]["SCHEMA"] /
    # ["EXTENSIONS"] can name them by URN: each a Schema object, an RFC 7643 section 7 dict, a
    # JSON file path or a dotted path to one of those (see django_scim.schemas).
    "SCHEMAS": [],
    # --- bulk (RFC 7644 section 3.7) ---
    # Most operations one /Bulk request may carry (advertised as bulk.maxOperations); more: 413.
    # 0 turns /Bulk off (bulk.supported false, /Bulk answers 501).
    "BULK_MAX_OPERATIONS": 1000,
    # Largest /Bulk body in bytes (advertised as bulk.maxPayloadSize); larger: 413. A body must
    # also pass MAX_BODY_SIZE and Django's DATA_UPLOAD_MAX_MEMORY_SIZE: raise those with it.
    "BULK_MAX_PAYLOAD_SIZE": 1_048_576,
    # "operation": each operation commits or rolls back on its own, and the others go on (RFC
    # 7644 section 3.7: "continue performing as many changes as possible"). "request": all or
    # nothing: the first failing operation rolls every operation back, and the request answers
    # that operation's error (not in the RFC; failOnErrors is then moot).
    "BULK_TRANSACTION": "operation",
    # --- database ---
    # On PostgreSQL with psycopg 3, prepare the statements every SCIM request runs (the token's
    # lookup, a resource by id, the uniqueness check, the writes, the log row) on the server, so
    # PostgreSQL plans each once per connection instead of on every request; the site's own
    # queries keep Django's cursor (see django_scim.orm.prepared). Not done where the database
    # entry says a pooler in transaction mode loses them: OPTIONS["prepare_threshold"] = None,
    # or DISABLE_SERVER_SIDE_CURSORS without a numeric prepare_threshold. False: never.
    "PREPARED_STATEMENTS": True,
    # --- multi-tenancy ---
    # "app_label.Model" of the site's tenant (organisation, customer). Each token then belongs to
    # one tenant (ScimToken.tenant_id, a primary key of that model) and every adapter scopes its
    # querysets, uniqueness checks and references (group members) to the token's tenant. A token
    # without a tenant is refused with 403. None: one SCIM service for the whole site.
    "TENANT_MODEL": None,
    # --- deprovisioning (users) ---
    # What DELETE /Users/{id} does: "hard" deletes the user row (RFC 7644 section 3.6, the
    # default), "soft" keeps it, deactivates it (active false: is_active False, user_deactivated
    # sent, sessions ended) and hides it from SCIM: GET answers 404, lists and filters skip it, its
    # memberships of SCIM groups are removed. A later POST with the same userName brings the
    # same row back under a new id. Needs the companion's "deleted" field (django_scim.ScimUser).
    "USER_DELETE": "hard",
    # End a user's sessions when SCIM deactivates it (active true -> false, by PUT, PATCH, /Bulk
    # or a soft DELETE): UserAdapter.end_sessions(user), after commit. The default deletes the
    # user's rows of a database-backed session engine (db, cached_db).
    "END_SESSIONS_ON_DEACTIVATION": True,
    # --- groups ---
    # Refuse a Group whose displayName equals another group's, compared case-insensitively, with
    # 409 uniqueness (POST, PUT, PATCH), even where the model has no unique constraint: Microsoft
    # Entra ID matches groups by displayName and requires it to be unique.
    "GROUP_DISPLAY_NAME_UNIQUE": True,
}

IMPORT_STRINGS: frozenset[str] = frozenset(
    {
        "AUTHENTICATION_CLASSES",
        "PERMISSION_CLASSES",
        "THROTTLE_CLASSES",
        "LOG_API_AUTHENTICATION_CLASSES",
        "LOG_API_PERMISSION_CLASSES",
    }
)

#: Settings that existed once, with what to do instead.
REMOVED_SETTINGS: dict[str, str] = {}


class ScimSettings:
    """Attribute access to the ``SCIM`` settings dict with defaults and imports resolved."""

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        self.defaults = defaults if defaults is not None else DEFAULTS
        #: Settings read since the last reload, kept as attributes of the instance: a request
        #: reads some of them many times, and an attribute is found without ``__getattr__``.
        self._cached_attrs: set[str] = set()

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
        user = self.user_settings
        value: Any
        if name == "RESOURCE_TYPES":
            value = self._resource_types(user.get(name, {}))
        else:
            value = user.get(name, self.defaults[name])
        if name in IMPORT_STRINGS:
            value = [_import(item, name) for item in value]
        self._cached_attrs.add(name)
        setattr(self, name, value)
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
        for name in self._cached_attrs:
            delattr(self, name)
        self._cached_attrs.clear()


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
