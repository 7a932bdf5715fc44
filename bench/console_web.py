"""The web console's pages: the operator's fleet page with 1000 registered schools beside the
`/sd/schools` JSON of the same fleet, and a school's Clients tab with 200 live connections
beside the console API's ListConnections that the CLI calls, all measured in the same run.

`python -m bench.console_web [--schools N] [--connections C] [--loads L] [--json]`

1. Fleet: a registry with N demo schools, registered and NOT started (as
   bench/metrics_exposition.py does); the controller (`datacenter.controller.Controller`, its
   real console gRPC API and HTTP port) runs in this process with its reconcile pass turned
   off, so it does not start N processes; their statuses are set to running. The fleet page
   asks ListSchools of the API for all N schools and renders the first 100 rows.
2. Clients tab: a real controller (`pronote-dc up --demo 1`, own state dir and address pool)
   and C Client PRONOTE sessions (mode Vie scolaire, one CPE account) held open on the school.
3. For each page, L loads (after one warm-up) in two ways:
   - HTTP: time to first byte and to the last byte with aiohttp;
   - a real headless Chromium (when /usr/bin/chromium and chromedriver exist), from the
     Navigation Timing API: TTFB (responseStart) and full render (loadEventEnd: HTML parsed,
     CSS and scripts loaded and run). The fleet's per-row summaries load afterwards, by
     design (htmx, when a row is shown), and are not in the figure.
   Baselines: `/sd/schools` loaded the same two ways; ListConnections over gRPC. Also shown:
   the API's ListSchools alone (the fleet page's one call).
Medians and max; nothing leaves 127.0.0.0/8; temporary directories are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.addresses import free_pool
from bench.registered import register_schools
from bench.running import say
from datacenter.controller import Controller
from datacenter.core.fleet import Fleet, SchoolStatus
from datacenter.core.registry import Registry
from datacenter.core.settings import load_settings
from protos import client_pb2, client_pb2_grpc, common_pb2, console_pb2, console_pb2_grpc

FLEET_POOL = "127.86.0.0/20"  # never bound: the fleet's schools are registered, not started
CLIENTS_OCTET = 85  # the Clients tab's school: a free /29 of 127.85/16
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def figures(seconds: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(seconds) * 1000, "max_ms": max(seconds) * 1000}


async def http_loads(url: str, cookie: str, loads: int) -> dict[str, Any]:
    """TTFB (headers received) and last byte, client side, `loads` times after one warm-up."""
    first, last, size = [], [], 0
    headers = {"Cookie": f"pdc_console={cookie}"} if cookie else {}
    async with aiohttp.ClientSession() as session:
        for attempt in range(loads + 1):
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                headed = time.perf_counter()
                body = await response.read()
                done = time.perf_counter()
                assert response.status == 200, (url, response.status, body[:300])
            if attempt:
                first.append(headed - started)
                last.append(done - started)
                size = len(body)
    return {"ttfb": figures(first), "last_byte": figures(last), "bytes": size}


class Chromium:
    """A headless Chromium logged in to the web console, or None without one."""

    def __init__(self, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={profile}",
        ):  # fmt: skip
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))

    @staticmethod
    def available() -> bool:
        return all(shutil.which(path) for path in (CHROMIUM, CHROMEDRIVER))

    def log_in(self, base: str, cookie: str) -> None:
        self.driver.get(f"{base}/console/static/console.css")  # a page of the cookie's path
        self.driver.add_cookie({"name": "pdc_console", "value": cookie, "path": "/console/"})

    def loads(self, url: str, loads: int) -> dict[str, Any]:
        ttfb, render = [], []
        for attempt in range(loads + 1):
            self.driver.get(url)  # returns once the load event has fired
            timing = self.driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return [t.responseStart - t.startTime, t.loadEventEnd - t.startTime];"
            )
            if attempt:
                ttfb.append(timing[0] / 1000)
                render.append(timing[1] / 1000)
        return {"ttfb": figures(ttfb), "full_render": figures(render)}

    def quit(self) -> None:
        self.driver.quit()


async def web_login(base: str, path: str, fields: dict[str, str]) -> str:
    """Log in through the login form as a browser would; the session cookie."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        page = await (await session.get(f"{base}{path}")).text()
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with session.post(f"{base}{path}", data={**fields, "csrf": csrf}) as response:
            assert response.status == 200, await response.text()
        cookie = next(c.value for c in jar if c.key == "pdc_console")
    return str(cookie)


