#!/usr/bin/env python
"""The benchmark command: ``python benchmarks/run.py [--sizes 10000,100000] [--smoke] ...``.

One command runs it all (see ``benchmarks/README.md``):

1. bootstraps ``.venv`` with the ``bench`` dependency group when this interpreter lacks gunicorn;
2. starts a throwaway PostgreSQL cluster (``tests/run.py``'s :class:`ThrowawayPostgres`), or, with
   ``--database-url``, uses that server and creates (then drops) its own database there;
3. migrates, and for each size N: seeds N users and 100 groups through the ORM in bulk
   (``benchmarks/seed.py``), starts ``example_project`` under gunicorn (2 sync workers) on a free
   loopback port, and for each scenario replays its request once in-process to count SQL queries,
   then drives closed-loop load (fixed concurrency and duration, after a warm-up);
4. prints a table per size and a ratio summary, and writes JSON to ``benchmarks/results/``.

Every scenario is compared with the baseline, a bare DRF view doing one primary-key lookup on the
same gunicorn and database, measured at the start and at the end of each size and interleaved
with every scenario. After the scenario's warm-up, its ``--duration`` is measured in ``--slices``
K equal slices (default 5), with a baseline slice right before, between and right after them;
the K + 1 baseline slices share the ``--bracket`` seconds (default 4: 0.67 s each, at least
:data:`MIN_BASELINE_SLICE`), so a run lasts as long as with one slice. The scenario's slices are
merged (requests, errors, statuses, latencies, seconds, client CPU) and its ratio is its rate
over the baseline's in its interleaved slices (their requests over their seconds): a burst of
CPU stolen by the hypervisor slows both sides about alike. ``--slices 1`` is the older method:
one window per scenario, the baseline for ``--bracket`` seconds after it, the ratio to the mean of
the baselines just before and just after it. ``--smoke`` (no brackets) measures one window.
A scenario the server does not support yet (cursor paging not advertised, PATCH answering 501,
no ``/Bulk``, a filter answering 400/501) is reported as ``n/a`` with the reason, not as a failure.

Exit status: 0 when every measured scenario had no errors, 2 when some had errors, 1 when the
benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._setup import (  # noqa: E402
    EXAMPLE_PROJECT,
    REPO_ROOT,
    WITHOUT_LOG_VARIABLE,
    configure_django,
    ensure_environment,
    server_environment,
)
from benchmarks.loadgen import (  # noqa: E402
    HttpRequest,
    LoadGenerator,
    LoadResult,
    RequestFactory,
    merge_results,
)

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
SCIM = "/scim/v2"
MEDIA_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
POOL_SIZE = 1_000
PAGE_START_INDEX = 5_000
PAGE_SIZE = 100
BULK_OPERATIONS = 100
CURSOR_WALK_SECONDS = 300.0
WORKERS = 2
SMOKE_USERS = 200
SMOKE_DURATION = 2.0
#: Shortest interleaved baseline slice (``--slices``): a hundred or more baseline requests, so the
#: few still in flight at its deadline, drained after it, weigh little in its rate.
MIN_BASELINE_SLICE = 0.25


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- infrastructure ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_server(database_url: str | None) -> Iterator[str]:
    """URL of a PostgreSQL server: the one given, or a throwaway cluster stopped on exit."""
    if database_url:
        yield database_url
        return
    from tests.run import ThrowawayPostgres, find_postgres_bindir

    bindir = find_postgres_bindir()
    if bindir is None:
        raise RuntimeError(
            "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql), or pass --database-url"
        )
    started = time.monotonic()
    with ThrowawayPostgres(bindir) as cluster:
        _say(f"PostgreSQL ({bindir}) up on 127.0.0.1:{cluster.port} in {time.monotonic() - started:.1f}s")
        yield cluster.url
    _say("PostgreSQL stopped and removed")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


#: Connection options of ``--prepared-statements`` (read by the example project's settings).
PREPARED_STATEMENTS = {"server_side_binding": "true", "prepare_threshold": "5"}


def _with_options(url: str, options: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(options)]))
    return urlunsplit(parts._replace(query=query))


@contextlib.contextmanager
def bench_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` on the server (dropped first if a crashed run left it), dropped on exit."""
    if urlsplit(server_url).scheme not in {"postgres", "postgresql"}:
        raise RuntimeError(f"the benchmark needs PostgreSQL; --database-url is {server_url!r}")
    import psycopg
    from psycopg import sql

    def execute(statement: sql.Composed) -> None:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    ident = sql.Identifier(name)
    execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
    execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        yield _with_database(server_url, name)
    finally:
        from django.db import connections

        connections.close_all()
        execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the gunicorn child before exec: SIGTERM it if the runner dies (Linux ``PR_SET_PDEATHSIG``).

    A runner killed with SIGKILL (a test timeout, the OOM killer) cannot stop the server in its
    ``finally``; without this the master and its workers would outlive it in their own session.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class GunicornServer:
    """``example_project`` under gunicorn (sync workers) on a free loopback port, stopped on exit."""

    def __init__(self, database_url: str, logfile: Path, *, workers: int = WORKERS) -> None:
        self.database_url = database_url
        self.logfile = logfile
        self.workers = workers
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GunicornServer:
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            f"--chdir={EXAMPLE_PROJECT}",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            "--worker-class=sync",
            "--backlog=2048",
            "--timeout=120",
            "--graceful-timeout=10",
            "--log-level=warning",
        ]
        if Path("/dev/shm").is_dir():
            # Heartbeat files on tmpfs: a slow disk must not stall or kill workers mid-benchmark.
            command.append("--worker-tmp-dir=/dev/shm")
        log = self.logfile.open("ab")
        try:
            # Own session: a Ctrl-C reaches only us, and we stop the server in __exit__.
            self.process = subprocess.Popen(
                command,
                env=server_environment(self.database_url),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/bench/baseline/users/0"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback, our own server
                return
            except urllib.error.HTTPError:
                return  # 404 for pk 0: Django answers, the workers are up.
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), SIGKILL to its process group if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --- scenarios -----------------------------------------------------------------------------


