"""Per-client self-test: replay what an identity provider sends against this site, then roll back.

The request sequences of Microsoft Entra ID and Okta (their documented bodies, in order: find the
user, create it, find it again, update it, deactivate it, create a group, find it by
``displayName``, add and remove members, delete) ship as JSON in ``fixtures/``. :func:`run_selftest`
sends them through the site's real SCIM views (URL configuration, middleware, authentication,
adapters, mapping), with a temporary token, inside one database transaction that is rolled back
at the end: nothing persists, and no ``on_commit`` signal is sent. ``manage.py scim_selftest``
prints the result.

A sequence step is::

    {"name": "...", "method": "GET", "path": "/Users/${user_id}",
     "params": {"filter": "..."}, "body": {...},
     "expect": {"status": [200], "body": {...}, "not": {...}},
     "save": {"user_id": "id"}}

``${name}`` in any string is replaced by a value saved by an earlier step (``save`` maps a name
to a key of the response body). ``expect.body`` must be contained in the response (objects by
key, lists element by element: each expected element matches some actual one); ``expect.not``
must not be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from ..core.constants import MEDIA_TYPE

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: The identity providers with a shipped sequence.
CLIENTS = ("entra", "okta")

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@dataclass
class StepResult:
    """The outcome of one step: ``passed`` is ``None`` when it was skipped."""

    number: int
    name: str
    method: str
    path: str
    passed: bool | None
    reason: str = ""
    status: int | None = None
    request_body: Any = None
    response_body: Any = None

    @property
    def label(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


@dataclass
class SelfTestReport:
    client: str
    title: str
    results: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> list[StepResult]:
        """The steps that failed or were skipped."""
        return [result for result in self.results if not result.passed]

    @property
    def skipped(self) -> list[StepResult]:
        return [result for result in self.results if result.passed is None]


def load_sequence(client: str) -> dict[str, Any]:
    """The shipped sequence of ``client`` (one of :data:`CLIENTS`)."""
    if client not in CLIENTS:
        raise ValueError(f"Unknown client {client!r}; choose one of {', '.join(CLIENTS)}.")
    return json.loads((FIXTURES / f"{client}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class _Missing(Exception):
    """A placeholder names a value no earlier step saved."""


def _substitute(value: Any, saved: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in saved:
                raise _Missing(match.group(1))
            return saved[match.group(1)]

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(item, saved) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, saved) for key, item in value.items()}
    return value


def _same(expected: Any, actual: Any) -> bool:
    # JSON types compared strictly: true is no 1, 1 is no "1" (Okta needs integers).
    return type(expected) is type(actual) and expected == actual


def _mismatch(expected: Any, actual: Any, where: str = "") -> str | None:
    """Why ``actual`` does not contain ``expected`` (``None`` when it does)."""
    label = where or "body"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{label}: expected an object, got {_short(actual)}"
        for key, value in expected.items():
            path = f"{where}.{key}" if where else key
            if key not in actual:
                return f"{path}: expected {_short(value)}, missing"
            problem = _mismatch(value, actual[key], path)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{label}: expected a list, got {_short(actual)}"
        for item in expected:
            if not any(_mismatch(item, candidate, label) is None for candidate in actual):
                return f"{label}: expected an element {_short(item)}, got {_short(actual)}"
        return None
    if not _same(expected, actual):
        return f"{label}: expected {_short(expected)}, got {_short(actual)}"
    return None


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_reason(body: Any) -> str:
    if isinstance(body, dict) and ("detail" in body or "scimType" in body):
        parts = [str(body["scimType"])] if body.get("scimType") else []
        if body.get("detail"):
            parts.append(str(body["detail"]))
        return ": ".join(parts)
    return ""


def _scim_base() -> str:
    """The URL prefix of the SCIM views (``/scim/v2``)."""
    return reverse("scim:service-provider-config").rsplit("/", 1)[0]


def run_selftest(
    client: str,
    *,
    base_url: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
    token_options: Mapping[str, Any] | None = None,
    on_result: Callable[[StepResult], None] | None = None,
) -> SelfTestReport:
    """Replay the sequence of ``client`` and roll everything back; the report of every step.

    ``base_url`` is the path prefix of the SCIM URLs (default: where ``django_scim.urls`` is
    mounted); ``token_options`` go to :meth:`ScimToken.issue` (e.g. a tenant); ``on_result`` is
    called after each step (the command prints as it goes).
    """
    from ..models import ScimToken

    sequence = load_sequence(client)
    report = SelfTestReport(client=client, title=sequence.get("title", client))
    base = (base_url if base_url is not None else _scim_base()).rstrip("/")
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(ALLOWED_HOSTS=hosts), transaction.atomic(using=using):
        try:
            _token, raw = ScimToken.issue("scim_selftest (rolled back)", **dict(token_options or {}))
            http = Client(headers={"Authorization": f"Bearer {raw}", **sequence.get("headers", {})})
            saved: dict[str, str] = {}
            for number, step in enumerate(sequence["steps"], start=1):
                result = _run_step(http, base, number, step, saved, using)
                report.results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            transaction.set_rollback(True, using=using)
    return report


def _run_step(
    http: Client, base: str, number: int, step: Mapping[str, Any], saved: dict[str, str], using: str
) -> StepResult:
    method = step["method"].upper()
    try:
        path = _substitute(step["path"], saved)
        params = _substitute(step.get("params") or {}, saved)
        body = _substitute(step.get("body"), saved)
        expect = _substitute(step.get("expect") or {}, saved)
    except _Missing as missing:
        return StepResult(
            number,
            step["name"],
            method,
            step["path"],
            None,
            f"skipped: needs {missing.args[0]}, which an earlier step did not give",
        )
    url = base + path + (f"?{urlencode(params)}" if params else "")
    # Each request in a savepoint: a refused one rolls back its own writes only.
    with transaction.atomic(using=using):
        response = http.generic(
            method,
            url,
            data=json.dumps(body) if body is not None else "",
            content_type=MEDIA_TYPE,
            secure=True,
        )
    try:
        response_body = json.loads(response.content) if response.content else None
    except ValueError:
        response_body = response.content.decode("utf-8", "replace")[:500]
    result = StepResult(
        number,
        step["name"],
        method,
        path + (f"?{urlencode(params)}" if params else ""),
        True,
        status=response.status_code,
        request_body=body,
        response_body=response_body,
    )
    statuses = expect.get("status") or [200]
    if response.status_code not in statuses:
        wanted = " or ".join(str(s) for s in statuses)
        detail = _error_reason(response_body)
        result.passed = False
        result.reason = f"expected {wanted}, got {response.status_code}" + (f" {detail}" if detail else "")
        return result
    problem = None
    # Saved even when the body differs: the resource exists, and later steps can still run.
    for name, key in (step.get("save") or {}).items():
        value = response_body.get(key) if isinstance(response_body, dict) else None
        if not isinstance(value, str):
            problem = f"the response has no {key!r} to remember as {name}"
            break
        saved[name] = value
    if problem is None and "body" in expect:
        problem = _mismatch(expect["body"], response_body)
    if problem is None and "not" in expect and _mismatch(expect["not"], response_body) is None:
        problem = f"expected no {_short(expect['not'])}, got it"
    if problem is not None:
        result.passed = False
        result.reason = problem
    return result
