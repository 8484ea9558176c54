"""End to end in a real headless Chromium: the admin answers "why did provisioning fail?".

Log in to the admin, create a token on its add page (the raw token is shown once, in a
message), make a failing SCIM request with it, and find that request in the provisioning log.
Runs with Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them) and
skips with the reason where they, or Selenium, are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth import get_user_model

from django_scim.models import ProvisioningLog, ScimToken

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PASSWORD = "e2e-admin-password"


def _find(variable: str, names: tuple[str, ...], fallback: str) -> str | None:
    """An executable: the environment variable's path, else on PATH, else Debian's path."""
    configured = os.environ.get(variable)
    candidates = [configured] if configured else [*(shutil.which(name) for name in names), fallback]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


CHROMIUM = _find("SCIM_E2E_CHROMIUM", ("chromium", "chromium-browser"), "/usr/bin/chromium")
CHROMEDRIVER = _find("SCIM_E2E_CHROMEDRIVER", ("chromedriver",), "/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason=(
            "end-to-end admin test needs Chromium and its driver: "
            "`apt-get install -y chromium chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver), "
            "or set SCIM_E2E_CHROMIUM / SCIM_E2E_CHROMEDRIVER"
        ),
    ),
    # live_server serves from another thread: the data must be committed, on SQLite and PostgreSQL.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (test group)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",  # Containers and root: Chromium's sandbox needs privileges CI lacks.
        "--disable-gpu",
        "--disable-dev-shm-usage",  # /dev/shm is tiny in containers.
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1024",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never goes looking for (or downloading) one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(driver: WebDriver, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _post_json(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "User-Agent": "e2e-idp/1.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (our live server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_admin_token_then_failed_provisioning_is_found_in_the_log(
    live_server: Any, browser: WebDriver
) -> None:
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    base = live_server.url

    # 1. Log in.
    browser.get(f"{base}/admin/login/?next=/admin/")
    _wait_for(browser, "#id_username").send_keys("admin")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _wait_for(browser, "#user-tools")

    # 2. Create a token; the admin shows it once.
    browser.get(f"{base}/admin/django_scim/scimtoken/add/")
    _wait_for(browser, "#id_name").send_keys("okta-e2e")
    browser.find_element(By.NAME, "_save").click()
    message = _wait_for(browser, ".messagelist .warning").text
    match = re.search(r"scim_[A-Za-z0-9_-]+", message)
    assert match, message
    raw = match.group(0)
    assert ScimToken.objects.get(name="okta-e2e").prefix == raw[:11]

    # 3. The identity provider sends a user without userName (RFC 7643 section 4.1.1: required).
    status, error = _post_json(
        f"{base}/scim/v2/Users",
        raw,
        {"schemas": [USER], "displayName": "Nameless Person", "password": "hunter2-e2e"},
    )
    assert status == 400, error
    assert error["scimType"] == "invalidValue"
    assert ProvisioningLog.objects.filter(status=400).count() == 1

    # 4. Find it in the provisioning log: failed requests, searched by the detail text.
    browser.get(f"{base}/admin/django_scim/provisioninglog/?outcome=failed")
    search = _wait_for(browser, "#searchbar")
    search.send_keys("userName")
    search.submit()
    table = _wait_for(browser, "#result_list")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 1, table.text
    row = rows[0].text
    assert "/scim/v2/Users" in row and "400" in row and "invalidValue" in row and "okta-e2e" in row

    # 5. Its detail page says why, and never shows the password.
    rows[0].find_element(By.CSS_SELECTOR, "th a, td a").click()
    _wait_for(browser, "#content")
    page = browser.find_element(By.ID, "content").text
    assert error["detail"] in page
    assert "Nameless Person" in page and "[redacted]" in page
    assert "hunter2-e2e" not in browser.page_source
    assert "e2e-idp/1.0" in page
