"""The development virtualenv shared by ``tests/run.py`` and ``example_project/demo.py``.

Standard library only: this runs under whatever ``python`` the developer or CI typed, before anything
of ours is installed. :func:`ensure_venv` makes ``<repo>/.venv`` exist with the package installed in
editable mode plus the requested ``[dependency-groups]`` of ``pyproject.toml``, then re-executes the
calling script with the venv's interpreter. It reinstalls only when ``pyproject.toml`` changed (a
hash stamp inside ``.venv``) or a group is missing, and recreates the venv when it is broken or was
built by a different ``major.minor`` Python.

Keep this module importable by Python 3.7+ so an old interpreter gets a clear message instead of a
``SyntaxError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterator, Sequence
from pathlib import Path

MIN_PYTHON = (3, 11)
REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv"
# pip learned ``--group`` (PEP 735) in 25.1; the pip that ``venv`` bundles with 3.11 is older.
PIP_REQUIREMENT = "pip>=25.1"
# The extra makes ``DATABASE_URL=postgres://...`` work for the example project too.
EDITABLE_TARGET = ".[postgres]"
_STAMP = VENV_DIR / ".django-scim-bootstrap.json"
# Set across the re-exec, so a venv that does not report itself as such fails loudly instead of looping.
_REEXEC_MARKER = "DJANGO_SCIM_BOOTSTRAPPED"


class BootstrapError(RuntimeError):
    """The virtualenv could not be created or populated; the message says what to do."""


def require_python() -> None:
    """Exit with a readable message when the interpreter is older than :data:`MIN_PYTHON`."""
    if sys.version_info < MIN_PYTHON:
        wanted = ".".join(str(part) for part in MIN_PYTHON)
        found = ".".join(str(part) for part in sys.version_info[:3])
        sys.exit(
            f"django-scim-provider needs Python >= {wanted}; this is Python {found} ({sys.executable}).\n"
            f"Run it with a newer interpreter, e.g. `python{wanted} {sys.argv[0]}`."
        )


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    """Path of the interpreter inside ``venv_dir``."""
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def running_in_venv(venv_dir: Path = VENV_DIR) -> bool:
    """Whether the current interpreter is the one of ``venv_dir``."""
    try:
        return Path(sys.prefix).resolve() == venv_dir.resolve()
    except OSError:
        return False


def ensure_venv(script: str | Path, argv: Sequence[str], groups: Sequence[str] = ()) -> None:
    """Make ``.venv`` ready for ``groups``; re-execute ``script argv...`` inside it unless already there.

    Returns only when the current process is the venv's interpreter and the install is current.
    """
    require_python()
    inside = running_in_venv()
    if inside and _stamp_satisfies(groups):
        return
    if not inside and os.environ.get(_REEXEC_MARKER) == str(VENV_DIR):
        raise BootstrapError(
            f"re-executed with {venv_python()} but sys.prefix is {sys.prefix}; remove {VENV_DIR} and retry"
        )
    with _bootstrap_lock():
        if not inside:
            _ensure_interpreter()
        if not _stamp_satisfies(groups):
            _install(groups)
    if not inside:
        _reexec(Path(script), argv)


def _pyproject_digest() -> str:
    return hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _read_stamp() -> dict[str, object]:
    try:
        data = json.loads(_STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stamped_groups() -> set[str]:
    stamp = _read_stamp()
    groups = stamp.get("groups")
    if stamp.get("pyproject_sha256") != _pyproject_digest() or not isinstance(groups, list):
        return set()
    return {str(group) for group in groups}


def _stamp_satisfies(groups: Sequence[str]) -> bool:
    stamp = _read_stamp()
    return stamp.get("pyproject_sha256") == _pyproject_digest() and set(groups) <= _stamped_groups()


@contextlib.contextmanager
def _bootstrap_lock() -> Iterator[None]:
    """Serialise bootstraps of the same checkout (two terminals, an editor and a shell)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks in the standard library worth the trouble.
        yield
        return
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"django-scim-bootstrap-{key}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _venv_version() -> tuple[int, int] | None:
    """``(major, minor)`` of the venv's interpreter, or None when it is missing or broken."""
    python = venv_python()
    if not python.exists():
        return None
    try:
        result = subprocess.run(
            [str(python), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = result.stdout.split()
    if result.returncode != 0 or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def _ensure_interpreter() -> None:
    current = sys.version_info[:2]
    found = _venv_version()
    if found == current:
        return
    if found is None and not VENV_DIR.exists():
        _say(f"creating {_rel(VENV_DIR)} with Python {'.'.join(map(str, current))}")
    elif found is None:
        _say(f"{_rel(VENV_DIR)} is broken (no working interpreter): recreating it")
    else:
        _say(
            f"{_rel(VENV_DIR)} was built with Python {'.'.join(map(str, found))}, "
            f"this is {'.'.join(map(str, current))}: recreating it"
        )
    try:
        venv.EnvBuilder(with_pip=True, clear=VENV_DIR.exists(), symlinks=os.name != "nt").create(VENV_DIR)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BootstrapError(
            f"could not create {VENV_DIR}: {exc}\n"
            "On Debian/Ubuntu the system Python needs `apt-get install python3-venv`."
        ) from exc


def _install(groups: Sequence[str]) -> None:
    wanted = sorted(set(groups) | _stamped_groups())
    python = str(venv_python())
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    group_args = [arg for group in wanted for arg in ("--group", group)]
    _say(
        f"installing {EDITABLE_TARGET} (editable)"
        + (f" with dependency groups {', '.join(wanted)}" if wanted else "")
        + f" into {_rel(VENV_DIR)}"
    )
    _run([*pip, "install", "--upgrade", PIP_REQUIREMENT])
    _run([*pip, "install", "--editable", EDITABLE_TARGET, *group_args])
    _STAMP.write_text(
        json.dumps({"pyproject_sha256": _pyproject_digest(), "groups": wanted}, indent=2) + "\n",
        encoding="utf-8",
    )


def _run(command: list[str]) -> None:
    result = subprocess.run(command, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        raise BootstrapError(f"`{' '.join(command)}` failed with exit code {result.returncode}")


def _reexec(script: Path, argv: Sequence[str]) -> None:
    python = str(venv_python())
    bindir = str(venv_python().parent)
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(VENV_DIR)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env[_REEXEC_MARKER] = str(VENV_DIR)
    command = [python, str(script.resolve()), *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":
        sys.exit(subprocess.run(command, env=env, check=False).returncode)
    os.execve(python, command, env)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _say(message: str) -> None:
    print(f"bootstrap: {message}", flush=True)
