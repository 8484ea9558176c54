"""Concurrency guarantees on PostgreSQL with several server processes (issue 6 point 2).

The example project runs under gunicorn (4 gthread workers, so 16 requests in flight at once, each
on its own database connection) against a fresh database ``scim_stress_<pid>`` on the PostgreSQL
server of this test run (``DATABASE_URL``, which ``tests/run.py`` sets); many client threads then
race each other over loopback:

(a) 200 PATCH add-member requests to one group, one distinct user each -> all 200 are members and
    the group's version counts exactly 200 changes;
(b) 50 POSTs of the same userName -> one 201, 49 x 409 ``uniqueness``, one row;
(c) 20 PUTs with the same If-Match -> one 2xx, 19 x 412;
(d) PATCH replace of different attributes of one user without If-Match -> no lost update.

The guarantees come from the database (row locks with ``SELECT ... FOR UPDATE``, unique
constraints), never from locks inside one process; docs/guide/security.rst documents them. On
SQLite (one writer at a time, no server) the module is skipped. Everything it starts is stopped,
and its database dropped, whatever happens; it stays well under a minute.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = REPO_ROOT / "example_project"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))

WORKERS = 4
THREADS = 4  # per worker: 16 requests served at once
CLIENT_THREADS = 64
REQUEST_TIMEOUT = 30.0

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

pytestmark = [
    pytest.mark.stress,
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="concurrency stress test needs PostgreSQL (SQLite serialises all writes): "
        "set DATABASE_URL=postgres://... (tests/run.py does)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("gunicorn") is None,
        reason="the stress test serves the example project with gunicorn (dependency group 'bench')",
    ),
]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class Server:
    """A SCIM client for the gunicorn under test: one connection per request, bounded timeouts."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            data = json.dumps(body).encode() if body is not None else None
            all_headers = {
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/scim+json",
                "Accept": "application/scim+json",
                **(headers or {}),
            }
            connection.request(method, f"/scim/v2{path}", body=data, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            parsed = json.loads(raw) if raw else None
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)
        finally:
            connection.close()


def _database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, ""))


