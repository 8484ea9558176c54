"""The provisioning log's indexes (migration 0008): few, since every SCIM write adds a row.

A row goes into every index of its table, so each index costs every write. The log keeps the key,
``created`` (newest first, time ranges, pruning), the token's foreign key, ``resource_id``, and two
partial indexes: failures (``status >= 400``) and rows with a tenant.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_scim.log.filters import ProvisioningLogFilterSet
from django_scim.models import ProvisioningLog
from tests.conftest import query_plan

pytestmark = pytest.mark.django_db

TABLE = ProvisioningLog._meta.db_table


def _indexes() -> dict[str, list[str]]:
    """Index name -> its columns, for every index of the log table (the key's included)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        name: info["columns"] for name, info in constraints.items() if info["index"] or info["primary_key"]
    }


def test_the_log_has_six_indexes_and_none_on_resource_type() -> None:
    indexes = _indexes()
    assert sorted(tuple(columns) for columns in indexes.values()) == [
        ("created",),
        ("id",),
        ("resource_id",),
        ("status",),
        ("tenant",),
        ("token_id",),
    ]
    # No LIKE twin (varchar_pattern_ops) of a character column, which db_index makes on PostgreSQL.
    assert not [name for name in indexes if name.endswith("_like")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_indexes is PostgreSQL's catalogue")
def test_status_and_tenant_are_indexed_only_where_they_select() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        definitions = dict(cursor.fetchall())
    assert definitions["scim_log_failed"].endswith("WHERE (status >= 400)")
    assert definitions["scim_log_tenant"].endswith("WHERE (tenant IS NOT NULL)")


#: SQLite uses a partial index only when the query has its condition's very terms; PostgreSQL
#: also proves implied ones (``status = 409`` implies ``status >= 400``).
_IMPLIED = pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite proves no implied condition")


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"failed": "true"}, "scim_log_failed"),
        pytest.param({"status": "409"}, "scim_log_failed", marks=_IMPLIED),
        pytest.param({"status__gte": "500"}, "scim_log_failed", marks=_IMPLIED),
        ({"tenant": "acme"}, "scim_log_tenant"),
        ({"resource_id": "r-7"}, "scim_log_resource_id"),
    ],
)
def test_the_log_apis_selective_filters_use_an_index(query: dict[str, str], index: str) -> None:
    """The partial indexes serve the filters whose condition implies theirs (``status = 409``)."""
    now = timezone.now()
    ProvisioningLog.objects.bulk_create(
        ProvisioningLog(
            created=now - timedelta(seconds=i),
            method="PATCH",
            path=f"/scim/v2/Users/r-{i}",
            resource_type="User",
            resource_id=f"r-{i}",
            status=409 if i % 500 == 0 else 200,
            tenant="acme" if i % 500 == 1 else None,
            duration_ms=1.0,
        )
        for i in range(5_000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(TABLE)}")
    filterset = ProvisioningLogFilterSet(query, queryset=ProvisioningLog.objects.order_by())
    assert filterset.is_valid(), filterset.errors
    assert index in query_plan(*filterset.qs.query.sql_with_params())
