"""Server-side prepared statements for the statements kept per connection (``orm.prepared``,
issue 7), PostgreSQL with psycopg 3.

What must hold: the statements of SCIM requests are prepared once per connection and their
answers are the same; the site's own queries are left to Django's cursor; nothing is prepared
where the database entry says a pooler in transaction mode sits in between, or where the setting
is off; a rolled-back write (RFC 7644 section 3.3's 409 for a taken ``userName``) leaves the next
requests working.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections

from django_scim.orm import statements
from tests.conftest import ScimClient, create_user, get_ok

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def postgresql_with_psycopg3() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (psycopg 3)")
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        pytest.skip("prepared statements need psycopg 3")
    # Each test starts with no kept cursor and no compiled statement.
    statements.clear(DEFAULT_DB_ALIAS)
    yield
    statements.clear(DEFAULT_DB_ALIAS)


def prepared() -> dict[str, int]:
    """The statements prepared on this test's database connection: SQL -> times planned."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return {sql: count for sql, count in cursor.fetchall()}


def token_statements(found: dict[str, int]) -> dict[str, int]:
    return {sql: count for sql, count in found.items() if "django_scim_scimtoken" in sql}


def preparing_cursor_class() -> type:
    # Imported here: the module needs psycopg 3, which the skip above has checked.
    from django_scim.orm.prepared import PreparingCursor

    return PreparingCursor


def site_prepares() -> bool:
    """Whether the site's own cursor prepares too (``tests.settings.prepared_statements``)."""
    options = connection.settings_dict["OPTIONS"]
    return options.get("server_side_binding") is True and options.get("prepare_threshold") is not None


def django_cursor_class() -> type:
    """The class of the psycopg cursor Django makes for this connection."""
    with connection.cursor() as cursor:
        return type(cursor.cursor)


def kept_cursor() -> Any:
    """The psycopg cursor under the kept cursor's Django wrapper."""
    # The connection itself: ``django.db.connection`` is a proxy with attributes of its own.
    with statements.statement_cursor(connections[DEFAULT_DB_ALIAS]) as kept:
        return kept.cursor


def test_request_statements_are_prepared_once_and_answer_the_same(scim: ScimClient) -> None:
    """Three GETs of a user: the token's lookup and the user's fetch are each one prepared
    statement, run for every request, and every GET answers the stored resource."""
    created = create_user(scim, name={"givenName": "Barbara"})
    bodies = [get_ok(scim, f"/Users/{created['id']}") for _ in range(3)]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["name"]["givenName"] == "Barbara"
    assert bodies[0]["meta"]["created"] == created["meta"]["created"]
    found = prepared()
    tokens = token_statements(found)
    assert len(tokens) == 1
    # The POST and the three GETs each looked the token up through the same statement.
    assert list(tokens.values()) == [4]
    # The three GETs fetched the user (with its groups) through one statement by the SCIM id.
    fetches = {sql: n for sql, n in found.items() if '"django_scim_scimuser"."id" = $1' in sql}
    assert list(fetches.values()) == [3], found
    assert type(kept_cursor()) is preparing_cursor_class()


def test_the_sites_own_queries_are_not_prepared(scim: ScimClient) -> None:
    """The site's ORM queries keep Django's cursor (client-side binding), and a server-binding
    cursor of the site's is not made to prepare by the threshold set on the connection."""
    import psycopg

    if site_prepares():
        pytest.skip("the site's own cursor prepares its queries under these settings")
    create_user(scim)
    before = prepared()
    pk = User.objects.get(username="bjensen").pk
    for _ in range(20):
        assert User.objects.filter(pk=pk).values_list("username", flat=True).first() == "bjensen"
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, psycopg.ClientCursor)
    if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        # Django's default: no preparing; now a count no connection reaches.
        site = psycopg.Cursor(connection.connection)
        for _ in range(20):
            site.execute("SELECT username FROM auth_user WHERE id = %s", [pk])
            assert site.fetchall() == [("bjensen",)]
    assert prepared() == before


@pytest.mark.parametrize(
    "how", ["PREPARED_STATEMENTS False", "DISABLE_SERVER_SIDE_CURSORS", "prepare_threshold None"]
)
def test_nothing_is_prepared_where_the_site_says_so(
    how: str, scim: ScimClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a pooler in transaction mode a prepared statement may be missing on the next
    server connection: the database entry's signs of one, or the setting, leave the statements
    on Django's cursor, unprepared, and the requests answer as before."""
    # Read before the options change: the connection was opened with the site's options.
    site = site_prepares()
    if how == "PREPARED_STATEMENTS False":
        settings.SCIM = {"PREPARED_STATEMENTS": False}
    elif how == "DISABLE_SERVER_SIDE_CURSORS":
        monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
        # An explicit threshold would say prepared statements work (the next test).
        monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold", raising=False)
    else:
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)
    before = prepared()
    created = create_user(scim)
    for _ in range(3):
        assert get_ok(scim, f"/Users/{created['id']}")["userName"] == "bjensen"
    assert type(kept_cursor()) is django_cursor_class()
    if not site:
        assert prepared() == before


def test_turning_the_setting_off_takes_the_kept_cursor_off(scim: ScimClient, settings: Any) -> None:
    """The kept cursor follows the setting: a change (override_settings) replaces it."""
    created = create_user(scim)
    assert type(kept_cursor()) is preparing_cursor_class()
    settings.SCIM = {"PREPARED_STATEMENTS": False}
    assert get_ok(scim, f"/Users/{created['id']}")["userName"] == "bjensen"
    assert type(kept_cursor()) is django_cursor_class()


def test_a_rolled_back_write_leaves_the_next_requests_working(scim: ScimClient) -> None:
    """A POST refused with 409 uniqueness (RFC 7644 section 3.3) rolls its statements back, and
    psycopg then forgets every prepared statement of the connection; the next requests prepare
    them again and answer."""
    created = create_user(scim)
    assert token_statements(prepared())
    clash = scim.scim(
        "POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJENSEN"}
    )
    assert clash.status_code == 409
    assert clash.json()["scimType"] == "uniqueness"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    patched = scim.scim("PATCH", f"/Users/{created['id']}", patch)
    assert patched.status_code == 200, patched.content
    assert patched.json()["active"] is False
    other = create_user(scim, userName="ajensen")
    assert get_ok(scim, f"/Users/{other['id']}")["userName"] == "ajensen"
    assert User.objects.filter(username__in=["bjensen", "ajensen"]).count() == 2
    assert token_statements(prepared())


def test_an_explicit_threshold_prepares_behind_a_pooler(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PgBouncer 1.21 and later keeps prepared statements in transaction mode
    (``max_prepared_statements``): a site that says so with a number for ``prepare_threshold``
    gets them, though it disables server-side cursors for the pooler."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", 5)
    created = create_user(scim)
    assert get_ok(scim, f"/Users/{created['id']}")["userName"] == "bjensen"
    assert type(kept_cursor()) is preparing_cursor_class()
    assert list(token_statements(prepared()).values()) == [2]
