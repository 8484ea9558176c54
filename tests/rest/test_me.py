"""/Me (RFC 7644 section 3.11): the authenticated subject's own User resource, or 501."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: A site that lets its users reach SCIM with HTTP Basic (or their session), beside the token.
USER_AUTH = {
    "AUTHENTICATION_CLASSES": [
        "django_scim.rest.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
}


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def alice(scim: ScimClient) -> dict[str, Any]:
    return create_user(scim, userName="alice", password="s3cret-Pass", name={"givenName": "Alice"})


def test_token_client_is_not_a_user(scim: ScimClient) -> None:
    """The bearer token authenticates an identity provider: no User resource, so 501."""
    response = scim.get_scim("/Me")
    assert response.status_code == 501
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "501"
    assert scim.scim("PUT", "/Me", {"schemas": [USER], "userName": "x"}).status_code == 501
    assert scim.scim("DELETE", "/Me").status_code == 501


def test_anonymous_is_401(anonymous: ScimClient) -> None:
    assert anonymous.get_scim("/Me").status_code == 401


@pytest.mark.scim_settings(USER_AUTH)
def test_get_me_with_basic_auth(anonymous: ScimClient, alice: dict[str, Any]) -> None:
    """RFC 7644 section 3.11: processed directly; Location is the aliased resource's location."""
    response = anonymous.get_scim("/Me", headers=basic("alice", "s3cret-Pass"))
    assert response.status_code == 200, response.content
    me = response.json()
    assert me["id"] == alice["id"] and me["userName"] == "alice"
    assert response["Location"] == alice["meta"]["location"]
    assert response["ETag"] == alice["meta"]["version"]
    assert "password" not in me
    projected = anonymous.get_scim("/Me?attributes=userName", headers=basic("alice", "s3cret-Pass")).json()
    assert set(projected) == {"schemas", "id", "userName"}
    cached = anonymous.get_scim(
        "/Me", headers={**basic("alice", "s3cret-Pass"), "If-None-Match": alice["meta"]["version"]}
    )
    assert cached.status_code == 304


@pytest.mark.scim_settings(USER_AUTH)
def test_me_for_a_user_made_outside_scim(anonymous: ScimClient) -> None:
    """A site user without SCIM state gets its companion (and id) on first use."""
    user = User.objects.create_user("site-user", password="pw-12345!")
    anonymous.force_login(user)
    response = anonymous.get_scim("/Me")
    assert response.status_code == 200, response.content
    assert response.json()["userName"] == "site-user"
    assert response["Location"].endswith(f"/Users/{response.json()['id']}")


@pytest.mark.scim_settings(USER_AUTH)
def test_put_patch_delete_me(anonymous: ScimClient, alice: dict[str, Any]) -> None:
    """PUT, PATCH and DELETE on /Me act on the subject's User resource (RFC 7644 section 3.11)."""
    auth = basic("alice", "s3cret-Pass")
    put = anonymous.scim(
        "PUT",
        "/Me",
        {"schemas": [USER], "userName": "alice", "displayName": "Alice A."},
        headers={**auth, "If-Match": alice["meta"]["version"]},
    )
    assert put.status_code == 200, put.content
    assert put.json()["displayName"] == "Alice A."
    assert put["Location"] == alice["meta"]["location"]
    stale = anonymous.scim(
        "PUT", "/Me", {"schemas": [USER], "userName": "alice"}, headers={**auth, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412

    patch = anonymous.scim(
        "PATCH",
        "/Me",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "nickName", "value": "Al"}]},
        headers=auth,
    )
    assert patch.status_code == 200, patch.content
    assert patch.json()["nickName"] == "Al"
    assert patch["Location"] == alice["meta"]["location"]

    assert (
        anonymous.scim("POST", "/Me", {"schemas": [USER], "userName": "x"}, headers=auth).status_code == 501
    )
    deleted = anonymous.scim("DELETE", "/Me", headers=auth)
    assert deleted.status_code == 204
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.scim_settings({**USER_AUTH, "RESOURCE_TYPES": {"User": None}})
def test_me_without_user_resource_type(anonymous: ScimClient) -> None:
    User.objects.create_user("bob", password="pw-12345!")
    assert anonymous.get_scim("/Me", headers=basic("bob", "pw-12345!")).status_code == 501
