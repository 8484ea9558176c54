"""What real identity providers send, byte for byte from their public documentation.

Sources (quoted in shared/README.md, "What real identity providers send"):

* Microsoft Entra ID: MicrosoftDocs/entra-docs ``use-scim-to-provision-users-and-groups.md`` and
  ``application-provisioning-config-problem-scim-compatibility.md``; the Entra SCIM validator
  behaviour from SCIM-SDK#416 and sourcegraph#49119.
* Okta: okta/okta-developer-docs ``docs/reference/scim/scim-20/index.md``.
* RFC 7644 section 3.5.2 examples.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from tests.conftest import ScimClient, create_user

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

pytestmark = pytest.mark.django_db


def _group(scim: ScimClient, name: str, members: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    response = scim.scim("POST", "/Groups", body)
    assert response.status_code == 201, response.content
    return response.json()


def _send(scim: ScimClient, path: str, operations: list[dict[str, Any]], status: int = 200) -> Any:
    response = scim.scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": operations})
    assert response.status_code == status, response.content
    return response


def _members(scim: ScimClient, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim.get_scim(f"/Groups/{group_id}").json().get("members", []))


# --- Microsoft Entra ID ---------------------------------------------------------------------


def test_entra_1_capitalized_ops(scim: ScimClient) -> None:
    """Entra item 1: "Microsoft Entra ID emits the values of op as Add, Replace, and Remove"."""
    user = create_user(scim, userName="Test_User_00aa00aa", title="Old", nickName="N")
    _send(
        scim,
        f"/Users/{user['id']}",
        [
            {"op": "Add", "path": "displayName", "value": "Babs"},
            {"op": "Replace", "path": "title", "value": "New"},
            {"op": "Remove", "path": "nickName"},
        ],
    )
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert (after["displayName"], after["title"], "nickName" in after) == ("Babs", "New", False)


def test_entra_4_disable_with_string_boolean(scim: ScimClient) -> None:
    """Entra item 4 (without aadOptscim062020): ``"value":"False"``; with the flag: ``false``."""
    user = create_user(scim, userName="Test_User_00aa00aa", active=True)
    _send(scim, f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert User.objects.get(username="Test_User_00aa00aa").is_active is False
    assert scim.get_scim(f"/Users/{user['id']}").json()["active"] is False
    _send(scim, f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": True}])
    assert User.objects.get(username="Test_User_00aa00aa").is_active is True


def test_entra_5_multi_attribute_replace_without_flag(scim: ScimClient) -> None:
    """Entra item 5 without the flag: value-filter and URN paths in separate operations."""
    user = create_user(
        scim, userName="Test_User_00aa00aa", emails=[{"value": "old@test.microsoft.com", "type": "work"}]
    )
    _send(
        scim,
        f"/Users/{user['id']}",
        [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestBcwqnm@test.microsoft.com",
            },
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "value": "Eqpj",
            },
        ],
    )
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert after["emails"] == [{"value": "TestBcwqnm@test.microsoft.com", "type": "work"}]
    assert after[ENTERPRISE] == {"employeeNumber": "Eqpj"}
    assert User.objects.get(username="Test_User_00aa00aa").email == "TestBcwqnm@test.microsoft.com"


def test_entra_5_no_path_replace_with_dotted_and_urn_keys(scim: ScimClient) -> None:
    """Entra item 5 with aadOptscim062020: one no-path replace, dotted and URN keys."""
    user = create_user(scim, userName="Test_User_00aa00aa")
    _send(
        scim,
        f"/Users/{user['id']}",
        [
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                },
            }
        ],
    )
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert after["displayName"] == "Bjfe"
    assert after["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert after[ENTERPRISE] == {"employeeNumber": "Aklq"}
    row = User.objects.get(username="Test_User_00aa00aa")
    assert (row.first_name, row.last_name) == ("Kkom", "Unua")


def test_entra_6_add_single_valued(scim: ScimClient) -> None:
    """Entra item 6: ``{"op":"Add","path":"nickName","value":"Babs"}``, set or already set."""
    user = create_user(scim, userName="Test_User_00aa00aa")
    _send(scim, f"/Users/{user['id']}", [{"op": "Add", "path": "nickName", "value": "Babs"}])
    _send(scim, f"/Users/{user['id']}", [{"op": "Add", "path": "nickName", "value": "Barbara"}])
    assert scim.get_scim(f"/Users/{user['id']}").json()["nickName"] == "Barbara"


def test_entra_7_member_removal_without_flag(scim: ScimClient) -> None:
    """Entra item 7 without the flag: ``{"op":"Remove","path":"members","value":[{"value":id}]}``."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Entra", [alice["id"], bob["id"]])
    _send(
        scim,
        f"/Groups/{group['id']}",
        [{"op": "Remove", "path": "members", "value": [{"value": alice["id"]}]}],
        204,
    )
    assert _members(scim, group["id"]) == [bob["id"]]


