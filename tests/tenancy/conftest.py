"""Two tenants, A and B, each with its own token and its own user and group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from django_scim.models import ScimToken
from tests.conftest import ScimClient
from tests.testapp.models import Organization

TENANCY = {"TENANT_MODEL": "testapp.Organization"}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Tenant:
    org: Organization
    client: ScimClient
    user: dict[str, Any]
    group: dict[str, Any]

    @property
    def user_id(self) -> str:
        return str(self.user["id"])

    @property
    def group_id(self) -> str:
        return str(self.group["id"])


def make_tenant(name: str, user_name: str) -> Tenant:
    org = Organization.objects.create(name=name)
    _row, raw = ScimToken.issue(f"idp-{name}", tenant=org)
    client = ScimClient(raw)
    response = client.scim("POST", "/Users", {"schemas": [USER], "userName": user_name})
    assert response.status_code == 201, response.content
    user = response.json()
    response = client.scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": f"{name}-team", "members": [{"value": user["id"]}]},
    )
    assert response.status_code == 201, response.content
    return Tenant(org, client, user, response.json())


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return make_tenant("A", "alice")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return make_tenant("B", "bob")
