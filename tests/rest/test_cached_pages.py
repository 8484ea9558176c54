"""Pages of users and groups read through SQL compiled once per connection (issue 7).

An unfiltered page in primary-key order, by index (RFC 7644 section 3.4.2.4) or by cursor
(RFC 9865 section 2), has one SQL text per page size and direction: its rows come from
:func:`django_scim.orm.statements.values_rows`, the ``OFFSET`` and the cursor's last key as
parameters (a user's groups come from their own cached query: folded into the page's statement
they cost more than they saved, measured). The documents must be those the ORM path gives (an
adapter that does not reuse SQL), for every page, tenant and delete mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import override_settings

from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.core.constants import USER_SCHEMA
from django_scim.models import ScimGroup, ScimUser
from django_scim.orm import statements
from django_scim.orm.mapping import MISSING, AttributeMapping, Computed
from django_scim.rest.pagination import decode_cursor
from tests.conftest import ScimClient, captured_sql, create_user, get_ok
from tests.tenancy.conftest import TENANCY, Tenant, make_tenant

pytestmark = pytest.mark.django_db

MEMBERSHIP_TABLE = User.groups.through._meta.db_table


@pytest.fixture(autouse=True)
def fresh_statements() -> None:
    statements.clear(DEFAULT_DB_ALIAS)


@pytest.fixture
def people(db: None) -> list[User]:
    """23 users with companions, two made outside SCIM, in groups of 0 to 3."""
    User.objects.bulk_create([User(username=f"p{i:02d}", first_name=f"F{i % 4}") for i in range(23)])
    users = list(User.objects.filter(username__startswith="p").order_by("pk"))
    ScimUser.objects.bulk_create([ScimUser(resource=u, external_id=f"x{u.pk}") for u in users[2:]])
    for n in range(3):
        group = Group.objects.create(name=f"team{n}")
        ScimGroup.objects.create(resource=group)
        group.user_set.add(*users[n :: n + 2])
    return users


@contextmanager
def _orm_path() -> Iterator[None]:
    """The same site with adapters that build every page's SQL (``reuse_sql = False``)."""
    base = dict(getattr(settings, "SCIM", {}))
    types = {
        name: {**base.get("RESOURCE_TYPES", {}).get(name, {}), "ADAPTER": adapter, "REUSE_SQL": False}
        for name, adapter in (
            ("User", "django_scim.adapters.users.UserAdapter"),
            ("Group", "django_scim.adapters.groups.GroupAdapter"),
        )
    }
    with override_settings(SCIM={**base, "RESOURCE_TYPES": types}):
        assert not get_adapter("User").reuses_sql()
        yield


def _page_statements() -> list[Any]:
    """The page statements kept on this connection: ``("index" | "offset" | "cursor", ...)``,
    reading instances or documents written by the database (``("documents", statement, ...)``)."""
    cache = getattr(connection, "_scim_statements", {})
    keys = [key[1:] if isinstance(key, tuple) and key[0] == "documents" else key for key in cache]
    return [
        key[0]
        for key in keys
        if isinstance(key, tuple) and isinstance(key[0], tuple) and key[0][0] in ("index", "offset", "cursor")
    ]


