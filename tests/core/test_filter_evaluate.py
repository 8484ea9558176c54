"""The in-memory filter matcher (RFC 7644 section 3.4.2.2) on the RFC 7643 section 8 examples."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_scim.core.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, AttributeType
from django_scim.core.errors import InvalidFilter
from django_scim.core.filter import (
    COMPARE_OPERATORS,
    And,
    Compare,
    Filter,
    Matcher,
    Not,
    Or,
    Present,
    ValuePath,
    matches,
    matches_element,
    parse_filter,
)
from django_scim.core.filter.evaluate import parse_datetime
from django_scim.core.paths import AttrPath
from django_scim.core.schema import Attribute, ResourceType, Schema, SchemaExtension, builtin_schema
from tests.rfc_examples import rfc_enterprise_user

USER = ResourceType(
    "User",
    "/Users",
    builtin_schema(USER_SCHEMA),
    (SchemaExtension(builtin_schema(ENTERPRISE_USER_SCHEMA)),),
)
GROUP = ResourceType("Group", "/Groups", builtin_schema(GROUP_SCHEMA))
KNOWN = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA)

#: RFC 7643 section 8.2 (full User) with the enterprise extension of section 8.3.
BJENSEN: dict[str, Any] = rfc_enterprise_user()

#: RFC 7643 section 8.4.
TOUR_GUIDES: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [
        {
            "value": "2819c223-7f76-453a-919d-413861904646",
            "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "display": "Babs Jensen",
        },
        {
            "value": "902c246b-6245-4190-8e05-00816be7344a",
            "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a",
            "display": "Mandy Pepperidge",
        },
    ],
    "meta": {
        "resourceType": "Group",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
}


def user_matches(text: str, document: dict[str, Any] | None = None) -> bool:
    return matches(parse_filter(text, known_urns=KNOWN), BJENSEN if document is None else document, USER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 7644 section 3.4.2.2 examples, against RFC 7643 section 8.2/8.3's bjensen.
        ('userName eq "bjensen@example.com"', True),
        ('userName eq "bjensen"', False),
        ('name.familyName co "ens"', True),
        ('name.familyName co "O\'Malley"', False),
        ('userName sw "bj"', True),
        ('userName ew "@example.com"', True),
        ('userName ew "@example"', False),
        (f'{USER_SCHEMA}:userName sw "BJ"', True),
        ("title pr", True),
        ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
        ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
        ('meta.lastModified lt "2011-05-13T04:42:35Z"', True),
        ('meta.lastModified le "2011-05-13T04:42:33.999Z"', False),
        ('title pr and userType eq "Employee"', True),
        ('title pr and userType eq "Intern"', False),
        ('title pr or userType eq "Intern"', True),
        (f'schemas eq "{ENTERPRISE_USER_SCHEMA}"', True),
        (f'schemas eq "{ENTERPRISE_USER_SCHEMA.upper()}"', True),
        ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', True),
        ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', False),
        ('userType eq "Employee" and (emails.type eq "work")', True),
        ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True),
        (
            'emails[type eq "work" and value co "@example.com"]'
            ' or ims[type eq "xmpp" and value co "@foo.com"]',
            True,
        ),
    ],
)
def test_rfc7644_3_4_2_2_examples_on_rfc7643_8_2_user(text: str, expected: bool) -> None:
    """The RFC's filter examples evaluated against the RFC's full User."""
    assert user_matches(text) is expected


def test_value_path_needs_one_element_to_match_everything_rfc7644_3_4_2_2() -> None:
    """``emails[type eq "home" and value co "@example.com"]``: no single email is both."""
    assert user_matches('emails[type eq "home" and value co "@example.com"]') is False
    assert user_matches('emails.type eq "home" and emails.value co "@example.com"') is True


def test_entra_id_value_path_sub_attribute_filter() -> None:
    """Entra ID's ``emails[type eq "work"].value eq "x"`` tests one element."""
    assert user_matches('emails[type eq "work"].value eq "bjensen@example.com"') is True
    assert user_matches('emails[type eq "home"].value eq "bjensen@example.com"') is False


