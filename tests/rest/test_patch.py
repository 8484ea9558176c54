"""PATCH over HTTP (RFC 7644 section 3.5.2): status codes, versions, errors, atomicity, members."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from django_scim import signals
from django_scim.adapters.base import ResourceAdapter
from django_scim.core.constants import PATCH_OP
from tests.conftest import ScimClient, create_user, db_state

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"

pytestmark = pytest.mark.django_db


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def _group(scim: ScimClient, name: str, members: list[str] = (), **extra: object) -> dict[str, Any]:  # type: ignore[assignment]
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members], **extra}
    response = scim.scim("POST", "/Groups", body)
    assert response.status_code == 201, response.content
    return response.json()


def _member_ids(scim: ScimClient, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim.get_scim(f"/Groups/{group_id}").json().get("members", []))


# --- responses (RFC 7644 section 3.5.2) ----------------------------------------------------


def test_patch_user_returns_200_with_the_resource(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: 200 and "the entire resource within the response body"."""
    user = create_user(scim, userName="bjensen")
    response = scim.scim(
        "PATCH", f"/Users/{user['id']}", ops({"op": "add", "path": "nickName", "value": "Babs"})
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["nickName"] == "Babs"
    assert body["meta"]["version"] != user["meta"]["version"]
    assert response["ETag"] == body["meta"]["version"]
    assert scim.get_scim(f"/Users/{user['id']}").json()["nickName"] == "Babs"


def test_patch_response_honours_attributes(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: the 200 body is "subject to the "attributes" query parameter"."""
    user = create_user(scim, userName="bjensen", nickName="B")
    response = scim.scim(
        "PATCH",
        f"/Users/{user['id']}?attributes=nickName",
        ops({"op": "replace", "path": "nickName", "value": "C"}),
    )
    assert response.status_code == 200
    assert set(response.json()) == {"schemas", "id", "nickName"}
    excluded = scim.scim(
        "PATCH",
        f"/Users/{user['id']}?excludedAttributes=nickName,meta",
        ops({"op": "replace", "path": "title", "value": "T"}),
    )
    assert "nickName" not in excluded.json()
    assert excluded.json()["title"] == "T"


def test_group_patch_answers_204_by_default(scim: ScimClient) -> None:
    """Entra ID: group PATCH should answer 204 (shared/README Entra item 8); RFC 7644 3.5.2 allows it."""
    group = _group(scim, "Team")
    response = scim.scim(
        "PATCH", f"/Groups/{group['id']}", ops({"op": "replace", "path": "displayName", "value": "Crew"})
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response["ETag"] == 'W/"2"'
    assert Group.objects.filter(name="Crew").exists()


def test_group_patch_with_attributes_answers_200(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: "MUST return a 200 OK if the "attributes" parameter is specified"."""
    group = _group(scim, "Team")
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}?attributes=displayName",
        ops({"op": "replace", "path": "displayName", "value": "X"}),
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "X"


@pytest.mark.scim_settings({"PATCH_RESPONSE": "no_content"})
def test_patch_response_setting_no_content_for_every_type(scim: ScimClient) -> None:
    user = create_user(scim, userName="bjensen")
    response = scim.scim(
        "PATCH", f"/Users/{user['id']}", ops({"op": "add", "path": "nickName", "value": "B"})
    )
    assert response.status_code == 204
    assert response["ETag"] == 'W/"2"'


@pytest.mark.scim_settings({"PATCH_RESPONSE": "resource"})
def test_patch_response_setting_resource_for_groups(scim: ScimClient) -> None:
    group = _group(scim, "Team")
    response = scim.scim(
        "PATCH", f"/Groups/{group['id']}", ops({"op": "replace", "path": "displayName", "value": "X"})
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "X"


def test_service_provider_config_advertises_patch(scim: ScimClient) -> None:
    """RFC 7643 section 5: patch.supported."""
    assert scim.get_scim("/ServiceProviderConfig").json()["patch"] == {"supported": True}


# --- versions and preconditions (RFC 7644 section 3.14) --------------------------------------


def test_if_match_stale_version_is_412_and_nothing_changes(scim: ScimClient) -> None:
    user = create_user(scim, userName="bjensen")
    body = ops({"op": "add", "path": "nickName", "value": "B"})
    before = db_state()
    stale = scim.scim("PATCH", f"/Users/{user['id']}", body, headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    assert db_state() == before
    fresh = scim.scim("PATCH", f"/Users/{user['id']}", body, headers={"If-Match": user["meta"]["version"]})
    assert fresh.status_code == 200
    assert fresh.json()["meta"]["version"] == 'W/"2"'


def test_patch_that_changes_nothing_keeps_the_version(scim: ScimClient) -> None:
    """A no-op PATCH writes nothing: same ETag, no resource_updated signal."""
    user = create_user(scim, userName="bjensen", nickName="B")
    received: list[Any] = []
    signals.resource_updated.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="noop")
    try:
        response = scim.scim(
            "PATCH", f"/Users/{user['id']}", ops({"op": "replace", "path": "nickName", "value": "B"})
        )
    finally:
        signals.resource_updated.disconnect(dispatch_uid="noop")
    assert response.status_code == 200
    assert response.json()["meta"]["version"] == user["meta"]["version"]
    assert received == []


def test_patch_that_changes_nothing_normalises_once(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 7644 section 3.5.2: operations that leave the resource as it was (identity providers
    resend what they hold) write nothing, and the document is normalised once, not twice. A
    PATCH that spells the same values otherwise is compared normalised: nothing written either."""
    user = create_user(scim, userName="bjensen", nickName="B", name={"givenName": "Barbara"})
    calls: list[object] = []
    original = ResourceAdapter.normalize

    def counting(self: ResourceAdapter, data: object, existing: Any = None) -> dict[str, Any]:
        calls.append(data)
        return original(self, data, existing)

    monkeypatch.setattr(ResourceAdapter, "normalize", counting)

    def patch(*operations: dict[str, Any]) -> dict[str, Any]:
        calls.clear()
        response = scim.scim("PATCH", f"/Users/{user['id']}", ops(*operations))
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    same = patch({"op": "replace", "path": "nickName", "value": "B"})
    assert (same["meta"]["version"], len(calls)) == (user["meta"]["version"], 1)
    # The string "True" for the boolean active (tolerated by default): another document, the same value.
    respelt = patch({"op": "replace", "path": "active", "value": "True"})
    assert (respelt["meta"]["version"], len(calls)) == (user["meta"]["version"], 2)
    changed = patch({"op": "replace", "path": "nickName", "value": "Babs"})
    assert changed["meta"]["version"] != user["meta"]["version"] and changed["nickName"] == "Babs"


def test_patch_sends_resource_updated_after_commit(
    scim: ScimClient, django_capture_on_commit_callbacks: Any
) -> None:
    user = create_user(scim, userName="bjensen")
    received: list[Any] = []
    signals.resource_updated.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="upd")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            scim.scim("PATCH", f"/Users/{user['id']}", ops({"op": "add", "path": "nickName", "value": "B"}))
    finally:
        signals.resource_updated.disconnect(dispatch_uid="upd")
    assert [(r["resource_type"], r["scim_id"]) for r in received] == [("User", user["id"])]


def test_patch_unknown_resource_is_404(scim: ScimClient) -> None:
    response = scim.scim(
        "PATCH",
        "/Users/26118915-6090-4610-87e4-49d8ca9f808d",
        ops({"op": "add", "path": "nickName", "value": "B"}),
    )
    assert response.status_code == 404


# --- mapped fields ---------------------------------------------------------------------------


def test_patch_writes_mapped_fields_and_json_remainder(scim: ScimClient) -> None:
    user = create_user(scim, userName="bjensen", name={"givenName": "Barbara"})
    response = scim.scim(
        "PATCH",
        f"/Users/{user['id']}",
        ops(
            {"op": "replace", "path": "name.familyName", "value": "Jensen"},
            {"op": "replace", "path": "active", "value": False},
            {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "b@example.com", "type": "work", "primary": True}],
            },
        ),
    )
    assert response.status_code == 200, response.content
    row = User.objects.get(username="bjensen")
    assert (row.first_name, row.last_name, row.is_active, row.email) == (
        "Barbara",
        "Jensen",
        False,
        "b@example.com",
    )
    assert response.json()[ENTERPRISE] == {"employeeNumber": "701984"}


def test_patch_password_sets_a_usable_hash(scim: ScimClient) -> None:
    user = create_user(scim, userName="bjensen")
    response = scim.scim(
        "PATCH", f"/Users/{user['id']}", ops({"op": "replace", "path": "password", "value": "s3cret!"})
    )
    assert response.status_code == 200
    assert "password" not in response.json()
    assert User.objects.get(username="bjensen").check_password("s3cret!")


def test_patch_password_reaches_the_password_validators(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's save() tells the validators of the new password (AbstractBaseUser.save), as for
    # a password set anywhere else on the site; other writes run without it.
    changed: list[str] = []
    monkeypatch.setattr(
        "django.contrib.auth.password_validation.password_changed",
        lambda password, user=None, password_validators=None: changed.append(password),
    )
    user = create_user(scim, userName="bjensen")
    response = scim.scim(
        "PATCH", f"/Users/{user['id']}", ops({"op": "replace", "path": "name.givenName", "value": "B"})
    )
    assert response.status_code == 200 and changed == []
    response = scim.scim(
        "PATCH", f"/Users/{user['id']}", ops({"op": "replace", "path": "password", "value": "s3cret!"})
    )
    assert response.status_code == 200 and changed == ["s3cret!"]


def test_patch_keeps_untouched_attributes(scim: ScimClient) -> None:
    """PATCH changes only its targets (unlike PUT, RFC 7644 section 3.5.1)."""
    user = create_user(scim, userName="bjensen", nickName="B", title="T", name={"givenName": "Barbara"})
    scim.scim("PATCH", f"/Users/{user['id']}", ops({"op": "remove", "path": "title"}))
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert after["nickName"] == "B"
    assert after["name"] == {"givenName": "Barbara"}
    assert "title" not in after


def test_patch_user_name_uniqueness_is_409(scim: ScimClient) -> None:
    create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    response = scim.scim(
        "PATCH", f"/Users/{bob['id']}", ops({"op": "replace", "path": "userName", "value": "ALICE"})
    )
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


# --- errors (RFC 7644 section 3.12, Table 9) -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "add", "path": "nickName", "value": "x"}]}, "invalidSyntax"),
        (ops(), "invalidSyntax"),
        (ops({"op": "copy", "path": "nickName"}), "invalidSyntax"),
        (ops({"op": "add", "path": "nosuch", "value": "x"}), "invalidPath"),
        (ops({"op": "add", "path": 'emails[type eq "work"', "value": "x"}), "invalidPath"),
        (ops({"op": "remove"}), "noTarget"),
        (ops({"op": "replace", "path": 'emails[type eq "home"].value', "value": "x@y.z"}), "noTarget"),
        (ops({"op": "replace", "path": "id", "value": "x"}), "mutability"),
        (ops({"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}), "mutability"),
        (ops({"op": "remove", "path": "userName"}), "mutability"),
        (ops({"op": "replace", "path": "active", "value": "maybe"}), "invalidValue"),
        (ops({"op": "replace", "path": "userName", "value": ""}), "invalidValue"),
    ],
)
def test_errors(scim: ScimClient, body: dict[str, Any], scim_type: str) -> None:
    user = create_user(scim, userName="bjensen", emails=[{"value": "b@example.com", "type": "work"}])
    before = db_state()
    response = scim.scim("PATCH", f"/Users/{user['id']}", body)
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == scim_type
    assert response.json()["status"] == "400"
    assert db_state() == before


def test_immutable_member_sub_attribute_is_mutability(scim: ScimClient) -> None:
    """RFC 7643 section 4.2: members' sub-attributes are immutable."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "replace", "path": f'members[value eq "{alice["id"]}"].display', "value": "x"}),
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"


def test_failing_third_operation_leaves_the_database_unchanged(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: "If any operation fails, the entire PATCH request is rejected"; the
    first two operations (a mapped field and a membership) are rolled back."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"]])
    before = db_state()
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
            {"op": "replace", "path": "nosuch", "value": "boom"},
        ),
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidPath"
    assert db_state() == before


