"""Tenant isolation (issue 6, point 1): a token of tenant A never reaches tenant B's resources.

RFC 7644 section 2 leaves authorisation to the service provider; section 3.12 gives the answers
used here: 404 for a resource the client may not see (as if it did not exist, so ids are not
confirmed), 400 invalidValue for a reference to one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from django_scim.models import ProvisioningLog, ScimGroup, ScimUser
from tests.conftest import db_state

from .conftest import GROUP, PATCH_OP, TENANCY, USER, Tenant

pytestmark = pytest.mark.scim_settings(TENANCY)

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def query(client: Any, path: str, **params: str) -> Any:
    return client.get_scim(f"{path}?{urlencode(params)}")


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["Resources"]}


# --- reads ------------------------------------------------------------------------------------


def test_lists_hold_only_the_tenants_resources(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """RFC 7644 section 3.4.2: the list is the tenant's, totalResults included."""
    users = tenant_a.client.get_scim("/Users")
    assert ids(users) == {tenant_a.user_id}
    assert users.json()["totalResults"] == 1
    assert ids(tenant_a.client.get_scim("/Groups")) == {tenant_a.group_id}
    assert ids(tenant_b.client.get_scim("/Users")) == {tenant_b.user_id}


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def test_other_tenants_resource_is_404(
    tenant_a: Tenant, tenant_b: Tenant, endpoint: str, method: str
) -> None:
    """RFC 7644 section 3.12: 404 on every method, and B's data does not change."""
    target = tenant_b.user_id if endpoint == "Users" else tenant_b.group_id
    bodies = {
        "PUT": {"schemas": [USER], "userName": "taken"}
        if endpoint == "Users"
        else {"schemas": [GROUP], "displayName": "taken"},
        "PATCH": {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "externalId", "value": "x"}],
        },
    }
    before = db_state()
    response = tenant_a.client.scim(method, f"/{endpoint}/{target}", bodies.get(method))
    assert response.status_code == 404, response.content
    assert db_state() == before
    assert tenant_b.client.get_scim(f"/{endpoint}/{target}").status_code == 200


