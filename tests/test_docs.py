"""The documentation cannot drift from the code: every example in docs/ runs here.

- ``docs/ref/settings.rst`` has a section for every key of ``django_scim.conf.DEFAULTS`` (and no
  other), its ``Default:`` equals the real default, and its examples pass the system checks.
- The snippet modules of ``docs/snippets/`` (the pages ``literalinclude`` them) are imported as the
  site's ``myapp.scim`` and exercised through the SCIM API.
- The identity providers' request bodies of ``docs/snippets/requests/`` are sent to the server.
- The ``>>>`` examples of the pages run as doctests against a test database.
- The error table of ``docs/ref/errors.rst`` matches ``django_scim.core.errors``.
- ``sphinx-build -W`` builds the site (when Sphinx is installed).
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import inspect
import json
import logging
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import checks, mail
from django.urls import URLResolver, get_resolver

from django_scim.checks import check_scim_settings
from django_scim.conf import DEFAULTS, scim_settings
from django_scim.core import errors
from tests.conftest import ScimClient

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
REQUESTS = SNIPPETS / "requests"
SETTINGS_RST = DOCS / "ref" / "settings.rst"

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def myapp() -> Iterator[types.ModuleType]:
    """``docs/snippets/scim_adapters.py`` importable as ``myapp.scim``, the name the pages use."""
    package = types.ModuleType("myapp")
    package.__path__ = []
    spec = importlib.util.spec_from_file_location("myapp.scim", SNIPPETS / "scim_adapters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["myapp"], sys.modules["myapp.scim"] = package, module
    spec.loader.exec_module(module)
    package.scim = module  # type: ignore[attr-defined]
    yield module
    del sys.modules["myapp"], sys.modules["myapp.scim"]


def load_snippet(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_snippet_{name}", SNIPPETS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_labels(value: Any) -> Any:
    """The pages call the site's app ``teams``; the same models live in ``tests.testapp`` here."""
    return json.loads(json.dumps(value).replace('"teams.', '"testapp.'))


def settings_module(name: str) -> dict[str, Any]:
    """The assignments of a settings snippet (plain literals, as a settings file has)."""
    tree = ast.parse((SNIPPETS / f"{name}.py").read_text(encoding="utf-8"))
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def request_body(name: str, **ids: str) -> Any:
    text = (REQUESTS / name).read_text(encoding="utf-8")
    # Longest first: "OTHER-USER-ID" contains "USER-ID".
    for placeholder, value in sorted(ids.items(), key=lambda item: -len(item[0])):
        text = text.replace(placeholder.replace("_", "-"), value)
    return json.loads(text)


def body(response: Any) -> Any:
    return response.json() if response.content else None


# --- the settings reference ------------------------------------------------------------------


def settings_sections() -> dict[str, str]:
    """``{heading: section text}`` of the settings reference (headings underlined with ``-``)."""
    lines = SETTINGS_RST.read_text(encoding="utf-8").splitlines()
    starts = [
        i
        for i in range(len(lines) - 1)
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", lines[i]) and re.fullmatch(r"-{3,}", lines[i + 1])
    ]
    sections: dict[str, str] = {}
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        sections[lines[start]] = "\n".join(lines[start + 2 : end])
    return sections


def literal_blocks(text: str) -> list[str]:
    """Bodies of the ``code-block`` directives and ``::`` literal blocks of an rst text."""
    blocks: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not (line.rstrip().endswith("::") and not line.strip().startswith("..")) and not re.match(
            r"\s*\.\. code-block::", line
        ):
            continue
        indent = len(line) - len(line.lstrip())
        body_lines: list[str] = []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            if following.strip().startswith(":") and not body_lines:
                continue  # a directive option
            body_lines.append(following)
        blocks.append(textwrap.dedent("\n".join(body_lines)).strip())
    return blocks