def test_precedence_changes_the_result() -> None:
    """``a or b and c`` is ``a or (b and c)`` (RFC 7644 section 3.4.2.2): true here, false grouped left."""
    assert user_matches('title pr or userName eq "x" and active eq false') is True
    assert user_matches('(title pr or userName eq "x") and active eq false') is False


def test_case_insensitive_names_rfc7643_2_1() -> None:
    """Attribute names, in the filter and in the document, are case-insensitive."""
    assert user_matches('USERNAME EQ "bjensen@example.com"') is True
    assert user_matches('NAME.GIVENNAME eq "Barbara"') is True
    document = {"UserName": "bjensen", "NAME": {"GivenName": "Barbara"}}
    assert user_matches('userName eq "bjensen" and name.givenName eq "Barbara"', document) is True
    assert user_matches(f'{ENTERPRISE_USER_SCHEMA.upper()}:EMPLOYEENUMBER eq "701984"') is True


def test_case_exact_rfc7644_3_4_2_2() -> None:
    """String comparison honours the attribute's ``caseExact`` (``id`` is caseExact, ``userName`` not)."""
    assert user_matches('userName eq "BJensen@Example.COM"') is True
    assert user_matches('id eq "2819c223-7f76-453a-919d-413861904646"') is True
    assert user_matches('id eq "2819C223-7F76-453A-919D-413861904646"') is False
    assert user_matches('id sw "2819C"') is False
    assert user_matches('externalId eq "701984"') is True


def test_common_attributes_rfc7643_3_1() -> None:
    """``id``, ``externalId`` and ``meta`` resolve on every resource type."""
    assert user_matches('meta.resourceType eq "User"') is True
    assert matches(parse_filter('meta.resourceType eq "Group"'), TOUR_GUIDES, GROUP) is True
    assert user_matches(f"{USER_SCHEMA}:id pr") is True


def test_extension_attributes_rfc7643_8_3() -> None:
    """URN-qualified paths look inside the extension object; unqualified ones fall back to it."""
    assert user_matches(f'{ENTERPRISE_USER_SCHEMA}:employeeNumber eq "701984"') is True
    assert user_matches(f'{ENTERPRISE_USER_SCHEMA}:manager.displayName eq "john smith"') is True
    assert user_matches(f"{ENTERPRISE_USER_SCHEMA}:manager.$ref pr") is True
    assert user_matches('employeeNumber eq "701984"') is True
    assert user_matches('costCenter gt "4000"') is True
    document = {"userName": "x", "employeeNumber": "701984"}
    # The extension's value lives under its URN, not at the top level.
    assert user_matches('employeeNumber eq "701984"', document) is False


def test_group_members_rfc7643_8_4() -> None:
    """``members[value eq "..."]``, as Entra ID and Okta send for group membership."""
    members = parse_filter('members[value eq "2819c223-7f76-453a-919d-413861904646"]')
    assert matches(members, TOUR_GUIDES, GROUP) is True
    assert matches(parse_filter('members.display co "Pepper"'), TOUR_GUIDES, GROUP) is True
    assert (
        matches(parse_filter('members eq "902c246b-6245-4190-8e05-00816be7344a"'), TOUR_GUIDES, GROUP) is True
    )
    assert matches(
        parse_filter('members[$ref ew "/Users/902c246b-6245-4190-8e05-00816be7344a"]'), TOUR_GUIDES, GROUP
    )


