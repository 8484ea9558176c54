"""Exact ``totalResults`` of unfiltered pages without ``COUNT(*)`` (issue 7): PostgreSQL only.

Creates :class:`~django_scim.models.RowCount` everywhere, and on PostgreSQL the triggers that keep
the row counts of the served models' tables in it, with each table's base count
(:mod:`django_scim.orm.rowcount`). Like migrations 0003 and 0006 it finds those tables through the
configured adapters and adds triggers to the site's tables without altering them. ``post_migrate``
installs the same for a model configured later. Migrating back drops the trigger function and,
with it, every counting trigger, then the table.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from django_scim.orm import rowcount


def install(apps: Any, schema_editor: Any) -> None:
    from django_scim.adapters.registry import served_models

    rowcount.install(schema_editor.connection.alias, served_models())


def uninstall(apps: Any, schema_editor: Any) -> None:
    rowcount.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0006_trigram_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RowCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("table_name", models.CharField(max_length=255, verbose_name="table")),
                ("delta", models.BigIntegerField(verbose_name="rows added (negative: removed)")),
                ("base", models.BooleanField(default=False, verbose_name="base count")),
            ],
            options={
                "verbose_name": "row count",
                "verbose_name_plural": "row counts",
                "indexes": [models.Index(fields=["table_name"], name="django_scim_rowcount_table")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("base", True)),
                        fields=("table_name",),
                        name="django_scim_rowcount_one_base",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