def test_every_setting_has_a_reference_section() -> None:
    """One section per key of DEFAULTS, and no section for a name that is not a setting."""
    sections = settings_sections()
    assert sorted(set(DEFAULTS) - set(sections)) == [], "settings without a section in docs/ref/settings.rst"
    assert sorted(set(sections) - set(DEFAULTS)) == [], "sections for names that are not settings"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_documented_default_is_the_real_default(name: str) -> None:
    text = settings_sections().get(name, "")
    inline = re.search(r"^Default: ``(.+?)``\s*$", text, re.M)
    if inline:
        documented = ast.literal_eval(inline.group(1))
    else:
        assert re.search(r"^Default::\s*$", text, re.M), f"{name}: no 'Default: ``...``' nor 'Default::'"
        documented = ast.literal_eval(literal_blocks(text[text.index("Default::") :])[0])
    assert documented == DEFAULTS[name]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
@pytest.mark.django_db
def test_settings_reference_examples_pass_the_checks(name: str, settings: Any) -> None:
    """Each setting has an example ``SCIM = {...}`` block; applied, it imports and checks clean."""
    examples = [
        block for block in literal_blocks(settings_sections().get(name, "")) if block.startswith("SCIM = ")
    ]
    assert examples, f"{name}: no example"
    for example in examples:
        value = site_labels(ast.literal_eval(example.removeprefix("SCIM = ")))
        assert name in value, f"{name}: the example does not set it"
        settings.SCIM = value
        for key in value:
            getattr(scim_settings, key)  # resolves dotted paths
        problems = [m for m in check_scim_settings() if m.level >= checks.ERROR]
        assert problems == [], example


# --- snippets --------------------------------------------------------------------------------


def test_integration_snippets_add_the_app_and_the_urls() -> None:
    namespace: dict[str, Any] = {"INSTALLED_APPS": ["django.contrib.auth"]}
    exec((SNIPPETS / "integration_settings.py").read_text(encoding="utf-8"), namespace)
    assert namespace["INSTALLED_APPS"][-2:] == ["rest_framework", "django_scim"]
    assert namespace["SCIM"] == {}
    namespace = {"urlpatterns": []}
    exec((SNIPPETS / "integration_urls.py").read_text(encoding="utf-8"), namespace)
    (pattern,) = namespace["urlpatterns"]
    assert isinstance(pattern, URLResolver) and pattern.namespace == "scim"
    assert str(pattern.pattern) == "scim/v2/"
    # The test site mounts the app the same way.
    assert get_resolver().resolve("/scim/v2/Users").namespace == "scim"


@pytest.mark.django_db
def test_site_adapter_snippet(settings: Any, scim: ScimClient, caplog: pytest.LogCaptureFixture) -> None:
    from django.contrib.auth.models import User

    settings.SCIM = settings_module("settings_site")["SCIM"]
    with caplog.at_level(logging.INFO, logger="myapp.scim"):
        response = scim.scim(
            "POST",
            "/Users",
            {"schemas": [USER], "userName": "ada", "name": {"givenName": "Ada"}, "title": "Countess"},
        )
    assert response.status_code == 201, response.content
    created = response.json()
    user = User.objects.get(username="ada")
    assert user.last_name == "Countess" and created["title"] == "Countess"
    assert created["displayName"] == "Ada Countess"
    assert not user.has_usable_password()
    assert "SCIM created user" in caplog.text
    # title is a model field: filterable; displayName is computed: a 400, never a silent result.
    assert scim.get_scim('/Users?filter=title eq "countess"').json()["totalResults"] == 1
    refused = scim.get_scim('/Users?filter=displayName eq "Ada Countess"')
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidFilter"
    # The pre_save hook refuses admin accounts, and nothing is written.
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "admin-root"})
    assert response.status_code == 403
    assert not User.objects.filter(username="admin-root").exists()


@pytest.mark.django_db
def test_audit_token_snippet_reads_but_cannot_write(settings: Any) -> None:
    from django_scim.models import ScimToken

    settings.SCIM = settings_module("settings_site")["SCIM"]
    _row, raw = ScimToken.issue("audit-siem")
    audit = ScimClient(raw)
    assert audit.get_scim("/Users").status_code == 200
    response = audit.scim("POST", "/Users", {"schemas": [USER], "userName": "x"})
    assert response.status_code == 403 and response.json()["status"] == "403"
    assert ScimClient(None).get_scim("/Users").status_code == 401


