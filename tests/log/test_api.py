"""The read-only JSON API over the log, for staff and monitoring tools (django_scim.log.urls)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from django_scim.models import ProvisioningLog, ScimToken

pytestmark = pytest.mark.django_db

URL = "/scim-log/"


def _entry(**fields: Any) -> ProvisioningLog:
    defaults: dict[str, Any] = {
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "status": 201,
        "duration_ms": 1.5,
    }
    return ProvisioningLog.objects.create(**{**defaults, **fields})


@pytest.fixture
def entries() -> dict[str, ProvisioningLog]:
    okta, _ = ScimToken.issue("okta")
    entra, _ = ScimToken.issue("entra")
    now = timezone.now()
    return {
        "old": _entry(token=okta, token_name="okta", created=now - timedelta(days=3)),
        "conflict": _entry(token=okta, token_name="okta", status=409, scim_type="uniqueness"),
        "group": _entry(
            token=entra,
            token_name="entra",
            resource_type="Group",
            method="PATCH",
            status=204,
            resource_id="g1",
        ),
        "tenant": _entry(
            token=entra, token_name="entra", status=400, scim_type="invalidValue", tenant="acme"
        ),
    }


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_staff_lists_entries_newest_first(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    rows = response.json()["results"]
    assert len(rows) == 4
    assert rows[-1]["id"] == entries["old"].pk
    first = next(r for r in rows if r["id"] == entries["conflict"].pk)
    assert first["status"] == 409 and first["scim_type"] == "uniqueness" and first["token_name"] == "okta"
    assert set(first) >= {"created", "token", "tenant", "method", "path", "resource_type", "duration_ms"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=409", {"conflict"}),
        ("status__gte=400", {"conflict", "tenant"}),
        ("failed=true", {"conflict", "tenant"}),
        ("failed=false", {"old", "group"}),
        ("resource_type=group", {"group"}),
        ("method=patch", {"group"}),
        ("scim_type=invalidValue", {"tenant"}),
        ("resource_id=g1", {"group"}),
        ("tenant=acme", {"tenant"}),
        ("tenant__isnull=true", {"old", "conflict", "group"}),
    ],
)
def test_filters(
    admin_client: Client, entries: dict[str, ProvisioningLog], query: str, expected: set[str]
) -> None:
    assert _ids(admin_client.get(f"{URL}?{query}")) == {entries[name].pk for name in expected}


def test_filter_by_token(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    token = entries["group"].token
    assert token is not None
    assert _ids(admin_client.get(URL, {"token": token.pk})) == {entries["group"].pk, entries["tenant"].pk}


def test_filter_by_time_range(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    day_ago = (timezone.now() - timedelta(days=1)).isoformat()
    assert _ids(admin_client.get(URL, {"until": day_ago})) == {entries["old"].pk}
    assert entries["old"].pk not in _ids(admin_client.get(URL, {"since": day_ago}))


def test_invalid_filter_value_is_400(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    response = admin_client.get(URL, {"since": "yesterday", "status": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"since", "status"}


def test_cursor_pagination(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    first = admin_client.get(URL, {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = admin_client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_detail(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    response = admin_client.get(f"{URL}{entries['conflict'].pk}")
    assert response.status_code == 200 and response.json()["scim_type"] == "uniqueness"
    assert admin_client.get(f"{URL}999999").status_code == 404


def test_read_only(admin_client: Client, entries: dict[str, ProvisioningLog]) -> None:
    assert admin_client.post(URL, {}).status_code == 405
    assert admin_client.delete(f"{URL}{entries['old'].pk}").status_code == 405
    assert ProvisioningLog.objects.count() == 4


def test_staff_only(client: Client, entries: dict[str, ProvisioningLog]) -> None:
    assert client.get(URL).status_code in (401, 403)
    user = get_user_model().objects.create_user("plain", password="pw")
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_basic_auth_for_monitoring_tools(entries: dict[str, ProvisioningLog]) -> None:
    get_user_model().objects.create_user("monitor", password="pw", is_staff=True)
    import base64

    credentials = base64.b64encode(b"monitor:pw").decode()
    response = Client().get(URL, headers={"Authorization": f"Basic {credentials}"})
    assert response.status_code == 200 and len(response.json()["results"]) == 4


def test_scim_tokens_do_not_open_the_log(entries: dict[str, ProvisioningLog]) -> None:
    """A SCIM client token is for provisioning, not for reading what other clients sent."""
    _token, raw = ScimToken.issue("reader")
    response = Client().get(URL, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (401, 403)
