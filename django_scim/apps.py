from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DjangoScimConfig(AppConfig):
    name = "django_scim"
    verbose_name = _("SCIM provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(count_rows, sender=self, dispatch_uid="django_scim.count_rows")


def count_rows(using: str, **kwargs: Any) -> None:
    """``post_migrate``: count the rows of the served models' tables where that is not in place
    yet (a model configured after migration ``0007``, a test database's ``flush``)."""
    from .adapters.registry import served_models
    from .orm import rowcount

    rowcount.install(using, served_models())