@pytest.mark.django_db
def test_team_groups_snippet_needs_no_code(settings: Any, scim: ScimClient) -> None:
    from tests.testapp.models import Team

    settings.SCIM = site_labels(settings_module("settings_team_groups")["SCIM"])
    assert [m for m in check_scim_settings() if m.level >= checks.ERROR] == []
    alice = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "alice"}).json()
    response = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Blue", "members": [{"value": alice["id"]}]}
    )
    assert response.status_code == 201, response.content
    team = Team.objects.get(title="Blue")
    assert [u.username for u in team.members.all()] == ["alice"]
    found = scim.get_scim('/Groups?filter=displayName eq "Blue"&excludedAttributes=members').json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    assert scim.get_scim(f"/Users/{alice['id']}").json()["groups"][0]["display"] == "Blue"


def test_custom_user_snippet_is_the_tested_variant() -> None:
    """The custom-user page shows tests/settings/custom_models.py, which tests/variants/ run."""
    from tests.settings import custom_models

    shown = site_labels(settings_module("settings_custom_user"))
    assert shown == {"AUTH_USER_MODEL": custom_models.AUTH_USER_MODEL, "SCIM": custom_models.SCIM}


@pytest.mark.django_db
def test_receivers_snippet(
    scim: ScimClient, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    receivers = load_snippet("scim_receivers")
    receivers.connect()
    try:
        with caplog.at_level(logging.INFO, logger="myapp.audit"):
            with django_capture_on_commit_callbacks(execute=True):
                created = scim.scim(
                    "POST",
                    "/Users",
                    {"schemas": [USER], "userName": "ada", "emails": [{"value": "ada@example.com"}]},
                ).json()
            assert [m.to for m in mail.outbox] == [["ada@example.com"]]
            with django_capture_on_commit_callbacks(execute=True):
                scim.scim(
                    "PUT", f"/Users/{created['id']}", {"schemas": [USER], "userName": "ada", "active": False}
                )
            assert "deactivated user" in caplog.text and created["id"] in caplog.text
            with django_capture_on_commit_callbacks(execute=True):
                assert scim.scim("DELETE", f"/Users/{created['id']}").status_code == 204
            assert f"SCIM client tests deleted User {created['id']}" in caplog.text
    finally:
        receivers.disconnect()


# --- what identity providers send --------------------------------------------------------------

#: Request bodies sent by the tests below; a new file in docs/snippets/requests/ must be added.
CREATE_BODIES = {
    "entra-create-user.json": "/Users",
    "entra-create-group.json": "/Groups",
    "okta-create-user.json": "/Users",
}
PATCH_BODIES = {
    "entra-patch-disable.json": "User",
    "entra-patch-attributes.json": "User",
    "entra-patch-dotted-keys.json": "User",
    "okta-patch-deactivate.json": "User",
    "entra-patch-add-members.json": "Group",
    "entra-patch-remove-members.json": "Group",
    "entra-patch-remove-member-filter.json": "Group",
    "okta-patch-rename-group.json": "Group",
    "okta-patch-members.json": "Group",
    "okta-patch-replace-members.json": "Group",
}
PUT_BODIES = {"okta-put-deactivate.json"}


def test_every_request_body_is_sent_by_a_test() -> None:
    files = {path.name for path in REQUESTS.glob("*.json")}
    assert files == set(CREATE_BODIES) | set(PATCH_BODIES) | PUT_BODIES


@pytest.mark.parametrize("name", sorted(CREATE_BODIES))
@pytest.mark.django_db
def test_identity_provider_create_bodies(name: str, scim: ScimClient) -> None:
    response = scim.scim("POST", CREATE_BODIES[name], request_body(name))
    assert response.status_code == 201, response.content
    again = scim.scim("POST", CREATE_BODIES[name], request_body(name))
    assert again.status_code == 409 or CREATE_BODIES[name] == "/Groups", again.content


@pytest.mark.django_db
def test_identity_provider_lookups_and_okta_put(scim: ScimClient) -> None:
    """The queries the IdP guides show, and Okta's deactivation by PUT."""
    user = scim.scim("POST", "/Users", request_body("okta-create-user.json")).json()
    okta = scim.get_scim('/Users?filter=userName eq "test.user@okta.local"&startIndex=1&count=100').json()
    assert okta["totalResults"] == 1 and okta["itemsPerPage"] == 1 and okta["startIndex"] == 1
    assert scim.get_scim('/Users?filter=externalId eq "00ujl29u0le5T6Aj10h7"').json()["totalResults"] == 1
    group = scim.scim("POST", "/Groups", request_body("entra-create-group.json")).json()
    found = scim.get_scim('/Groups?excludedAttributes=members&filter=displayName eq "displayName"').json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert scim.get_scim(f"/Groups/{group['id']}?excludedAttributes=members").status_code == 200
    response = scim.scim(
        "PUT", f"/Users/{user['id']}", request_body("okta-put-deactivate.json", USER_ID=user["id"])
    )
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert scim.get_scim(f"/Users/{user['id']}").json()["active"] is False


@pytest.mark.parametrize("name", sorted(PATCH_BODIES))
@pytest.mark.django_db
def test_identity_provider_patch_bodies(name: str, scim: ScimClient) -> None:
    user = scim.scim("POST", "/Users", request_body("okta-create-user.json")).json()
    other = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "other"}).json()
    group = scim.scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Team", "members": [{"value": user["id"]}]}
    ).json()
    ids = {"USER_ID": user["id"], "OTHER_USER_ID": other["id"], "GROUP_ID": group["id"]}
    target = f"/Users/{user['id']}" if PATCH_BODIES[name] == "User" else f"/Groups/{group['id']}"
    response = scim.scim("PATCH", target, request_body(name, **ids))
    assert response.status_code in (200, 204), response.content