@dataclass
class Context:
    """What the scenarios need to know about the seeded data."""

    users: int
    token: str
    big_group_id: str
    pool: list[dict[str, Any]]
    counter: itertools.count[int]
    extra: dict[str, Any] = field(default_factory=dict)

    def member(self, i: int) -> dict[str, Any]:
        return self.pool[i % len(self.pool)]


@dataclass
class Scenario:
    """A request shape to measure; ``factory`` is ``None`` when the server cannot serve it (n/a)."""

    name: str
    title: str
    factory: RequestFactory | None
    ok: tuple[int, ...] = (200,)
    #: Answers meaning "not implemented (yet)" for this scenario: reported n/a, not failed.
    unsupported: tuple[int, ...] = ()
    note: str = ""


@dataclass
class ScenarioResult:
    """One line of the table."""

    name: str
    title: str
    status: str  # "ok", "n/a" or "failed"
    note: str = ""
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    errors: int = 0
    error_rate: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    queries: int | None = None
    response_bytes: int | None = None
    client_cpu: float | None = None
    ratio: float | None = None
    #: The baseline this scenario's ratio is to: with ``--slices 1``, the mean of the ones measured
    #: just before and after it; otherwise its interleaved baseline slices' requests over their seconds.
    baseline_rps: float | None = None
    #: Requests per second of each measured slice of the scenario, in run order (one without slices).
    slice_rps: list[float] = field(default_factory=list)
    #: Requests per second of the baseline measurements around the scenario, in run order: the
    #: K + 1 interleaved slices, or (``--slices 1``) the baselines before and after it.
    baseline_slice_rps: list[float] = field(default_factory=list)
    #: Each scenario slice's rate over the mean of the baseline slices on either side of it: their
    #: spread is the noise that the pooled ``ratio`` averages out.
    slice_ratios: list[float | None] = field(default_factory=list)