@contextlib.contextmanager
def _fresh_database(name: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    def execute(statement: sql.Composed) -> None:
        with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _database_url(DATABASE_URL, name)
    finally:
        execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",  # no query log growing in the workers
        DJANGO_SECRET_KEY="stress-test-only",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(EXAMPLE_PROJECT)]),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE_PROJECT / "manage.py"), *args],
        cwd=EXAMPLE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"manage.py {' '.join(args)}:\n{completed.stdout}{completed.stderr}"
    return completed.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """SIGTERM gunicorn if the test process dies without tearing down (Linux PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@contextlib.contextmanager
def _gunicorn(env: dict[str, str], log: Path) -> Iterator[int]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=EXAMPLE_PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers go with it on teardown
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            _wait_ready(process, port, log)
            yield port
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/scim/v2/ServiceProviderConfig")
            status = connection.getresponse().status
            connection.close()
            if status in (200, 401):  # answering through Django
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = time.monotonic()
    with _fresh_database(f"scim_stress_{os.getpid()}") as url:
        env = _environment(url)
        _manage(env, "migrate", "--noinput", "-v", "0")
        token = _manage(env, "scim_token", "create", "stress").strip()
        log = tmp_path_factory.mktemp("stress") / "gunicorn.log"
        with _gunicorn(env, log) as port:
            print(f"\nstress: database migrated and gunicorn ready in {time.monotonic() - started:.1f}s")
            yield Server(port, token)


def _concurrently(calls: list[Callable[[], Reply]]) -> tuple[list[Reply], float]:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(CLIENT_THREADS, len(calls))) as pool:
        replies = list(pool.map(lambda call: call(), calls))
    return replies, time.monotonic() - started


def _statuses(replies: list[Reply]) -> Counter[int]:
    return Counter(reply.status for reply in replies)


def _create_users(server: Server, prefix: str, count: int) -> list[str]:
    def create(i: int) -> Callable[[], Reply]:
        return lambda: server.request("POST", "/Users", {"schemas": [USER], "userName": f"{prefix}-{i}"})

    replies, _ = _concurrently([create(i) for i in range(count)])
    assert _statuses(replies) == {201: count}, [r.body for r in replies if r.status != 201][:3]
    return [reply.body["id"] for reply in replies]


def _version(reply: Reply) -> int:
    return int(reply.body["meta"]["version"].removeprefix("W/").strip('"'))


def test_concurrent_member_adds_to_one_group_are_all_kept(server: Server) -> None:
    """(a) 200 PATCH add-member requests race on one group row: the row lock serialises them."""
    members = _create_users(server, "member", 200)
    group = server.request("POST", "/Groups", {"schemas": [GROUP], "displayName": "stress-all"})
    assert group.status == 201, group.body
    path = f"/Groups/{group.body['id']}"

    def add(member: str) -> Callable[[], Reply]:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}],
        }
        return lambda: server.request("PATCH", path, body)

    replies, seconds = _concurrently([add(m) for m in members])
    print(f"stress (a): 200 PATCH add-member in {seconds:.2f}s: {dict(_statuses(replies))}")
    assert all(reply.status in (200, 204) for reply in replies), _statuses(replies)
    final = server.request("GET", path)
    assert final.status == 200
    assert sorted(m["value"] for m in final.body.get("members", [])) == sorted(members)
    # Every PATCH changed the group once: the version counts exactly the 200 writes.
    assert _version(final) == _version(group) + 200


def test_concurrent_creates_of_one_user_name_make_one_row(server: Server) -> None:
    """(b) 50 POSTs of the same userName: the check and the unique constraint let one through."""
    body = {"schemas": [USER], "userName": "same-name"}
    replies, seconds = _concurrently([lambda: server.request("POST", "/Users", body)] * 50)
    statuses = _statuses(replies)
    print(f"stress (b): 50 POST same userName in {seconds:.2f}s: {dict(statuses)}")
    assert statuses == {201: 1, 409: 49}, [r.body for r in replies if r.status not in (201, 409)][:3]
    for reply in replies:
        if reply.status == 409:
            assert reply.body["schemas"] == [ERROR] and reply.body["scimType"] == "uniqueness"
    found = server.request("GET", '/Users?filter=userName eq "same-name"'.replace(" ", "%20"))
    assert found.status == 200 and found.body["totalResults"] == 1


def test_concurrent_puts_with_one_if_match_let_one_through(server: Server) -> None:
    """(c) 20 PUTs with the same If-Match: the first to lock the row wins, the others get 412."""
    user = server.request("POST", "/Users", {"schemas": [USER], "userName": "put-race"})
    assert user.status == 201
    path, etag = f"/Users/{user.body['id']}", user.headers["etag"]

    def put(i: int) -> Callable[[], Reply]:
        body = {"schemas": [USER], "userName": "put-race", "nickName": f"writer-{i}"}
        return lambda: server.request("PUT", path, body, headers={"If-Match": etag})

    replies, seconds = _concurrently([put(i) for i in range(20)])
    statuses = _statuses(replies)
    print(f"stress (c): 20 PUT same If-Match in {seconds:.2f}s: {dict(statuses)}")
    assert statuses == {200: 1, 412: 19}, statuses
    winner = next(reply for reply in replies if reply.status == 200)
    final = server.request("GET", path)
    assert final.body["nickName"] == winner.body["nickName"]
    assert _version(final) == _version(user) + 1


#: PATCH replace of one attribute each, spread over the model's columns (name.givenName,
#: name.familyName, active) and the companion's JSON document (the others).
ATTRIBUTES = {
    "name.givenName": "Barbara",
    "name.familyName": "Jensen",
    "active": False,
    "nickName": "Babs",
    "title": "Tour Guide",
    "displayName": "Babs Jensen",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "profileUrl": "https://login.example.com/bjensen",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours",
}


def test_concurrent_patches_of_different_attributes_lose_nothing(server: Server) -> None:
    """(d) PATCH replace of different attributes at once, no If-Match: no update is lost."""
    rounds = 3
    users = [
        server.request("POST", "/Users", {"schemas": [USER], "userName": f"patch-race-{r}"})
        for r in range(rounds)
    ]
    calls: list[Callable[[], Reply]] = []
    for user in users:
        assert user.status == 201
        path = f"/Users/{user.body['id']}"
        for attribute, value in ATTRIBUTES.items():
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": attribute, "value": value}],
            }
            calls.append(functools.partial(server.request, "PATCH", path, body))
    replies, seconds = _concurrently(calls)
    print(
        f"stress (d): {len(calls)} PATCH of distinct attributes in {seconds:.2f}s: {dict(_statuses(replies))}"
    )
    assert all(reply.status in (200, 204) for reply in replies), [r.body for r in replies if r.status >= 300][
        :3
    ]
    lost: dict[str, list[str]] = {}
    for user in users:
        final = server.request("GET", f"/Users/{user.body['id']}")
        doc = final.body
        enterprise = doc.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {})
        got = {
            "name.givenName": doc.get("name", {}).get("givenName"),
            "name.familyName": doc.get("name", {}).get("familyName"),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": enterprise.get(
                "department"
            ),
            **{k: doc.get(k) for k in ATTRIBUTES if "." not in k and not k.startswith("urn:")},
        }
        missing = sorted(k for k, v in ATTRIBUTES.items() if got[k] != v)
        if missing:
            lost[user.body["id"]] = missing
        # Each PATCH changed something: the version counts every write, serialised.
        assert _version(final) == _version(user) + len(ATTRIBUTES)
    assert not lost, f"lost updates: {lost}"
