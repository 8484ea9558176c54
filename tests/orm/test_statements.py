"""SQL compiled once per connection and run again with other values (``orm.statements``, issue 7).

A cached statement must answer exactly what the queryset it was compiled from answers, for every
value, on both databases: same rows, same Python types (the compiler's converters), nothing
carried over from the call that compiled it. Reads through it are what RFC 7644 section 3.4.1
(retrieving a known resource) and the ``groups`` of RFC 7643 section 4.1.2 serve.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, transaction
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Model
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.base import ResourceAdapter
from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.core.errors import NotFound
from django_scim.models import ProvisioningLog, ScimToken, ScimUser
from django_scim.orm import statements
from django_scim.orm.keys import in_slots, values_in
from tests.conftest import ScimClient, create_user

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def fresh_statements() -> None:
    # Every test compiles its own statements: none is left from another test's connection use.
    statements.clear(DEFAULT_DB_ALIAS)


class Builds:
    """A ``build`` callable that counts how often the queryset had to be built (and compiled)."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.make()


def _users(*names: str) -> list[Any]:
    return [User.objects.create(username=name, email=f"{name}@example.com") for name in names]


def test_second_call_reuses_the_sql_with_its_own_value() -> None:
    ada, bob = _users("ada", "bob")
    pk_field = User._meta.pk
    value = {"pk": ada.pk}
    build = Builds(lambda: User.objects.filter(pk=value["pk"]).values_list("username", "email"))

    first = statements.values_rows(
        DEFAULT_DB_ALIAS, "by-pk", build, [statements.db_value(DEFAULT_DB_ALIAS, pk_field, ada.pk)]
    )
    value["pk"] = bob.pk
    second = statements.values_rows(
        DEFAULT_DB_ALIAS, "by-pk", build, [statements.db_value(DEFAULT_DB_ALIAS, pk_field, bob.pk)]
    )

    assert first == [("ada", "ada@example.com")]
    assert second == [("bob", "bob@example.com")]
    assert build.calls == 1


def test_rows_are_converted_as_values_list_converts_them(scim: ScimClient) -> None:
    create_user(scim, userName="ada", title="Engineer")
    companion = ScimUser.objects.get()
    names = ("id", "attributes", "created", "resource_id")
    expected = list(ScimUser.objects.filter(pk=companion.pk).values_list(*names))

    def build() -> Any:
        return ScimUser.objects.filter(pk=companion.pk).values_list(*names)

    rows = statements.values_rows(
        DEFAULT_DB_ALIAS,
        "typed",
        build,
        [statements.db_value(DEFAULT_DB_ALIAS, ScimUser._meta.pk, companion.pk)],
    )
    again = statements.values_rows(
        DEFAULT_DB_ALIAS,
        "typed",
        build,
        [statements.db_value(DEFAULT_DB_ALIAS, ScimUser._meta.pk, companion.pk)],
    )

    assert rows == again == expected
    # UUID, dict (JSON), aware datetime: not the database's text.
    assert isinstance(rows[0][0], uuid.UUID)
    assert rows[0][1]["title"] == "Engineer"
    assert rows[0][2].tzinfo is not None


def test_a_value_the_parameters_hold_twice_runs_uncached() -> None:
    # Two equal slot values cannot be told apart in the parameters: nothing is kept, the rows
    # are still right, and the next call compiles again.
    (ada,) = _users("ada")
    pk_field = User._meta.pk
    build = Builds(lambda: User.objects.filter(pk__in=[ada.pk, ada.pk]).values_list("username"))

    for _ in range(2):
        assert statements.values_rows(
            DEFAULT_DB_ALIAS, "twice", build, [statements.db_value(DEFAULT_DB_ALIAS, pk_field, ada.pk)] * 2
        ) == [("ada",)]
    assert build.calls == 2


def test_a_query_that_can_match_nothing_answers_no_rows() -> None:
    build = Builds(lambda: User.objects.filter(pk__in=[]).values_list("username"))
    assert statements.values_rows(DEFAULT_DB_ALIAS, "empty", build, []) == []


