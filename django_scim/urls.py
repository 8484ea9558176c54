"""SCIM URLs; mount them with ``path("scim/v2/", include("django_scim.urls"))``."""

from __future__ import annotations

from django.urls import path, re_path

from .rest import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.ServiceProviderConfigView.as_view(), name="service-provider-config"),
    path("Schemas", views.SchemaListView.as_view(), name="schemas"),
    path("Schemas/<str:urn>", views.SchemaDetailView.as_view(), name="schema"),
    path("ResourceTypes", views.ResourceTypeListView.as_view(), name="resource-types"),
    path("ResourceTypes/<str:name>", views.ResourceTypeDetailView.as_view(), name="resource-type"),
    path("<str:endpoint>", views.ResourceListView.as_view(), name="resources"),
    path("<str:endpoint>/<str:pk>", views.ResourceDetailView.as_view(), name="resource"),
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
