"""The read-only JSON API over the provisioning log, for staff and monitoring tools.

Mounted by the site, apart from the SCIM URLs (``django_scim.log.urls``). Its DRF policies are
set here, never taken from the site's ``REST_FRAMEWORK``: authentication and permissions from
``SCIM["LOG_API_AUTHENTICATION_CLASSES"]`` / ``["LOG_API_PERMISSION_CLASSES"]`` (session or basic
auth, staff only, by default), JSON rendering, cursor pagination (newest first, stable while
rows are added) and :class:`~django_scim.log.filters.ProvisioningLogFilterSet`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler

from ..conf import scim_settings
from ..models import ProvisioningLog
from .filters import ProvisioningLogFilterSet


class ProvisioningLogSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One log entry; ``request_body`` is the redacted JSON text as stored."""

    class Meta:
        model = ProvisioningLog
        fields = [
            "id",
            "created",
            "token",
            "token_name",
            "tenant",
            "method",
            "path",
            "resource_type",
            "resource_id",
            "status",
            "scim_type",
            "detail",
            "duration_ms",
            "user_agent",
            "request_body",
        ]
        read_only_fields = fields


class LogPagination(CursorPagination):
    """Newest first; ``?page_size=`` up to 1000. Cursors do not skip or repeat rows under inserts."""

    ordering = ("-created", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class _LogView:
    serializer_class = ProvisioningLogSerializer
    renderer_classes = [JSONRenderer]

    def get_authenticators(self) -> list[Any]:
        return [cls() for cls in scim_settings.LOG_API_AUTHENTICATION_CLASSES]

    def get_permissions(self) -> list[Any]:
        return [cls() for cls in scim_settings.LOG_API_PERMISSION_CLASSES]

    def get_throttles(self) -> list[Any]:
        return []

    def get_exception_handler(self) -> Any:
        return exception_handler


class ProvisioningLogList(_LogView, generics.ListAPIView):  # type: ignore[misc]
    """``GET``: log entries, filtered (see :mod:`django_scim.log.filters`) and paginated."""

    pagination_class = LogPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProvisioningLogFilterSet

    def get_queryset(self) -> QuerySet[ProvisioningLog]:
        return ProvisioningLog.objects.all()


class ProvisioningLogDetail(_LogView, generics.RetrieveAPIView):  # type: ignore[misc]
    """``GET <id>``: one log entry."""

    def get_queryset(self) -> QuerySet[ProvisioningLog]:
        return ProvisioningLog.objects.all()
