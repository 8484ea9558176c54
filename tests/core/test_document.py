"""Document rules: normalize (POST/PUT bodies), project (returned, attributes), find_attribute."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_scim.core.constants import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    AttributeType,
    Mutability,
    Returned,
    ScimType,
)
from django_scim.core.document import (
    Projection,
    find_attribute,
    normalize,
    project,
    returned_attributes,
    split_attribute_list,
)
from django_scim.core.errors import InvalidSyntax, InvalidValue, ScimError
from django_scim.core.errors import Mutability as MutabilityError
from django_scim.core.schema import Attribute, ResourceType, Schema, SchemaExtension, builtin_schema
from tests.rfc_examples import rfc_enterprise_user, rfc_user

USER = ResourceType(
    "User",
    "/Users",
    builtin_schema(USER_SCHEMA),
    (SchemaExtension(builtin_schema(ENTERPRISE_USER_SCHEMA)),),
)
GROUP = ResourceType("Group", "/Groups", builtin_schema(GROUP_SCHEMA))
ENTERPRISE = ENTERPRISE_USER_SCHEMA

WIDGET_SCHEMA = "urn:example:params:scim:schemas:core:2.0:Widget"
WIDGET_EXT = "urn:example:params:scim:schemas:extension:tracking:2.0:Widget"
# A resource type exercising what the RFC schemas do not: integer, decimal, dateTime,
# immutable and request-returned attributes, required sub-attributes, a required extension.
WIDGET = ResourceType(
    "Widget",
    "/Widgets",
    Schema(
        WIDGET_SCHEMA,
        "Widget",
        attributes=(
            Attribute("label", required=True),
            Attribute("count", type=AttributeType.INTEGER),
            Attribute("ratio", type=AttributeType.DECIMAL),
            Attribute("since", type=AttributeType.DATETIME),
            Attribute("blob", type=AttributeType.BINARY),
            Attribute("link", type=AttributeType.REFERENCE, reference_types=("external",)),
            Attribute("tags", multi_valued=True),
            Attribute("serial", mutability=Mutability.IMMUTABLE),
            Attribute("code", case_exact=True, mutability=Mutability.IMMUTABLE),
            Attribute("secret", returned=Returned.REQUEST),
            Attribute("stamp", mutability=Mutability.READ_ONLY, required=True),
            Attribute(
                "owner",
                type=AttributeType.COMPLEX,
                sub_attributes=(
                    Attribute("value", mutability=Mutability.IMMUTABLE),
                    Attribute("display"),
                    Attribute("note", returned=Returned.REQUEST),
                ),
            ),
            Attribute(
                "parts",
                type=AttributeType.COMPLEX,
                multi_valued=True,
                sub_attributes=(
                    Attribute("value", required=True),
                    Attribute("primary", type=AttributeType.BOOLEAN),
                ),
            ),
        ),
    ),
    (
        SchemaExtension(
            Schema(WIDGET_EXT, "Tracking", attributes=(Attribute("batch", required=True),)),
            required=True,
        ),
    ),
)


def _user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": "bjensen", **attributes}


def _widget(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [WIDGET_SCHEMA, WIDGET_EXT], "label": "w", WIDGET_EXT: {"batch": "b1"}, **attributes}


# --- RFC examples ------------------------------------------------------------------------


def test_rfc_full_user_is_lossless() -> None:
    """RFC 7643 section 8.2: the full User normalises to itself, minus the readOnly id, meta, groups."""
    body = rfc_user()
    expected = copy.deepcopy(body)
    for readonly in ("id", "meta", "groups"):
        del expected[readonly]
    assert normalize(body, USER) == expected


def test_rfc_enterprise_user_is_lossless() -> None:
    """RFC 7643 section 8.3: the enterprise User, minus readOnly values (manager.displayName too)."""
    body = rfc_enterprise_user()
    expected = copy.deepcopy(body)
    for readonly in ("id", "meta", "groups"):
        del expected[readonly]
    del expected[ENTERPRISE]["manager"]["displayName"]
    result = normalize(body, USER)
    assert result == expected
    assert result["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_rfc_group_is_lossless() -> None:
    """RFC 7643 section 8.4: the Group example, members with display, minus id and meta."""
    body = {
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
        "meta": {"resourceType": "Group", "version": 'W/"3694e05e9dff592"'},
    }
    expected = {key: value for key, value in body.items() if key not in ("id", "meta")}
    assert normalize(body, GROUP) == expected


def test_rfc_minimal_user() -> None:
    """RFC 7643 section 8.1: the minimal User."""
    body = {"schemas": [USER_SCHEMA], "id": "2819c223", "userName": "bjensen@example.com", "meta": {}}
    assert normalize(body, USER) == {"schemas": [USER_SCHEMA], "userName": "bjensen@example.com"}


def test_normalize_does_not_alias_or_mutate_the_body() -> None:
    """RFC 7644 section 3.3: the result is a new document; the request body is left alone."""
    body = rfc_enterprise_user()
    body["urn:example:custom:2.0:User"] = {"deep": {"list": [1, {"x": 2}]}}
    snapshot = copy.deepcopy(body)
    result = normalize(body, USER)
    assert body == snapshot
    result["urn:example:custom:2.0:User"]["deep"]["list"][1]["x"] = 3
    result["emails"][0]["value"] = "changed"
    assert body == snapshot


# --- body shape and schemas ----------------------------------------------------------------


@pytest.mark.parametrize("body", [[], [_user()], "x", 1, 1.5, True, None])
def test_body_must_be_an_object(body: object) -> None:
    """RFC 7644 section 3.12: a body that is not a JSON object is invalidSyntax."""
    with pytest.raises(InvalidSyntax) as info:
        normalize(body, USER)
    assert info.value.to_dict()["scimType"] == "invalidSyntax"


@pytest.mark.parametrize(
    "schemas",
    [None, "urn:ietf:params:scim:schemas:core:2.0:User", [], [GROUP_SCHEMA], [USER_SCHEMA, 1], {"a": 1}],
)
def test_schemas_must_list_the_core_schema(schemas: object) -> None:
    """RFC 7643 section 3 ("schemas" REQUIRED) and RFC 7644 section 3.12: else invalidValue."""
    body = _user(schemas=schemas)
    with pytest.raises(InvalidValue) as info:
        normalize(body, USER)
    assert info.value.status == 400
    assert info.value.scim_type is ScimType.INVALID_VALUE
    assert "schemas" in info.value.detail


def test_schemas_missing() -> None:
    """RFC 7643 section 3: "schemas" is REQUIRED."""
    with pytest.raises(InvalidValue, match="schemas"):
        normalize({"userName": "bjensen"}, USER)


def test_schema_uris_compare_case_insensitively_and_come_out_canonical() -> None:
    """RFC 7643 section 2.1 / 3: schema URIs and names in any case; output spelled canonically."""
    body = {
        "Schemas": [USER_SCHEMA.upper(), ENTERPRISE.lower()],
        ENTERPRISE.lower(): {"EMPLOYEENUMBER": "1"},
        "userName": "bjensen",
    }
    assert normalize(body, USER) == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen",
        ENTERPRISE: {"employeeNumber": "1"},
    }


def test_unknown_schema_uris_are_tolerated() -> None:
    """Entra ID group bodies list an extra Microsoft schema URI (RFC 7643 section 3)."""
    body = {
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": "Sales",
        "members": [],
    }
    assert normalize(body, GROUP) == {"schemas": [GROUP_SCHEMA], "displayName": "Sales"}


def test_extension_object_must_be_listed_in_schemas() -> None:
    """RFC 7643 section 3: "schemas" names every schema whose attributes the body holds."""
    body = _user(**{ENTERPRISE: {"employeeNumber": "1"}})
    with pytest.raises(InvalidValue, match="not listed"):
        normalize(body, USER)


def test_extension_listed_but_absent_is_not_output() -> None:
    """RFC 7643 section 3: output "schemas" lists only the extensions actually present."""
    body = _user(schemas=[USER_SCHEMA, ENTERPRISE])
    assert normalize(body, USER)["schemas"] == [USER_SCHEMA]
    body = _user(schemas=[USER_SCHEMA, ENTERPRISE], **{ENTERPRISE: {"manager": None}})
    assert normalize(body, USER)["schemas"] == [USER_SCHEMA]


# --- names ------------------------------------------------------------------------------------


def test_attribute_names_are_case_insensitive() -> None:
    """RFC 7643 section 2.1: names in any case; output uses the schema's spelling."""
    body = {
        "SCHEMAS": [USER_SCHEMA, ENTERPRISE],
        "USERNAME": "bjensen",
        "Name": {"GIVENNAME": "Barbara", "familyname": "Jensen"},
        "EMAILS": [{"VALUE": "b@example.com", "Type": "work", "PRIMARY": True}],
        "externalid": "701984",
        "ACTIVE": False,
        ENTERPRISE: {"Manager": {"VALUE": "26118915", "$REF": "../Users/26118915"}},
    }
    assert normalize(body, USER) == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "701984",
        "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": False,
        "emails": [{"value": "b@example.com", "type": "work", "primary": True}],
        ENTERPRISE: {"manager": {"value": "26118915", "$ref": "../Users/26118915"}},
    }


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER_SCHEMA], "userName": "a", "USERNAME": "b"},
        {"schemas": [USER_SCHEMA], "userName": "a", "name": {"givenName": "a", "GIVENNAME": "b"}},
        {"schemas": [USER_SCHEMA], "userName": "a", "name": {"givenName": "a"}, "name.givenName": "b"},
        {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "a",
            ENTERPRISE: {"employeeNumber": "1"},
            ENTERPRISE + ":employeeNumber": "2",
        },
    ],
)
def test_same_attribute_twice_is_invalid(body: dict[str, Any]) -> None:
    """RFC 7643 section 2.1: names differing only in case are one attribute, given twice."""
    with pytest.raises(InvalidValue, match="more than once"):
        normalize(body, USER)


