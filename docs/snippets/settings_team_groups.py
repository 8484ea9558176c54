# settings.py: SCIM Groups served by the site's own Team model, with no code.
SCIM = {
    "RESOURCE_TYPES": {
        "Group": {
            "ADAPTER": "django_scim.adapters.groups.GroupAdapter",
            "MODEL": "teams.Team",
            "COMPANION_MODEL": "teams.TeamScim",
            "MEMBERS_RELATION": "members",
            "DISPLAY_FIELD": "title",
            "ATTRIBUTE_MAP": {"displayName": "title"},
        },
    },
}
