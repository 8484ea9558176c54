"""The SQL cost of writes, pinned as statement counts (issue 7: POST /Users, PATCH of a user,
PATCH adding one member to a large group).

Counted: the statements of the write itself. The request's overhead (token lookup, provisioning
log entry) is the business of other features, and SAVEPOINT / RELEASE are transaction
bookkeeping (the adapter's transaction is a savepoint inside the test's); the totals, overhead
included, are bounded with ``django_assert_max_num_queries``.

* PATCH of a user: the lock (resource and companion rows in one ``SELECT ... FOR UPDATE``), the
  UPDATE of the model row, the companion's UPDATE with the version incremented in Python, and the
  groups of the 200 body. No uniqueness check for an unchanged userName, no re-read of the
  companion, no read-back of the version.
* POST of a user: the uniqueness check and two INSERTs; no group memberships read.
* PATCH adding a member: see tests/rest/test_patch_scale.py; the group's own row is not updated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.core.constants import PATCH_OP
from django_scim.models import ScimGroup, ScimUser
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


def test_patch_of_a_user_runs_four_statements(scim: ScimClient, django_assert_max_num_queries: Any) -> None:
    """RFC 7644 section 3.5.2: PATCH replacing ``active`` and ``name`` (the benchmark's request)
    is the lock, two UPDATEs and the ``groups`` of the 200 body (RFC 7643 section 4.1.2)."""
    user = create_user(scim, userName="bjensen", name={"givenName": "Barbara"})
    _warm(scim)
    operation = {"op": "replace", "value": {"active": True, "name": {"givenName": "Babs"}}}
    with django_assert_max_num_queries(4 + OVERHEAD), _own_statements() as own:
        response = _patch(scim, f"/Users/{user['id']}", operation)
    assert response.status_code == 200, response.content
    assert len(own) == 4, own
    lock, update_user, update_companion, groups = own
    assert lock.startswith("SELECT")
    assert "FOR UPDATE" in lock or not connection.features.has_select_for_update
    assert update_user.startswith('UPDATE "auth_user"')
    # The version is written as a number (the companion row is locked), not read back after F().
    assert update_companion.startswith('UPDATE "django_scim_scimuser"')
    assert '"version" + ' not in update_companion
    assert "auth_user_groups" in groups
    assert response.json()["name"]["givenName"] == "Babs"
    assert _version(response["ETag"]) == _version(user["meta"]["version"]) + 1
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
    two INSERTs."""
    _warm(scim)
    body = {"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"}}
    with django_assert_max_num_queries(3 + OVERHEAD), _own_statements() as own:
        response = scim.scim("POST", "/Users", body)
    assert response.status_code == 201, response.content
    assert len(own) == 3, own
    assert not [q for q in own if "auth_user_groups" in q]
    assert "groups" not in response.json()


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
