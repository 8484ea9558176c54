"""Deprovisioning (issue 4 point 7, 9): deactivation ends sessions and signals after commit by
PUT, PATCH and /Bulk; DELETE is hard (RFC 7644 section 3.6) or soft per SCIM["USER_DELETE"]."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client

from django_scim import signals
from django_scim.adapters.users import UserAdapter
from django_scim.models import ScimUser
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
REQUESTS = Path(__file__).resolve().parent.parent / "docs" / "snippets" / "requests"


@pytest.fixture
def deactivations() -> Any:
    received: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.user_deactivated.connect(receive)
    yield received
    signals.user_deactivated.disconnect(receive)


@pytest.fixture
def deletions() -> Any:
    received: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.resource_deleted.connect(receive)
    yield received
    signals.resource_deleted.disconnect(receive)


def log_in(user_name: str) -> str:
    """A browser session of the user (a row of the db session engine); its key."""
    browser = Client()
    browser.force_login(get_user_model().objects.get(username=user_name))
    key = browser.session.session_key
    assert key is not None
    return key


def sessions() -> set[str]:
    return set(Session.objects.values_list("session_key", flat=True))


def deactivate_by(scim: ScimClient, how: str, user: dict[str, Any]) -> Any:
    path = f"/Users/{user['id']}"
    if how == "patch-okta":
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
        return scim.scim("PATCH", path, body)
    if how == "patch-entra":
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
        return scim.scim("PATCH", path, body)
    if how == "put":
        return scim.scim("PUT", path, {"schemas": [USER], "userName": user["userName"], "active": False})
    operation: dict[str, Any]
    if how == "bulk-patch":
        operation = {
            "method": "PATCH",
            "path": path,
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        }
    else:
        operation = {
            "method": "PUT",
            "path": path,
            "data": {"schemas": [USER], "userName": user["userName"], "active": False},
        }
    response = scim.scim("POST", "/Bulk", {"schemas": [BULK_REQUEST], "Operations": [operation]})
    assert response.status_code == 200, response.content
    assert response.json()["Operations"][0]["status"] == "200", response.content
    return response


@pytest.mark.parametrize("how", ["patch-okta", "patch-entra", "put", "bulk-patch", "bulk-put"])
def test_deactivation_ends_the_sessions_and_signals_after_commit(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any, how: str
) -> None:
    user = create_user(scim, userName="bjensen")
    create_user(scim, userName="other")
    mine, theirs = log_in("bjensen"), log_in("other")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = deactivate_by(scim, how, user)
        assert response.status_code in (200, 204), response.content
        # Before commit: nothing sent, nothing ended.
        assert deactivations == [] and mine in sessions()
    for callback in callbacks:
        callback()
    assert get_user_model().objects.get(username="bjensen").is_active is False
    assert [d["scim_id"] for d in deactivations] == [user["id"]]
    assert mine not in sessions()
    assert theirs in sessions()


def test_okta_full_profile_put_deactivates(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any
) -> None:
    """Okta AIW apps update and deactivate by PUT of the full profile (shared/README, Okta 4)."""
    created = scim.scim("POST", "/Users", json.loads((REQUESTS / "okta-create-user.json").read_text()))
    assert created.status_code == 201, created.content
    user = created.json()
    session = log_in("test.user@okta.local")
    body = json.loads((REQUESTS / "okta-put-deactivate.json").read_text().replace("USER-ID", user["id"]))
    assert body["active"] is False and body["groups"] == []
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.scim("PUT", f"/Users/{user['id']}", body)
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert response.json()["name"] == {"givenName": "Test", "familyName": "User"}
    assert get_user_model().objects.get(username="test.user@okta.local").is_active is False
    assert len(deactivations) == 1 and deactivations[0]["changed"] == ["active"]
    assert session not in sessions()


@pytest.mark.scim_settings({"END_SESSIONS_ON_DEACTIVATION": False})
def test_sessions_stay_when_the_setting_is_off(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, deactivations: Any
) -> None:
    user = create_user(scim)
    session = log_in("bjensen")
    with django_capture_on_commit_callbacks(execute=True):
        deactivate_by(scim, "put", user)
    assert len(deactivations) == 1
    assert session in sessions()


def test_non_database_session_engines_end_nothing(scim: ScimClient, settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    create_user(scim)
    assert UserAdapter().end_sessions(get_user_model().objects.get(username="bjensen")) == 0


def test_cached_db_sessions_are_ended_in_cache_too(scim: ScimClient, settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    create_user(scim)
    key = log_in("bjensen")
    from django.contrib.sessions.backends.cached_db import SessionStore

    assert SessionStore(session_key=key).exists(key)
    assert UserAdapter().end_sessions(get_user_model().objects.get(username="bjensen")) == 1
    assert not SessionStore(session_key=key).exists(key)


# --- DELETE --------------------------------------------------------------------------------


def test_delete_is_hard_by_default(scim: ScimClient) -> None:
    """RFC 7644 section 3.6: the resource is gone."""
    user = create_user(scim)
    assert scim.scim("DELETE", f"/Users/{user['id']}").status_code == 204
    assert not get_user_model().objects.filter(username="bjensen").exists()


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_soft_delete_deactivates_and_hides_the_user(
    scim: ScimClient,
    django_capture_on_commit_callbacks: Any,
    deactivations: Any,
    deletions: Any,
) -> None:
    user = create_user(scim)
    kept = create_user(scim, userName="kept")
    group = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "g", "members": [{"value": user["id"]}]}
    ).json()
    session = log_in("bjensen")
    path = f"/Users/{user['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        assert scim.scim("DELETE", path).status_code == 204
    row = get_user_model().objects.get(username="bjensen")
    assert row.is_active is False
    assert ScimUser.objects.get(resource=row).deleted is True
    assert [d["scim_id"] for d in deactivations] == [user["id"]]
    assert [d["scim_id"] for d in deletions] == [user["id"]]
    assert session not in sessions()
    # Hidden from SCIM: read, list, filter, write, delete.
    assert scim.get_scim(path).status_code == 404
    assert [r["id"] for r in scim.get_scim("/Users").json()["Resources"]] == [kept["id"]]
    assert scim.get_scim('/Users?filter=userName eq "bjensen"').json()["totalResults"] == 0
    assert scim.get_scim("/Users?filter=active eq false").json()["totalResults"] == 0
    assert scim.scim("PUT", path, {"schemas": [USER], "userName": "bjensen"}).status_code == 404
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "nickName", "value": "x"}]}
    scim_patch = scim.scim("PATCH", path, body)
    assert scim_patch.status_code == 404
    assert scim.scim("DELETE", path).status_code == 404
    # Its group memberships went, as a hard delete would take them.
    assert "members" not in scim.get_scim(f"/Groups/{group['id']}").json()
    assert not Group.objects.get(name="g").user_set.exists()


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_soft_deleted_user_provisioned_again_comes_back_under_a_new_id(
    scim: ScimClient, django_capture_on_commit_callbacks: Any
) -> None:
    user = create_user(scim, nickName="Old")
    pk = get_user_model().objects.get(username="bjensen").pk
    assert scim.scim("DELETE", f"/Users/{user['id']}").status_code == 204
    created: list[str] = []

    def receive(sender: Any, scim_id: str, **kwargs: Any) -> None:
        created.append(scim_id)

    signals.resource_created.connect(receive)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = scim.scim(
                "POST", "/Users", {"schemas": [USER], "userName": "BJensen", "title": "Back"}
            )
    finally:
        signals.resource_created.disconnect(receive)
    assert response.status_code == 201, response.content
    again = response.json()
    assert again["id"] != user["id"] and created == [again["id"]]
    assert again["active"] is True and again["userName"] == "BJensen" and again["title"] == "Back"
    assert "nickName" not in again
    assert get_user_model().objects.get(username="BJensen").pk == pk
    assert scim.get_scim(f"/Users/{user['id']}").status_code == 404
    assert scim.get_scim(f"/Users/{again['id']}").status_code == 200
    # A live user with the name is still a conflict.
    duplicate = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "bjensen"})
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_users_made_outside_scim_are_still_served(scim: ScimClient) -> None:
    """No companion row yet: not soft-deleted (the exclusion keeps NULLs)."""
    get_user_model().objects.create_user(username="local")
    listed = scim.get_scim('/Users?filter=userName eq "local"').json()
    assert listed["totalResults"] == 1
    assert scim.scim("DELETE", f"/Users/{listed['Resources'][0]['id']}").status_code == 204
    assert scim.get_scim('/Users?filter=userName eq "local"').json()["totalResults"] == 0


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_soft_delete_with_a_stale_etag_changes_nothing(scim: ScimClient) -> None:
    user = create_user(scim)
    response = scim.scim("DELETE", f"/Users/{user['id']}", headers={"If-Match": 'W/"999"'})
    assert response.status_code == 412
    assert get_user_model().objects.get(username="bjensen").is_active is True
    assert scim.get_scim(f"/Users/{user['id']}").status_code == 200


@pytest.mark.scim_settings({"USER_DELETE": "archive"})
def test_an_unknown_delete_mode_is_a_configuration_error() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="USER_DELETE"):
        UserAdapter().delete_mode()
