"""The PATCH engine (RFC 7644 section 3.5.2) on documents, without a database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from django_scim.core.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from django_scim.core.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from django_scim.core.patch import PatchOptions, apply_patch, read_patch_request
from django_scim.core.schema import ResourceType, SchemaExtension, builtin_schema

ENTERPRISE = ENTERPRISE_USER_SCHEMA
CUSTOM = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"

USER_TYPE = ResourceType(
    "User",
    "/Users",
    builtin_schema(USER_SCHEMA),
    (SchemaExtension(builtin_schema(ENTERPRISE_USER_SCHEMA)),),
)
GROUP_TYPE = ResourceType("Group", "/Groups", builtin_schema(GROUP_SCHEMA))


def _user(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "meta": {"resourceType": "User", "version": 'W/"1"'},
    }
    doc.update(extra)
    return doc


def patch(
    doc: dict[str, Any], *ops: dict[str, Any], rt: ResourceType = USER_TYPE, **options: Any
) -> dict[str, Any]:
    before = copy.deepcopy(doc)
    result = apply_patch(doc, list(ops), rt, options=PatchOptions(**options))
    assert doc == before, "the input document must stay untouched"
    return result


def fails(error: type[ScimError], doc: dict[str, Any], *ops: dict[str, Any], **options: Any) -> ScimError:
    with pytest.raises(error) as info:
        patch(doc, *ops, **options)
    assert info.value.scim_type == error.scim_type
    return info.value


# --- the message (RFC 7644 section 3.5.2) -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Operations": [{"op": "add", "path": "nickName", "value": "x"}]},
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "add"}]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
    ],
)
def test_message_structure_is_invalid_syntax(body: Any) -> None:
    """RFC 7644 section 3.5.2: schemas lists PatchOp; Operations is a non-empty array."""
    with pytest.raises(InvalidSyntax):
        read_patch_request(body)


def test_message_member_names_are_case_insensitive() -> None:
    """RFC 7643 section 2.1: attribute names, message members included, are case-insensitive."""
    ops = [{"op": "add", "path": "nickName", "value": "x"}]
    assert read_patch_request({"Schemas": [PATCH_OP.upper()], "operations": ops}) == ops


@pytest.mark.parametrize("op", [{"op": "move", "path": "nickName"}, {"path": "nickName"}, "add", {"op": 1}])
def test_unknown_op_is_invalid_syntax(op: Any) -> None:
    fails(InvalidSyntax, _user(), op)


# --- add (RFC 7644 section 3.5.2.1) -------------------------------------------------------


@pytest.mark.parametrize("op", ["add", "Add", "ADD"])
def test_op_names_in_any_case(op: str) -> None:
    """Entra ID sends "Add", "Replace", "Remove" (shared/README Entra item 1)."""
    assert patch(_user(), {"op": op, "path": "nickName", "value": "Babs"})["nickName"] == "Babs"


def test_add_null_changes_nothing_and_replace_null_clears() -> None:
    """RFC 7643 section 2.5: null is unassigned."""
    assert patch(_user(nickName="B"), {"op": "add", "path": "nickName", "value": None})["nickName"] == "B"
    assert "nickName" not in patch(_user(nickName="B"), {"op": "replace", "path": "nickName", "value": None})


def test_add_single_valued_replaces() -> None:
    """RFC 7644 section 3.5.2.1: "If the target location specifies a single-valued attribute, the
    existing value is replaced." (Entra item 6: add or replace, "so you should support both")."""
    result = patch(_user(nickName="Old"), {"op": "add", "path": "nickName", "value": "Babs"})
    assert result["nickName"] == "Babs"


def test_add_complex_merges_sub_attributes() -> None:
    """RFC 7644 section 3.5.2.1: a complex value's sub-attributes are added to the existing ones."""
    result = patch(_user(), {"op": "add", "path": "name", "value": {"middleName": "Jane"}})
    assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}


def test_add_sub_attribute() -> None:
    result = patch(_user(), {"op": "add", "path": "name.givenName", "value": "Babs"})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_add_multi_valued_appends_without_duplicates() -> None:
    """RFC 7644 section 3.5.2.1: add appends values; an equal value is not added twice."""
    result = patch(
        _user(),
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "BJENSEN@example.com", "type": "work"},
                {"value": "new@example.com", "type": "other"},
            ],
        },
    )
    assert [e["value"] for e in result["emails"]] == [
        "bjensen@example.com",
        "babs@jensen.org",
        "new@example.com",
    ]


