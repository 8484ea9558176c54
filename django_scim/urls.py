"""SCIM URLs; mount them with ``path("scim/v2/", include("django_scim.urls"))``."""

from __future__ import annotations

from django.urls import path, re_path

from .rest import bulk, me, views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.ServiceProviderConfigView.as_view(), name="service-provider-config"),
    path("Schemas", views.SchemaListView.as_view(), name="schemas"),
    path("Schemas/<str:urn>", views.SchemaDetailView.as_view(), name="schema"),
    path("ResourceTypes", views.ResourceTypeListView.as_view(), name="resource-types"),
    path("ResourceTypes/<str:name>", views.ResourceTypeDetailView.as_view(), name="resource-type"),
    # RFC 7644 sections 3.7 and 3.11, before the generic patterns: "Bulk" and "Me" are no endpoint.
    path("Bulk", bulk.BulkView.as_view(), name="bulk"),
    path("Me", me.MeView.as_view(), name="me"),
    # RFC 7644 section 3.4.3, before the generic patterns: ".search" is no resource type or id.
    path(".search", views.SearchView.as_view(), name="search"),
    path("<str:endpoint>/.search", views.SearchView.as_view(), name="resource-search"),
    path("<str:endpoint>", views.ResourceListView.as_view(), name="resources"),
    path("<str:endpoint>/<str:pk>", views.ResourceDetailView.as_view(), name="resource"),
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
