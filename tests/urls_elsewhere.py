"""A URLconf that mounts the SCIM endpoints under another path (location tests)."""

from django.urls import include, path

urlpatterns = [path("provisioning/scim/", include("django_scim.urls"))]