def _both(scim: ScimClient, path: str, *, cached: bool = True) -> dict[str, Any]:
    """The body of ``path``, checked equal to the ORM path's; read through a kept statement
    (``cached``) or not."""
    statements.clear(DEFAULT_DB_ALIAS)
    get_ok(scim, path)  # companions for users made outside SCIM; the statement compiled
    body = get_ok(scim, path)
    assert bool(_page_statements()) is cached
    with _orm_path():
        assert _comparable(get_ok(scim, path)) == _comparable(body)
    return body


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its cursors as their payloads (their text holds the time they were signed)."""
    return {
        key: decode_cursor(value, max_age=None) if key in ("nextCursor", "previousCursor") else value
        for key, value in body.items()
    }


@pytest.mark.parametrize(
    "query",
    [
        "count=10",  # the first page
        "startIndex=11&count=10",  # an OFFSET page
        "startIndex=21&count=10",  # the last page, short
        "startIndex=15&count=10",  # an offset that is no multiple of the count
        "startIndex=24&count=10",  # past the end
        "startIndex=500&count=10",
        "count=0",
        "count=10&excludedAttributes=groups",
        "count=10&attributes=userName",
    ],
)
def test_index_pages_are_the_orm_pages(scim: ScimClient, people: list[User], query: str) -> None:
    """RFC 7644 section 3.4.2.4: the same resources, order and totals as the ORM path."""
    # count=0 reads no rows, only the COUNT.
    body = _both(scim, f"/Users?{query}", cached=query != "count=0")
    assert body["totalResults"] == 23


def test_offset_pages_share_one_statement(scim: ScimClient, people: list[User]) -> None:
    """The ``OFFSET`` is a parameter: every later page of one size reuses the first's SQL."""
    whole = [u["id"] for u in get_ok(scim, "/Users?count=23")["Resources"]]
    pages: list[str] = []
    for start in (1, 6, 11, 16, 21):
        pages += [u["id"] for u in get_ok(scim, f"/Users?startIndex={start}&count=5")["Resources"]]
    assert pages == whole
    assert sorted(_page_statements()) == [("index", 5), ("index", 23), ("offset", 5)]


def test_a_page_of_users_is_four_statements(
    scim: ScimClient, people: list[User], django_assert_max_num_queries: Any
) -> None:
    """RFC 7643 section 4.1.2: each user's groups. The token, the page, its users' groups, the
    COUNT (RFC 7644 section 3.4.2: totalResults): no more, on either database."""
    get_ok(scim, "/Users?startIndex=6&count=5")
    with django_assert_max_num_queries(4) as captured:
        body = get_ok(scim, "/Users?startIndex=6&count=5")
    (page,) = [q["sql"] for q in captured.captured_queries if ScimUser._meta.db_table in q["sql"]]
    assert MEMBERSHIP_TABLE not in page
    expected = {u.username: u.groups.count() for u in people[5:10]}
    assert {u["userName"]: len(u.get("groups", [])) for u in body["Resources"]} == expected


def test_cursor_pages_are_the_orm_pages(scim: ScimClient, people: list[User]) -> None:
    """RFC 9865 section 2: forward to the end, then back, through cached SQL, as the ORM pages."""
    path = "/Users?count=5&cursor="
    first = _both(scim, path)
    assert "previousCursor" not in first
    body, seen = first, [u["id"] for u in first["Resources"]]
    while body.get("nextCursor"):
        body = _both(scim, f"/Users?count=5&cursor={body['nextCursor']}")
        seen += [u["id"] for u in body["Resources"]]
    assert seen == [u["id"] for u in get_ok(scim, "/Users?count=23")["Resources"]]
    back = _both(scim, f"/Users?count=5&cursor={body['previousCursor']}")
    assert [u["id"] for u in back["Resources"]] == seen[15:20]


def test_sorted_and_filtered_pages_build_their_sql(scim: ScimClient, people: list[User]) -> None:
    """sortBy (section 3.4.2.3) and filters change the SQL: no statement is kept for them."""
    for query in (
        "sortBy=name.givenName&count=5",
        "sortBy=userName&sortOrder=descending&count=5&cursor=",
        'filter=name.givenName eq "F1"&count=3&startIndex=2',
        'filter=name.givenName eq "F1"&count=3&cursor=',
    ):
        _both(scim, f"/Users?{query}", cached=False)


def test_pages_of_groups_are_the_orm_pages(scim: ScimClient, people: list[User]) -> None:
    """Groups take the same path (their members are read apart, as before)."""
    for query in ("count=2&excludedAttributes=members", "startIndex=2&count=2", "count=2&cursor="):
        _both(scim, f"/Groups?{query}")


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_soft_deleted_users_are_left_out(scim: ScimClient, people: list[User]) -> None:
    """A soft-deleted user is gone from every page (its delete mode is in the statement's key)."""
    gone = get_ok(scim, "/Users?count=3")["Resources"][1]["id"]
    assert scim.scim("DELETE", f"/Users/{gone}").status_code == 204
    for query in ("count=5", "startIndex=6&count=5", "count=5&cursor="):
        body = _both(scim, f"/Users?{query}")
        assert gone not in {u["id"] for u in body["Resources"]}
        assert body["totalResults"] == 22