def test_failing_member_operation_after_a_write_rolls_back(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team")
    before = db_state()
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": alice["id"]}]},
            {"op": "add", "path": "members", "value": [{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}]},
        ),
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


# --- members as row deltas ---------------------------------------------------------------


def test_add_members_and_versions_of_members(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.1 on members; the members' groups changed, so their versions do."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"]])
    alice_version = scim.get_scim(f"/Users/{alice['id']}").json()["meta"]["version"]
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": alice["id"]}, {"value": bob["id"]}]}),
    )
    assert response.status_code == 204
    assert _member_ids(scim, group["id"]) == sorted([alice["id"], bob["id"]])
    assert scim.get_scim(f"/Users/{alice['id']}").json()["meta"]["version"] == alice_version
    bob_after = scim.get_scim(f"/Users/{bob['id']}").json()
    assert bob_after["meta"]["version"] != bob["meta"]["version"]
    assert bob_after["groups"][0]["value"] == group["id"]


def test_add_existing_member_changes_nothing(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    assert response.status_code == 204
    assert response["ETag"] == group["meta"]["version"]


def test_unknown_member_id_is_400_and_nothing_changes(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team")
    before = db_state()
    for bad in ("not-a-uuid", "26118915-6090-4610-87e4-49d8ca9f808d"):
        response = scim.scim(
            "PATCH",
            f"/Groups/{group['id']}",
            ops({"op": "add", "path": "members", "value": [{"value": alice["id"]}, {"value": bad}]}),
        )
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


def test_remove_member_by_filter_and_by_value_list(scim: ScimClient) -> None:
    users = [create_user(scim, userName=f"u{i}") for i in range(4)]
    group = _group(scim, "Team", [u["id"] for u in users])
    scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'}),
    )
    scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "remove", "path": "members", "value": [{"value": users[1]["id"]}]}),
    )
    assert _member_ids(scim, group["id"]) == sorted(u["id"] for u in users[2:])
    assert "groups" not in scim.get_scim(f"/Users/{users[0]['id']}").json()
    either = f'members[value eq "{users[2]["id"]}" or value eq "{users[3]["id"]}"]'
    scim.scim("PATCH", f"/Groups/{group['id']}", ops({"op": "remove", "path": either}))
    assert _member_ids(scim, group["id"]) == []


