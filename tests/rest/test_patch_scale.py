"""Group membership PATCH at scale (issue 4 point 5): row deltas, never the member list.

Adding or removing one member costs the same number of queries in a group of 10 and of 10,000
members; 1,000 members added in one request are one bulk INSERT of membership rows.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.core.constants import PATCH_OP
from django_scim.models import ScimGroup, ScimUser
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

#: An absolute ceiling for one PATCH that adds or removes one member, request overhead included
#: (token lookup, provisioning log, savepoints; and the token lookup of _patch's first request).
MAX_QUERIES = 12  # 13 before the ids and their membership were read in one query
#: PATCH's own statements: the lock of the group row and its companion row, the ids resolved with
#: their membership (one query: it was two, resolution then the membership check), the INSERT /
#: DELETE, the members' version bump and the companion's UPDATE (the group's own row is
#: unchanged: no UPDATE).
OWN_QUERIES = 5
_OVERHEAD_TABLES = ("django_scim_scimtoken", "django_scim_provisioninglog")
Through = User.groups.through


def _seed(size: int, prefix: str) -> tuple[Group, ScimGroup, list[User]]:
    """A group with ``size`` members, seeded with bulk_create (no SCIM writes)."""
    users = User.objects.bulk_create([User(username=f"{prefix}{i}") for i in range(size)])
    if connection.vendor == "sqlite" and users[0].pk is None:  # pragma: no cover - old SQLite
        users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    group = Group.objects.create(name=f"group-{prefix}")
    companion = ScimGroup.objects.create(resource=group)
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=group.pk) for u in users], batch_size=2000)
    return group, companion, users


def _outsider(name: str) -> ScimUser:
    return ScimUser.objects.create(resource=User.objects.create(username=name))


def _patch(scim: ScimClient, companion: ScimGroup, *operations: dict[str, Any]) -> tuple[int, list[str]]:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    # A first request records the token's last use (one UPDATE, once a minute): not PATCH's cost.
    assert scim.get_scim("/ServiceProviderConfig").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = scim.scim("PATCH", f"/Groups/{companion.id}", body)
    assert response.status_code == 204, response.content
    sql = [q["sql"] for q in captured.captured_queries]
    # Counted: PATCH's own statements. Request overhead (token checks, the provisioning log) is
    # the business of other features, and savepoints are transaction bookkeeping (tests run in a
    # transaction); both are bounded by MAX_QUERIES.
    own = [
        q
        for q in sql
        if not any(table in q for table in _OVERHEAD_TABLES) and not q.startswith(("SAVEPOINT", "RELEASE"))
    ]
    return len(own), sql


def test_add_one_member_is_independent_of_group_size(
    scim: ScimClient, django_assert_max_num_queries: Any
) -> None:
    _, small, _ = _seed(10, "s")
    group, big, _ = _seed(10_000, "b")
    newcomer_small, newcomer_big = _outsider("n1"), _outsider("n2")
    add = {"op": "add", "path": "members", "value": [{"value": str(newcomer_small.id)}]}
    small_count, _ = _patch(scim, small, add)
    with django_assert_max_num_queries(MAX_QUERIES):
        big_count, sql = _patch(scim, big, {**add, "value": [{"value": str(newcomer_big.id)}]})
    assert big_count == small_count <= OWN_QUERIES
    assert group.user_set.count() == 10_001
    # No query reads the member list: none selects from the membership table without a bound.
    assert not any("auth_user_groups" in q and "IN (" not in q and "INSERT" not in q for q in sql)


@pytest.mark.parametrize("form", ["filter", "value_list"])
def test_remove_one_member_is_independent_of_group_size(
    scim: ScimClient, django_assert_max_num_queries: Any, form: str
) -> None:
    """Okta / flagged Entra: members[value eq "id"]; Entra without the flag: a value list."""
    _, small, small_users = _seed(10, "s")
    group, big, big_users = _seed(10_000, "b")
    companions = {u.pk: ScimUser.objects.create(resource=u) for u in (small_users[3], big_users[5_000])}

    def remove(user: User) -> dict[str, Any]:
        scim_id = str(companions[user.pk].id)
        if form == "filter":
            return {"op": "remove", "path": f'members[value eq "{scim_id}"]'}
        return {"op": "Remove", "path": "members", "value": [{"value": scim_id}]}

    small_count, _ = _patch(scim, small, remove(small_users[3]))
    with django_assert_max_num_queries(MAX_QUERIES):
        big_count, _ = _patch(scim, big, remove(big_users[5_000]))
    assert big_count == small_count <= OWN_QUERIES
    assert group.user_set.count() == 9_999
    assert not group.user_set.filter(pk=big_users[5_000].pk).exists()
    assert companions[big_users[5_000].pk].version < ScimUser.objects.get(resource=big_users[5_000]).version


def test_adding_1000_members_is_one_bulk_insert(scim: ScimClient) -> None:
    group, companion, _ = _seed(10_000, "b")
    newcomers = User.objects.bulk_create([User(username=f"new{i}") for i in range(1_000)])
    newcomers = list(User.objects.filter(username__startswith="new"))
    ids = [str(c.id) for c in ScimUser.objects.bulk_create([ScimUser(resource=u) for u in newcomers])]
    count, sql = _patch(
        scim, companion, {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}
    )
    inserts = [q for q in sql if q.startswith("INSERT") and "auth_user_groups" in q]
    # One statement on PostgreSQL; SQLite caps the parameters of one statement (999 in Django's
    # bulk_batch_size), so there the one bulk_create is split in as few batches as allowed.
    rows_per_statement = connection.ops.bulk_batch_size(["user_id", "group_id"], newcomers)
    assert len(inserts) == math.ceil(1_000 / rows_per_statement)
    if connection.vendor == "postgresql":
        assert len(inserts) == 1
    assert count <= OWN_QUERIES + len(inserts) - 1
    assert group.user_set.count() == 11_000
    assert ScimUser.objects.filter(resource__in=newcomers, version=2).count() == 1_000
