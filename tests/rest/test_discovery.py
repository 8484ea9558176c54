"""Discovery endpoints (RFC 7644 section 4; RFC 7643 sections 5, 6 and 7), generated from config."""

from __future__ import annotations

import pytest

from django_scim.core.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


def test_service_provider_config(scim: ScimClient) -> None:
    """RFC 7643 section 5: every feature flag present, the auth scheme described."""
    body = scim.get_scim("/ServiceProviderConfig").json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert isinstance(body[feature]["supported"], bool)
    assert body["etag"]["supported"] is True
    assert body["filter"]["maxResults"] == 1000
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


@pytest.mark.scim_settings({"MAX_PAGE_SIZE": 250})
def test_service_provider_config_follows_settings(scim: ScimClient) -> None:
    assert scim.get_scim("/ServiceProviderConfig").json()["filter"]["maxResults"] == 250


def test_resource_types(scim: ScimClient) -> None:
    """RFC 7643 section 6: User with the enterprise extension, Group."""
    body = scim.get_scim("/ResourceTypes").json()
    assert body["totalResults"] == 2
    by_name = {r["name"]: r for r in body["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER_SCHEMA
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_USER_SCHEMA, "required": False}]
    assert by_name["Group"]["schema"] == GROUP_SCHEMA
    assert "schemaExtensions" not in by_name["Group"]
    one = scim.get_scim("/ResourceTypes/Group").json()
    assert one == by_name["Group"]
    assert one["meta"]["location"] == "http://testserver/scim/v2/ResourceTypes/Group"
    assert scim.get_scim("/ResourceTypes/Device").status_code == 404


def test_schemas(scim: ScimClient) -> None:
    """RFC 7643 section 7 / 8.7.1: the served schemas, each also at /Schemas/{urn}."""
    body = scim.get_scim("/Schemas").json()
    ids = [s["id"] for s in body["Resources"]]
    assert ids == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]
    user = scim.get_scim(f"/Schemas/{USER_SCHEMA}").json()
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert (user_name["required"], user_name["uniqueness"], user_name["caseExact"]) == (True, "server", False)
    password = next(a for a in user["attributes"] if a["name"] == "password")
    assert (password["mutability"], password["returned"]) == ("writeOnly", "never")
    assert user["meta"] == {
        "resourceType": "Schema",
        "location": f"http://testserver/scim/v2/Schemas/{USER_SCHEMA}",
    }
    assert scim.get_scim(f"/Schemas/{USER_SCHEMA.upper()}").status_code == 200
    assert scim.get_scim("/Schemas/urn:nope").status_code == 404


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"Group": None}})
def test_discovery_describes_what_is_configured(scim: ScimClient) -> None:
    """Removing a resource type removes it everywhere: endpoints, /ResourceTypes, /Schemas."""
    assert [r["name"] for r in scim.get_scim("/ResourceTypes").json()["Resources"]] == ["User"]
    assert GROUP_SCHEMA not in [s["id"] for s in scim.get_scim("/Schemas").json()["Resources"]]
    assert scim.get_scim("/Groups").status_code == 404


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
def test_filter_on_discovery_endpoints_is_403(scim: ScimClient, path: str) -> None:
    """RFC 7644 section 4: a filter on these endpoints SHOULD get 403."""
    response = scim.get_scim(f'{path}?filter=name eq "User"')
    assert response.status_code == 403
    assert response.json()["status"] == "403"


def test_discovery_needs_the_token(anonymous: ScimClient) -> None:
    assert anonymous.get_scim("/ServiceProviderConfig").status_code == 401