def test_fully_qualified_and_dotted_names_are_folded() -> None:
    """RFC 7644 section 3.10: fully qualified names; Entra ID writes extension attributes so."""
    body = {
        "schemas": [USER_SCHEMA],
        USER_SCHEMA + ":userName": "bjensen",
        "name.givenName": "Barbara",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "26118915",
    }
    assert normalize(body, USER) == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    }


def test_dotted_name_of_a_multi_valued_attribute_is_invalid() -> None:
    """RFC 7644 section 3.10: "emails.value" does not say which email is meant."""
    with pytest.raises(InvalidValue, match="emails.value"):
        normalize(_user(**{"emails.value": "a@example.com"}), USER)


# --- readOnly, unknown, null -----------------------------------------------------------------


def test_read_only_values_are_ignored() -> None:
    """RFC 7644 section 3.3 / RFC 7643 section 7: readOnly values in a body "SHALL be ignored"."""
    body = _user(
        schemas=[USER_SCHEMA, ENTERPRISE],
        id="client-chosen",
        meta={"created": "2010-01-23T04:56:22Z"},
        groups=[{"value": "g1"}],
        **{ENTERPRISE: {"manager": {"value": "m1", "displayName": "Boss"}}},
    )
    assert normalize(body, USER) == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen",
        ENTERPRISE: {"manager": {"value": "m1"}},
    }
    # A value holding only readOnly sub-attributes leaves nothing.
    body = _user(schemas=[USER_SCHEMA, ENTERPRISE], **{ENTERPRISE: {"manager": {"displayName": "Boss"}}})
    assert normalize(body, USER) == {"schemas": [USER_SCHEMA], "userName": "bjensen"}


