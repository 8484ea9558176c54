"""The SQL cost of writes, pinned as statement counts (issue 7: POST /Users, PATCH of a user,
PATCH adding one member to a large group).

Counted: the statements of the write itself. The request's overhead (token lookup, provisioning
log entry) is the business of other features, and SAVEPOINT / RELEASE are transaction
bookkeeping (the adapter's transaction is a savepoint inside the test's); the totals, overhead
included, are bounded with ``django_assert_max_num_queries``.

* PATCH of a user: the lock (resource and companion rows in one ``SELECT ... FOR UPDATE``, the
  groups of the 200 body read in it), the UPDATE of the model row, and the companion's UPDATE
  with the version incremented in Python. No uniqueness check for an unchanged userName, no re-read of the
  companion, no read-back of the version.
* POST of a user: the uniqueness check and two INSERTs (one statement on PostgreSQL); no group
  memberships read.
* PATCH adding a member: see tests/rest/test_patch_scale.py; the group's own row is not updated.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connection, router, transaction
from django.db.models.signals import post_save
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.base import ResourceAdapter
from django_scim.adapters.groups import GroupAdapter
from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.core.constants import PATCH_OP
from django_scim.models import ProvisioningLog, ScimGroup, ScimUser
from django_scim.orm import statements
from tests.conftest import ScimClient, create_user, db_state

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
_OVERHEAD_TABLES = ("django_scim_scimtoken", "django_scim_provisioninglog")
#: Token lookup (1), provisioning log entry in its savepoint (3), the adapter's savepoint (2).
OVERHEAD = 6


@contextmanager
def _own_statements() -> Iterator[list[str]]:
    """The statements of the write inside the block, overhead and savepoints left out."""
    own: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield own
    own.extend(
        q["sql"]
        for q in captured.captured_queries
        if not any(table in q["sql"] for table in _OVERHEAD_TABLES)
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    )


def _warm(scim: ScimClient) -> None:
    # A first request records the token's last use (one UPDATE, once a minute): not a write's cost.
    assert scim.get_scim("/ServiceProviderConfig").status_code == 200


def _patch(scim: ScimClient, path: str, *operations: dict[str, Any]) -> Any:
    return scim.scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})


def _version(etag: str) -> int:
    return int(etag.removeprefix("W/").strip('"'))


def _uniqueness_checks(statements: list[str]) -> list[str]:
    return [q for q in statements if 'LOWER("auth_user"."username")' in q]


def test_patch_of_a_user_runs_three_statements(scim: ScimClient, django_assert_max_num_queries: Any) -> None:
    """RFC 7644 section 3.5.2: PATCH replacing ``active`` and ``name`` (the benchmark's request)
    is the lock, which reads the ``groups`` of the 200 body with the rows (RFC 7643 section
    4.1.2; a PATCH of a user cannot change them: read-only), and two UPDATEs. (It was four, the
    groups in a query of their own after the write.)"""
    user = create_user(scim, userName="bjensen", name={"givenName": "Barbara"})
    group = Group.objects.create(name="staff")
    group.user_set.add(User.objects.get(username="bjensen"))
    _warm(scim)
    # A first PATCH compiles the lock (SQLite also tells its JSON support once) and gives the
    # group, made outside SCIM, its companion.
    first = _patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "Dr"})
    assert first.status_code == 200, first.content
    operation = {"op": "replace", "value": {"active": True, "name": {"givenName": "Babs"}}}
    with django_assert_max_num_queries(3 + OVERHEAD), _own_statements() as own:
        response = _patch(scim, f"/Users/{user['id']}", operation)
    assert response.status_code == 200, response.content
    assert len(own) == 3, own
    lock, update_user, update_companion = own
    assert lock.startswith("SELECT")
    assert "FOR UPDATE" in lock or not connection.features.has_select_for_update
    assert "auth_user_groups" in lock
    assert update_user.startswith('UPDATE "auth_user"')
    # The version is written as a number (the companion row is locked), not read back after F().
    assert update_companion.startswith('UPDATE "django_scim_scimuser"')
    assert '"version" + ' not in update_companion
    assert [g["display"] for g in response.json()["groups"]] == ["staff"]
    assert response.json()["name"]["givenName"] == "Babs"
    assert _version(response["ETag"]) == _version(first["ETag"]) + 1
    assert scim.get_scim(f"/Users/{user['id']}")["ETag"] == response["ETag"]


def test_patch_of_a_user_name_runs_no_uniqueness_check(scim: ScimClient) -> None:
    """RFC 7643 section 2.2 ``uniqueness``: a PATCH (RFC 7644 section 3.5.2) that leaves userName
    as stored adds no clash, so it runs no check; a userName differing only in case (userName is
    not caseExact, RFC 7643 section 4.1.1) neither. A new userName is still checked."""
    user = create_user(scim, userName="bjensen")
    create_user(scim, userName="other")
    path = f"/Users/{user['id']}"
    with _own_statements() as own:
        response = _patch(scim, path, {"op": "replace", "path": "name.givenName", "value": "Babs"})
    assert response.status_code == 200, response.content
    assert not _uniqueness_checks(own)
    with _own_statements() as own:
        response = _patch(scim, path, {"op": "replace", "path": "userName", "value": "BJensen"})
    assert response.status_code == 200, response.content
    assert response.json()["userName"] == "BJensen"
    assert not _uniqueness_checks(own)
    with _own_statements() as own:
        response = _patch(scim, path, {"op": "replace", "path": "userName", "value": "OTHER"})
    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"
    assert len(_uniqueness_checks(own)) == 1


def test_put_with_the_stored_user_name_runs_no_uniqueness_check(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.1: a PUT repeats userName; unchanged, it is not checked again."""
    user = create_user(scim, userName="bjensen")
    with _own_statements() as own:
        response = scim.scim("PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": "bjensen"})
    assert response.status_code == 200, response.content
    assert not _uniqueness_checks(own)


