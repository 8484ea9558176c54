"""The SQL cost of reads, pinned as query counts (issue 3 item 10, issue 7 targets).

* A relation the response leaves out (Group ``members`` with ``excludedAttributes=members`` or
  ``attributes=displayName``, User ``groups`` likewise) is not read at all (RFC 7644 section
  3.4.2.5 decides what is returned; the adapter loads only that).
* The members of a 10,000-member group are one query of ``values()`` rows (member ids, names and
  SCIM ids joined), never 10,000 model instances.
* A page of users with their groups is a constant number of queries, whatever the page size and
  the number of groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.registry import get_adapter
from django_scim.core.constants import SEARCH_REQUEST
from django_scim.models import ScimGroup, ScimUser
from django_scim.orm import rowcount
from tests.conftest import ScimClient, captured_sql, get_ok

pytestmark = pytest.mark.django_db

Through = User.groups.through
MEMBERSHIP_TABLE = Through._meta.db_table


def _users(count: int, prefix: str = "u", *, companions: bool = True) -> list[User]:
    User.objects.bulk_create([User(username=f"{prefix}{i:05d}") for i in range(count)], batch_size=2000)
    users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    if companions:
        ScimUser.objects.bulk_create([ScimUser(resource=u) for u in users], batch_size=2000)
    return users


def _group(name: str, members: list[User]) -> ScimGroup:
    group = Group.objects.create(name=name)
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=group.pk) for u in members], batch_size=2000)
    return ScimGroup.objects.create(resource=group)


def _touching_membership(statements: list[str]) -> list[str]:
    return [sql for sql in statements if MEMBERSHIP_TABLE in sql]


# --- projection decides what is loaded (RFC 7644 section 3.4.2.5) -----------------------------


@pytest.mark.parametrize("query", ["excludedAttributes=members", "attributes=displayName", "attributes=id"])
def test_group_without_members_in_the_response_reads_no_membership(scim: ScimClient, query: str) -> None:
    companion = _group("team", _users(30))
    get_ok(scim, "/ServiceProviderConfig")  # the token's last_used, written once a minute
    with captured_sql() as statements:
        body = get_ok(scim, f"/Groups/{companion.id}?{query}")
    assert "members" not in body
    assert _touching_membership(statements) == []
    assert len(statements) <= 2  # the token, the group with its companion


def test_group_members_projection_still_loads_when_named(scim: ScimClient) -> None:
    companion = _group("team", _users(3))
    for query in ("", "?attributes=members.value", "?excludedAttributes=displayName", "?attributes=members"):
        with captured_sql() as statements:
            body = get_ok(scim, f"/Groups/{companion.id}{query}")
        assert len(body["members"]) == 3, query
        assert len(_touching_membership(statements)) == 1, query


def test_page_of_groups_without_members_reads_no_membership(scim: ScimClient) -> None:
    users = _users(20)
    for i in range(30):
        _group(f"g{i:02d}", users)
    get_ok(scim, "/ServiceProviderConfig")
    with captured_sql() as statements:
        body = get_ok(scim, "/Groups?count=25&excludedAttributes=members")
    assert body["itemsPerPage"] == 25
    assert all("members" not in group for group in body["Resources"])
    assert _touching_membership(statements) == []
    assert len(statements) <= 3  # the token, COUNT, the page
    with captured_sql() as statements:
        search = scim.scim(
            "POST",
            "/Groups/.search",
            {"schemas": [SEARCH_REQUEST], "attributes": ["displayName"], "count": 25},
        )
    assert search.status_code == 200
    assert _touching_membership(statements) == []


@pytest.mark.parametrize("query", ["excludedAttributes=groups", "attributes=userName"])
def test_user_without_groups_in_the_response_reads_no_membership(scim: ScimClient, query: str) -> None:
    users = _users(5)
    _group("team", users)
    scim_id = ScimUser.objects.get(resource=users[0]).id
    get_ok(scim, "/ServiceProviderConfig")
    with captured_sql() as statements:
        body = get_ok(scim, f"/Users/{scim_id}?{query}")
    assert "groups" not in body
    assert _touching_membership(statements) == []
    with captured_sql() as statements:
        page = get_ok(scim, f"/Users?count=5&{query}")
    assert all("groups" not in user for user in page["Resources"])
    assert _touching_membership(statements) == []
    assert len(get_ok(scim, f"/Users/{scim_id}")["groups"]) == 1


def test_render_many_decides_by_the_returned_rules() -> None:
    """``returned`` rules decide (RFC 7643 section 7): ``id`` is always there, members by default."""
    users = _users(2)
    group = _group("team", users).resource
    adapter = get_adapter("Group")
    assert len(adapter.render(group)["members"]) == 2
    assert "members" not in adapter.render(group, excluded_attributes=["MEMBERS"])
    assert "members" not in adapter.render(
        group, attributes=["urn:ietf:params:scim:schemas:core:2.0:Group:id"]
    )
    assert "members" in adapter.render(
        group, attributes=["urn:ietf:params:scim:schemas:core:2.0:Group:members"]
    )
    assert "members" in adapter.render(group, excluded_attributes=["members.display"])


# --- a 10,000-member group ---------------------------------------------------------------------


def test_a_10000_member_group_is_one_query_of_rows(
    scim: ScimClient, django_assert_max_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _users(10_000)
    companion = _group("bench-big", users)
    get_ok(scim, "/ServiceProviderConfig")
    instances = 0
    original_init = User.__init__

    def counting_init(self: User, *args: Any, **kwargs: Any) -> None:
        nonlocal instances
        instances += 1
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(User, "__init__", counting_init)
    # The token, the group with its companion, the members with their SCIM ids.
    with django_assert_max_num_queries(3) as captured:
        body = get_ok(scim, f"/Groups/{companion.id}")
    assert len(body["members"]) == 10_000
    assert instances == 0
    member_queries = _touching_membership([q["sql"] for q in captured.captured_queries])
    assert len(member_queries) == 1
    # Only the columns a member reference needs: no password hashes, no full rows.
    assert '"auth_user"."password"' not in member_queries[0]
    assert '"auth_user"."email"' not in member_queries[0]
    first = body["members"][0]
    assert first["display"] == "u00000" and first["type"] == "User"
    assert first["value"] == str(ScimUser.objects.get(resource=users[0]).id)
    assert first["$ref"].endswith(f"/Users/{first['value']}")


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner and EXPLAIN")
def test_members_of_a_group_are_read_by_key_not_by_scanning_the_user_table(scim: ScimClient) -> None:
    """A group's members cost what their number says: PostgreSQL (default costs) hash-joined the
    memberships with a sequential scan of every user. Here 300 members of 6,000 users."""
    users = _users(6_000)
    companion = _group("team", users[::20])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {User._meta.db_table}, {MEMBERSHIP_TABLE}, {ScimUser._meta.db_table}")
    get_ok(scim, "/ServiceProviderConfig")
    with CaptureQueriesContext(connection) as captured:
        body = get_ok(scim, f"/Groups/{companion.id}")
    (members_query,) = [q for q in captured.captured_queries if MEMBERSHIP_TABLE in q["sql"]]
    assert "= ANY(ARRAY(SELECT" in members_query["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {members_query['sql']}")
        (plan,) = cursor.fetchone()[0]
    scanned = {
        node.get("Relation Name") for node in _plan_nodes(plan["Plan"]) if node["Node Type"] == "Seq Scan"
    }
    assert User._meta.db_table not in scanned
    assert ScimUser._meta.db_table not in scanned
    expected = dict(ScimUser.objects.filter(resource__in=users[::20]).values_list("id", "resource__username"))
    assert [(m["value"], m["display"]) for m in body["members"]] == [
        (str(scim_id), name) for scim_id, name in sorted(expected.items(), key=lambda item: item[1])
    ]


def test_a_group_and_a_page_of_groups_list_the_same_members(scim: ScimClient) -> None:
    """One group reads its members by key, a page joins the memberships: the same members
    (RFC 7643 section 4.2), members made outside SCIM included, users of no group left out."""
    inside, outside, others = _users(4, "i"), _users(3, "o", companions=False), _users(3, "x")
    first = _group("first", inside[:2] + outside)
    second = _group("second", inside[1:])
    assert others  # in no group: never listed
    alone = {str(c.id): get_ok(scim, f"/Groups/{c.id}")["members"] for c in (first, second)}
    page = {g["id"]: g["members"] for g in get_ok(scim, "/Groups?count=10")["Resources"]}
    assert page == alone
    ids = dict(ScimUser.objects.values_list("resource__username", "id"))
    assert [m["value"] for m in alone[str(first.id)]] == [
        str(ids[name]) for name in ("i00000", "i00001", "o00000", "o00001", "o00002")
    ]
    assert [m["display"] for m in alone[str(second.id)]] == ["i00001", "i00002", "i00003"]


def test_members_made_outside_scim_get_companions_then_cost_one_query(scim: ScimClient) -> None:
    scim_made = _users(50, "s")
    outside = _users(50, "o", companions=False)
    companion = _group("mixed", scim_made + outside)
    get_ok(scim, "/ServiceProviderConfig")
    with captured_sql() as first:
        body = get_ok(scim, f"/Groups/{companion.id}")
    assert len(body["members"]) == 100
    assert ScimUser.objects.count() == 100
    # One read of the rows, then the companions of the 50 outsiders (companion_ids), once.
    assert len(first) <= 6
    with captured_sql() as again:
        assert get_ok(scim, f"/Groups/{companion.id}") == body
    assert len(_touching_membership(again)) == 1
    assert len(again) <= 3


# --- a page of users with their groups: constant ----------------------------------------------


def _page_queries(scim: ScimClient, count: int) -> tuple[int, dict[str, Any]]:
    with captured_sql() as statements:
        body = get_ok(scim, f"/Users?count={count}&sortBy=userName")
    return len(statements), body


@pytest.mark.parametrize("groups", [0, 20])
def test_a_page_of_users_costs_the_same_whatever_its_size_and_groups(scim: ScimClient, groups: int) -> None:
    users = _users(120)
    made = [_group(f"g{i:02d}", users[i::3]) for i in range(groups)]
    assert len(made) == groups
    get_ok(scim, "/ServiceProviderConfig")
    costs = {}
    for count in (10, 100):
        costs[count], body = _page_queries(scim, count)
        assert len(body["Resources"]) == count
        expected = {u.username: u.groups.count() for u in User.objects.order_by("username")[:count]}
        assert {user["userName"]: len(user.get("groups", [])) for user in body["Resources"]} == expected
    # The token, COUNT, the page (companions joined), the groups with their SCIM ids.
    assert costs[10] == costs[100] <= 4


def test_a_page_of_users_costs_the_same_with_0_or_20_groups(scim: ScimClient) -> None:
    users = _users(100)
    get_ok(scim, "/ServiceProviderConfig")
    empty, _body = _page_queries(scim, 100)
    for i in range(20):
        _group(f"g{i:02d}", users)
    full, body = _page_queries(scim, 100)
    assert all(len(user["groups"]) == 20 for user in body["Resources"])
    assert empty == full <= 4


def _counts(statements: list[str]) -> list[str]:
    """The statements that read a total: ``COUNT(*)``, or the row counts PostgreSQL keeps
    (:mod:`django_scim.orm.rowcount`)."""
    return [sql for sql in statements if "COUNT(" in sql.upper() or rowcount.TABLE in sql]


@pytest.mark.parametrize(
    ("query", "total", "counted"),
    [
        # A lookup before a write (userName eq): a short first page is the whole result.
        ('filter=userName eq "u00007"', 1, False),
        ('filter=userName eq "nobody"', 0, False),
        # The last, short page at an offset: its rows end the result.
        ("startIndex=21&count=10", 25, False),
        # A full page or a page past the end cannot tell the total: COUNT.
        ("startIndex=1&count=10", 25, True),
        ("startIndex=40&count=10", 25, True),
        ("count=0", 25, True),
    ],
)
def test_total_results_without_count_when_the_page_tells_it(
    scim: ScimClient, query: str, total: int, counted: bool
) -> None:
    """RFC 7644 section 3.4.2: totalResults is exact; a short page that reaches the end knows it."""
    _users(25)
    get_ok(scim, "/ServiceProviderConfig")
    with captured_sql() as statements:
        body = get_ok(scim, f"/Users?{query}")
    assert body["totalResults"] == total
    assert bool(_counts(statements)) is counted


def test_cursor_first_page_holding_everything_is_not_counted(scim: ScimClient) -> None:
    """RFC 9865 section 2: a first page with no nextCursor holds the whole result."""
    _users(5)
    get_ok(scim, "/ServiceProviderConfig")
    with captured_sql() as statements:
        body = get_ok(scim, "/Users?cursor=&count=10")
    assert body["totalResults"] == 5 and "nextCursor" not in body
    assert _counts(statements) == []
    with captured_sql() as statements:
        body = get_ok(scim, "/Users?cursor=&count=2")
    assert body["totalResults"] == 5 and body["nextCursor"]
    assert len(_counts(statements)) == 1


def test_index_page_skips_rows_on_keys_alone(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2.4: startIndex skips rows; the database skips them without reading
    the companions (the OFFSET is in a subquery of primary keys), and the order is unchanged."""
    users = _users(30)
    for i, user in enumerate(users):
        user.last_name = f"n{i % 4}"  # ties: the primary key decides between them
        user.save(update_fields=["last_name"])
    get_ok(scim, "/ServiceProviderConfig")
    order = "sortBy=name.familyName&sortOrder=descending"
    whole = get_ok(scim, f"/Users?count=30&{order}")["Resources"]
    pages = []
    for start in (1, 11, 21):
        with captured_sql() as statements:
            body = get_ok(scim, f"/Users?startIndex={start}&count=10&{order}")
        pages += body["Resources"]
        if start > 1:
            (page_sql,) = [sql for sql in statements if "OFFSET" in sql]
            keys = page_sql.split(" IN (SELECT ", 1)[1].split("OFFSET", 1)[0]
            assert ScimUser._meta.db_table not in keys
    assert [u["id"] for u in pages] == [u["id"] for u in whole]


