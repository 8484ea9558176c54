"""Exact ``totalResults`` of whole tables from trigger-kept row counts (issue 7; RFC 7644 section
3.4.2: totalResults is REQUIRED, and exact).

On PostgreSQL the rows of each served model's table are counted by triggers into
``django_scim_rowcount`` (:mod:`django_scim.orm.rowcount`); the count must equal ``COUNT(*)``
after every way rows come and go (SCIM, the ORM, raw SQL, rollbacks, TRUNCATE, concurrent
writers, compaction) and fall back to ``COUNT(*)`` whenever it is not known. SQLite (and every
filtered, scoped or customised queryset) keeps ``COUNT(*)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.registry import get_adapter, served_models
from django_scim.adapters.users import UserAdapter
from django_scim.apps import count_rows
from django_scim.models import ScimUser
from django_scim.orm import rowcount
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the counting triggers are PostgreSQL's"
)

USERS = User._meta.db_table


def _kept(table: str = USERS) -> int | None:
    return rowcount.table_rows(connection.alias, table)


def _exact(model: Any = User) -> None:
    """The kept count is there and is ``COUNT(*)``."""
    assert _kept(model._meta.db_table) == model.objects.count()


def _rows(table: str = USERS) -> list[tuple[int, bool]]:
    """``(delta, base)`` of the table's rows in ``django_scim_rowcount``, in order."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT delta, base FROM {rowcount.TABLE} WHERE table_name = %s ORDER BY id", [table])
        return [(int(delta), base) for delta, base in cursor.fetchall()]


def _table_counts(statements: list[str], table: str = USERS) -> list[str]:
    """``COUNT(*)`` statements over ``table`` (the read of the kept count is not one)."""
    return [sql for sql in statements if "COUNT(*)" in sql.upper() and f'FROM "{table}"' in sql]


@contextmanager
def _sql() -> Iterator[list[str]]:
    statements: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield statements
    statements += [query["sql"] for query in captured.captured_queries]


def _users(count: int, prefix: str = "u") -> list[User]:
    users = User.objects.bulk_create([User(username=f"{prefix}{i:05d}") for i in range(count)])
    ScimUser.objects.bulk_create([ScimUser(resource=user) for user in users])
    return users


# --- the count follows every write -----------------------------------------------------------


@on_postgresql
def test_scim_post_and_delete(scim: ScimClient) -> None:
    assert _kept() == 0
    ids = [create_user(scim, userName=f"user{i}")["id"] for i in range(3)]
    _exact()
    assert scim.scim("DELETE", f"/Users/{ids[0]}").status_code == 204
    _exact()
    assert _kept() == 2


@on_postgresql
def test_orm_and_raw_sql_outside_scim() -> None:
    _users(25)
    _exact()
    User.objects.filter(username__in=["u00001", "u00002", "u00003"]).delete()
    _exact()
    User.objects.create(username="one")
    Group.objects.bulk_create([Group(name=f"g{i}") for i in range(4)])
    _exact()
    _exact(Group)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {USERS} (username, password, first_name, last_name, email, is_staff, is_active, "
            "is_superuser, date_joined) SELECT 'raw' || n, '', '', '', '', false, true, false, now() "
            "FROM generate_series(1, 7) AS n"
        )
        cursor.execute(f"DELETE FROM {USERS} WHERE username IN ('raw1', 'raw2')")
        # Statements that change no row write no delta.
        cursor.execute(f"DELETE FROM {USERS} WHERE username = 'nobody'")
    _exact()
    assert _kept() == 25 - 3 + 1 + 5
    assert (0, False) not in _rows()


@on_postgresql
def test_a_rolled_back_transaction_leaves_no_delta() -> None:
    _users(5)
    with pytest.raises(RuntimeError), transaction.atomic():
        _users(10, prefix="gone")
        User.objects.filter(username="u00000").delete()
        assert _kept() == 5 + 10 - 1
        raise RuntimeError
    _exact()
    assert _kept() == 5


@on_postgresql
def test_truncate_resets_the_count() -> None:
    _users(12)
    with connection.cursor() as cursor:
        # The test's transaction defers foreign key checks, which TRUNCATE will not run past.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # CASCADE truncates the tables pointing at users too; counted ones fire their trigger.
        cursor.execute(f"TRUNCATE {USERS} CASCADE")
    assert _rows() == [(0, True)]
    _exact()
    _users(3, prefix="after")
    _exact()


# --- compaction -------------------------------------------------------------------------------


@on_postgresql
def test_compaction_folds_the_deltas_into_the_base_row() -> None:
    for i in range(rowcount.COMPACT_AFTER + 6):
        User.objects.create(username=f"single{i}")
    User.objects.filter(username="single0").delete()
    assert len(_rows()) > rowcount.COMPACT_AFTER
    _exact()  # this read compacts
    assert _rows() == [(rowcount.COMPACT_AFTER + 5, True)]
    _exact()


# --- fallbacks ----------------------------------------------------------------------------------