def test_a_read_by_the_owner_does_not_open_the_resource_to_another_tenant(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Reads by id run SQL compiled for an earlier request (``orm.statements``): B's read first,
    then A's, then B's again, each scoped to its own tenant (RFC 7644 section 3.12: 404)."""
    for endpoint, target in (("Users", tenant_b.user_id), ("Groups", tenant_b.group_id)):
        assert tenant_b.client.get_scim(f"/{endpoint}/{target}").status_code == 200
        assert tenant_a.client.get_scim(f"/{endpoint}/{target}").status_code == 404
        assert tenant_b.client.get_scim(f"/{endpoint}/{target}").status_code == 200
    # B's user is in B's group only; A's user page lists A's group only.
    groups = tenant_a.client.get_scim(f"/Users/{tenant_a.user_id}").json()["groups"]
    assert [group["value"] for group in groups] == [tenant_a.group_id]


@pytest.mark.parametrize(
    ("endpoint", "template"),
    [
        ("Users", 'userName eq "bob"'),
        ("Users", 'id eq "{user}"'),
        ("Users", 'groups.value eq "{group}"'),
        ("Users", 'groups.display eq "B-team"'),
        ("Users", "userName pr"),
        ("Users", 'not (userName eq "alice")'),
        ("Groups", 'displayName eq "B-team"'),
        ("Groups", 'members.value eq "{user}"'),
        ("Groups", 'members[display eq "bob"]'),
        ("Groups", 'id eq "{group}" or displayName pr'),
    ],
)
def test_filters_never_return_other_tenants(
    tenant_a: Tenant, tenant_b: Tenant, endpoint: str, template: str
) -> None:
    """RFC 7644 section 3.4.2.2: filters apply to the tenant's resources only."""
    text = template.format(user=tenant_b.user_id, group=tenant_b.group_id)
    mine = {tenant_a.user_id, tenant_a.group_id}
    found = ids(query(tenant_a.client, f"/{endpoint}", filter=text))
    assert found <= mine
    search = tenant_a.client.scim("POST", f"/{endpoint}/.search", {"schemas": [SEARCH], "filter": text})
    assert ids(search) <= mine
    root = tenant_a.client.scim("POST", "/.search", {"schemas": [SEARCH], "filter": text})
    if root.status_code == 200:
        assert ids(root) <= mine


def test_root_search_and_sorting_stay_in_the_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """RFC 7644 section 3.4.3: a search at the root covers the tenant's resources of every type."""
    response = tenant_a.client.scim("POST", "/.search", {"schemas": [SEARCH], "sortBy": "meta.created"})
    assert ids(response) == {tenant_a.user_id, tenant_a.group_id}
    paged = query(tenant_a.client, "/Users", cursor="", count="1")
    assert ids(paged) == {tenant_a.user_id}


def test_rendered_references_stay_in_the_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """A membership across tenants made outside SCIM is not shown, nor matched by filters."""
    alice = get_user_model().objects.get(username="alice")
    Group.objects.get(name="B-team").user_set.add(alice)
    user = tenant_a.client.get_scim(f"/Users/{tenant_a.user_id}").json()
    assert [g["value"] for g in user["groups"]] == [tenant_a.group_id]
    found = query(tenant_a.client, "/Users", filter=f'groups.value eq "{tenant_b.group_id}"')
    assert ids(found) == set()
    group = tenant_b.client.get_scim(f"/Groups/{tenant_b.group_id}").json()
    assert [m["value"] for m in group["members"]] == [tenant_b.user_id]


def test_pages_of_groups_list_the_members_of_the_tenant_alone(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """A page of groups (members joined per group) hides another tenant's member as the group
    read alone (members read by key) does, for a membership made outside SCIM."""
    alice = get_user_model().objects.get(username="alice")
    Group.objects.get(name="B-team").user_set.add(alice)
    page = tenant_b.client.get_scim("/Groups").json()
    assert [[m["value"] for m in g["members"]] for g in page["Resources"]] == [[tenant_b.user_id]]
    group = tenant_b.client.get_scim(f"/Groups/{tenant_b.group_id}").json()
    assert group["members"] == page["Resources"][0]["members"]


def test_lookups_read_the_tenants_groups_with_the_user(
    tenant_a: Tenant, tenant_b: Tenant, django_assert_num_queries: Any
) -> None:
    """GET by id and ``userName eq`` read the user's groups in the user's own statement, scoped
    to the tenant there too: B's group, linked outside SCIM, is not shown; the statement cached
    for A does not show A's groups to B (RFC 7644 section 3.4.1, RFC 7643 section 4.1.2)."""
    alice = get_user_model().objects.get(username="alice")
    Group.objects.get(name="B-team").user_set.add(alice)
    Group.objects.get(name="A-team").user_set.add(get_user_model().objects.get(username="bob"))
    for tenant in (tenant_a, tenant_b):
        tenant.client.get_scim("/ServiceProviderConfig")  # the token's last_used, once a minute
    for _ in range(2):  # compiled (SQLite tells its JSON support once), then cached
        by_id = tenant_a.client.get_scim(f"/Users/{tenant_a.user_id}").json()
        found = query(tenant_a.client, "/Users", filter='userName eq "alice"').json()
        assert [g["value"] for g in by_id["groups"]] == [tenant_a.group_id]
        assert found["Resources"] == [by_id]
        bob = tenant_b.client.get_scim(f"/Users/{tenant_b.user_id}").json()
        assert [g["value"] for g in bob["groups"]] == [tenant_b.group_id]
        assert query(tenant_b.client, "/Users", filter='userName eq "alice"').json()["totalResults"] == 0
    # The token, its tenant, the user with its groups.
    with django_assert_num_queries(3):
        assert tenant_a.client.get_scim(f"/Users/{tenant_a.user_id}").json() == by_id
    with django_assert_num_queries(3):
        assert query(tenant_a.client, "/Users", filter='userName eq "alice"').json() == found


# --- references -------------------------------------------------------------------------------


def test_post_group_with_other_tenants_member_is_400(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """RFC 7644 section 3.12 invalidValue: B's user is an unknown member id for A."""
    before = db_state()
    response = tenant_a.client.scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "mixed", "members": [{"value": tenant_b.user_id}]},
    )
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


def test_put_group_with_other_tenants_member_is_400(tenant_a: Tenant, tenant_b: Tenant) -> None:
    before = db_state()
    response = tenant_a.client.scim(
        "PUT",
        f"/Groups/{tenant_a.group_id}",
        {"schemas": [GROUP], "displayName": "A-team", "members": [{"value": tenant_b.user_id}]},
    )
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": [{"value": "{user}"}]},
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "{user}"}]},
        {"op": "replace", "path": "members", "value": [{"value": "{user}"}]},
        {"op": "replace", "value": {"members": [{"value": "{user}"}]}},
    ],
)
def test_patch_member_add_of_other_tenants_user_is_400(
    tenant_a: Tenant, tenant_b: Tenant, operation: dict[str, Any]
) -> None:
    """RFC 7644 section 3.5.2.1: the member is never added; the group is unchanged."""
    text = str(operation).replace("{user}", tenant_b.user_id)
    op = eval(text)  # noqa: S307 - a literal built above
    before = db_state()
    response = tenant_a.client.scim(
        "PATCH", f"/Groups/{tenant_a.group_id}", {"schemas": [PATCH_OP], "Operations": [op]}
    )
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert db_state() == before


