"""PATCH (RFC 7644 section 3.5.2) on a site's own models: EmailUser and Team as SCIM groups.

Runs under ``--ds tests.settings.custom_models``: the Team's ``members`` is a forward
many-to-many field (``auth.Group`` has a reverse one), so the membership deltas must work
through either side.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import ScimClient
from tests.testapp.models import Team, TeamScim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

pytestmark = pytest.mark.django_db


def _user(scim: ScimClient, email: str) -> dict[str, Any]:
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": email})
    assert response.status_code == 201, response.content
    return response.json()


def _patch(scim: ScimClient, path: str, *operations: dict[str, Any]) -> Any:
    return scim.scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})


def _state() -> tuple[object, ...]:
    user_model = get_user_model()
    return (
        sorted(map(str, user_model.objects.values_list())),
        sorted(map(str, Team.objects.values_list())),
        sorted(map(str, Team.members.through.objects.values_list())),
        sorted(map(str, TeamScim.objects.values_list())),
    )


def test_team_membership_patch(scim: ScimClient) -> None:
    """Okta item 7 and Entra items 7 and 8 (shared/README) against Team.members."""
    alice, bob, carol = (_user(scim, f"{n}@example.com") for n in ("alice", "bob", "carol"))
    team = scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue"}).json()
    url = f"/Groups/{team['id']}"

    added = _patch(
        scim,
        url,
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": alice["id"]}, {"value": bob["id"]}],
        },
    )
    assert added.status_code == 204
    row = Team.objects.get(title="Blue")
    assert sorted(u.email for u in row.members.all()) == ["alice@example.com", "bob@example.com"]

    okta = _patch(
        scim,
        url,
        {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
        {"op": "add", "path": "members", "value": [{"value": carol["id"], "display": "carol@example.com"}]},
    )
    assert okta.status_code == 204
    assert sorted(u.email for u in row.members.all()) == ["bob@example.com", "carol@example.com"]

    entra = _patch(scim, url, {"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    assert entra.status_code == 204
    assert [u.email for u in row.members.all()] == ["carol@example.com"]
    assert scim.get_scim(f"/Users/{carol['id']}").json()["groups"][0]["value"] == team["id"]
    assert "groups" not in scim.get_scim(f"/Users/{alice['id']}").json()


def test_team_rename_with_okta_id_keeps_members(scim: ScimClient) -> None:
    """Okta item 6: no-path replace carrying the id; the members are not touched."""
    alice = _user(scim, "alice@example.com")
    team = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue", "members": [{"value": alice["id"]}]}
    ).json()
    response = _patch(
        scim, f"/Groups/{team['id']}", {"op": "replace", "value": {"id": team["id"], "displayName": "Red"}}
    )
    assert response.status_code == 204
    row = Team.objects.get(pk=TeamScim.objects.get(pk=team["id"]).resource_id)
    assert row.title == "Red"
    assert [u.email for u in row.members.all()] == ["alice@example.com"]


def test_team_unknown_member_changes_nothing(scim: ScimClient) -> None:
    alice = _user(scim, "alice@example.com")
    team = scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue"}).json()
    before = _state()
    response = _patch(
        scim,
        f"/Groups/{team['id']}",
        {"op": "replace", "path": "displayName", "value": "Red"},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": alice["id"]}, {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}],
        },
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert _state() == before


def test_team_add_one_member_queries_do_not_grow(scim: ScimClient) -> None:
    """Issue 4 point 5 on a forward many-to-many: one member more costs the same queries."""
    user_model = get_user_model()
    team = scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Big"}).json()
    row = Team.objects.get(title="Big")
    seeded = user_model.objects.bulk_create([user_model(email=f"m{i}@example.com") for i in range(500)])
    seeded = list(user_model.objects.filter(email__startswith="m"))
    # Typed loosely: the model this variant's settings make AUTH_USER_MODEL is not the checker's.
    through: Any = Team.members.through
    through.objects.bulk_create([through(team_id=row.pk, emailuser_id=u.pk) for u in seeded])
    counts = []
    for name in ("x", "y"):
        newcomer = _user(scim, f"{name}@example.com")
        with CaptureQueriesContext(connection) as captured:
            response = _patch(
                scim,
                f"/Groups/{team['id']}",
                {"op": "add", "path": "members", "value": [{"value": newcomer["id"]}]},
            )
        assert response.status_code == 204
        # PATCH's own statements (see tests/rest/test_patch_scale.py): no token, log or savepoint.
        counts.append(
            sum(
                1
                for q in captured.captured_queries
                if "scimtoken" not in q["sql"]
                and "provisioninglog" not in q["sql"]
                and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
            )
        )
    # The same fixed cost as tests/rest/test_patch_scale.py OWN_QUERIES, whatever the team size.
    assert counts[0] == counts[1] <= 6
    assert row.members.count() == 502


def test_user_patch_through_settings_mapping(scim: ScimClient) -> None:
    """displayName -> EmailUser.display_name; name lives in the JSONField on this model."""
    user = _user(scim, "ada@example.com")
    response = _patch(
        scim,
        f"/Users/{user['id']}",
        {"op": "replace", "value": {"displayName": "Ada Lovelace", "name.givenName": "Ada"}},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "1815"},
    )
    assert response.status_code == 200, response.content
    row: Any = get_user_model().objects.get(email="ada@example.com")
    assert (row.display_name, row.is_active) == ("Ada Lovelace", False)
    body = response.json()
    assert body["name"] == {"givenName": "Ada"}
    assert body[ENTERPRISE] == {"employeeNumber": "1815"}
