"""A site's own resource type (RFC 7643 section 6): the example project's Device, end to end.

The Device app (``example_project/devices``) is a model, a companion model, a schema JSON file
and an adapter, and no view code: the generic views serve ``/Devices`` by endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest

from example_project.devices.models import Device, DeviceScim
from tests.conftest import ScimClient, create_user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.scim_settings(
        {"RESOURCE_TYPES": {"Device": {"ADAPTER": "example_project.devices.scim.DeviceAdapter"}}}
    ),
]

DEVICE = "urn:example:params:scim:schemas:core:2.0:Device"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def device(serial: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"schemas": [DEVICE], "displayName": name, "serialNumber": serial, **fields}


def create(scim: ScimClient, serial: str, name: str, **fields: Any) -> dict[str, Any]:
    response = scim.scim("POST", "/Devices", device(serial, name, **fields))
    assert response.status_code == 201, response.content
    return response.json()


def test_resource_type_and_schema_are_published(scim: ScimClient) -> None:
    """RFC 7643 section 6 / RFC 7644 section 4: /ResourceTypes and /Schemas describe Device."""
    types = {r["name"]: r for r in scim.get_scim("/ResourceTypes").json()["Resources"]}
    assert set(types) == {"User", "Group", "Device"}
    assert types["Device"]["endpoint"] == "/Devices"
    assert types["Device"]["schema"] == DEVICE
    assert "schemaExtensions" not in types["Device"]
    assert scim.get_scim("/ResourceTypes/Device").json()["schema"] == DEVICE
    schema = scim.get_scim(f"/Schemas/{DEVICE}").json()
    names = [a["name"] for a in schema["attributes"]]
    assert names[:3] == ["displayName", "serialNumber", "manufacturer"]
    by_name = {a["name"]: a for a in schema["attributes"]}
    assert by_name["deviceType"]["canonicalValues"] == ["laptop", "phone", "tablet", "token"]
    assert by_name["serialNumber"]["uniqueness"] == "server"
    assert DEVICE in {s["id"] for s in scim.get_scim("/Schemas").json()["Resources"]}


def test_crud_with_etags(scim: ScimClient) -> None:
    """RFC 7644 sections 3.3, 3.4.1, 3.5.1, 3.6 and 3.14 on the site's own model."""
    owner = create_user(scim, userName="alice")
    created = create(
        scim,
        "SN-1",
        "Alice's laptop",
        manufacturer="Lenovo",
        deviceType="laptop",
        tags=["loaner"],
        owner={"value": owner["id"], "display": "alice"},
        active="True",
    )
    assert created["meta"]["resourceType"] == "Device"
    assert created["meta"]["location"].endswith(f"/scim/v2/Devices/{created['id']}")
    row = Device.objects.get()
    assert (row.name, row.serial_number, row.manufacturer, row.is_active) == (
        "Alice's laptop",
        "SN-1",
        "Lenovo",
        True,
    )
    assert DeviceScim.objects.get().attributes["owner"]["value"] == owner["id"]

    path = f"/Devices/{created['id']}"
    fetched = scim.get_scim(path)
    assert fetched.status_code == 200 and fetched["ETag"] == 'W/"1"'
    assert scim.get_scim(path, headers={"If-None-Match": 'W/"1"'}).status_code == 304

    stale = scim.scim("PUT", path, device("SN-1", "x"), headers={"If-Match": 'W/"9"'})
    assert stale.status_code == 412
    replaced = scim.scim("PUT", path, device("SN-1", "Renamed"), headers={"If-Match": 'W/"1"'})
    assert replaced.status_code == 200, replaced.content
    assert replaced["ETag"] == 'W/"2"'
    assert "tags" not in replaced.json()  # PUT replaces: omitted attributes are cleared

    # serialNumber is immutable in the Device schema (RFC 7643 section 7).
    changed = scim.scim("PUT", path, device("SN-2", "Renamed"))
    assert changed.status_code == 400 and changed.json()["scimType"] == "mutability"

    assert scim.scim("DELETE", path).status_code == 204
    assert scim.get_scim(path).status_code == 404
    assert not Device.objects.exists() and not DeviceScim.objects.exists()


