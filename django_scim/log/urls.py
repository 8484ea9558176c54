"""URLs of the read-only log API; mount them apart from the SCIM URLs, e.g.
``path("scim-log/", include("django_scim.log.urls"))``.
"""

from __future__ import annotations

from django.urls import path

from . import api

app_name = "scim_log"

urlpatterns = [
    path("", api.ProvisioningLogList.as_view(), name="list"),
    path("<int:pk>", api.ProvisioningLogDetail.as_view(), name="detail"),
]