def test_patch_of_json_attributes_does_not_update_the_user_row(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: a PATCH of attributes kept in the companion's JSON (``nickName``)
    leaves every column of the user row as it was, so the row is not updated; the resource's
    version still changes (RFC 7644 section 3.14)."""
    user = create_user(scim, userName="bjensen")
    with _own_statements() as own:
        response = _patch(scim, f"/Users/{user['id']}", {"op": "add", "path": "nickName", "value": "Babs"})
    assert response.status_code == 200, response.content
    assert not [q for q in own if q.startswith('UPDATE "auth_user"')], own
    assert _version(response["ETag"]) == _version(user["meta"]["version"]) + 1
    assert scim.get_scim(f"/Users/{user['id']}").json()["nickName"] == "Babs"


def test_a_model_with_an_auto_now_field_is_saved_on_every_write(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 7644 section 3.5.2: a PATCH of JSON-stored attributes still saves a model that keeps an
    ``auto_now`` timestamp of its saves (here ``last_login``, made one for the test)."""
    user = create_user(scim, userName="bjensen")
    monkeypatch.setattr(User._meta.get_field("last_login"), "auto_now", True)
    with _own_statements() as own:
        response = _patch(scim, f"/Users/{user['id']}", {"op": "add", "path": "nickName", "value": "Babs"})
    assert response.status_code == 200, response.content
    assert len([q for q in own if q.startswith('UPDATE "auth_user"')]) == 1
    assert User.objects.get(username="bjensen").last_login is not None


def test_post_of_a_user_reads_no_group_memberships(
    scim: ScimClient, django_assert_max_num_queries: Any
) -> None:
    """RFC 7644 section 3.3: the 201 body of a new user has no ``groups`` (readOnly, RFC 7643
    section 4.1.2: a POST cannot set them), so they are not read: the uniqueness check and the
    two INSERTs, which PostgreSQL runs as one statement (``statements.insert_linked``)."""
    _warm(scim)
    body = {"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"}}
    with django_assert_max_num_queries(30 + OVERHEAD), _own_statements() as own:
        response = scim.scim("POST", "/Users", body)
    assert response.status_code == 201, response.content
    assert len(own) == (1 if connection.vendor == "postgresql" else 3), own
    assert len(_uniqueness_checks(own)) == 1, own
    assert not [q for q in own if "auth_user_groups" in q]
    assert "groups" not in response.json()


