"""Tokens of tenants (``scim_token --tenant``, the admin form), and single-tenant sites unchanged."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_scim.admin import ScimTokenForm
from django_scim.models import ScimToken, ScimUser
from tests.conftest import ScimClient, create_user
from tests.testapp.models import Organization

from .conftest import TENANCY


@pytest.mark.scim_settings(TENANCY)
def test_command_creates_a_token_of_a_tenant(db: None) -> None:
    org = Organization.objects.create(name="A")
    out = StringIO()
    call_command("scim_token", "create", "okta", "--tenant", str(org.pk), stdout=out)
    token = ScimToken.objects.get(name="okta")
    assert token.tenant_id == str(org.pk)
    assert ScimClient(out.getvalue().strip()).get_scim("/Users").status_code == 200
    listing = StringIO()
    call_command("scim_token", "list", stdout=listing)
    assert f"tenant {org.pk}" in listing.getvalue()


@pytest.mark.scim_settings(TENANCY)
@pytest.mark.parametrize("args", [[], ["--tenant", "999"], ["--tenant", "not-a-key"]])
def test_command_refuses_a_missing_or_unknown_tenant(db: None, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("scim_token", "create", "okta", *args, stdout=StringIO())
    assert not ScimToken.objects.exists()


def test_command_refuses_a_tenant_without_tenant_model(db: None) -> None:
    with pytest.raises(CommandError, match="TENANT_MODEL"):
        call_command("scim_token", "create", "okta", "--tenant", "1", stdout=StringIO())


@pytest.mark.scim_settings(TENANCY)
def test_admin_form_requires_an_existing_tenant(db: None) -> None:
    org = Organization.objects.create(name="A")
    assert not ScimTokenForm({"name": "x"}).is_valid()
    assert not ScimTokenForm({"name": "x", "tenant_id": "999"}).is_valid()
    form = ScimTokenForm({"name": "x", "tenant_id": str(org.pk)})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tenant_id"] == str(org.pk)


def test_single_tenant_sites_are_unchanged(scim: ScimClient) -> None:
    """No TENANT_MODEL: tokens have no tenant, companions none, everything is visible."""
    user = create_user(scim)
    assert ScimUser.objects.get(pk=user["id"]).tenant_id is None
    assert ScimToken.objects.get().tenant_id is None
    assert scim.get_scim("/Users").json()["totalResults"] == 1


@pytest.mark.scim_settings({"TENANT_MODEL": "testapp.NoSuchModel"})
def test_unknown_tenant_model_is_a_system_check_error(db: None) -> None:
    from django_scim.checks import check_scim_settings

    assert "django_scim.E004" in {message.id for message in check_scim_settings()}
