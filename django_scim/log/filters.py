"""Query filters of the log API (django-filter), for monitoring tools.

``?status=409``, ``?status__gte=400`` (or ``?failed=true``), ``?resource_type=User``,
``?resource_id=...``, ``?method=POST``, ``?scim_type=uniqueness``, ``?token=<id>``,
``?tenant=<key>`` / ``?tenant__isnull=true`` and a time range ``?since=...&until=...`` (ISO 8601,
``since`` inclusive, ``until`` exclusive). Invalid values are a 400 naming the parameter.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from ..models import ProvisioningLog


class ProvisioningLogFilterSet(filters.FilterSet):
    """Filters of :class:`~django_scim.log.api.ProvisioningLogList`."""

    failed = filters.BooleanFilter(method="filter_failed", label="Failed (status 400 or above)")
    resource_type = filters.CharFilter(lookup_expr="iexact")
    method = filters.CharFilter(lookup_expr="iexact")
    since = filters.IsoDateTimeFilter(field_name="created", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created", lookup_expr="lt")

    class Meta:
        model = ProvisioningLog
        fields = {
            "status": ["exact", "gte", "lt"],
            "resource_id": ["exact"],
            "scim_type": ["exact"],
            "token": ["exact"],
            "tenant": ["exact", "isnull"],
        }

    def filter_failed(
        self, queryset: QuerySet[ProvisioningLog], name: str, value: bool | None
    ) -> QuerySet[ProvisioningLog]:
        if value is None:
            return queryset
        return queryset.filter(status__gte=400) if value else queryset.filter(status__lt=400)
