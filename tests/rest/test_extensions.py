"""Declared schema extensions (RFC 7643 sections 3.3, 6 and 7): published, validated, queried, patched.

A site declares an extension in Python (``Schema`` / ``Attribute``) or JSON and attaches it to a
resource type in ``SCIM["RESOURCE_TYPES"][name]["EXTENSIONS"]``; everything else follows from the
schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_scim.adapters.registry import get_adapter
from django_scim.core.constants import AttributeType, Mutability, Returned, Uniqueness
from django_scim.core.schema import Attribute, Schema
from django_scim.models import ScimUser
from tests.conftest import ScimClient, db_state

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BADGE = "urn:example:params:scim:schemas:extension:badge:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: An extension declared in Python.
BADGE_SCHEMA = Schema(
    id=BADGE,
    name="Badge",
    description="Building access badge",
    attributes=(
        Attribute("badgeNumber", required=True, case_exact=True, uniqueness=Uniqueness.SERVER),
        Attribute("level", type=AttributeType.INTEGER),
        Attribute("color", canonical_values=("red", "blue", "green")),
        Attribute("issued", type=AttributeType.DATETIME),
        Attribute("doors", multi_valued=True),
        Attribute("pin", mutability=Mutability.WRITE_ONLY, returned=Returned.NEVER),
        Attribute("issuer", mutability=Mutability.READ_ONLY),
    ),
)

BADGE_SETTINGS = {
    "RESOURCE_TYPES": {
        "User": {"EXTENSIONS": [(ENTERPRISE, False), ("tests.rest.test_extensions.BADGE_SCHEMA", False)]}
    }
}


def user(name: str, badge: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER], "userName": name, **fields}
    if badge is not None:
        body["schemas"].append(BADGE)
        body[BADGE] = badge
    return body


def create(scim: ScimClient, name: str, badge: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    response = scim.scim("POST", "/Users", user(name, badge, **fields))
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_published_in_schemas_and_resource_type(scim: ScimClient) -> None:
    """RFC 7643 section 6: schemaExtensions; RFC 7644 section 4: /Schemas serves the definition."""
    resource_type = scim.get_scim("/ResourceTypes/User").json()
    assert resource_type["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": BADGE, "required": False},
    ]
    published = scim.get_scim(f"/Schemas/{BADGE}").json()
    assert published["name"] == "Badge"
    by_name = {a["name"]: a for a in published["attributes"]}
    assert by_name["badgeNumber"]["required"] is True and by_name["badgeNumber"]["uniqueness"] == "server"
    assert by_name["color"]["canonicalValues"] == ["red", "blue", "green"]
    assert by_name["level"]["type"] == "integer"
    assert by_name["pin"]["returned"] == "never"
    assert BADGE in {s["id"] for s in scim.get_scim("/Schemas").json()["Resources"]}


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_validated_like_core_attributes(scim: ScimClient) -> None:
    """Types, required, readOnly and writeOnly of the extension's attributes (RFC 7643 section 7)."""
    before = db_state()
    wrong_type = scim.scim("POST", "/Users", user("a", {"badgeNumber": "B1", "level": "high"}))
    assert wrong_type.status_code == 400 and wrong_type.json()["scimType"] == "invalidValue"
    assert "level" in wrong_type.json()["detail"]
    missing = scim.scim("POST", "/Users", user("a", {"level": 2}))
    assert missing.status_code == 400 and "badgeNumber" in missing.json()["detail"]
    not_listed = scim.scim(
        "POST", "/Users", {"schemas": [USER], "userName": "a", BADGE: {"badgeNumber": "1"}}
    )
    assert not_listed.status_code == 400
    assert db_state() == before

    created = create(
        scim,
        "alice",
        {"badgeNumber": "B1", "level": 2, "doors": ["main"], "pin": "1234", "issuer": "ignored", "x": 1},
    )
    assert created[BADGE] == {"badgeNumber": "B1", "level": 2, "doors": ["main"]}
    assert BADGE in created["schemas"]
    stored = ScimUser.objects.get().attributes[BADGE]
    assert stored["pin"] == "1234" and "issuer" not in stored and "x" not in stored


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"User": {"EXTENSIONS": [("tests.rest.test_extensions.BADGE_SCHEMA", True)]}}}
)
def test_required_extension(scim: ScimClient) -> None:
    """RFC 7643 section 6: a required schema extension must be present on every resource."""
    response = scim.scim("POST", "/Users", user("a"))
    assert response.status_code == 400 and BADGE in response.json()["detail"]
    create(scim, "b", {"badgeNumber": "B2"})


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_filter_in_sql(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2.2: extension attributes filter in SQL, qualified or not."""
    create(scim, "alice", {"badgeNumber": "B1", "level": 3, "color": "red", "doors": ["main", "lab"]})
    create(scim, "bob", {"badgeNumber": "b2", "level": 10, "color": "Blue"})
    create(scim, "carol")

    def names(filter_text: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = scim.get_scim(f"/Users?filter={filter_text}&sortBy=userName")
        assert response.status_code == 200, response.content
        # The condition is in the SQL (JSON functions on the companion's column), not in Python.
        queries = [q["sql"] for q in captured.captured_queries]
        conditions = [sql.split("WHERE", 1)[-1] for sql in queries if "WHERE" in sql]
        assert any("attributes" in condition for condition in conditions)
        return [r["userName"] for r in response.json()["Resources"]]

    assert names(f'{BADGE}:badgeNumber eq "B1"') == ["alice"]
    # caseExact: "b1" does not match "B1".
    assert names(f'{BADGE}:badgeNumber eq "b1"') == []
    assert names(f"{BADGE}:level gt 5") == ["bob"]
    assert names('color eq "blue"') == ["bob"]  # unqualified, caseExact false
    assert names(f'{BADGE}:doors eq "lab"') == ["alice"]
    assert names(f"{BADGE}:badgeNumber pr") == ["alice", "bob"]
    assert names(f"not ({BADGE}:badgeNumber pr)") == ["carol"]
    bad = scim.get_scim(f'/Users?filter={BADGE}:nothing eq "x"')
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter"


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_sort(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2.3: sortBy an extension attribute; missing values sort last."""
    create(scim, "alice", {"badgeNumber": "B1", "level": 10})
    create(scim, "bob", {"badgeNumber": "B2", "level": 9})
    create(scim, "carol")

    def names(query: str) -> list[str]:
        response = scim.get_scim(f"/Users?{query}")
        assert response.status_code == 200, response.content
        return [r["userName"] for r in response.json()["Resources"]]

    # Integers keep their JSON type: 9 before 10.
    assert names(f"sortBy={BADGE}:level") == ["bob", "alice", "carol"]
    assert names(f"sortBy={BADGE}:badgeNumber&sortOrder=descending") == ["carol", "bob", "alice"]


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_patch(scim: ScimClient) -> None:
    """RFC 7644 section 3.5.2: URN-qualified paths and extension objects; the schema still rules."""
    created = create(scim, "alice", {"badgeNumber": "B1"})
    path = f"/Users/{created['id']}"
    ops = [
        {"op": "add", "path": f"{BADGE}:level", "value": 4},
        {"op": "add", "path": f"{BADGE}:doors", "value": ["lab"]},
        {"op": "replace", "value": {f"{BADGE}:color": "green"}},
    ]
    response = scim.scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": ops})
    assert response.status_code == 200, response.content
    assert response.json()[BADGE] == {"badgeNumber": "B1", "level": 4, "doors": ["lab"], "color": "green"}
    wrong = scim.scim(
        "PATCH",
        path,
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": f"{BADGE}:level", "value": "x"}]},
    )
    assert wrong.status_code == 400 and wrong.json()["scimType"] == "invalidValue"
    removed = scim.scim(
        "PATCH",
        path,
        {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f"{BADGE}:badgeNumber"}]},
    )
    # badgeNumber is required in the extension (RFC 7643 section 7).
    assert removed.status_code == 400


