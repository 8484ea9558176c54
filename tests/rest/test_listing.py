"""Listing and searching over HTTP: filter, sortBy/sortOrder, startIndex/count, RFC 9865 cursors,
attributes/excludedAttributes, POST /.search and the cost of a page (RFC 7644 section 3.4.2)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.core.constants import SEARCH_REQUEST
from django_scim.models import ScimUser
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _users(count: int, **extra: Any) -> list[User]:
    """Users named u00.. with varied case, titles on even ones, two e-mails on every third."""
    users = User.objects.bulk_create(
        [
            User(
                username=(f"U{i:02d}" if i % 2 else f"u{i:02d}"),
                last_name="" if i % 5 == 0 else f"L{i % 7}",
                email=f"m{i:02d}@example.com",
                **extra,
            )
            for i in range(count)
        ]
    )
    users = list(User.objects.order_by("pk"))
    ScimUser.objects.bulk_create(
        [
            ScimUser(
                resource=user,
                attributes={
                    **({"title": f"T{(i * 7) % 10}"} if i % 2 == 0 else {}),
                    "emails": [
                        {"value": f"z{i:02d}@home.org", "type": "home"},
                        {"value": user.email, "type": "work", "primary": True},
                    ]
                    if i % 3 == 0
                    else [{"value": user.email, "type": "work"}],
                },
            )
            for i, user in enumerate(users)
        ]
    )
    return users


def filt(text: str) -> str:
    return "filter=" + quote(text)


def get(scim: ScimClient, query: str) -> dict[str, Any]:
    response = scim.get_scim(f"/Users?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def error(scim: ScimClient, query: str, endpoint: str = "Users") -> dict[str, Any]:
    response = scim.get_scim(f"/{endpoint}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "400"
    return body


def user_names(body: dict[str, Any]) -> list[str]:
    return [r["userName"] for r in body["Resources"]]


# --- filter over HTTP (section 3.4.2.2) ----------------------------------------------------


def test_filter_lookups_identity_providers_send(scim: ScimClient) -> None:
    """Okta: userName eq; Entra: externalId eq, emails[type eq "work"].value eq (shared/README)."""
    _users(5)
    assert user_names(get(scim, filt('userName eq "u02"'))) == ["u02"]
    body = get(scim, filt('emails[type eq "work"].value eq "M03@EXAMPLE.COM"'))
    assert user_names(body) == ["U03"]
    assert get(scim, filt('externalId eq "nobody"'))["totalResults"] == 0


@pytest.mark.parametrize(
    "text",
    ['userName eq "x\' OR 1=1 --"', 'emails[value eq "\\") OR 1=1"]', 'userName eq "u01\\" or userName pr"'],
)
def test_injection_payloads_find_nothing(scim: ScimClient, text: str) -> None:
    _users(3)
    body = get(scim, f"filter={quote(text)}")
    assert (body["totalResults"], body["Resources"]) == (0, [])


@pytest.mark.parametrize(
    "text",
    [
        'nosuch eq "x"',
        'userName" or "1"="1 eq "x"',
        "userName eq",
        'emails[type eq "work"',
        "(" * 60 + "userName pr" + ")" * 60,
    ],
)
def test_bad_filters_are_400_invalid_filter(scim: ScimClient, text: str) -> None:
    """RFC 7644 section 3.12: invalidFilter (also for the nesting limit FILTER_MAX_DEPTH)."""
    assert error(scim, f"filter={quote(text)}")["scimType"] == "invalidFilter"


@pytest.mark.scim_settings({"FILTER_MAX_LENGTH": 30})
def test_filter_length_limit(scim: ScimClient) -> None:
    assert error(scim, filt('userName eq "' + "x" * 40 + '"'))["scimType"] == "invalidFilter"


def test_groups_excluding_members_as_entra_asks(scim: ScimClient) -> None:
    """Entra: GET /Groups?excludedAttributes=members&filter=displayName eq "..." (shared/README)."""
    group = Group.objects.create(name="Staff")
    group.user_set.add(*_users(3))
    response = scim.get_scim("/Groups?excludedAttributes=members&" + filt('displayName eq "staff"'))
    body = response.json()
    assert body["totalResults"] == 1
    assert "members" not in body["Resources"][0]
    assert body["Resources"][0]["displayName"] == "Staff"


# --- sortBy / sortOrder (section 3.4.2.3) --------------------------------------------------


def test_sort_by_user_name_is_case_insensitive(scim: ScimClient) -> None:
    _users(6)
    assert user_names(get(scim, "sortBy=userName")) == ["u00", "U01", "u02", "U03", "u04", "U05"]
    assert user_names(get(scim, "sortBy=USERNAME&sortOrder=descending")) == [
        "U05",
        "u04",
        "U03",
        "u02",
        "U01",
        "u00",
    ]


def test_missing_values_last_ascending_first_descending(scim: ScimClient) -> None:
    """ "ordered last if ascending and first if descending"; "" is no data; pk breaks ties."""
    _users(6)
    ascending = user_names(get(scim, "sortBy=title"))
    assert ascending == ["u00", "u02", "u04", "U01", "U03", "U05"]  # T0, T4, T8, then no title
    descending = user_names(get(scim, "sortBy=title&sortOrder=descending"))
    assert descending[:3] == ["U01", "U03", "U05"]
    by_family = user_names(get(scim, "sortBy=name.familyName"))
    assert by_family[-2:] == ["u00", "U05"]  # last_name "" for 0 and 5


def test_sort_multi_valued_by_primary_or_first(scim: ScimClient) -> None:
    """ "sorted by the value of the primary attribute, if any, or else the first value"."""
    _users(4)
    # Primary (and mirrored user.email) mNN@example.com sorts every user by its index.
    assert user_names(get(scim, "sortBy=emails&sortOrder=descending")) == ["U03", "u02", "U01", "u00"]
    assert user_names(get(scim, "sortBy=emails.type")) == ["u00", "U01", "u02", "U03"]


def test_sort_by_datetime_and_extension(scim: ScimClient) -> None:
    users = _users(3)
    ScimUser.objects.filter(resource=users[0]).update(last_modified="2030-01-01T00:00:00Z")
    assert user_names(get(scim, "sortBy=meta.lastModified&sortOrder=descending"))[0] == "u00"
    get(scim, "sortBy=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")


@pytest.mark.parametrize("sort_by", ["nosuch", "name", "members", "groups", "urn:example:x:y", "name.nosuch"])
def test_unsortable_sort_by_is_invalid_value(scim: ScimClient, sort_by: str) -> None:
    """RFC 7644 section 3.12 Table 9: invalidValue ("not compatible with the operation")."""
    _users(1)
    assert error(scim, f"sortBy={sort_by}")["scimType"] == "invalidValue"


def test_bad_sort_order_is_invalid_value(scim: ScimClient) -> None:
    assert error(scim, "sortBy=userName&sortOrder=sideways")["scimType"] == "invalidValue"


# --- startIndex / count (section 3.4.2.4) --------------------------------------------------


def test_index_pages(scim: ScimClient) -> None:
    _users(7)
    body = get(scim, "startIndex=3&count=2&sortBy=userName")
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (7, 2, 3)
    assert user_names(body) == ["u02", "U03"]
    last = get(scim, "startIndex=7&count=5")
    assert last["itemsPerPage"] == 1
    beyond = get(scim, "startIndex=50")
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (7, 0, [])


def test_count_zero_returns_only_the_total(scim: ScimClient) -> None:
    """ "A value of "0" indicates that no resource results are to be returned except for totalResults"."""
    _users(4)
    body = get(scim, "count=0")
    assert (body["totalResults"], body["itemsPerPage"], body["Resources"]) == (4, 0, [])


def test_negative_count_and_small_start_index(scim: ScimClient) -> None:
    _users(3)
    assert get(scim, "count=-3")["itemsPerPage"] == 0
    assert get(scim, "startIndex=-2")["startIndex"] == 1


@pytest.mark.parametrize("query", ["count=ten", "startIndex=1.5", "count=", "startIndex=x"])
def test_non_integers_are_invalid_value(scim: ScimClient, query: str) -> None:
    if query == "count=":
        assert get(scim, query)["itemsPerPage"] == 0
        return
    assert error(scim, query)["scimType"] == "invalidValue"


@pytest.mark.scim_settings({"MAX_PAGE_SIZE": 3, "DEFAULT_PAGE_SIZE": 2})
def test_page_size_cap_is_applied_and_advertised(scim: ScimClient) -> None:
    _users(5)
    assert get(scim, "")["itemsPerPage"] == 2
    assert get(scim, "count=500")["itemsPerPage"] == 3
    config = scim.get_scim("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": 3}
    assert config["sort"] == {"supported": True}
    assert config["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 2,
        "maxPageSize": 3,
        "cursorTimeout": 3600,
    }


# --- cursors (RFC 9865) ---------------------------------------------------------------------

UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def walk(scim: ScimClient, query: str) -> tuple[list[str], list[dict[str, Any]]]:
    pages = [get(scim, f"{query}&cursor")]
    while "nextCursor" in pages[-1]:
        assert UNRESERVED.fullmatch(pages[-1]["nextCursor"])
        pages.append(get(scim, f"{query}&cursor={pages[-1]['nextCursor']}"))
    return [name for page in pages for name in user_names(page)], pages


@pytest.mark.parametrize(
    "sort",
    [
        "",
        "&sortBy=userName",
        "&sortBy=title",
        "&sortBy=title&sortOrder=descending",
        "&sortBy=emails",
        "&sortBy=name.familyName&sortOrder=descending",
        "&sortBy=meta.created",
    ],
)
def test_cursor_pages_cover_the_index_order_exactly(scim: ScimClient, sort: str) -> None:
    """RFC 9865 section 2: nextCursor on every page but the last; same order as index paging."""
    _users(23)
    query = "count=5&" + filt('userName ne "u10"') + sort
    names, pages = walk(scim, query)
    expected = user_names(get(scim, "count=100&" + filt('userName ne "u10"') + sort))
    assert names == expected and len(names) == 22
    assert [len(p["Resources"]) for p in pages] == [5, 5, 5, 5, 2]
    assert all(p["totalResults"] == 22 and "startIndex" not in p for p in pages)
    assert "previousCursor" not in pages[0]
    # Back from the last page with previousCursor: the same pages, in reverse.
    back = [pages[-1]]
    while "previousCursor" in back[-1]:
        back.append(get(scim, f"{query}&cursor={back[-1]['previousCursor']}"))
    assert [user_names(p) for p in reversed(back)] == [user_names(p) for p in pages]


def test_cursor_is_tied_to_its_query(scim: ScimClient) -> None:
    """RFC 9865 section 2.1: invalidCursor for a foreign or forged cursor, invalidCount for another count."""
    _users(6)
    first = get(scim, "count=2&sortBy=userName&cursor")
    cursor = first["nextCursor"]
    assert error(scim, f"count=2&sortBy=title&cursor={cursor}")["scimType"] == "invalidCursor"
    assert (
        error(scim, f"count=2&sortBy=userName&filter=userName%20pr&cursor={cursor}")["scimType"]
        == "invalidCursor"
    )
    assert error(scim, f"count=3&sortBy=userName&cursor={cursor}")["scimType"] == "invalidCount"
    forged = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")
    assert error(scim, f"count=2&sortBy=userName&cursor={forged}")["scimType"] == "invalidCursor"
    assert error(scim, "count=2&cursor=bm90LWEtY3Vyc29y")["scimType"] == "invalidCursor"
    assert error(scim, f"count=2&sortBy=userName&cursor={cursor}&startIndex=2")["scimType"] == "invalidValue"
    assert error(scim, "count=x&cursor")["scimType"] == "invalidCount"
    group_cursor = scim.get_scim(f"/Groups?count=2&sortBy=userName&cursor={cursor}")
    assert group_cursor.status_code == 400


@pytest.mark.scim_settings({"CURSOR_TIMEOUT": -1})
def test_expired_cursor(scim: ScimClient) -> None:
    """RFC 9865 section 2.1: expiredCursor past cursorTimeout."""
    _users(3)
    cursor = get(scim, "count=1&cursor")["nextCursor"]
    assert error(scim, f"count=1&cursor={cursor}")["scimType"] == "expiredCursor"


def test_cursor_count_zero(scim: ScimClient) -> None:
    _users(3)
    body = get(scim, "count=0&cursor")
    assert (body["totalResults"], body["Resources"]) == (3, [])
    assert "nextCursor" not in body


@pytest.mark.scim_settings({"CURSOR_TOTAL_RESULTS": False})
def test_cursor_pages_may_omit_the_total(scim: ScimClient) -> None:
    """RFC 9865 section 2: "MAY choose to omit the totalResults attribute"."""
    _users(3)
    assert "totalResults" not in get(scim, "count=2&cursor")


def test_last_cursor_page_costs_what_the_first_costs(
    scim: ScimClient, django_assert_max_num_queries: Any
) -> None:
    """Keyset, not OFFSET: the same number of queries and no OFFSET on any page."""
    _users(60)
    query = "count=10&sortBy=title"
    first = get(scim, f"{query}&cursor")
    cursor = first
    for _ in range(4):
        cursor = get(scim, f"{query}&cursor={cursor['nextCursor']}")
    with CaptureQueriesContext(connection) as first_queries:
        get(scim, f"{query}&cursor")
    with CaptureQueriesContext(connection) as last_queries:
        last = get(scim, f"{query}&cursor={cursor['nextCursor']}")
    assert "nextCursor" not in last and len(last["Resources"]) == 10
    assert len(last_queries) == len(first_queries)
    assert not any("OFFSET" in q["sql"].upper() for q in last_queries.captured_queries)


# --- attributes / excludedAttributes (section 3.4.2.5) --------------------------------------


def test_attributes_on_lists(scim: ScimClient) -> None:
    """returned "always" (id, schemas) stays; returned "never" (password) never shows."""
    _users(2)
    body = get(scim, "attributes=userName,password&sortBy=userName")
    assert body["Resources"][0].keys() == {"schemas", "id", "userName"}
    body = get(scim, "excludedAttributes=emails,id,meta,password")
    assert "emails" not in body["Resources"][0] and "id" in body["Resources"][0]
    assert "meta" not in body["Resources"][0]
    assert all("password" not in r for r in get(scim, "")["Resources"])


# --- POST /.search (section 3.4.3) ----------------------------------------------------------


def search(scim: ScimClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = scim.scim("POST", path, {"schemas": [SEARCH_REQUEST], **body})
    assert response.status_code == status, response.content
    return response.json()


def test_search_on_an_endpoint(scim: ScimClient) -> None:
    _users(5)
    body = search(
        scim,
        "/Users/.search",
        {
            "filter": 'userName ew "1" or userName ew "3"',
            "attributes": ["userName"],
            "sortBy": "userName",
            "sortOrder": "descending",
            "count": 2,
        },
    )
    assert user_names(body) == ["U03", "U01"]
    assert body["totalResults"] == 2 and body["Resources"][0].keys() == {"schemas", "id", "userName"}
    first = search(scim, "/Users/.search", {"cursor": "", "count": 3})
    rest = search(scim, "/Users/.search", {"cursor": first["nextCursor"], "count": 3})
    assert len(first["Resources"]) + len(rest["Resources"]) == 5 and "nextCursor" not in rest


def test_search_at_the_root_spans_resource_types(scim: ScimClient) -> None:
    _users(2)
    Group.objects.create(name="staff")
    body = search(scim, "/.search", {"count": 10})
    assert body["totalResults"] == 3
    assert {r["meta"]["resourceType"] for r in body["Resources"]} == {"User", "Group"}
    only = search(scim, "/.search", {"filter": 'displayName eq "staff"'})
    assert [r["meta"]["resourceType"] for r in only["Resources"]] == ["Group"]
    paged = search(scim, "/.search", {"startIndex": 2, "count": 2})
    assert paged["itemsPerPage"] == 2 and paged["Resources"][1]["meta"]["resourceType"] == "Group"
    assert search(scim, "/.search", {"filter": 'nope eq "x"'}, 400)["scimType"] == "invalidFilter"


def test_search_errors(scim: ScimClient) -> None:
    assert search(scim, "/Users/.search", {"fitler": "x"}, 400)["scimType"] == "invalidSyntax"
    response = scim.scim("POST", "/Users/.search", {"filter": "userName pr"})
    assert response.status_code == 400
    assert scim.get_scim("/Users/.search").status_code == 405
    assert search(scim, "/Nope/.search", {}, 404)["status"] == "404"


# --- cost (issue 3, point 10) ---------------------------------------------------------------


def test_a_page_of_100_users_with_groups_is_a_fixed_number_of_queries(
    scim: ScimClient, django_assert_max_num_queries: Any
) -> None:
    users = _users(120)
    groups = Group.objects.bulk_create([Group(name=f"g{i}") for i in range(8)])
    for i, user in enumerate(users):
        user.groups.add(*groups[: i % 5])
    scim.get_scim("/Users?count=1")  # token last_used written once per TOKEN_LAST_USED_INTERVAL
    get(scim, "count=100")  # companions of the groups appear on first read
    # Token lookup, COUNT, the page (companions joined), the groups with their ids.
    with django_assert_max_num_queries(4):
        body = get(scim, "count=100&sortBy=userName")
    assert len(body["Resources"]) == 100
    assert sum(len(r.get("groups", [])) for r in body["Resources"]) > 100
