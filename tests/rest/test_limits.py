"""Limits (RFC 7644 section 3.12): too large bodies, filters and pages get SCIM errors, and the
server answers the next request normally."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from django_scim.core.errors import PayloadTooLarge
from django_scim.rest.parsers import ApplicationJsonParser, ScimJsonParser
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _big_user(size: int) -> dict[str, object]:
    return {"schemas": [USER], "userName": "big", "nickName": "x" * size}


def _assert_served_normally(scim: ScimClient) -> None:
    assert scim.get_scim("/Users").status_code == 200
    create_user(scim, userName="served-after")


def _filter(scim: ScimClient, text: str) -> Any:
    return scim.get_scim("/Users?" + urlencode({"filter": text}))


@pytest.mark.scim_settings({"MAX_BODY_SIZE": 500})
def test_body_over_max_body_size_is_413_and_the_next_request_is_served(scim: ScimClient) -> None:
    """RFC 7644 section 3.12: 413 "Request Entity Too Large"; nothing is created."""
    response = scim.scim("POST", "/Users", _big_user(1000))
    assert response.status_code == 413
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "413"
    assert "500 bytes" in body["detail"]
    assert scim.get_scim('/Users?filter=userName eq "big"').json()["totalResults"] == 0
    _assert_served_normally(scim)


@pytest.mark.scim_settings({"MAX_BODY_SIZE": 500})
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_body_limit_applies_to_every_write(scim: ScimClient, method: str) -> None:
    user = create_user(scim)
    response = scim.scim(method, f"/Users/{user['id']}", _big_user(1000))
    assert response.status_code == 413
    assert scim.get_scim(f"/Users/{user['id']}").status_code == 200


@pytest.mark.scim_settings({"MAX_BODY_SIZE": 500})
def test_body_at_the_limit_is_accepted(scim: ScimClient) -> None:
    text = json.dumps(_big_user(0))
    body = _big_user(500 - len(text))
    assert len(json.dumps(body)) == 500
    assert scim.scim("POST", "/Users", body).status_code == 201


@pytest.mark.scim_settings({"MAX_BODY_SIZE": 100})
@pytest.mark.parametrize("parser", [ScimJsonParser, ApplicationJsonParser])
def test_parsers_stop_reading_at_the_limit_without_a_content_length(parser: type) -> None:
    """A body sent without Content-Length (chunked, under ASGI) is cut off by the parser itself."""
    stream = io.BytesIO(b'{"userName": "' + b"x" * 10_000 + b'"}')
    with pytest.raises(PayloadTooLarge):
        parser().parse(stream)
    assert stream.tell() == 101  # Read limit + 1 bytes, never the whole body.
    assert parser().parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}


def test_invalid_content_length_is_not_a_crash(scim: ScimClient) -> None:
    response = scim.scim("GET", "/Users", CONTENT_LENGTH="not-a-number")
    assert response.status_code == 200


def test_filter_longer_than_the_limit_is_400_invalid_filter(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2.2 / 3.12: a filter the server will not evaluate is invalidFilter."""
    text = 'userName eq "' + "x" * 5000 + '"'
    response = _filter(scim, text)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert "longer than 4096" in response.json()["detail"]
    _assert_served_normally(scim)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 60 + 'userName eq "x"' + ")" * 60,
        "not (" * 60 + 'userName eq "x"' + ")" * 60,
        'emails[value eq "a" and ' + "(" * 60 + 'type eq "b"' + ")" * 60 + "]",
    ],
    ids=["parentheses", "not", "value-filter"],
)
def test_filter_nested_deeper_than_the_limit_is_400_invalid_filter(scim: ScimClient, text: str) -> None:
    response = _filter(scim, text)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    _assert_served_normally(scim)


@pytest.mark.scim_settings({"FILTER_MAX_DEPTH": 3, "FILTER_MAX_LENGTH": 40})
def test_filter_limits_come_from_settings(scim: ScimClient) -> None:
    assert _filter(scim, '((userName eq "x"))').status_code == 200
    deep = _filter(scim, '((((userName eq "x"))))')
    assert deep.status_code == 400 and deep.json()["scimType"] == "invalidFilter"
    long = _filter(scim, 'userName eq "' + "y" * 40 + '"')
    assert long.status_code == 400 and long.json()["scimType"] == "invalidFilter"


@pytest.mark.scim_settings({"MAX_PAGE_SIZE": 2})
def test_count_above_the_maximum_is_capped(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2.4: a count above the maximum is lowered to it, not refused."""
    for name in ("a", "b", "c"):
        create_user(scim, userName=name)
    body = scim.get_scim("/Users?count=1000000").json()
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 2
    assert len(body["Resources"]) == 2
    following = scim.get_scim("/Users?startIndex=3&count=2").json()
    assert [r["userName"] for r in following["Resources"]] == ["c"]


@pytest.mark.scim_settings({"MAX_PAGE_SIZE": 2})
def test_service_provider_config_advertises_the_page_limit(scim: ScimClient) -> None:
    """RFC 7643 section 5: filter.maxResults is the most resources a response returns."""
    assert scim.get_scim("/ServiceProviderConfig").json()["filter"]["maxResults"] == 2