# -- 1. the fleet page with N registered schools -------------------------------------------


async def fleet_page(schools: int, loads: int, directory: Path, chromium: Any) -> dict[str, Any]:
    settings = load_settings(
        {},
        state_dir=directory,
        address_pool=FLEET_POOL,
        console_address="127.0.0.1:0",
        http_address="127.0.0.1:0",
    )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(settings.registry_path)
    say(f"registering {schools} schools (not started)")
    records = register_schools(registry, schools, FLEET_POOL)
    registry.close()

    async def no_reconcile(self: Fleet, full: bool = True) -> None:
        return None

    original = Fleet.reconcile
    Fleet.reconcile = no_reconcile  # type: ignore[method-assign]
    controller = Controller(settings)
    try:
        await controller.start()
        controller.fleet.statuses.update({r.uai: SchoolStatus.RUNNING for r in records})
        base = f"http://{controller.http_address}"
        cookie = await web_login(
            base, "/console/operateur/connexion", {"token": controller.operator_token}
        )
        say("fleet page and /sd/schools over HTTP")
        result: dict[str, Any] = {
            "schools": schools,
            "fleet_page_http": await http_loads(f"{base}/console/operateur/", cookie, loads),
            "sd_schools_http": await http_loads(f"{base}/sd/schools", "", loads),
        }
        async with grpc.aio.insecure_channel(controller.console_address) as channel:
            console = console_pb2_grpc.ConsoleStub(channel)
            metadata = (("authorization", f"Bearer {controller.operator_token}"),)
            api_seconds = []
            for _ in range(loads + 1):
                started = time.perf_counter()
                await console.ListSchools(console_pb2.ListSchoolsRequest(), metadata=metadata)
                api_seconds.append(time.perf_counter() - started)
        result["list_schools_grpc"] = figures(api_seconds[1:])
        if chromium is not None:
            say("fleet page and /sd/schools in Chromium")
            await asyncio.to_thread(chromium.log_in, base, cookie)
            result["fleet_page_chromium"] = await asyncio.to_thread(
                chromium.loads, f"{base}/console/operateur/", loads
            )
            result["sd_schools_chromium"] = await asyncio.to_thread(
                chromium.loads, f"{base}/sd/schools", loads
            )
        return result
    finally:
        await controller.stop()
        Fleet.reconcile = original  # type: ignore[method-assign]


# -- 2. a school's Clients tab with C live connections --------------------------------------


