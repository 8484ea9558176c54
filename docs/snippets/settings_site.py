# settings.py: the site's own adapter, permission and throttle (from myapp/scim.py).
SCIM = {
    "RESOURCE_TYPES": {
        "User": {"ADAPTER": "myapp.scim.SiteUserAdapter"},
    },
    "PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "myapp.scim.ReadOnlyAuditTokens",
    ],
    "THROTTLE_CLASSES": ["myapp.scim.PerTokenThrottle"],
}
