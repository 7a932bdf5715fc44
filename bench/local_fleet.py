"""A local fleet for the benchmarks: a controller (`pronote-dc up`) on a fresh state directory
and address pool, schools provisioned through its Console API, and the clean-up that removes
everything the run created whatever happened (`pronote-dc down`, then a kill of anything that
survived it). Inherited PRONOTE_DC_* variables are ignored: a run sets its own state
directory, console address and pool. Used by bench.provision_local and bench.up_demo, and by
the Docker and Swarm provisioning benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.running import cpu_times, say
from common.processes import PidFile, start_ticks
from protos import console_pb2, console_pb2_grpc

MIB = 1024 * 1024
CLIENT_PORT = 49300
POOL_SECOND_OCTET = 61
FIRST_UAI_DIGITS = 9_100_000
MAX_SCHOOLS = 4000  # a /20 of loopback addresses
# Client channels of the benchmark: no proxy may take loopback traffic elsewhere.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "grpc_proxy", "all_proxy")
DOWN_TIMEOUT_SECONDS = 120.0
HEALTH_RPC_TIMEOUT_SECONDS = 2.0


class BenchFailure(Exception):
    """The benchmark could not measure what it should; the message says what went wrong."""


class Interrupted(BaseException):
    """SIGTERM, handled like Ctrl-C: clean up, then exit."""


# -- the run and its leftovers ---------------------------------------------------------------


@dataclass
class Run:
    """Everything the run created, so that `cleanup` can remove it whatever happened."""

    pronote_dc: str
    tmp_dir: Path | None = None
    controller: subprocess.Popen[bytes] | None = None
    controller_pid: int | None = None
    zygote: PidFile | None = None

    @property
    def state_dir(self) -> Path:
        assert self.tmp_dir is not None
        return self.tmp_dir / "state"

    @property
    def controller_log(self) -> Path:
        assert self.tmp_dir is not None
        return self.tmp_dir / "controller.log"

    def env(self, pool: str = "") -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key.lower() not in PROXY_VARIABLES and not key.startswith("PRONOTE_DC_")
        }
        env["PRONOTE_DC_STATE_DIR"] = str(self.state_dir)
        env["PRONOTE_DC_CONSOLE_ADDRESS"] = "127.0.0.1:0"
        env["PRONOTE_DC_HTTP_ADDRESS"] = "127.0.0.1:0"  # /metrics and SD: any free port
        env["PRONOTE_DC_RUNTIME"] = "local://"
        if pool:
            env["PRONOTE_DC_ADDRESS_POOL"] = pool
        return env

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.controller_log.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, AssertionError):
            return "(no controller log)"
        tail = text.rstrip().splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in tail) or "    (empty)"


def cleanup(run: Run) -> list[str]:
    """`pronote-dc down` on the state directory, then whatever survived it, then the files.

    Returns what went wrong; a process that survived `down` is killed and reported."""
    problems: list[str] = []
    if run.tmp_dir is None:
        return problems
    if run.zygote is None and run.controller_pid is not None:  # interrupted before it was noted
        run.zygote = _zygote_pid_file(run.controller_pid)
    if run.state_dir.exists():
        started = time.monotonic()
        try:
            done = subprocess.run(
                [run.pronote_dc, "down"],
                env=run.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=DOWN_TIMEOUT_SECONDS,
                check=False,
            )
            if done.returncode != 0:
                problems.append(f"`pronote-dc down` exited {done.returncode}: {done.stderr!r}")
            else:
                say(f"cleanup: `pronote-dc down` took {time.monotonic() - started:.1f} s")
        except subprocess.TimeoutExpired:
            problems.append(f"`pronote-dc down` did not finish within {DOWN_TIMEOUT_SECONDS:.0f} s")
    if run.controller is not None:
        if run.controller.poll() is None:
            problems.append("the controller survived `pronote-dc down`; killed")
            run.controller.kill()
        run.controller.wait(10)
    # The warm parent exits when the controller's pipe closes; a school it forked in the
    # meantime (a request in flight at Ctrl-C) is found below by its log file.
    if run.zygote is not None and not _gone(run.zygote, 5.0):
        problems.append("the warm parent survived its controller; killed")
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.zygote.pid, signal.SIGKILL)
    leftovers = _processes_writing_into(run.tmp_dir)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if leftovers:
        problems.append(f"{len(leftovers)} school processes survived `pronote-dc down`; killed")
    shutil.rmtree(run.tmp_dir, ignore_errors=True)
    return problems


def _zygote_pid_file(controller_pid: int) -> PidFile | None:
    with contextlib.suppress(BenchFailure, psutil.Error):
        pid = int(find_zygote(controller_pid).pid)
        ticks = start_ticks(pid)
        if ticks is not None:
            return PidFile(pid, ticks, "zygote")
    return None


def _gone(process: PidFile, within_seconds: float) -> bool:
    deadline = time.monotonic() + within_seconds
    while process.is_alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _processes_writing_into(directory: Path) -> list[int]:
    """Processes whose stdout or stderr is a file under `directory` (schools log there)."""
    prefix = f"{directory}/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for fd in ("1", "2"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry}/fd/{fd}").startswith(prefix):
                    found.append(int(entry))
                    break
    return found


# -- phase 2: the controller and the provisioning --------------------------------------------


def pick_address_pool(second_octet: int = POOL_SECOND_OCTET, schools: int = 254) -> str:
    """A loopback network in 127.<second_octet>.0.0/16 holding `schools` addresses (a /24 up
    to 254, a /22 for 1000, a /21 for 2000) that no TCP socket uses right now."""
    block = 1  # /24s in the network
    while block * 256 - 2 < schools:
        block *= 2
    if block > 128:
        raise BenchFailure(f"{schools} schools do not fit in half of 127.{second_octet}.0.0/16")
    prefix_length = 24 - (block.bit_length() - 1)
    used_thirds = {
        int(address.split(".")[2])
        for address in _loopback_addresses_in_use()
        if address.startswith(f"127.{second_octet}.")
    }
    candidates = [third for third in range(0, 256, block) if third or block > 1]
    random.shuffle(candidates)
    for third in candidates:
        if not used_thirds & set(range(third, third + block)):
            return f"127.{second_octet}.{third}.0/{prefix_length}"
    raise BenchFailure(f"every /{prefix_length} of 127.{second_octet}.0.0/16 has sockets in use")


def _loopback_addresses_in_use() -> set[str]:
    addresses: set[str] = set()
    with contextlib.suppress(FileNotFoundError), open("/proc/net/tcp", encoding="ascii") as table:
        next(table, None)  # the header
        for line in table:
            for endpoint in line.split()[1:3]:
                raw = int(endpoint.partition(":")[0], 16)
                addresses.add(".".join(str(b) for b in struct.pack("<I", raw)))
    return addresses


def find_pronote_dc() -> str:
    beside = Path(sys.executable).parent / "pronote-dc"
    if beside.exists():
        return str(beside)
    found = shutil.which("pronote-dc")
    if found is None:
        raise BenchFailure("no `pronote-dc` beside this Python nor on PATH: run `make install`")
    return found


async def start_controller(run: Run, pool: str, timeout: float) -> str:
    """Start `pronote-dc up`; return its console address once controller.json says it."""
    assert run.tmp_dir is not None
    with run.controller_log.open("wb") as log:
        run.controller = subprocess.Popen(
            [run.pronote_dc, "up"],
            env=run.env(pool),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the benchmark only; cleanup stops it
        )
    run.controller_pid = run.controller.pid
    deadline = time.monotonic() + timeout
    info_path = run.state_dir / "controller.json"
    while True:
        if run.controller.poll() is not None:
            raise BenchFailure(
                f"the controller exited ({run.controller.returncode}) before it was ready:\n"
                + run.log_tail()
            )
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            info = json.loads(info_path.read_text(encoding="utf-8"))
            run.controller_pid = int(info["pid"])
            return str(info["console_address"])
        if time.monotonic() > deadline:
            raise BenchFailure(
                f"the controller wrote no {info_path.name} within {timeout:g} s:\n" + run.log_tail()
            )
        await asyncio.sleep(0.02)


@dataclass
class SchoolTimes:
    """Wall-clock instants (time.time()) of one school's provisioning, seen by the client."""

    uai: str
    requested: float = 0.0
    answered: float = 0.0
    healthy: float = 0.0
    address: str = ""
    error: str = ""