@pytest.mark.parametrize("name", ["bjensen", "BJensen"])
def test_a_user_name_in_use_is_named_in_the_409_and_nothing_is_written(scim: ScimClient, name: str) -> None:
    """RFC 7644 section 3.3: a POST whose userName is taken answers 409 ``uniqueness``, in any
    case (``caseExact`` false, RFC 7643 section 4.1.1), and writes nothing. On PostgreSQL the
    check runs in the statement of the INSERTs, which are rolled back when it finds the name;
    the same name meets the unique constraint first, and the check run after the rollback
    still names it."""
    create_user(scim, userName="bjensen")
    before = db_state()
    body = {"schemas": [USER], "userName": name, "externalId": "b-2", "name": {"givenName": "Barbara"}}
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"
    assert response.json()["detail"] == f"userName {name!r} is already in use."
    assert db_state() == before
    assert create_user(scim, userName="other")["userName"] == "other"


def test_a_new_user_reads_back_as_it_was_written(scim: ScimClient) -> None:
    """RFC 7644 section 3.3: the 201 body is the resource as stored; the user's row and its
    companion (written together on PostgreSQL) are linked, and a GET answers the same."""
    body = {
        "schemas": [USER],
        "userName": "bjensen",
        "externalId": "b-1",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        "nickName": "Babs",
    }
    created = scim.scim("POST", "/Users", body)
    assert created.status_code == 201, created.content
    user = User.objects.get(username="bjensen")
    assert (user.first_name, user.last_name, user.email) == ("Barbara", "Jensen", "bjensen@example.com")
    companion = ScimUser.objects.get(resource=user)
    assert (str(companion.id), companion.external_id, companion.version) == (created.json()["id"], "b-1", 1)
    assert companion.attributes["nickName"] == "Babs"
    assert scim.get_scim(f"/Users/{companion.id}").json() == created.json()


def test_post_of_a_group_returns_the_members_it_wrote(scim: ScimClient) -> None:
    """RFC 7644 section 3.3: a new group's 201 body lists the members its POST wrote."""
    user = create_user(scim, userName="bjensen")
    body = {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": user["id"]}]}
    response = scim.scim("POST", "/Groups", body)
    assert response.status_code == 201, response.content
    assert [m["value"] for m in response.json()["members"]] == [user["id"]]


def test_patch_adding_a_member_does_not_update_the_group_row(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.1: adding a member inserts a membership row; the group's own row
    (its displayName) is unchanged and not updated; its version changes (RFC 7644 section 3.14)."""
    group = Group.objects.create(name="Tour Guides")
    companion = ScimGroup.objects.create(resource=group)
    member = ScimUser.objects.create(resource=User.objects.create(username="bjensen"))
    add = {"op": "add", "path": "members", "value": [{"value": str(member.id)}]}
    with _own_statements() as own:
        response = _patch(scim, f"/Groups/{companion.id}", add)
    assert response.status_code == 204, response.content
    assert not [q for q in own if q.startswith('UPDATE "auth_group"')], own
    assert _version(response["ETag"]) == companion.version + 1
    assert list(group.user_set.values_list("username", flat=True)) == ["bjensen"]


@pytest.mark.parametrize(("active", "reads_sessions"), [(True, False), (False, True)])
def test_sessions_are_read_only_when_active_goes_to_false(
    scim: ScimClient, django_capture_on_commit_callbacks: Any, active: bool, reads_sessions: bool
) -> None:
    """RFC 7643 section 4.1.1 ``active``: replacing true by true deactivates nobody, so no
    session is looked at; true to false ends the user's sessions after commit
    (``SCIM["END_SESSIONS_ON_DEACTIVATION"]``): the callbacks run inside the counted block."""
    user = create_user(scim, userName="bjensen", active=True)
    with _own_statements() as own, django_capture_on_commit_callbacks(execute=True):
        response = _patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": active})
    assert response.status_code == 200, response.content
    session_table = Session._meta.db_table
    assert any(session_table in q for q in own) is reads_sessions


def test_the_database_constraint_still_answers_409_and_writes_nothing(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 7644 section 3.12 ``uniqueness``: when the check is passed (a race), the unique
    constraint refuses the row; the write runs in its transaction without a savepoint of its
    own, and the error still rolls all of it back (409, nothing written, the connection usable)."""
    create_user(scim, userName="bjensen")
    other = create_user(scim, userName="other")
    monkeypatch.setattr(UserAdapter, "check_uniqueness", lambda self, obj, document: None)
    before = db_state()
    created = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "bjensen"})
    assert created.status_code == 409, created.content
    assert created.json()["scimType"] == "uniqueness"
    patched = _patch(
        scim,
        f"/Users/{other['id']}",
        {"op": "replace", "value": {"userName": "bjensen", "nickName": "Babs"}},
    )
    assert patched.status_code == 409, patched.content
    assert db_state() == before
    assert scim.get_scim(f"/Users/{other['id']}")["ETag"] == other["meta"]["version"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_membership_change_waits_for_a_user_write_and_keeps_its_version_bump(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 7644 section 3.14: every change gets a new version. A group change bumps its members'
    versions without locking their rows (``bump_versions``); a user write locks the user's
    companion row with the user row and increments the version it read, so the bump waits for
    the write's commit instead of being overwritten by it."""
    user = create_user(scim, userName="bjensen")
    pk = User.objects.get(username="bjensen").pk
    bumped = threading.Event()

    def bump() -> None:
        try:
            with transaction.atomic():
                get_adapter("User").bump_versions([pk])
            bumped.set()
        finally:
            connection.close()

    bumper = threading.Thread(target=bump)
    waited: list[bool] = []

    def pre_save(self: UserAdapter, obj: Any, document: Any, *, created: bool) -> None:
        # Inside the PATCH, with its locks held: the bump has to wait for them.
        bumper.start()
        waited.append(not bumped.wait(0.5))

    monkeypatch.setattr(UserAdapter, "pre_save", pre_save)
    response = _patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "Babs"})
    bumper.join(10)
    assert response.status_code == 200, response.content
    assert waited == [True] and bumped.is_set()
    start = _version(user["meta"]["version"])
    assert _version(response["ETag"]) == start + 1
    assert ScimUser.objects.get(resource_id=pk).version == start + 2