def _q(value: str) -> str:
    return quote(value, safe="")


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _new_user(prefix: str, i: int) -> dict[str, Any]:
    name = f"bench-{prefix}-{i}@example.com"
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"{prefix}-ext-{i}",
        "name": {"givenName": "Bench", "familyName": f"{prefix.title()}{i}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


def _get(path: str) -> RequestFactory:
    request = HttpRequest("GET", path)
    return lambda i: request


class InProcess:
    """The same requests through ``django.test.Client`` against the same database: SQL per request."""

    def __init__(self, token: str) -> None:
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call(self, request: HttpRequest) -> tuple[int, bytes]:
        response = self.client.generic(
            request.method, request.path, data=request.body or b"", content_type=MEDIA_TYPE
        )
        return response.status_code, response.content

    def json(self, path: str) -> tuple[int, Any]:
        status, content = self.call(HttpRequest("GET", path))
        try:
            return status, json.loads(content) if content else None
        except ValueError:
            return status, None

    def measure(self, factory: RequestFactory, counter: Iterator[int]) -> tuple[int, int, bytes]:
        """Status, SQL query count and body of a request, counted on a second, warm call.

        The first call pays one-off work (the token's ``last_used`` write, lazy imports); each call
        gets its own request number, so a POST does not collide with the previous one's userName.
        """
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.call(factory(next(counter)))
        with CaptureQueriesContext(connection) as queries:
            status, content = self.call(factory(next(counter)))
        return status, len(queries.captured_queries), content


def _error_detail(content: bytes) -> str:
    try:
        detail = json.loads(content).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else content[:120].decode(errors="replace")


def _cursor_walk(ctx: Context, probe: InProcess) -> tuple[str | None, str]:
    """(cursor of the last page of users, note); RFC 9865 section 3: follow ``nextCursor`` to the end."""
    status, config = probe.json(f"{SCIM}/ServiceProviderConfig")
    pagination = (config or {}).get("pagination") if status == 200 else None
    if not isinstance(pagination, dict) or pagination.get("cursor") is not True:
        return None, "/ServiceProviderConfig does not advertise cursor paging (RFC 9865 section 4)"
    cursor = ""
    deadline = time.monotonic() + CURSOR_WALK_SECONDS
    for _page in range(ctx.users // PAGE_SIZE + 10):
        status, body = probe.json(f"{SCIM}/Users?count={PAGE_SIZE}&attributes=id&cursor={_q(cursor)}")
        if status != 200 or not isinstance(body, dict):
            return None, f"cursor walk: HTTP {status}"
        following = body.get("nextCursor")
        if not following:
            return cursor, ""
        cursor = str(following)
        if time.monotonic() > deadline:
            break
    return None, "cursor walk did not reach the last page in time"


def _post_created_ids() -> list[str]:
    """SCIM ids of users that the POST scenario created: they are not in ``bench-big`` yet."""
    from django_scim.models import ScimUser

    rows = ScimUser.objects.filter(resource__username__startswith="bench-post-").values_list("id", flat=True)
    return [str(value) for value in rows[:50_000]]


#: Makes a scenario's request factory from the seeded data, or says why it is n/a.
Builder = Callable[[Context, InProcess], RequestFactory | str]


def _baseline(ctx: Context, probe: InProcess) -> RequestFactory:
    return lambda i: HttpRequest("GET", f"/bench/baseline/users/{ctx.member(i)['pk']}")


def _scenarios() -> list[tuple[str, str, Builder]]:
    """(name, title, builder) in run order: reads first, then writes, so writes cannot skew reads."""

    def get_user(ctx: Context, probe: InProcess) -> RequestFactory:
        return lambda i: HttpRequest("GET", f"{SCIM}/Users/{ctx.member(i)['scim_id']}")

    def filter_on(attr: str, key: str) -> Callable[[Context, InProcess], RequestFactory]:
        def build(ctx: Context, probe: InProcess) -> RequestFactory:
            def make(i: int) -> HttpRequest:
                text = f'{attr} eq "{ctx.member(i)[key]}"'
                return HttpRequest("GET", f"{SCIM}/Users?filter={_q(text)}")

            return make

        return build

    def page(ctx: Context, probe: InProcess) -> RequestFactory:
        # N = 200 (smoke) has no index 5,000: the last full page stands in for it.
        start = min(PAGE_START_INDEX, max(1, ctx.users - PAGE_SIZE + 1))
        return _get(f"{SCIM}/Users?startIndex={start}&count={PAGE_SIZE}")

    def cursor_first(ctx: Context, probe: InProcess) -> RequestFactory | str:
        status, config = probe.json(f"{SCIM}/ServiceProviderConfig")
        pagination = (config or {}).get("pagination") if status == 200 else None
        if not isinstance(pagination, dict) or pagination.get("cursor") is not True:
            return "/ServiceProviderConfig does not advertise cursor paging (RFC 9865 section 4)"
        return _get(f"{SCIM}/Users?count={PAGE_SIZE}&cursor=")

    def cursor_last(ctx: Context, probe: InProcess) -> RequestFactory | str:
        cursor, note = _cursor_walk(ctx, probe)
        if cursor is None:
            return note
        return _get(f"{SCIM}/Users?count={PAGE_SIZE}&cursor={_q(cursor)}")

    def emails_co(ctx: Context, probe: InProcess) -> RequestFactory:
        text = 'emails.value co "1234"'
        return _get(f"{SCIM}/Users?filter={_q(text)}")

    def group_big(ctx: Context, probe: InProcess) -> RequestFactory:
        return _get(f"{SCIM}/Groups/{ctx.big_group_id}")

    def group_big_lean(ctx: Context, probe: InProcess) -> RequestFactory:
        return _get(f"{SCIM}/Groups/{ctx.big_group_id}?excludedAttributes=members")

    def groups_page(ctx: Context, probe: InProcess) -> RequestFactory:
        return _get(f"{SCIM}/Groups?startIndex=1&count={PAGE_SIZE}&excludedAttributes=members")

    def post_user(ctx: Context, probe: InProcess) -> RequestFactory:
        return lambda i: HttpRequest("POST", f"{SCIM}/Users", _json(_new_user("post", i)))

    def patch_user(ctx: Context, probe: InProcess) -> RequestFactory:
        def make(i: int) -> HttpRequest:
            operations = [
                {"op": "replace", "path": "active", "value": True},
                {
                    "op": "replace",
                    "path": "name",
                    "value": {"givenName": f"Patched{i}", "familyName": "User"},
                },
            ]
            body = _json({"schemas": [PATCH_OP], "Operations": operations})
            return HttpRequest("PATCH", f"{SCIM}/Users/{ctx.member(i)['scim_id']}", body)

        return make

    def patch_group_add(ctx: Context, probe: InProcess) -> RequestFactory:
        # Users made by the POST scenario are outside bench-big, so each add is a real insert
        # (once they run out, re-adding one is an idempotent add: still a full PATCH round).
        candidates = _post_created_ids() or [p["scim_id"] for p in ctx.pool]
        path = f"{SCIM}/Groups/{ctx.big_group_id}"

        def make(i: int) -> HttpRequest:
            operations = [
                {"op": "add", "path": "members", "value": [{"value": candidates[i % len(candidates)]}]}
            ]
            return HttpRequest("PATCH", path, _json({"schemas": [PATCH_OP], "Operations": operations}))

        return make

    def bulk(ctx: Context, probe: InProcess) -> RequestFactory | str:
        status, config = probe.json(f"{SCIM}/ServiceProviderConfig")
        bulk_config = (config or {}).get("bulk") if status == 200 else None
        if not isinstance(bulk_config, dict) or bulk_config.get("supported") is not True:
            return "/ServiceProviderConfig does not advertise bulk (RFC 7644 section 3.7)"

        def make(i: int) -> HttpRequest:
            operations = [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": f"u{k}",
                    "data": _new_user("bulk", i * 1000 + k),
                }
                for k in range(BULK_OPERATIONS)
            ]
            return HttpRequest(
                "POST", f"{SCIM}/Bulk", _json({"schemas": [BULK_REQUEST], "Operations": operations})
            )

        return make

    return [
        ("get_user", "GET /Users/{id}", get_user),
        ("filter_username", 'GET /Users?filter=userName eq "..."', filter_on("userName", "username")),
        (
            "filter_external_id",
            'GET /Users?filter=externalId eq "..."',
            filter_on("externalId", "external_id"),
        ),
        ("users_page", f"GET /Users page of {PAGE_SIZE} at startIndex {PAGE_START_INDEX}", page),
        ("users_cursor_first", f"GET /Users first page of {PAGE_SIZE} by cursor", cursor_first),
        ("users_cursor_last", f"GET /Users last page of {PAGE_SIZE} by cursor", cursor_last),
        ("filter_emails_co", 'GET /Users?filter=emails.value co "1234"', emails_co),
        ("group_big", "GET /Groups/{bench-big} (10,000 members)", group_big),
        ("group_big_no_members", "GET /Groups/{bench-big}?excludedAttributes=members", group_big_lean),
        ("groups_page", f"GET /Groups page of {PAGE_SIZE}, excludedAttributes=members", groups_page),
        ("post_user", "POST /Users", post_user),
        ("patch_user", "PATCH /Users/{id} replace active and name", patch_user),
        ("patch_group_add", "PATCH /Groups/{bench-big} add one member", patch_group_add),
        ("bulk_users", f"POST /Bulk with {BULK_OPERATIONS} user creations", bulk),
    ]


# RFC 7644 section 3.5.2: a PATCH answers 200 with the resource or 204 without it.
_OK_STATUSES = {"post_user": (201,), "patch_user": (200, 204), "patch_group_add": (200, 204)}
#: A filter the compiler refuses is 400 invalidFilter; an unimplemented method is 501 (or 405);
#: no /Bulk route is 404.
_UNSUPPORTED_STATUSES = {
    "filter_emails_co": (400, 501),
    "users_cursor_first": (400, 501),
    "users_cursor_last": (400, 501),
    "patch_user": (405, 501),
    "patch_group_add": (405, 501),
    "bulk_users": (404, 405, 501),
}


def build_scenario(name: str, title: str, builder: Builder, ctx: Context, probe: InProcess) -> Scenario:
    made = builder(ctx, probe)
    if isinstance(made, str):
        return Scenario(name, title, None, note=made)
    return Scenario(
        name, title, made, ok=_OK_STATUSES.get(name, (200,)), unsupported=_UNSUPPORTED_STATUSES.get(name, ())
    )


#: Measures one load phase of the given seconds, without warm-up, and returns what it measured.
Phase = Callable[[float], LoadResult]


@dataclass
class Interleaved:
    """A scenario measured in slices, with a baseline slice before, between and after them."""

    scenario_slices: list[LoadResult]
    baseline_slices: list[LoadResult]

    @property
    def scenario(self) -> LoadResult:
        """The scenario's slices merged: requests, errors, statuses, latencies, seconds, CPU."""
        return merge_results(self.scenario_slices)

    @property
    def baseline_rps(self) -> float:
        """The baseline's rate in the interleaved time: all its requests over all its seconds."""
        return merge_results(self.baseline_slices).rps


def baseline_slice_seconds(bracket: float, slices: int) -> float:
    """Length of one interleaved baseline slice: the ``slices + 1`` slices around a scenario share
    ``bracket`` seconds, so a run takes as long as with one slice, and none is shorter than
    :data:`MIN_BASELINE_SLICE`."""
    return max(bracket / (slices + 1), MIN_BASELINE_SLICE)


def interleave(
    scenario: Phase,
    baseline: Phase,
    *,
    duration: float,
    warmup: float,
    slices: int,
    baseline_slice: float,
) -> Interleaved:
    """The scenario's warm-up (discarded), then baseline, scenario, baseline, ..., scenario, baseline.

    ``duration`` is split into ``slices`` equal scenario slices, each with a baseline slice of
    ``baseline_slice`` seconds right before and right after it. A burst of CPU taken by the
    hypervisor then slows baseline and scenario slices alike, and the ratio of their pooled rates
    cancels what a baseline measured seconds away from the scenario cannot.
    """
    if warmup > 0:
        scenario(warmup)
    baseline_slices = [baseline(baseline_slice)]
    scenario_slices: list[LoadResult] = []
    for _ in range(slices):
        scenario_slices.append(scenario(duration / slices))
        baseline_slices.append(baseline(baseline_slice))
    return Interleaved(scenario_slices, baseline_slices)


def slice_ratios(scenario_rps: Sequence[float], baseline_rps: Sequence[float]) -> list[float | None]:
    """Each scenario slice's rate over the mean of the two baseline rates on either side of it.

    ``baseline_rps`` has one rate more than ``scenario_rps`` (before, between, after); otherwise,
    as for a scenario measured without baselines, there is nothing to divide by: ``[]``.
    """
    if not scenario_rps or len(baseline_rps) != len(scenario_rps) + 1:
        return []
    return [
        rate / ((before + after) / 2) if before + after > 0 else None
        for rate, before, after in zip(scenario_rps, baseline_rps[:-1], baseline_rps[1:], strict=True)
    ]


def measure(
    scenario: Scenario,
    ctx: Context,
    probe: InProcess,
    load: LoadGenerator,
    *,
    duration: float,
    warmup: float,
    concurrency: int,
    baseline: Scenario | None = None,
    slices: int = 1,
    baseline_slice: float = 0.0,
) -> ScenarioResult:
    """Probe ``scenario`` in-process (support, SQL count), then put it under load over loopback.

    With a ``baseline`` and ``slices`` > 1 the measured ``duration`` is cut into that many slices
    interleaved with baseline slices of ``baseline_slice`` seconds (:func:`interleave`), and the
    result's ``baseline_rps`` is the baseline's rate over them; otherwise one window, as always.
    """
    result = ScenarioResult(scenario.name, scenario.title, "n/a", note=scenario.note)
    if scenario.factory is None:
        return result
    status, queries, content = probe.measure(scenario.factory, ctx.counter)
    if status not in scenario.ok:
        if status in scenario.unsupported:
            result.note = f"HTTP {status}: {_error_detail(content)}"
            return result
        result.status = "failed"
        result.note = f"in-process probe answered HTTP {status}: {_error_detail(content)}"
        result.errors = result.requests = 1
        result.error_rate = 1.0
        return result
    if scenario.name == "bulk_users":
        failed = [op for op in json.loads(content).get("Operations", []) if str(op.get("status")) != "201"]
        if failed:
            result.status = "failed"
            result.note = f"bulk probe: {len(failed)} operations did not answer 201"
            return result
    result.queries = queries
    result.response_bytes = len(content)

    def phase(factory: RequestFactory, ok: tuple[int, ...]) -> Phase:
        return lambda seconds: load.run(factory, duration=seconds, warmup=0.0, concurrency=concurrency, ok=ok)

    measured: LoadResult
    if baseline is not None and baseline.factory is not None and slices > 1:
        interleaved = interleave(
            phase(scenario.factory, scenario.ok),
            phase(baseline.factory, baseline.ok),
            duration=duration,
            warmup=warmup,
            slices=slices,
            baseline_slice=baseline_slice,
        )
        measured = interleaved.scenario
        result.slice_rps = [part.rps for part in interleaved.scenario_slices]
        result.baseline_slice_rps = [part.rps for part in interleaved.baseline_slices]
        result.baseline_rps = interleaved.baseline_rps
        result.slice_ratios = slice_ratios(result.slice_rps, result.baseline_slice_rps)
    else:
        measured = load.run(
            scenario.factory, duration=duration, warmup=warmup, concurrency=concurrency, ok=scenario.ok
        )
        result.slice_rps = [measured.rps]
    result.status = "ok"
    result.requests = measured.requests
    result.errors = measured.errors
    result.error_rate = measured.error_rate
    result.statuses = dict(sorted(measured.statuses.items()))
    result.rps = measured.rps
    result.p50_ms = measured.percentile(0.50) * 1000
    result.p99_ms = measured.percentile(0.99) * 1000
    result.client_cpu = measured.client_cpu_seconds / measured.seconds if measured.seconds else None
    return result


def _pool(users: int) -> list[dict[str, Any]]:
    """Up to :data:`POOL_SIZE` seeded users, drawn with a fixed seed, that the reads cycle through."""
    from django.contrib.auth import get_user_model

    from benchmarks.seed import user_name

    picked = random.Random(11).sample(range(users), min(POOL_SIZE, users))
    names = [user_name(i) for i in picked]
    rows = get_user_model()._default_manager.filter(username__in=names)
    found = {
        username: {"pk": pk, "username": username, "scim_id": str(scim_id), "external_id": external}
        for pk, username, scim_id, external in rows.values_list(
            "pk", "username", "scim__id", "scim__external_id"
        )
    }
    return [found[name] for name in names if name in found]


def run_size(
    users: int,
    database_url: str,
    workdir: Path,
    *,
    duration: float,
    warmup: float,
    concurrency: int,
    only: set[str] | None,
    bracket: float = 0.0,
    slices: int = 1,
) -> dict[str, Any]:
    """Seed ``users`` users, serve them, measure every scenario; the JSON section of this size.

    With ``bracket`` > 0 every scenario is measured against the baseline around it: with
    ``slices`` 1, the baseline runs ``bracket`` seconds after each scenario and a scenario's ratio
    is to the mean of the baselines just before and after it; with ``slices`` K > 1 each scenario
    is K slices interleaved with K + 1 baseline slices that share ``bracket`` seconds.
    """
    from benchmarks.seed import seed

    _say(f"N = {users}: seeding")
    seeded = seed(users)
    pool = _pool(users)
    if not pool:
        raise RuntimeError("the benchmark needs at least one user (--sizes)")
    ctx = Context(users, seeded.token, seeded.big_group_id, pool, itertools.count())
    probe = InProcess(seeded.token)
    results: list[ScenarioResult] = []
    with GunicornServer(database_url, workdir / f"gunicorn-{users}.log") as server:
        _say(f"N = {users}: gunicorn ({WORKERS} sync workers) on 127.0.0.1:{server.port}")
        load = LoadGenerator(
            "127.0.0.1",
            server.port,
            # No Accept header, as most identity providers send none: the SCIM views answer
            # application/scim+json and the baseline application/json.
            headers={"Authorization": f"Bearer {seeded.token}", "Content-Type": MEDIA_TYPE},
            counter=ctx.counter,
        )
        start_title = "baseline: bare DRF view, GET by pk (start)"
        baseline = build_scenario("baseline", start_title, _baseline, ctx, probe)
        results.append(
            measure(baseline, ctx, probe, load, duration=duration, warmup=warmup, concurrency=concurrency)
        )
        _say(f"N = {users}: {'baseline':<22} {_describe(results[-1])}")
        brackets: list[float] = [results[-1].rps or 0.0]
        for name, title, builder in _scenarios():
            if only is not None and name not in only:
                continue
            scenario = build_scenario(name, title, builder, ctx, probe)
            # Interleaved: the scenario's slices alternate with baseline slices, so a burst of
            # stolen CPU lands on both sides of its ratio in about the same proportion.
            interleaved = bool(bracket) and slices > 1
            result = measure(
                scenario,
                ctx,
                probe,
                load,
                duration=duration,
                warmup=warmup,
                concurrency=concurrency,
                baseline=baseline if interleaved else None,
                slices=slices if interleaved else 1,
                baseline_slice=baseline_slice_seconds(bracket, slices) if interleaved else 0.0,
            )
            if interleaved:
                brackets.extend(result.baseline_slice_rps)
            elif bracket and result.rps is not None:
                # --slices 1: the baseline again right after each scenario, its ratio to the mean
                # of the baselines measured just before and just after it.
                after = measure(
                    baseline, ctx, probe, load, duration=bracket, warmup=0.0, concurrency=concurrency
                )
                brackets.append(after.rps or 0.0)
                result.baseline_rps = (brackets[-2] + brackets[-1]) / 2
                result.baseline_slice_rps = brackets[-2:]
                result.slice_ratios = slice_ratios(result.slice_rps, result.baseline_slice_rps)
            _say(f"N = {users}: {name:<22} {_describe(result)}")
            results.append(result)
        if bracket:
            closing = build_scenario(
                "baseline_end", "baseline: bare DRF view, GET by pk (end)", _baseline, ctx, probe
            )
            results.append(
                measure(closing, ctx, probe, load, duration=duration, warmup=0.0, concurrency=concurrency)
            )
            _say(f"N = {users}: {'baseline_end':<22} {_describe(results[-1])}")
        server_log = server.log_tail()
    baselines = [r.rps for r in results if r.name.startswith("baseline") and r.rps]
    mean_baseline = sum(baselines) / len(baselines) if baselines else None
    for result in results:
        reference = result.baseline_rps or mean_baseline
        if result.rps is not None and reference:
            result.ratio = result.rps / reference
    return {
        "users": users,
        "seed_seconds": round(seeded.seconds, 1),
        "baseline_rps": mean_baseline,
        "baseline_drift": (baselines[-1] / baselines[0] - 1) if len(baselines) == 2 else None,
        "baseline_brackets": brackets,
        "scenarios": [asdict(r) for r in results],
        "server_log_tail": server_log,
    }


def _describe(result: ScenarioResult) -> str:
    if result.status != "ok":
        return f"{result.status}: {result.note}"
    spread = _ratio_range(result.slice_ratios)
    return (
        f"{result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
        f"errors {result.errors}/{result.requests}  SQL {result.queries}"
        + (f"  slice ratios {spread}" if spread else "")
    )


# --- output --------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ratio_range(ratios: Sequence[float | None] | None) -> str:
    """``low-high`` of a scenario's slice ratios; empty for fewer than two (nothing to spread)."""
    known = [r for r in ratios or () if r is not None]
    return f"{min(known):.3f}-{max(known):.3f}" if len(known) > 1 else ""


def format_table(size: dict[str, Any]) -> str:
    """The per-size table: one line per scenario."""
    header = (
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "SQL/req",
        "ratio",
        "slice ratios",
        "client CPU",
    )
    rows = [header]
    for s in size["scenarios"]:
        if s["status"] != "ok":
            rows.append((s["name"], s["status"], "", "", "", "", "", "", s["note"][:70]))
            continue
        rows.append(
            (
                s["name"],
                _fmt(s["rps"], ".1f"),
                _fmt(s["p50_ms"], ".1f"),
                _fmt(s["p99_ms"], ".1f"),
                f"{s['error_rate'] * 100:.1f}%",
                str(s["queries"]),
                _fmt(s["ratio"], ".3f"),
                _ratio_range(s.get("slice_ratios")),
                f"{s['client_cpu'] * 100:.0f}%" if s["client_cpu"] is not None else "",
            )
        )
    widths = [max(len(row[i]) for row in rows if len(row[i]) < 40) for i in range(len(header))]
    lines = [f"N = {size['users']:,} (baseline {_fmt(size['baseline_rps'], '.1f')} req/s)"]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in enumerate(row[1:-1], 1)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def format_summary(sizes: list[dict[str, Any]]) -> str:
    """Ratio to the baseline per scenario across sizes, and its change from the first to the last
    size (a change of the ratio, not of req/s: the machine's own drift between sizes cancels)."""
    names = [s["name"] for s in sizes[0]["scenarios"]]
    header = ["scenario", *(f"ratio N={size['users']:,}" for size in sizes)]
    if len(sizes) > 1:
        header.append("ratio change")
    rows = [header]
    for name in names:
        found = [next((s for s in size["scenarios"] if s["name"] == name), None) for size in sizes]
        row = [name, *(_fmt(s["ratio"] if s else None, ".3f") for s in found)]
        if len(sizes) > 1:
            first, last = found[0], found[-1]
            if first and last and first["ratio"] and last["ratio"]:
                row.append(f"{(last['ratio'] / first['ratio'] - 1) * 100:+.0f}%")
            else:
                row.append("n/a")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), *(c.rjust(widths[i]) for i, c in enumerate(row[1:], 1))])
        for row in rows
    )


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False).stdout


