"""A site with its own user model (keyed by e-mail) and a Team model as SCIM groups.

Runs under ``--ds tests.settings.custom_models`` (``tests/run.py`` does it): the mapping is all
settings (``SCIM["RESOURCE_TYPES"]``), no view code (RFC 7643 sections 4.1 and 4.2).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import ScimClient
from tests.testapp.models import Department, Team, TeamScim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

pytestmark = pytest.mark.django_db


def test_user_maps_onto_the_custom_user_model(scim: ScimClient) -> None:
    """userName -> USERNAME_FIELD (email); extra attributes mapped by settings."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "ada@example.com",
        "displayName": "Ada Lovelace",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        ENTERPRISE: {"department": "Analytics", "employeeNumber": "1815"},
    }
    Department.objects.create(name="Analytics")
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 201, response.content
    user: Any = get_user_model().objects.get(email="ada@example.com")
    assert user.display_name == "Ada Lovelace"
    # No first_name / last_name fields on this model: name lives in the JSONField.
    got = scim.get_scim(f"/Users/{response.json()['id']}").json()
    assert got["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert got["displayName"] == "Ada Lovelace"
    assert got[ENTERPRISE]["employeeNumber"] == "1815"


def test_related_field_mapping_reads_through_the_relation(scim: ScimClient) -> None:
    """A mapped related path (department__name) is read from the related model."""
    dept = Department.objects.create(name="Engineering")
    user = get_user_model().objects.create_user("lin@example.com", department=dept)
    listing = scim.get_scim('/Users?filter=userName eq "LIN@example.com"').json()
    assert listing["totalResults"] == 1
    assert listing["Resources"][0][ENTERPRISE]["department"] == "Engineering"
    by_dept = scim.get_scim(f'/Users?filter={ENTERPRISE}:department eq "engineering"').json()
    assert [r["userName"] for r in by_dept["Resources"]] == [user.email]


def test_team_model_serves_as_groups(scim: ScimClient) -> None:
    """Group displayName -> Team.title, members -> Team.members, configured by settings only."""
    alice = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "alice@example.com"}).json()
    bob = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "bob@example.com"}).json()
    response = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue", "members": [{"value": alice["id"]}]}
    )
    assert response.status_code == 201, response.content
    group = response.json()
    team = Team.objects.get(title="Blue")
    assert [u.email for u in team.members.all()] == ["alice@example.com"]
    assert TeamScim.objects.get(resource=team).id.hex == group["id"].replace("-", "")
    assert group["members"][0]["display"] == "alice@example.com"
    replaced = scim.scim(
        "PUT",
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Blue", "members": [{"value": bob["id"]}]},
    )
    assert replaced.status_code == 200
    assert [u.email for u in team.members.all()] == ["bob@example.com"]
    user = scim.get_scim(f"/Users/{bob['id']}").json()
    assert user["groups"][0]["value"] == group["id"]
    found = scim.get_scim(f'/Groups?filter=members.value eq "{bob["id"]}"').json()
    assert found["totalResults"] == 1


def test_a_users_teams_come_with_the_user(scim: ScimClient, django_assert_num_queries: Any) -> None:
    """GET by id and ``userName eq`` read the user's teams in the user's statement (RFC 7643
    section 4.1.2 ``groups``), Team.title as their display, a team made outside SCIM included."""
    ada = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "ada@example.com"}).json()
    blue = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue", "members": [{"value": ada["id"]}]}
    )
    outside = Team.objects.create(title="Red")
    outside.members.add(get_user_model().objects.get(email="ada@example.com"))
    first = scim.get_scim(f"/Users/{ada['id']}").json()
    red = str(TeamScim.objects.get(resource=outside).id)
    assert [(g["display"], g["value"]) for g in first["groups"]] == [
        ("Blue", blue.json()["id"]),
        ("Red", red),
    ]
    scim.get_scim('/Users?filter=userName eq "ada@example.com"')
    with django_assert_num_queries(2):  # the token, the user with its teams
        assert scim.get_scim(f"/Users/{ada['id']}").json() == first
    with django_assert_num_queries(2):
        found = scim.get_scim('/Users?filter=userName eq "ADA@example.com"').json()
    assert found["Resources"] == [first]


def test_system_check_passes_for_the_custom_mapping() -> None:
    """The mapping audit finds every mapped field (manage.py check)."""
    call_command("check", "--fail-level", "ERROR")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the counting triggers are PostgreSQL's")
def test_pages_of_the_custom_models_are_not_counted(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2: totalResults exact; the custom user table and the Team table have
    their rows counted by triggers too (django_scim.orm.rowcount), so no COUNT(*) of them."""
    for i in range(12):
        assert (
            scim.scim("POST", "/Users", {"schemas": [USER], "userName": f"u{i}@example.com"}).status_code
            == 201
        )
    get_user_model().objects.filter(email="u0@example.com").delete()
    Team.objects.bulk_create([Team(title=f"t{i}") for i in range(7)])
    for path, model in (("/Users?startIndex=3&count=5", get_user_model()), ("/Groups?count=3", Team)):
        scim.get_scim(path)
        with CaptureQueriesContext(connection) as captured:
            body = scim.get_scim(path).json()
        assert body["totalResults"] == model.objects.count()
        table = f'FROM "{model._meta.db_table}"'
        assert not [
            q for q in captured.captured_queries if "COUNT(*)" in q["sql"].upper() and table in q["sql"]
        ]