@dataclass
class Provisioning:
    wall_seconds: float
    schools: list[SchoolTimes]
    controller_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    @property
    def failures(self) -> list[SchoolTimes]:
        return [school for school in self.schools if school.error]


def school_request(uai: str, index: int, demo: bool = False) -> console_pb2.ProvisionSchoolRequest:
    return console_pb2.ProvisionSchoolRequest(
        uai=uai,
        name=f"Collège du banc d'essai {index}",
        formula=console_pb2.FORMULA_50,
        responsable=console_pb2.Responsable(
            name="Responsable hébergement", mobile="0612345678", email="bench@example.org"
        ),
        demo=demo,  # a base in service holding the synthetic school, and sample accounts
    )


async def wait_serving(address: str, deadline: float) -> None:
    """Until the standard health check at `address` says SERVING; raises past `deadline`."""
    async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        last = "no answer"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchFailure(f"{address} did not answer its health check ({last})")
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=""),
                    timeout=min(HEALTH_RPC_TIMEOUT_SECONDS, remaining),
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as error:
                last = f"{error.code().name}: {error.details()}"
            await asyncio.sleep(0.02)


async def provision_all(
    console_address: str,
    token: str,
    uais: Sequence[str],
    parallelism: int,
    timeout: float,
    demo: bool = False,
) -> Provisioning:
    metadata = (("authorization", f"Bearer {token}"),)
    schools = [SchoolTimes(uai) for uai in uais]
    limit = asyncio.Semaphore(parallelism)
    async with grpc.aio.insecure_channel(console_address, options=CHANNEL_OPTIONS) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            raise BenchFailure(f"no connection to the console at {console_address}") from None
        console: Any = console_pb2_grpc.ConsoleStub(channel)
        deadline = time.monotonic() + timeout

        async def one(index: int, school: SchoolTimes) -> None:
            try:
                async with limit:
                    school.requested = time.time()
                    reply = await console.ProvisionSchool(
                        school_request(school.uai, index, demo),
                        metadata=metadata,
                        timeout=max(deadline - time.monotonic(), 0.1),
                    )
                    school.answered = time.time()
                port = reply.school.client_port or CLIENT_PORT
                school.address = reply.school.address
                await wait_serving(f"{reply.school.address}:{port}", deadline)
                school.healthy = time.time()
            except grpc.aio.AioRpcError as error:
                school.error = f"ProvisionSchool: {error.code().name}: {error.details()}"
            except BenchFailure as error:
                school.error = str(error)

        started, client_cpu = time.perf_counter(), time.process_time()
        tasks = [asyncio.create_task(one(i, school)) for i, school in enumerate(schools)]
        done, pending = await asyncio.wait(tasks, timeout=timeout + 1.0)
        wall = time.perf_counter() - started
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            healthy = sum(1 for school in schools if school.healthy)
            raise BenchFailure(
                f"provisioning did not finish within {timeout:g} s: {healthy}/{len(schools)} "
                "schools provisioned and healthy"
            )
        for task in done:
            task.result()  # an unexpected exception surfaces here
    return Provisioning(wall, schools, client_cpu_seconds=time.process_time() - client_cpu)


