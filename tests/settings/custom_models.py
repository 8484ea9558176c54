"""Variant: a custom AUTH_USER_MODEL (keyed by e-mail) and a Team model as SCIM groups."""

from __future__ import annotations

from .default import *  # noqa: F403

AUTH_USER_MODEL = "testapp.EmailUser"

SCIM = {
    "RESOURCE_TYPES": {
        "User": {
            "ADAPTER": "django_scim.adapters.users.UserAdapter",
            "ATTRIBUTE_MAP": {
                "displayName": "display_name",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "department__name",
            },
        },
        "Group": {
            "ADAPTER": "django_scim.adapters.groups.GroupAdapter",
            "MODEL": "testapp.Team",
            "COMPANION_MODEL": "testapp.TeamScim",
            "MEMBERS_RELATION": "members",
            "DISPLAY_FIELD": "title",
            "ATTRIBUTE_MAP": {"displayName": "title"},
        },
    }
}