@pytest.mark.scim_settings(TENANCY)
def test_a_statement_kept_for_one_tenant_never_serves_another(db: None) -> None:
    """Tenancy: each tenant's pages list its own users only, however they alternate."""
    a, b = make_tenant("A", "alice"), make_tenant("B", "bob")
    tenants: list[Tenant] = [a, b, a, b]
    for tenant in tenants:
        for query in ("count=5", "startIndex=2&count=5", "count=5&cursor="):
            body = get_ok(tenant.client, f"/Users?{query}")
            ids = {u["id"] for u in body["Resources"]}
            assert ids <= {tenant.user_id}
            assert body["totalResults"] == 1
        (user,) = get_ok(tenant.client, "/Users?count=5")["Resources"]
        assert [g["value"] for g in user["groups"]] == [tenant.group_id]


class ShapedUserAdapter(UserAdapter):
    def get_queryset(self) -> Any:
        return super().get_queryset().exclude(username="p03")


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.rest.test_cached_pages.ShapedUserAdapter"}}}
)
def test_an_adapter_shaping_its_queryset_keeps_the_orm_path(scim: ScimClient, people: list[User]) -> None:
    assert not get_adapter("User").reuses_sql()
    for query in ("count=5", "startIndex=3&count=5", "count=5&cursor="):
        body = get_ok(scim, f"/Users?{query}")
        assert "p03" not in {u["userName"] for u in body["Resources"]}
    assert _page_statements() == []


# --- what a page reads of each user ------------------------------------------------------------

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _page_sql(scim: ScimClient, path: str) -> str:
    """The SQL of the page's own statement (the one reading the companions) for ``path``."""
    get_ok(scim, path)
    with captured_sql() as sql:
        get_ok(scim, path)
    (page,) = [
        text for text in sql if ScimUser._meta.db_table in text and "django_scim_scimtoken" not in text
    ]
    return page


def test_a_page_reads_only_the_columns_it_renders(scim: ScimClient, people: list[User]) -> None:
    """The default map reads userName, name, emails and active from model fields (RFC 7643
    section 4.1): a page's statement reads those columns and the key, not the password hash or
    the login times, and renders what the ORM path renders from whole instances."""
    assert get_adapter("User").render_columns() == {
        "id", "username", "first_name", "last_name", "email", "is_active",
    }  # fmt: skip
    create_user(
        scim,
        userName="full@example.com",
        name={"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara Jensen"},
        emails=[{"value": "b@example.com", "type": "work", "primary": True}, {"value": "h@example.com"}],
        phoneNumbers=[{"value": "555-1234", "type": "work"}],
        **{
            "schemas": [USER_SCHEMA, ENTERPRISE],
            ENTERPRISE: {"employeeNumber": "7", "manager": {"value": "x"}},
        },
    )
    User.objects.filter(username="full@example.com").update(first_name="Babs")  # changed by the site
    for query in ("count=30", "startIndex=20&count=10", "count=30&cursor="):
        page = _page_sql(scim, f"/Users?{query}")
        # Columns of the user's table (the page's SQL also names attributes, as JSON keys).
        assert '"auth_user"."username"' in page
        assert '"auth_user"."password"' not in page
        assert '"auth_user"."last_login"' not in page
        assert '"auth_user"."date_joined"' not in page
        body = _both(scim, f"/Users?{query}")
        (full,) = [u for u in body["Resources"] if u["userName"] == "full@example.com"]
        assert full["name"] == {
            "givenName": "Babs",
            "familyName": "Jensen",
            "formatted": "Ms. Barbara Jensen",
        }
        assert full[ENTERPRISE] == {"employeeNumber": "7", "manager": {"value": "x"}}