def test_cursor_pages_find_their_keys_on_the_users_table_alone(scim: ScimClient) -> None:
    """RFC 9865: the last page costs what the first does. The keyset query (``pk > last``,
    ``LIMIT``) reads primary keys without the companion join, which PostgreSQL merge-joined from
    the start of the companion index (the last page of 10,000 read all 10,000 companions);
    the order and the pages are unchanged, backwards too."""
    users = _users(25)
    for i, user in enumerate(users):
        user.last_name = f"n{i % 3}"
        user.save(update_fields=["last_name"])
    get_ok(scim, "/ServiceProviderConfig")
    for order in ("", "&sortBy=name.familyName&sortOrder=descending"):
        whole = [u["id"] for u in get_ok(scim, f"/Users?count=25{order}")["Resources"]]
        body = get_ok(scim, f"/Users?count=10&cursor={order}")
        pages = [u["id"] for u in body["Resources"]]
        while body.get("nextCursor"):
            with captured_sql() as statements:
                body = get_ok(scim, f"/Users?count=10&cursor={body['nextCursor']}{order}")
            pages += [u["id"] for u in body["Resources"]]
            (page_sql,) = [sql for sql in statements if " IN (SELECT " in sql]
            keys = page_sql.split(" IN (SELECT ", 1)[1].split("LIMIT", 1)[0]
            assert ScimUser._meta.db_table not in keys
        assert pages == whole
        back = get_ok(scim, f"/Users?count=10&cursor={body['previousCursor']}{order}")
        assert [u["id"] for u in back["Resources"]] == whole[10:20]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the cast is PostgreSQL's")
def test_member_ids_come_as_text_from_postgresql(scim: ScimClient) -> None:
    """A 10,000-member group spent a third of its time making UUID objects only to str() them:
    on PostgreSQL the members' SCIM ids are read as text."""
    companion = _group("team", _users(3))
    with captured_sql() as statements:
        body = get_ok(scim, f"/Groups/{companion.id}")
    (members_sql,) = _touching_membership(statements)
    assert "::varchar" in members_sql
    expected = {str(c.id) for c in ScimUser.objects.all()}
    assert {member["value"] for member in body["members"]} == expected