@pytest.mark.scim_settings(BADGE_SETTINGS)
def test_undeclared_extension_stored_beside_a_declared_one(scim: ScimClient) -> None:
    """ALLOW_UNDECLARED_EXTENSIONS (default True): the free-form custom URN is kept as JSON."""
    body = user("alice", {"badgeNumber": "B1"})
    body["schemas"].append(CUSTOM)
    body[CUSTOM] = {"anything": {"nested": [1, 2]}}
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 201, response.content
    fetched = scim.get_scim(f"/Users/{response.json()['id']}").json()
    assert fetched[CUSTOM] == {"anything": {"nested": [1, 2]}}
    assert fetched[BADGE] == {"badgeNumber": "B1"}
    assert set(fetched["schemas"]) == {USER, BADGE, CUSTOM}


@pytest.mark.scim_settings({**BADGE_SETTINGS, "ALLOW_UNDECLARED_EXTENSIONS": False})
def test_undeclared_extension_refused_when_not_allowed(scim: ScimClient) -> None:
    """ALLOW_UNDECLARED_EXTENSIONS False: 400 invalidValue; the declared one is still accepted."""
    body = user("alice", {"badgeNumber": "B1"})
    body["schemas"].append(CUSTOM)
    body[CUSTOM] = {"anything": 1}
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert CUSTOM in response.json()["detail"]
    create(scim, "alice", {"badgeNumber": "B1"})