class InstanceReadingAdapter(UserAdapter):
    """A map with a value computed from the instance: it may read any field."""

    attribute_map = {
        "userName": "username",
        "displayName": Computed(lambda user: f"{user.username} since {user.date_joined.year}"),
    }


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.rest.test_cached_pages.InstanceReadingAdapter"}}}
)
def test_a_mapping_that_reads_the_instance_gets_it_whole(
    scim: ScimClient, people: list[User], django_assert_max_num_queries: Any
) -> None:
    """An attribute map the adapter cannot see into (a computed value) renders from whole
    instances: no deferred field is loaded row by row (one query per user)."""
    assert get_adapter("User").render_columns() is None
    get_ok(scim, "/Users?startIndex=6&count=10")
    with django_assert_max_num_queries(4):
        body = get_ok(scim, "/Users?startIndex=6&count=10")
    assert [u["displayName"] for u in body["Resources"]] == [
        f"{u.username} since {u.date_joined.year}" for u in people[5:15]
    ]
    assert '"date_joined"' in _page_sql(scim, "/Users?startIndex=6&count=10")


class FullName(AttributeMapping):
    """docs/guide/mapping.rst: a mapping that names the columns its read uses."""

    writable = False

    def read(self, obj: Any, stored: Any) -> Any:
        return f"{obj.first_name} {obj.last_name}".strip() or None

    def columns(self, model: Any) -> tuple[str, ...]:
        return ("first_name", "last_name")

    def write(self, obj: Any, value: Any, context: Any) -> Any:
        return MISSING


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"displayName": FullName()}}}})
def test_a_mapping_that_names_its_columns_keeps_the_narrow_read(scim: ScimClient, people: list[User]) -> None:
    """The guide's custom mapping: its columns join the page's, the rest stay unread."""
    User.objects.filter(pk=people[7].pk).update(last_name="Seven")
    assert "last_name" in (get_adapter("User").render_columns() or ())
    assert '"password"' not in _page_sql(scim, "/Users?startIndex=6&count=10")
    body = _both(scim, "/Users?startIndex=6&count=10")
    assert [u.get("displayName") for u in body["Resources"][:3]] == ["F1", "F2", "F3 Seven"]


class RenderingUserAdapter(UserAdapter):
    """A site's render step: it reads a field the map does not name."""

    def render_many(self, objs: Any, **kwargs: Any) -> list[dict[str, Any]]:
        documents = super().render_many(objs, **kwargs)
        for obj, document in zip(objs, documents, strict=True):
            document["nickName"] = "staff" if obj.is_staff else "member"
        return documents


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.rest.test_cached_pages.RenderingUserAdapter"}}}
)
def test_an_overridden_render_step_gets_whole_instances(
    scim: ScimClient, people: list[User], django_assert_max_num_queries: Any
) -> None:
    """A subclass that overrides a method of the render path may read any field: its pages
    read every column."""
    User.objects.filter(pk=people[6].pk).update(is_staff=True)
    assert get_adapter("User").render_columns() is None
    get_ok(scim, "/Users?startIndex=6&count=10")
    with django_assert_max_num_queries(4):
        body = get_ok(scim, "/Users?startIndex=6&count=10")
    assert [u["nickName"] for u in body["Resources"][:3]] == ["member", "staff", "member"]


def test_rendering_a_page_leaves_the_stored_json_as_it_was(people: list[User]) -> None:
    """The documents of a response share stored values that the map does not write; the
    objects the map writes into (``name``) are copied, so the companion keeps what it stored."""
    user = people[5]
    stored = {
        "name": {"givenName": "Old", "formatted": "Old Name"},
        "nickName": "o",
        "emails": [{"value": "e"}],
    }
    ScimUser.objects.filter(resource=user).update(attributes=stored)
    adapter = get_adapter("User")
    (obj,) = adapter.cached_instances(
        "test", lambda: adapter.get_queryset().filter(pk=user.pk), [], for_render=True
    )
    (document,) = adapter.render_many([obj])
    assert document["name"] == {"givenName": "F1", "formatted": "Old Name"}
    assert "emails" not in document  # no email field value: the primary mirrors user.email
    companion = adapter.companion(obj)
    assert companion is not None
    assert companion.attributes == stored
    # A write's render owns every value.
    owned = adapter._render(obj, {})
    owned["nickName"] = "changed"
    owned["name"]["formatted"] = "changed"
    assert companion.attributes == stored