@on_postgresql
def test_without_a_base_row_the_table_is_counted(scim: ScimClient) -> None:
    _users(30)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {rowcount.TABLE} WHERE base")
    assert _kept() is None
    with _sql() as statements:
        body = scim.get_scim("/Users?startIndex=11&count=10").json()
    assert body["totalResults"] == 30
    assert len(_table_counts(statements)) == 1
    # The next post_migrate (a migrate, a test database's flush) counts it again.
    count_rows(using=connection.alias)
    _exact()


def _counted(scim: ScimClient, path: str) -> tuple[int, list[str]]:
    with _sql() as statements:
        response = scim.get_scim(path)
    assert response.status_code == 200, response.content
    return response.json()["totalResults"], _table_counts(statements)


def test_filtered_pages_are_counted(scim: ScimClient) -> None:
    _users(30)
    total, counts = _counted(scim, '/Users?filter=userName sw "u0001"&count=5')
    assert total == 10
    assert len(counts) == 1 and "WHERE" in counts[0]


@pytest.mark.scim_settings({"USER_DELETE": "soft"})
def test_soft_deleted_users_are_left_out_of_the_total(scim: ScimClient) -> None:
    """RFC 7644 section 3.6: a deleted resource is no longer returned, nor counted."""
    ids = [create_user(scim, userName=f"user{i}")["id"] for i in range(12)]
    assert scim.scim("DELETE", f"/Users/{ids[0]}").status_code == 204
    total, counts = _counted(scim, "/Users?count=5")
    assert total == 11 == User.objects.count() - 1
    assert len(counts) == 1


class _StaffOnly(UserAdapter):
    def get_queryset(self) -> Any:
        return super().get_queryset().filter(is_staff=True)


class _Joined(UserAdapter):
    def get_queryset(self) -> Any:
        return super().get_queryset().select_related(None)


def test_a_customised_queryset_is_counted() -> None:
    _users(8)
    User.objects.filter(username="u00003").update(is_staff=True)
    for adapter, expected in ((_StaffOnly(), 1), (_Joined(), 8)):
        with _sql() as statements:
            assert adapter.total_results(adapter.get_queryset()) == expected
        assert len(_table_counts(statements)) == 1


def test_a_condition_from_the_default_manager_is_counted() -> None:
    """The stock hooks read ``_default_manager``: a manager narrowing the table gives the
    queryset a WHERE, as this filter does, and the total is then counted."""
    _users(8)
    adapter = get_adapter("User")
    with _sql() as statements:
        assert adapter.total_results(adapter.get_queryset().filter(username__lt="u00004")) == 4
    assert len(_table_counts(statements)) == 1


# --- what a page costs --------------------------------------------------------------------------


@on_postgresql
@pytest.mark.parametrize(
    "path", ["/Users?startIndex=51&count=20", "/Groups?count=5&excludedAttributes=members"]
)
def test_a_page_runs_no_count_and_at_most_4_statements(
    scim: ScimClient, django_assert_max_num_queries: Any, path: str
) -> None:
    """Issue 7: a page of 100 users in at most 4 queries, authentication included, its cost
    independent of the table's size."""
    _users(150)
    Group.objects.bulk_create([Group(name=f"g{i:02d}") for i in range(12)])
    scim.get_scim(path)  # the groups get their companions
    model = User if path.startswith("/Users") else Group
    with django_assert_max_num_queries(4) as captured:
        body = scim.get_scim(path).json()
    assert body["totalResults"] == model.objects.count()
    assert _table_counts([q["sql"] for q in captured.captured_queries], model._meta.db_table) == []


@on_postgresql
@pytest.mark.scim_settings({"CURSOR_TOTAL_RESULTS": True})
def test_a_later_cursor_page_runs_no_count(scim: ScimClient) -> None:
    """RFC 9865 section 2 (totalResults of cursor pages)."""
    _users(40)
    first = scim.get_scim("/Users?cursor=&count=10").json()
    with _sql() as statements:
        body = scim.get_scim(f"/Users?cursor={first['nextCursor']}&count=10").json()
    assert body["totalResults"] == 40
    assert _table_counts(statements) == []


# --- installation -----------------------------------------------------------------------------


def _triggers(table: str = USERS) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
            [connection.ops.quote_name(table)],
        )
        return {row[0] for row in cursor.fetchall()}


@on_postgresql
def test_the_served_tables_are_counted_after_migrate() -> None:
    for model in served_models():
        assert _triggers(model._meta.db_table) >= set(rowcount.TRIGGERS), model
        _exact(model)


def test_models_of_unavailable_apps_are_not_served() -> None:
    """``TransactionTestCase.available_apps`` narrows the registry, and its flushes still send
    post_migrate: the models of the apps left out are skipped, not an error."""
    django_apps.set_available_apps(["django.contrib.contenttypes", "rest_framework", "django_scim"])
    try:
        assert served_models() == []
        count_rows(using=connection.alias)
    finally:
        django_apps.unset_available_apps()
    assert served_models() == [User, Group]


