"""Substring filters on ``emails`` and their trigram prefilter (issue 7; RFC 7644 section 3.4.2.2).

``co``, ``sw`` and ``ew`` on ``emails`` match when *any* address matches: the primary one lives in
``user.email`` (a ``PrimaryValue`` mirror), the others in the companion's JSON. On PostgreSQL the
compiler puts a trigram-indexable prefilter in front of the exact condition (migration 0006); the
results must be those of the exact condition on both databases, LIKE's own metacharacters and
JSON-escaped characters included.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from django_scim.adapters.registry import get_adapter
from django_scim.orm import trigram
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
trigram_migration = importlib.import_module("django_scim.migrations.0006_trigram_indexes")

USERS = {
    # userName: (primary address, other addresses)
    "ada": ("Ada.Lovelace@Example.com", ["ada@home.example.org"]),
    "bob": ("bob@example.com", ["b_o%b@work.example.net"]),
    "cy": ("cy@example.com", ['say "hi" back\\slash@example.net']),
    "dee": ("", ["dee.only.json@example.org"]),
}


@pytest.fixture
def people(scim: ScimClient) -> None:
    for name, (primary, others) in USERS.items():
        emails = [{"value": primary, "type": "work", "primary": True}] if primary else []
        emails += [{"value": value, "type": "home"} for value in others]
        create_user(scim, userName=name, emails=emails)


def _names(scim: ScimClient, text: str) -> list[str]:
    response = scim.get_scim(f"/Users?filter={quote(text)}&sortBy=userName")
    assert response.status_code == 200, response.content
    return [user["userName"] for user in response.json()["Resources"]]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The primary address, from the mirrored column, any case (caseExact false).
        ('emails.value co "LOVELACE"', ["ada"]),
        ('emails co "lovelace@example"', ["ada"]),
        # A secondary address, only in the JSON document.
        ('emails.value co "home.example"', ["ada"]),
        ('emails.value co "only.json"', ["dee"]),
        ('emails.value sw "dee."', ["dee"]),
        ('emails.value ew ".net"', ["bob", "cy"]),
        ('emails.value co "example"', ["ada", "bob", "cy", "dee"]),
        # LIKE's metacharacters are text here, not wildcards.
        ('emails.value co "_o%"', ["bob"]),
        ('emails.value co "%"', ["bob"]),
        ('emails.value co "b_"', ["bob"]),
        # Characters JSON escapes: no prefilter, the exact condition alone.
        ('emails.value co "say \\"hi\\""', ["cy"]),
        ('emails.value co "\\\\slash"', ["cy"]),
        # Text found only in other sub-attributes of an element matches nothing.
        ('emails.value co "home"', ["ada"]),
        ('emails.value co "work"', ["bob"]),
        ('not (emails.value co "example.com")', ["dee"]),
    ],
)
def test_substring_filters_on_emails(scim: ScimClient, text: str, expected: list[str]) -> None:
    assert _names(scim, text) == expected


def _sql(text: str) -> str:
    adapter = get_adapter("User")
    sql, _params = adapter.filter_queryset(adapter.get_queryset(), text).query.sql_with_params()
    return sql


def test_prefilter_only_where_it_is_exact() -> None:
    prefiltered = " LIKE LOWER(" in _sql('emails.value co "1234"')
    assert prefiltered is (connection.vendor == "postgresql")
    # Negated, or with a character JSON escapes, or another operator: the exact condition alone.
    for text in (
        'not (emails.value co "1234")',
        'emails.value co "a\\"b"',
        'emails.value eq "x@y"',
        'emails.type co "or"',  # the element made from the mirror has type "work"
    ):
        assert " LIKE LOWER(" not in _sql(text), text


def test_like_pattern_and_json_text() -> None:
    assert trigram.like_pattern("a_b%c\\d") == "%a\\_b\\%c\\\\d%"
    assert trigram.json_text('"t"."attributes"', ("emails",)) == """("t"."attributes" #>> '{"emails"}')"""
    assert trigram.json_text("c", ("it's",)) == """(c #>> '{"it''s"}')"""
    assert trigram.usable_text("1234") and not trigram.usable_text('a"b') and not trigram.usable_text("a\nb")


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")
        return dict(cursor.fetchall())


@on_postgresql
def test_migration_created_the_trigram_indexes() -> None:
    adapter = get_adapter("User")
    expected = trigram_migration.trigram_indexes(connection.alias, connection.ops.quote_name)
    tables = {index.table for index in expected}
    assert tables == {adapter.get_companion_model()._meta.db_table, adapter.get_model()._meta.db_table}
    found = _indexes()
    for index in expected:
        assert index.name in found, found
        assert "lower(" in found[index.name].lower()


@on_postgresql
def test_postgresql_plan_reads_candidates_through_both_indexes(scim: ScimClient) -> None:
    adapter = get_adapter("User")
    model: type[Any] = adapter.get_model()
    companion: type[Any] = adapter.get_companion_model()
    model._default_manager.bulk_create(
        [model(username=f"u{i}", email=f"user{i}@example.com") for i in range(2000)], batch_size=1000
    )
    adapter.companions().bulk_create(
        [
            companion(resource_id=pk, attributes={"emails": [{"value": f"other{pk}@example.org"}]})
            for pk in model._default_manager.values_list("pk", flat=True)
        ],
        batch_size=1000,
    )
    queryset = adapter.filter_queryset(adapter.get_queryset(), 'emails.value co "1234"')
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in trigram_migration.trigram_indexes(connection.alias, connection.ops.quote_name):
        assert index.name in plan, plan
    # The candidates are looked up by primary key (orm.keys), so the plan does not hang on the
    # LIKE's row estimate: as a semi-join, an estimate drawn from a sample that happened to
    # hold the text scanned the whole primary key index.
    assert "= ANY(ARRAY(" in sql
    assert f"Index Cond: ({model._meta.pk.column} = ANY (" in plan, plan
    assert "Semi Join" not in plan, plan
    assert _names(scim, 'emails.value co "1234"') == ["u1234"]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_trigram_migration_is_reversible_and_idempotent() -> None:
    names = {
        index.name for index in trigram_migration.trigram_indexes(connection.alias, connection.ops.quote_name)
    }
    with connection.schema_editor() as editor:
        trigram_migration.drop_indexes(None, editor)
        trigram_migration.drop_indexes(None, editor)
    assert not names & set(_indexes())
    with connection.schema_editor() as editor:
        trigram_migration.create_indexes(None, editor)
        trigram_migration.create_indexes(None, editor)
    assert names <= set(_indexes())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="sqlite_master is SQLite's catalogue")
def test_no_trigram_index_off_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%trgm%'")
        assert cursor.fetchall() == []
