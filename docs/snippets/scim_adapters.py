"""``myapp/scim.py`` of the guides: adapters, a permission and a throttle for a site.

The documentation includes parts of this file (``literalinclude``); ``tests/test_docs.py``
imports it as ``myapp.scim`` and runs each class through the SCIM API, so the examples cannot
drift from the code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import models
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import SimpleRateThrottle

from django_scim.adapters.users import UserAdapter
from django_scim.core.constants import AttributeType
from django_scim.core.errors import Forbidden
from django_scim.core.schema import Attribute, Schema
from django_scim.models import ScimToken
from django_scim.orm.mapping import AttributeMapping, Computed, Field

logger = logging.getLogger("myapp.scim")


# [site-user-adapter]
class SiteUserAdapter(UserAdapter):
    """The default User mapping of ``AUTH_USER_MODEL``, plus two attributes and three hooks."""

    def default_attribute_map(self) -> dict[str, AttributeMapping | str]:
        mapping = super().default_attribute_map()
        # Stored in a model field: readable, writable, filterable and sortable.
        mapping["title"] = Field("last_name")
        # Computed in Python: read-only, returned on every read, not filterable.
        mapping["displayName"] = Computed(lambda user: user.get_full_name() or user.username)
        return mapping

    def new_instance(self, document: Mapping[str, Any]) -> models.Model:
        user = super().new_instance(document)
        # Provisioned users sign in through the identity provider, not with a local password.
        user.set_unusable_password()  # type: ignore[attr-defined]
        return user

    def pre_save(self, obj: models.Model, document: Mapping[str, Any], *, created: bool) -> None:
        if obj.get_username().startswith("admin"):  # type: ignore[attr-defined]
            raise Forbidden("Identity providers may not provision admin accounts.")

    def post_save(self, obj: models.Model, document: Mapping[str, Any], *, created: bool) -> None:
        logger.info("SCIM %s user %s", "created" if created else "updated", obj.pk)


# [/site-user-adapter]


# [audit-permission]
class ReadOnlyAuditTokens(BasePermission):
    """Tokens named ``audit-...`` may read but not write."""

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ScimToken):
            return False
        if token.name.startswith("audit-"):
            return request.method in SAFE_METHODS
        return True


# [/audit-permission]


# [token-throttle]
class PerTokenThrottle(SimpleRateThrottle):
    """At most 50 requests a second per SCIM token (counted in Django's cache)."""

    scope = "scim"
    rate = "50/second"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not isinstance(request.auth, ScimToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


# [/token-throttle]


# [custom-extension]
ACME_USER = Schema(
    id="urn:example:params:scim:schemas:extension:acme:2.0:User",
    name="AcmeUser",
    description="Acme badge data",
    attributes=(
        Attribute("badgeNumber", description="Door badge number.", case_exact=True),
        Attribute("floor", type=AttributeType.INTEGER, description="Office floor."),
    ),
)


class AcmeUserAdapter(UserAdapter):
    """Users with the enterprise extension and Acme's own schema extension."""

    extensions = (*UserAdapter.extensions, (ACME_USER, False))


# [/custom-extension]
