"""Shared start-up of the benchmark scripts: the virtualenv, ``sys.path`` and Django.

Standard library only at import time: it runs before the virtualenv is known to be ready.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PROJECT = REPO_ROOT / "example_project"
SETTINGS_MODULE = "benchmarks.settings"
#: ``1`` when ``run.py --without-log`` runs: the benchmark settings turn the provisioning log off.
WITHOUT_LOG_VARIABLE = "SCIM_BENCH_WITHOUT_LOG"


def add_paths() -> None:
    """Make ``benchmarks`` / ``tests`` (repo root) and ``config`` (example project) importable."""
    for entry in (str(REPO_ROOT), str(EXAMPLE_PROJECT)):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def ensure_environment(script: str, argv: Sequence[str], modules: Sequence[str]) -> None:
    """Return when ``modules`` import here; otherwise bootstrap ``.venv`` and re-exec inside it.

    An interpreter that already has everything (a tox env, CI's venv) is used as it is, so the
    smoke test never reinstalls anything; only a bare ``python benchmarks/run.py`` bootstraps.
    """
    add_paths()
    if all(importlib.util.find_spec(name) is not None for name in modules):
        return
    from tests._bootstrap import BootstrapError, ensure_venv

    try:
        ensure_venv(script, argv, groups=("bench",))
    except BootstrapError as exc:
        sys.exit(f"bootstrap: error: {exc}")


def configure_django(database_url: str) -> None:
    """``django.setup()`` with the benchmark settings on ``database_url``; call once per process."""
    add_paths()
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    import django

    django.setup()


def server_environment(database_url: str) -> dict[str, str]:
    """Environment of the gunicorn server: the same settings and database as the runner."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), str(EXAMPLE_PROJECT), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env