def test_read_only_values_are_ignored_even_when_malformed() -> None:
    """RFC 7644 section 3.3: ignored means not validated either (id as a number, meta as a string)."""
    assert normalize(_user(id=5, meta="x", groups="y"), USER) == {
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
    }


def test_unknown_attributes_are_dropped() -> None:
    """RFC 7644 sections 3.3 / 3.5.1 are silent on unknown attributes: dropped (see document.py)."""
    body = _user(
        favouriteColour="blue", name={"givenName": "B", "nickname2": "x"}, emails=[{"value": "a", "x": 1}]
    )
    assert normalize(body, USER) == {
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "name": {"givenName": "B"},
        "emails": [{"value": "a"}],
    }


@pytest.mark.parametrize("extra", [{"favouriteColour": "blue"}, {"name": {"nickname2": "x"}}])
def test_unknown_attributes_rejected_on_request(extra: dict[str, Any]) -> None:
    """RFC 7644 section 3.12: with reject_unknown, an unknown attribute is invalidValue."""
    with pytest.raises(InvalidValue, match="Unknown attribute"):
        normalize(_user(**extra), USER, reject_unknown=True)


def test_null_and_empty_values_are_unassigned() -> None:
    """RFC 7643 section 2.5: null, [] (and an empty object) are unassigned and dropped."""
    body = _user(
        displayName=None,
        emails=[],
        phoneNumbers=[None, {}],
        name={},
        addresses=[{"locality": None}],
        x509Certificates=None,
    )
    assert normalize(body, USER) == {"schemas": [USER_SCHEMA], "userName": "bjensen"}


def test_entra_null_ref_in_members() -> None:
    """Entra ID adds members as {"$ref": null, "value": "..."} (RFC 7643 section 2.5: null)."""
    body = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"$ref": None, "value": "f648f8d5"}]}
    assert normalize(body, GROUP)["members"] == [{"value": "f648f8d5"}]


def test_external_id_is_a_case_exact_string() -> None:
    """RFC 7643 section 3.1: externalId is a caseExact string set by the client."""
    assert normalize(_user(externalId="AbC"), USER)["externalId"] == "AbC"
    with pytest.raises(InvalidValue, match="externalId"):
        normalize(_user(externalId=701984), USER)


# --- undeclared extensions ------------------------------------------------------------------


def test_undeclared_extension_is_kept_verbatim() -> None:
    """RFC 7643 section 3.3: extension attributes live under their URN; kept as free JSON."""
    custom = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"
    body = _user(**{custom: {"tag": "x", "nested": {"Any": [1, None]}}})
    result = normalize(body, USER)
    assert result[custom] == {"tag": "x", "nested": {"Any": [1, None]}}
    assert result["schemas"] == [USER_SCHEMA, custom]


def test_undeclared_extension_flattened() -> None:
    """Entra ID custom extension naming "urn:...:CustomExtensionName:2.0:User:tag" is folded."""
    key = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag"
    result = normalize(_user(**{key: "blue"}), USER)
    assert result["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"] == {"tag": "blue"}


def test_undeclared_extension_refused_when_not_allowed() -> None:
    """RFC 7644 section 3.12: an extension the resource type does not declare is invalidValue."""
    body = _user(**{"urn:example:custom:2.0:User": {"tag": "x"}})
    with pytest.raises(InvalidValue, match="not supported"):
        normalize(body, USER, allow_undeclared_extensions=False)


@pytest.mark.parametrize("value", ["x", 1, [1]])
def test_undeclared_extension_must_be_an_object(value: object) -> None:
    """RFC 7643 section 3.3: an extension is a JSON object keyed by its URN."""
    with pytest.raises(InvalidValue, match="JSON object"):
        normalize(_user(**{"urn:example": value}), USER)


def test_declared_extension_must_be_an_object() -> None:
    """RFC 7643 section 3.3: the enterprise extension is an object."""
    with pytest.raises(InvalidValue, match="JSON object"):
        normalize(_user(schemas=[USER_SCHEMA, ENTERPRISE], **{ENTERPRISE: "x"}), USER)


# --- types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        ({"userName": 5}, "userName"),
        ({"displayName": ["Babs"]}, "displayName"),
        ({"active": "yes"}, "active"),
        ({"active": 1}, "active"),
        ({"name": "Barbara Jensen"}, "name"),
        ({"name": [{"givenName": "a"}, {"givenName": "b"}]}, "name"),
        ({"name": {"givenName": 1}}, "name.givenName"),
        ({"emails": "b@example.com"}, "emails"),
        ({"emails": ["b@example.com"]}, "emails[0]"),
        ({"emails": [{"value": "b@example.com", "primary": "yes"}]}, "emails[0].primary"),
        ({"x509Certificates": [{"value": "not base64!"}]}, "x509Certificates[0].value"),
        ({"x509Certificates": [{"value": "QUJD"[:3]}]}, "x509Certificates[0].value"),
        ({"profileUrl": 42}, "profileUrl"),
        ({"photos": [{"value": {"url": "x"}}]}, "photos[0].value"),
    ],
)
def test_user_type_errors(attributes: dict[str, Any], path: str) -> None:
    """RFC 7643 section 2.3: each value must have its attribute's type; the detail names the path."""
    with pytest.raises(InvalidValue) as info:
        normalize(_user(**attributes), USER)
    assert repr(path) in info.value.detail
    assert info.value.to_dict()["scimType"] == "invalidValue"


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        ({"count": 1.5}, "count"),
        ({"count": 2.0}, "count"),
        ({"count": True}, "count"),
        ({"count": "3"}, "count"),
        ({"ratio": False}, "ratio"),
        ({"ratio": "0.5"}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": float("inf")}, "ratio"),
        ({"since": 1264222582}, "since"),
        ({"since": "2010-01-23"}, "since"),
        ({"blob": b"raw".hex()}, "blob"),
        ({"tags": "one"}, "tags"),
        ({"tags": ["one", 2]}, "tags[1]"),
        ({"link": ["https://example.com"]}, "link"),
        ({WIDGET_EXT: {"batch": 7}}, WIDGET_EXT + ":batch"),
    ],
)
def test_widget_type_errors(attributes: dict[str, Any], path: str) -> None:
    """RFC 7643 sections 2.3.3-2.3.7: integer, decimal, dateTime, binary, multi-valued types."""
    with pytest.raises(InvalidValue) as info:
        normalize(_widget(**attributes), WIDGET)
    assert repr(path) in info.value.detail


