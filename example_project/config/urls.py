"""URLs of the example site: the admin, the SCIM service and the provisioning log API."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("scim/v2/", include("django_scim.urls")),
    # The provisioning log API for staff and monitoring, apart from the SCIM URLs.
    path("scim-log/", include("django_scim.log.urls")),
]