def test_entra_7_member_removal_with_flag(scim: ScimClient) -> None:
    """Entra item 7 with the flag: ``{"op":"remove","path":"members[value eq \\"id\\"]"}``."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "Entra", [alice["id"], bob["id"]])
    _send(
        scim, f"/Groups/{group['id']}", [{"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}], 204
    )
    assert _members(scim, group["id"]) == [bob["id"]]


def test_entra_8_add_members_with_null_ref_answers_204(scim: ScimClient) -> None:
    """Entra item 8: ``{"op":"Add","path":"members","value":[{"$ref":null,"value":id}]}``; group
    PATCH "should answer 204"."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Entra")
    response = _send(
        scim,
        f"/Groups/{group['id']}",
        [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": alice["id"]}]}],
        204,
    )
    assert response.content == b""
    assert _members(scim, group["id"]) == [alice["id"]]


def test_entra_13_validator_adds_filtered_sub_attributes(scim: ScimClient) -> None:
    """Entra item 13: the SCIM validator PATCH-adds ``emails[type eq "work"].value``,
    ``name.givenName`` and ``.primary`` and expects them on re-read."""
    user = create_user(scim, userName="Test_User_00aa00aa")
    _send(
        scim,
        f"/Users/{user['id']}",
        [
            {"op": "add", "path": 'emails[type eq "work"].value', "value": "validator@contoso.com"},
            {"op": "add", "path": 'emails[type eq "work"].primary', "value": True},
            {"op": "add", "path": "name.givenName", "value": "Validator"},
        ],
    )
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert after["emails"] == [{"type": "work", "value": "validator@contoso.com", "primary": True}]
    assert after["name"] == {"givenName": "Validator"}
    assert User.objects.get(username="Test_User_00aa00aa").email == "validator@contoso.com"


# --- Okta ------------------------------------------------------------------------------


def test_okta_5_deactivate_without_path(scim: ScimClient) -> None:
    """Okta item 5: ``{"op":"replace","value":{"active":false}}``."""
    user = create_user(scim, userName="test.user@okta.local", active=True)
    _send(scim, f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    assert User.objects.get(username="test.user@okta.local").is_active is False
    # Entra item 10 / Okta: a deactivated user is still returned.
    assert scim.get_scim(f"/Users/{user['id']}").json()["active"] is False


def test_okta_6_group_rename_with_id_in_value(scim: ScimClient) -> None:
    """Okta item 6: ``{"op":"replace","value":{"id":...,"displayName":"Test SCIMv2"}}``."""
    alice = create_user(scim, userName="alice")
    group = _group(scim, "Old name", [alice["id"]])
    _send(
        scim,
        f"/Groups/{group['id']}",
        [{"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv2"}}],
        204,
    )
    assert Group.objects.filter(name="Test SCIMv2").exists()
    assert _members(scim, group["id"]) == [alice["id"]]


def test_okta_7_mixed_membership_operations(scim: ScimClient) -> None:
    """Okta item 7: remove by ``members[value eq ...]`` and add with ``display`` in one request,
    then a full push with ``replace``."""
    old = create_user(scim, userName="old@okta.local")
    new = create_user(scim, userName="test.user@okta.local")
    other = create_user(scim, userName="other@okta.local")
    group = _group(scim, "Okta", [old["id"]])
    _send(
        scim,
        f"/Groups/{group['id']}",
        [
            {"op": "remove", "path": f'members[value eq "{old["id"]}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": new["id"], "display": "test.user@okta.local"}],
            },
        ],
        204,
    )
    assert _members(scim, group["id"]) == [new["id"]]
    _send(
        scim,
        f"/Groups/{group['id']}",
        [
            {
                "op": "replace",
                "path": "members",
                "value": [{"value": other["id"], "display": "other@okta.local"}],
            }
        ],
        204,
    )
    assert _members(scim, group["id"]) == [other["id"]]


# --- RFC 7644 section 3.5.2 examples over HTTP -------------------------------------------


def test_rfc_3_5_2_1_add_member(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.1, first example (member add with display and $ref)."""
    babs = create_user(scim, userName="bjensen")
    group = _group(scim, "Tour Guides")
    _send(
        scim,
        f"/Groups/{group['id']}",
        [
            {
                "op": "add",
                "path": "members",
                "value": [
                    {
                        "display": "Babs Jensen",
                        "$ref": f"https://example.com/v2/Users/{babs['id']}",
                        "value": babs["id"],
                    }
                ],
            }
        ],
        204,
    )
    assert _members(scim, group["id"]) == [babs["id"]]


def test_rfc_3_5_2_1_add_without_path(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.1, second example: no path, emails and nickname."""
    user = create_user(scim, userName="bjensen")
    _send(
        scim,
        f"/Users/{user['id']}",
        [
            {
                "op": "add",
                "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"},
            }
        ],
    )
    after = scim.get_scim(f"/Users/{user['id']}").json()
    assert after["nickName"] == "Babs"
    assert after["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_rfc_3_5_2_2_remove_all_members_then_add(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.2: remove all members, then add one, in one request."""
    alice = create_user(scim, userName="alice")
    bob = create_user(scim, userName="bob")
    group = _group(scim, "G", [alice["id"]])
    _send(
        scim,
        f"/Groups/{group['id']}",
        [
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
        ],
        204,
    )
    assert _members(scim, group["id"]) == [bob["id"]]


def test_rfc_3_5_2_2_remove_manager_value(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.2: remove an extension sub-attribute by its fully qualified path."""
    user = create_user(
        scim,
        userName="bjensen",
        schemas=[USER, ENTERPRISE],
        **{ENTERPRISE: {"manager": {"value": "m1"}, "employeeNumber": "1"}},
    )
    _send(scim, f"/Users/{user['id']}", [{"op": "remove", "path": f"{ENTERPRISE}:manager"}])
    assert scim.get_scim(f"/Users/{user['id']}").json()[ENTERPRISE] == {"employeeNumber": "1"}


def test_rfc_3_5_2_3_replace_work_address_street(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.3: replace ``addresses[type eq "work"].streetAddress``."""
    user = create_user(
        scim,
        userName="bjensen",
        addresses=[{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood"}],
    )
    _send(
        scim,
        f"/Users/{user['id']}",
        [{"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Broadway Ave"}],
    )
    assert scim.get_scim(f"/Users/{user['id']}").json()["addresses"] == [
        {"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"}
    ]
