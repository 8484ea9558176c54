"""The Device resource type: its schema (``schema.json``) and its adapter."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django_scim.adapters.base import ResourceAdapter
from django_scim.orm.mapping import AttributeMapping, Field

#: The schema, in the RFC 7643 section 7 form /Schemas serves; any path to a JSON file works.
SCHEMA_FILE = Path(__file__).resolve().with_name("schema.json")
DEVICE_SCHEMA = "urn:example:params:scim:schemas:core:2.0:Device"


class DeviceAdapter(ResourceAdapter):
    """Serves :class:`~.models.Device` at ``/Devices``.

    Mapped attributes live in the model's columns (filterable and sortable in SQL, checked by the
    model's own validation); the others (``deviceType``, ``owner``, ``tags``...) in the
    companion's JSONField, filterable as well.
    """

    name = "Device"
    endpoint = "Devices"
    description = "A device assigned to a user"
    schema = str(SCHEMA_FILE)
    model = "devices.Device"
    companion_model = "devices.DeviceScim"
    attribute_map: Mapping[str, AttributeMapping | str] = {
        "displayName": Field("name"),
        "serialNumber": Field("serial_number"),
        "manufacturer": Field("manufacturer"),
        "active": Field("is_active"),
    }
    display_field = "name"
