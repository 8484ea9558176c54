"""Attribute paths (RFC 7644 sections 3.4.2.2 and 3.10) and PATCH paths (RFC 7644 section 3.5.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_scim.core.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from django_scim.core.errors import InvalidFilter, InvalidPath
from django_scim.core.filter import And, Compare, Present
from django_scim.core.paths import AttrPath, PatchPath, parse_attr_path, parse_patch_path

CUSTOM_SCHEMA = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"
KNOWN = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_SCHEMA)


def rel(name: str) -> AttrPath:
    return AttrPath(None, name, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", AttrPath(None, "userName", None)),
        ("name.givenName", AttrPath(None, "name", "givenName")),
        ("members.$ref", AttrPath(None, "members", "$ref")),
        ("$ref", AttrPath(None, "$ref", None)),
        ("x509Certificates", AttrPath(None, "x509Certificates", None)),
        ("a-b_c9", AttrPath(None, "a-b_c9", None)),
        (f"{USER_SCHEMA}:name.givenName", AttrPath(USER_SCHEMA, "name", "givenName")),
        (
            f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
            AttrPath(ENTERPRISE_USER_SCHEMA, "employeeNumber", None),
        ),
        (f"{ENTERPRISE_USER_SCHEMA}:manager.value", AttrPath(ENTERPRISE_USER_SCHEMA, "manager", "value")),
        ("urn:example:params:1.0:Thing:attr", AttrPath("urn:example:params:1.0:Thing", "attr", None)),
    ],
)
def test_parse_attr_path_rfc7644_3_10(text: str, expected: AttrPath) -> None:
    """``attrPath = [URI ":"] ATTRNAME *1subAttr`` (RFC 7644 section 3.10); the URI is optional."""
    assert parse_attr_path(text) == expected
    assert str(expected) == text


def test_attr_path_keeps_case_as_written() -> None:
    """RFC 7643 section 2.1: names are case-insensitive, so they are kept as written for the caller."""
    assert parse_attr_path("NAME.GivenName") == AttrPath(None, "NAME", "GivenName")


def test_known_urn_splits_at_the_urn_case_insensitively() -> None:
    """A known URN is recognised in any case and the URN is kept as written."""
    text = "URN:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.displayName"
    assert parse_attr_path(text, known_urns=KNOWN) == AttrPath(text[:-20], "manager", "displayName")


def test_bare_known_urn_is_a_path_without_attribute() -> None:
    """RFC 7644 section 3.5.2.1: a PATCH path may name a whole extension by its URN."""
    assert parse_attr_path(CUSTOM_SCHEMA, known_urns=KNOWN) == AttrPath(CUSTOM_SCHEMA, None, None)
    assert str(AttrPath(CUSTOM_SCHEMA, None, None)) == CUSTOM_SCHEMA


def test_longest_known_urn_wins() -> None:
    """A known URN that prefixes another must not take the other's attributes."""
    short = "urn:example:Thing"
    long = "urn:example:Thing:v2"
    assert parse_attr_path(f"{long}:attr", known_urns=(short, long)) == AttrPath(long, "attr", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("1name", "not an attribute name"),
        ("-name", "not an attribute name"),
        ("name.", "sub-attribute name after '.' is missing"),
        ("name.given.more", "only one sub-attribute level"),
        ("name.1x", "not a sub-attribute name"),
        (".name", "attribute name is missing"),
        ("na me", "not an attribute name"),
        ("name[x]", "not an attribute name"),
        ("urn:x:y:", "attribute name is missing"),
        (":name", "not a schema URI"),
        ("1urn:x:name", "not a schema URI"),
        ("urn:x y:name", "not a schema URI"),
        ("ref$", "not an attribute name"),
        ("émail", "not an attribute name"),
    ],
)
def test_parse_attr_path_errors_are_invalid_path(text: str, message: str) -> None:
    """RFC 7644 section 3.12: a malformed path is ``invalidPath``, with a detail saying why."""
    with pytest.raises(InvalidPath, match=message):
        parse_attr_path(text)


def test_parse_attr_path_raises_the_error_class_asked_for() -> None:
    """The filter parser asks for ``invalidFilter`` (RFC 7644 section 3.4.2.2)."""
    with pytest.raises(InvalidFilter):
        parse_attr_path("1x", error=InvalidFilter)


