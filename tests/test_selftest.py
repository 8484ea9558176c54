"""``manage.py scim_selftest``: the shipped Entra ID / Okta sequences against the site's mapping."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from django_scim import signals
from django_scim.models import ProvisioningLog, ScimGroup, ScimToken, ScimUser
from django_scim.orm.mapping import Computed
from django_scim.selftest import CLIENTS, load_sequence, run_selftest


def _state() -> tuple[int, ...]:
    return (
        get_user_model().objects.count(),
        Group.objects.count(),
        ScimUser.objects.count(),
        ScimGroup.objects.count(),
        ScimToken.objects.count(),
        ProvisioningLog.objects.count(),
    )


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.django_db(transaction=True)
def test_default_mapping_passes_every_step_and_nothing_persists(client: str) -> None:
    """Real transactions here: the command's own rollback is what keeps the database clean."""
    received: list[Any] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    before = _state()
    out = StringIO()
    signals.resource_created.connect(receive)
    try:
        call_command("scim_selftest", "--client", client, stdout=out)
    finally:
        signals.resource_created.disconnect(receive)
    text = out.getvalue()
    steps = load_sequence(client)["steps"]
    assert text.count("PASS") == len(steps), text
    assert "FAIL" not in text and "SKIP" not in text
    assert f"{len(steps)} of {len(steps)} steps passed" in text
    assert _state() == before
    # Nothing committed, so no on_commit signal (no welcome e-mail to a test user).
    assert received == []


def test_the_sequences_carry_the_documented_bodies() -> None:
    """shared/README: Entra's string boolean and extra group schema, Okta's no-path deactivation."""
    entra = {step["name"]: step for step in load_sequence("entra")["steps"]}
    disable = entra["disable the user with a string boolean"]["body"]["Operations"]
    assert disable == [{"op": "Replace", "path": "active", "value": "False"}]
    group = entra["create the group (extra Microsoft schema URI)"]["body"]
    assert "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group" in group["schemas"]
    okta = {step["name"]: step for step in load_sequence("okta")["steps"]}
    deactivate = okta["deactivate with a no-path PATCH (OIN apps)"]["body"]["Operations"]
    assert deactivate == [{"op": "replace", "value": {"active": False}}]
    assert okta["existence check before create (not there yet)"]["params"]["count"] == "100"


@pytest.mark.django_db
def test_broken_mapping_reports_invalid_filter_and_exits_1(settings: Any) -> None:
    """displayName computed without a lookup: Entra's "find group by displayName" cannot run."""
    settings.SCIM = {
        "RESOURCE_TYPES": {"Group": {"ATTRIBUTE_MAP": {"displayName": Computed(lambda group: group.name)}}}
    }
    before = _state()
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("scim_selftest", "--client", "entra", stdout=out)
    assert raised.value.returncode == 1
    text = out.getvalue()
    line = next(i for i, ln in enumerate(text.splitlines()) if "find the group by displayName" in ln)
    lines = text.splitlines()
    assert lines[line].startswith("FAIL"), text
    assert "expected 200, got 400 invalidFilter" in "\n".join(lines[line : line + 3]), text
    # The user steps do not depend on the group mapping; the group is still created (with an
    # empty name, the value being computed), and the steps after it run.
    assert lines[0].startswith("PASS")
    assert 'displayName: expected "displayName", got ""' in text
    assert "SKIP" not in text
    assert str(raised.value) == "7 of 29 steps failed, 0 skipped."
    assert _state() == before


@pytest.mark.django_db
def test_report_names_expected_and_actual_attribute(settings: Any) -> None:
    """A mapping that loses an attribute fails the read-back with the expected and actual value."""
    settings.SCIM = {
        "RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"nickName": Computed(lambda user: "Constant")}}}
    }
    report = run_selftest("entra")
    failed = {result.name: result for result in report.failed}
    reason = failed["read back the updated attributes"].reason
    assert reason == 'nickName: expected "Babs", got "Constant"'
    assert not report.ok


@pytest.mark.django_db
def test_verbose_prints_requests_and_responses() -> None:
    out = StringIO()
    call_command("scim_selftest", "--client", "okta", "--verbose", stdout=out)
    text = out.getvalue()
    assert "PATCH /Users/" in text
    assert 'request: {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]' in text
    assert '"scimType": "uniqueness"' in text


@pytest.mark.django_db
def test_a_failed_create_skips_the_steps_that_need_its_id(settings: Any) -> None:
    from django_scim.adapters.users import UserAdapter

    class Refusing(UserAdapter):
        def pre_save(self, obj: Any, document: Any, *, created: bool) -> None:
            from django_scim.core.errors import InvalidValue

            raise InvalidValue("refused by the site")

    import tests.test_selftest as module

    module.Refusing = Refusing  # type: ignore[attr-defined]
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.test_selftest.Refusing"}}}
    report = run_selftest("okta")
    by_name = {result.name: result for result in report.results}
    create = by_name["create the user"]
    assert create.passed is False
    assert create.reason == "expected 201, got 400 invalidValue: refused by the site"
    assert by_name["the user is inactive"].passed is None
    assert "user_id" in by_name["the user is inactive"].reason


@pytest.mark.scim_settings({"TENANT_MODEL": "testapp.Organization"})
@pytest.mark.django_db
def test_selftest_runs_as_a_tenant() -> None:
    """On a tenant site the self-test's temporary token belongs to the tenant given."""
    from tests.testapp.models import Organization

    organization = Organization.objects.create(name="acme")
    out = StringIO()
    call_command("scim_selftest", "--client", "okta", "--tenant", str(organization.pk), stdout=out)
    assert "steps passed" in out.getvalue()
    assert not ScimToken.objects.exists()
