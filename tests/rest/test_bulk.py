"""/Bulk (RFC 7644 section 3.7): operations, bulkId references, circles, limits, transactions."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.users import UserAdapter
from django_scim.core.errors import PayloadTooLarge
from django_scim.models import ScimUser
from django_scim.rest.bulk import BulkView
from django_scim.rest.parsers import ScimJsonParser
from tests.conftest import ScimClient, create_user, db_state

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def bulk_body(*operations: Any, **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


def post_user(bulk_id: str, user_name: str, **fields: Any) -> dict[str, Any]:
    data = {"schemas": [USER], "userName": user_name, **fields}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data}


def post_group(bulk_id: str, name: str, *members: str) -> dict[str, Any]:
    data = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def run(scim: ScimClient, *operations: Any, status: int = 200, **extra: Any) -> Any:
    response = scim.scim("POST", "/Bulk", bulk_body(*operations, **extra))
    assert response.status_code == status, response.content
    return response.json()


def test_rfc_example_user_then_group(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.2: "bulkId:qwerty" is replaced by the permanent id."""
    body = run(scim, post_user("qwerty", "alice"), post_group("ytrewq", "Tour Guides", "bulkId:qwerty"))
    assert body["schemas"] == [BULK_RESPONSE]
    user_result, group_result = body["Operations"]
    assert user_result["status"] == "201" and user_result["bulkId"] == "qwerty"
    assert user_result["method"] == "POST"
    user_id = user_result["location"].rsplit("/", 1)[1]
    assert user_result["location"].endswith(f"/scim/v2/Users/{user_id}")
    assert user_result["version"] == 'W/"1"'
    group = scim.get_scim(group_result["location"].split("/scim/v2")[1]).json()
    assert [m["value"] for m in group["members"]] == [user_id]
    assert group["displayName"] == "Tour Guides"


