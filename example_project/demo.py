#!/usr/bin/env python
"""The demo command: ``python example_project/demo.py [--host H] [--port P] [--no-serve]``.

Bootstraps ``<repo>/.venv`` (shared with ``tests/run.py``), migrates the example project's database
(SQLite at ``example_project/db.sqlite3`` unless ``DATABASE_URL`` is set), creates a bearer token
with ``manage.py scim_token create``, prints the base URL, the token and curl lines, then runs
``manage.py runserver``. ``--no-serve`` stops before serving.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._bootstrap import BootstrapError, ensure_venv  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent
MANAGE = PROJECT_DIR / "manage.py"
TOKEN_NAME = "demo"

EXAMPLE_USER = (
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com", '
    '"name": {"givenName": "Ada", "familyName": "Lovelace"}, '
    '"emails": [{"value": "ada@example.com", "type": "work", "primary": true}], "active": true}'
)


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (default: 8000)")
    parser.add_argument("--no-serve", action="store_true", help="migrate and print the token, do not serve")
    return parser.parse_args(argv)


def _manage(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(MANAGE), *args]
    print(f"demo: $ python {MANAGE.relative_to(PROJECT_DIR.parent)} {' '.join(args)}", flush=True)
    result = subprocess.run(
        command, cwd=PROJECT_DIR, stdout=subprocess.PIPE if capture else None, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"demo: `manage.py {' '.join(args)}` failed with exit code {result.returncode}")
    return result


def _banner(base_url: str, token: str) -> str:
    auth = shlex.quote(f"Authorization: Bearer {token}")
    content_type = shlex.quote("Content-Type: application/scim+json")
    return "\n".join(
        [
            "",
            "SCIM service provider ready",
            f"  base URL:     {base_url}",
            f"  bearer token: {token}",
            "",
            "List users:",
            f"  curl -H {auth} {base_url}Users",
            "",
            "Create a user:",
            f"  curl -X POST -H {auth} -H {content_type} \\",
            f"       -d {shlex.quote(EXAMPLE_USER)} \\",
            f"       {base_url}Users",
            "",
            "Discovery:",
            f"  curl -H {auth} {base_url}ServiceProviderConfig",
            "",
            f"Admin: python {MANAGE.relative_to(PROJECT_DIR.parent)} createsuperuser, then "
            f"{base_url.removesuffix('scim/v2/')}admin/",
            "",
        ]
    )


def main(argv: Sequence[str]) -> int:
    args = _parse_args(argv)  # Before the bootstrap, so --help and typos answer at once.
    try:
        ensure_venv(__file__, argv)
    except BootstrapError as exc:
        print(f"bootstrap: error: {exc}", file=sys.stderr)
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _manage("migrate", "--noinput")
    token = _manage("scim_token", "create", TOKEN_NAME, "--replace", capture=True).stdout.strip()
    if not token or len(token.split()) != 1:
        sys.exit(f"demo: expected the token alone on stdout from `scim_token create`, got {token!r}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(_banner(f"http://{host}:{args.port}/scim/v2/", token), flush=True)
    if args.no_serve:
        return 0
    command = [sys.executable, str(MANAGE), "runserver", f"{host}:{args.port}"]
    os.chdir(PROJECT_DIR)
    if os.name == "nt":
        return subprocess.run(command, check=False).returncode
    os.execv(sys.executable, command)
    return 0  # Not reached: execv replaces the process.


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