def test_multi_valued_complex_without_sub_attribute_compares_value() -> None:
    """RFC 7644 section 3.4.2.2: ``emails co "jensen.org"`` compares each email's ``value``."""
    assert user_matches('emails co "jensen.org"') is True
    assert user_matches('emails eq "babs@jensen.org"') is True
    assert user_matches('phoneNumbers sw "555-555-4"') is True
    assert user_matches('emails eq "work"') is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('bogus eq "x"', "has no attribute 'bogus'"),
        ('name.bogus eq "x"', "no sub-attribute 'bogus'"),
        ('userName.x eq "x"', "has no sub-attributes"),
        ('urn:example:Other:userName eq "x"', "not a schema of the User resource type"),
        ('emails[bogus eq "x"]', "no sub-attribute 'bogus'"),
        ('entitlements[bogus eq "x"]', "no sub-attribute 'bogus'"),
        ('userName[value eq "x"]', "not a complex attribute"),
        ('name eq "Babs"', "complex attribute 'name' cannot be compared"),
        ('active eq "true"', "boolean attribute 'active'"),
        ("active eq 1", "boolean attribute 'active'"),
        ("active co null", "needs a string"),
        ('active co "t"', "boolean attribute 'active'"),
        ("userName eq 1", "string attribute 'userName' with a non-string value"),
        ('meta.created eq "yesterday"', "not an xsd:dateTime"),
        ('meta.created co "2010"', "substring operator"),
        ('x509Certificates.value gt "M"', "binary attribute"),
        ('x509Certificates.value co "M"', "binary attribute"),
        ("userName pr or bogus pr", "has no attribute 'bogus'"),
    ],
)
def test_unsupported_attributes_and_comparisons_are_invalid_filter(text: str, message: str) -> None:
    """RFC 7644 section 3.12 ``invalidFilter``: unknown attribute or unsupported comparison, any data."""
    with pytest.raises(InvalidFilter, match=message):
        user_matches(text)


def test_ordering_a_boolean_attribute_is_invalid_filter_rfc7644_3_4_2_2() -> None:
    """RFC 7644 section 3.4.2.2: ``gt`` etc. on a boolean attribute fail with ``invalidFilter``."""
    with pytest.raises(InvalidFilter):
        user_matches("active gt 0")
    with pytest.raises(InvalidFilter):
        matches(Compare(AttrPath(None, "active", None), "gt", True), BJENSEN, USER)


# --- absent, null, empty (RFC 7643 section 2.5) ----------------------------------------------------


@pytest.mark.parametrize("value", [None, "", [], {}, [None], [{}], [{"value": None}], {"givenName": ""}])
def test_pr_needs_a_non_empty_value_rfc7644_3_4_2_2(value: object) -> None:
    """``pr``: not null, not ``""``, not ``[]``, not ``{}`` (nor a complex value with nothing in it)."""
    for name in ("nickName", "emails", "name"):
        document = {"userName": "x", name: value}
        assert user_matches(f"{name} pr", document) is False
        assert user_matches(f"{name} eq null", document) is True
        assert user_matches(f"{name} ne null", document) is False


def test_eq_null_is_not_present_rfc7643_2_5() -> None:
    """Unassigned and null are the same state (RFC 7643 section 2.5): ``eq null`` is ``not (attr pr)``."""
    assert user_matches("nickName eq null") is False
    assert user_matches("nickName ne null") is True
    assert user_matches("entitlements eq null") is True
    assert user_matches("entitlements.value eq null") is True
    assert user_matches("emails.display eq null") is True


def test_missing_attribute_comparisons() -> None:
    """Comparisons with an unassigned attribute are false, except ``ne`` (nothing equals the value)."""
    document = {"userName": "x"}
    for op in sorted(COMPARE_OPERATORS - {"ne"}):
        assert user_matches(f'nickName {op} "a"', document) is False
        assert user_matches(f'emails.value {op} "a"', document) is False
    assert user_matches('nickName ne "a"', document) is True
    assert user_matches('emails.value ne "a"', document) is True
    assert user_matches('emails[value ne "a"]', document) is False


def test_ne_on_multi_valued_matches_when_any_value_differs() -> None:
    """RFC 7644 section 3.4.2.2: a multi-valued attribute matches when any of its values does."""
    assert user_matches('emails.type ne "work"') is True
    assert user_matches('ims.type ne "aim"') is False
    assert user_matches('title ne "Tour Guide"') is False


def test_document_values_of_the_wrong_type_do_not_match() -> None:
    """A number where the schema says string compares unequal instead of failing."""
    document = {"userName": 42, "active": "yes", "meta": {"created": "not a date"}}
    assert user_matches('userName eq "42"', document) is False
    assert user_matches('userName ne "42"', document) is True
    assert user_matches("active eq true", document) is False
    assert user_matches('meta.created lt "2030-01-01T00:00:00Z"', document) is False


# --- types: numbers and date-times (RFC 7643 section 2.3) -------------------------------------------

