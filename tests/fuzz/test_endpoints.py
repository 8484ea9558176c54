"""Fuzzing every SCIM endpoint with hypothesis (issue 6 point 4).

Random JSON bodies, filters (pieces of the RFC 7644 section 3.4.2.2 grammar mixed with garbage),
PATCH operations (ops, paths and values drawn from the schema's attribute names, value filters,
URNs and junk), query parameters (attributes, excludedAttributes, sortBy, sortOrder, startIndex,
count, cursor) and Bulk requests, at /Users, /Groups, /Users/{id}, /Groups/{id}, the /.search
endpoints, /Bulk, /Me and discovery. The properties, for every request:

- never a 500: the status is below 500, or 501 where the RFC gives it (/Me without a subject,
  RFC 7644 section 3.11);
- every 4xx/5xx is a SCIM error body (RFC 7644 section 3.12);
- a rejected request (4xx/5xx) writes nothing: :func:`tests.conftest.db_state` is the same
  before and after. For /Bulk, where each operation is atomic on its own, no operation may
  answer 500 and a request whose operations all failed writes nothing.

About 5,000 cases in all (``SCIM_FUZZ_SCALE`` multiplies the numbers: 0.1 for a quick look, 10 for
a long hunt). ``derandomize`` keeps CI reproducible; a failure prints the minimal input.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ScimClient, create_user, db_state

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
#: The full 5,000 cases run on SQLite (about 70 s); PostgreSQL, three times slower per request
#: here, runs 40% of them by default (tests/run.py runs both).
SCALE = float(os.environ.get("SCIM_FUZZ_SCALE", "0.4" if ON_POSTGRES else "1"))


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- strategies --------------------------------------------------------------------------------

#: Text with the awkward characters on purpose: quotes, backslashes, brackets, non-ASCII and NUL
#: (which PostgreSQL cannot store). No lone surrogates (not encodable in a request).
text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]) | st.sampled_from(list('\x00"\\[]().: \t\nÉß漢')),
    max_size=24,
)
json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)

ATTRIBUTE_NAMES = [
    "userName", "name", "name.givenName", "name.familyName", "name.formatted", "displayName",
    "nickName", "title", "active", "password", "emails", "emails.value", "emails.type",
    "emails.primary", "phoneNumbers", "phoneNumbers.value", "addresses", "addresses.locality",
    "groups", "groups.value", "members", "members.value", "members.display", "members.type",
    "externalId", "id", "meta", "meta.created", "meta.lastModified", "meta.version", "meta.location",
    "meta.resourceType", "schemas", "x509Certificates.value", "roles", "entitlements", "ims",
    "photos", "profileUrl", "userType", "locale", "timezone", "preferredLanguage",
    f"{USER}:userName", f"{USER}:name.givenName", f"{GROUP}:displayName", f"{GROUP}:members",
    f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value", ENTERPRISE, "urn:unknown:schema:Thing:attr", "USERNAME", "Emails.Value",
]  # fmt: skip
attr_paths = st.sampled_from(ATTRIBUTE_NAMES) | text
comparison_ops = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co", "xx"])
comparison_values = st.one_of(
    text.map(json.dumps),
    st.sampled_from(["true", "false", "null", '"2011-05-13T04:42:34Z"', "1", "-2.5e3", '"bjensen"']),
    st.integers().map(str),
    text,  # unquoted garbage
)


def _filters(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or", "AND", "Or"]), children).map(" ".join),
        children.map(lambda f: f"not ({f})"),
        children.map(lambda f: f"({f})"),
        st.tuples(st.sampled_from(["emails", "members", "addresses", "groups", "name"]), children).map(
            lambda t: f"{t[0]}[{t[1]}]"
        ),
        st.tuples(st.sampled_from(["emails", "members"]), children, attr_paths).map(
            lambda t: f"{t[0]}[{t[1]}].{t[2]}"
        ),
    )


simple_filters = st.one_of(
    st.tuples(attr_paths, comparison_ops, comparison_values).map(" ".join),
    attr_paths.map(lambda p: f"{p} pr"),
)
FILTER_TOKENS = ['"', "(", ")", "[", "]", "and", "or", "not", "pr", "eq", "userName", ".", " ", "\\", "x"]
filters = st.one_of(
    st.recursive(simple_filters, _filters, max_leaves=6),
    st.lists(st.sampled_from(FILTER_TOKENS) | text, max_size=12).map(" ".join),  # token soup
    text,
    st.just("(" * 200 + 'userName eq "x"' + ")" * 200),
    st.just(" or ".join(['userName eq "x"'] * 300)),
)

list_params = st.fixed_dictionaries(
    {},
    optional={
        "filter": filters,
        "attributes": st.lists(attr_paths, max_size=3).map(",".join) | text,
        "excludedAttributes": st.lists(attr_paths, max_size=3).map(",".join) | text,
        "sortBy": attr_paths,
        "sortOrder": st.sampled_from(["ascending", "descending", "up", ""]) | text,
        "startIndex": st.integers(-(2**40), 2**40).map(str) | text,
        "count": st.integers(-(2**40), 2**40).map(str) | text,
        "cursor": st.just("") | text | st.binary(max_size=24).map(lambda b: b.hex()),
    },
)

PATCH_OPS = ["add", "replace", "remove", "Add", "Replace", "Remove", "ADD", "move", "", "copy"]


def patch_operations(ids: list[str]) -> st.SearchStrategy[Any]:
    member_values = st.lists(
        st.fixed_dictionaries({"value": st.sampled_from(ids) | text}, optional={"display": text}), max_size=3
    )
    paths = st.one_of(
        attr_paths,
        filters.map(lambda f: f"members[{f}]"),
        filters.map(lambda f: f"emails[{f}].value"),
        st.sampled_from(ids).map(lambda i: f'members[value eq "{i}"]'),
    )
    values = st.one_of(
        json_values,
        member_values,
        st.dictionaries(attr_paths, json_values, max_size=4),
        st.sampled_from(["False", "True", False, True, None, [], {}]),
    )
    operation = st.fixed_dictionaries(
        {"op": st.sampled_from(PATCH_OPS) | json_scalars},
        optional={"path": paths | json_scalars, "value": values},
    )
    return st.one_of(
        st.lists(operation, max_size=4).map(lambda ops: {"schemas": [PATCH_OP], "Operations": ops}),
        st.dictionaries(
            st.sampled_from(["schemas", "Operations", "operations", "x"]), json_values, max_size=3
        ),
        json_values,
    )


resource_bodies = st.one_of(
    json_values,
    st.dictionaries(attr_paths, json_values, max_size=6).map(lambda d: {"schemas": [USER], **d}),
    st.dictionaries(attr_paths, json_values, max_size=6).map(lambda d: {"schemas": [GROUP], **d}),
    st.fixed_dictionaries(
        {"schemas": st.just([USER]), "userName": text},
        optional={"name": st.dictionaries(text, json_values, max_size=3), "emails": json_values},
    ),
)
search_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"schemas": st.sampled_from([[SEARCH], [], [USER], "x"])},
        optional={
            "filter": filters | json_scalars,
            "attributes": st.lists(attr_paths, max_size=3) | json_scalars,
            "excludedAttributes": st.lists(attr_paths, max_size=3) | json_scalars,
            "sortBy": attr_paths | json_scalars,
            "sortOrder": st.sampled_from(["ascending", "descending"]) | json_scalars,
            "startIndex": st.integers(-(2**40), 2**40) | json_scalars,
            "count": st.integers(-(2**40), 2**40) | json_scalars,
            "cursor": text | json_scalars,
        },
    ),
)


# --- the target data and the properties ------------------------------------------------------


def _world(scim: ScimClient) -> dict[str, Any]:
    """A user and a group (with a member) to aim at, recreated when an example deleted them."""
    from django_scim.models import ScimGroup, ScimUser

    world: dict[str, Any] | None = getattr(scim, "_fuzz_world", None)
    if (
        world is not None
        and ScimUser.objects.filter(pk=world["user"]).exists()
        and ScimGroup.objects.filter(pk=world["group"]).exists()
    ):
        return world
    n = getattr(scim, "_fuzz_generation", 0) + 1
    scim._fuzz_generation = n  # type: ignore[attr-defined]
    user = create_user(scim, userName=f"fuzz-target-{n}", emails=[{"value": "t@example.com", "type": "work"}])
    other = create_user(scim, userName=f"fuzz-member-{n}")
    group = scim.scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": f"fuzz-group-{n}", "members": [{"value": other["id"]}]},
    )
    assert group.status_code == 201, group.content
    world = {"user": user["id"], "other": other["id"], "group": group.json()["id"]}
    scim._fuzz_world = world  # type: ignore[attr-defined]
    return world


def _ids(world: dict[str, Any]) -> list[str]:
    return [world["user"], world["other"], world["group"], "00000000-0000-0000-0000-000000000000", "bulkId:x"]


def _check(response: Any, before: Any, *, path: str, allow_501: bool = False) -> None:
    status = response.status_code
    allowed = status < 500 or (allow_501 and status == 501)
    assert allowed, (status, path, response.content[:2000])
    if status >= 400:
        assert response["Content-Type"] == "application/scim+json", (path, response.content[:500])
        body = response.json()
        assert body["schemas"] == [ERROR], body
        assert body["status"] == str(status), body
        assert isinstance(body.get("detail"), str), body
        assert db_state() == before, ("a rejected request wrote", path, status, body)


def _send(scim: ScimClient, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    before = db_state()
    response = scim.scim(method, path, body, **kwargs)
    _check(response, before, path=path, allow_501=path.startswith("/Me"))
    return response


def _target(world: dict[str, Any], name: str) -> str:
    return {
        "Users": "/Users",
        "Groups": "/Groups",
        "User": f"/Users/{world['user']}",
        "Group": f"/Groups/{world['group']}",
        "Me": "/Me",
        "missing": "/Users/00000000-0000-0000-0000-000000000000",
    }[name]


READ_PATHS = [
    "Users", "Groups", "User", "Group", "Me", "missing", "/ServiceProviderConfig", "/Schemas",
    "/ResourceTypes", "/ResourceTypes/User", "/ResourceTypes/Nope", f"/Schemas/{USER}",
    f"/Schemas/{ENTERPRISE}", "/Schemas/urn:x", "/Bulk", "/.search", "/Nope",
]  # fmt: skip


@fuzz_settings(1500)
@given(where=st.sampled_from(READ_PATHS), params=list_params)
def test_fuzz_get_with_query_parameters(scim: ScimClient, where: str, params: dict[str, str]) -> None:
    """Listing, reading and discovery with any query parameters (RFC 7644 sections 3.4.2, 3.9)."""
    world = _world(scim)
    path = where if where.startswith("/") else _target(world, where)
    _send(scim, "GET", f"{path}?{urlencode(params)}" if params else path)


@fuzz_settings(700)
@given(
    where=st.sampled_from(["/.search", "/Users/.search", "/Groups/.search", "/Nope/.search"]),
    body=search_bodies,
)
def test_fuzz_search_requests(scim: ScimClient, where: str, body: Any) -> None:
    """POST .search with any body (RFC 7644 section 3.4.3)."""
    _world(scim)
    _send(scim, "POST", where, body)


@fuzz_settings(1300)
@given(data=st.data(), where=st.sampled_from(["User", "Group", "Group", "Me", "missing"]))
def test_fuzz_patch_operations(scim: ScimClient, data: st.DataObject, where: str) -> None:
    """PATCH with any operations (RFC 7644 section 3.5.2): all or nothing, never a 500."""
    world = _world(scim)
    body = data.draw(patch_operations(_ids(world)), label="body")
    if_match = data.draw(st.sampled_from([None, "*", 'W/"1"', "garbage"]), label="If-Match")
    headers = {"If-Match": if_match} if if_match else None
    _send(scim, "PATCH", _target(world, where), body, headers=headers)


@fuzz_settings(1000)
@given(
    body=resource_bodies,
    target=st.sampled_from(
        [
            ("POST", "Users"),
            ("POST", "Groups"),
            ("PUT", "User"),
            ("PUT", "Group"),
            ("PUT", "Me"),
            ("POST", "Me"),
            ("PUT", "missing"),
            ("POST", "/ServiceProviderConfig"),
            ("PUT", "Users"),
            ("DELETE", "/Schemas"),
            ("POST", "/Nope"),
        ]
    ),  # fmt: skip
)
def test_fuzz_resource_bodies(scim: ScimClient, body: Any, target: tuple[str, str]) -> None:
    """POST and PUT of any body at every endpoint (RFC 7644 sections 3.3, 3.5.1)."""
    world = _world(scim)
    method, where = target
    path = where if where.startswith("/") else _target(world, where)
    response = _send(scim, method, path, body)
    if method == "POST" and response.status_code == 201:
        # Undo the create, so that the state stays small and the next example comparable.
        assert scim.scim("DELETE", response["Location"].split("/scim/v2")[1]).status_code == 204


def bulk_bodies(ids: list[str]) -> st.SearchStrategy[Any]:
    paths = st.one_of(
        st.sampled_from(["/Users", "/Groups", "/Bulk", "/Me", "Users", ""]),
        st.sampled_from(ids).map(lambda i: f"/Users/{i}"),
        st.sampled_from(ids).map(lambda i: f"/Groups/{i}"),
        text,
    )
    operation = st.fixed_dictionaries(
        {"method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "post", "x"]) | json_scalars},
        optional={
            "path": paths | json_scalars,
            "bulkId": st.sampled_from(["x", "y", ""]) | json_scalars,
            "version": st.sampled_from(['W/"1"', "*"]) | json_scalars,
            "data": resource_bodies | patch_operations(ids),
        },
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"schemas": st.just([BULK]), "Operations": st.lists(operation, max_size=4)},
            optional={"failOnErrors": st.integers(-1, 3) | json_scalars},
        ),
        json_values,
    )


@fuzz_settings(600)
@given(data=st.data())
def test_fuzz_bulk_requests(scim: ScimClient, data: st.DataObject) -> None:
    """/Bulk with any operations (RFC 7644 section 3.7): no operation answers 500, and a request
    whose operations all failed writes nothing."""
    world = _world(scim)
    body = data.draw(bulk_bodies(_ids(world)), label="body")
    before = db_state()
    response = _send(scim, "POST", "/Bulk", body)
    if response.status_code != 200:
        return
    results = response.json().get("Operations", [])
    statuses = [int(str(result["status"])) for result in results]
    assert all(status < 500 for status in statuses), results
    if results and all(status >= 400 for status in statuses):
        assert db_state() == before, ("failed bulk operations wrote", results)


def test_fuzz_suite_generates_at_least_5000_cases() -> None:
    """The issue asks for 5,000 generated cases in CI: keep the sum of max_examples above it."""
    tests = [
        test_fuzz_get_with_query_parameters,
        test_fuzz_search_requests,
        test_fuzz_patch_operations,
        test_fuzz_resource_bodies,
        test_fuzz_bulk_requests,
    ]
    total = sum(
        t.hypothesis._given_kwargs and t._hypothesis_internal_use_settings.max_examples for t in tests
    )  # type: ignore[attr-defined]
    assert total >= 5000 * min(SCALE, 1.0)


@pytest.mark.parametrize(
    "body",
    [{"schemas": [USER], "userName": "\x00"}, {"schemas": [USER], "userName": "nul", "nickName": "a\x00b"}],
)
def test_nul_in_a_string_is_a_400(scim: ScimClient, body: dict[str, Any]) -> None:
    """The minimal input hypothesis found on PostgreSQL: 400 invalidValue, nothing written."""
    response = _send(scim, "POST", "/Users", body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
