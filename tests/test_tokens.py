"""Bearer tokens: stored as a hash, shown once, revocable (RFC 6750 usage, RFC 7644 section 2)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from django_scim.models import ScimToken, hash_token
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


def test_create_prints_the_token_alone_and_stores_only_its_hash() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_token", "create", "entra", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert "\n" not in raw and raw.startswith("scim_") and len(raw) > 40
    token = ScimToken.objects.get(name="entra")
    assert token.key_hash == hash_token(raw)
    assert raw not in str(list(ScimToken.objects.values_list()))


def test_printed_token_authenticates_until_revoked() -> None:
    out = io.StringIO()
    call_command("scim_token", "create", "okta", stdout=out)
    client = ScimClient(out.getvalue().strip())
    assert client.get_scim("/Users").status_code == 200
    assert ScimToken.objects.get(name="okta").last_used is not None
    call_command("scim_token", "revoke", "okta", stderr=io.StringIO())
    assert client.get_scim("/Users").status_code == 401


def test_list_never_shows_tokens() -> None:
    out = io.StringIO()
    call_command("scim_token", "create", "one", stdout=out)
    raw = out.getvalue().strip()
    listing = io.StringIO()
    call_command("scim_token", "list", stdout=listing)
    assert "one" in listing.getvalue()
    assert raw not in listing.getvalue()


def test_revoke_unknown_is_an_error() -> None:
    with pytest.raises(CommandError):
        call_command("scim_token", "revoke", "nobody")


def test_tokens_are_listed_in_the_admin(admin_client: object) -> None:
    ScimToken.issue("listed")
    response = admin_client.get("/admin/django_scim/scimtoken/")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert b"listed" in response.content


def test_admin_add_shows_the_token_once(admin_client: object) -> None:
    response = admin_client.post(  # type: ignore[attr-defined]
        "/admin/django_scim/scimtoken/add/", {"name": "from-admin"}, follow=True
    )
    assert response.status_code == 200
    token = ScimToken.objects.get(name="from-admin")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m.split(": ")[-1] for m in shown if "not shown again" in m)
    assert hash_token(raw) == token.key_hash
    assert ScimClient(raw).get_scim("/Users").status_code == 200


@pytest.mark.scim_settings(
    {
        "AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
        "PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    }
)
def test_authentication_and_permissions_are_swappable(admin_client: object, scim: ScimClient) -> None:
    """SCIM["AUTHENTICATION_CLASSES"] / ["PERMISSION_CLASSES"] take any DRF classes."""
    assert admin_client.get("/scim/v2/Users").status_code == 200  # type: ignore[attr-defined]
    assert scim.get_scim("/Users").status_code in (401, 403)


def test_create_replace_rotates_the_named_token() -> None:
    first, second = io.StringIO(), io.StringIO()
    call_command("scim_token", "create", "demo", stdout=first)
    call_command("scim_token", "create", "demo", "--replace", stdout=second)
    assert ScimClient(first.getvalue().strip()).get_scim("/Users").status_code == 401
    assert ScimClient(second.getvalue().strip()).get_scim("/Users").status_code == 200
