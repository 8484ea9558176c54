"""Redaction: passwords, secrets, tokens and certificates never reach the log."""

from __future__ import annotations

import json

from django_scim.log.redact import REDACTED, redact, redacted_json

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_keys_containing_sensitive_words_are_redacted_at_any_depth() -> None:
    body = {
        "userName": "bjensen",
        "password": "t1meMa$heen",
        "name": {"givenName": "Barbara"},
        "urn:example:params:scim:schemas:extension:acme:2.0:User": {
            "apiToken": "abc",
            "clientSecret": "def",
            "tokens": [{"value": "x"}],
        },
        "emails": [{"value": "b@example.com", "NewPassword": "p"}],
    }
    result = redact(body)
    assert result["userName"] == "bjensen" and result["name"] == {"givenName": "Barbara"}
    assert result["password"] == REDACTED
    ext = result["urn:example:params:scim:schemas:extension:acme:2.0:User"]
    assert ext == {"apiToken": REDACTED, "clientSecret": REDACTED, "tokens": REDACTED}
    assert result["emails"] == [{"value": "b@example.com", "NewPassword": REDACTED}]
    assert body["password"] == "t1meMa$heen"  # The input is not modified.


def test_certificate_values_are_redacted_and_their_labels_kept() -> None:
    """RFC 7643 section 4.1.2: x509Certificates values are DER certificates."""
    body = {"x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAw", "type": "work", "primary": True}]}
    assert redact(body) == {"x509Certificates": [{"value": REDACTED, "type": "work", "primary": True}]}


def test_patch_values_are_redacted_by_path() -> None:
    """RFC 7644 section 3.5.2: the secret is in "value", the attribute in "path"."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "password", "value": "s3cret"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": "x"},
            {"op": "add", "path": 'x509Certificates[type eq "work"].value', "value": "MIID"},
            {"op": "replace", "value": {"password": "y", "displayName": "Babs"}},
            {"op": "replace", "path": "displayName", "value": "Babs"},
            {"op": "replace", "value": {f"{ENTERPRISE}:employeeNumber": "7", "name.givenName": "B"}},
        ],
    }
    ops = redact(body)["Operations"]
    assert [op.get("value") for op in ops[:3]] == [REDACTED] * 3
    assert ops[3]["value"] == {"password": REDACTED, "displayName": "Babs"}
    assert ops[4]["value"] == "Babs"
    assert ops[5]["value"] == {f"{ENTERPRISE}:employeeNumber": "7", "name.givenName": "B"}


def test_bulk_operation_data_is_redacted() -> None:
    body = {"Operations": [{"method": "POST", "path": "/Users", "data": {"userName": "a", "password": "p"}}]}
    assert redact(body)["Operations"][0]["data"] == {"userName": "a", "password": REDACTED}


def test_words_are_configurable() -> None:
    assert redact({"pin": "1234", "password": "p"}, ["pin"]) == {"pin": REDACTED, "password": "p"}


def test_json_text_is_capped_after_redaction() -> None:
    body = {"password": "p" * 100, "nickName": "n" * 100}
    text = redacted_json(body, words=["password"], max_size=50)
    assert text.startswith(json.dumps({"password": REDACTED}, separators=(",", ":"))[:-1])
    assert "ppp" not in text
    assert text.endswith("[truncated: 139 characters]")
    assert len(text) < 100
    short = redacted_json({"a": 1}, words=[], max_size=50)
    assert json.loads(short) == {"a": 1}


def test_non_object_bodies_pass_through() -> None:
    assert redact([1, "password", None]) == [1, "password", None]
    assert redact("password") == "password"