def test_patch_of_a_user_updates_the_changed_columns_only(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: a PATCH writes what it changes. The user row's UPDATE sets the
    columns whose values changed (``update_fields``, so Django's ``pre_save`` / ``post_save``
    signals still run, told which fields); the companion's sets the version and time (RFC 7644
    section 3.14) and the JSON attributes only when they changed."""
    user = create_user(scim, userName="bjensen", name={"givenName": "Barbara"}, nickName="Babs")
    saved: list[tuple[str, frozenset[str] | None]] = []

    def record(sender: type, instance: Any, update_fields: frozenset[str] | None, **kwargs: Any) -> None:
        if sender in (User, ScimUser):
            saved.append((sender.__name__, update_fields))

    post_save.connect(record)
    try:
        operation = {"op": "replace", "value": {"active": True, "name": {"givenName": "Babs"}}}
        with _own_statements() as own:
            response = _patch(scim, f"/Users/{user['id']}", operation)
        assert response.status_code == 200, response.content
        update_user, update_companion = (q for q in own if q.startswith("UPDATE"))
        assert update_user.startswith('UPDATE "auth_user" SET "first_name" = ')
        assert '"username"' not in update_user and '"password"' not in update_user
        assert '"version"' in update_companion and '"last_modified"' in update_companion
        assert '"attributes"' not in update_companion and '"created"' not in update_companion
        assert saved == [
            ("User", frozenset({"first_name"})),
            ("ScimUser", frozenset({"last_modified", "version"})),
        ]

        saved.clear()
        with _own_statements() as own:
            response = _patch(
                scim, f"/Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "B"}
            )
        assert response.status_code == 200, response.content
        (update_companion,) = (q for q in own if q.startswith("UPDATE"))
        assert '"attributes"' in update_companion
        assert saved == [("ScimUser", frozenset({"attributes", "last_modified", "version"}))]
    finally:
        post_save.disconnect(record)
    stored = scim.get_scim(f"/Users/{user['id']}").json()
    assert stored["name"]["givenName"] == "Babs" and stored["nickName"] == "B"
    assert stored["userName"] == "bjensen" and stored["active"] is True


def _locked_compiles(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, for each SELECT ... FOR UPDATE compiled, whether it names its tables (``of``)."""
    compiled: list[bool] = []
    as_sql = SQLCompiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        if self.query.select_for_update:
            compiled.append(bool(self.query.select_for_update_of))
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return compiled


