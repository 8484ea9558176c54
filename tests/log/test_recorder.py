"""The provisioning log records every SCIM write with its outcome, outside the request's
transaction, so the failed writes an identity provider asks about are there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from django_scim.log.redact import REDACTED
from django_scim.models import ProvisioningLog, ScimToken
from tests.conftest import ScimClient, create_user

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _only() -> ProvisioningLog:
    entries = list(ProvisioningLog.objects.all())
    assert len(entries) == 1, entries
    return entries[0]


@pytest.mark.django_db
def test_a_created_user_is_logged_with_everything_and_no_password(scim: ScimClient) -> None:
    response = scim.scim(
        "POST",
        "/Users",
        {"schemas": [USER], "userName": "bjensen", "password": "t1meMa$heen"},
        headers={"User-Agent": "Okta SCIM Client 1.0.0"},
    )
    assert response.status_code == 201
    entry = _only()
    token = ScimToken.objects.get()
    assert entry.token == token and entry.token_name == "tests"
    assert entry.tenant is None
    assert (entry.method, entry.path, entry.status) == ("POST", "/scim/v2/Users", 201)
    assert entry.resource_type == "User" and entry.resource_id == response.json()["id"]
    assert entry.scim_type == "" and entry.detail == ""
    assert entry.duration_ms >= 0
    assert entry.user_agent == "Okta SCIM Client 1.0.0"
    stored = json.loads(entry.request_body)
    assert stored == {"schemas": [USER], "userName": "bjensen", "password": REDACTED}
    assert "t1meMa$heen" not in str(list(ProvisioningLog.objects.values_list()))


@pytest.mark.django_db
def test_put_patch_delete_are_logged_with_the_resource_id(scim: ScimClient) -> None:
    user = create_user(scim)
    path = f"/Users/{user['id']}"
    scim.scim("PUT", path, {"schemas": [USER], "userName": "bjensen", "nickName": "Babs"})
    scim.scim(
        "PATCH",
        path,
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "password", "value": "p"}]},
    )
    scim.scim("DELETE", path)
    entries = list(ProvisioningLog.objects.order_by("id"))
    assert [e.method for e in entries] == ["POST", "PUT", "PATCH", "DELETE"]
    assert {e.resource_id for e in entries} == {user["id"]}
    assert {e.resource_type for e in entries} == {"User"}
    patch_body = json.loads(entries[2].request_body)
    assert patch_body["Operations"][0]["value"] == REDACTED
    assert entries[3].request_body == ""


@pytest.mark.django_db
def test_failed_writes_are_logged_with_scim_type_and_detail(scim: ScimClient) -> None:
    """The 409 (RFC 7644 section 3.3, uniqueness) and 400 (invalidValue) an IdP gets back."""
    create_user(scim)
    duplicate = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "bjensen"})
    invalid = scim.scim("POST", "/Users", {"schemas": [USER]})
    assert (duplicate.status_code, invalid.status_code) == (409, 400)
    conflict, bad = ProvisioningLog.objects.order_by("id")[1:]
    assert (conflict.status, conflict.scim_type) == (409, "uniqueness")
    assert conflict.detail == duplicate.json()["detail"]
    assert conflict.resource_id == ""
    assert (bad.status, bad.scim_type) == (400, invalid.json()["scimType"])
    assert "userName" in bad.detail
    assert json.loads(bad.request_body) == {"schemas": [USER]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic_requests", [False, True], ids=["autocommit", "ATOMIC_REQUESTS"])
def test_rolled_back_writes_are_still_logged(
    scim: ScimClient, atomic_requests: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ATOMIC_REQUESTS the handler rolls the request's transaction back; the entry stays."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", atomic_requests)
    create_user(scim)
    assert scim.scim("POST", "/Users", {"schemas": [USER], "userName": "bjensen"}).status_code == 409
    assert scim.scim("POST", "/Users", {"schemas": [USER], "userName": 7}).status_code == 400
    statuses = list(ProvisioningLog.objects.order_by("id").values_list("status", "scim_type"))
    assert statuses == [(201, ""), (409, "uniqueness"), (400, "invalidValue")]
    assert not connection.in_atomic_block


@pytest.mark.django_db
def test_reads_are_not_logged_by_default(scim: ScimClient) -> None:
    scim.get_scim("/Users")
    scim.get_scim("/ServiceProviderConfig")
    assert not ProvisioningLog.objects.exists()


@pytest.mark.django_db
@pytest.mark.scim_settings({"LOG_READS": True})
def test_reads_are_logged_when_asked(scim: ScimClient) -> None:
    user = create_user(scim)
    scim.get_scim(f"/Users/{user['id']}")
    scim.get_scim("/Users?filter=userName%20eq%20%22bjensen%22")
    scim.get_scim("/Users/missing")
    entries = list(ProvisioningLog.objects.order_by("id"))
    assert [(e.method, e.status) for e in entries] == [
        ("POST", 201),
        ("GET", 200),
        ("GET", 200),
        ("GET", 404),
    ]
    assert entries[1].resource_id == user["id"]
    assert entries[2].path == "/scim/v2/Users?filter=userName%20eq%20%22bjensen%22"


@pytest.mark.django_db
@pytest.mark.scim_settings({"LOG_ENABLED": False})
def test_log_can_be_turned_off(scim: ScimClient) -> None:
    create_user(scim)
    assert not ProvisioningLog.objects.exists()


@pytest.mark.django_db
def test_unauthenticated_writes_are_logged_without_body(anonymous: ScimClient) -> None:
    """A wrong or expired token is a common reason for failed provisioning: keep the attempt,
    but not what an unauthenticated sender chose to store."""
    response = anonymous.scim("POST", "/Users", {"schemas": [USER], "userName": "x"})
    assert response.status_code == 401
    entry = _only()
    assert entry.status == 401 and entry.token is None and entry.request_body == ""


@pytest.mark.django_db
@pytest.mark.scim_settings({"MAX_BODY_SIZE": 100})
def test_too_large_bodies_are_logged_without_body(scim: ScimClient) -> None:
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "x" * 200})
    assert response.status_code == 413
    entry = _only()
    assert (entry.status, entry.request_body) == (413, "")


@pytest.mark.django_db
def test_invalid_json_is_logged_without_body(scim: ScimClient) -> None:
    response = scim.scim("POST", "/Users", raw='{"userName": "x", "password": "oops"')
    assert response.status_code == 400
    entry = _only()
    assert entry.scim_type == "invalidSyntax" and entry.request_body == ""


@pytest.mark.django_db
def test_unknown_endpoint_write_is_logged_with_its_body(scim: ScimClient) -> None:
    response = scim.scim("POST", "/Devices", {"name": "x", "secret": "s"})
    assert response.status_code == 404
    entry = _only()
    assert entry.resource_type == "" and entry.path == "/scim/v2/Devices"
    assert json.loads(entry.request_body) == {"name": "x", "secret": REDACTED}


@pytest.mark.django_db
@pytest.mark.scim_settings({"LOG_MAX_BODY_SIZE": 40})
def test_stored_body_is_capped(scim: ScimClient) -> None:
    create_user(scim, nickName="n" * 500)
    entry = _only()
    assert "[truncated:" in entry.request_body and len(entry.request_body) < 100


@pytest.mark.django_db
def test_a_failing_log_write_does_not_break_the_response(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ProvisioningLog, "save", broken)
    assert scim.scim("POST", "/Users", {"schemas": [USER], "userName": "a"}).status_code == 201
    assert "Could not write a provisioning log entry" in caplog.text
    assert scim.get_scim("/Users").json()["totalResults"] == 1