def test_widget_valid_types() -> None:
    """RFC 7643 section 2.3: values of each type are kept exactly as sent."""
    body = _widget(
        count=-3,
        ratio=0.25,
        since="2008-01-23T04:56:22Z",
        blob="AAEC/w==",
        link="https://example.com/x",
        tags=["a", "b"],
    )
    result = normalize(body, WIDGET)
    for key in ("count", "ratio", "since", "blob", "link", "tags"):
        assert result[key] == body[key]
    assert normalize(_widget(ratio=2), WIDGET)["ratio"] == 2


@pytest.mark.parametrize(
    "value",
    [
        "2008-01-23T04:56:22Z",
        "2008-01-23T04:56:22",
        "2008-01-23T04:56:22.123456Z",
        "2008-01-23T04:56:22+14:00",
        "2008-01-23T04:56:22-05:30",
        "2000-02-29T00:00:00Z",
        "2008-01-23T24:00:00Z",
        "12008-01-23T04:56:22Z",
        "-0044-03-15T12:00:00Z",
    ],
)
def test_valid_datetimes(value: str) -> None:
    """RFC 7643 section 2.3.5: xsd:dateTime values are accepted and kept as strings."""
    assert normalize(_widget(since=value), WIDGET)["since"] == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2008-01-23",
        "2008-01-23 04:56:22Z",
        "2008-01-23t04:56:22z",
        "2008-13-01T00:00:00Z",
        "2008-00-01T00:00:00Z",
        "2001-02-29T00:00:00Z",
        "2008-04-31T00:00:00Z",
        "2008-01-23T25:00:00Z",
        "2008-01-23T24:00:01Z",
        "2008-01-23T04:60:00Z",
        "2008-01-23T04:56:60Z",
        "2008-01-23T04:56:22+15:00",
        "2008-01-23T04:56:22+0500",
        "0000-01-01T00:00:00Z",
        "08-01-23T04:56:22Z",
        "2008-01-23T04:56:22.Z",
    ],
)
def test_invalid_datetimes(value: str) -> None:
    """RFC 7643 section 2.3.5: a dateTime "MUST be encoded as a valid xsd:dateTime"."""
    with pytest.raises(InvalidValue, match="xsd:dateTime"):
        normalize(_widget(since=value), WIDGET)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("True", True), ("true", True), ("FALSE", False), ("False", False), (True, True), (False, False)],
)
def test_string_booleans(sent: object, stored: bool) -> None:
    """Entra ID sends "active": "True" (SCIMReferenceCode#21); RFC 7643 section 2.3.2 boolean."""
    assert normalize(_user(active=sent), USER)["active"] is stored


def test_string_booleans_can_be_refused() -> None:
    """RFC 7643 section 2.3.2: strictly, a boolean is a JSON true or false."""
    with pytest.raises(InvalidValue, match="'active'"):
        normalize(_user(active="True"), USER, string_booleans=False)
    assert normalize(_user(active=True), USER, string_booleans=False)["active"] is True


def test_onelogin_single_email_object_is_wrapped() -> None:
    """OneLogin sends "emails" as one object (django-scim2 parse_emails); RFC 7643 section 2.4."""
    body = _user(emails={"value": "b@example.com", "primary": True})
    assert normalize(body, USER)["emails"] == [{"value": "b@example.com", "primary": True}]


def test_entra_one_element_list_for_single_complex_is_unwrapped() -> None:
    """Entra ID may wrap the single-valued enterprise manager in a list (RFC 7643 section 4.3)."""
    body = _user(schemas=[USER_SCHEMA, ENTERPRISE], **{ENTERPRISE: {"manager": [{"value": "m1"}]}})
    assert normalize(body, USER)[ENTERPRISE] == {"manager": {"value": "m1"}}


def test_entra_style_user_body() -> None:
    """An Entra ID create: string boolean, flattened enterprise key, custom extension naming."""
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "userName": "Test_User_00aa00aa@contoso.com",
        "active": "True",
        "displayName": "Test User",
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@contoso.com"}],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        ENTERPRISE + ":department": "Tour Operations",
        ENTERPRISE: {"employeeNumber": "1"},
    }
    result = normalize(body, USER)
    assert result["active"] is True
    assert result[ENTERPRISE] == {"employeeNumber": "1", "department": "Tour Operations"}


# --- primary -------------------------------------------------------------------------------


def test_at_most_one_primary() -> None:
    """RFC 7643 section 2.4: "The primary attribute value "true" MUST appear no more than once."""
    emails: list[dict[str, Any]] = [
        {"value": "a@example.com", "primary": True},
        {"value": "b@example.com", "primary": "True"},
    ]
    with pytest.raises(InvalidValue, match="primary"):
        normalize(_user(emails=emails), USER)
    emails[1]["primary"] = False
    assert normalize(_user(emails=emails), USER)["emails"][1]["primary"] is False


