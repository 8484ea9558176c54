from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_scim", "0004_tenancy"),
    ]

    operations = [
        migrations.AddField(
            model_name="scimuser",
            name="deleted",
            field=models.BooleanField(default=False, verbose_name="deleted through SCIM"),
        ),
    ]
