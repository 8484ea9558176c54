"""Documents written by PostgreSQL (:mod:`django_scim.orm.documents`, issue 7) are the documents
of the Python render and projection (RFC 7643 section 4.1, RFC 7644 section 3.4.2.5).

Pages of users and groups are written as JSON text by the database where the attribute map
reads plain columns; a row whose stored JSON the render or the projection would change falls
back to the Python render. Each case here compares the two ways for the same rows, and says
which rows the database must have written (so that a fallback for everything cannot pass).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, connection
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from django_scim.adapters.registry import get_adapter
from django_scim.adapters.users import UserAdapter
from django_scim.core.document import Projection
from django_scim.models import ScimGroup, ScimUser
from django_scim.orm import statements
from django_scim.orm.documents import JSONText
from tests.conftest import ScimClient, get_ok

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="documents are written by PostgreSQL"),
]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: Hard to encode: quotes, a backslash, control characters, non-ASCII, a percent sign.
AWKWARD = 'Ünï "q" \\ \n\t\u0001 % €'


@pytest.fixture(autouse=True)
def fresh_statements() -> None:
    statements.clear(DEFAULT_DB_ALIAS)


def make_user(
    username: str,
    attributes: Any = None,
    *,
    companion: bool = True,
    external_id: str | None = "x",
    **columns: Any,
) -> User:
    """A user row and (unless ``companion`` is false) its companion holding ``attributes``."""
    user = User.objects.create(username=username, **columns)
    if companion:
        ScimUser.objects.create(
            resource=user, external_id=external_id, attributes={} if attributes is None else attributes
        )
    return user


def both_ways(name: str = "User", **projection: Any) -> tuple[list[tuple[Any, Any]], list[dict[str, Any]]]:
    """The page of every resource of ``name`` in key order: ``(pk, document)`` as
    :meth:`ResourceAdapter.cached_documents` gives them, and the documents of the Python render
    and projection."""
    adapter = get_adapter(name)
    written = adapter.cached_documents(
        ("test",), lambda: adapter.get_queryset().order_by("pk"), [], **projection
    )
    assert written is not None
    objs = list(adapter.get_queryset().order_by("pk"))
    apply = Projection(adapter.resource_type, **projection)
    rendered = [apply(doc) for doc in adapter.render_many(objs, **projection)]
    assert [pk for pk, _doc in written] == [obj.pk for obj in objs]
    return written, rendered


def decoded(document: Any) -> Any:
    return json.loads(document) if type(document) is JSONText else document


def assert_same(written: list[tuple[Any, Any]], rendered: list[dict[str, Any]]) -> None:
    for (_pk, document), expected in zip(written, rendered, strict=True):
        assert decoded(document) == expected


def by_database(written: list[tuple[Any, Any]]) -> list[bool]:
    """Whether the database wrote each document (else it was rendered in Python)."""
    return [type(document) is JSONText for _pk, document in written]


# Rows the database writes: the stored JSON holds nothing the render or projection changes.
WRITTEN: dict[str, Callable[[], User]] = {
    "every kind of stored value": lambda: make_user(
        "full",
        {
            "emails": [{"value": "a@x", "type": "work", "primary": True}, {"value": "b@x", "display": None}],
            "nickName": AWKWARD,
            "phoneNumbers": [{"value": "555", "type": "work"}],
            "addresses": [{"streetAddress": AWKWARD, "primary": False}],
            "name": {"formatted": "Ms. B", "middleName": "J"},
            "x509Certificates": [{"value": "MIIB"}],
            "timezone": None,
            "customScalars": [1, 2.5, "s", None, True, 10**20],
            ENTERPRISE: {"employeeNumber": "7", "manager": {"value": "m", "displayName": AWKWARD}},
        },
        email="a@x",
        first_name=AWKWARD,
        last_name="",
    ),
    "nothing stored, no email": lambda: make_user("bare", {}, email=""),
    "an email column, no stored emails": lambda: make_user("mailed", {"title": "T"}, email="m@x"),
    "the primary email not first": lambda: make_user(
        "second", {"emails": [{"value": "o@x"}, {"value": "p@x", "primary": True}]}, email="p@x"
    ),
    "no primary: the first email is the main one": lambda: make_user(
        "first", {"emails": [{"value": "f@x", "primary": "true"}, {"value": "g@x"}]}, email="f@x"
    ),
    "an empty user name, inactive, no externalId": lambda: make_user(
        "", {"title": "t"}, is_active=False, external_id=""
    ),
    "a null externalId": lambda: make_user("nullext", {}, external_id=None),
    "a stored key in another case than the map's": lambda: make_user(
        "cased", {"UserName": "other", "NAME": {"a": 1}}
    ),
    "stored groups (the relation's value wins)": lambda: make_user(
        "grouped", {"groups": [{"value": "stale"}]}
    ),
    "an empty name object, no name columns": lambda: make_user("noname", {"name": {"formatted": "Only"}}),
    "an empty emails list": lambda: make_user(
        "emptyemails", {"emails": {"value": "not a list"}}, email="e@x"
    ),
}

# Rows rendered in Python: the render or the projection changes something stored.
FALLBACK: dict[str, Callable[[], User]] = {
    "made outside SCIM": lambda: make_user("outside", companion=False),
    "an empty object": lambda: make_user("emptyobj", {"nickName": {}}),
    "an empty list": lambda: make_user("emptylist", {"addresses": []}),
    "a list with an empty object": lambda: make_user("emptyitem", {"addresses": [{"type": "home"}, {}]}),
    "a list in a list": lambda: make_user("nested", {"ims": [[1]]}),
    "a name that is not an object": lambda: make_user("strname", {"name": "Babs"}, first_name="B"),
    "a null in the name": lambda: make_user("nullname", {"name": {"middleName": None}}, first_name="B"),
    "a null deep in the name": lambda: make_user("deep", {"name": {"x": {"value": None}}}, first_name="B"),
    "a stored email the site changed": lambda: make_user(
        "changed", {"emails": [{"value": "old@x", "primary": True}]}, email="new@x"
    ),
    "stored emails, the email column emptied": lambda: make_user(
        "cleared", {"emails": [{"value": "c@x"}]}, email=""
    ),
    "an email that is an empty object": lambda: make_user(
        "emptymail", {"emails": [{"value": "q@x", "primary": True}, {}]}, email="q@x"
    ),
    "an email that is no object": lambda: make_user(
        "plain", {"emails": ["s@x", {"value": "t@x"}]}, email="t@x"
    ),
    "no email that is an object": lambda: make_user("strings", {"emails": ["s@x"]}, email="u@x"),
    "a stored password": lambda: make_user("secret", {"Password": "x"}),
    "a stored id": lambda: make_user("ided", {"ID": "x"}),
    "stored meta": lambda: make_user("metaed", {"meta": {"version": "x"}}),
    "stored schemas": lambda: make_user("schemaed", {"schemas": ["urn:x"]}),
    "an undeclared extension": lambda: make_user("undeclared", {"urn:example:ext:1.0:User": {"a": 1}}),
    "the extension spelt in lower case": lambda: make_user(
        "lowered", {ENTERPRISE.lower(): {"employeeNumber": "1"}}
    ),
    "an empty extension": lambda: make_user("emptyext", {ENTERPRISE: {}}),
    "an empty value in the extension": lambda: make_user("emptyextvalue", {ENTERPRISE: {"manager": {}}}),
}


@pytest.mark.parametrize("case", list(WRITTEN))
def test_the_database_writes_the_python_document(case: str) -> None:
    """RFC 7643 section 4.1 / RFC 7644 section 3.4.2: the same document, written by the database."""
    WRITTEN[case]()
    written, rendered = both_ways()
    assert by_database(written) == [True]
    assert_same(written, rendered)


@pytest.mark.parametrize("case", list(FALLBACK))
def test_rows_the_database_would_write_otherwise_are_rendered_in_python(case: str) -> None:
    FALLBACK[case]()
    written, rendered = both_ways()
    assert by_database(written) == [False]
    assert_same(written, rendered)


@pytest.mark.parametrize(
    "projection",
    [
        {"excluded_attributes": ["groups"]},
        {"excluded_attributes": ["emails", "meta", "externalId"]},
        {"excluded_attributes": ["NAME"]},
        {"excluded_attributes": [f"{ENTERPRISE}:employeeNumber"]},
        {"excluded_attributes": ["nickName", "notAnAttribute"]},
    ],
)
def test_excluded_attributes_are_left_out_alike(projection: dict[str, Any]) -> None:
    """RFC 7644 section 3.4.2.5: ``excludedAttributes`` of whole attributes, written by the database;
    a row storing an excluded attribute is rendered in Python."""
    for make in WRITTEN.values():
        make()
    group = Group.objects.create(name="team")
    ScimGroup.objects.create(resource=group)
    group.user_set.add(*User.objects.all())
    written, rendered = both_ways(**projection)
    assert_same(written, rendered)
    assert any(by_database(written))


@pytest.mark.parametrize(
    "projection",
    [
        {"attributes": ["userName"]},
        {"excluded_attributes": ["name.givenName"]},
        {"excluded_attributes": [ENTERPRISE]},
    ],
)
def test_projections_of_parts_are_rendered_in_python(projection: dict[str, Any]) -> None:
    """``attributes``, and exclusions of sub-attributes or a whole extension, depend on more than
    attribute names: the database writes no document for them."""
    make_user("u", {"nickName": "n"})
    adapter = get_adapter("User")
    assert adapter.cached_documents(("test",), lambda: adapter.get_queryset(), [], **projection) is None


def test_groups_are_added_to_written_documents() -> None:
    """RFC 7643 section 4.1.2: ``groups``, including a group made outside SCIM (it gets its id)."""
    users = [make_user(f"m{i}", {}) for i in range(3)]
    scim_group = Group.objects.create(name="with id")
    ScimGroup.objects.create(resource=scim_group)
    outside = Group.objects.create(name=AWKWARD)
    scim_group.user_set.add(users[0], users[1])
    outside.user_set.add(users[1])
    written, rendered = both_ways()
    assert by_database(written) == [True, True, True]
    assert_same(written, rendered)
    assert [len(decoded(doc).get("groups", ())) for _pk, doc in written] == [1, 2, 0]


def test_pages_of_groups_are_written_alike() -> None:
    """RFC 7643 section 4.2: groups, with and without ``members``."""
    users = [make_user(f"g{i}", {}) for i in range(2)]
    stored_values: tuple[dict[str, Any], ...] = (
        {"members": []},
        {"displayName": "stale"},
        {"externalId": "stored"},
    )
    for name, stored in zip("abc", stored_values, strict=True):
        group = Group.objects.create(name=name)
        ScimGroup.objects.create(resource=group, attributes=stored)
        group.user_set.add(*users)
    for projection in ({}, {"excluded_attributes": ["members"]}):
        written, rendered = both_ways("Group", **projection)
        assert by_database(written) == [True, True, False]
        assert_same(written, rendered)


def test_timestamps_are_written_as_python_writes_them() -> None:
    """RFC 7643 section 3.1: ``created`` / ``lastModified`` as xsd:dateTime, microseconds only
    when there are some."""
    make_user("t1", {})
    make_user("t2", {})
    ScimUser.objects.filter(resource__username="t1").update(
        created=datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        last_modified=datetime.datetime(2020, 1, 2, 3, 4, 5, 60, tzinfo=datetime.UTC),
    )
    written, rendered = both_ways()
    assert by_database(written) == [True, True]
    assert_same(written, rendered)
    assert decoded(written[0][1])["meta"]["created"] == "2020-01-02T03:04:05Z"
    assert decoded(written[0][1])["meta"]["lastModified"] == "2020-01-02T03:04:05.000060Z"


def test_a_list_response_embeds_the_written_documents(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2: the ListResponse is one JSON document whatever wrote its parts."""
    WRITTEN["every kind of stored value"]()
    FALLBACK["an empty object"]()
    body = get_ok(scim, "/Users?count=10")
    assert body["itemsPerPage"] == 2
    assert [user["userName"] for user in body["Resources"]] == ["full", "emptyobj"]
    assert body["Resources"][0]["nickName"] == AWKWARD
    assert body["Resources"][1]["meta"]["resourceType"] == "User"


