"""The browser tier: the web console in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by scripts/browser.sh), driven by Selenium.

Outside CI a missing browser skips the tier with the command that installs it; in CI
(CI=true) it fails, since this tier must run there. Screenshots of every tab are saved in
.cache/console-screenshots/ (the README's come from there, copied to docs/console/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
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


# One WebDriver command's bound, in seconds: a tab that stopped answering is replaced, not
# waited on until pytest's 300 s timeout (which then failed every later test of the module).
COMMAND_SECONDS = 60


class Chromium:
    """The module's headless Chromium, started again when its tab crashed or stopped answering.

    `driver()` checks the running one with a script (at most `COMMAND_SECONDS`); on any failure
    it stops it (chromedriver and Chromium killed if `quit` leaves them) and starts a new one
    with a fresh profile, so one crashed tab fails one test, not the rest of the module.
    Downloads always land in `downloads`."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> None:
        self._tmp = tmp_path_factory
        self._downloads = downloads
        self._driver: Any = None
        self._browser_pid: int | None = None
        self.restarts = 0

    def driver(self) -> Any:
        if self._driver is not None:
            try:
                self._driver.execute_script("return 1")
                return self._driver
            except Exception as error:  # whatever it is, this browser is gone
                reason = str(error).strip()[:120]
                print(f"Chromium no longer answers ({reason}): starting a new one")
                self.stop()
                self.restarts += 1
        self._driver = self._start()
        return self._driver

    def _start(self) -> Any:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.remote.remote_connection import RemoteConnection

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._tmp.mktemp('chromium-profile')}")
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(self._downloads),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False,
            },
        )
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        executor = driver.command_executor
        assert isinstance(executor, RemoteConnection)
        executor.client_config.timeout = COMMAND_SECONDS
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(self._downloads)},
        )
        driver.implicitly_wait(0)
        browsers = psutil.Process(driver.service.process.pid).children()
        self._browser_pid = browsers[0].pid if browsers else None
        return driver

    def stop(self) -> None:
        """Quit the browser; whatever of it still runs then (chromedriver, and Chromium with its
        children, also when chromedriver died first and left it to init) is killed."""
        driver, self._driver = self._driver, None
        if driver is None:
            return
        leftovers = _browser_processes(driver.service.process.pid, self._browser_pid)
        with contextlib.suppress(Exception):  # a hung chromedriver or browser: killed below
            driver.quit()
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(leftovers, timeout=10)


def _browser_processes(chromedriver: int, browser: int | None) -> list[psutil.Process]:
    """chromedriver and every process under it, and Chromium with its children even when
    chromedriver is gone (Chromium is chromedriver's child: its pid is recorded at start)."""
    found: list[psutil.Process] = []
    for pid in (chromedriver, browser):
        if pid is None:
            continue
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            found += [root, *root.children(recursive=True)]
    return list({process.pid: process for process in found}.values())


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Chromium]:
    _require_browser()
    browsers = Chromium(tmp_path_factory, downloads)
    try:
        yield browsers
    finally:
        browsers.stop()


@pytest.fixture
def browser(chromium: Chromium) -> object:
    """A headless Chromium that answers (the module's, or a new one if its tab crashed);
    downloads land in `downloads`."""
    return chromium.driver()


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
