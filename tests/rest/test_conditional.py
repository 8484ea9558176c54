"""ETags and conditional requests: RFC 7644 section 3.14 and RFC 7232."""

from __future__ import annotations

import pytest
from django.utils.http import http_date

from tests.conftest import ScimClient, create_user, db_state

USER = "urn:ietf:params:scim:schemas:core:2.0:User"

pytestmark = pytest.mark.django_db


def test_every_resource_response_has_etag_equal_to_meta_version(scim: ScimClient) -> None:
    """RFC 7644 section 3.14: ETag header = meta.version, a weak validator."""
    created = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "e"})
    assert created["ETag"] == created.json()["meta"]["version"] == 'W/"1"'
    fetched = scim.get_scim(f"/Users/{created.json()['id']}")
    assert fetched["ETag"] == fetched.json()["meta"]["version"]
    assert fetched["Last-Modified"]


def test_version_changes_on_every_write(scim: ScimClient) -> None:
    created = create_user(scim)
    replaced = scim.scim("PUT", f"/Users/{created['id']}", {"schemas": [USER], "userName": "bjensen"}).json()
    assert replaced["meta"]["version"] != created["meta"]["version"]
    again = scim.scim("PUT", f"/Users/{created['id']}", {"schemas": [USER], "userName": "bjensen"}).json()
    assert again["meta"]["version"] not in (created["meta"]["version"], replaced["meta"]["version"])


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_if_match_mismatch_is_412_and_changes_nothing(scim: ScimClient, method: str) -> None:
    """RFC 7644 section 3.14: a stale If-Match -> 412 Precondition Failed, nothing changed."""
    created = create_user(scim)
    before = db_state()
    response = scim.scim(
        method,
        f"/Users/{created['id']}",
        {"schemas": [USER], "userName": "changed"},
        headers={"If-Match": 'W/"999"'},
    )
    assert response.status_code == 412
    assert response.json()["status"] == "412"
    assert db_state() == before


def test_if_match_current_version_succeeds(scim: ScimClient) -> None:
    created = create_user(scim)
    version = created["meta"]["version"]
    response = scim.scim(
        "PUT", f"/Users/{created['id']}", {"schemas": [USER], "userName": "ok"}, headers={"If-Match": version}
    )
    assert response.status_code == 200
    # The same tag again is now stale.
    stale = scim.scim("DELETE", f"/Users/{created['id']}", headers={"If-Match": version})
    assert stale.status_code == 412
    assert scim.scim("DELETE", f"/Users/{created['id']}", headers={"If-Match": "*"}).status_code == 204


def test_if_none_match_returns_304(scim: ScimClient) -> None:
    """RFC 7232 section 3.2 / RFC 7644 section 3.14: If-None-Match with the current tag -> 304."""
    created = create_user(scim)
    url = f"/Users/{created['id']}"
    response = scim.get_scim(url, headers={"If-None-Match": created["meta"]["version"]})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == created["meta"]["version"]
    assert scim.get_scim(url, headers={"If-None-Match": 'W/"0"'}).status_code == 200


def test_if_modified_since(scim: ScimClient) -> None:
    """RFC 7232 section 3.3: If-Modified-Since at or after Last-Modified -> 304."""
    created = create_user(scim)
    url = f"/Users/{created['id']}"
    last_modified = scim.get_scim(url)["Last-Modified"]
    assert scim.get_scim(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert scim.get_scim(url, headers={"If-Modified-Since": http_date(0)}).status_code == 200


def test_if_unmodified_since(scim: ScimClient) -> None:
    """RFC 7232 section 3.4: a write with If-Unmodified-Since before Last-Modified -> 412."""
    created = create_user(scim)
    before = db_state()
    response = scim.scim(
        "PUT",
        f"/Users/{created['id']}",
        {"schemas": [USER], "userName": "x"},
        headers={"If-Unmodified-Since": http_date(0)},
    )
    assert response.status_code == 412
    assert db_state() == before
    last_modified = scim.get_scim(f"/Users/{created['id']}")["Last-Modified"]
    ok = scim.scim(
        "PUT",
        f"/Users/{created['id']}",
        {"schemas": [USER], "userName": "x"},
        headers={"If-Unmodified-Since": last_modified},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/Users/{id}", "/Groups/{gid}"])
def test_head_returns_headers_only(scim: ScimClient, path: str) -> None:
    """HEAD on a resource URL: ETag and Last-Modified, no body (RFC 7231 section 4.3.2)."""
    user = create_user(scim)
    group = scim.scim(
        "POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    ).json()
    url = path.format(id=user["id"], gid=group["id"])
    response = scim.scim("HEAD", url)
    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"].startswith('W/"')
    assert response["Last-Modified"]
    assert scim.scim("HEAD", "/Users/00000000-0000-0000-0000-000000000000").status_code == 404


def test_membership_change_changes_the_group_etag(scim: ScimClient) -> None:
    group_schema = "urn:ietf:params:scim:schemas:core:2.0:Group"
    user = create_user(scim)
    group = scim.scim("POST", "/Groups", {"schemas": [group_schema], "displayName": "G"}).json()
    before = scim.scim("HEAD", f"/Groups/{group['id']}")["ETag"]
    scim.scim(
        "PUT",
        f"/Groups/{group['id']}",
        {"schemas": [group_schema], "displayName": "G", "members": [{"value": user["id"]}]},
    )
    assert scim.scim("HEAD", f"/Groups/{group['id']}")["ETag"] != before
