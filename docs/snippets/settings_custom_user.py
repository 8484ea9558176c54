# settings.py: a custom user model keyed by e-mail, and Teams as groups.
AUTH_USER_MODEL = "teams.EmailUser"

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
            "MODEL": "teams.Team",
            "COMPANION_MODEL": "teams.TeamScim",
            "MEMBERS_RELATION": "members",
            "DISPLAY_FIELD": "title",
            "ATTRIBUTE_MAP": {"displayName": "title"},
        },
    }
}
