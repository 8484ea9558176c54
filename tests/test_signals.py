"""Signals after committed SCIM writes (provisioning hooks: welcome mails, audit)."""

from __future__ import annotations

from typing import Any

import pytest

from django_scim import signals
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_created_updated_deleted_are_sent_on_commit(
    scim: ScimClient, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[tuple[str, str, str]] = []

    def handler(signal_name: str) -> Any:
        def receive(
            sender: Any, resource_type: str, instance: Any, scim_id: str, request: Any, **kw: Any
        ) -> None:
            received.append((signal_name, resource_type, scim_id))

        return receive

    handlers = {name: handler(name) for name in ("created", "updated", "deleted")}
    signals.resource_created.connect(handlers["created"])
    signals.resource_updated.connect(handlers["updated"])
    signals.resource_deleted.connect(handlers["deleted"])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            user = create_user(scim)
        with django_capture_on_commit_callbacks(execute=True):
            scim.scim("PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": "x"})
        with django_capture_on_commit_callbacks(execute=True):
            # A refused write sends nothing.
            scim.scim("PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": 3})
        with django_capture_on_commit_callbacks(execute=True):
            scim.scim("DELETE", f"/Users/{user['id']}")
    finally:
        signals.resource_created.disconnect(handlers["created"])
        signals.resource_updated.disconnect(handlers["updated"])
        signals.resource_deleted.disconnect(handlers["deleted"])
    assert received == [
        ("created", "User", user["id"]),
        ("updated", "User", user["id"]),
        ("deleted", "User", user["id"]),
    ]


@pytest.fixture
def deactivations() -> Any:
    received: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.user_deactivated.connect(receive)
    yield received
    signals.user_deactivated.disconnect(receive)


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "value": {"active": False}}],  # Okta (shared/README)
        [{"op": "Replace", "path": "active", "value": "False"}],  # Entra ID without the flag
    ],
    ids=["okta", "entra"],
)
def test_user_deactivated_by_patch(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any, operations: Any
) -> None:
    user = create_user(scim, nickName="Babs")
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.scim(
            "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": operations}
        )
    assert response.status_code in (200, 204), response.content
    assert len(deactivations) == 1
    sent = deactivations[0]
    assert sent["resource_type"] == "User" and sent["scim_id"] == user["id"]
    assert sent["instance"].is_active is False
    assert sent["changed"] == ["active"]