# --- required ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_name", [None, "", "   "])
def test_user_name_required(user_name: object) -> None:
    """RFC 7643 section 4.1.1: "Each User MUST include a non-empty userName value"."""
    body = _user(userName=user_name)
    with pytest.raises(InvalidValue, match="'userName' is required"):
        normalize(body, USER)
    del body["userName"]
    with pytest.raises(InvalidValue, match="'userName' is required"):
        normalize(body, USER)


def test_group_display_name_required() -> None:
    """RFC 7643 section 4.2 and erratum 5368: Group displayName is REQUIRED."""
    with pytest.raises(InvalidValue, match="'displayName' is required"):
        normalize({"schemas": [GROUP_SCHEMA], "members": []}, GROUP)


def test_required_sub_attribute_in_a_present_value() -> None:
    """RFC 7643 section 7: a required sub-attribute must be in every value that is given."""
    with pytest.raises(InvalidValue, match=r"'parts\[1\].value' is required"):
        normalize(_widget(parts=[{"value": "a"}, {"primary": True}]), WIDGET)
    # An empty value is no value (RFC 7643 section 2.5), so nothing is missing from it.
    assert "parts" not in normalize(_widget(parts=[{}]), WIDGET)


def test_required_extension_and_its_attributes() -> None:
    """RFC 7643 section 6: a required schemaExtension must be present, with its required attributes."""
    body = _widget()
    del body[WIDGET_EXT]
    with pytest.raises(InvalidValue, match="is required"):
        normalize(body, WIDGET)
    body[WIDGET_EXT] = {"unknown": 1}
    with pytest.raises(InvalidValue, match="batch' is required"):
        normalize(body, WIDGET)


def test_required_read_only_attribute_is_not_the_clients_to_send() -> None:
    """RFC 7643 section 7: readOnly values are the provider's; "required" does not apply to input."""
    result = normalize(_widget(stamp="client"), WIDGET)
    assert "stamp" not in result


# --- immutable -----------------------------------------------------------------------------


def test_immutable_may_be_set_once() -> None:
    """RFC 7644 section 3.5.1: with no existing value, the new value is applied."""
    stored = normalize(_widget(), WIDGET)
    assert normalize(_widget(serial="S1"), WIDGET, existing=stored)["serial"] == "S1"


def test_immutable_same_value_is_fine_and_omitted_value_is_kept() -> None:
    """RFC 7644 section 3.5.1: input values "MUST match"; an omitted value is carried over."""
    stored = normalize(_widget(serial="S1", code="AbC"), WIDGET)
    # serial is caseExact false, so a change of case is the same value.
    assert normalize(_widget(serial="s1", code="AbC"), WIDGET, existing=stored)["serial"] == "s1"
    kept = normalize(_widget(), WIDGET, existing=stored)
    assert kept["serial"] == "S1"
    assert kept["code"] == "AbC"
    assert normalize(_widget(serial=None), WIDGET, existing=stored)["serial"] == "S1"


@pytest.mark.parametrize("change", [{"serial": "S2"}, {"code": "abc"}, {"owner": {"value": "o2"}}])
def test_immutable_change_is_a_mutability_error(change: dict[str, Any]) -> None:
    """RFC 7643 section 7 / RFC 7644 section 3.5.1: a changed immutable value is 400 mutability."""
    stored = normalize(_widget(serial="S1", code="AbC", owner={"value": "o1"}), WIDGET)
    with pytest.raises(MutabilityError) as info:
        normalize(_widget(**change), WIDGET, existing=stored)
    assert info.value.to_dict() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "mutability",
        "detail": info.value.detail,
    }


def test_immutable_value_stored_in_another_spelling_is_found() -> None:
    """RFC 7643 section 2.1: attribute names are case-insensitive, in stored documents too.

    The stored value is found whatever the case of its key, and the exact spelling wins over
    another one.
    """
    with pytest.raises(MutabilityError):
        normalize(_widget(serial="S2"), WIDGET, existing={"SERIAL": "S1"})
    assert normalize(_widget(), WIDGET, existing={"Serial": "S1"})["serial"] == "S1"
    both = {"SERIAL": "S9", "serial": "S1"}
    assert normalize(_widget(serial="s1"), WIDGET, existing=both)["serial"] == "s1"


def test_immutable_sub_attribute_of_single_complex_is_checked() -> None:
    """RFC 7643 section 7: owner.value (immutable) may not change; owner.display may."""
    stored = normalize(_widget(owner={"value": "o1", "display": "One"}), WIDGET)
    result = normalize(_widget(owner={"display": "Uno"}), WIDGET, existing=stored)
    assert result["owner"] == {"value": "o1", "display": "Uno"}


def test_group_members_may_be_replaced_on_put() -> None:
    """RFC 7643 section 4.2: members.value is immutable per value; PUT replaces the set of values.

    Values of a multi-valued attribute have no identity besides their content, so the check is
    not made value by value (see document.py): members are added and removed, not modified.
    """
    stored = normalize({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "u1"}]}, GROUP)
    body = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "u2", "display": "Two"}]}
    assert normalize(body, GROUP, existing=stored)["members"] == [{"value": "u2", "display": "Two"}]


def test_put_drops_omitted_read_write_attributes() -> None:
    """RFC 7644 section 3.5.1: PUT replaces; omitted readWrite attributes are not carried over."""
    stored = normalize(_user(displayName="Babs", emails=[{"value": "a@example.com"}]), USER)
    assert normalize(_user(), USER, existing=stored) == {"schemas": [USER_SCHEMA], "userName": "bjensen"}


# --- project -------------------------------------------------------------------------------


def _stored_user() -> dict[str, Any]:
    document = rfc_enterprise_user()
    document["urn:example:custom:2.0:User"] = {"tag": "x"}
    document["schemas"].append("urn:example:custom:2.0:User")
    return document


