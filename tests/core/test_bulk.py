"""Bulk planning (RFC 7644 section 3.7): bulkId references, ordering, circles, request checks."""

from __future__ import annotations

import time
from typing import Any

import pytest

from django_scim.core import bulk
from django_scim.core.errors import InvalidSyntax, InvalidValue

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def _order(plan: bulk.Plan) -> list[tuple[int, ...]]:
    return [step.indices for step in plan.steps]


def test_find_references_in_data_and_path() -> None:
    """RFC 7644 section 3.7.2: a reference is the whole string "bulkId:<id>"."""
    data = {
        "members": [{"value": "bulkId:qwerty", "type": "User"}, {"value": "2819c223"}],
        "nested": {"deep": ["bulkId:ytrewq"]},
        "text": "not bulkId:inside",
        "empty": "bulkId:",
    }
    assert bulk.find_references(data) == {"qwerty", "ytrewq"}
    assert bulk.find_references(None, "/Groups/bulkId:g1") == {"g1"}


def test_plan_keeps_request_order_without_references() -> None:
    plan = bulk.plan([(None, ()), ("a", ()), (None, ())])
    assert _order(plan) == [(0,), (1,), (2,)]
    assert not any(step.circular for step in plan.steps)


def test_plan_runs_a_referenced_post_first_whatever_the_request_order() -> None:
    """RFC 7644 section 3.7.2: a group listing a member created later in the same request."""
    plan = bulk.plan([("group", {"alice"}), (None, ()), ("alice", ())])
    # Request order where nothing forces otherwise: 0 waits for 2, which runs after 1.
    assert _order(plan) == [(1,), (2,), (0,)]


def test_plan_chain_in_reverse_order() -> None:
    operations: list[tuple[str | None, set[str]]] = [(f"op{n}", {f"op{n + 1}"}) for n in range(5)]
    operations.append(("op5", set()))
    assert _order(bulk.plan(operations)) == [(5,), (4,), (3,), (2,), (1,), (0,)]


def test_plan_marks_circles() -> None:
    """RFC 7644 section 3.7.1: two groups each a member of the other form one circular step."""
    plan = bulk.plan([("a", {"b"}), ("b", {"a"}), ("c", {"a"}), ("self", {"self"})])
    steps = {step.indices: step.circular for step in plan.steps}
    assert steps == {(0, 1): True, (2,): False, (3,): True}
    order = _order(plan)
    assert order.index((0, 1)) < order.index((2,))


def test_plan_reports_duplicates_and_undefined_references() -> None:
    plan = bulk.plan([("a", ()), ("a", ()), (None, {"a", "zzz", "yyy"})])
    assert plan.definitions == {"a": 0}
    assert plan.duplicates == {1: "a"}
    assert plan.undefined == {2: ("yyy", "zzz")}
    assert sorted(i for step in plan.steps for i in step.indices) == [0, 1, 2]


def test_plan_is_linear_for_long_chains() -> None:
    """No quadratic step, no recursion: 20,000 chained references plan quickly."""
    count = 20_000
    operations = [(f"u{n}", {f"u{n + 1}"} if n + 1 < count else set()) for n in range(count)]
    started = time.perf_counter()
    plan = bulk.plan(operations)
    assert time.perf_counter() - started < 5
    assert _order(plan)[0] == (count - 1,)


def test_substitute_and_strip() -> None:
    data: dict[str, Any] = {
        "members": [{"value": "bulkId:a", "type": "User"}, {"value": "bulkId:b"}, "bulkId:b"],
        "manager": {"value": "bulkId:b", "displayName": "Boss"},
    }
    assert bulk.substitute(data, {"a": "id-a"})["members"][0] == {"value": "id-a", "type": "User"}
    stripped = bulk.strip_references(data, {"b"})
    assert stripped == {
        "members": [{"value": "bulkId:a", "type": "User"}],
        "manager": {"displayName": "Boss"},
    }
    assert data["members"][1] == {"value": "bulkId:b"}  # the input is not changed
    assert bulk.substitute_path("/Users/bulkId:a", {"a": "id-a"}) == "/Users/id-a"


def test_read_bulk_request() -> None:
    operations, fail_on_errors = bulk.read_bulk_request(
        {"schemas": [BULK_REQUEST], "failOnErrors": 2, "operations": [{}]}
    )
    assert operations == [{}] and fail_on_errors == 2
    with pytest.raises(InvalidSyntax):
        bulk.read_bulk_request([])
    with pytest.raises(InvalidSyntax):
        bulk.read_bulk_request({"schemas": ["urn:x"], "Operations": []})
    with pytest.raises(InvalidSyntax):
        bulk.read_bulk_request({"schemas": [BULK_REQUEST], "Operations": {}})
    for bad in (0, -1, "1", True, 1.5):
        with pytest.raises(InvalidValue):
            bulk.read_bulk_request({"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": bad})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("x", "JSON object"),
        ({"method": "GET", "path": "/Users"}, "'method'"),
        ({"method": "POST", "path": "Users", "data": {}}, "'path'"),
        ({"method": "POST", "path": "/Users/1", "data": {}}, "resource type endpoint"),
        ({"method": "PUT", "path": "/Users", "data": {}}, "'/Endpoint/id'"),
        ({"method": "PUT", "path": "/Users/1"}, "needs 'data'"),
        ({"method": "POST", "path": "/Users", "bulkId": 3, "data": {}}, "'bulkId'"),
        ({"method": "DELETE", "path": "/Users/1", "version": 1}, "'version'"),
    ],
)
def test_read_operation_errors(raw: object, problem: str) -> None:
    operation = bulk.read_operation(0, raw)
    assert operation.error is not None
    assert problem in operation.error.detail


def test_read_operation_normalises_method_and_keeps_fields() -> None:
    operation = bulk.read_operation(
        3, {"Method": "delete", "PATH": "/Users/bulkId:q", "version": 'W/"2"', "bulkId": "ignored"}
    )
    assert operation.error is None
    assert (operation.index, operation.method, operation.version) == (3, "DELETE", 'W/"2"')
    # Only POST defines a bulkId (RFC 7644 section 3.7).
    assert operation.bulk_id is None
    assert operation.references == {"q"}