# -- same-page merging (DESIGN decision 35) ---------------------------------------------------

PASSES_METRIC = "pronote_page_merging_passes_total"
MERGING_OFF = "page merging off: "


def ksmd_pid() -> int | None:
    """The kernel's ksmd thread, or None if this kernel has none."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm", encoding="ascii") as comm:
                if comm.read().strip() == "ksmd":
                    return int(entry.name)
        except OSError:
            continue
    return None


def ksmd_cpu_seconds() -> float:
    """CPU the kernel's ksmd thread has used since boot (0 if there is none)."""
    pid = ksmd_pid()
    times = None if pid is None else cpu_times(pid)
    return 0.0 if times is None else sum(times)


def merge_passes(run: Run) -> int | None:
    """The controller's `pronote_page_merging_passes_total` (its /metrics), or None if it runs
    no passes (its log says why)."""
    return merge_passes_in(run.state_dir)


def merge_passes_in(state_dir: Path) -> int | None:
    """`merge_passes` of the controller of `state_dir`."""
    controller = json.loads((state_dir / "controller.json").read_text(encoding="utf-8"))
    url = f"http://{controller['http_address']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback, the run's own
        for line in response.read().decode().splitlines():
            if line.startswith(PASSES_METRIC + " "):
                return int(float(line.split()[1]))
    return None


def wait_for_rest(state_dir: Path, timeout: float = 600.0) -> tuple[float, int | None]:
    """Wait until the controller of `state_dir` has ended its first same-page merging pass,
    the one after the provisioning (DESIGN decision 35): a fleet at rest is what the idle
    fleet and the school year measure, not the pass's scans and the schools' marks. Returns
    the seconds waited and the passes the controller had ended then (0 s and None when it
    runs no pass: not root, or no KSM). Raises SystemExit if no pass ends within `timeout`
    seconds."""
    started = time.monotonic()
    while (passes := merge_passes_in(state_dir)) is not None and passes < 1:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"no merging pass ended within {timeout:g} s")
        time.sleep(1.0)
    return time.monotonic() - started, passes