def test_project_default_drops_never() -> None:
    """RFC 7643 section 7: "never" (password) is not returned; everything default is."""
    document = _stored_user()
    result = project(document, USER)
    expected = copy.deepcopy(document)
    del expected["password"]
    assert result == expected


def test_project_attributes_keeps_always_and_named() -> None:
    """RFC 7644 section 3.4.2.5 / 3.9: attributes=userName gives schemas, id and userName."""
    result = project(_stored_user(), USER, attributes=["userName"])
    assert result == {
        "schemas": [USER_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
    }


def test_project_meta_is_returned_by_default_only() -> None:
    """RFC 7643 section 3.1: meta's sub-attributes are "default": excludable, not always."""
    assert "meta" in project(_stored_user(), USER)
    assert "meta" not in project(_stored_user(), USER, excluded_attributes=["meta"])
    assert "meta" not in project(_stored_user(), USER, attributes=["userName"])
    assert project(_stored_user(), USER, attributes=["meta.version"])["meta"] == {
        "version": 'W/"3694e05e9dff591"'
    }


def test_project_always_cannot_be_excluded() -> None:
    """RFC 7643 section 7: "always" attributes are returned whatever is excluded."""
    result = project(_stored_user(), USER, excluded_attributes=["id", "schemas", "password"])
    assert result["id"] == "2819c223-7f76-453a-919d-413861904646"
    assert result["schemas"][0] == USER_SCHEMA
    assert "password" not in result
    assert "password" not in project(_stored_user(), USER, attributes=["password"])


def test_project_sub_attributes() -> None:
    """RFC 7644 section 3.4.2.5: sub-attribute names select or exclude parts of complex values."""
    document = _stored_user()
    result = project(document, USER, attributes=["name.givenName", "emails.value"])
    assert result["name"] == {"givenName": "Barbara"}
    assert result["emails"] == [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]
    result = project(document, USER, excluded_attributes=["name.givenName", "emails.type", "emails.primary"])
    assert "givenName" not in result["name"]
    assert result["name"]["familyName"] == "Jensen"
    assert result["emails"] == [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]


def test_project_names_are_case_insensitive_and_may_be_qualified() -> None:
    """RFC 7643 section 2.1 / RFC 7644 section 3.10: any case; URN-qualified names and whole URNs."""
    document = _stored_user()
    result = project(
        document,
        USER,
        attributes=[
            "USERNAME",
            USER_SCHEMA.upper() + ":Name.FamilyName",
            ENTERPRISE.lower() + ":EMPLOYEENUMBER",
            ENTERPRISE + ":manager.value",
        ],
    )
    assert result == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen"},
        ENTERPRISE: {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
        },
    }
    whole = project(document, USER, attributes=[ENTERPRISE])
    assert whole[ENTERPRISE] == document[ENTERPRISE]
    assert "userName" not in whole


def test_project_exclude_whole_extension_prunes_schemas() -> None:
    """RFC 7643 section 3: "schemas" lists what is present; excluding an extension drops its URN."""
    result = project(_stored_user(), USER, excluded_attributes=[ENTERPRISE, "urn:example:custom:2.0:User"])
    assert ENTERPRISE not in result
    assert "urn:example:custom:2.0:User" not in result
    assert result["schemas"] == [USER_SCHEMA]


def test_project_undeclared_extension_returned_by_default() -> None:
    """Free-JSON extensions are returned like "default" attributes (RFC 7643 section 7)."""
    document = _stored_user()
    assert project(document, USER)["urn:example:custom:2.0:User"] == {"tag": "x"}
    assert "urn:example:custom:2.0:User" not in project(document, USER, attributes=["userName"])
    named = project(document, USER, attributes=["urn:example:custom:2.0:User:tag"])
    assert named["urn:example:custom:2.0:User"] == {"tag": "x"}


def test_project_request_only_when_named() -> None:
    """RFC 7643 section 7: "request" attributes only when named in attributes."""
    document = {
        "schemas": [WIDGET_SCHEMA],
        "id": "w1",
        "label": "w",
        "secret": "s",
        "owner": {"value": "o1", "note": "n"},
    }
    assert "secret" not in project(document, WIDGET)
    assert project(document, WIDGET)["owner"] == {"value": "o1"}
    assert project(document, WIDGET, attributes=["secret"])["secret"] == "s"
    assert project(document, WIDGET, attributes=["owner"])["owner"] == {"value": "o1"}
    assert project(document, WIDGET, attributes=["owner.note"])["owner"] == {"note": "n"}
    assert "secret" not in project(document, WIDGET, attributes=[WIDGET_SCHEMA])


def test_project_entra_group_without_members() -> None:
    """Entra ID: GET /Groups/{id}?excludedAttributes=members (RFC 7644 section 3.4.2.5)."""
    document = {
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [{"value": "u1"}],
        "meta": {"resourceType": "Group"},
    }
    result = project(document, GROUP, excluded_attributes=split_attribute_list("members"))
    assert result == {
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Tour Guides",
        "meta": {"resourceType": "Group"},
    }


@pytest.mark.parametrize(
    ("members", "returned"),
    [
        (
            [{"value": "u1"}, {"value": "u2", "display": "b"}],
            [{"value": "u1"}, {"value": "u2", "display": "b"}],
        ),
        ([{"value": "u1"}, {}], [{"value": "u1"}]),
        ([{}, {}], None),
        ([], None),
        ([[{"value": "u1"}, {}]], [[{"value": "u1"}]]),
    ],
)
def test_project_drops_empty_objects_of_a_list_returned_whole(
    members: list[Any], returned: list[Any] | None
) -> None:
    """RFC 7643 section 2.5: an empty object is unassigned, in a list too; the others are kept
    as they are, in order."""
    document = {"schemas": [GROUP_SCHEMA], "id": "g1", "members": members}
    result = project(document, GROUP)
    assert result.get("members") == returned
    assert ("members" in result) is (returned is not None)