def test_remove_member_by_other_filter(scim: ScimClient) -> None:
    """A filter on display (not value) is evaluated on the member list."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"], bob["id"]])
    response = scim.scim(
        "PATCH", f"/Groups/{group['id']}", ops({"op": "remove", "path": 'members[display eq "ALICE"]'})
    )
    assert response.status_code == 204
    assert _member_ids(scim, group["id"]) == [bob["id"]]


def test_remove_non_member(scim: ScimClient, settings: Any) -> None:
    """No-op by default (retries succeed); PATCH_STRICT_REMOVE makes it noTarget (Table 9)."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team")
    body = ops({"op": "remove", "path": f'members[value eq "{alice["id"]}"]'})
    response = scim.scim("PATCH", f"/Groups/{group['id']}", body)
    assert response.status_code == 204
    assert response["ETag"] == group["meta"]["version"]
    settings.SCIM = {"PATCH_STRICT_REMOVE": True}
    strict = scim.scim("PATCH", f"/Groups/{group['id']}", body)
    assert strict.status_code == 400
    assert strict.json()["scimType"] == "noTarget"


def test_remove_all_members_and_replace_members(scim: ScimClient) -> None:
    """RFC 7644 sections 3.5.2.2 (no filter: all values) and 3.5.2.3 (replace sets the list)."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"]])
    scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "replace", "path": "members", "value": [{"value": bob["id"]}]}),
    )
    assert _member_ids(scim, group["id"]) == [bob["id"]]
    assert "groups" not in scim.get_scim(f"/Users/{alice['id']}").json()
    scim.scim("PATCH", f"/Groups/{group['id']}", ops({"op": "remove", "path": "members"}))
    assert _member_ids(scim, group["id"]) == []


def test_replace_member_by_filter(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Team", [alice["id"]])
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "replace", "path": f'members[value eq "{alice["id"]}"]', "value": {"value": bob["id"]}}),
    )
    assert response.status_code == 204
    assert _member_ids(scim, group["id"]) == [bob["id"]]
    missing = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "replace", "path": f'members[value eq "{alice["id"]}"]', "value": {"value": bob["id"]}}),
    )
    assert missing.status_code == 400
    assert missing.json()["scimType"] == "noTarget"


def test_members_in_a_value_object_without_path(scim: ScimClient) -> None:
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team")
    response = scim.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "value": {"displayName": "Crew", "members": [{"value": alice["id"]}]}}),
    )
    assert response.status_code == 204
    after = scim.get_scim(f"/Groups/{group['id']}").json()
    assert after["displayName"] == "Crew"
    assert [m["value"] for m in after["members"]] == [alice["id"]]


def test_group_rename_keeps_members(scim: ScimClient) -> None:
    """The PATCH document has no members (not loaded); writing it must not clear them."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Team", [alice["id"]])
    scim.scim(
        "PATCH", f"/Groups/{group['id']}", ops({"op": "replace", "path": "displayName", "value": "Crew"})
    )
    assert _member_ids(scim, group["id"]) == [alice["id"]]


def test_whole_custom_extension_add_merges(scim: ScimClient) -> None:
    """Issue 4 point 1: path = the extension URN, object value: add merges into the stored one."""
    user = create_user(scim, userName="bjensen", schemas=[USER, CUSTOM], **{CUSTOM: {"tag": "a", "level": 1}})
    response = scim.scim(
        "PATCH",
        f"/Users/{user['id']}",
        ops({"op": "add", "path": CUSTOM, "value": {"level": 2, "team": "blue"}}),
    )
    assert response.status_code == 200, response.content
    assert scim.get_scim(f"/Users/{user['id']}").json()[CUSTOM] == {"tag": "a", "level": 2, "team": "blue"}