BADGE_JSON = {
    "id": "urn:example:params:scim:schemas:extension:json:2.0:Group",
    "name": "GroupInfo",
    "description": "Declared in JSON",
    "attributes": [
        {"name": "costCenter", "type": "string", "required": False, "caseExact": False},
        {"name": "budget", "type": "decimal"},
    ],
}


def test_declared_in_json_file_and_named_by_urn(scim: ScimClient, settings: Any, tmp_path: Path) -> None:
    """A JSON schema file in SCIM["SCHEMAS"], attached to Group by its URN."""
    schema_file = tmp_path / "group_info.json"
    schema_file.write_text(json.dumps(BADGE_JSON))
    urn = BADGE_JSON["id"]
    settings.SCIM = {
        "SCHEMAS": [str(schema_file)],
        "RESOURCE_TYPES": {"Group": {"EXTENSIONS": [(urn, False)]}},
    }
    assert scim.get_scim("/ResourceTypes/Group").json()["schemaExtensions"] == [
        {"schema": urn, "required": False}
    ]
    assert scim.get_scim(f"/Schemas/{urn}").json()["attributes"][1]["type"] == "decimal"
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", urn],
        "displayName": "G",
        urn: {"budget": 1.5},
    }
    response = scim.scim("POST", "/Groups", body)
    assert response.status_code == 201, response.content
    found = scim.get_scim(f"/Groups?filter={urn}:budget ge 1").json()
    assert found["totalResults"] == 1
    bad = scim.scim("POST", "/Groups", {**body, "displayName": "H", urn: {"budget": "much"}})
    assert bad.status_code == 400


def test_json_file_path_directly_in_extensions(settings: Any, tmp_path: Path) -> None:
    schema_file = tmp_path / "direct.json"
    schema_file.write_text(json.dumps(BADGE_JSON))
    settings.SCIM = {"RESOURCE_TYPES": {"Group": {"EXTENSIONS": [(str(schema_file), True)]}}}
    extension = get_adapter("Group").resource_type.extensions[0]
    assert (extension.schema.id, extension.required) == (BADGE_JSON["id"], True)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("urn:example:not:declared", "neither declared"),
        ("tests.rest.test_extensions.NOWHERE", "NOWHERE"),
        ("tests.rest.test_extensions.pytestmark", "not a schema"),
        ("/nonexistent/schema.json", "cannot be read"),
        ({"name": "no id"}, "not an RFC 7643"),
    ],
)
def test_configuration_errors(settings: Any, source: Any, message: str) -> None:
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"EXTENSIONS": [(source, False)]}}}
    with pytest.raises(ImproperlyConfigured, match=message):
        get_adapter("User").resource_type  # noqa: B018


def test_invalid_json_file(settings: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"EXTENSIONS": [(str(broken), False)]}}}
    with pytest.raises(ImproperlyConfigured, match="not valid JSON"):
        get_adapter("User").resource_type  # noqa: B018
