#!/usr/bin/env python
"""The test command: ``python tests/run.py [pytest args...]``.

1. Bootstraps ``<repo>/.venv`` (see ``tests/_bootstrap.py``) and re-executes itself inside it.
2. ``ruff check .``, ``ruff format --check .``, ``mypy django_scim tests`` and ``mypy benchmarks``
   (configured in ``pyproject.toml``: the django-stubs and DRF plugins, the test settings)
3. pytest on SQLite (in memory): the main suite, then ``tests/variants`` under
   ``tests.settings.custom_models`` (a custom user model and a Team model as groups).
4. pytest on a throwaway PostgreSQL cluster: a fresh temp dir, a free port on 127.0.0.1, started with
   the ``initdb``/``pg_ctl`` found on PATH or under ``/usr/lib/postgresql/*/bin``, always stopped and
   deleted afterwards. A ``DATABASE_URL`` already in the environment is ignored: a run never depends
   on a server it did not start. The same two suites, then the reads, lookups, writes and
   tenancy tests under ``tests.settings.prepared_statements`` (server-side binding, prepared
   statements; the whole suite passes there too, this part keeps it so in under a minute).

Extra arguments go to both pytest runs. ``SCIM_TEST_DATABASES=sqlite`` or ``=postgres`` runs one
database only. Without the PostgreSQL binaries the PostgreSQL run is skipped, except under ``CI=true``
(or when asked for by name), where it fails. Exit status is non-zero when any step failed; pytest's
"no tests collected" (exit 5) counts as a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._bootstrap import REPO_ROOT, BootstrapError, ensure_venv, require_python  # noqa: E402

DATABASES = ("sqlite", "postgres")
PYTEST_NO_TESTS = 5
PG_USER = "postgres"  # The superuser initdb creates (-U) and the OS user the server runs as under root.


@dataclass
class StepResult:
    """One line of the final summary."""

    name: str
    status: str  # "passed", "FAILED" or "skipped"
    detail: str = ""
    seconds: float | None = None

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"

    def __str__(self) -> str:
        timing = f" ({self.seconds:.1f}s)" if self.seconds is not None else ""
        detail = f"  {self.detail}" if self.detail else ""
        return f"  {self.name:<12} {self.status}{timing}{detail}"


def _say(message: str) -> None:
    print(f"run.py: {message}", flush=True)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _selected_databases() -> tuple[list[str], bool]:
    """Databases to run and whether the user named them explicitly."""
    raw = os.environ.get("SCIM_TEST_DATABASES", "").strip()
    if not raw:
        return list(DATABASES), False
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(DATABASES))
    if unknown or not names:
        sys.exit(f"SCIM_TEST_DATABASES={raw!r}: use {', '.join(DATABASES)} or both, comma-separated")
    return [name for name in DATABASES if name in names], True


def _print_versions() -> None:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist in ("django", "djangorestframework", "pytest", "psycopg"):
        try:
            found.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            found.append(f"{dist} (missing)")
    _say(f"Python {sys.version.split()[0]}; " + ", ".join(found))


def run_tool(module: str, *args: str) -> StepResult:
    """``python -m <module> <args>`` in the repository (ruff, mypy)."""
    command = [sys.executable, "-m", module, *args]
    name = " ".join((module, *args))
    _say(f"$ {name}")
    started = time.monotonic()
    code = subprocess.run(command, cwd=REPO_ROOT, check=False).returncode
    elapsed = time.monotonic() - started
    if code == 0:
        return StepResult(name, "passed", seconds=elapsed)
    return StepResult(name, "FAILED", f"exit {code}", elapsed)


#: The suites run on each database: the main one, and the variant with a custom user model and
#: a Team model as groups (AUTH_USER_MODEL is fixed per process, so it needs its own run). On
#: PostgreSQL also the endpoints with server-side binding and prepared statements.
SUITES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("", (), False),
    ("custom models", ("--ds", "tests.settings.custom_models", "tests/variants"), False),
    (
        "prepared statements",
        (
            "--ds",
            "tests.settings.prepared_statements",
            "tests/orm",
            "tests/tenancy",
            *(
                f"tests/rest/test_{name}.py"
                for name in (
                    "query_cost",
                    "lookups",
                    "cached_pages",
                    "written_documents",
                    "write_cost",
                    "listing",
                    "users",
                    "patch_clients",
                    "authentication",
                )
            ),
        ),
        True,
    ),
)


def run_suites(name: str, args: Sequence[str], database_url: str | None) -> list[StepResult]:
    results = []
    for suffix, extra, postgres_only in SUITES:
        if postgres_only and not database_url:
            continue
        label = f"{name} ({suffix})" if suffix else name
        result = run_pytest(label, [*args, *extra], database_url)
        if extra and args and result.detail.startswith("pytest exit 5"):
            # Arguments that select tests elsewhere leave the variant suite empty: not a failure.
            result = StepResult(label, "skipped", "no test selected", result.seconds)
        results.append(result)
    return results


def run_pytest(name: str, args: Sequence[str], database_url: str | None) -> StepResult:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    _say(f"$ pytest {' '.join(args)}".rstrip() + f"  [{name}]")
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", *args]
    code = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode
    elapsed = time.monotonic() - started
    if code == 0:
        return StepResult(name, "passed", seconds=elapsed)
    if code == PYTEST_NO_TESTS:
        return StepResult(name, "FAILED", "pytest exit 5: no tests collected", elapsed)
    return StepResult(name, "FAILED", f"pytest exit {code}", elapsed)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def find_postgres_bindir() -> Path | None:
    """Directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's versioned directories."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version_key, reverse=True)
    for candidate in candidates:
        if (candidate.parent / "pg_ctl").exists():
            return candidate.parent
    if initdb and pg_ctl:
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temp dir, on a free port, deleted on exit (also on Ctrl-C).

    The server refuses to run as root, so under root it runs as the OS user ``postgres`` via ``runuser``.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.tmpdir: Path | None = None
        self.started = False
        self.port = 0

    @property
    def datadir(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "data"

    @property
    def logfile(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "server.log"

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bindir / tool), *args]
        if os.name == "posix" and os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root needs `runuser` to start PostgreSQL as user postgres")
            return [runuser, "-u", PG_USER, "--", *command]
        return command

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        # A new session keeps the server out of our process group: Ctrl-C reaches us, and we stop it.
        return subprocess.run(
            self._command(tool, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            cwd=self.tmpdir,  # Under runuser our cwd may not be readable by postgres.
            check=False,
        )

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self._start()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _start(self) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="scim-pg-"))
        if os.name == "posix" and os.geteuid() == 0:
            import pwd

            try:
                account = pwd.getpwnam(PG_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root: PostgreSQL must run as OS user {PG_USER!r}, which does not exist"
                ) from None
            os.chown(self.tmpdir, account.pw_uid, account.pw_gid)
        init = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            PG_USER,
            "--auth=trust",
            "--no-sync",
            "--no-locale",
            "--encoding=UTF8",
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {init.returncode}):\n{init.stdout}{init.stderr}")
        last_error = ""
        for _attempt in range(3):  # The free port can be taken between probing and binding.
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.tmpdir} -c listen_addresses=127.0.0.1"
                # Durability is pointless for a cluster deleted in a minute; this makes tests faster.
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            log = str(self.logfile)
            start = self._run(
                "pg_ctl", "-D", str(self.datadir), "-l", log, "-o", options, "-w", "-t", "60", "start"
            )
            if start.returncode == 0:
                self.started = True
                return
            last_error = start.stdout + start.stderr + self._log_tail()
        raise RuntimeError(f"pg_ctl start failed:\n{last_error}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def _cleanup(self) -> None:
        if self.tmpdir is None:
            return
        # A second Ctrl-C must not abandon a half-stopped cluster.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._stop_and_remove(self.tmpdir)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.tmpdir = None

    def _stop_and_remove(self, tmpdir: Path) -> None:
        if self.started or (self.datadir / "postmaster.pid").exists():
            stop = self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop")
            if stop.returncode != 0:
                self._kill_postmaster()
            self.started = False
        shutil.rmtree(tmpdir, ignore_errors=True)
        if tmpdir.exists():
            print(f"run.py: warning: could not remove {tmpdir}", file=sys.stderr)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # Immediate shutdown; the postmaster takes its children down.
        except ProcessLookupError:
            return
        for _ in range(100):
            time.sleep(0.1)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        os.kill(pid, signal.SIGKILL)


def run_postgres(args: Sequence[str], required: bool) -> list[StepResult]:
    bindir = find_postgres_bindir()
    if bindir is None:
        hint = "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        if required:
            return [StepResult("postgres", "FAILED", hint)]
        return [StepResult("postgres", "skipped", hint)]
    started = time.monotonic()
    try:
        with ThrowawayPostgres(bindir) as cluster:
            _say(f"PostgreSQL ({bindir}) up on 127.0.0.1:{cluster.port} in {time.monotonic() - started:.1f}s")
            result = run_suites("postgres", args, cluster.url)
            stopping = time.monotonic()
        _say(f"PostgreSQL stopped and removed in {time.monotonic() - stopping:.1f}s")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        elapsed = time.monotonic() - started
        return [StepResult("postgres", "FAILED", f"could not run PostgreSQL: {exc}", elapsed)]
    return result


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into the same unwinding as Ctrl-C, so the cluster is stopped and deleted.
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    require_python()
    databases, explicit = _selected_databases()
    try:
        ensure_venv(__file__, argv, groups=("test", "lint", "types", "docs"))
    except BootstrapError as exc:
        print(f"bootstrap: error: {exc}", file=sys.stderr)
        return 1
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _terminate)
    _print_versions()
    results: list[StepResult] = []
    try:
        results.append(run_tool("ruff", "check", "."))
        results.append(run_tool("ruff", "format", "--check", "."))
        # Two runs: the tests import the example settings as ``example_project.config.settings``,
        # the benchmark as the server does, ``config.settings``; one run cannot hold both names.
        results.append(run_tool("mypy", "django_scim", "tests"))
        results.append(run_tool("mypy", "benchmarks"))
        if "sqlite" in databases:
            results.extend(run_suites("sqlite", argv, None))
        if "postgres" in databases:
            results.extend(run_postgres(argv, required=explicit or _in_ci()))
    except KeyboardInterrupt:
        results.append(StepResult("interrupted", "FAILED", "Ctrl-C or a termination signal"))
        _print_summary(results)
        return 130
    _print_summary(results)
    return 1 if any(result.failed for result in results) else 0


def _print_summary(results: Sequence[StepResult]) -> None:
    print("\nrun.py summary:", flush=True)
    for result in results:
        print(result, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
