"""Shared fixtures: a SCIM client with a bearer token, and per-test SCIM settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_scim.core.constants import MEDIA_TYPE
from django_scim.models import ScimToken

BASE = "/scim/v2"


class ScimClient(Client):
    """A test client speaking application/scim+json with a bearer token."""

    def __init__(self, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if self.token is not None:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def scim(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = MEDIA_TYPE,
        raw: bytes | str | None = None,
        **extra: Any,
    ) -> Any:
        url = path if path.startswith("/") and path.startswith(BASE) else f"{BASE}{path}"
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.generic(
            method.upper(), url, data=data, content_type=content_type, headers=self._headers(headers), **extra
        )

    def get_scim(self, path: str, **kwargs: Any) -> Any:
        return self.scim("GET", path, **kwargs)


@pytest.fixture
def token(db: None) -> str:
    _row, raw = ScimToken.issue("tests")
    return raw


@pytest.fixture
def scim(token: str) -> ScimClient:
    return ScimClient(token)


@pytest.fixture
def anonymous(db: None) -> ScimClient:
    return ScimClient(None)


@pytest.fixture(autouse=True)
def _scim_settings_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    """``@pytest.mark.scim_settings({...})`` sets ``settings.SCIM`` for one test."""
    marker = request.node.get_closest_marker("scim_settings")
    if marker is None:
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.SCIM = marker.args[0]
    yield


def create_user(scim: ScimClient, **fields: Any) -> dict[str, Any]:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", **fields}
    response = scim.scim("POST", "/Users", body)
    assert response.status_code == 201, response.content
    return response.json()


def get_ok(scim: ScimClient, path: str) -> dict[str, Any]:
    """The JSON body of a ``GET`` that must answer 200."""
    response = scim.get_scim(path)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def captured_sql() -> Iterator[list[str]]:
    """The SQL of the statements run inside the block (default database), filled in at its end."""
    found: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield found
    found.extend(q["sql"] for q in captured.captured_queries)


def query_plan(sql: str, params: Any) -> str:
    """The database's plan of ``sql``, one line per row (SQLite's ``EXPLAIN QUERY PLAN``)."""
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())


def pytest_ignore_collect(collection_path: Any, config: pytest.Config) -> bool | None:
    """``tests/variants/`` runs only under its own settings (``--ds tests.settings.custom_models``)."""
    from django.conf import settings

    if collection_path.name == "variants" and settings.AUTH_USER_MODEL == "auth.User":
        return True
    return None


def db_state() -> tuple[object, ...]:
    """Everything a SCIM write can touch, to assert that a refused request changed nothing."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from django_scim.models import ScimGroup, ScimUser

    user_model = get_user_model()
    return (
        sorted(map(str, user_model.objects.values_list())),
        sorted(map(str, Group.objects.values_list())),
        sorted(map(str, user_model.groups.through.objects.values_list()))
        if hasattr(user_model, "groups")
        else (),
        sorted(map(str, ScimUser.objects.values_list())),
        sorted(map(str, ScimGroup.objects.values_list())),
    )
