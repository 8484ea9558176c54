"""Token authentication: constant-time comparison, expiry, revocation on the next request."""

from __future__ import annotations

import hmac
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_scim.models import ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


def test_token_hash_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token, raw = ScimToken.issue("timing")
    assert ScimClient(raw).get_scim("/Users").status_code == 200
    assert calls and calls[-1][0] == token.key_hash.encode()


def test_unknown_or_oversized_tokens_are_401() -> None:
    assert ScimClient("scim_nope").get_scim("/Users").status_code == 401
    response = ScimClient("x" * 10_000).get_scim("/Users")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_refused_with_a_clear_detail() -> None:
    _token, raw = ScimToken.issue("old", expires_at=timezone.now() - timedelta(seconds=1))
    response = ScimClient(raw).get_scim("/Users")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_expiry_takes_effect_on_the_next_request() -> None:
    token, raw = ScimToken.issue("soon", expires_at=timezone.now() + timedelta(hours=1))
    client = ScimClient(raw)
    assert client.get_scim("/Users").status_code == 200
    assert token.is_active and not token.is_expired
    ScimToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert client.get_scim("/Users").status_code == 401


def test_revocation_takes_effect_on_the_next_request() -> None:
    token, raw = ScimToken.issue("revoked")
    client = ScimClient(raw)
    assert client.get_scim("/Users").status_code == 200
    token.revoke()
    assert client.get_scim("/Users").status_code == 401


@pytest.mark.scim_settings({"TOKEN_EXPIRY_DAYS": 30})
def test_default_lifetime_setting() -> None:
    token, _raw = ScimToken.issue("default-lifetime")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert ScimToken.objects.usable().filter(pk=token.pk).exists()


def test_usable_excludes_revoked_and_expired() -> None:
    live, _ = ScimToken.issue("live")
    expired, _ = ScimToken.issue("expired", expires_at=timezone.now() - timedelta(days=1))
    revoked, _ = ScimToken.issue("revoked")
    revoked.revoke()
    assert list(ScimToken.objects.usable()) == [live]
    assert set(ScimToken.objects.active()) == {live, expired}


def test_command_create_with_expiry_and_list_shows_it() -> None:
    out = io.StringIO()
    call_command("scim_token", "create", "temp", "--expires-in-days", "7", stdout=out)
    token = ScimToken.objects.get(name="temp")
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert ScimClient(out.getvalue().strip()).get_scim("/Users").status_code == 200
    ScimToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    listing = io.StringIO()
    call_command("scim_token", "list", stdout=listing)
    assert "temp" in listing.getvalue() and "expired" in listing.getvalue()


def test_command_refuses_a_non_positive_expiry() -> None:
    with pytest.raises(CommandError):
        call_command("scim_token", "create", "bad", "--expires-in-days", "0", stdout=io.StringIO())
    assert not ScimToken.objects.filter(name="bad").exists()


def test_admin_add_with_expiry_and_rate(admin_client: Any) -> None:
    expires = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    response = admin_client.post(
        "/admin/django_scim/scimtoken/add/",
        {
            "name": "from-admin",
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
            "throttle_rate": "600/min",
        },
        follow=True,
    )
    assert response.status_code == 200
    token = ScimToken.objects.get(name="from-admin")
    assert token.expires_at == expires
    assert token.throttle_rate == "600/min"
    shown = [str(m) for m in response.context["messages"]]
    assert any("not shown again" in m for m in shown)


def test_admin_refuses_an_invalid_rate(admin_client: Any) -> None:
    response = admin_client.post(
        "/admin/django_scim/scimtoken/add/", {"name": "bad-rate", "throttle_rate": "fast"}
    )
    assert response.status_code == 200  # The form again, with the error.
    assert b"600/min" in response.content
    assert not ScimToken.objects.filter(name="bad-rate").exists()