async def wait_merged(run: Run, passes_before: int | None, timeout: float) -> tuple[float, str]:
    """Wait for the controller's merge pass under way to end: (seconds waited, "") or
    (0, why no pass runs)."""
    if passes_before is None:
        log = run.controller_log.read_text(encoding="utf-8", errors="replace")
        why = log.split(MERGING_OFF, 1)[1].splitlines()[0] if MERGING_OFF in log else "?"
        return 0.0, why
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        passes = await asyncio.to_thread(merge_passes, run)
        if passes is not None and passes > passes_before:
            return time.monotonic() - started, ""
        await asyncio.sleep(1.0)
    raise BenchFailure(f"no merge pass ended within {timeout:g} s; see {run.controller_log}")


POPULATION_WORKER = "pdc-population"  # its process name (vm_agent.zygote)


def population_workers(zygote: Any) -> list[Any]:
    """The warm parent's demo population worker, if one is alive (DESIGN decision 41)."""
    found = []
    for child in zygote.children():
        with contextlib.suppress(psutil.Error):
            if child.name() == POPULATION_WORKER and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


def wait_population_workers_gone(zygote: Any, timeout_seconds: float = 30.0) -> None:
    """Wait until the warm parent's population worker has ended (it ends once idle for 1 s)
    and been reaped, so that its CPU time is in the warm parent's children's time. Raises
    BenchFailure if it is still there after `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    while population_workers(zygote):
        if time.monotonic() > deadline:
            raise BenchFailure(
                f"the warm parent's population worker still runs {timeout_seconds:.0f} s "
                "after the last population (it ends once idle for 1 s)"
            )
        time.sleep(0.1)


def find_zygote(controller_pid: int) -> Any:
    for child in psutil.Process(controller_pid).children():
        with contextlib.suppress(psutil.Error):
            if any("vm_agent.zygote" in part for part in child.cmdline()):
                return child
    raise BenchFailure(f"the controller (pid {controller_pid}) has no warm parent process")


# -- bare grpc.aio servers forked from the warm parent's imports ------------------------------


@contextlib.asynccontextmanager
async def bare_servers(addresses: Sequence[str], timeout: float) -> AsyncIterator[dict[str, Any]]:
    """`python -m bench.bare_servers ADDRESS...` (one bare `grpc.aio` server on each
    ADDRESS:49300, forked from a parent with the schools' warm imports) until all serve: its
    JSON line (`pids`, `seconds` from its first fork to the last one serving, `cpu_seconds`,
    `fork_cpu_seconds`). The servers are stopped when the block ends, on error, timeout or
    cancellation too (the parent is then sent SIGTERM, and stops what it forked).

    Raises BenchFailure if they were not all serving within `timeout` seconds, or if one could
    not listen."""
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bare_servers",
        *addresses,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C is the benchmark's to handle: it stops the parent
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        try:
            line = await asyncio.wait_for(parent.stdout.readline(), timeout)
        except TimeoutError:
            raise BenchFailure(
                f"the bare servers were not all serving within {timeout:.0f} s"
            ) from None
        if not line:
            raise BenchFailure("the bare servers' parent exited before they were serving")
        started: dict[str, Any] = json.loads(line)
        if started["failed"]:
            raise BenchFailure(
                f"{started['failed']} bare servers could not listen on port 49300 (the first: "
                f"{', '.join(started['failed_addresses'])}): another run holds these addresses"
            )
        yield started
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            parent.terminate()  # it stops the servers it forked, even in the middle of forking
        raise
    finally:
        parent.stdin.close()  # the normal way to stop it
        try:
            await asyncio.wait_for(parent.wait(), 60)
        except TimeoutError:
            parent.kill()
            await parent.wait()


@dataclass(frozen=True)
class Floor:
    """What a wave of N schools cannot go below on this machine (DESIGN decision 49)."""

    wall_seconds: float  # from the first fork until all N bare servers serve
    cpu_seconds: float  # the forking parent's over its forks, and the N children's
    fork_cpu_seconds: float  # the forking parent's part of cpu_seconds


async def measure_floor(pool: str, count: int, timeout: float) -> Floor:
    """`count` bare grpc.aio servers on the pool's first addresses, forked from the schools'
    warm imports, until all serve (then stopped): the time and CPU no wave goes below.
    Progress on stderr."""
    say(f"floor: {count} bare grpc.aio servers forked from the schools' warm imports…")
    addresses = [str(host) for host in itertools.islice(ipaddress.ip_network(pool).hosts(), count)]
    async with bare_servers(addresses, timeout) as started:
        floor = Floor(started["seconds"], started["cpu_seconds"], started["fork_cpu_seconds"])
    say(f"  {floor.wall_seconds:.2f} s")
    return floor