def test_overridden_render_hooks_keep_the_python_render(settings: Any) -> None:
    """A site's adapter that renders its own way is never bypassed."""
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"ADAPTER": f"{__name__}.LocatedElsewhere"}}}
    make_user("u", {})
    adapter = get_adapter("User")
    assert adapter.cached_documents(("test",), lambda: adapter.get_queryset(), []) is None


def test_an_adapter_can_keep_the_python_render(settings: Any, scim: ScimClient) -> None:
    """``document_shape()`` returning ``None`` turns the written documents off for an adapter."""
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"ADAPTER": f"{__name__}.RenderedInPython"}}}
    make_user("u", {"nickName": "n"})
    adapter = get_adapter("User")
    assert adapter.cached_documents(("test",), lambda: adapter.get_queryset(), []) is None
    assert [user["nickName"] for user in get_ok(scim, "/Users?count=5")["Resources"]] == ["n"]


class RenderedInPython(UserAdapter):
    """Keeps the Python render for every page."""

    def document_shape(self, projection: Projection) -> None:
        return None


class LocatedElsewhere(UserAdapter):
    """Builds its locations its own way."""

    def location(self, scim_id: str) -> str:
        return f"https://elsewhere.example/people/{scim_id}"


#: Stored keys worth trying: the map's, other cases of them, reserved ones, extension URNs.
KEYS = st.sampled_from(
    [
        "nickName", "title", "emails", "name", "userName", "active", "groups", "password",
        "UserName", "id", "meta", "schemas", "customThing", ENTERPRISE, ENTERPRISE.lower(),
        "urn:example:ext:1.0:User",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=5).filter(lambda t: "\x00" not in t)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["value", "primary", "type", "a"]), inner, max_size=3)
    ),
    max_leaves=6,
)
COLUMN = st.sampled_from(["", "a@x", "v", AWKWARD])


