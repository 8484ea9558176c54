"""Query parameters of a list or search (RFC 7644 sections 3.4.2 and 3.4.3, RFC 9865) and the
ListResponse message. Pure: values in, values out; the ORM work is in ``orm/sorting.py``.

Decisions the RFCs leave open, in one place:

* ``startIndex`` below 1 is 1 and a negative ``count`` is 0 (RFC 7644 section 3.4.2.4: "A value
  less than 1 SHALL be interpreted as 1", "A negative value SHALL be interpreted as 0"); a
  ``count`` above the maximum is capped (RFC 9865 section 4: ``maxPageSize`` is the maximum
  "regardless of what is specified for the count"). Text that is not an integer is 400
  ``invalidValue`` (RFC 7644 section 3.12), or ``invalidCount`` when paging by cursor (RFC 9865
  section 2.1).
* ``count=0`` returns ``totalResults`` and an empty ``Resources`` list: "no resource results are
  to be returned except for totalResults" (section 3.4.2.4), while section 3.4.2 makes
  ``Resources`` REQUIRED when ``totalResults`` is non-zero; an empty list satisfies both.
* Index paging is the default method (RFC 9865 section 2.4: providers that had index paging
  "should use index as the default"); ``cursor`` (empty for the first page) asks for cursors.
  Both ``startIndex`` and ``cursor`` in one request is 400 ``invalidValue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .constants import LIST_RESPONSE, SEARCH_REQUEST
from .errors import InvalidCount, InvalidSyntax, InvalidValue

ASCENDING = "ascending"
DESCENDING = "descending"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The parameters of one list/search request, validated."""

    filter: str | None = None
    """The ``filter`` text (RFC 7644 section 3.4.2.2), ``None`` when absent or blank."""

    sort_by: str | None = None
    """The ``sortBy`` attribute path (RFC 7644 section 3.4.2.3)."""

    descending: bool = False
    """``sortOrder=descending``; ascending by default "if a value for sortBy is provided"."""

    start_index: int = 1
    """1-based index of the first result (index paging)."""

    count: int = 100
    """Page size, within ``0..max_count``."""

    cursor: str | None = None
    """``None``: index paging; ``""``: first cursor page; else a ``nextCursor``/``previousCursor``."""

    count_given: bool = False
    """Whether the client gave ``count`` (RFC 9865 section 2.1 ties it to the cursor)."""

    attributes: list[str] | None = None
    """``attributes`` (RFC 7644 section 3.4.2.5)."""

    excluded_attributes: list[str] | None = None
    """``excludedAttributes`` (RFC 7644 section 3.4.2.5)."""

    @property
    def by_cursor(self) -> bool:
        return self.cursor is not None


def _integer(value: object, name: str, *, cursor: bool) -> int:
    error = InvalidCount if cursor and name == "count" else InvalidValue
    if isinstance(value, bool):
        raise error(f"{name} must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit() and len(text) <= 18:
            return int(text)
    raise error(f"{name} must be an integer, not {str(value)[:40]!r}.")


def _names(value: object, name: str) -> list[str] | None:
    """``attributes`` given as a JSON list (SearchRequest) or a comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise InvalidValue(f"{name} must be a list of attribute names.")
    names = [item.strip() for item in items if item.strip()]
    return names or None


def parse_list_query(params: Mapping[str, Any], *, default_count: int, max_count: int) -> ListQuery:
    """Validate list parameters: a GET query (strings) or a SearchRequest body (JSON values).

    Parameter names are matched as RFC 7644 writes them; a SearchRequest's are case-insensitive
    (RFC 7643 section 2.1 makes attribute names so, and the request is a SCIM message).
    """
    cursor_value = params.get("cursor")
    if cursor_value is not None and not isinstance(cursor_value, str):
        raise InvalidValue("cursor must be a string.")
    by_cursor = cursor_value is not None
    raw_start = params.get("startIndex")
    if by_cursor and raw_start not in (None, ""):
        raise InvalidValue("Use either startIndex (index paging) or cursor (RFC 9865), not both.")
    start_index = 1
    if raw_start not in (None, ""):
        start_index = max(1, _integer(raw_start, "startIndex", cursor=False))
    raw_count = params.get("count")
    count_given = raw_count not in (None, "")
    count = default_count
    if count_given:
        count = _integer(raw_count, "count", cursor=by_cursor)
    count = min(max(0, count), max_count)
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("filter must be a string.")
    sort_by = params.get("sortBy")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("sortBy must be a string.")
    sort_order = params.get("sortOrder")
    descending = False
    if sort_order not in (None, ""):
        if not isinstance(sort_order, str) or sort_order.lower() not in (ASCENDING, DESCENDING):
            raise InvalidValue('sortOrder must be "ascending" or "descending".')
        descending = sort_order.lower() == DESCENDING
    return ListQuery(
        filter=filter_text if filter_text and filter_text.strip() else None,
        sort_by=sort_by.strip() if sort_by and sort_by.strip() else None,
        descending=descending,
        start_index=start_index,
        count=count,
        cursor=cursor_value.strip() if cursor_value is not None else None,
        count_given=count_given,
        attributes=_names(params.get("attributes"), "attributes"),
        excluded_attributes=_names(params.get("excludedAttributes"), "excludedAttributes"),
    )


_SEARCH_KEYS = {
    key.lower(): key
    for key in (
        "schemas",
        "attributes",
        "excludedAttributes",
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "cursor",
    )
}


def search_request_params(body: object) -> dict[str, Any]:
    """The parameters of a SearchRequest body (RFC 7644 section 3.4.3), keys as in a GET query.

    ``schemas`` must name ``urn:ietf:params:scim:api:messages:2.0:SearchRequest`` (400
    ``invalidSyntax`` otherwise, as for any malformed request message); unknown members are
    400 ``invalidSyntax`` too, so a misspelled ``filter`` never returns everything.
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntax("A SearchRequest must be a JSON object.")
    params: dict[str, Any] = {}
    for key, value in body.items():
        canonical = _SEARCH_KEYS.get(str(key).lower())
        if canonical is None:
            raise InvalidSyntax(f"Unknown SearchRequest attribute {str(key)[:40]!r}.")
        params[canonical] = value
    schemas = params.pop("schemas", None)
    if not isinstance(schemas, list) or SEARCH_REQUEST.lower() not in {
        str(schema).lower() for schema in schemas
    }:
        raise InvalidSyntax(f"A SearchRequest must have schemas [{SEARCH_REQUEST!r}].")
    return params


def list_response(
    resources: list[dict[str, Any]],
    *,
    total: int | None,
    start_index: int | None,
    next_cursor: str | None = None,
    previous_cursor: str | None = None,
) -> dict[str, Any]:
    """The ListResponse message (RFC 7644 section 3.4.2; cursors per RFC 9865 section 2).

    ``total`` ``None`` leaves ``totalResults`` out, which RFC 9865 allows for cursor paging;
    ``start_index`` ``None`` (cursor paging) leaves ``startIndex`` out.
    """
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE]}
    if total is not None:
        body["totalResults"] = total
    body["itemsPerPage"] = len(resources)
    if start_index is not None:
        body["startIndex"] = start_index
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    if previous_cursor is not None:
        body["previousCursor"] = previous_cursor
    body["Resources"] = resources
    return body
