from __future__ import annotations

from django.db import migrations, models


def _tenant_field() -> models.CharField:
    return models.CharField(
        blank=True, db_index=True, editable=False, max_length=255, null=True, verbose_name="tenant"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0003_lookup_indexes"),
    ]

    operations = [
        migrations.AddField(model_name="scimuser", name="tenant_id", field=_tenant_field()),
        migrations.AddField(model_name="scimgroup", name="tenant_id", field=_tenant_field()),
        migrations.AddField(
            model_name="scimtoken",
            name="tenant_id",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text='Primary key of the SCIM["TENANT_MODEL"] row this token provisions.',
                max_length=255,
                null=True,
                verbose_name="tenant",
            ),
        ),
    ]
