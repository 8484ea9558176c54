"""List parameters and the ListResponse (RFC 7644 sections 3.4.2, 3.4.2.3, 3.4.2.4, 3.4.3; RFC 9865)."""

from __future__ import annotations

from typing import Any

import pytest

from django_scim.core.constants import LIST_RESPONSE, SEARCH_REQUEST
from django_scim.core.errors import InvalidCount, InvalidSyntax, InvalidValue
from django_scim.core.listing import list_response, parse_list_query, search_request_params


def parse(**params: Any) -> Any:
    return parse_list_query(params, default_count=100, max_count=1000)


def test_defaults() -> None:
    query = parse()
    assert (query.start_index, query.count, query.cursor, query.by_cursor) == (1, 100, None, False)
    assert (query.filter, query.sort_by, query.descending) == (None, None, False)


@pytest.mark.parametrize(
    ("given", "start_index"), [("1", 1), ("0", 1), ("-5", 1), ("7", 7), (" 3 ", 3), ("", 1), (12, 12)]
)
def test_start_index_below_one_is_one(given: Any, start_index: int) -> None:
    """RFC 7644 section 3.4.2.4: "A value less than 1 SHALL be interpreted as 1"."""
    assert parse(startIndex=given).start_index == start_index


@pytest.mark.parametrize(("given", "count"), [("0", 0), ("-1", 0), ("10", 10), ("5000", 1000), (3, 3)])
def test_count_negative_is_zero_and_capped(given: Any, count: int) -> None:
    """Section 3.4.2.4: a negative count is 0; the cap is maxResults / maxPageSize (RFC 9865 section 4)."""
    assert parse(count=given).count == count


@pytest.mark.parametrize("name", ["startIndex", "count"])
@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "0x10", True, [1], "9" * 40])
def test_non_integers_are_invalid_value(name: str, bad: Any) -> None:
    with pytest.raises(InvalidValue):
        parse(**{name: bad})


def test_non_integer_count_with_a_cursor_is_invalid_count() -> None:
    """RFC 9865 section 2.1: invalidCount when paging by cursor."""
    with pytest.raises(InvalidCount):
        parse(cursor="", count="ten")


def test_cursor_and_start_index_together_are_refused() -> None:
    with pytest.raises(InvalidValue):
        parse(cursor="", startIndex="2")


def test_empty_cursor_asks_for_the_first_cursor_page() -> None:
    """RFC 9865 section 2: "The cursor value MUST be empty or omitted for the first request"."""
    query = parse(cursor="")
    assert query.by_cursor and query.cursor == ""


@pytest.mark.parametrize(("order", "descending"), [("ascending", False), ("DESCENDING", True), ("", False)])
def test_sort_order(order: str, descending: bool) -> None:
    """Section 3.4.2.3: ascending by default."""
    assert parse(sortBy="userName", sortOrder=order).descending is descending


def test_bad_sort_order_is_invalid_value() -> None:
    with pytest.raises(InvalidValue):
        parse(sortOrder="up")


def test_attribute_lists_from_query_text_and_json() -> None:
    """Section 3.4.2.5 (comma-separated) and 3.4.3 (a JSON list in a SearchRequest)."""
    assert parse(attributes="userName, emails,").attributes == ["userName", "emails"]
    assert parse(excludedAttributes=["members"]).excluded_attributes == ["members"]
    with pytest.raises(InvalidValue):
        parse(attributes=[1])


def test_search_request_body() -> None:
    """RFC 7644 section 3.4.3 (example of Figure 5), with RFC 9865's cursor."""
    params = search_request_params(
        {
            "schemas": [SEARCH_REQUEST],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": ["displayName"],
            "filter": 'displayName sw "smith"',
            "startIndex": 1,
            "count": 10,
        }
    )
    query = parse(**params)
    assert (query.filter, query.count, query.attributes) == (
        'displayName sw "smith"',
        10,
        ["displayName", "userName"],
    )
    assert parse(**search_request_params({"schemas": [SEARCH_REQUEST], "cursor": "", "COUNT": 5})).by_cursor


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {"filter": "userName pr"},
        {"schemas": ["urn:x"]},
        {"schemas": [SEARCH_REQUEST], "fitler": "x"},
    ],
)
def test_malformed_search_requests(body: Any) -> None:
    with pytest.raises(InvalidSyntax):
        search_request_params(body)


def test_list_response_shapes() -> None:
    """Section 3.4.2: index pages carry startIndex; RFC 9865 cursor pages carry cursors instead."""
    page = list_response([{"id": "a"}], total=3, start_index=2)
    assert page == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 3,
        "itemsPerPage": 1,
        "startIndex": 2,
        "Resources": [{"id": "a"}],
    }
    cursor_page = list_response([], total=None, start_index=None, next_cursor="n", previous_cursor="p")
    assert cursor_page == {
        "schemas": [LIST_RESPONSE],
        "itemsPerPage": 0,
        "nextCursor": "n",
        "previousCursor": "p",
        "Resources": [],
    }
