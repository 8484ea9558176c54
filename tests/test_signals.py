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
