"""The core schemas as data: RFC 7643 section 8.7.1 (User, Group, EnterpriseUser).

Where ``core/schemas/*.json`` departs from the section 8.7.1 text, on purpose:

* Group ``displayName`` is ``"required": true``. Section 4.2 says "REQUIRED" and the 8.7.1
  description ends in "REQUIRED.", but its ``required`` flag is ``false``; RFC 7643 erratum 5368
  (https://www.rfc-editor.org/errata/eid5368) corrects the flag (scim2-models#123 applied it).
* Group ``members`` has a ``display`` sub-attribute (immutable). Section 8.7.1 lists only
  ``value``, ``$ref`` and ``type``; section 2.4 gives multi-valued attributes a ``display``
  "having a mutability of immutable", the section 8.4 Group example and Okta send it
  (scimmy#17).
* User ``addresses`` has a ``primary`` sub-attribute. Section 8.7.1 omits it; section 2.4 gives it
  to every multi-valued attribute and the section 8.2 example sends ``"primary": true`` on an
  address.

Everything else is as printed, including the RFC's own oddities: ``groups.$ref`` allows
``"User"`` references, ``manager.value`` / ``manager.$ref`` say "REQUIRED." in their description
but are ``"required": false``, and ``x509Certificates.value`` is not required.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from django_scim.core.constants import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    AttributeType,
    Mutability,
    Returned,
    Uniqueness,
)
from django_scim.core.schema import Attribute, Schema, builtin_schema, load_schema

ALL = (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA)


def _attr(urn: str, path: str) -> Attribute:
    schema = builtin_schema(urn)
    head, _, tail = path.partition(".")
    attr = schema.attribute(head)
    assert attr is not None, path
    if tail:
        attr = attr.sub_attribute(tail)
        assert attr is not None, path
    return attr


@pytest.mark.parametrize(
    ("urn", "name", "count"),
    [(USER_SCHEMA, "User", 21), (GROUP_SCHEMA, "Group", 2), (ENTERPRISE_USER_SCHEMA, "EnterpriseUser", 6)],
)
def test_builtin_schemas_load(urn: str, name: str, count: int) -> None:
    """RFC 7643 section 8.7.1: the three resource schemas load, with their ids and names."""
    schema = builtin_schema(urn)
    assert schema.id == urn
    assert schema.name == name
    assert len(schema.attributes) == count


@pytest.mark.parametrize("urn", ALL)
def test_round_trip(urn: str) -> None:
    """RFC 7643 section 7: the /Schemas representation reads back to the same schema."""
    schema = builtin_schema(urn)
    assert Schema.from_dict(schema.to_dict()) == schema
    assert load_schema(json.dumps(schema.to_dict())) == schema


@pytest.mark.parametrize("filename", ["user.json", "group.json", "enterprise_user.json"])
def test_json_files_use_only_rfc_keys(filename: str) -> None:
    """RFC 7643 section 7: attribute definitions use only the characteristics it defines."""
    allowed = {
        "name",
        "type",
        "multiValued",
        "description",
        "required",
        "caseExact",
        "mutability",
        "returned",
        "uniqueness",
        "canonicalValues",
        "referenceTypes",
        "subAttributes",
    }
    text = resources.files("django_scim.core").joinpath("schemas", filename).read_text("utf-8")
    data = json.loads(text)
    assert set(data) == {"id", "name", "description", "attributes"}

    def walk(attrs: list[dict[str, object]]) -> None:
        for attr in attrs:
            assert set(attr) <= allowed, attr["name"]
            assert attr["description"], attr["name"]
            if attr["type"] == "complex":
                walk(attr["subAttributes"])  # type: ignore[arg-type]
            else:
                assert "subAttributes" not in attr

    walk(data["attributes"])


def test_user_name() -> None:
    """RFC 7643 sections 4.1.1 and 8.7.1: userName is required, unique per server, caseExact false."""
    attr = _attr(USER_SCHEMA, "userName")
    assert attr.required is True
    assert attr.uniqueness is Uniqueness.SERVER
    assert attr.case_exact is False
    assert attr.mutability is Mutability.READ_WRITE


def test_password() -> None:
    """RFC 7643 section 4.1.1: password is writeOnly and never returned."""
    attr = _attr(USER_SCHEMA, "password")
    assert attr.mutability is Mutability.WRITE_ONLY
    assert attr.returned is Returned.NEVER


def test_groups_read_only() -> None:
    """RFC 7643 section 4.1.2: "groups" is readOnly, as are its sub-attributes."""
    groups = _attr(USER_SCHEMA, "groups")
    assert groups.multi_valued is True
    assert groups.mutability is Mutability.READ_ONLY
    assert {sub.mutability for sub in groups.sub_attributes} == {Mutability.READ_ONLY}
    assert _attr(USER_SCHEMA, "groups.type").canonical_values == ("direct", "indirect")
    assert _attr(USER_SCHEMA, "groups.$ref").reference_types == ("User", "Group")


def test_user_types_and_canonical_values() -> None:
    """RFC 7643 section 8.7.1: data types, reference types and canonical values of User."""
    assert _attr(USER_SCHEMA, "active").type is AttributeType.BOOLEAN
    assert _attr(USER_SCHEMA, "profileUrl").type is AttributeType.REFERENCE
    assert _attr(USER_SCHEMA, "profileUrl").reference_types == ("external",)
    assert _attr(USER_SCHEMA, "photos.value").reference_types == ("external",)
    assert _attr(USER_SCHEMA, "x509Certificates.value").type is AttributeType.BINARY
    assert _attr(USER_SCHEMA, "x509Certificates.value").required is False
    assert _attr(USER_SCHEMA, "emails").multi_valued is True
    assert _attr(USER_SCHEMA, "emails.type").canonical_values == ("work", "home", "other")
    assert _attr(USER_SCHEMA, "phoneNumbers.type").canonical_values == (
        "work",
        "home",
        "mobile",
        "fax",
        "pager",
        "other",
    )
    assert _attr(USER_SCHEMA, "ims.type").canonical_values == (
        "aim",
        "gtalk",
        "icq",
        "xmpp",
        "msn",
        "skype",
        "qq",
        "yahoo",
    )
    assert _attr(USER_SCHEMA, "photos.type").canonical_values == ("photo", "thumbnail")
    assert _attr(USER_SCHEMA, "emails.primary").type is AttributeType.BOOLEAN
    # Section 2.4 and the section 8.2 example; absent from section 8.7.1 (see module docstring).
    assert _attr(USER_SCHEMA, "addresses.primary").type is AttributeType.BOOLEAN
    names = [sub.name for sub in _attr(USER_SCHEMA, "name").sub_attributes]
    assert names == [
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    ]


def test_user_attribute_order() -> None:
    """RFC 7643 section 8.7.1: the User attributes, in the order the RFC lists them."""
    assert [attr.name for attr in builtin_schema(USER_SCHEMA)] == [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]


def test_lookup_is_case_insensitive() -> None:
    """RFC 7643 section 2.1: attribute names are case-insensitive."""
    schema = builtin_schema(USER_SCHEMA)
    assert schema.attribute("USERNAME") is schema.attribute("userName")
    assert schema.attribute("Name").sub_attribute("GIVENNAME").name == "givenName"  # type: ignore[union-attr]


def test_group() -> None:
    """RFC 7643 sections 4.2 and 8.7.1 (erratum 5368): displayName required; members immutable."""
    assert _attr(GROUP_SCHEMA, "displayName").required is True
    members = _attr(GROUP_SCHEMA, "members")
    assert members.multi_valued is True
    assert members.mutability is Mutability.READ_WRITE
    assert [sub.name for sub in members.sub_attributes] == ["value", "$ref", "display", "type"]
    assert {sub.mutability for sub in members.sub_attributes} == {Mutability.IMMUTABLE}
    assert _attr(GROUP_SCHEMA, "members.$ref").reference_types == ("User", "Group")
    assert _attr(GROUP_SCHEMA, "members.type").canonical_values == ("User", "Group")


def test_enterprise_user() -> None:
    """RFC 7643 sections 4.3 and 8.7.1: the enterprise extension; manager.displayName readOnly."""
    schema = builtin_schema(ENTERPRISE_USER_SCHEMA)
    assert [attr.name for attr in schema] == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]
    assert _attr(ENTERPRISE_USER_SCHEMA, "manager").type is AttributeType.COMPLEX
    assert _attr(ENTERPRISE_USER_SCHEMA, "manager").multi_valued is False
    assert _attr(ENTERPRISE_USER_SCHEMA, "manager.displayName").mutability is Mutability.READ_ONLY
    assert _attr(ENTERPRISE_USER_SCHEMA, "manager.$ref").reference_types == ("User",)
    # The 8.7.1 text says "REQUIRED." in the description but "required": false.
    assert _attr(ENTERPRISE_USER_SCHEMA, "manager.value").required is False
