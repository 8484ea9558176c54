"""``manage.py scim_prune_log``: retention of the provisioning log."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_scim.models import ProvisioningLog

pytestmark = pytest.mark.django_db


def _entries_aged(*days: int) -> None:
    now = timezone.now()
    for age in days:
        ProvisioningLog.objects.create(
            created=now - timedelta(days=age, minutes=1), method="POST", path="/", status=201, duration_ms=1
        )


def _ages() -> list[int]:
    now = timezone.now()
    return sorted(
        (now - created).days for created in ProvisioningLog.objects.values_list("created", flat=True)
    )


def test_default_retention_is_the_setting() -> None:
    _entries_aged(0, 89, 90, 400)
    out = io.StringIO()
    call_command("scim_prune_log", stdout=out)
    assert "Deleted 2 entries older than 90 days" in out.getvalue()
    assert _ages() == [0, 89]


@pytest.mark.scim_settings({"LOG_RETENTION_DAYS": 7})
def test_retention_setting_and_days_option() -> None:
    _entries_aged(0, 3, 8)
    call_command("scim_prune_log", stdout=io.StringIO())
    assert _ages() == [0, 3]
    call_command("scim_prune_log", "--days", "1", stdout=io.StringIO())
    assert _ages() == [0]
    call_command("scim_prune_log", "--days", "0", stdout=io.StringIO())
    assert _ages() == []


def test_dry_run_deletes_nothing() -> None:
    _entries_aged(100, 200)
    out = io.StringIO()
    call_command("scim_prune_log", "--dry-run", stdout=out)
    assert "2 entries" in out.getvalue()
    assert ProvisioningLog.objects.count() == 2


@pytest.mark.scim_settings({"LOG_RETENTION_DAYS": None})
def test_no_retention_keeps_everything_unless_days_given() -> None:
    _entries_aged(1000)
    err = io.StringIO()
    call_command("scim_prune_log", stdout=io.StringIO(), stderr=err)
    assert "nothing deleted" in err.getvalue()
    assert ProvisioningLog.objects.count() == 1
    call_command("scim_prune_log", "--days", "30", stdout=io.StringIO())
    assert ProvisioningLog.objects.count() == 0


def test_negative_days_is_an_error() -> None:
    with pytest.raises(CommandError):
        call_command("scim_prune_log", "--days", "-1")
