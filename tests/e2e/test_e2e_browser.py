"""The human pages in a real browser: the distribution's headless Chromium, driven through
chromedriver by selenium, against ``serverless-pypi serve`` over real HTTP.

Screenshots of ``/`` and a project page are taken on every run (and checked to be PNGs);
with ``SERVERLESS_PYPI_SCREENSHOTS=docs`` they are written to ``docs/`` for the README.
Without the browser (``TEST_CHROMIUM`` names another binary) the tests skip, which CI counts
as a failure.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.localserver import LocalIndex, start

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = "/usr/bin/chromedriver"
DOCS = Path(__file__).resolve().parents[2] / "docs"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,960",
)
DESCRIPTION = """\
# Acme Widgets

Widgets for **every** occasion, with `zero` configuration.

<script>window.__pwned = true;</script>
<img src="nowhere.png" onerror="window.__pwned_img = true" alt="broken">

| feature | status |
|---------|--------|
| fast    | yes    |

```python
import acme_widgets
acme_widgets.make()
```
"""


@pytest.fixture(scope="module")
def published(index: LocalIndex) -> LocalIndex:
    headers = (
        "Summary: Widgets for every occasion",
        "Description-Content-Type: text/markdown",
        "Project-URL: Source, https://git.example.internal/acme/widgets",
        "License-Expression: MIT",
    )
    for version in ("1.0.0", "1.1.0"):
        data = wheel_bytes(
            "acme-widgets",
            version,
            requires=("attrs>=23",),
            requires_python=">=3.10",
            headers=headers,
            description=DESCRIPTION,
        )
        index.publish(f"acme-widgets/{wheel_filename('acme-widgets', version)}", data)
    rst = "Gadget tools\n============\n\nSmall *tools* for gadgets.\n"
    data = sdist_bytes(
        "gadget-tools", "0.3", headers=("Summary: Tools for gadgets",), description=rst
    )
    index.publish(f"gadget-tools/{sdist_filename('gadget-tools', '0.3')}", data)
    return index


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        # A skip here (not at import) is a failure under CI=true (see tests/conftest.py).
        pytest.skip("needs the distribution's chromium and chromium-driver: make browser")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def base(index: LocalIndex) -> str:
    return index.index_url.removesuffix("simple/")


def screenshot(driver: webdriver.Chrome, name: str, tmp_path: Path) -> None:
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (tmp_path / name).write_bytes(png)
    if os.environ.get("SERVERLESS_PYPI_SCREENSHOTS") == "docs":
        (DOCS / name).write_bytes(png)


def test_welcome_page_lists_projects_and_configuration(
    published: LocalIndex, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(base(published))
    assert browser.title == "Package index"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Package index"
    rows = browser.find_elements(By.CSS_SELECTOR, "#projects ~ table tbody tr")
    assert rows
    cells = [[c.text for c in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert [c[0] for c in cells] == ["gadget-tools", "acme-widgets"]  # newest release first
    assert cells[1][1:3] == ["1.1.0", "Widgets for every occasion"]
    # The inline script filled in the absolute index URL in every configuration snippet.
    urls = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "[data-index-rel]")}
    assert urls == {published.index_url}
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "[[tool.uv.index]]" in page and "[[tool.pdm.source]]" in page
    label = browser.find_element(By.CSS_SELECTOR, "label[for=q]")
    assert label.text == "Search projects"
    screenshot(browser, "web-home.png", tmp_path)


def test_search_finds_a_project(published: LocalIndex, browser: webdriver.Chrome) -> None:
    browser.get(base(published))
    box = browser.find_element(By.ID, "q")
    box.send_keys("gadget")
    box.submit()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("q=gadget"))
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tbody tr td:first-child a")]
    assert names == ["gadget-tools"]
    assert "1 project matching" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.LINK_TEXT, "gadget-tools").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_is("gadget-tools 0.3"))
    assert browser.find_element(By.CSS_SELECTOR, ".description em").text == "tools"


def test_project_page_renders_the_description_and_runs_no_script_from_it(
    published: LocalIndex, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(base(published) + "project/acme-widgets/")
    assert browser.title == "acme-widgets 1.1.0"
    description = browser.find_element(By.CSS_SELECTOR, ".description")
    assert description.find_element(By.TAG_NAME, "h1").text == "Acme Widgets"
    assert description.find_element(By.TAG_NAME, "strong").text == "every"
    assert description.find_element(By.CSS_SELECTOR, "table td").text == "fast"
    assert "acme_widgets.make()" in description.find_element(By.TAG_NAME, "pre").text
    assert not description.find_elements(By.TAG_NAME, "script")
    flags = browser.execute_script("return [window.__pwned, window.__pwned_img]")
    assert flags == [None, None]
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Requires Python" in main and ">=3.10" in main and "MIT" in main
    install = browser.find_element(By.CSS_SELECTOR, "#install + pre").text
    assert install == f"pip install --index-url {published.index_url} acme-widgets"
    screenshot(browser, "web-project.png", tmp_path)
    # Hashes on request: hidden until the disclosure is opened.
    summary = browser.find_elements(By.CSS_SELECTOR, "details summary")[0]
    code = browser.find_elements(By.CSS_SELECTOR, "details code")[0]
    assert not code.is_displayed()
    summary.click()
    assert code.is_displayed() and code.text.startswith("sha256=")
    # A version's own page, reached from the release history.
    browser.find_element(By.LINK_TEXT, "1.0.0").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_is("acme-widgets 1.0.0"))
    files = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")]
    assert files == ["acme_widgets-1.0.0-py3-none-any.whl"]


def test_not_found_page_links_home(published: LocalIndex, browser: webdriver.Chrome) -> None:
    browser.get(base(published) + "project/no-such-project/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
    assert "no-such-project" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.LINK_TEXT, "Back to the package index").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_is("Package index"))


def test_pages_work_with_basic_auth(browser: webdriver.Chrome) -> None:
    """With ``--auth`` a browser without credentials gets the 401 challenge, and with them
    (sent as a browser would after its prompt) the pages."""
    from test_e2e_auth import READER, add_users

    server = start("--auth", "--ephemeral")
    try:
        add_users(server)
        server.credentials = READER
        server.publish(
            f"secret-tool/{wheel_filename('secret-tool', '2.0')}", wheel_bytes("secret-tool", "2.0")
        )
        browser.get(base(server))
        assert browser.title != "Package index"
        token = base64.b64encode(":".join(READER).encode()).decode()
        browser.execute_cdp_cmd("Network.enable", {})
        browser.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}}
        )
        browser.get(base(server))
        assert browser.title == "Package index"
        browser.find_element(By.LINK_TEXT, "secret-tool").click()
        WebDriverWait(browser, 10).until(expected_conditions.title_is("secret-tool 2.0"))
        main = browser.find_element(By.TAG_NAME, "main").text
        assert "user name and password" not in main  # that note is on the welcome page
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        assert server.stop() == 0