def test_add_primary_clears_the_other_primary() -> None:
    """RFC 7643 section 2.4: primary true appears at most once; the new primary wins."""
    result = patch(
        _user(),
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "n@example.com", "type": "other", "primary": True}],
        },
    )
    assert [e.get("primary") for e in result["emails"]] == [False, None, True]


def test_add_existing_value_as_primary_moves_primary() -> None:
    result = patch(
        _user(), {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "primary": True}]}
    )
    assert len(result["emails"]) == 2
    assert [e.get("primary") for e in result["emails"]] == [False, True]


def test_add_with_filter_and_sub_attribute_updates_the_match() -> None:
    result = patch(_user(), {"op": "add", "path": 'emails[type eq "home"].display', "value": "Home"})
    assert result["emails"][1] == {"value": "babs@jensen.org", "type": "home", "display": "Home"}


def test_add_with_filter_that_matches_nothing_creates_the_element() -> None:
    """Entra SCIM validator: add emails[type eq "work"].value on a user without a work e-mail
    creates it (shared/README Entra item 13; SCIM-SDK#416)."""
    doc = _user(emails=[{"value": "babs@jensen.org", "type": "home"}])
    result = patch(
        doc,
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "w@example.com"},
        {"op": "add", "path": 'emails[type eq "work"].primary', "value": True},
    )
    assert result["emails"][1] == {"type": "work", "value": "w@example.com", "primary": True}


def test_add_with_unmatched_filter_without_tolerance_is_no_target() -> None:
    doc = _user(emails=[{"value": "babs@jensen.org", "type": "home"}])
    fails(
        NoTarget,
        doc,
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "w@example.com"},
        add_creates_filtered_value=False,
    )


def test_add_with_an_unmatched_non_equality_filter_is_no_target() -> None:
    """An element can be created only from eq terms; ``co`` says nothing of the value."""
    fails(NoTarget, _user(), {"op": "add", "path": 'emails[value co "zzz"].type', "value": "x"})


def test_add_without_path_applies_each_key() -> None:
    """RFC 7644 section 3.5.2.1: without path, the value holds the attributes to add."""
    result = patch(
        _user(),
        {"op": "add", "value": {"nickName": "Babs", "emails": [{"value": "x@example.com", "type": "other"}]}},
    )
    assert result["nickName"] == "Babs"
    assert len(result["emails"]) == 3


def test_add_extension_attribute_by_urn_path() -> None:
    result = patch(_user(), {"op": "add", "path": f"{ENTERPRISE}:manager.value", "value": "26118915"})
    assert result[ENTERPRISE] == {"manager": {"value": "26118915"}}
    assert result["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_add_whole_extension_merges_keys() -> None:
    """Issue 4: path = the extension URN with an object value merges its keys."""
    doc = _user(**{CUSTOM: {"tag": "a", "level": 1}})
    doc["schemas"] = [USER_SCHEMA, CUSTOM]
    result = patch(doc, {"op": "add", "path": CUSTOM, "value": {"level": 2, "team": "blue"}})
    assert result[CUSTOM] == {"tag": "a", "level": 2, "team": "blue"}


def test_add_whole_new_undeclared_extension() -> None:
    result = patch(_user(), {"op": "add", "path": CUSTOM, "value": {"tag": "x"}})
    assert result[CUSTOM] == {"tag": "x"}
    assert CUSTOM in result["schemas"]


def test_add_whole_declared_extension() -> None:
    result = patch(
        _user(), {"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "7", "costCenter": "4"}}
    )
    assert result[ENTERPRISE] == {"employeeNumber": "7", "costCenter": "4"}


def test_add_immutable_when_unset_is_allowed() -> None:
    """RFC 7644 section 3.5.2: "a client MAY "add" a value to an "immutable" attribute if the
    attribute had no previous value"."""
    result = patch(
        {"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G"},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        rt=GROUP_TYPE,
    )
    assert result["members"] == [{"value": "u1"}]


def test_single_valued_complex_as_a_one_element_list() -> None:
    """Entra ID sends the enterprise manager as a one-element list (issue 4 point 6)."""
    op = {"op": "add", "path": f"{ENTERPRISE}:manager", "value": [{"value": "m1"}]}
    assert patch(_user(), op)[ENTERPRISE]["manager"] == {"value": "m1"}
    fails(InvalidValue, _user(), op, single_value_lists=False)


# --- replace (RFC 7644 section 3.5.2.3) ---------------------------------------------------


def test_replace_multi_valued_without_filter_replaces_all() -> None:
    result = patch(_user(), {"op": "replace", "path": "emails", "value": [{"value": "only@example.com"}]})
    assert result["emails"] == [{"value": "only@example.com"}]


def test_replace_with_filter_replaces_matching_values() -> None:
    """RFC 7644 section 3.5.2.3: "all matching record values SHALL be replaced"."""
    result = patch(
        _user(),
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "h@example.com", "type": "home"},
        },
    )
    assert result["emails"][1] == {"value": "h@example.com", "type": "home"}
    assert result["emails"][0]["value"] == "bjensen@example.com"


