"""Fewer indexes on the provisioning log, which every SCIM write adds a row to (issue 7).

Drops the single-column indexes on ``resource_type``, ``resource_id``, ``status`` and ``tenant``
with their ``LIKE`` twins (``varchar_pattern_ops``, made by ``db_index`` on PostgreSQL), and adds
``resource_id`` alone, ``status`` for failures only and ``tenant`` where one is set: a row
written for a successful write on a single-tenant site now goes into four indexes (the key,
``created``, the token's and ``resource_id``) instead of ten.
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0007_row_counts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="provisioninglog",
            name="resource_id",
            field=models.CharField(blank=True, max_length=255, verbose_name="resource id"),
        ),
        migrations.AlterField(
            model_name="provisioninglog",
            name="resource_type",
            field=models.CharField(blank=True, max_length=100, verbose_name="resource type"),
        ),
        migrations.AlterField(
            model_name="provisioninglog",
            name="status",
            field=models.PositiveSmallIntegerField(verbose_name="status"),
        ),
        migrations.AlterField(
            model_name="provisioninglog",
            name="tenant",
            field=models.CharField(blank=True, max_length=255, null=True, verbose_name="tenant"),
        ),
        migrations.AddIndex(
            model_name="provisioninglog",
            index=models.Index(fields=["resource_id"], name="scim_log_resource_id"),
        ),
        migrations.AddIndex(
            model_name="provisioninglog",
            index=models.Index(
                fields=["status"], name="scim_log_failed", condition=models.Q(status__gte=400)
            ),
        ),
        migrations.AddIndex(
            model_name="provisioninglog",
            index=models.Index(
                fields=["tenant"], name="scim_log_tenant", condition=models.Q(tenant__isnull=False)
            ),
        ),
    ]