@pytest.mark.parametrize(
    "name", ["", "  ", "no such", "a.b.c", "1abc", "urn:nope:x", "name.", ".name", "nosuch"]
)
def test_project_ignores_unusable_names(name: str) -> None:
    """RFC 7644 section 3.4.2: unrecognised input is ignored rather than failing the GET."""
    document = _stored_user()
    assert project(document, USER, excluded_attributes=[name]) == project(document, USER)
    assert project(document, USER, attributes=[name]) == {
        "schemas": [USER_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
    }


@pytest.mark.parametrize(
    "projection",
    [{}, {"attributes": ["emails.value", "name"]}, {"excluded_attributes": ["emails.type", "schemas"]}],
)
def test_project_leaves_the_document_alone(projection: dict[str, list[str]]) -> None:
    """Projecting never changes the document (it shares kept values with it, see its docstring)."""
    document = _stored_user()
    snapshot = copy.deepcopy(document)
    result = project(document, USER, **projection)
    assert result != document
    assert document == snapshot


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (None, None),
        ("", None),
        (" , ", None),
        ("userName", ["userName"]),
        ("userName, name.givenName ,emails", ["userName", "name.givenName", "emails"]),
        (ENTERPRISE + ":manager.value,displayName", [ENTERPRISE + ":manager.value", "displayName"]),
    ],
)
def test_split_attribute_list(text: str | None, names: list[str] | None) -> None:
    """RFC 7644 section 3.4.2.5: attributes / excludedAttributes are comma-separated names."""
    assert split_attribute_list(text) == names


# --- find_attribute ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("userName", "userName"),
        ("USERNAME", "userName"),
        ("name.givenName", "givenName"),
        ("Name.GivenName", "givenName"),
        ("emails.value", "value"),
        ("members.$ref", None),
        ("meta.lastModified", "lastModified"),
        ("externalId", "externalId"),
        ("id", "id"),
        (USER_SCHEMA + ":userName", "userName"),
        (ENTERPRISE + ":manager.value", "value"),
        (ENTERPRISE.upper() + ":Manager.DisplayName", "displayName"),
        (ENTERPRISE + ":employeeNumber", "employeeNumber"),
        (ENTERPRISE, None),
        ("nosuch", None),
        ("userName.x", None),
        ("name.nosuch", None),
        ("a b", None),
        ("", None),
        ("urn:unknown:2.0:User:userName", None),
    ],
)
def test_find_attribute(path: str, name: str | None) -> None:
    """RFC 7644 section 3.10 attribute paths, resolved case-insensitively (RFC 7643 section 2.1)."""
    attr = find_attribute(USER, path)
    assert (attr.name if attr is not None else None) == name


def test_find_attribute_group_and_readonly_definitions() -> None:
    """RFC 7643 section 4.2 / 4.3: the definitions come back with their characteristics."""
    assert find_attribute(GROUP, "members.$ref").mutability is Mutability.IMMUTABLE  # type: ignore[union-attr]
    manager_display = find_attribute(USER, ENTERPRISE + ":manager.displayName")
    assert manager_display is not None and manager_display.mutability is Mutability.READ_ONLY


# --- robustness ----------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "schemas",
        "SCHEMAS",
        "userName",
        "username",
        "displayName",
        "name",
        "givenName",
        "name.givenName",
        "emails",
        "value",
        "primary",
        "type",
        "$ref",
        "active",
        "members",
        "groups",
        "id",
        "meta",
        "externalId",
        "x509Certificates",
        "password",
        "manager",
        "display",
        ENTERPRISE,
        ENTERPRISE + ":manager",
        ENTERPRISE + ":manager.value",
        USER_SCHEMA + ":userName",
        "urn:example:custom:2.0:User",
        "urn:example:custom:2.0:User:tag",
        WIDGET_EXT,
        "count",
        "since",
        "owner",
        "parts",
    ]
) | st.text(max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["True", "false", "2008-01-23T04:56:22Z", "AAEC/w==", USER_SCHEMA, GROUP_SCHEMA])
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)
_SCHEMAS = st.sampled_from(
    [
        [USER_SCHEMA],
        [USER_SCHEMA, ENTERPRISE],
        [GROUP_SCHEMA],
        [WIDGET_SCHEMA, WIDGET_EXT],
        [USER_SCHEMA.upper()],
    ]
)


def _check(body: object, resource_type: ResourceType, existing: dict[str, Any] | None = None) -> None:
    try:
        result = normalize(body, resource_type, existing=existing)
    except ScimError as error:
        assert isinstance(error.to_dict()["detail"], str)
        return
    assert isinstance(result, dict)
    json.dumps(project(result, resource_type, attributes=["userName", "emails.value"]))
    project(result, resource_type, excluded_attributes=["members", ENTERPRISE])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_JSON, resource_type=st.sampled_from([USER, GROUP, WIDGET]))
def test_any_json_body_gives_a_dict_or_a_scim_error(body: object, resource_type: ResourceType) -> None:
    """RFC 7644 section 3.12: whatever JSON arrives, the answer is a document or a SCIM error."""
    _check(body, resource_type)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attributes=st.dictionaries(_KEYS, _JSON, max_size=8),
    schemas=_SCHEMAS,
    existing=st.none() | st.dictionaries(_KEYS, _JSON, max_size=6),
    resource_type=st.sampled_from([USER, GROUP, WIDGET]),
)
def test_any_object_with_valid_schemas_gives_a_dict_or_a_scim_error(
    attributes: dict[str, Any],
    schemas: list[str],
    existing: dict[str, Any] | None,
    resource_type: ResourceType,
) -> None:
    """RFC 7644 sections 3.3 / 3.5.1: past the schemas check, still only documents or SCIM errors."""
    _check({**attributes, "schemas": schemas}, resource_type, existing)


