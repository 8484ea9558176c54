"""Per-token throttling: a DRF throttle keyed by token (RFC 7644 section 3.12: 429)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from django_scim.models import ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    # Counters are keyed by token id, and ids repeat across tests.
    cache.clear()
    yield
    cache.clear()


def _client(name: str, **fields: str) -> tuple[ScimToken, ScimClient]:
    token, raw = ScimToken.issue(name, **fields)  # type: ignore[arg-type]
    return token, ScimClient(raw)


def test_no_rate_means_no_throttling() -> None:
    _token, client = _client("unlimited")
    assert all(client.get_scim("/Users").status_code == 200 for _ in range(20))


@pytest.mark.scim_settings({"TOKEN_THROTTLE_RATE": "3/min"})
def test_setting_rate_applies_per_token_with_retry_after() -> None:
    _a, first = _client("a")
    _b, second = _client("b")
    assert [first.get_scim("/Users").status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get_scim("/Users")
    assert refused.status_code == 429
    body = refused.json()
    assert body["status"] == "429" and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert 0 < int(refused["Retry-After"]) <= 60
    # Another identity provider keeps its own budget.
    assert second.get_scim("/Users").status_code == 200


@pytest.mark.scim_settings({"TOKEN_THROTTLE_RATE": "100/min"})
def test_a_tokens_own_rate_wins_over_the_setting() -> None:
    _token, client = _client("tight", throttle_rate="2/hour")
    assert [client.get_scim("/Users").status_code for _ in range(3)] == [200, 200, 429]


def test_rate_change_takes_effect_on_the_next_request() -> None:
    token, client = _client("changing")
    assert client.get_scim("/Users").status_code == 200
    ScimToken.objects.filter(pk=token.pk).update(throttle_rate="1/day")
    assert client.get_scim("/Users").status_code == 200
    assert client.get_scim("/Users").status_code == 429


@pytest.mark.scim_settings({"TOKEN_THROTTLE_RATE": "1/min", "THROTTLE_CLASSES": []})
def test_throttle_classes_setting_can_turn_it_off() -> None:
    _token, client = _client("off")
    assert [client.get_scim("/Users").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize("rate", ["1/min", "600/minute", "10/s", "5/hour", "10000/day", ""])
def test_valid_rates(rate: str) -> None:
    ScimToken(name="x", key_hash="h" * 64, prefix="p", throttle_rate=rate).full_clean()


@pytest.mark.parametrize("rate", ["fast", "10", "10/week", "/min", "-1/min", "10/ min"])
def test_invalid_rates_are_refused_by_model_validation(rate: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        ScimToken(name="x", key_hash="h" * 64, prefix="p", throttle_rate=rate).full_clean()
