"""The lookups identity providers run before every write use indexes (issue 3 item 10).

``userName eq`` and ``displayName eq`` compile to ``LOWER(column) = LOWER(%s)`` (caseExact false,
RFC 7643 sections 4.1.1 and 4.2): migration 0003 indexes ``LOWER(column)`` on the site's tables,
found through the configured adapters. ``externalId eq`` (caseExact) is plain equality on the
companion's indexed ``external_id``. Settings-agnostic: also run it with
``--ds tests.settings.custom_models`` (EmailUser.email, Team.title).
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection

from django_scim.adapters.registry import get_adapter
from tests.conftest import query_plan

pytestmark = pytest.mark.django_db

lookup_migration = importlib.import_module("django_scim.migrations.0003_lookup_indexes")
SEEDED = 2_000


def _expected() -> dict[str, tuple[str, str, str, bool]]:
    """Resource type -> (index name, table, column, lower), as the migration computed them."""
    found = lookup_migration.lookup_indexes(connection.alias)
    return {
        ("User" if row[1] == get_adapter("User").get_model()._meta.db_table else "Group"): row
        for row in found
    }


def _seed(resource_type: str, attribute: str) -> Any:
    """``SEEDED`` rows of the resource type's model, named ``{resource_type}{i}``, with companions."""
    adapter = get_adapter(resource_type)
    model = adapter.get_model()
    lookup = next(m.lookup for p, _keys, m in adapter.get_attribute_map() if p == attribute)
    assert lookup is not None
    model._default_manager.bulk_create(
        [model(**{lookup: f"{resource_type}{i}@Example.com"}) for i in range(SEEDED)], batch_size=1000
    )
    companion: type[Any] = adapter.get_companion_model()
    adapter.companions().bulk_create(
        [
            companion(resource_id=pk, external_id=f"ext-{resource_type}-{pk}")
            for pk in model._default_manager.values_list("pk", flat=True)
        ],
        batch_size=1000,
    )
    return adapter


def _sql(adapter: Any, text: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL a list request with ``filter=text`` runs for its page."""
    queryset = adapter.filter_queryset(adapter.get_queryset(), text)
    return queryset.query.sql_with_params()


def _plan(adapter: Any, text: str) -> str:
    return query_plan(*_sql(adapter, text))


def _external_id_indexes(adapter: Any) -> set[str]:
    table = adapter.get_companion_model()._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name for name, info in constraints.items() if info["index"] and info["columns"] == ["external_id"]
    }


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "postgresql":
            # A plan choice is a cost estimate; with sequential scans priced out the test does not
            # depend on table statistics (ANALYZE above still gives the planner real row counts).
            cursor.execute("SET LOCAL enable_seqscan = off")


def test_the_migration_found_both_lookups() -> None:
    expected = _expected()
    assert set(expected) == {"User", "Group"}
    for resource_type, attribute in (("User", "userName"), ("Group", "displayName")):
        adapter = get_adapter(resource_type)
        name, table, column, lower = expected[resource_type]
        mapping = next(m for p, _keys, m in adapter.get_attribute_map() if p == attribute)
        assert table == adapter.get_model()._meta.db_table
        field = mapping.model_field(adapter.get_model())
        assert field is not None
        assert column == field.column
        assert lower is True
        # What the index is for: the compiler's case-insensitive comparison.
        assert f'LOWER("{table}"."{column}") = LOWER(' in _sql(adapter, f'{attribute} eq "x"')[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="sqlite_master is SQLite's catalogue")
def test_indexes_exist_on_sqlite() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")
        indexes = {name: (table, sql) for name, table, sql in cursor.fetchall()}
    for name, table, column, _lower in _expected().values():
        assert indexes[name][0] == table
        assert f'LOWER("{column}")' in indexes[name][1]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN is SQLite's")
def test_sqlite_plans_use_the_indexes() -> None:
    users = _seed("User", "userName")
    groups = _seed("Group", "displayName")
    _analyze()
    expected = _expected()
    assert expected["User"][0] in _plan(users, 'userName eq "user7@example.com"')
    assert expected["Group"][0] in _plan(groups, 'displayName eq "GROUP7@example.com"')
    external = _plan(users, 'externalId eq "ext-User-7"')
    assert any(name in external for name in _external_id_indexes(users)), external


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN evidence is on PostgreSQL (issue 3 item 10)"
)
@pytest.mark.parametrize(
    ("resource_type", "attribute", "value"),
    [("User", "userName", "USER1234@example.com"), ("Group", "displayName", "group1234@EXAMPLE.com")],
)
def test_postgresql_plans_use_the_lower_indexes(resource_type: str, attribute: str, value: str) -> None:
    adapter = _seed(resource_type, attribute)
    _analyze()
    plan = _plan(adapter, f'{attribute} eq "{value}"')
    name = _expected()[resource_type][0]
    assert name in plan, plan
    assert adapter.filter_queryset(adapter.get_queryset(), f'{attribute} eq "{value}"').count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN evidence is on PostgreSQL (issue 3 item 10)"
)
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_postgresql_external_id_uses_its_index(resource_type: str) -> None:
    adapter = _seed(resource_type, "userName" if resource_type == "User" else "displayName")
    pk = adapter.get_model()._default_manager.order_by("pk").values_list("pk", flat=True)[1234]
    _analyze()
    plan = _plan(adapter, f'externalId eq "ext-{resource_type}-{pk}"')
    assert any(name in plan for name in _external_id_indexes(adapter)), plan


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses to run in a transaction
def test_migration_is_reversible_and_idempotent() -> None:
    expected = _expected()
    with connection.schema_editor() as editor:
        lookup_migration.drop_indexes(None, editor)
        lookup_migration.drop_indexes(None, editor)
    assert not _index_names() & {row[0] for row in expected.values()}
    with connection.schema_editor() as editor:
        lookup_migration.create_indexes(None, editor)
        lookup_migration.create_indexes(None, editor)
    assert {row[0] for row in expected.values()} <= _index_names()


def _index_names() -> set[str]:
    names: set[str] = set()
    with connection.cursor() as cursor:
        for _name, table, _column, _lower in _expected().values():
            names |= set(connection.introspection.get_constraints(cursor, table))
    return names


@pytest.mark.django_db
def test_uniqueness_check_is_written_for_the_index() -> None:
    """The userName uniqueness check of every POST / PUT / PATCH compares LOWER() with LOWER(),
    as the index of migration 0003 is built (``iexact`` would be UPPER() on PostgreSQL: a scan)."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from django_scim.models import ScimToken
    from tests.conftest import ScimClient

    _row, raw = ScimToken.issue("index-test")
    with CaptureQueriesContext(conn) as queries:
        response = ScimClient(raw).scim(
            "POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Ix"}
        )
    assert response.status_code == 201
    assert any('WHERE LOWER("auth_user"."username") = (LOWER(' in q["sql"] for q in queries.captured_queries)