def _stored(data: st.DataObject) -> dict[str, Any]:
    stored = data.draw(st.dictionaries(KEYS, VALUES, max_size=4))
    if isinstance(stored.get("emails"), list):
        # PrimaryValue reads the objects of a list (anything else in it is never the main value).
        emails = st.dictionaries(
            st.sampled_from(["value", "primary", "type"]), SCALARS | st.just(True), max_size=3
        )
        stored["emails"] = data.draw(st.lists(emails | SCALARS, max_size=3))
    return stored


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_stored_json_gives_the_python_document(data: st.DataObject) -> None:
    """Whatever a companion stores, the page holds the document the Python render makes."""
    User.objects.all().delete()
    for i in range(data.draw(st.integers(1, 3))):
        make_user(
            f"h{i}",
            _stored(data),
            email=data.draw(COLUMN),
            first_name=data.draw(COLUMN),
            last_name=data.draw(COLUMN),
            is_active=data.draw(st.booleans()),
        )
    adapter = get_adapter("User")
    objs = list(adapter.get_queryset().order_by("pk"))
    try:
        rendered = [Projection(adapter.resource_type)(doc) for doc in adapter.render_many(objs)]
    except (TypeError, ValueError, AttributeError):
        reject()  # stored data the Python render cannot read either
    written, again = both_ways()
    assert again == rendered
    assert_same(written, rendered)