def test_deeply_nested_undeclared_extension() -> None:
    """A deeply nested free-JSON extension is copied without recursion limits."""
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"a": [deep]}
    result = normalize(_user(**{"urn:example:custom:2.0:User": deep}), USER)
    assert result["urn:example:custom:2.0:User"]["a"][0]["a"][0]["a"][0] is not None


@pytest.mark.parametrize(
    "projection",
    [
        {},
        {"attributes": ["userName", "urn:example:custom:2.0:User:tag"]},
        {"excluded_attributes": ["urn:example:custom:2.0:User", "emails.type"]},
        {"attributes": ["name.givenName"], "excluded_attributes": ["name.givenName"]},
    ],
)
def test_one_projection_for_many_documents_equals_projecting_each(projection: dict[str, list[str]]) -> None:
    """A page resolves ``attributes`` / ``excludedAttributes`` once (RFC 7644 section 3.4.2.5):
    documents with and without an undeclared extension come out as :func:`project` makes them."""
    plain = rfc_enterprise_user()
    documents = [_stored_user(), plain, _stored_user()]
    apply = Projection(USER, **projection)
    assert [apply(document) for document in documents] == [project(d, USER, **projection) for d in documents]


@pytest.mark.parametrize(
    "projection",
    [{}, {"attributes": ["userName", "name"]}, {"excluded_attributes": ["urn:example:custom:2.0:User:tag"]}],
)
def test_key_spellings_remembered_by_a_projection_follow_each_document(
    projection: dict[str, list[str]],
) -> None:
    """RFC 7643 section 2.1: names are case-insensitive; a key of one document (a URN holding a
    value, then an object; ``NAME`` then ``name``) is judged again in the next."""
    documents: list[dict[str, Any]] = [
        {"schemas": [USER_SCHEMA], "id": "1", "userName": "a", "urn:example:custom:2.0:User": "text"},
        _stored_user(),
        {
            "schemas": [USER_SCHEMA],
            "id": "2",
            "NAME": {"givenName": "G"},
            "PassWord": "secret",
            "nickName": {},
        },
        {
            "schemas": [USER_SCHEMA],
            "id": "3",
            "name": {"givenName": "H"},
            "urn:example:custom:2.0:User": "text",
        },
    ]
    apply = Projection(USER, **projection)
    for _round in range(2):
        assert [apply(copy.deepcopy(d)) for d in documents] == [
            project(d, USER, **projection) for d in documents
        ]
    assert "PassWord" not in apply(documents[2])  # RFC 7643 section 4.1.1: password is returned never


def test_an_undeclared_extension_of_one_document_is_not_a_container_for_the_next() -> None:
    apply = Projection(USER, attributes=["userName", "urn:example:custom:2.0:User:tag"])
    assert apply(_stored_user())["urn:example:custom:2.0:User"] == {"tag": "x"}
    assert set(apply(rfc_enterprise_user())) == {"schemas", "id", "userName"}


def test_returned_attributes_follow_the_lists_and_the_resource_type() -> None:
    """What a render loads (RFC 7644 section 3.4.2.5): Group ``members`` only when returned.
    Answers are remembered; each still follows its own lists and its own resource type."""
    assert "members" in returned_attributes(GROUP)
    assert "members" not in returned_attributes(GROUP, excluded_attributes=["members"])
    assert returned_attributes(GROUP, attributes=["displayName"]) == {"displayName"}
    assert "members" in returned_attributes(GROUP)
    # Another resource type object (a site's own Group schema without members) is its own key.
    lean = ResourceType(
        "Group", "/Groups", Schema(GROUP_SCHEMA, "Group", attributes=(Attribute("displayName"),))
    )
    assert returned_attributes(lean) == {"displayName"}


def test_the_treatment_of_an_attribute_is_what_the_projection_does_to_it() -> None:
    """RFC 7643 section 7 ``returned`` and RFC 7644 section 3.4.2.5: ``treatment`` tells, for any
    value, whether the projection returns an attribute whole (True), leaves it out (False) or
    returns a part of it (None); the projection of documents agrees."""
    default = Projection(USER)
    assert default.treatment("userName") is True
    assert default.treatment("USERNAME") is True
    assert default.treatment("password") is False  # returned: never
    assert default.treatment("notAnAttribute") is True  # undeclared: returned like default ones
    assert default.treatment("employeeNumber", ENTERPRISE.lower()) is True
    excluded = Projection(USER, excluded_attributes=["emails", "name.givenName"])
    assert excluded.treatment("emails") is False
    assert excluded.treatment("name") is None
    document = {"schemas": [USER_SCHEMA], "id": "1", "emails": [{"value": "a@x"}], "name": {"givenName": "A"}}
    assert "emails" not in excluded(document)
    assert "name" not in excluded(document)  # its only part was excluded


def test_partial_names_are_the_attributes_not_returned_whole() -> None:
    """What a document built outside Python (the database) must not hold for the projection to
    leave it as it is: names only, or ``None`` when the rules need more than names."""
    names = Projection(USER).partial_names()
    assert names is not None
    assert "password" in names and "username" not in names and "emails" not in names
    excluded = Projection(USER, excluded_attributes=["nickName", f"{ENTERPRISE}:employeeNumber", "bogus"])
    found = excluded.partial_names()
    assert found is not None
    assert {"nickname", f"{ENTERPRISE.lower()}:employeenumber", "bogus"} <= found
    assert Projection(USER, attributes=["userName"]).partial_names() is None
    assert Projection(USER, excluded_attributes=["name.givenName"]).partial_names() is None
    assert Projection(USER, excluded_attributes=[ENTERPRISE]).partial_names() is None
