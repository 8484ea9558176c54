"""Errors (RFC 7644 section 3.12): every failure is a SCIM error body with the RFC status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_scim.models import ScimToken
from tests.conftest import ScimClient, create_user, db_state

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

pytestmark = pytest.mark.django_db


def _assert_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"]
    if scim_type is not None:
        assert body["scimType"] == scim_type
    return body


def test_malformed_json_is_400_invalid_syntax(scim: ScimClient) -> None:
    before = db_state()
    _assert_error(scim.scim("POST", "/Users", raw='{"schemas": ["'), 400, "invalidSyntax")
    _assert_error(scim.scim("POST", "/Users", raw="[1, 2]"), 400, "invalidSyntax")
    assert db_state() == before


def test_unknown_id_is_404(scim: ScimClient) -> None:
    _assert_error(scim.get_scim("/Users/26118915-6090-4610-87e4-49d8ca9f808d"), 404)
    _assert_error(scim.get_scim("/Groups/not-even-a-uuid"), 404)
    _assert_error(scim.get_scim("/NoSuchType"), 404)
    _assert_error(scim.get_scim("/Users/a/b/c"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/Users"),
        ("PUT", "/Users"),
        ("POST", "/Users/{id}"),
        ("POST", "/ServiceProviderConfig"),
        ("DELETE", "/Schemas"),
        ("PUT", "/ResourceTypes"),
    ],
)
def test_wrong_method_is_405(scim: ScimClient, method: str, path: str) -> None:
    user = create_user(scim)
    _assert_error(scim.scim(method, path.format(id=user["id"]), {"schemas": [USER]}), 405)


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_missing_or_invalid_token_is_401_with_www_authenticate(
    anonymous: ScimClient, header: str | None
) -> None:
    """RFC 7644 section 2 / RFC 6750 section 3: 401 with a Bearer challenge."""
    headers = {"Authorization": header} if header else {}
    response = anonymous.scim("GET", "/Users", headers=headers)
    _assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(scim: ScimClient) -> None:
    ScimToken.objects.update(revoked_at="2020-01-01T00:00:00Z")
    _assert_error(scim.get_scim("/Users"), 401)


def test_wrong_content_type_is_415(scim: ScimClient) -> None:
    before = db_state()
    body = json.dumps({"schemas": [USER], "userName": "x"})
    _assert_error(scim.scim("POST", "/Users", raw=body, content_type="text/plain"), 415)
    _assert_error(
        scim.scim("POST", "/Users", raw="userName=x", content_type="application/x-www-form-urlencoded"), 415
    )
    assert db_state() == before


def test_plain_application_json_is_accepted(scim: ScimClient) -> None:
    """RFC 7644 section 3.8: servers accept application/json too; answers are application/scim+json."""
    response = scim.scim(
        "POST", "/Users", {"schemas": [USER], "userName": "json"}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/scim+json"
    assert (
        scim.get_scim("/Users", headers={"Accept": "application/json"})["Content-Type"]
        == "application/scim+json"
    )


def test_unexpected_errors_are_scim_500_bodies(scim: ScimClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback of the exception handler: a logged SCIM 500, not Django's HTML page."""
    from django_scim.adapters.users import UserAdapter

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(UserAdapter, "render_many", boom)
    response = scim.get_scim("/Users")
    body = _assert_error(response, 500)
    assert "boom" not in body["detail"]


class _DatabaseError(Exception):
    """Stands for a psycopg error: what Django's OperationalError wraps, with its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "55P03"])
def test_a_write_aborted_by_a_concurrent_one_is_409(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch, sqlstate: str
) -> None:
    """RFC 7644 section 3.12: 409 when the resource changed under the request (a deadlock or
    serialization failure the database resolved by aborting this write); nothing is written."""
    from django.db import OperationalError

    from django_scim.adapters.users import UserAdapter

    user = create_user(scim)
    before = db_state()
    original = UserAdapter.pre_save

    def aborted(self: UserAdapter, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        raise OperationalError("aborted") from _DatabaseError(sqlstate)

    monkeypatch.setattr(UserAdapter, "pre_save", aborted)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Babs"}],
    }
    body = _assert_error(scim.scim("PATCH", f"/Users/{user['id']}", patch), 409)
    assert "again" in body["detail"]
    assert db_state() == before


def test_other_operational_errors_stay_500(scim: ScimClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    from django_scim.adapters.users import UserAdapter

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection") from _DatabaseError("08006")

    monkeypatch.setattr(UserAdapter, "render_many", down)
    _assert_error(scim.get_scim("/Users"), 500)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
attribute_names = st.sampled_from(
    [
        "userName",
        "name",
        "emails",
        "active",
        "password",
        "externalId",
        "id",
        "meta",
        "groups",
        "addresses",
        "phoneNumbers",
        "x509Certificates",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "displayName",
        "members",
        "schemas",
    ]
)
bodies = st.one_of(
    json_values,
    st.dictionaries(attribute_names, json_values, max_size=6).map(lambda d: {"schemas": [USER], **d}),
    st.dictionaries(attribute_names, json_values, max_size=6).map(
        lambda d: {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], **d}
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, endpoint=st.sampled_from(["Users", "Groups"]), method=st.sampled_from(["POST", "PUT"]))
def test_no_body_produces_a_500_or_a_partial_write(
    scim: ScimClient, body: Any, endpoint: str, method: str
) -> None:
    """RFC 7644 section 3.12: any JSON body gets a 2xx or a SCIM 4xx; a 4xx writes nothing."""
    if not hasattr(scim, "_existing"):
        scim._existing = {  # type: ignore[attr-defined]
            "Users": create_user(scim, userName="fuzz-target")["id"],
            "Groups": scim.scim(
                "POST",
                "/Groups",
                {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "fuzz-group"},
            ).json()["id"],
        }
    path = f"/{endpoint}" if method == "POST" else f"/{endpoint}/{scim._existing[endpoint]}"  # type: ignore[attr-defined]
    before = db_state()
    response = scim.scim(method, path, body)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["schemas"] == [ERROR]
        assert db_state() == before
    elif method == "POST":
        # Undo the create so the next example starts from the same state.
        scim.scim("DELETE", response.json()["meta"]["location"].split("/scim/v2")[1])
