"""A user's groups read in the user's own statement (issue 7).

``GET /Users/{id}`` (RFC 7644 section 3.4.1) and the ``userName eq`` / ``externalId eq`` lookups
identity providers make before each write (section 3.4.2.2) answer a user with its ``groups``
(RFC 7643 section 4.1.2, readOnly, ``type`` "direct"). They read them in the statement that reads
the user (a correlated subquery aggregating the groups into one JSON column): the token, then the
user with its groups, two statements. The groups must be those the separate query reads for a
page of users: same ids, names, references and order, groups made outside SCIM given their ids,
none when the response leaves them out.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS

from django_scim.adapters.base import RelationColumn
from django_scim.adapters.groups import GroupAdapter
from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.models import ScimGroup, ScimUser
from django_scim.orm import statements
from tests.conftest import ScimClient, captured_sql, create_user, get_ok

pytestmark = pytest.mark.django_db

MEMBERSHIP_TABLE = User.groups.through._meta.db_table


@pytest.fixture(autouse=True)
def fresh_statements() -> None:
    statements.clear(DEFAULT_DB_ALIAS)


def _lookup(scim: ScimClient, text: str) -> dict[str, Any]:
    body = get_ok(scim, f"/Users?filter={quote(text)}")
    assert body["totalResults"] == 1
    user: dict[str, Any] = body["Resources"][0]
    return user


def _groups(name: str, count: int, member: User) -> list[Group]:
    Group.objects.bulk_create([Group(name=f"{name}{i:02d}") for i in range(count)])
    made = list(Group.objects.filter(name__startswith=name).order_by("pk"))
    member.groups.add(*made)
    return made


def _page_groups(scim: ScimClient, user_name: str) -> list[dict[str, Any]]:
    """The user's groups as a page of users reads them (its own query, not an eq lookup)."""
    text = quote(f'userName sw "{user_name}"')
    body = get_ok(scim, f"/Users?filter={text}&count=5")
    (user,) = [u for u in body["Resources"] if u["userName"] == user_name]
    groups: list[dict[str, Any]] = user.get("groups", [])
    return groups


@pytest.fixture
def ada(scim: ScimClient) -> dict[str, Any]:
    created = create_user(scim, userName="ada", externalId="ext-ada")
    get_ok(scim, "/ServiceProviderConfig")  # the token's last_used, written once a minute
    return created


def test_get_by_id_reads_the_groups_in_the_users_statement(scim: ScimClient, ada: dict[str, Any]) -> None:
    user = User.objects.get(username="ada")
    made = _groups("g", 25, user)
    for group in made:
        ScimGroup.objects.create(resource=group)
    get_ok(scim, f"/Users/{ada['id']}")  # compiles the statement
    with captured_sql() as run:
        body = get_ok(scim, f"/Users/{ada['id']}")
    # The token, the user with its companion and groups.
    assert len(run) == 2
    assert MEMBERSHIP_TABLE in run[1]
    expected = [str(ScimGroup.objects.get(resource=g).id) for g in made]
    assert [g["value"] for g in body["groups"]] == expected
    assert [g["display"] for g in body["groups"]] == [g.name for g in made]
    assert all(g["type"] == "direct" and g["$ref"].endswith(f"/Groups/{g['value']}") for g in body["groups"])
    assert body["groups"] == _page_groups(scim, "ada")


def test_the_groups_subquery_joins_no_table(scim: ScimClient, ada: dict[str, Any]) -> None:
    """The groups come from the user's membership rows, each group's display and SCIM id by a
    scalar subquery of one table: no join and no ``GROUP BY`` for the database to plan on every
    lookup (PostgreSQL planned a three-table join of the same rows in 0.16 ms more)."""
    made = _groups("g", 2, User.objects.get(username="ada"))
    ScimGroup.objects.create(resource=made[0])
    get_ok(scim, f"/Users/{ada['id']}")
    with captured_sql() as run:
        body = get_ok(scim, f"/Users/{ada['id']}")
    statement = run[1].upper()
    # The user's companion is the statement's one join.
    assert statement.count(" JOIN ") == 1
    assert "GROUP BY" not in statement
    assert statement.count(f'FROM "{Group._meta.db_table.upper()}"') == 1
    assert statement.count(f'FROM "{ScimGroup._meta.db_table.upper()}"') == 1
    assert [g["display"] for g in body["groups"]] == ["g00", "g01"]


@pytest.mark.parametrize("text", ['userName eq "ADA"', 'externalId eq "ext-ada"'])
def test_equality_lookups_read_the_groups_in_the_users_statement(
    scim: ScimClient, ada: dict[str, Any], text: str, django_assert_num_queries: Any
) -> None:
    _groups("team", 3, User.objects.get(username="ada"))
    first = _lookup(scim, text)  # compiles it; the groups made outside SCIM get their ids
    with django_assert_num_queries(2) as captured:
        user = _lookup(scim, text)
    assert MEMBERSHIP_TABLE in captured.captured_queries[1]["sql"]
    assert user == first
    assert [g["display"] for g in user["groups"]] == ["team00", "team01", "team02"]
    assert user["groups"] == _page_groups(scim, "ada")


