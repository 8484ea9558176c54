"""The filter compiler (RFC 7644 section 3.4.2.2) on the default User/Group adapters, in SQL.

Each case is also checked against the reference matcher over the rendered documents, so these
tests pin the SQL to the same semantics as the oracle (tests/orm/test_oracle.py), on small data
that names the interesting situations.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.registry import get_adapter
from django_scim.core.errors import InvalidFilter
from django_scim.core.filter import matches, parse_filter
from django_scim.models import ScimUser

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _user(username: str, *, email: str = "", doc: dict[str, Any] | None = None, **fields: Any) -> User:
    user = User.objects.create(username=username, email=email, **fields)
    if doc is not None:
        ScimUser.objects.create(resource=user, attributes=doc, external_id=doc.pop("_externalId", None))
    return user


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "babs": _user(
            "Bjensen",
            email="bjensen@example.com",
            first_name="Barbara",
            doc={
                "_externalId": "701984",
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": True},
                    {"value": "babs@jensen.org", "type": "home"},
                ],
                "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
                "title": "Tour Guide",
                ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1", "displayName": "John"}},
            },
        ),
        # emails[type eq "work"] and value co "@example.com" are true of different elements.
        "split": _user(
            "split",
            email="split@other.net",
            doc={
                "emails": [
                    {"value": "split@other.net", "type": "work", "primary": True},
                    {"value": "split@example.com", "type": "home"},
                ],
                "title": "",
            },
        ),
        # Made outside SCIM: no companion, only user.email (PrimaryValue.read synthesises it).
        "legacy": _user("legacy", email="legacy@example.com", is_active=False),
        # The site changed the e-mail after SCIM stored the list: GET shows the new value.
        "edited": _user(
            "edited",
            email="new@example.com",
            doc={"emails": [{"value": "old@example.com", "type": "work", "primary": True}]},
        ),
        "bare": _user("bare", doc={}),
    }


def ids(text: str, resource_type: str = "User") -> set[str]:
    adapter = get_adapter(resource_type)
    rows = adapter.filter_queryset(adapter.get_queryset(), text)
    return {str(v) for v in rows.values_list(f"{adapter.companion_accessor}__id", flat=True)}


def names(text: str) -> set[str]:
    adapter = get_adapter("User")
    # Rendering first gives users made outside SCIM their companion (and id), as GET does.
    docs = adapter.render_many(list(adapter.get_queryset()))
    found = ids(text)
    # Same answer as the reference matcher on what GET shows.
    tree = parse_filter(text, known_urns=adapter.resource_type.schema_ids)
    expected = {doc["id"] for doc in docs if matches(tree, doc, adapter.resource_type)}
    assert found == expected, text
    return {doc["userName"] for doc in docs if doc["id"] in found}


def test_user_name_is_case_insensitive(people: dict[str, User]) -> None:
    """RFC 7643 section 4.1.1: userName caseExact false; Okta/Entra look users up by it."""
    assert names('userName eq "BJENSEN"') == {"Bjensen"}
    assert names('userName sw "bj"') == {"Bjensen"}
    assert names('urn:ietf:params:scim:schemas:core:2.0:User:userName ew "ENSEN"') == {"Bjensen"}


def test_external_id_is_case_exact(people: dict[str, User]) -> None:
    assert names('externalId eq "701984"') == {"Bjensen"}
    assert names('externalId co "019"') == {"Bjensen"}
    assert names('externalId ne "701984"') == {"split", "legacy", "edited", "bare"}


def test_value_path_needs_one_element(people: dict[str, User]) -> None:
    """RFC 7644 section 3.4.2.2: a value filter matches when one element satisfies all of it."""
    assert names('emails[type eq "work" and value co "@example.com"]') == {"Bjensen", "legacy", "edited"}
    assert names('emails[type eq "work"] and emails[value co "@example.com"]') == {
        "Bjensen",
        "split",
        "legacy",
        "edited",
    }


def test_entra_value_path_with_sub_attribute(people: dict[str, User]) -> None:
    """Entra ID: emails[type eq "work"].value eq "x" (shared/README, user match queries)."""
    assert names('emails[type eq "work"].value eq "bjensen@example.com"') == {"Bjensen"}
    assert names('emails[type eq "work"].value eq "legacy@example.com"') == {"legacy"}
    # GET shows the site's value, not the stale stored one.
    assert names('emails[type eq "work"].value eq "new@example.com"') == {"edited"}
    assert names('emails.value eq "old@example.com"') == set()


def test_multi_valued_without_sub_attribute_compares_value(people: dict[str, User]) -> None:
    """Section 3.4.2.2: `emails co "x"` compares the "value" sub-attribute."""
    assert names('emails co "jensen.org"') == {"Bjensen"}
    assert names('emails.type eq "HOME"') == {"Bjensen", "split"}


def test_presence_and_absence(people: dict[str, User]) -> None:
    """pr: null, "" and [] are unassigned (RFC 7643 section 2.5)."""
    assert names("emails pr") == {"Bjensen", "split", "legacy", "edited"}
    assert names("not (emails pr)") == {"bare"}
    assert names("title pr") == {"Bjensen"}
    assert names("title eq null") == {"split", "legacy", "edited", "bare"}
    assert names("phoneNumbers ne null") == {"Bjensen"}
    assert names("name pr") == {"Bjensen"}


def test_ne_on_multi_valued_means_some_value_differs(people: dict[str, User]) -> None:
    assert names('emails.value ne "bjensen@example.com"') == {"Bjensen", "split", "legacy", "edited", "bare"}
    assert names('not (emails.value eq "bjensen@example.com")') == {"split", "legacy", "edited", "bare"}


def test_extension_attributes_qualified_or_not(people: dict[str, User]) -> None:
    assert names(f'{ENTERPRISE}:employeeNumber eq "701984"') == {"Bjensen"}
    assert names('employeeNumber gt "8"') == set()
    assert names('manager.value eq "M-1"') == {"Bjensen"}
    assert names('manager.displayName eq "JOHN"') == {"Bjensen"}


def test_boolean_and_datetime(people: dict[str, User]) -> None:
    """RFC 7644 section 3.4.2.2: `meta.lastModified gt "2011-05-13T04:42:34Z"`."""
    assert names("active eq false") == {"legacy"}
    assert names('meta.lastModified gt "2011-05-13T04:42:34Z"') == {
        "Bjensen",
        "split",
        "edited",
        "bare",
        "legacy",
    }
    assert names('meta.created lt "2011-05-13T04:42:34Z"') == set()


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "x\' OR 1=1 --"',
        'emails[value eq "\\") OR 1=1"]',
        'title co "%"',
        'title sw "_"',
        'nickName eq "\\\\"',
        'emails[type eq "work\'; DROP TABLE auth_user; --"]',
        f"{ENTERPRISE}:manager.value eq \"') OR '1'='1\"",
    ],
)
def test_injection_payloads_are_values(people: dict[str, User], text: str) -> None:
    """Values are bound parameters: payloads match nothing and break nothing."""
    assert names(text) == set()
    assert User.objects.count() == 5


@pytest.mark.parametrize(
    "text",
    [
        'nope eq "x"',
        'userName" OR 1=1 -- eq "x"',
        'urn:example:Other:foo eq "x"',
        'emails[nope eq "x"]',
        'name eq "x"',
        "active gt true",
        'active eq "yes"',
        'meta.lastModified gt "yesterday"',
        'emails[type eq "work"][value eq "x"]',
        'meta.location eq "x"',
    ],
)
def test_unsupported_filters_are_invalid_filter(people: dict[str, User], text: str) -> None:
    """RFC 7644 section 3.12: invalidFilter, never a silent empty or full result."""
    adapter = get_adapter("User")
    with pytest.raises(InvalidFilter):
        list(adapter.filter_queryset(adapter.get_queryset(), text))


def test_groups_value_each_user_once(people: dict[str, User]) -> None:
    """`groups.value eq` on Users (issue 3): EXISTS, so no duplicate rows and right negation."""
    staff, admins = Group.objects.create(name="staff"), Group.objects.create(name="admins")
    people["babs"].groups.add(staff, admins)
    people["split"].groups.add(staff)
    group_ids = get_adapter("Group").companion_ids([staff.pk, admins.pk])
    assert names(f'groups.value eq "{group_ids[staff.pk]}" or groups.display sw "ADM"') == {
        "Bjensen",
        "split",
    }
    assert names('groups.display ne "staff"') == {"Bjensen", "legacy", "edited", "bare"}
    assert names('not (groups.display eq "staff")') == {"legacy", "edited", "bare"}
    assert names('groups[type eq "direct" and display eq "admins"]') == {"Bjensen"}
    adapter = get_adapter("User")
    rows = adapter.filter_queryset(adapter.get_queryset(), 'groups.display co "s"')
    assert len(list(rows)) == 2


def test_members_on_groups(people: dict[str, User]) -> None:
    """Okta/Entra: members[value eq "..."] and members.value eq (RFC 7643 section 4.2)."""
    staff, empty = Group.objects.create(name="staff"), Group.objects.create(name="empty")
    staff.user_set.add(people["babs"], people["split"])
    adapter = get_adapter("Group")
    groups = {doc["displayName"]: doc for doc in adapter.render_many([staff, empty])}
    babs = get_adapter("User").render(people["babs"])["id"]
    assert ids(f'members[value eq "{babs}"]', "Group") == {groups["staff"]["id"]}
    assert ids(f'members.value eq "{babs}"', "Group") == {groups["staff"]["id"]}
    assert ids(f'members.value ne "{babs}"', "Group") == {groups["staff"]["id"], groups["empty"]["id"]}
    assert ids(f'not (members.value eq "{babs}")', "Group") == {groups["empty"]["id"]}
    assert ids("members pr", "Group") == {groups["staff"]["id"]}
    assert ids('members[type eq "User" and display eq "SPLIT"]', "Group") == {groups["staff"]["id"]}
    assert ids('displayName eq "STAFF"', "Group") == {groups["staff"]["id"]}


def test_sql_binds_values_and_has_no_like(people: dict[str, User]) -> None:
    adapter = get_adapter("User")
    with CaptureQueriesContext(connection) as queries:
        list(adapter.filter_queryset(adapter.get_queryset(), 'emails[value co "x\' OR 1=1"]'))
    sql = queries.captured_queries[-1]["sql"]
    assert "LIKE" not in sql.upper()
    # Django renders bound parameters into captured SQL; the payload is quoted as a literal.
    assert "OR 1=1" not in sql.replace("'x'' OR 1=1'", "")


def test_mapping_audit_is_clean() -> None:
    """checks.py uses can_filter: every IdP lookup attribute filters in SQL (no W001)."""
    from django.core import checks

    messages = [m for m in checks.run_checks() if m.id == "django_scim.W001"]
    assert messages == []
