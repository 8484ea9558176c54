"""Users endpoint: RFC 7644 section 3 (create, read, replace, delete) on contrib.auth."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.contrib.auth.models import User

from django_scim.models import ScimUser
from tests.conftest import ScimClient, create_user, db_state
from tests.rfc_examples import rfc_enterprise_user

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"

pytestmark = pytest.mark.django_db

#: RFC 7643 sections 8.2 and 8.3: the full User with the enterprise extension.
FULL_USER: dict[str, Any] = rfc_enterprise_user()


def _without_server_attributes(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    # Server-set or readOnly in RFC 7643 (id, meta, groups, manager.displayName) and writeOnly
    # (password): ignored on input, so not part of the round trip.
    for key in ("id", "meta", "groups", "password"):
        doc.pop(key, None)
    doc.get(ENTERPRISE, {}).get("manager", {}).pop("displayName", None)
    doc["schemas"] = sorted(doc["schemas"])
    return doc


def test_full_rfc_user_round_trips_losslessly(scim: ScimClient) -> None:
    """RFC 7643 sections 8.2/8.3: every attribute POSTed comes back equal (id/meta aside)."""
    created = scim.scim("POST", "/Users", FULL_USER)
    assert created.status_code == 201, created.content
    fetched = scim.get_scim(f"/Users/{created.json()['id']}").json()
    expected = _without_server_attributes(FULL_USER)
    assert _without_server_attributes(fetched) == expected
    assert _without_server_attributes(created.json()) == expected


def test_mapped_attributes_land_in_the_user_model(scim: ScimClient) -> None:
    """Default map: userName, name.givenName/familyName, primary email, active (issue mapping)."""
    created = scim.scim("POST", "/Users", FULL_USER).json()
    user = User.objects.get(username="bjensen@example.com")
    assert (user.first_name, user.last_name, user.email, user.is_active) == (
        "Barbara",
        "Jensen",
        "bjensen@example.com",
        True,
    )
    companion = ScimUser.objects.get(resource=user)
    assert str(companion.id) == created["id"]
    assert companion.external_id == "701984"
    # Mapped values are not duplicated into the JSONField; the rest is kept there.
    assert "userName" not in companion.attributes
    assert companion.attributes["nickName"] == "Babs"
    assert companion.attributes[ENTERPRISE]["costCenter"] == "4130"


def test_custom_extension_round_trips(scim: ScimClient) -> None:
    """Undeclared custom extensions are stored as free JSON (setting ALLOW_UNDECLARED_EXTENSIONS)."""
    body = {
        "schemas": [USER, CUSTOM],
        "userName": "custom",
        CUSTOM: {"badge": "B-17", "clearance": {"level": 3, "areas": ["lab", "vault"]}},
    }
    created = scim.scim("POST", "/Users", body)
    assert created.status_code == 201, created.content
    fetched = scim.get_scim(f"/Users/{created.json()['id']}").json()
    assert fetched[CUSTOM] == body[CUSTOM]
    assert CUSTOM in fetched["schemas"]


@pytest.mark.scim_settings({"ALLOW_UNDECLARED_EXTENSIONS": False})
def test_undeclared_extension_refused_when_the_setting_is_off(scim: ScimClient) -> None:
    before = db_state()
    response = scim.scim("POST", "/Users", {"schemas": [USER, CUSTOM], "userName": "x", CUSTOM: {"a": 1}})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


def test_create_answers_201_with_location_and_etag(scim: ScimClient) -> None:
    """RFC 7644 section 3.3: 201, Location = meta.location (absolute), ETag = meta.version."""
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "loc"})
    assert response.status_code == 201
    body = response.json()
    assert response["Content-Type"] == "application/scim+json"
    assert response["Location"] == body["meta"]["location"]
    assert body["meta"]["location"] == f"http://testserver/scim/v2/Users/{body['id']}"
    assert response["ETag"] == body["meta"]["version"]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"].endswith("Z")


def test_password_is_hashed_and_never_returned(scim: ScimClient) -> None:
    """RFC 7643 section 4.1.1: password is writeOnly / returned never; stored with Django's hasher."""
    created = create_user(scim, password="s3cret-pass")
    assert "password" not in created
    user = User.objects.get(username="bjensen")
    assert user.check_password("s3cret-pass")
    assert "s3cret-pass" not in str(ScimUser.objects.get(resource=user).attributes)
    fetched = scim.get_scim(f"/Users/{created['id']}?attributes=password").json()
    assert "password" not in fetched


def test_read_only_attributes_are_ignored_on_input(scim: ScimClient) -> None:
    """RFC 7643 section 7 / RFC 7644 section 3.3: id, meta and groups in a request are ignored."""
    body = {
        "schemas": [USER],
        "id": "client-chosen",
        "userName": "ro",
        "meta": {"version": 'W/"99"'},
        "groups": [{"value": "nope"}],
    }
    created = scim.scim("POST", "/Users", body).json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["version"] == 'W/"1"'
    assert "groups" not in created