def source_state() -> str:
    """The commit and the uncommitted changes of the working tree the servers import: a run
    whose source changes while it runs measures different code at different sizes."""
    return _git("rev-parse", "HEAD") + _git("diff", "HEAD")


def _metadata(args: argparse.Namespace, sizes: list[int]) -> dict[str, Any]:
    from importlib.metadata import version

    commit = _git("rev-parse", "--short", "HEAD").strip()
    dirty = _git("status", "--porcelain", "--untracked-files=no").strip()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server_version = cursor.fetchone()[0]
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("-dirty" if dirty else ""),
        "python": platform.python_version(),
        "django": version("django"),
        "djangorestframework": version("djangorestframework"),
        "gunicorn": version("gunicorn"),
        "postgresql": server_version,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "sizes": sizes,
        "duration": args.duration,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "bracket": args.bracket,
        "slices": args.slices,
        "baseline_slice": baseline_slice_seconds(args.bracket, args.slices) if args.slices > 1 else None,
        "workers": WORKERS,
        "smoke": args.smoke,
        "own_cluster": not args.database_url,
        "prepared_statements": args.prepared_statements,
        "provisioning_log": not args.without_log,
    }


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py", description="Load benchmark of the SCIM endpoints on PostgreSQL."
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated user counts N")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument(
        "--bracket",
        type=float,
        default=4.0,
        help="seconds of baseline measured per scenario (its ratio is to the baselines around it); "
        "0 measures the baseline only at the start and compares every scenario with that",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=5,
        help="measure each scenario in this many equal slices of --duration, with a baseline slice "
        "before, between and after them (the K + 1 baseline slices share --bracket seconds, "
        f"{MIN_BASELINE_SLICE:g} s at least each); the ratio is the scenario's rate over the "
        "baseline's in those slices. 1: one window, the baseline for --bracket seconds after it. "
        "Without baseline (--bracket 0, --smoke) there is nothing to interleave: one slice",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"N = {SMOKE_USERS}, {SMOKE_DURATION:g} s per scenario, no warm-up, {WORKERS} in flight: "
        "checks that the benchmark works",
    )
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/db of a running server to use instead of a throwaway cluster; "
        "the benchmark creates and drops its own database there",
    )
    parser.add_argument(
        "--prepared-statements",
        action="store_true",
        help="run the server with Django's server-side binding and psycopg's prepared statements "
        "(server_side_binding=true&prepare_threshold=5) for every query of the site, the baseline's "
        "included, as a site without a transaction-pooling proxy may (the SCIM endpoints prepare "
        "their own statements either way)",
    )
    parser.add_argument(
        "--without-log",
        action="store_true",
        help='run the server with SCIM["LOG_ENABLED"] = False, to measure what the provisioning log '
        "(on by default, one INSERT after every write) costs the writes",
    )
    parser.add_argument("--scenarios", help="comma-separated scenario names to run (default: all)")
    parser.add_argument("--output", type=Path, help="JSON file to write (default: benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes = str(SMOKE_USERS)
        args.duration = SMOKE_DURATION
        # Smoke checks that every scenario works, and must stay under a minute: no warm-up, and one
        # request in flight per worker, so the tail after the deadline is at most one slow request.
        args.warmup = 0.0
        args.concurrency = min(args.concurrency, WORKERS)
        # Nor baselines between the scenarios: the start baseline is enough to show it works.
        args.bracket = 0.0
    if args.duration <= 0 or args.warmup < 0 or args.concurrency < 1 or args.bracket < 0 or args.slices < 1:
        parser.error(
            "--duration must be > 0, --warmup >= 0, --bracket >= 0, --concurrency >= 1 and --slices >= 1"
        )
    if not args.bracket:
        args.slices = 1
    try:
        args.size_list = [int(part.replace("_", "")) for part in args.sizes.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--sizes: not a list of integers: {args.sizes!r}")
    if not args.size_list or min(args.size_list) < 1:
        parser.error("--sizes needs at least one N >= 1")
    return args


def settings_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment variables through which ``args`` reach ``benchmarks/settings.py``."""
    return {WITHOUT_LOG_VARIABLE: "1" if args.without_log else "0"}


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so gunicorn and the cluster are stopped and deleted.
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    ensure_environment(__file__, argv, ["django", "psycopg", "gunicorn"])
    args = parse_args(argv)
    # Read by the benchmark settings, here (the SQL count) and in gunicorn (server_environment()).
    os.environ.update(settings_environment(args))
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _terminate)
    only = {name.strip() for name in args.scenarios.split(",")} if args.scenarios else None
    # The process id keeps two runs on one shared server (two developers, the suite twice) from
    # dropping each other's database mid-run.
    database_name = f"scim_bench{'_smoke' if args.smoke else ''}_{os.getpid()}"
    started = time.monotonic()
    report: dict[str, Any] = {}
    try:
        with contextlib.ExitStack() as stack:
            server_url = stack.enter_context(postgres_server(args.database_url))
            database_url = stack.enter_context(bench_database(server_url, database_name))
            if args.prepared_statements:
                database_url = _with_options(database_url, PREPARED_STATEMENTS)
            configure_django(database_url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            report["meta"] = _metadata(args, args.size_list)
            source = source_state()
            workdir = Path(stack.enter_context(_tempdir()))
            report["sizes"] = [
                run_size(
                    n,
                    database_url,
                    workdir,
                    duration=args.duration,
                    warmup=args.warmup,
                    concurrency=args.concurrency,
                    only=only,
                    bracket=args.bracket,
                    slices=args.slices,
                )
                for n in args.size_list
            ]
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except (RuntimeError, OSError) as exc:
        _say(f"error: {exc}")
        return 1
    report["meta"]["seconds"] = round(time.monotonic() - started, 1)
    # gunicorn starts anew for every size and imports the working tree as it is then.
    report["meta"]["source_changed"] = source_state() != source
    if report["meta"]["source_changed"]:
        _say("warning: the source changed during the run; its sizes measured different code")
    output = args.output or RESULTS_DIR / (
        f"bench-{'smoke' if args.smoke else '-'.join(map(str, args.size_list))}-"
        f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for size in report["sizes"]:
        print(format_table(size) + "\n")
    print(format_summary(report["sizes"]))
    print(f"\nJSON: {output}  ({report['meta']['seconds']:.0f} s)")
    failed = [
        s for size in report["sizes"] for s in size["scenarios"] if s["status"] == "failed" or s["errors"]
    ]
    if failed:
        _say("scenarios with errors: " + ", ".join(sorted({s["name"] for s in failed})))
        return 2
    return 0


@contextlib.contextmanager
def _tempdir() -> Iterator[str]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="scim-bench-") as path:
        yield path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