def start_controller(
    directory: Path,
) -> tuple[subprocess.Popen[bytes], dict[str, Any], dict[str, str]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")},
        "PRONOTE_DC_STATE_DIR": str(directory),
        "PRONOTE_DC_ADDRESS_POOL": free_pool(CLIENTS_OCTET, 1),
        "PRONOTE_DC_CONSOLE_ADDRESS": "127.0.0.1:0",
        "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "datacenter.cli", "up", "--demo", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    info_file = directory / "controller.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            info = json.loads(info_file.read_text())
            if info["pid"] == process.pid and (directory / "schools").exists():
                return process, info, env
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the controller did not start in 60 s")


async def clients_tab(
    connections: int, loads: int, directory: Path, chromium: Any
) -> dict[str, Any]:
    process, info, env = start_controller(directory)
    try:
        token = (directory / "operator.token").read_text().strip()
        metadata = (("authorization", f"Bearer {token}"),)
        async with grpc.aio.insecure_channel(info["console_address"]) as channel:
            console = console_pb2_grpc.ConsoleStub(channel)
            school = None
            for _ in range(300):
                listed = await console.ListSchools(
                    console_pb2.ListSchoolsRequest(), metadata=metadata
                )
                if listed.schools and listed.schools[0].sample_accounts:
                    school = listed.schools[0]
                    break
                await asyncio.sleep(0.1)
            assert school is not None, "the demo school was not provisioned"
            cpe = next(a for a in school.sample_accounts if a.role == "vie_scolaire")
            say(f"opening {connections} Client PRONOTE sessions on {school.uai}")
            async with grpc.aio.insecure_channel(f"{school.address}:49300") as pronote:
                stub = client_pb2_grpc.ClientPronoteStub(pronote)
                request = client_pb2.ConnectRequest(
                    mode=common_pb2.MODE_VIE_SCOLAIRE, login=cpe.login, password=cpe.password
                )
                for _ in range(connections):
                    await stub.Connect(request, timeout=15)
                ref = console_pb2.SchoolRef(uai=school.uai)
                listed_connections = await console.ListConnections(ref, metadata=metadata)
                assert len(listed_connections.connections) >= connections
                api_seconds = []
                for _ in range(loads):
                    started = time.perf_counter()
                    await console.ListConnections(ref, metadata=metadata)
                    api_seconds.append(time.perf_counter() - started)
                base = f"http://{info['http_address']}"
                cookie = await web_login(base, "/console/operateur/connexion", {"token": token})
                tab = f"{base}/console/ecoles/{school.uai}/clients"
                say("Clients tab over HTTP")
                result: dict[str, Any] = {
                    "connections": len(listed_connections.connections),
                    "clients_tab_http": await http_loads(tab, cookie, loads),
                    "list_connections_grpc": figures(api_seconds),
                }
                if chromium is not None:
                    say("Clients tab in Chromium")
                    await asyncio.to_thread(chromium.log_in, base, cookie)
                    result["clients_tab_chromium"] = await asyncio.to_thread(
                        chromium.loads, tab, loads
                    )
                return result
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        subprocess.run(
            [sys.executable, "-m", "datacenter.cli", "down"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )


def print_table(result: dict[str, Any]) -> None:
    def line(label: str, figures: dict[str, Any], key: str) -> str:
        f = figures[key]
        return f"  {label:38} {key:12} median {f['median_ms']:8.1f} ms   max {f['max_ms']:8.1f} ms"

    fleet, clients = result["fleet"], result["clients"]
    print(f"fleet page, {fleet['schools']} registered schools ({result['loads']} loads each)")
    for label, key in (
        ("fleet page (HTTP)", "fleet_page_http"),
        ("  baseline /sd/schools (HTTP)", "sd_schools_http"),
    ):
        for measure in ("ttfb", "last_byte"):
            print(line(f"{label}, {fleet[key]['bytes']} B", fleet[key], measure))
    for label, key in (
        ("fleet page (Chromium)", "fleet_page_chromium"),
        ("  baseline /sd/schools (Chromium)", "sd_schools_chromium"),
    ):
        if key in fleet:
            for measure in ("ttfb", "full_render"):
                print(line(label, fleet[key], measure))
    api = fleet["list_schools_grpc"]
    label = "  the API's ListSchools (gRPC)"
    print(
        f"  {label:38} {'call':12} median {api['median_ms']:8.1f} ms   max {api['max_ms']:8.1f} ms"
    )
    print(f"Clients tab, {clients['connections']} live connections")
    for measure in ("ttfb", "last_byte"):
        print(line("Clients tab (HTTP)", clients["clients_tab_http"], measure))
    if "clients_tab_chromium" in clients:
        for measure in ("ttfb", "full_render"):
            print(line("Clients tab (Chromium)", clients["clients_tab_chromium"], measure))
    api = clients["list_connections_grpc"]
    label = "  baseline ListConnections (gRPC)"
    print(
        f"  {label:38} {'call':12} median {api['median_ms']:8.1f} ms   max {api['max_ms']:8.1f} ms"
    )
    if not result["chromium"]:
        print("  (no Chromium here: HTTP figures only; scripts/browser.sh installs it)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console_web", description=__doc__)
    parser.add_argument("--schools", type=int, default=1000, help="registered schools (1000)")
    parser.add_argument("--connections", type=int, default=200, help="live connections (200)")
    parser.add_argument("--loads", type=int, default=10, help="loads of each page (10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.loads <= 100 or not 1 <= args.schools <= 5000:
        parser.error("--loads 1..100 and --schools 1..5000 keep the run bounded")
    with tempfile.TemporaryDirectory(prefix="pdc-bench-console-web-") as directory:
        root = Path(directory)
        chromium = Chromium(root / "profile") if Chromium.available() else None
        try:
            fleet = asyncio.run(fleet_page(args.schools, args.loads, root / "fleet", chromium))
            (root / "clients").mkdir()
            clients = asyncio.run(
                clients_tab(args.connections, args.loads, root / "clients", chromium)
            )
        finally:
            if chromium is not None:
                chromium.quit()
    result = {
        "loads": args.loads,
        "chromium": chromium is not None,
        "fleet": fleet,
        "clients": clients,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