def test_attribute_names_are_case_insensitive(scim: ScimClient) -> None:
    """RFC 7643 section 2.1: attribute names are case-insensitive on input."""
    created = scim.scim(
        "POST",
        "/Users",
        {"SCHEMAS": [USER], "USERNAME": "Case", "NAME": {"GIVENNAME": "C"}, "Active": "false"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["userName"] == "Case"
    assert body["name"] == {"givenName": "C"}
    assert body["active"] is False


def test_string_booleans_from_entra_are_accepted(scim: ScimClient) -> None:
    """Microsoft Entra ID sends "active": "True" (shared/README, SCIMReferenceCode#21)."""
    created = create_user(scim, active="False")
    assert created["active"] is False
    assert User.objects.get(username="bjensen").is_active is False


def test_user_name_unique_case_insensitively(scim: ScimClient) -> None:
    """RFC 7643 section 4.1.1 (userName uniqueness server, caseExact false) -> 409 uniqueness."""
    create_user(scim, userName="Bjensen")
    before = db_state()
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "BJENSEN"})
    assert response.status_code == 409
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "scimType": "uniqueness",
        "detail": response.json()["detail"],
    }
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [USER]}, "invalidValue"),  # userName required
        ({"schemas": ["urn:example:Other"], "userName": "x"}, None),  # core schema missing
        ({"userName": "x"}, None),  # schemas missing
        ({"schemas": [USER], "userName": 42}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "active": "maybe"}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "emails": "x@example.com"}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "name": "Barbara"}, "invalidValue"),
        (
            {"schemas": [USER], "userName": "x", "x509Certificates": [{"value": "not base64!"}]},
            "invalidValue",
        ),
        (
            {
                "schemas": [USER],
                "userName": "x",
                "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            },
            "invalidValue",
        ),
        ({"schemas": [USER], "userName": "x", ENTERPRISE: {"employeeNumber": "1"}}, None),  # not in schemas
        ({"schemas": [USER], "userName": "x" * 151}, "invalidValue"),  # longer than username allows
    ],
)
def test_invalid_bodies_are_400_and_change_nothing(
    scim: ScimClient, body: dict[str, Any], scim_type: str | None
) -> None:
    """RFC 7643 sections 2 and 7 (types, required, schemas) -> RFC 7644 section 3.12 errors."""
    before = db_state()
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["status"] == "400"
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    if scim_type is not None:
        assert error["scimType"] == scim_type
    assert db_state() == before


def test_put_replaces_and_clears_omitted_attributes(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.1: PUT replaces; omitted readWrite attributes are cleared, readOnly kept."""
    created = scim.scim("POST", "/Users", FULL_USER).json()
    replacement = {"schemas": [USER], "userName": "bjensen@example.com", "name": {"givenName": "Barb"}}
    response = scim.scim("PUT", f"/Users/{created['id']}", replacement)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == created["id"]
    assert body["meta"]["created"] == created["meta"]["created"]
    assert body["meta"]["version"] != created["meta"]["version"]
    assert body["name"] == {"givenName": "Barb"}
    for cleared in ("nickName", "emails", "externalId", ENTERPRISE, "addresses", "title"):
        assert cleared not in body
    user = User.objects.get(username="bjensen@example.com")
    assert (user.first_name, user.last_name, user.email) == ("Barb", "", "")
    # A PUT without password keeps the password (identity providers omit it).
    assert user.check_password("t1meMa$heen")


def test_put_cannot_change_user_name_to_a_taken_one(scim: ScimClient) -> None:
    create_user(scim, userName="taken")
    other = create_user(scim, userName="other")
    before = db_state()
    response = scim.scim("PUT", f"/Users/{other['id']}", {"schemas": [USER], "userName": "TAKEN"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert db_state() == before


def test_delete_then_404(scim: ScimClient) -> None:
    """RFC 7644 section 3.6: 204, then 404 on every later request for the resource."""
    created = create_user(scim)
    assert scim.scim("DELETE", f"/Users/{created['id']}").status_code == 204
    assert not User.objects.filter(username="bjensen").exists()
    for method in ("GET", "PUT", "DELETE"):
        response = scim.scim(method, f"/Users/{created['id']}", {"schemas": [USER], "userName": "b"})
        assert response.status_code == 404
        assert response.json()["status"] == "404"


def test_users_made_outside_scim_get_a_stable_id(scim: ScimClient) -> None:
    """Existing site users are served too: their companion row (and id) appears on first read."""
    User.objects.create_user("legacy", email="legacy@example.com", first_name="Leg")
    listing = scim.get_scim("/Users").json()
    assert listing["totalResults"] == 1
    resource = listing["Resources"][0]
    assert resource["emails"] == [{"value": "legacy@example.com", "type": "work", "primary": True}]
    again = scim.get_scim(f"/Users/{resource['id']}").json()
    assert again["id"] == resource["id"]
    assert again["name"] == {"givenName": "Leg"}


def test_list_response_shape(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2: ListResponse with integer totalResults/itemsPerPage/startIndex."""
    for i in range(3):
        create_user(scim, userName=f"user{i}")
    body = scim.get_scim("/Users?startIndex=2&count=1").json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (3, 1, 2)
    assert [r["userName"] for r in body["Resources"]] == ["user1"]


def test_site_edits_win_over_stored_values(scim: ScimClient) -> None:
    """A change made by the site (admin, code) to a mapped field shows in the SCIM document."""
    created = create_user(scim, emails=[{"value": "old@example.com", "type": "work", "primary": True}])
    User.objects.filter(username="bjensen").update(email="new@example.com", first_name="New")
    body = scim.get_scim(f"/Users/{created['id']}").json()
    assert body["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]
    assert body["name"]["givenName"] == "New"