def test_reference_to_a_later_operation(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.2: references resolve in any order (the member comes later)."""
    body = run(scim, post_group("g", "Guides", "bulkId:u"), post_user("u", "alice"))
    assert [op["status"] for op in body["Operations"]] == ["201", "201"]
    # Results are reported in request order.
    assert [op["bulkId"] for op in body["Operations"]] == ["g", "u"]
    assert list(Group.objects.get(name="Guides").user_set.values_list("username", flat=True)) == ["alice"]


def test_reference_in_path_and_patch(scim: ScimClient) -> None:
    """A PUT / PATCH / DELETE may name a resource created in the same request by bulkId."""
    body = run(
        scim,
        {
            "method": "PATCH",
            "path": "/Users/bulkId:u",
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Alice L."}],
            },
        },
        post_user("u", "alice"),
        {
            "method": "PUT",
            "path": "/Groups/bulkId:g",
            "data": {"schemas": [GROUP], "displayName": "Renamed", "members": [{"value": "bulkId:u"}]},
        },
        post_group("g", "Original"),
    )
    statuses = [op["status"] for op in body["Operations"]]
    assert statuses == ["200", "201", "200", "201"], body
    user = scim.get_scim(body["Operations"][1]["location"].split("/scim/v2")[1]).json()
    assert user["displayName"] == "Alice L."
    assert body["Operations"][0]["version"] == 'W/"2"'
    group = Group.objects.get()
    assert group.name == "Renamed" and list(group.user_set.values_list("username", flat=True)) == ["alice"]


def test_rfc_circle_of_groups_is_409_when_groups_cannot_hold_groups(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.1 example: groups A and B, each a member of the other.

    The circle is tried (both created, then completed), but contrib.auth groups hold users only,
    so completing fails; section 3.7.1 allows 409 then, and nothing of the circle remains.
    """
    before = db_state()
    body = run(scim, post_group("a", "Group A", "bulkId:b"), post_group("b", "Group B", "bulkId:a"))
    assert [op["status"] for op in body["Operations"]] == ["409", "409"]
    assert "Unknown member id" in body["Operations"][0]["response"]["detail"]
    assert db_state() == before


def test_circular_user_references_resolve_by_create_then_replace(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.1: two users each the other's manager: created, then completed."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

    def user(bulk_id: str, name: str, manager: str) -> dict[str, Any]:
        op = post_user(bulk_id, name, **{enterprise: {"manager": {"value": f"bulkId:{manager}"}}})
        op["data"]["schemas"].append(enterprise)
        return op

    body = run(scim, user("a", "ann", "b"), user("b", "bob", "a"))
    a, b = body["Operations"]
    assert (a["status"], b["status"]) == ("201", "201"), body
    a_id, b_id = (op["location"].rsplit("/", 1)[1] for op in (a, b))
    ann = scim.get_scim(f"/Users/{a_id}").json()
    bob = scim.get_scim(f"/Users/{b_id}").json()
    assert ann[enterprise]["manager"]["value"] == b_id
    assert bob[enterprise]["manager"]["value"] == a_id
    # Created and then completed: the reported version is the final one.
    assert a["version"] == ann["meta"]["version"]


def test_circle_that_cannot_be_resolved_is_409(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.1: "MAY stop after a failed attempt and instead return ... 409"."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ok = post_user("a", "ann", **{enterprise: {"manager": {"value": "bulkId:b"}}})
    ok["data"]["schemas"].append(enterprise)
    # The second user's userName clashes with the first: the circle cannot be completed.
    bad = post_user("b", "ANN", **{enterprise: {"manager": {"value": "bulkId:a"}}})
    bad["data"]["schemas"].append(enterprise)
    before = db_state()
    body = run(scim, ok, bad)
    assert [op["status"] for op in body["Operations"]] == ["409", "409"]
    assert "circle" in body["Operations"][0]["response"]["detail"]
    assert body["Operations"][0]["response"]["schemas"] == [ERROR]
    assert "location" not in body["Operations"][0]
    assert db_state() == before


def test_per_operation_errors_and_continue(scim: ScimClient) -> None:
    """RFC 7644 section 3.7: the service provider continues after a failure; errors per operation."""
    create_user(scim, userName="taken")
    body = run(
        scim,
        post_user("a", "one"),
        post_user("b", "taken"),
        {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
        post_user("c", "three"),
        {"method": "POST", "path": "/Nowhere", "bulkId": "n", "data": {}},
        {"method": "GET", "path": "/Users"},
    )
    ops = body["Operations"]
    assert [op["status"] for op in ops] == ["201", "409", "404", "201", "404", "400"]
    assert ops[1]["response"]["scimType"] == "uniqueness"
    assert ops[1]["response"]["status"] == "409"
    assert "location" not in ops[1]  # a failed POST has no location (section 3.7.3)
    assert ops[2]["location"].endswith("/Users/00000000-0000-0000-0000-000000000000")
    assert User.objects.filter(username__in=["one", "three"]).count() == 2


def test_references_to_failed_or_undefined_operations(scim: ScimClient) -> None:
    create_user(scim, userName="taken")
    body = run(
        scim,
        post_user("dup", "taken"),
        post_group("g", "G", "bulkId:dup"),
        post_group("h", "H", "bulkId:nobody"),
        post_user("x", "x1"),
        post_user("x", "x2"),
    )
    statuses = [op["status"] for op in body["Operations"]]
    assert statuses == ["409", "409", "400", "201", "400"]
    assert "bulkId:nobody" in body["Operations"][2]["response"]["detail"]
    assert "earlier operation" in body["Operations"][4]["response"]["detail"]
    assert not Group.objects.exists()


def test_fail_on_errors_stops_processing(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.3: with failOnErrors 1, processing stops at the first error."""
    create_user(scim, userName="taken")
    body = run(scim, post_user("a", "taken"), post_user("b", "fresh"), failOnErrors=1)
    assert [op["status"] for op in body["Operations"]] == ["409"]
    assert not User.objects.filter(username="fresh").exists()
    body = run(
        scim, post_user("a", "taken"), post_user("b", "taken"), post_user("c", "fresh"), failOnErrors=2
    )
    assert [op["status"] for op in body["Operations"]] == ["409", "409"]


def test_version_is_checked_like_if_match(scim: ScimClient) -> None:
    """RFC 7644 section 3.7: "version" of a PUT/PATCH/DELETE is the If-Match of that operation."""
    user = create_user(scim, userName="alice")
    path = f"/Users/{user['id']}"
    data = {"schemas": [USER], "userName": "alice", "displayName": "A"}
    body = run(
        scim,
        {"method": "PUT", "path": path, "version": 'W/"7"', "data": data},
        {"method": "PUT", "path": path, "version": user["meta"]["version"], "data": data},
        {"method": "DELETE", "path": path, "version": user["meta"]["version"]},
    )
    statuses = [op["status"] for op in body["Operations"]]
    assert statuses == ["412", "200", "412"]
    assert body["Operations"][1]["version"] == 'W/"2"'
    assert User.objects.filter(username="alice").exists()


def test_delete_operation(scim: ScimClient) -> None:
    user = create_user(scim, userName="alice")
    body = run(scim, {"method": "DELETE", "path": f"/Users/{user['id']}"})
    assert body["Operations"] == [
        {"method": "DELETE", "location": f"http://testserver/scim/v2/Users/{user['id']}", "status": "204"}
    ]
    assert not User.objects.exists()


def test_invalid_data_never_500(scim: ScimClient) -> None:
    """Errors inside operations are per-operation SCIM errors."""
    body = run(
        scim,
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": "not an object"},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER]}},
        {"method": "PATCH", "path": "/Users/nope", "data": {"schemas": ["x"], "Operations": []}},
        {"method": "PUT", "path": "/Groups/x/y", "data": {}},
        "not an operation",
    )
    assert [op["status"] for op in body["Operations"]] == ["400", "400", "400", "400", "400"]


class ExplodingUserAdapter(UserAdapter):
    """A site hook with a bug: an unexpected exception for one user name."""

    def pre_save(self, obj: Any, document: Any, *, created: bool) -> None:
        if document.get("userName") == "boom":
            raise RuntimeError("bug in a site hook")


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.rest.test_bulk.ExplodingUserAdapter"}}}
)
def test_unexpected_exception_is_that_operations_500(scim: ScimClient, caplog: Any) -> None:
    """A bug inside one operation is logged and reported as its 500; the request still answers 200."""
    body = run(scim, post_user("a", "boom"), post_user("b", "fine"))
    assert [op["status"] for op in body["Operations"]] == ["500", "201"]
    assert body["Operations"][0]["response"]["schemas"] == [ERROR]
    assert "bug in a site hook" not in json.dumps(body)  # no internals leak to the client
    assert "Unexpected error" in caplog.text
    assert list(User.objects.values_list("username", flat=True)) == ["fine"]


@pytest.mark.parametrize(
    "body",
    [[], {"Operations": []}, {"schemas": [BULK_REQUEST], "Operations": "x"}],
)
def test_malformed_request_is_400(scim: ScimClient, body: Any) -> None:
    response = scim.scim("POST", "/Bulk", body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


@pytest.mark.scim_settings({"BULK_MAX_OPERATIONS": 2})
def test_max_operations_is_413(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.4: more operations than maxOperations: 413 with the limit."""
    response = scim.scim("POST", "/Bulk", bulk_body(*(post_user(f"u{n}", f"u{n}") for n in range(3))))
    assert response.status_code == 413
    assert response.json()["detail"] == "The number of operations exceeds the maxOperations (2)."
    assert not User.objects.exists()


@pytest.mark.scim_settings({"BULK_MAX_PAYLOAD_SIZE": 300})
def test_max_payload_size_is_413(scim: ScimClient) -> None:
    """RFC 7644 section 3.7.4: a body over maxPayloadSize: 413, whether or not Content-Length says so."""
    body = bulk_body(*(post_user(f"u{n}", f"user-{n}") for n in range(5)))
    response = scim.scim("POST", "/Bulk", body)
    assert response.status_code == 413
    assert response.json()["detail"] == "The size of the bulk operation exceeds the maxPayloadSize (300)."
    assert response.json()["schemas"] == [ERROR]
    # Without Content-Length (a chunked body): the parser stops at the limit.
    with pytest.raises(PayloadTooLarge):
        ScimJsonParser().parse(io.BytesIO(json.dumps(body).encode()), parser_context={"view": BulkView()})
    assert not User.objects.exists()


def test_service_provider_config_advertises_bulk(scim: ScimClient, settings: Any) -> None:
    """RFC 7643 section 5: bulk.supported, maxOperations and maxPayloadSize from settings."""
    config = scim.get_scim("/ServiceProviderConfig").json()
    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    settings.SCIM = {"BULK_MAX_OPERATIONS": 0}
    config = scim.get_scim("/ServiceProviderConfig").json()
    assert config["bulk"]["supported"] is False
    response = scim.scim("POST", "/Bulk", bulk_body(post_user("a", "a")))
    assert response.status_code == 501


def test_bulk_needs_authentication(anonymous: ScimClient) -> None:
    response = anonymous.scim("POST", "/Bulk", bulk_body(post_user("a", "a")))
    assert response.status_code == 401
    assert not User.objects.exists()


# --- transaction model --------------------------------------------------------------------


def test_each_operation_is_atomic_by_default(scim: ScimClient) -> None:
    """Default "operation" mode: a failure in the middle leaves the others applied."""
    create_user(scim, userName="taken")
    body = run(scim, post_user("a", "first"), post_user("b", "taken"), post_user("c", "last"))
    assert [op["status"] for op in body["Operations"]] == ["201", "409", "201"]
    assert set(User.objects.values_list("username", flat=True)) == {"taken", "first", "last"}


@pytest.mark.scim_settings({"BULK_TRANSACTION": "request"})
def test_all_or_nothing_rolls_back_everything(scim: ScimClient) -> None:
    """ "request" mode: a failure in the middle rolls back the operations before it, too."""
    create_user(scim, userName="taken")
    before = db_state()
    response = scim.scim(
        "POST",
        "/Bulk",
        bulk_body(
            post_user("a", "first"),
            post_group("g", "G", "bulkId:a"),
            post_user("b", "taken"),
            post_user("c", "c"),
        ),
    )
    assert response.status_code == 409, response.content
    error = response.json()
    assert error["schemas"] == [ERROR] and error["scimType"] == "uniqueness"
    assert error["detail"].startswith("Operation 3 (POST /Users) failed and no operation was applied")
    assert db_state() == before
    assert ScimUser.objects.count() == 1


@pytest.mark.scim_settings({"BULK_TRANSACTION": "request"})
def test_all_or_nothing_success(scim: ScimClient) -> None:
    body = run(scim, post_group("g", "G", "bulkId:a"), post_user("a", "first"))
    assert [op["status"] for op in body["Operations"]] == ["201", "201"]
    assert Group.objects.get().user_set.count() == 1


# --- cost -----------------------------------------------------------------------------------


#: Queries of one user creation inside /Bulk: the uniqueness check, the insert and the companion
#: insert, plus the savepoint of the adapter's transaction (2), which is a plain BEGIN/COMMIT
#: outside the test transaction. A POST /Users costs the same per resource.
QUERIES_PER_CREATE = 5


def test_queries_per_operation_are_bounded(scim: ScimClient, django_assert_max_num_queries: Any) -> None:
    """100 user creations: a fixed number of queries per operation, nothing per request size."""
    body = bulk_body(*(post_user(f"u{n}", f"user{n}", name={"givenName": "U"}) for n in range(100)))
    # + 5 per request, whatever its size: the token lookup and last_used update, the
    # provisioning log entry in its savepoint.
    with django_assert_max_num_queries(100 * QUERIES_PER_CREATE + 5):
        response = scim.scim("POST", "/Bulk", body)
    assert response.status_code == 200
    assert User.objects.count() == 100


def test_queries_grow_linearly(scim: ScimClient) -> None:
    """Doubling the operations doubles the queries (no quadratic step)."""

    def measure(count: int, prefix: str) -> int:
        body = bulk_body(*(post_user(f"{prefix}{n}", f"{prefix}{n}") for n in range(count)))
        with CaptureQueriesContext(connection) as captured:
            response = scim.scim("POST", "/Bulk", body)
        assert response.status_code == 200
        return len(captured)

    small, large = measure(50, "s"), measure(100, "l")
    assert large - small <= small + 5
