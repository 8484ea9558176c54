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