WIDGET_SCHEMA = "urn:example:params:scim:schemas:core:1.0:Widget"
WIDGET = ResourceType(
    "Widget",
    "/Widgets",
    Schema(
        WIDGET_SCHEMA,
        "Widget",
        attributes=(
            Attribute("count", type=AttributeType.INTEGER),
            Attribute("price", type=AttributeType.DECIMAL),
            Attribute("seen", type=AttributeType.DATETIME),
            Attribute("code", case_exact=True),
            Attribute("sizes", type=AttributeType.INTEGER, multi_valued=True),
            Attribute("tags", multi_valued=True),
        ),
    ),
)
GIZMO = {
    "count": 7,
    "price": 9.5,
    "seen": "2024-02-29T23:30:00-01:00",
    "code": "AbC",
    "sizes": [1, 5],
    "tags": ["x"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count eq 7", True),
        ("count eq 7.0", True),
        ("count gt 6", True),
        ("count ge 7", True),
        ("count lt 7", False),
        ("count le 7.5", True),
        ("count ne 7", False),
        ("price gt 9.25", True),
        ("price eq 9.5", True),
        ("price lt 1e1", True),
        ("sizes gt 4", True),
        ("sizes gt 5", False),
        ("sizes eq 1 and sizes eq 5", True),
        ('tags eq "X"', True),
        ('code eq "abc"', False),
        ('code eq "AbC"', True),
        ('code gt "AbB"', True),
        ('code lt "ab"', True),
        # Chronological: 2024-02-29T23:30-01:00 is 2024-03-01T00:30Z.
        ('seen eq "2024-03-01T00:30:00Z"', True),
        ('seen eq "2024-03-01T00:30:00.000+00:00"', True),
        ('seen gt "2024-03-01T00:29:59.999999Z"', True),
        ('seen lt "2024-03-01T01:00:00+00:30"', False),
        ('seen le "2024-03-01T00:30:00"', True),
        ('seen ge "2024-02-29T24:00:00Z"', True),
    ],
)
def test_typed_comparisons_rfc7644_3_4_2_2(text: str, expected: bool) -> None:
    """Numbers numerically, date-times chronologically, strings lexicographically (caseExact honoured)."""
    assert matches(parse_filter(text), GIZMO, WIDGET) is expected


def test_python_values_in_documents() -> None:
    """Documents built from model fields may hold Decimal and datetime before JSON rendering."""
    document = {"price": Decimal("9.50"), "seen": datetime(2024, 3, 1, 0, 30, tzinfo=UTC)}
    assert matches(parse_filter("price eq 9.5 and price gt 9"), document, WIDGET) is True
    assert matches(parse_filter('seen eq "2024-03-01T01:30:00+01:00"'), document, WIDGET) is True
    naive = {"seen": datetime(2024, 3, 1, 0, 30)}
    assert matches(parse_filter('seen eq "2024-03-01T00:30:00Z"'), naive, WIDGET) is True


@pytest.mark.parametrize(
    "text", ['count eq "7"', 'count co "7"', "price sw 9", "seen eq 2024", "count eq true"]
)
def test_typed_comparisons_with_wrong_value_are_invalid_filter(text: str) -> None:
    """A value of the wrong type for the attribute is ``invalidFilter`` (RFC 7644 section 3.12)."""
    with pytest.raises(InvalidFilter):
        matches(parse_filter(text), GIZMO, WIDGET)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2011-05-13T04:42:34Z", "2011-05-13T04:42:34+00:00"),
        ("2011-05-13t04:42:34z", "2011-05-13T04:42:34+00:00"),
        ("2011-05-13T04:42:34.1234567+05:30", "2011-05-13T04:42:34.123456+05:30"),
        ("2011-05-13T04:42:34", "2011-05-13T04:42:34+00:00"),
        ("2011-12-31T24:00:00Z", "2012-01-01T00:00:00+00:00"),
    ],
)
def test_parse_datetime_xsd(text: str, iso: str) -> None:
    """xsd:dateTime (RFC 7643 section 2.3.5); naive values are taken as UTC."""
    parsed = parse_datetime(text)
    assert parsed is not None
    assert parsed.isoformat() == iso