def test_user_deactivated_by_put_names_every_changed_attribute(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any
) -> None:
    """Okta AIW apps deactivate with PUT (shared/README)."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    user = create_user(scim, nickName="Babs")
    body = {
        "schemas": [USER, enterprise],
        "userName": "bjensen",
        "active": False,
        "title": "Former",
        enterprise: {"department": "Alumni"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert scim.scim("PUT", f"/Users/{user['id']}", body).status_code == 200
    assert [d["changed"] for d in deactivations] == [
        ["active", "nickName", "title", f"{enterprise}:department"]
    ]


def test_user_deactivated_only_on_the_transition(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any
) -> None:
    user = create_user(scim, active=False)
    path = f"/Users/{user['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        # Created inactive, renamed while inactive, reactivated: none is a deactivation.
        scim.scim("PUT", path, {"schemas": [USER], "userName": "b2", "active": False})
        scim.scim("PUT", path, {"schemas": [USER], "userName": "b2", "active": True})
        # A refused write sends nothing either.
        scim.scim("PUT", path, {"schemas": [USER], "userName": 3, "active": False})
    assert deactivations == []
    with django_capture_on_commit_callbacks(execute=True):
        scim.scim("PUT", path, {"schemas": [USER], "userName": "b2", "active": False})
    assert len(deactivations) == 1


def test_user_deactivated_is_not_sent_when_the_transaction_rolls_back(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any
) -> None:
    from django_scim.adapters.users import UserAdapter

    user = create_user(scim)

    def refuse(self: Any, obj: Any, document: Any, *, created: bool) -> None:
        raise RuntimeError("post_save failed")

    original = UserAdapter.post_save
    UserAdapter.post_save = refuse  # type: ignore[method-assign]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = scim.scim(
                "PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": "b", "active": False}
            )
    finally:
        UserAdapter.post_save = original  # type: ignore[method-assign]
    assert response.status_code == 500
    assert deactivations == []


# --- group_members_changed and resource_updated(changed=...) (issue 6 point 6) -------------------

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture
def sent() -> Any:
    """Every ``group_members_changed`` and ``resource_updated`` sent, as ``(name, kwargs)``."""
    received: list[tuple[str, dict[str, Any]]] = []

    def on_members(sender: Any, **kwargs: Any) -> None:
        received.append(("members", kwargs))

    def on_updated(sender: Any, **kwargs: Any) -> None:
        received.append(("updated", kwargs))

    signals.group_members_changed.connect(on_members)
    signals.resource_updated.connect(on_updated)
    yield received
    signals.group_members_changed.disconnect(on_members)
    signals.resource_updated.disconnect(on_updated)


def _members(sent: list[tuple[str, dict[str, Any]]]) -> list[tuple[list[str], list[str]]]:
    return [(kw["added"], kw["removed"]) for name, kw in sent if name == "members"]


def _changed(sent: list[tuple[str, dict[str, Any]]]) -> list[list[str]]:
    return [kw["changed"] for name, kw in sent if name == "updated"]


def _patch(scim: ScimClient, path: str, *operations: dict[str, Any]) -> Any:
    response = scim.scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})
    assert response.status_code in (200, 204), response.content
    return response


def test_group_members_changed_on_post_put_patch(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, sent: Any
) -> None:
    a, b, c = (create_user(scim, userName=name)["id"] for name in ("a", "b", "c"))
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.scim(
            "POST", "/Groups", {"schemas": [GROUP], "displayName": "g", "members": [{"value": a}]}
        )
    assert response.status_code == 201
    group = response.json()
    path = f"/Groups/{group['id']}"
    assert _members(sent) == [([a], [])]
    members_sent = [kw for name, kw in sent if name == "members"][0]
    assert members_sent["resource_type"] == "Group" and members_sent["scim_id"] == group["id"]
    assert members_sent["instance"].name == "g" and members_sent["request"] is not None
    sent.clear()
    # PUT: b and c in, a out; the display name changes too.
    body = {"schemas": [GROUP], "displayName": "g2", "members": [{"value": b}, {"value": c}]}
    with django_capture_on_commit_callbacks(execute=True):
        assert scim.scim("PUT", path, body).status_code == 200
    assert _members(sent) == [(sorted([b, c]), [a])]
    assert _changed(sent) == [["displayName", "members"]]
    sent.clear()
    # PATCH (Okta's mixed form): one signal with the net delta of all operations.
    with django_capture_on_commit_callbacks(execute=True):
        _patch(
            scim,
            path,
            {"op": "remove", "path": f'members[value eq "{b}"]'},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        )
    assert _members(sent) == [([a], [b])]
    assert _changed(sent) == [["members"]]
    sent.clear()
    # Entra ID's remove with a value list, and a rename in the same PATCH.
    with django_capture_on_commit_callbacks(execute=True):
        _patch(
            scim,
            path,
            {"op": "Remove", "path": "members", "value": [{"value": c}]},
            {"op": "Replace", "path": "displayName", "value": "g3"},
        )
    assert _members(sent) == [([], [c])]
    assert _changed(sent) == [["displayName", "members"]]


def test_group_members_changed_not_sent_without_a_change(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, sent: Any
) -> None:
    a = create_user(scim, userName="a")["id"]
    group = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "g", "members": [{"value": a}]}
    ).json()
    path = f"/Groups/{group['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        # Adding a member twice, removing and re-adding in one PATCH, a rename only.
        scim.scim(
            "PATCH",
            path,
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": a}]}],
            },
        )
        _patch(
            scim,
            path,
            {"op": "remove", "path": f'members[value eq "{a}"]'},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        )
        _patch(scim, path, {"op": "replace", "path": "displayName", "value": "renamed"})
        # A refused write (unknown member id) rolls back and sends nothing.
        response = scim.scim(
            "PATCH",
            path,
            {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "remove", "path": f'members[value eq "{a}"]'},
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": "00000000-0000-0000-0000-000000000000"}],
                    },
                ],
            },
        )
        assert response.status_code == 400
    assert _members(sent) == []
    assert ["displayName"] in _changed(sent)


def test_group_members_changed_through_bulk(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, sent: Any
) -> None:
    a = create_user(scim, userName="a")["id"]
    group = scim.scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "g"}).json()
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "PATCH",
                "path": f"/Groups/{group['id']}",
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": a}]}],
                },
            }
        ],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.scim("POST", "/Bulk", bulk)
    assert response.status_code == 200, response.content
    assert _members(sent) == [([a], [])]


def test_resource_updated_names_the_changed_attributes(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, sent: Any
) -> None:
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    user = create_user(scim, nickName="Babs", title="Eng")
    path = f"/Users/{user['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        _patch(scim, path, {"op": "replace", "path": "nickName", "value": "B"})
        _patch(scim, path, {"op": "replace", "path": "nickName", "value": "B"})  # no change: no signal
        _patch(scim, path, {"op": "add", "path": f"{enterprise}:department", "value": "R&D"})
        body = {"schemas": [USER], "userName": "bjensen", "nickName": "B", "title": "Eng"}
        scim.scim("PUT", path, body)  # drops the department
        scim.scim("PUT", path, body)  # the same document again
        scim.scim("PUT", path, {**body, "userName": "bj", "externalId": "x1"})
    assert _changed(sent) == [
        ["nickName"],
        [f"{enterprise}:department"],
        [f"{enterprise}:department"],
        [],
        ["externalId", "userName"],
    ]
