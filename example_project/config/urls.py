"""URLs of the example site: the admin and the SCIM service."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("scim/v2/", include("django_scim.urls")),
]