def test_schema_rules_apply(scim: ScimClient) -> None:
    """Required attributes, types and uniqueness come from the Device schema."""
    missing = scim.scim("POST", "/Devices", {"schemas": [DEVICE], "displayName": "No serial"})
    assert missing.status_code == 400 and missing.json()["scimType"] == "invalidValue"
    wrong_type = scim.scim("POST", "/Devices", device("SN-1", "x", tags="not-a-list-of-strings", active=3))
    assert wrong_type.status_code == 400
    create(scim, "SN-1", "First")
    duplicate = scim.scim("POST", "/Devices", device("SN-1", "Second"))
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    wrong_core = scim.scim("POST", "/Devices", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})
    assert wrong_core.status_code == 400


def test_filter_sort_and_paging(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2: filters on columns and on JSON-stored attributes, sortBy, paging."""
    create(scim, "SN-3", "Charlie phone", deviceType="phone", tags=["blue"], manufacturer="Apple")
    create(scim, "SN-1", "Alpha laptop", deviceType="laptop", tags=["red", "blue"], manufacturer="Lenovo")
    create(scim, "SN-2", "Bravo phone", deviceType="phone", manufacturer="Apple", active=False)

    def names(query: str) -> list[str]:
        response = scim.get_scim(f"/Devices?{query}")
        assert response.status_code == 200, response.content
        return [r["displayName"] for r in response.json()["Resources"]]

    assert names('filter=manufacturer eq "apple"&sortBy=displayName') == ["Bravo phone", "Charlie phone"]
    assert names('filter=deviceType eq "laptop"') == ["Alpha laptop"]
    assert names('filter=tags eq "blue"&sortBy=serialNumber') == ["Alpha laptop", "Charlie phone"]
    assert names("filter=active eq false") == ["Bravo phone"]
    assert names(f'filter={DEVICE}:serialNumber sw "SN-"&sortBy=serialNumber&sortOrder=descending') == [
        "Charlie phone",
        "Bravo phone",
        "Alpha laptop",
    ]
    assert names("sortBy=deviceType&sortOrder=ascending")[0] == "Alpha laptop"
    page = scim.get_scim("/Devices?sortBy=displayName&startIndex=2&count=1").json()
    assert page["totalResults"] == 3 and page["itemsPerPage"] == 1 and page["startIndex"] == 2
    assert [r["displayName"] for r in page["Resources"]] == ["Bravo phone"]
    bad = scim.get_scim('/Devices?filter=nosuch eq "x"')
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter"


def test_patch(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2 on a custom resource type: mapped and JSON-stored attributes."""
    created = create(scim, "SN-1", "Laptop", tags=["a"])
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Laptop 2"},
            {"op": "add", "path": "tags", "value": ["b"]},
            {"op": "add", "value": {"deviceType": "laptop", "owner": {"display": "bob"}}},
        ],
    }
    response = scim.scim("PATCH", f"/Devices/{created['id']}", body, headers={"If-Match": 'W/"1"'})
    assert response.status_code == 200, response.content
    patched = response.json()
    assert (patched["displayName"], patched["tags"], patched["deviceType"]) == (
        "Laptop 2",
        ["a", "b"],
        "laptop",
    )
    assert patched["owner"] == {"display": "bob"}
    assert patched["meta"]["version"] == 'W/"2"'
    assert Device.objects.get().name == "Laptop 2"
    immutable = scim.scim(
        "PATCH",
        f"/Devices/{created['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "serialNumber", "value": "X"}]},
    )
    assert immutable.status_code == 400 and immutable.json()["scimType"] == "mutability"


def test_bulk_with_devices_and_users(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.2: a device whose owner is a user created later in the same request."""
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {
                "method": "POST",
                "path": "/Devices",
                "bulkId": "d1",
                "data": device("SN-9", "Phone", owner={"value": "bulkId:u1", "display": "carol"}),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "carol"},
            },
        ],
    }
    response = scim.scim("POST", "/Bulk", body)
    assert response.status_code == 200, response.content
    device_result, user_result = response.json()["Operations"]
    assert (device_result["status"], user_result["status"]) == ("201", "201")
    user_id = user_result["location"].rsplit("/", 1)[1]
    stored = scim.get_scim(device_result["location"].split("/scim/v2")[1]).json()
    assert stored["owner"]["value"] == user_id
    owned = scim.get_scim(f'/Devices?filter=owner.value eq "{user_id}"').json()
    assert owned["totalResults"] == 1