# --- doctests in the pages -------------------------------------------------------------------

DOCTEST_PAGES = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.rst") if ">>> " in p.read_text())


def doctest_globals(scim: ScimClient) -> dict[str, Any]:
    """What the ``>>>`` examples may use: ``get``, ``post``, ``put``, ``patch``, ``delete``."""

    def call(method: str) -> Any:
        def send(path: str, data: Any = None) -> Any:
            return body(scim.scim(method, path, data))

        return send

    return {name.lower(): call(name) for name in ("GET", "POST", "PUT", "PATCH", "DELETE")} | {"scim": scim}


@pytest.mark.parametrize("page", DOCTEST_PAGES)
@pytest.mark.django_db
def test_page_examples(page: str, scim: ScimClient) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, doctest_globals(scim), page, str(DOCS / page), 0)
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=output.append)
    assert result.attempted > 0 and result.failed == 0, "".join(output)


# --- the errors reference --------------------------------------------------------------------


def test_errors_table_matches_the_error_classes() -> None:
    text = (DOCS / "ref" / "errors.rst").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\s*:class:`~django_scim\.core\.errors\.(\w+)`\s+(.+)$", text, re.M))
    classes = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ScimError) and cls is not errors.ScimError
    }
    assert sorted(rows) == sorted(classes)
    for name, cls in classes.items():
        scim_type = f"``{cls.scim_type}``" if cls.scim_type else "(none)"
        assert rows[name].split()[:2] == [scim_type, str(cls.status)], name


# --- the build -------------------------------------------------------------------------------


def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("furo") is None:
        pytest.skip("sphinx and furo are not installed (pip install --group docs)")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.django_db
def test_custom_extension_snippet(settings: Any, scim: ScimClient) -> None:
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"ADAPTER": "myapp.scim.AcmeUserAdapter"}}}
    acme = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    created = scim.scim(
        "POST",
        "/Users",
        {"schemas": [USER, acme], "userName": "bjensen", acme: {"badgeNumber": "B-7", "floor": 3}},
    )
    assert created.status_code == 201, created.content
    assert created.json()[acme] == {"badgeNumber": "B-7", "floor": 3}
    assert scim.get_scim(f"/Schemas/{acme}").json()["name"] == "AcmeUser"
    assert scim.get_scim(f'/Users?filter={acme}:badgeNumber eq "B-7"').json()["totalResults"] == 1
    assert scim.get_scim(f"/Users?filter={acme}:floor gt 2").json()["totalResults"] == 1
    wrong = scim.scim("POST", "/Users", {"schemas": [USER, acme], "userName": "x", acme: {"floor": "high"}})
    assert wrong.status_code == 400 and wrong.json()["scimType"] == "invalidValue"