@on_postgresql
def test_a_table_no_longer_served_loses_its_triggers() -> None:
    _users(4)
    rowcount.install(connection.alias, [Group])
    assert not _triggers() & set(rowcount.TRIGGERS)
    assert _kept() is None
    assert _rows() == []
    User.objects.create(username="uncounted")
    rowcount.install(connection.alias, [User, Group])
    _exact()
    assert _kept() == 5


@on_postgresql
def test_a_disabled_trigger_is_reinstalled_with_a_recount() -> None:
    _users(4)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {USERS} DISABLE TRIGGER django_scim_count_insert")
        cursor.execute(
            f"INSERT INTO {USERS} (username, password, first_name, last_name, email, is_staff, is_active, "
            "is_superuser, date_joined) VALUES ('unseen', '', '', '', '', false, true, false, now())"
        )
    count_rows(using=connection.alias)
    _exact()
    User.objects.create(username="seen")
    _exact()
    assert _kept() == 6


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_flush_keeps_the_count_exact() -> None:
    """Django's flush on PostgreSQL is one TRUNCATE of the models' tables (``available_apps``: of
    some), then post_migrate. The counts' table is no model's and stays: each counted table's
    own TRUNCATE trigger resets its count."""
    _users(6)
    Group.objects.create(name="g")
    call_command("flush", interactive=False, verbosity=0)
    for model in (User, Group):
        assert _rows(model._meta.db_table) == [(0, True)]
    _users(2)
    _exact()
    assert _kept() == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_dumped_and_loaded_users_are_counted_once(tmp_path: Any) -> None:
    """The counts are no model, so dumpdata leaves them out (they belong to the database's
    triggers): loading a dump counts its rows through the triggers, once."""
    _users(5)
    dump = tmp_path / "dump.json"
    call_command("dumpdata", "auth.user", "django_scim", output=str(dump), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    call_command("loaddata", str(dump), verbosity=0)
    _exact()
    assert _kept() == 5


@pytest.mark.django_db(transaction=True)
def test_the_migration_is_reversible() -> None:
    _users(3)
    executor = MigrationExecutor(connection)
    executor.migrate([("django_scim", "0006_trigram_indexes")])
    assert rowcount.TABLE not in connection.introspection.table_names()
    if connection.vendor == "postgresql":
        assert not _triggers() & set(rowcount.TRIGGERS)
    User.objects.create(username="while-away")
    # post_migrate after a migrate back finds no table to count into.
    count_rows(using=connection.alias)
    executor.loader.build_graph()
    executor.migrate([("django_scim", "0007_row_counts")])
    if connection.vendor == "postgresql":
        indexes = connection.introspection.get_constraints(connection.cursor(), rowcount.TABLE)
        assert {"django_scim_rowcount_table", "django_scim_rowcount_one_base"} <= set(indexes)
        _exact()
        assert _kept() == 4
    else:
        # Only PostgreSQL gets the table (nothing else would use it).
        assert rowcount.TABLE not in connection.introspection.table_names()
        assert _kept() is None


# --- concurrency ------------------------------------------------------------------------------


ROUNDS = 25
WRITERS = 6


def _in_one_snapshot() -> tuple[int, int]:
    """The kept count and ``COUNT(*)`` read in one REPEATABLE READ snapshot."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(f"SELECT sum(delta) FROM {rowcount.TABLE} WHERE table_name = %s", [USERS])
        kept = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {USERS}")
        return int(kept), cursor.fetchone()[0]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_readers_and_compactions() -> None:
    """Writers insert and delete in their own transactions (some rolled back) while readers
    compact; at every moment the kept count equals COUNT(*) in the same snapshot."""
    _users(20)
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def writer(n: int) -> None:
        try:
            for i in range(ROUNDS):
                with transaction.atomic():
                    users = User.objects.bulk_create([User(username=f"w{n}-{i}-{k}") for k in range(3)])
                    User.objects.filter(pk=users[0].pk).delete()
                if i % 5 == 0:
                    with pytest.raises(RuntimeError), transaction.atomic():
                        User.objects.create(username=f"w{n}-{i}-rolled-back")
                        raise RuntimeError
                User.objects.create(username=f"w{n}-{i}-single")
                rowcount.table_rows(connection.alias, USERS)
        finally:
            connection.close()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(_in_one_snapshot())
                rowcount.table_rows(connection.alias, USERS)
        finally:
            connection.close()

    with ThreadPoolExecutor(WRITERS + 2) as pool:
        readers = [pool.submit(reader) for _ in range(2)]
        writers = [pool.submit(writer, n) for n in range(WRITERS)]
        for future in writers:
            future.result()
        stop.set()
        for future in readers:
            future.result()
    assert seen and all(kept == counted for kept, counted in seen), [s for s in seen if s[0] != s[1]][:5]
    _exact()
    assert _kept() == 20 + WRITERS * ROUNDS * 3
    assert len(_rows()) <= rowcount.COMPACT_AFTER + 1