@pytest.mark.parametrize(
    "text",
    [
        "2011-05-13",
        "2011-13-01T00:00:00Z",
        "2011-05-13T04:42Z",
        "2011-05-13T24:00:01Z",
        "0000-01-01T00:00:00Z",
        "2011-05-13T04:42:34+25:00",
        "20110513T044234Z",
        "2011-05-13 04:42:34Z",
    ],
)
def test_parse_datetime_rejects_non_xsd(text: str) -> None:
    """Anything that is not an xsd:dateTime is not a date-time."""
    assert parse_datetime(text) is None


# --- element matching for PATCH value filters (RFC 7644 section 3.5.2) ----------------------------


def test_matches_element_rfc7644_3_5_2() -> None:
    """A PATCH value filter tests one element; its paths are sub-attribute names."""
    emails = USER.schema.attribute("emails")
    assert emails is not None
    work = BJENSEN["emails"][0]
    assert matches_element(parse_filter('type eq "WORK"'), work, emails) is True
    assert matches_element(parse_filter("primary eq true and value pr"), work, emails) is True
    assert matches_element(parse_filter("primary eq true"), BJENSEN["emails"][1], emails) is False
    assert matches_element(parse_filter("not (display pr)"), work, emails) is True


def test_matches_element_rejects_paths_that_are_not_sub_attributes() -> None:
    """Unknown sub-attributes, qualified paths and nested value paths are ``invalidFilter``."""
    emails = USER.schema.attribute("emails")
    user_name = USER.schema.attribute("userName")
    assert emails is not None and user_name is not None
    element = BJENSEN["emails"][0]
    for node in (
        parse_filter('bogus eq "x"'),
        Compare(AttrPath(USER_SCHEMA, "type", None), "eq", "x"),
        Compare(AttrPath(None, "type", "x"), "eq", "x"),
        ValuePath(AttrPath(None, "type", None), Present(AttrPath(None, "value", None))),
    ):
        with pytest.raises(InvalidFilter):
            matches_element(node, element, emails)
    with pytest.raises(InvalidFilter, match="no sub-attributes"):
        matches_element(parse_filter("value pr"), {"value": "x"}, user_name)


def test_matcher_needs_one_scope() -> None:
    """``Matcher`` takes a resource type or an attribute, not both or neither."""
    with pytest.raises(TypeError):
        Matcher({})
    emails = USER.schema.attribute("emails")
    with pytest.raises(TypeError):
        Matcher({}, USER, element_of=emails)


# --- properties -----------------------------------------------------------------------------------

_user_paths = st.sampled_from(
    [
        "userName",
        "name.givenName",
        "name.familyName",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "active",
        "title",
        "nickName",
        "meta.lastModified",
        "meta.created",
        "id",
        "externalId",
        "x509Certificates.value",
        "entitlements.value",
        "groups.display",
        "schemas",
        f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
        f"{ENTERPRISE_USER_SCHEMA}:manager.value",
        "name",
        "bogus",
    ]
)
_user_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(
        ["bjensen@example.com", "work", "Babs", "2011-05-13T04:42:34Z", "701984", "B", "", "not a date"]
    )
)


def _user_leaf(path: str, op: str, value: object) -> Filter:
    attr_path = parse_filter(f"{path} pr", known_urns=KNOWN).path  # type: ignore[union-attr]
    if op == "pr":
        return Present(attr_path)
    if op not in ("eq", "ne") and (value is None or isinstance(value, bool)):
        value = "B"
    return Compare(attr_path, op, value)  # type: ignore[arg-type]


_user_filters = st.recursive(
    st.builds(_user_leaf, _user_paths, st.sampled_from(sorted(COMPARE_OPERATORS | {"pr"})), _user_values),
    lambda children: (
        st.builds(And, children, children) | st.builds(Or, children, children) | st.builds(Not, children)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(_user_filters)
def test_matcher_is_boolean_logic_or_invalid_filter(node: Filter) -> None:
    """On any filter the matcher returns a bool or raises ``invalidFilter``; ``not`` inverts it."""
    try:
        result = matches(node, BJENSEN, USER)
    except InvalidFilter:
        with pytest.raises(InvalidFilter):
            matches(Not(node), BJENSEN, USER)
        return
    assert isinstance(result, bool)
    assert matches(Not(node), BJENSEN, USER) is (not result)
    assert matches(parse_filter(str(node), known_urns=KNOWN), BJENSEN, USER) is result
