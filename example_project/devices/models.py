"""The site's device inventory, and the SCIM state beside it (a companion model)."""

from __future__ import annotations

from django.db import models

from django_scim.models import ScimCompanion


class Device(models.Model):
    """A device the site tracks; nothing in it knows about SCIM."""

    name = models.CharField(max_length=200)
    serial_number = models.CharField(max_length=100, unique=True)
    manufacturer = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class DeviceScim(ScimCompanion):
    """SCIM id, externalId, version and the attributes without a model field, per device."""

    resource = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="scim")