def test_error_detail_is_cut_short() -> None:
    """A huge bad path is not echoed back whole."""
    with pytest.raises(InvalidPath) as info:
        parse_attr_path("1" * 10_000)
    assert len(info.value.detail) < 300


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
            PatchPath(rel("members"), Compare(rel("value"), "eq", "2819c223-7f76-453a-919d-413861904646")),
        ),
        (
            'emails[type eq "work"].value',
            PatchPath(rel("emails"), Compare(rel("type"), "eq", "work"), "value"),
        ),
        (
            'addresses[type eq "work"].streetAddress',
            PatchPath(rel("addresses"), Compare(rel("type"), "eq", "work"), "streetAddress"),
        ),
        (
            f"{ENTERPRISE_USER_SCHEMA}:manager.value",
            PatchPath(AttrPath(ENTERPRISE_USER_SCHEMA, "manager", "value")),
        ),
        (
            f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
            PatchPath(AttrPath(ENTERPRISE_USER_SCHEMA, "employeeNumber", None)),
        ),
        (CUSTOM_SCHEMA, PatchPath(AttrPath(CUSTOM_SCHEMA, None, None))),
        ("name.givenName", PatchPath(AttrPath(None, "name", "givenName"))),
        ("userName", PatchPath(rel("userName"))),
        (
            'emails[type eq "work" and value ew "]"]',
            PatchPath(
                rel("emails"), And(Compare(rel("type"), "eq", "work"), Compare(rel("value"), "ew", "]"))
            ),
        ),
        ("members[$ref pr].display", PatchPath(rel("members"), Present(rel("$ref")), "display")),
        (
            f'{USER_SCHEMA}:emails[type eq "work"].value',
            PatchPath(AttrPath(USER_SCHEMA, "emails", None), Compare(rel("type"), "eq", "work"), "value"),
        ),
    ],
)
def test_parse_patch_path_rfc7644_3_5_2(text: str, expected: PatchPath) -> None:
    """``PATH = attrPath / valuePath [subAttr]`` (RFC 7644 section 3.5.2), with the RFC's examples."""
    parsed = parse_patch_path(text, known_urns=KNOWN)
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('emails[type eq "work"', "not closed"),
        ('emails]type eq "work"[', "not closed"),
        ('emails[type eq "work"]value', "only '.subAttribute' may follow"),
        ('emails[type eq "work"].', "only '.subAttribute' may follow"),
        ('emails[type eq "work"].a.b', "only '.subAttribute' may follow"),
        ('emails[type eq "work"] ', "only '.subAttribute' may follow"),
        ('name.givenName[type eq "work"]', "applies to a multi-valued attribute"),
        (f'{CUSTOM_SCHEMA}[type eq "work"]', "applies to a multi-valued attribute"),
        ('[type eq "work"]', "empty"),
        ("emails[]", "Invalid value filter"),
        ('emails[type eq work"]', "Invalid value filter"),
        ('emails[type eq "work"]]', "Invalid value filter"),
        ('emails[emails.type eq "work"]', "name a sub-attribute"),
        ("emails[value[type pr]]", "Invalid value filter"),
        ("emails[type gt true]", "Invalid value filter"),
        ("name..givenName", "missing"),
    ],
)
def test_parse_patch_path_errors_are_invalid_path(text: str, message: str) -> None:
    """RFC 7644 section 3.5.2: malformed paths, value filters included, are ``invalidPath``."""
    with pytest.raises(InvalidPath, match=message):
        parse_patch_path(text, known_urns=KNOWN)


def test_parse_patch_path_limits() -> None:
    """Length and nesting limits apply to PATCH paths too."""
    with pytest.raises(InvalidPath, match="longer than 10"):
        parse_patch_path("a" * 11, max_length=10)
    deep = "emails[" + "(" * 60 + "value pr" + ")" * 60 + "]"
    with pytest.raises(InvalidPath, match="nested more than 50"):
        parse_patch_path(deep)
    assert parse_patch_path(deep, max_depth=100).value_filter == Present(rel("value"))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from('emailsvaluetype[]."$: 0-9urn') | st.characters(), max_size=60))
def test_parse_patch_path_fuzz_raises_only_invalid_path(text: str) -> None:
    """Any text is a PatchPath or ``invalidPath`` (RFC 7644 section 3.12), never another exception."""
    try:
        parsed = parse_patch_path(text, known_urns=KNOWN)
    except InvalidPath:
        return
    assert parse_patch_path(str(parsed), known_urns=KNOWN) == parsed