def test_patch_member_remove_of_other_tenants_user_changes_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """RFC 7644 section 3.5.2.2: removing B's user from A's group touches no B membership."""
    before = db_state()
    for op in (
        {"op": "remove", "path": f'members[value eq "{tenant_b.user_id}"]'},
        {"op": "Remove", "path": "members", "value": [{"value": tenant_b.user_id}]},
    ):
        response = tenant_a.client.scim(
            "PATCH", f"/Groups/{tenant_a.group_id}", {"schemas": [PATCH_OP], "Operations": [op]}
        )
        assert response.status_code in (200, 204), response.content
    assert db_state() == before


def test_bulk_operations_on_other_tenants_resources(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """RFC 7644 section 3.7: each operation on B's resources fails like the single request."""
    before = db_state()
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "displayName", "value": "x"}]}
    operations = [
        {"method": "PUT", "path": f"/Users/{tenant_b.user_id}", "data": {"schemas": [USER], "userName": "x"}},
        {"method": "PATCH", "path": f"/Groups/{tenant_b.group_id}", "data": patch},
        {"method": "DELETE", "path": f"/Users/{tenant_b.user_id}"},
        {"method": "DELETE", "path": f"/Groups/{tenant_b.group_id}"},
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"schemas": [GROUP], "displayName": "mixed", "members": [{"value": tenant_b.user_id}]},
        },
        {
            "method": "PATCH",
            "path": f"/Groups/{tenant_a.group_id}",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": tenant_b.user_id}]}],
            },
        },
    ]
    response = tenant_a.client.scim(
        "POST",
        "/Bulk",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations},
    )
    assert response.status_code == 200, response.content
    statuses = [str(result["status"]) for result in response.json()["Operations"]]
    assert statuses == ["404", "404", "404", "404", "400", "400"]
    assert db_state() == before


def test_bulk_references_resolve_within_the_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """RFC 7644 section 3.7.2: a bulkId names a resource created in the tenant, for the tenant."""
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "carol"}},
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"schemas": [GROUP], "displayName": "A-new", "members": [{"value": "bulkId:u"}]},
        },
    ]
    response = tenant_a.client.scim(
        "POST",
        "/Bulk",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations},
    )
    assert [str(r["status"]) for r in response.json()["Operations"]] == ["201", "201"]
    assert len(ids(tenant_a.client.get_scim("/Users"))) == 2
    assert ids(tenant_b.client.get_scim("/Users")) == {tenant_b.user_id}
    org = str(tenant_a.org.pk)
    assert set(ScimUser.objects.filter(resource__username="carol").values_list("tenant_id", flat=True)) == {
        org
    }
    assert set(ScimGroup.objects.filter(resource__name="A-new").values_list("tenant_id", flat=True)) == {org}


# --- tokens and rows without a tenant -----------------------------------------------------------


def test_rows_made_outside_scim_are_invisible_and_get_no_companion(tenant_a: Tenant) -> None:
    """No tenant owns a row SCIM did not create: no list shows it, no reference reaches it."""
    outsider = get_user_model().objects.create(username="outsider")
    assert ids(tenant_a.client.get_scim("/Users")) == {tenant_a.user_id}
    response = tenant_a.client.scim(
        "PATCH",
        f"/Groups/{tenant_a.group_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}]}]},
    )
    assert response.status_code == 400
    assert not ScimUser.objects.filter(resource=outsider).exists()


def test_token_without_tenant_is_403(tenant_a: Tenant) -> None:
    """With TENANT_MODEL set, a token of no tenant reaches nothing (not everything)."""
    from django_scim.models import ScimToken
    from tests.conftest import ScimClient

    row, raw = ScimToken.issue("legacy")
    assert row.tenant_id is None
    response = ScimClient(raw).get_scim("/Users")
    assert response.status_code == 403, response.content
    assert response.json()["status"] == "403"


def test_token_of_deleted_tenant_is_401(tenant_a: Tenant) -> None:
    tenant_a.org.delete()
    assert tenant_a.client.get_scim("/Users").status_code == 401


def test_log_entries_carry_the_tenant(tenant_a: Tenant) -> None:
    """Issue 6 point 5: the provisioning log records the tenant of each write."""
    entry = ProvisioningLog.objects.filter(method="POST", path__endswith="/Users").latest("id")
    assert entry.tenant == str(tenant_a.org.pk)


def test_companions_carry_the_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    assert ScimUser.objects.get(pk=tenant_a.user_id).tenant_id == str(tenant_a.org.pk)
    assert ScimGroup.objects.get(pk=tenant_b.group_id).tenant_id == str(tenant_b.org.pk)
