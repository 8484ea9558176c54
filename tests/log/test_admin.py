"""The provisioning log in the admin: browsable, searchable, read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_scim.models import ProvisioningLog
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

URL = "/admin/django_scim/provisioninglog/"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def failed(scim: ScimClient) -> ProvisioningLog:
    scim.scim("POST", "/Users", {"schemas": [USER], "userName": "ok", "password": "hunter2"})
    scim.scim("POST", "/Users", {"schemas": [USER], "displayName": "No Username", "password": "hunter2"})
    return ProvisioningLog.objects.get(status=400)


def test_changelist_shows_entries_and_filters(admin_client: Client, failed: ProvisioningLog) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert "/scim/v2/Users" in content and "invalidValue" in content
    for title in ("outcome", "status", "resource type", "token"):
        assert f"By {title}" in content


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("outcome=failed", {400}),
        ("outcome=success", {201}),
        ("outcome=server", set()),
        ("status__exact=400", {400}),
        ("resource_type__exact=User", {201, 400}),
        ("q=userName", {400}),
    ],
)
def test_filters_and_search(
    admin_client: Client, failed: ProvisioningLog, query: str, statuses: set[int]
) -> None:
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    shown = {entry.status for entry in response.context["cl"].result_list}
    assert shown == statuses


def test_date_hierarchy(admin_client: Client, failed: ProvisioningLog) -> None:
    created = failed.created
    response = admin_client.get(
        URL, {"created__year": created.year, "created__month": created.month, "created__day": created.day}
    )
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2


def test_search_by_resource_id(admin_client: Client, failed: ProvisioningLog) -> None:
    created = ProvisioningLog.objects.get(status=201)
    response = admin_client.get(URL, {"q": created.resource_id})
    assert list(response.context["cl"].result_list) == [created]


def test_detail_is_read_only_and_redacted(admin_client: Client, failed: ProvisioningLog) -> None:
    response = admin_client.get(f"{URL}{failed.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "hunter2" not in content and "[redacted]" in content
    assert "No Username" in content
    assert 'name="_save"' not in content


def test_no_add_change_or_delete(admin_client: Client, failed: ProvisioningLog) -> None:
    assert admin_client.get(f"{URL}add/").status_code == 403
    assert admin_client.post(f"{URL}{failed.pk}/change/", {"status": 200}).status_code == 403
    assert admin_client.post(f"{URL}{failed.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ProvisioningLog.objects.filter(pk=failed.pk, status=400).exists()


def test_token_admin_lists_expiry(admin_client: Any) -> None:
    response = admin_client.get("/admin/django_scim/scimtoken/")
    assert response.status_code == 200
    assert b"expires" in response.content.lower()