def test_the_locked_read_is_compiled_once(scim: ScimClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 7644 section 3.5.2: each PATCH locks its resource; the lock's SQL is compiled by the
    first and run again by the next (other resources), each reading and writing its own."""
    statements.clear(DEFAULT_DB_ALIAS)
    users = [create_user(scim, userName=name) for name in ("ada", "bob")]
    compiled = _locked_compiles(monkeypatch)
    for user, name in zip(users, ("Ada", "Bob"), strict=True):
        response = _patch(
            scim, f"/Users/{user['id']}", {"op": "replace", "path": "name.givenName", "value": name}
        )
        assert response.status_code == 200, response.content
        assert response.json()["userName"] == user["userName"]
        assert response.json()["name"]["givenName"] == name
    assert compiled == [False]
    assert [u.first_name for u in User.objects.order_by("username")] == ["Ada", "Bob"]


def test_reads_routed_elsewhere_lock_through_the_orm(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A router that sends reads to another database than writes: the lock is the ORM's
    ``select_for_update(of=...)`` on the write database, compiled each time (never SQL cached
    for the read database)."""
    user = create_user(scim, userName="ada")
    compiled = _locked_compiles(monkeypatch)
    adapter = get_adapter("User")
    monkeypatch.setattr(router, "db_for_read", lambda model, **hints: "replica")
    with transaction.atomic():
        for _ in range(2):
            obj = adapter.get_object(user["id"], for_update=True)
            assert isinstance(obj, User)
            assert obj.username == "ada"
    assert compiled == [True, True]


def _membership_queries(statements: list[str]) -> list[str]:
    return [q for q in statements if "EXISTS" in q and "auth_user_groups" in q]


def test_adding_a_member_reads_its_id_and_membership_in_one_query(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.1: ``add`` of members resolves the ids (unknown: 400
    invalidValue) and inserts those not yet members, in one read whatever the group's size:
    the ids with an EXISTS of each membership. From SQL compiled once, it reads each group's
    own memberships."""
    statements.clear(DEFAULT_DB_ALIAS)
    member = ScimUser.objects.create(resource=User.objects.create(username="bjensen"))
    first, second = (Group.objects.create(name=name) for name in ("Tour Guides", "Staff"))
    first.user_set.add(member.resource)
    first_id, second_id = (ScimGroup.objects.create(resource=g).id for g in (first, second))
    add = {"op": "add", "path": "members", "value": [{"value": str(member.id)}]}
    with _own_statements() as own:
        response = _patch(scim, f"/Groups/{first_id}", add)
    # Already a member: nothing written, the version stays (RFC 7644 section 3.14).
    assert response.status_code == 204, response.content
    assert len(_membership_queries(own)) == 1
    assert not [q for q in own if q.startswith(("INSERT", "UPDATE"))], own
    with _own_statements() as own:
        response = _patch(scim, f"/Groups/{second_id}", add)
    assert response.status_code == 204, response.content
    lock, membership, insert, bump, update_companion = own
    assert "FOR UPDATE" in lock or not connection.features.has_select_for_update
    assert membership in _membership_queries(own)
    assert insert.startswith("INSERT") and '"auth_user_groups"' in insert
    assert bump.startswith('UPDATE "django_scim_scimuser"')
    assert update_companion.startswith('UPDATE "django_scim_scimgroup"')
    assert set(second.user_set.values_list("username", flat=True)) == {"bjensen"}
    unknown = _patch(scim, f"/Groups/{second_id}", {**add, "value": [{"value": str(uuid.uuid4())}]})
    assert unknown.status_code == 400 and unknown.json()["scimType"] == "invalidValue"


def test_removing_a_member_reads_its_id_and_membership_in_one_query(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2.2: ``remove`` by ``members[value eq "id"]`` deletes the membership
    row of that id when it is one; the id and its membership are read in one query."""
    member = ScimUser.objects.create(resource=User.objects.create(username="bjensen"))
    group = Group.objects.create(name="Tour Guides")
    group.user_set.add(member.resource)
    companion = ScimGroup.objects.create(resource=group)
    remove = {"op": "remove", "path": f'members[value eq "{member.id}"]'}
    with _own_statements() as own:
        response = _patch(scim, f"/Groups/{companion.id}", remove)
    assert response.status_code == 204, response.content
    assert len(_membership_queries(own)) == 1
    assert len([q for q in own if "auth_user_groups" in q]) == 2  # the read and the DELETE
    assert not group.user_set.exists()


def test_overridden_member_resolution_is_still_called(scim: ScimClient) -> None:
    """A GroupAdapter subclass overriding ``member_pks``, or a member adapter overriding
    ``resolve_ids``, decides which members a PATCH names (the one-query read is theirs only
    when neither is overridden)."""
    chosen = User.objects.create(username="chosen")
    named = ScimUser.objects.create(resource=User.objects.create(username="named"))
    group = Group.objects.create(name="Tour Guides")
    values = [{"value": str(named.id)}]

    class Choosing(GroupAdapter):
        def member_pks(self, values: Any) -> set[Any]:
            return {chosen.pk}

    class Resolving(UserAdapter):
        def resolve_ids(self, scim_ids: Any) -> dict[str, Any]:
            return dict.fromkeys(scim_ids, chosen.pk)

    class WithResolving(GroupAdapter):
        def member_adapter(self) -> Any:
            return Resolving()

    assert Choosing()._named_members(group, values) == ({chosen.pk}, set())
    assert WithResolving()._named_members(group, values) == ({chosen.pk}, set())
    group.user_set.add(chosen)
    assert WithResolving()._present_members(group, [str(named.id)]) == {chosen.pk}
    assert GroupAdapter()._named_members(group, values) == ({named.resource_id}, set())


def test_writes_build_each_adapter_once(scim: ScimClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter a write's view builds also names the provisioning log's resource type, and a
    membership PATCH (RFC 7644 section 3.5.2) builds one member adapter for all it asks of it."""
    member = ScimUser.objects.create(resource=User.objects.create(username="bjensen"))
    companion = ScimGroup.objects.create(resource=Group.objects.create(name="Tour Guides"))
    _warm(scim)
    built: list[str] = []
    init = ResourceAdapter.__init__

    def counting(self: ResourceAdapter, *args: Any, **kwargs: Any) -> None:
        built.append(self.name)
        init(self, *args, **kwargs)

    monkeypatch.setattr(ResourceAdapter, "__init__", counting)
    created = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "ada"})
    assert created.status_code == 201, created.content
    assert built == ["User"]
    built.clear()
    add = {"op": "add", "path": "members", "value": [{"value": str(member.id)}]}
    assert _patch(scim, f"/Groups/{companion.id}", add).status_code == 204
    assert built == ["Group", "User"]
    logged = ProvisioningLog.objects.order_by("-pk").values_list("resource_type", flat=True)[:2]
    assert list(logged) == ["Group", "User"]


def test_put_reads_the_groups_with_the_lock_and_delete_reads_none(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.1: PUT answers with the resource, its read-only ``groups`` (RFC 7643
    section 4.1.2) read in the locked statement; DELETE (section 3.6) answers 204 and reads none."""
    user = create_user(scim, userName="bjensen")
    Group.objects.create(name="staff").user_set.add(User.objects.get(username="bjensen"))
    _warm(scim)
    body = {"schemas": [USER], "userName": "bjensen", "displayName": "Babs"}
    with _own_statements() as own:
        response = scim.scim("PUT", f"/Users/{user['id']}", body)
    assert response.status_code == 200, response.content
    assert [g["display"] for g in response.json()["groups"]] == ["staff"]
    assert response.json()["displayName"] == "Babs"
    # The lock (the first statement) reads the groups; no statement after it does.
    assert "auth_user_groups" in own[0] and not any("auth_user_groups" in q for q in own[1:]), own
    with _own_statements() as own:
        assert scim.scim("DELETE", f"/Users/{user['id']}").status_code == 204
    # The lock (the first statement) reads no membership.
    assert own[0].startswith("SELECT") and "auth_user_groups" not in own[0], own[0]
