"""Group displayName uniqueness (issue 4 point 9): Entra ID matches groups by displayName, so
SCIM["GROUP_DISPLAY_NAME_UNIQUE"] refuses case variants with 409 uniqueness (RFC 7644 section
3.12, Table 9), even where the database would accept them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

TEAMS = {
    "Group": {
        "ADAPTER": "django_scim.adapters.groups.GroupAdapter",
        "MODEL": "testapp.Team",
        "COMPANION_MODEL": "testapp.TeamScim",
        "MEMBERS_RELATION": "members",
        "DISPLAY_FIELD": "title",
        "ATTRIBUTE_MAP": {"displayName": "title"},
    }
}


def post_group(scim: ScimClient, name: str) -> Any:
    return scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": name})


def assert_uniqueness(response: Any) -> None:
    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"


@pytest.mark.scim_settings({"RESOURCE_TYPES": TEAMS})
def test_team_case_variants_are_409_though_the_unique_column_is_case_sensitive(scim: ScimClient) -> None:
    """Team.title is unique in the database, case-sensitively (SQLite, PostgreSQL): "Blue" would
    be accepted there; the adapter's check refuses it."""
    from tests.testapp.models import Team

    first = post_group(scim, "blue")
    assert first.status_code == 201, first.content
    assert_uniqueness(post_group(scim, "Blue"))
    assert_uniqueness(post_group(scim, "blue"))
    assert list(Team.objects.values_list("title", flat=True)) == ["blue"]


@pytest.mark.scim_settings({"RESOURCE_TYPES": TEAMS})
def test_rename_to_a_case_variant_of_another_group_is_409(scim: ScimClient) -> None:
    blue = post_group(scim, "blue").json()
    red = post_group(scim, "red").json()
    path = f"/Groups/{red['id']}"
    assert_uniqueness(scim.scim("PUT", path, {"schemas": [GROUP], "displayName": "BLUE"}))
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Blue"}],
    }
    assert_uniqueness(scim.scim("PATCH", path, rename))
    # Its own name, in another case, is no clash; nor is a PUT keeping it.
    own = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "Red"}}]}
    assert scim.scim("PATCH", path, own).status_code in (200, 204)
    assert scim.scim("PUT", path, {"schemas": [GROUP], "displayName": "Red"}).status_code == 200
    assert scim.get_scim(f"/Groups/{blue['id']}").json()["displayName"] == "blue"


def test_auth_groups_are_checked_too(scim: ScimClient) -> None:
    """auth.Group.name is unique but case-sensitive: "Sales" and "sales" would be two groups."""
    assert post_group(scim, "Sales").status_code == 201
    assert_uniqueness(post_group(scim, "sales"))
    # A name with quotes and a backslash is compared literally, not parsed as a filter.
    assert post_group(scim, 'a "quoted\\ name').status_code == 201
    assert_uniqueness(post_group(scim, 'A "QUOTED\\ NAME'))


def test_okta_rename_repeating_the_id_is_no_clash_with_itself(scim: ScimClient) -> None:
    group = post_group(scim, "Test SCIMv2").json()
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"id": group["id"], "displayName": "test scimv2"}}],
    }
    assert scim.scim("PATCH", f"/Groups/{group['id']}", body).status_code == 204


@pytest.mark.scim_settings({"GROUP_DISPLAY_NAME_UNIQUE": False})
def test_off_only_the_database_decides(scim: ScimClient) -> None:
    assert post_group(scim, "Sales").status_code == 201
    assert post_group(scim, "sales").status_code == 201
    # The exact name is still refused by auth.Group's unique constraint, with the same 409.
    assert_uniqueness(post_group(scim, "Sales"))


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"Group": {"ATTRIBUTE_MAP": {"displayName": None}, "MODEL": "auth.Group"}}}
)
def test_unmapped_display_name_is_checked_in_the_json_field(scim: ScimClient, settings: Any) -> None:
    """displayName kept in the companion's JSONField: the same check, through the filter."""
    from django.contrib.auth.models import Group

    from django_scim.adapters.groups import GroupAdapter

    class NamedByPk(GroupAdapter):
        def new_instance(self, document: Any) -> Any:
            return Group(name=f"g{Group.objects.count()}")

    import tests.rest.test_group_uniqueness as module

    module.NamedByPk = NamedByPk  # type: ignore[attr-defined]
    settings.SCIM = {
        "RESOURCE_TYPES": {
            "Group": {
                "ADAPTER": "tests.rest.test_group_uniqueness.NamedByPk",
                "ATTRIBUTE_MAP": {"displayName": None},
            }
        }
    }
    assert post_group(scim, "Blue").status_code == 201
    assert_uniqueness(post_group(scim, "BLUE"))


def test_membership_patch_costs_no_uniqueness_query(scim: ScimClient, settings: Any) -> None:
    """The check runs only when the name changes (tests/rest/test_patch_scale.py pins the rest)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group = post_group(scim, "Sales").json()
    users = [
        scim.scim(
            "POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": n}
        ).json()["id"]
        for n in ("u1", "u2", "u3")
    ]
    scim.get_scim("/ServiceProviderConfig")  # the token's last_used write, out of the count

    def queries(user_id: str, rename: str | None = None) -> int:
        operations: list[dict[str, Any]] = [{"op": "add", "path": "members", "value": [{"value": user_id}]}]
        if rename:
            operations.append({"op": "replace", "path": "displayName", "value": rename})
        with CaptureQueriesContext(connection) as captured:
            response = scim.scim(
                "PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": operations}
            )
            assert response.status_code == 204, response.content
        return len(captured.captured_queries)

    checked = queries(users[0])
    settings.SCIM = {"GROUP_DISPLAY_NAME_UNIQUE": False}
    unchecked = queries(users[1])
    assert checked == unchecked
    settings.SCIM = {}
    # A rename does pay its one query.
    assert queries(users[2], rename="Marketing") >= checked + 1
