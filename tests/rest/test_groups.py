"""Groups endpoint: RFC 7643 section 4.2 on contrib.auth groups, membership and versions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from tests.conftest import ScimClient, create_user, db_state

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

pytestmark = pytest.mark.django_db


def _group(scim: ScimClient, name: str, members: list[str] = (), **extra: object) -> dict:  # type: ignore[assignment]
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members], **extra}
    response = scim.scim("POST", "/Groups", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_group_with_members(scim: ScimClient) -> None:
    """RFC 7643 section 4.2: displayName -> Group.name, members -> the user_set relation."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Admins", [alice["id"]], externalId="ext-1")
    assert Group.objects.get(name="Admins").user_set.get().username == "alice"
    assert group["externalId"] == "ext-1"
    assert group["members"] == [
        {
            "value": alice["id"],
            "$ref": f"http://testserver/scim/v2/Users/{alice['id']}",
            "display": "alice",
            "type": "User",
        }
    ]


def test_entra_extra_schema_uri_is_tolerated(scim: ScimClient) -> None:
    """Microsoft Entra ID adds its ADSCIM schema URI to group creates (shared/README item 9)."""
    response = scim.scim("POST", "/Groups", {"schemas": [GROUP, ADSCIM], "displayName": "Entra"})
    assert response.status_code == 201, response.content
    assert response.json()["schemas"] == [GROUP]


def test_user_groups_attribute_lists_memberships(scim: ScimClient) -> None:
    """RFC 7643 section 4.1.2: User.groups is readOnly and reflects group membership."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Staff", [alice["id"]])
    fetched = scim.get_scim(f"/Users/{alice['id']}").json()
    assert fetched["groups"] == [
        {"value": group["id"], "$ref": group["meta"]["location"], "display": "Staff", "type": "direct"}
    ]


def test_unknown_member_is_400_and_nothing_is_written(scim: ScimClient) -> None:
    """An unknown member id -> 400 invalidValue; no group is created (all-or-nothing)."""
    alice = create_user(scim, userName="alice")
    before = db_state()
    for bad in ("not-a-uuid", "26118915-6090-4610-87e4-49d8ca9f808d"):
        response = scim.scim(
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "X", "members": [{"value": alice["id"]}, {"value": bad}]},
        )
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


def test_display_name_unique(scim: ScimClient) -> None:
    """Entra requires unique group displayName; auth.Group.name is unique -> 409 uniqueness."""
    _group(scim, "Dup")
    before = db_state()
    response = scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Dup"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert db_state() == before


def test_put_replaces_members_and_bumps_versions(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.1 + 3.14: PUT sets members; group and affected users get new versions."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"]])
    alice_version = scim.get_scim(f"/Users/{alice['id']}").json()["meta"]["version"]
    bob_version = scim.get_scim(f"/Users/{bob['id']}").json()["meta"]["version"]
    response = scim.scim(
        "PUT",
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Team", "members": [{"value": bob["id"]}]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [bob["id"]]
    assert response.json()["meta"]["version"] != group["meta"]["version"]
    assert scim.get_scim(f"/Users/{alice['id']}").json()["meta"]["version"] != alice_version
    assert scim.get_scim(f"/Users/{bob['id']}").json()["meta"]["version"] != bob_version
    assert "groups" not in scim.get_scim(f"/Users/{alice['id']}").json()


def test_put_without_members_clears_them(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.1: an omitted readWrite attribute is cleared by PUT."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    response = scim.scim("PUT", f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Team"})
    assert response.status_code == 200
    assert "members" not in response.json()
    assert not Group.objects.get(name="Team").user_set.exists()


def test_deleting_a_user_changes_its_groups_version(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    assert scim.scim("DELETE", f"/Users/{alice['id']}").status_code == 204
    after = scim.get_scim(f"/Groups/{group['id']}").json()
    assert "members" not in after
    assert after["meta"]["version"] != group["meta"]["version"]


def test_delete_group_keeps_users(scim: ScimClient) -> None:
    """RFC 7644 section 3.6: deleting a group removes the group, not its members."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    assert scim.scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert scim.get_scim(f"/Groups/{group['id']}").status_code == 404
    assert User.objects.filter(username="alice").exists()
    assert "groups" not in scim.get_scim(f"/Users/{alice['id']}").json()


def test_excluded_members(scim: ScimClient) -> None:
    """Entra fetches groups with excludedAttributes=members (shared/README item 3)."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    body = scim.get_scim(f"/Groups/{group['id']}?excludedAttributes=members").json()
    assert "members" not in body
    assert body["displayName"] == "Team"
    listing = scim.get_scim('/Groups?excludedAttributes=members&filter=displayName eq "team"').json()
    assert listing["totalResults"] == 1
    assert "members" not in listing["Resources"][0]


def test_group_list_queries_do_not_grow_with_the_number_of_groups(
    scim: ScimClient, django_assert_max_num_queries: object
) -> None:
    """Listing renders members of every group on the page in a fixed number of queries."""
    users = [create_user(scim, userName=f"u{i}") for i in range(5)]
    for i in range(20):
        _group(scim, f"g{i}", [u["id"] for u in users])
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        body = scim.get_scim("/Groups?count=20").json()
    assert body["itemsPerPage"] == 20
    assert all(len(g["members"]) == 5 for g in body["Resources"])