def test_the_least_recently_used_statement_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statements, "MAX_STATEMENTS", 2)
    (ada,) = _users("ada")
    pk_field = User._meta.pk
    builds = {key: Builds(lambda: User.objects.filter(pk=ada.pk).values_list("username")) for key in "abc"}
    for key in "abca":
        statements.values_rows(
            DEFAULT_DB_ALIAS, key, builds[key], [statements.db_value(DEFAULT_DB_ALIAS, pk_field, ada.pk)]
        )
    # "a" was dropped when "c" came in, so it compiled twice; "b" and "c" once each.
    assert {key: build.calls for key, build in builds.items()} == {"a": 2, "b": 1, "c": 1}


def test_get_object_reads_what_the_orm_reads(scim: ScimClient) -> None:
    created = create_user(scim, userName="ada", name={"givenName": "Ada"}, title="Countess")
    adapter = get_adapter("User")
    assert adapter.reuses_sql()

    for _ in range(2):  # compiled, then cached
        obj = adapter.get_object(created["id"])
        assert isinstance(obj, User)
        orm = User.objects.select_related("scim").get(pk=obj.pk)
        assert {f.attname: getattr(obj, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in User._meta.concrete_fields
        }
        fields = ScimUser._meta.concrete_fields
        assert {f.attname: getattr(obj.scim, f.attname) for f in fields} == {
            f.attname: getattr(orm.scim, f.attname) for f in fields
        }
        assert obj.scim.resource is obj
        assert obj._state.adding is False


def test_an_unknown_id_is_not_found_after_the_statement_is_cached(scim: ScimClient) -> None:
    # RFC 7644 section 3.4.1 / 3.12: 404 for an id that does not exist, cached SQL or not.
    created = create_user(scim, userName="ada")
    assert scim.get_scim(f"/Users/{created['id']}").status_code == 200
    response = scim.get_scim(f"/Users/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["status"] == "404"


class ActiveOnlyAdapter(UserAdapter):
    """A site's narrowing that depends on state outside the key: never served from cached SQL."""

    hide: set[str] = set()

    def get_queryset(self) -> Any:
        return super().get_queryset().exclude(username__in=sorted(self.hide) or [""])


def test_an_adapter_that_shapes_its_queryset_itself_gets_fresh_sql(scim: ScimClient) -> None:
    created = create_user(scim, userName="ada")
    adapter = ActiveOnlyAdapter()
    assert not adapter.reuses_sql()
    obj = adapter.get_object(created["id"])
    assert isinstance(obj, User)
    assert obj.username == "ada"
    ActiveOnlyAdapter.hide = {"ada"}
    try:
        with pytest.raises(NotFound):
            adapter.get_object(created["id"])
    finally:
        ActiveOnlyAdapter.hide = set()


def test_an_adapter_may_declare_its_own_queryset_reusable() -> None:
    class Declared(ActiveOnlyAdapter):
        reuse_sql = True

    assert Declared().reuses_sql()
    assert not ActiveOnlyAdapter().reuses_sql()
    assert ResourceAdapter.reuse_sql is None


def test_groups_of_users_follow_each_call(scim: ScimClient) -> None:
    # RFC 7643 section 4.1.2: a user's groups, read for each request from the same statement.
    ada = create_user(scim, userName="ada")
    bob = create_user(scim, userName="bob")
    staff = Group.objects.create(name="staff")
    staff.user_set.add(User.objects.get(username="ada"))

    def groups_of(user: dict[str, Any]) -> list[str]:
        body = scim.get_scim(f"/Users/{user['id']}").json()
        return [group["display"] for group in body.get("groups", [])]

    assert groups_of(ada) == ["staff"]
    assert groups_of(bob) == []
    staff.user_set.add(User.objects.get(username="bob"))
    assert groups_of(bob) == ["staff"]


def _list(scim: ScimClient, endpoint: str, text: str, **params: str) -> dict[str, Any]:
    query = "&".join([f"filter={quote(text)}", *(f"{k}={v}" for k, v in params.items())])
    response = scim.get_scim(f"/{endpoint}?{query}")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_equality_pages_follow_each_value_and_the_attributes_case_rules(scim: ScimClient) -> None:
    # RFC 7644 section 3.4.2.2 "eq"; RFC 7643 section 4.1.1: userName is caseExact false,
    # section 3.1: externalId is caseExact true. The same cached statement serves every value.
    create_user(scim, userName="ada", externalId="EXT-ada")
    create_user(scim, userName="bob", externalId="EXT-bob")
    adapter = get_adapter("User")
    assert adapter.equality_lookup('userName eq "ada"') is not None

    for name in ("ada", "BOB", "Ada"):
        body = _list(scim, "Users", f'userName eq "{name}"')
        assert [user["userName"] for user in body["Resources"]] == [name.lower()]
        assert body["totalResults"] == 1
    assert _list(scim, "Users", 'userName eq "cy"')["totalResults"] == 0
    assert [u["userName"] for u in _list(scim, "Users", 'externalId eq "EXT-bob"')["Resources"]] == ["bob"]
    assert _list(scim, "Users", 'externalId eq "ext-bob"')["totalResults"] == 0


def test_equality_page_shorter_than_the_matches_counts_them(scim: ScimClient) -> None:
    # RFC 7644 section 3.4.2.4: totalResults is every match, itemsPerPage what the page holds.
    for name in ("ann1", "ann2", "ann3"):
        User.objects.create(username=name, first_name="Ann")
    assert get_adapter("User").equality_lookup('name.givenName eq "ann"') is not None
    body = _list(scim, "Users", 'name.givenName eq "ann"', count="2")
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 2
    assert [user["userName"] for user in body["Resources"]] == ["ann1", "ann2"]
    # Made outside SCIM: each got its companion (an id) on the way out.
    assert all(user["id"] for user in body["Resources"])


def test_filters_the_cached_pages_do_not_take(scim: ScimClient) -> None:
    adapter = get_adapter("User")
    # "" is unassigned (no SQL parameter), ids are UUIDs, values in the JSON document, other
    # operators and compound filters: all compiled per request.
    for text in (
        'userName eq ""',
        'id eq "x"',
        'title eq "x"',
        'userName co "a"',
        'userName eq "a" or active eq true',
    ):
        assert adapter.equality_lookup(text) is None
    create_user(scim, userName="ada", title="Engineer")
    assert [u["userName"] for u in _list(scim, "Users", 'title eq "Engineer"')["Resources"]] == ["ada"]


def test_uniqueness_checks_from_cached_sql_follow_each_value(scim: ScimClient) -> None:
    # RFC 7644 section 3.3 / 3.5.2: 409 "uniqueness" for a userName in use (caseExact false,
    # RFC 7643 section 4.1.1), whichever value compiled the check first.
    user = "urn:ietf:params:scim:schemas:core:2.0:User"
    patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    create_user(scim, userName="ada")
    for name, status in (("ADA", 409), ("bob", 201), ("Bob", 409), ("cy", 201)):
        response = scim.scim("POST", "/Users", {"schemas": [user], "userName": name})
        assert response.status_code == status, (name, response.content)
        if status == 409:
            assert response.json()["scimType"] == "uniqueness"
    bob = User.objects.get(username="bob").scim.id
    for name, status in (("Ada", 409), ("bob", 200), ("BOB2", 200), ("cy", 409)):
        body = {"schemas": [patch_op], "Operations": [{"op": "replace", "path": "userName", "value": name}]}
        response = scim.scim("PATCH", f"/Users/{bob}", body)
        assert response.status_code == status, (name, response.content)
    assert User.objects.filter(scim__id=bob).values_list("username", flat=True).get() == "BOB2"


def test_pages_of_any_size_read_their_users_groups_from_one_statement(scim: ScimClient) -> None:
    # RFC 7643 section 4.1.2 (a user's groups) on pages of RFC 7644 section 3.4.2.4: every page
    # gets its own users' groups. On PostgreSQL the keys are one array parameter, so pages of
    # 3 and of 2 users share the groups' statement; elsewhere each size has its own.
    names = ["ada", "bob", "cy", "dee"]
    for name in names:
        create_user(scim, userName=name)
    staff, ops = Group.objects.create(name="staff"), Group.objects.create(name="ops")
    staff.user_set.add(*User.objects.filter(username__in=["ada", "cy", "dee"]))
    ops.user_set.add(*User.objects.filter(username__in=["cy"]))
    statements.clear(DEFAULT_DB_ALIAS)

    def page(start: int, count: int) -> dict[str, list[str]]:
        body = scim.get_scim(f"/Users?startIndex={start}&count={count}").json()
        return {r["userName"]: [g["display"] for g in r.get("groups", [])] for r in body["Resources"]}

    assert page(1, 3) == {"ada": ["staff"], "bob": [], "cy": ["staff", "ops"]}
    assert page(3, 2) == {"cy": ["staff", "ops"], "dee": ["staff"]}
    assert page(4, 1) == {"dee": ["staff"]}
    kept = getattr(connection, statements._CACHE_ATTRIBUTE)
    sizes = sorted(key[-1] for key in kept if isinstance(key, tuple) and key and key[0] == "groups")
    if connection.vendor == "postgresql":
        assert sizes == [1]
    else:
        assert sizes == [1, 2, 3]


def test_values_in_matches_the_in_lookup() -> None:
    # The one-array form of `IN` answers what `IN` answers, for keys that match and keys that do not.
    ada, bob, cy = _users("ada", "bob", "cy")
    pk = User._meta.pk
    keys = statements.db_values(DEFAULT_DB_ALIAS, pk, [cy.pk, ada.pk, 10**9])
    found = values_in(User.objects.order_by("pk"), "pk", keys, pk).values_list("username", flat=True)
    assert list(found) == ["ada", "cy"]
    assert len(in_slots(DEFAULT_DB_ALIAS, keys)) == (1 if connection.vendor == "postgresql" else 3)
    assert list(values_in(User.objects.all(), "pk", [], pk)) == []


def _log_row(**overrides: Any) -> ProvisioningLog:
    fields: dict[str, Any] = {
        "token_name": "okta",
        "tenant": None,
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "resource_id": str(uuid.uuid4()),
        "status": 201,
        "duration_ms": 1.25,
        "request_body": '{"userName": "ada"}',
    }
    return ProvisioningLog(**{**fields, **overrides})


def test_insert_writes_the_row_save_writes() -> None:
    # The provisioning log's rows: the same columns whichever way they are written, one
    # INSERT each, and the second with the SQL of the first.
    token = ScimToken.objects.create(name="okta", key_hash="f" * 64, prefix="scim_fff")
    saved, inserted = _log_row(token=token), _log_row(token=token, resource_id="other")
    saved.save()
    with CaptureQueriesContext(connection) as first:
        statements.insert(DEFAULT_DB_ALIAS, inserted)
    with CaptureQueriesContext(connection) as second:
        statements.insert(DEFAULT_DB_ALIAS, _log_row(status=409, scim_type="uniqueness"))
    assert len(first) == len(second) == 1 and first[0]["sql"].startswith("INSERT")
    assert not inserted._state.adding
    names = [
        f.attname for f in ProvisioningLog._meta.concrete_fields if f.attname not in ("id", "resource_id")
    ]
    rows = {row.pop("resource_id"): row for row in ProvisioningLog.objects.values(*names, "resource_id")}
    assert rows["other"]["created"] >= rows[saved.resource_id]["created"]  # its own default
    rows["other"].pop("created"), rows[saved.resource_id].pop("created")
    assert rows["other"] == rows[saved.resource_id]
    assert rows["other"]["token_id"] == token.pk and rows["other"]["duration_ms"] == 1.25
    assert ProvisioningLog.objects.filter(status=409, scim_type="uniqueness", token=None).count() == 1


def test_insert_saves_through_save_when_receivers_listen() -> None:
    # A site's post_save receiver for the model still hears every row.
    heard: list[str] = []

    def receiver(sender: Any, instance: ProvisioningLog, created: bool, **kwargs: Any) -> None:
        heard.append(f"{instance.resource_id}:{created}")

    post_save.connect(receiver, sender=ProvisioningLog)
    try:
        statements.insert(DEFAULT_DB_ALIAS, _log_row(resource_id="heard"))
    finally:
        post_save.disconnect(receiver, sender=ProvisioningLog)
    statements.insert(DEFAULT_DB_ALIAS, _log_row(resource_id="quiet"))
    assert heard == ["heard:True"]
    assert set(ProvisioningLog.objects.values_list("resource_id", flat=True)) == {"heard", "quiet"}


def test_insert_with_its_key_and_update_write_what_save_writes() -> None:
    # A new resource's companion (its key a UUID made in Python, JSON attributes) and the
    # UPDATE of a write: the columns listed, no other, and the key the row keeps.
    user = User.objects.create(username="ada")
    companion = ScimUser(
        resource=user, external_id="ext-1", attributes={"nickName": "a", "x": [1, {"y": "é"}]}
    )
    with CaptureQueriesContext(connection) as inserted:
        statements.insert(DEFAULT_DB_ALIAS, companion)
    assert len(inserted) == 1 and inserted[0]["sql"].startswith("INSERT")
    stored = ScimUser.objects.get(pk=companion.pk)
    assert (stored.resource_id, stored.external_id, stored.attributes) == (
        user.pk,
        "ext-1",
        companion.attributes,
    )
    assert stored.version == 1 and stored.created == companion.created and not companion._state.adding

    companion.version, companion.attributes, companion.external_id = 2, {"nickName": "b"}, "not-listed"
    for _ in range(2):  # the second from the SQL of the first
        with CaptureQueriesContext(connection) as updated:
            statements.update(DEFAULT_DB_ALIAS, companion, ["attributes", "version"])
        assert len(updated) == 1 and updated[0]["sql"].startswith("UPDATE")
    stored.refresh_from_db()
    assert (stored.version, stored.attributes, stored.external_id) == (2, {"nickName": "b"}, "ext-1")


def _name_guard(name: str, builds: Builds | None = None) -> statements.Guard:
    """A uniqueness check's query: a user named ``name`` in any case (RFC 7643 section 4.1.1)."""
    make = builds or (lambda: User.objects.filter(username__iexact=name).values_list("pk")[:1])
    return statements.Guard("test-name-guard", make, [name])


def _new_pair(name: str) -> tuple[Any, ScimUser]:
    user = User(username=name, email=f"{name}@example.com")
    companion = ScimUser(resource=user, external_id=f"ext-{name}", attributes={"nickName": name})
    return user, companion


_LINK = ScimUser._meta.get_field("resource")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="data-modifying WITH: PostgreSQL")
def test_insert_linked_writes_both_rows_in_one_statement_and_answers_its_guards(saves: list[Model]) -> None:
    # RFC 7644 section 3.3: a new user and its companion, as insert() writes them one by one,
    # and the uniqueness check asked in the same statement of the rows as they were before it.
    User.objects.create(username="Ada")
    saves.clear()
    builds = Builds(lambda: User.objects.filter(username__iexact="bob").values_list("pk")[:1])
    user, companion = _new_pair("bob")
    with CaptureQueriesContext(connection) as ran:
        clashes = statements.insert_linked(
            DEFAULT_DB_ALIAS, user, companion, _LINK, [_name_guard("bob", builds)]
        )
    assert clashes == [False] and len(ran) == 1 and ran[0]["sql"].startswith("WITH") and not saves
    assert user.pk is not None and companion.resource_id == user.pk
    assert not user._state.adding and not companion._state.adding and user._state.db == DEFAULT_DB_ALIAS
    stored = ScimUser.objects.select_related("resource").get(pk=companion.pk)
    assert (stored.resource.username, stored.resource.email) == ("bob", "bob@example.com")
    assert (stored.external_id, stored.attributes, stored.version) == ("ext-bob", {"nickName": "bob"}, 1)
    assert stored.created == companion.created and stored.tenant_id is None
    # The second from the SQL of the first, with its own value: "ADA" finds "Ada".
    user, companion = _new_pair("ADA")
    builds_again = Builds(lambda: User.objects.none())
    clashes = statements.insert_linked(
        DEFAULT_DB_ALIAS, user, companion, _LINK, [_name_guard("ADA", builds_again)]
    )
    assert clashes == [True] and builds.calls == 1 and builds_again.calls == 0
    assert ScimUser.objects.get(pk=companion.pk).resource_id == user.pk  # the caller rolls back


def test_insert_linked_runs_nothing_where_it_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    # None, and no statement: the caller then checks and inserts one by one, through save()
    # where receivers listen.
    cases = [_name_guard("ada")]
    if connection.vendor == "postgresql":
        user, companion = _new_pair("ada")
        uncached = statements.Guard(None, cases[0].build, ["ada"])
        with CaptureQueriesContext(connection) as ran:
            assert statements.insert_linked(DEFAULT_DB_ALIAS, user, companion, _LINK, [uncached]) is None
        assert not ran
        post_save.connect(_ignore, sender=ScimUser)
        try:
            with CaptureQueriesContext(connection) as ran:
                assert statements.insert_linked(DEFAULT_DB_ALIAS, user, companion, _LINK, cases) is None
        finally:
            post_save.disconnect(_ignore, sender=ScimUser)
        assert not ran
    else:
        user, companion = _new_pair("ada")
        with CaptureQueriesContext(connection) as ran:
            assert statements.insert_linked(DEFAULT_DB_ALIAS, user, companion, _LINK, cases) is None
        assert not ran
    assert user.pk is None and companion._state.adding and not User.objects.exists()


def _ignore(**kwargs: Any) -> None:
    pass


def test_update_of_a_missing_row_fails_as_save_does() -> None:
    user = User.objects.create(username="ada")
    companion = ScimUser.objects.create(resource=user)
    ScimUser.objects.filter(pk=companion.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        statements.update(DEFAULT_DB_ALIAS, companion, ["version"])
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        companion.save(update_fields=["version"])


def test_update_saves_through_save_when_receivers_listen() -> None:
    # A site's pre_save receiver for a companion still hears the write and its update_fields.
    user = User.objects.create(username="ada")
    companion = ScimUser.objects.create(resource=user)
    heard: list[Any] = []

    def receiver(sender: Any, instance: ScimUser, update_fields: Any, **kwargs: Any) -> None:
        heard.append(sorted(update_fields))
        instance.external_id = "set-by-receiver"

    pre_save.connect(receiver, sender=ScimUser)
    try:
        companion.version = 5
        statements.update(DEFAULT_DB_ALIAS, companion, ["version", "external_id"])
    finally:
        pre_save.disconnect(receiver, sender=ScimUser)
    assert heard == [["external_id", "version"]]
    assert ScimUser.objects.values_list("version", "external_id").get(pk=companion.pk) == (
        5,
        "set-by-receiver",
    )


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[Model]:
    """The instances saved through ``save()`` (its ``save_base()``) during the test."""
    saved: list[Model] = []
    save_base = Model.save_base

    def spy(self: Model, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        save_base(self, *args, **kwargs)

    monkeypatch.setattr(Model, "save_base", spy)
    return saved


def test_insert_reads_back_the_automatic_key_as_save_does(saves: list[Model]) -> None:
    # A new user (POST /Users): one INSERT, not through save(), which returns the key the
    # database gave the row.
    first = User(username="ada", email="ada@example.com")
    with CaptureQueriesContext(connection) as inserted:
        statements.insert(DEFAULT_DB_ALIAS, first)
    assert len(inserted) == 1 and inserted[0]["sql"].startswith("INSERT") and not saves
    second = User(username="bob")
    statements.insert(DEFAULT_DB_ALIAS, second)  # from the SQL of the first
    assert first.pk is not None and second.pk is not None and first.pk != second.pk
    assert not first._state.adding and first._state.db == DEFAULT_DB_ALIAS
    assert dict(User.objects.values_list("pk", "username")) == {first.pk: "ada", second.pk: "bob"}


def test_a_user_with_a_password_change_pending_is_saved_through_save(
    monkeypatch: pytest.MonkeyPatch, saves: list[Model]
) -> None:
    # AbstractBaseUser.save() tells the password validators of a new password; without one it
    # is Model.save(), and the compiled UPDATE does its work.
    changed: list[Any] = []
    monkeypatch.setattr(
        "django.contrib.auth.password_validation.password_changed",
        lambda password, user=None, password_validators=None: changed.append((password, user)),
    )
    user = _users("ada")[0]
    changed.clear()
    saves.clear()
    user.set_password("correct horse")
    statements.update(DEFAULT_DB_ALIAS, user, ["password"])
    assert changed == [("correct horse", user)] and saves == [user]
    user.email = "ada@example.org"
    with CaptureQueriesContext(connection) as updated:
        statements.update(DEFAULT_DB_ALIAS, user, ["email"])
    assert len(updated) == 1 and updated[0]["sql"].startswith("UPDATE")
    assert len(changed) == 1 and saves == [user]  # not through save()
    stored = User.objects.get(pk=user.pk)
    assert stored.check_password("correct horse") and stored.email == "ada@example.org"


def test_a_model_with_its_own_save_is_saved_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[str] = []

    def save(self: ProvisioningLog, *args: Any, **kwargs: Any) -> None:
        saved.append(self.resource_id)
        super(ProvisioningLog, self).save(*args, **kwargs)

    monkeypatch.setattr(ProvisioningLog, "save", save, raising=False)
    statements.insert(DEFAULT_DB_ALIAS, _log_row(resource_id="own-save"))
    assert saved == ["own-save"]
    assert ProvisioningLog.objects.filter(resource_id="own-save").exists()


def test_a_model_with_select_on_save_is_updated_through_save(
    saves: list[Model], monkeypatch: pytest.MonkeyPatch
) -> None:
    # select_on_save: save() reads the row before it writes, which the compiled UPDATE does not.
    row = _log_row(resource_id="select-first")
    row.save()
    saves.clear()
    monkeypatch.setattr(ProvisioningLog._meta, "select_on_save", True)
    row.detail = "changed"
    statements.update(DEFAULT_DB_ALIAS, row, ["detail"])
    assert saves == [row]
    assert ProvisioningLog.objects.get(pk=row.pk).detail == "changed"


def test_a_foreign_key_is_checked_and_taken_as_save_does() -> None:
    # save() refuses a related object that has no key, and takes one it got after assignment.
    unsaved = User(username="unsaved")
    with pytest.raises(ValueError, match="unsaved related object"):
        statements.insert(DEFAULT_DB_ALIAS, ScimUser(resource=unsaved))
    assert not ScimUser.objects.exists()
    companion = ScimUser(resource=unsaved)
    unsaved.save()
    statements.insert(DEFAULT_DB_ALIAS, companion)
    assert ScimUser.objects.get(pk=companion.pk).resource_id == unsaved.pk


# --- the cursor the statements run on ------------------------------------------------------


def _by_pk(user: Any) -> list[tuple[Any, ...]]:
    pk = statements.db_value(DEFAULT_DB_ALIAS, User._meta.pk, user.pk)
    build = Builds(lambda: User.objects.filter(pk=user.pk).values_list("username"))
    return statements.values_rows(DEFAULT_DB_ALIAS, "cursor-by-pk", build, [pk])


def test_the_statements_of_a_connection_share_one_cursor() -> None:
    """Reads and writes from compiled SQL run on one cursor kept per connection (a new cursor
    costs CPU besides its statement); each still answers its own rows."""
    ada, bob = _users("ada", "bob")
    with statements.statement_cursor(connection) as kept:
        assert not isinstance(kept, CursorDebugWrapper)
    assert _by_pk(ada) == [("ada",)]
    statements.insert(DEFAULT_DB_ALIAS, _log_row(resource_id="on-the-kept-cursor"))
    assert _by_pk(bob) == [("bob",)]
    with statements.statement_cursor(connection) as again:
        assert again is kept
    assert ProvisioningLog.objects.filter(resource_id="on-the-kept-cursor").count() == 1


def test_logged_statements_get_cursors_that_log_them() -> None:
    """Under DEBUG or CaptureQueriesContext (django_assert_num_queries) every statement is
    logged, as the ORM's are: the kept cursor was not made to log."""
    (ada,) = _users("ada")
    with statements.statement_cursor(connection) as kept:
        pass
    with CaptureQueriesContext(connection) as captured:
        assert _by_pk(ada) == [("ada",)]
        assert _by_pk(ada) == [("ada",)]
        with statements.statement_cursor(connection) as logging:
            assert logging is not kept and isinstance(logging, CursorDebugWrapper)
    assert len(captured) == 2
    assert all(User._meta.db_table in query["sql"] for query in captured.captured_queries)


def test_a_failed_statement_leaves_the_kept_cursor_usable() -> None:
    """A write refused by the database (here a duplicate key, as a race would make it) rolls
    back to its savepoint; the next statement runs on the same cursor and answers."""
    ada, bob = _users("ada", "bob")
    companion = ScimUser.objects.create(resource=ada)
    with statements.statement_cursor(connection) as kept:
        pass
    clash = ScimUser(
        id=companion.id, resource=bob, created=companion.created, last_modified=companion.created
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        statements.insert(DEFAULT_DB_ALIAS, clash)
    assert _by_pk(bob) == [("bob",)]
    with statements.statement_cursor(connection) as again:
        assert again is kept
    assert ScimUser.objects.filter(resource=bob).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_cursor() -> None:
    """A connection closed (CONN_MAX_AGE, an error) and opened again: the kept cursor belonged
    to the old one, and the next statement gets a cursor on the new one."""
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes SQLite's in-memory test database")
    (ada,) = _users("ada")
    with statements.statement_cursor(connection) as kept:
        pass
    connection.close()
    assert _by_pk(ada) == [("ada",)]
    with statements.statement_cursor(connection) as again:
        assert again is not kept
        assert again.cursor.connection is connection.connection