def test_replace_with_filter_and_sub_attribute() -> None:
    """Entra ID without the flag: Replace emails[type eq "work"].value (shared/README Entra item 5)."""
    result = patch(
        _user(), {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "w@example.com"}
    )
    assert result["emails"][0] == {"value": "w@example.com", "type": "work", "primary": True}


def test_replace_with_unmatched_filter_is_no_target() -> None:
    """RFC 7644 section 3.5.2.3: a valuePath filter with no record match -> 400 noTarget."""
    error = fails(
        NoTarget, _user(), {"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y.z"}
    )
    assert "emails" in error.detail


def test_replace_with_unmatched_filter_can_create() -> None:
    result = patch(
        _user(),
        {"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y.z"},
        replace_creates_filtered_value=True,
    )
    assert result["emails"][-1] == {"type": "other", "value": "x@y.z"}


def test_replace_complex_leaves_other_sub_attributes() -> None:
    """RFC 7644 section 3.5.2.3: "Sub-attributes that are not specified ... are left unchanged"."""
    result = patch(_user(), {"op": "replace", "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_missing_attribute_is_an_add() -> None:
    """RFC 7644 section 3.5.2.3: a target that does not exist is treated as "add"."""
    assert patch(_user(), {"op": "replace", "path": "title", "value": "Tour Guide"})["title"] == "Tour Guide"


def test_replace_without_path_dotted_and_urn_keys() -> None:
    """Entra ID with aadOptscim062020 (shared/README Entra item 5)."""
    result = patch(
        _user(),
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )
    assert result["displayName"] == "Bjfe"
    assert result["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert result[ENTERPRISE] == {"employeeNumber": "Aklq"}


def test_dotted_value_keys_can_be_refused() -> None:
    fails(
        InvalidPath, _user(), {"op": "replace", "value": {"name.givenName": "K"}}, paths_as_value_keys=False
    )


def test_unknown_keys_in_a_value_object_are_dropped() -> None:
    """As for PUT (core.document): an attribute the schema lacks is dropped, not an error."""
    result = patch(_user(), {"op": "replace", "value": {"nickName": "B", "favouriteColour": "red"}})
    assert result["nickName"] == "B"
    assert "favouriteColour" not in result


def test_string_boolean_is_stored_as_boolean() -> None:
    """Entra ID without the flag sends "False" (shared/README Entra item 4)."""
    assert patch(_user(active=True), {"op": "Replace", "path": "active", "value": "False"})["active"] is False
    fails(InvalidValue, _user(), {"op": "replace", "path": "active", "value": "False"}, string_booleans=False)


def test_okta_id_in_value_is_ignored_when_it_is_the_resource_id() -> None:
    """Okta's group rename repeats the id (shared/README Okta item 6)."""
    doc = {"schemas": [GROUP_SCHEMA], "id": "abf4dd94", "displayName": "Old"}
    result = patch(doc, {"op": "replace", "value": {"id": "abf4dd94", "displayName": "New"}}, rt=GROUP_TYPE)
    assert result["displayName"] == "New"
    assert result["id"] == "abf4dd94"
    with pytest.raises(Mutability):
        patch(doc, {"op": "replace", "value": {"id": "other", "displayName": "New"}}, rt=GROUP_TYPE)
    with pytest.raises(Mutability):
        patch(
            doc,
            {"op": "replace", "value": {"id": "abf4dd94", "displayName": "New"}},
            rt=GROUP_TYPE,
            ignore_matching_id=False,
        )


# --- remove (RFC 7644 section 3.5.2.2) ----------------------------------------------------


def test_remove_without_path_is_no_target() -> None:
    """RFC 7644 section 3.5.2.2: "If "path" is unspecified ... "noTarget"."""
    fails(NoTarget, _user(), {"op": "remove"})


def test_remove_single_valued() -> None:
    assert "nickName" not in patch(_user(nickName="B"), {"op": "remove", "path": "nickName"})


def test_remove_sub_attribute() -> None:
    assert patch(_user(), {"op": "remove", "path": "name.familyName"})["name"] == {"givenName": "Barbara"}


def test_remove_multi_valued_all() -> None:
    assert "emails" not in patch(_user(), {"op": "remove", "path": "emails"})


def test_remove_with_filter_removes_matching_values() -> None:
    result = patch(_user(), {"op": "remove", "path": 'emails[type eq "work"]'})
    assert result["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_remove_sub_attribute_of_matching_values() -> None:
    result = patch(_user(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert result["emails"][0] == {"value": "bjensen@example.com", "type": "work"}


def test_remove_with_unmatched_filter() -> None:
    """No-op by default (retried removals); noTarget with PATCH_STRICT_REMOVE (Table 9)."""
    op = {"op": "remove", "path": 'emails[type eq "other"]'}
    assert patch(_user(), op)["emails"] == _user()["emails"]
    fails(NoTarget, _user(), op, strict_remove=True)


def test_remove_with_value_list() -> None:
    """Entra ID without the flag removes members with a value list (shared/README Entra item 7)."""
    doc = {
        "schemas": [GROUP_SCHEMA],
        "id": "g",
        "displayName": "G",
        "members": [{"value": "u1"}, {"value": "u2"}],
    }
    op = {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}
    assert patch(doc, op, rt=GROUP_TYPE)["members"] == [{"value": "u2"}]
    with pytest.raises(InvalidSyntax):
        patch(doc, op, rt=GROUP_TYPE, remove_with_value=False)


def test_remove_required_attribute_is_mutability() -> None:
    """Issue 4 / RFC 7643 section 2.2: a required attribute cannot be removed."""
    fails(Mutability, _user(), {"op": "remove", "path": "userName"})


def test_remove_whole_extension() -> None:
    doc = _user(**{ENTERPRISE: {"employeeNumber": "1"}})
    doc["schemas"] = [USER_SCHEMA, ENTERPRISE]
    result = patch(doc, {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in result
    assert result["schemas"] == [USER_SCHEMA]


# --- errors (RFC 7644 section 3.12) ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "nosuchattribute",
        "name.nosuch",
        'emails[type eq "work"',
        "emails[nosuch eq 1]",
        "userName[value eq 1]",
        f"{ENTERPRISE}:nosuch",
        "1abc",
        'emails[type eq "work"]x',
    ],
)
def test_bad_paths_are_invalid_path(path: str) -> None:
    fails(InvalidPath, _user(), {"op": "replace", "path": path, "value": "x"})


@pytest.mark.parametrize("path", ["id", "meta.version", "groups", "meta"])
def test_read_only_targets_are_mutability(path: str) -> None:
    """RFC 7644 section 3.5.2: "a client MUST NOT modify an attribute that has mutability readOnly"."""
    fails(Mutability, _user(), {"op": "replace", "path": path, "value": "x"})


def test_immutable_value_cannot_change_or_be_removed() -> None:
    """RFC 7644 section 3.5.2: immutable values may be added when unset, never changed."""
    doc = {"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "members": [{"value": "u1"}]}
    with pytest.raises(Mutability):
        apply_patch(
            doc, [{"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"}], GROUP_TYPE
        )
    with pytest.raises(Mutability):
        apply_patch(doc, [{"op": "remove", "path": "members.value"}], GROUP_TYPE)


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": "active", "value": "yes"},
        {"op": "replace", "path": "userName", "value": 5},
        {
            "op": "replace",
            "path": "emails",
            "value": [{"value": "a@b.c", "primary": True}, {"value": "d@e.f", "primary": True}],
        },
        {"op": "replace", "path": "userName", "value": None},
        {"op": "add", "path": "nickName"},
        {"op": "replace", "value": "not an object"},
    ],
)
def test_wrong_values_are_invalid_value(op: dict[str, Any]) -> None:
    """Every schema rule applies to the result (core.document.normalize; RFC 7643 section 2.3)."""
    fails(InvalidValue, _user(), op)


def test_all_or_nothing() -> None:
    """RFC 7644 section 3.5.2: "If any operation fails, the entire PATCH request is rejected"."""
    doc = _user()
    with pytest.raises(InvalidPath):
        apply_patch(
            doc,
            [
                {"op": "replace", "path": "nickName", "value": "B"},
                {"op": "replace", "path": "title", "value": "T"},
                {"op": "replace", "path": "nosuch", "value": "x"},
            ],
            USER_TYPE,
        )
    assert doc == _user()


# --- RFC 7644 section 3.5.2 examples --------------------------------------------------------


def test_rfc_3_5_2_1_add_member_example() -> None:
    doc = {"schemas": [GROUP_SCHEMA], "id": "acbf3ae7", "displayName": "Tour Guides"}
    result = patch(
        doc,
        {
            "op": "add",
            "path": "members",
            "value": [
                {
                    "display": "Babs Jensen",
                    "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                    "value": "2819c223-7f76-453a-919d-413861904646",
                }
            ],
        },
        rt=GROUP_TYPE,
    )
    assert result["members"][0]["value"] == "2819c223-7f76-453a-919d-413861904646"


def test_rfc_3_5_2_1_add_without_path_example() -> None:
    result = patch(
        _user(),
        {
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"},
        },
    )
    assert result["nickName"] == "Babs"
    assert len(result["emails"]) == 2


def test_rfc_3_5_2_2_remove_examples() -> None:
    members = [{"value": "2819c223-7f76-453a-919d-413861904646"}, {"value": "9067729b3d-ee533c"}]
    doc = {"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "members": members}
    one = patch(
        doc,
        {"op": "remove", "path": 'members[value eq "2819c223-7f76-453a-919d-413861904646"]'},
        rt=GROUP_TYPE,
    )
    assert one["members"] == [{"value": "9067729b3d-ee533c"}]
    assert "members" not in patch(doc, {"op": "remove", "path": "members"}, rt=GROUP_TYPE)
    both = patch(
        doc,
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "x"}]},
        rt=GROUP_TYPE,
    )
    assert both["members"] == [{"value": "x"}]


def test_rfc_3_5_2_3_replace_examples() -> None:
    doc = _user(
        addresses=[
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "primary": True,
            },
            {"type": "home", "streetAddress": "456 Hollywood Blvd"},
        ]
    )
    work = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    result = patch(doc, {"op": "replace", "path": 'addresses[type eq "work"]', "value": work})
    assert result["addresses"][0] == work
    street = patch(
        doc,
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Broadway Ave"},
    )
    assert street["addresses"][0]["streetAddress"] == "1010 Broadway Ave"
    assert street["addresses"][0]["locality"] == "Hollywood"
    whole = patch(
        doc,
        {
            "op": "replace",
            "value": {
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
                "nickname": "Babs",
            },
        },
    )
    assert whole["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert whole["nickName"] == "Babs"


def test_entra_custom_extension_attribute_path() -> None:
    """Entra ID custom extension naming (shared/README Entra item 11): ``urn:...:2.0:User:tag``."""
    urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    result = patch(_user(), {"op": "Add", "path": f"{urn}:tag", "value": "blue"})
    assert result[urn] == {"tag": "blue"}
    assert urn in result["schemas"]
    again = patch(
        result,
        {"op": "Replace", "path": f"{urn}:tag", "value": "red"},
        {"op": "add", "path": f"{urn}:x", "value": 1},
    )
    assert again[urn] == {"tag": "red", "x": 1}
    assert urn not in patch(again, {"op": "remove", "path": urn})
    with pytest.raises(InvalidPath):
        patch(
            _user(), {"op": "add", "path": f"{urn}:tag", "value": "blue"}, allow_undeclared_extensions=False
        )
