"""The browser tier: the web console in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by scripts/browser.sh), driven by Selenium.

Outside CI a missing browser skips the tier with the command that installs it; in CI
(CI=true) it fails, since this tier must run there. Screenshots of every tab are saved in
.cache/console-screenshots/ (the README's come from there, copied to docs/console/).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Datacenter, free_pool, running_datacenter

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--lang=fr-FR",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".cache" / "console-screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    message = f"{', '.join(missing)} missing; install them with scripts/browser.sh"
    if os.environ.get("CI"):
        pytest.fail(f"the browser tier must run in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[object]:
    """A headless Chromium with a fresh profile; downloads land in `downloads`."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def datacenter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datacenter]:
    """One controller for the module, with a simulated clock (the archives tab needs backups)."""
    with running_datacenter(
        tmp_path_factory.mktemp("dc"),
        free_pool(),
        clock="simulated",
        clock_start="2026-11-30T08:00",
        grafana_url="http://127.0.0.1:3000",
    ) as dc:
        yield dc


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