def test_a_user_in_no_group_has_none(
    scim: ScimClient, ada: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _groups("other", 2, User.objects.create(username="bob"))
    get_ok(scim, f"/Users/{ada['id']}")
    with django_assert_num_queries(2):
        assert "groups" not in get_ok(scim, f"/Users/{ada['id']}")
    with django_assert_num_queries(2):
        assert "groups" not in _lookup(scim, 'userName eq "ada"')


def test_groups_made_outside_scim_get_their_ids_once(scim: ScimClient, ada: dict[str, Any]) -> None:
    """A group with no companion yet gets one (a stable SCIM id) on the first read, as a page
    of users gives it; later reads are the two statements again."""
    outside = _groups("outside", 2, User.objects.get(username="ada"))
    assert ScimGroup.objects.count() == 0
    body = get_ok(scim, f"/Users/{ada['id']}")
    companions = {c.resource_id: str(c.id) for c in ScimGroup.objects.all()}
    assert [g["value"] for g in body["groups"]] == [companions[g.pk] for g in outside]
    with captured_sql() as run:
        again = get_ok(scim, f"/Users/{ada['id']}")
    assert again == body
    assert len(run) == 2
    assert get_ok(scim, f"/Groups/{body['groups'][0]['value']}")["displayName"] == "outside00"


def test_the_groups_follow_each_call(scim: ScimClient, ada: dict[str, Any]) -> None:
    """Nothing read with one user is carried to the next, nor stale after a change."""
    bob = create_user(scim, userName="bob")
    staff = _groups("staff", 1, User.objects.get(username="ada"))[0]
    assert [g["display"] for g in get_ok(scim, f"/Users/{ada['id']}")["groups"]] == ["staff00"]
    assert "groups" not in get_ok(scim, f"/Users/{bob['id']}")
    staff.user_set.add(User.objects.get(username="bob"))
    assert [g["display"] for g in get_ok(scim, f"/Users/{bob['id']}")["groups"]] == ["staff00"]
    staff.user_set.remove(User.objects.get(username="ada"))
    assert "groups" not in get_ok(scim, f"/Users/{ada['id']}")
    assert "groups" not in _lookup(scim, 'userName eq "ada"')


@pytest.mark.parametrize("query", ["excludedAttributes=groups", "attributes=userName"])
def test_a_response_without_groups_does_not_read_them(
    scim: ScimClient, ada: dict[str, Any], query: str
) -> None:
    """RFC 7644 section 3.4.2.5: what the response leaves out is not read."""
    _groups("team", 2, User.objects.get(username="ada"))
    text = quote('userName eq "ada"')
    for path in (f"/Users/{ada['id']}?{query}", f"/Users?filter={text}&{query}"):
        with captured_sql() as run:
            body = get_ok(scim, path)
        assert "groups" not in body and "groups" not in body.get("Resources", [{}])[0]
        assert not [sql for sql in run if MEMBERSHIP_TABLE in sql]
        assert len(run) == 2


def test_groups_by_value_keep_the_groups_attribute(scim: ScimClient, ada: dict[str, Any]) -> None:
    """``attributes=groups.value`` (RFC 7644 section 3.4.2.5): the groups come, projected."""
    made = _groups("team", 2, User.objects.get(username="ada"))
    body = get_ok(scim, f"/Users/{ada['id']}?attributes=groups.value")
    ids = [str(ScimGroup.objects.get(resource=g).id) for g in made]
    assert body["groups"] == [{"value": value} for value in ids]


class NarrowGroupAdapter(GroupAdapter):
    """Groups whose queryset the site shapes itself: their SQL is never reused."""

    def scoped(self, queryset: Any) -> Any:
        return super().scoped(queryset).exclude(name="hidden")


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"Group": {"ADAPTER": "tests.rest.test_lookups.NarrowGroupAdapter"}}}
)
def test_a_group_adapter_that_shapes_its_queryset_is_read_by_its_own_query(
    scim: ScimClient, ada: dict[str, Any]
) -> None:
    assert not get_adapter("Group").reuses_sql()
    user = User.objects.get(username="ada")
    _groups("shown", 1, user)
    user.groups.add(Group.objects.create(name="hidden"))
    with captured_sql() as run:
        body = get_ok(scim, f"/Users/{ada['id']}")
    assert [g["display"] for g in body["groups"]] == ["shown00"]
    membership = [sql for sql in run if MEMBERSHIP_TABLE in sql]
    assert len(membership) == 1
    assert ScimUser._meta.db_table not in membership[0]


def test_the_groups_subquery_is_built_when_the_statement_is_compiled_only(
    scim: ScimClient, ada: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the subquery through the ORM costs what the round trip it saves costs: it is
    built once per connection, with the statement, not per request."""
    built: list[str] = []
    original = UserAdapter.relation_columns

    def counting(self: UserAdapter, returned: Any, alias: str) -> dict[str, RelationColumn]:
        def build(attr: str, column: RelationColumn) -> Any:
            built.append(attr)
            return column.expression()

        return {
            attr: RelationColumn(functools.partial(build, attr, column), column.key)
            for attr, column in original(self, returned, alias).items()
        }

    monkeypatch.setattr(UserAdapter, "relation_columns", counting)
    _groups("team", 2, User.objects.get(username="ada"))
    bodies = [get_ok(scim, f"/Users/{ada['id']}") for _ in range(3)]
    assert built == ["groups"]
    assert bodies[0] == bodies[2] and len(bodies[0]["groups"]) == 2
