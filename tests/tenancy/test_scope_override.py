"""Sites whose models carry their own organisation key: ``scope_queryset`` decides, and
uniqueness is per tenant (RFC 7643 section 2.2 ``uniqueness: server`` within the tenant's scope)."""

from __future__ import annotations

from typing import Any

import pytest

from django_scim.adapters.base import ResourceAdapter
from django_scim.core.constants import USER_SCHEMA
from django_scim.models import ScimToken
from tests.conftest import ScimClient
from tests.testapp.models import OrgAccount, OrgAccountScim, Organization

from .conftest import USER


class OrgAccountAdapter(ResourceAdapter):
    """Users are OrgAccount rows, each with its organisation; userName unique per organisation."""

    name = "User"
    endpoint = "Users"
    schema = USER_SCHEMA
    model = "testapp.OrgAccount"
    companion_model = "testapp.OrgAccountScim"
    attribute_map = {"userName": "username"}
    display_field = "username"

    def scope_queryset(self, queryset: Any, tenant: str) -> Any:
        return queryset.filter(organization_id=tenant)

    def new_instance(self, document: Any) -> OrgAccount:
        assert self.tenant is not None  # Served only with a tenant's token.
        return OrgAccount(organization_id=self.tenant)


pytestmark = pytest.mark.scim_settings(
    {
        "TENANT_MODEL": "testapp.Organization",
        "RESOURCE_TYPES": {
            "User": {"ADAPTER": "tests.tenancy.test_scope_override.OrgAccountAdapter"},
            "Group": None,
        },
    }
)


def client_for(org: Organization) -> ScimClient:
    _row, raw = ScimToken.issue(org.name, tenant=org.pk)
    return ScimClient(raw)


def post(client: ScimClient, user_name: str) -> Any:
    return client.scim("POST", "/Users", {"schemas": [USER], "userName": user_name})


@pytest.fixture
def orgs(db: None) -> tuple[Organization, Organization]:
    return Organization.objects.create(name="A"), Organization.objects.create(name="B")


def test_user_name_is_unique_per_tenant(orgs: tuple[Organization, Organization]) -> None:
    """The same userName in two tenants is two users; twice in one tenant is 409 uniqueness."""
    a, b = map(client_for, orgs)
    assert post(a, "sam").status_code == 201
    assert post(b, "sam").status_code == 201
    again = post(a, "SAM")
    assert again.status_code == 409, again.content
    assert again.json()["scimType"] == "uniqueness"
    assert OrgAccount.objects.filter(username__iexact="sam").count() == 2
    found = a.get_scim("/Users?filter=userName%20eq%20%22sam%22").json()
    assert found["totalResults"] == 1


def test_rows_made_outside_scim_belong_to_their_organisation(orgs: tuple[Organization, Organization]) -> None:
    """With an own key, rows made outside SCIM are the tenant's: listed, and given a companion
    tagged with the tenant; the other tenant's rows get none."""
    org_a, org_b = orgs
    mine = OrgAccount.objects.create(organization=org_a, username="legacy")
    theirs = OrgAccount.objects.create(organization=org_b, username="other")
    listed = client_for(org_a).get_scim("/Users").json()
    assert [r["userName"] for r in listed["Resources"]] == ["legacy"]
    assert OrgAccountScim.objects.get(resource=mine).tenant_id == str(org_a.pk)
    assert not OrgAccountScim.objects.filter(resource=theirs).exists()
