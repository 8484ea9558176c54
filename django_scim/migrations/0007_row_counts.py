"""Exact ``totalResults`` of unfiltered pages without ``COUNT(*)`` (issue 7): PostgreSQL only.

On PostgreSQL, creates the table ``django_scim_rowcount`` (not a model: see
:data:`django_scim.orm.rowcount.TABLE`) and the triggers that keep the row counts of the served
models' tables in it, with each table's base count (:mod:`django_scim.orm.rowcount`). Like
migrations 0003 and 0006 it finds those tables through the configured adapters and adds triggers
to the site's tables without altering them. ``post_migrate``
installs the same for a model configured later. Migrating back drops the trigger function and,
with it, every counting trigger, then the table.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from django_scim.orm import rowcount


def install(apps: Any, schema_editor: Any) -> None:
    from django_scim.adapters.registry import served_models

    alias = schema_editor.connection.alias
    if rowcount.kept_on(alias):
        rowcount.create_table(alias)
        rowcount.install(alias, served_models())


def uninstall(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    if rowcount.kept_on(alias):
        rowcount.uninstall(alias)


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0006_trigram_indexes"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
