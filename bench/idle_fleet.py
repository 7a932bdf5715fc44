"""What an idle fleet costs, beside gRPC's own floor measured in the same run (issue 15, 2).

`python -m bench.idle_fleet [--schools N] [--seconds S] [--pool CIDR] [--json]` measures:

1. floor: N bare processes forked from a warm parent that imported grpc (as the local
   runtime's warm parent does, with a school's gRPC settings: `common.school_grpc`, DESIGN
   decision 43), each running the same number of `grpc.aio` servers as a school (two: the
   Client PRONOTE and the management port) with no service, on its own loopback address;
   their CPU over S seconds;
2. fleet: a controller (`pronote-dc up`, fresh state directory, the pool given) with N plain
   schools provisioned through the Console API, left alone for a settling time, then the CPU
   of the controller, of the warm parent and of every school over S seconds.

CPU is utime + stime from /proc/<pid>/stat (every thread of the process). The report gives
each group in ms of CPU per second and in % of one core, the fleet's excess over the floor
(target: <= 5 % of one core), the load average before and after each phase, and which threads
woke up (voluntary context switches per second, by thread name, summed over a few processes of
each kind): what sets the floor (docs/PERFORMANCE.md, "An idle fleet").

Bounded: --schools 1-2000, --seconds 5-300; every process it starts is stopped at the end,
on error and on Ctrl-C too (`pronote-dc down` on its own state directory, then a kill of any
school left, by the pids it read). Inherited PRONOTE_DC_* variables are ignored. Run beside
others under the big-run lock: `flock /tmp/pronote-dc-big.lock python -m bench.idle_fleet`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.addresses import free_pool
from bench.local_fleet import ksmd_pid, wait_for_rest
from bench.running import cpu_times, print_figures, say
from common.school_grpc import school_environment

EXCESS_TARGET_PERCENT = 5.0
POOL_SECOND_OCTET = 156  # its default pool: a free block of 127.156/16 (bench.addresses)
PORTS = (49300, 49301)  # a school's two gRPC servers
PARALLELISM = 16
SETTLE_SECONDS = 10.0
THREAD_SAMPLE = 5  # processes of each kind whose threads are looked at
START_TIMEOUT_SECONDS = 60.0


# -- reading /proc ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of every thread of the process; None if it is gone."""
    times = cpu_times(pid)
    return None if times is None else sum(times)


def thread_wakeups(pid: int) -> Counter[str]:
    """Voluntary context switches (each one a sleep, so a wake-up after it), by thread name."""
    counts: Counter[str] = Counter()
    with contextlib.suppress(FileNotFoundError):
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                status = dict(
                    line.split(":\t", 1)
                    for line in (task / "status").read_text().splitlines()
                    if ":\t" in line
                )
                name = status["Name"].strip()
                if task.name == str(pid):
                    name = "main"
                elif name == comm:  # a thread nobody named (Python's, asyncio's executor)
                    name = "unnamed"
                counts[name] += int(status["voluntary_ctxt_switches"])
    return counts


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Window:
    """CPU seconds and thread wake-ups of groups of processes over one measured window."""

    seconds: float
    cpu: dict[str, float]
    processes: dict[str, int]
    wakeups: dict[str, dict[str, float]]
    load_before: str
    load_after: str


def measure(groups: dict[str, list[int]], seconds: float) -> Window:
    sampled = {name: pids[:THREAD_SAMPLE] for name, pids in groups.items()}
    load_before = load_average()
    before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
    woke = {name: [thread_wakeups(pid) for pid in pids] for name, pids in sampled.items()}
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    cpu: dict[str, float] = {}
    for name, pids in groups.items():
        used = 0.0
        for pid in pids:
            then, now = before[name][pid], cpu_seconds(pid)
            if then is None or now is None:
                raise SystemExit(f"process {pid} ({name}) exited during the measurement")
            used += now - then
        cpu[name] = used
    wakeups = {}
    for name, pids in sampled.items():
        total: Counter[str] = Counter()
        for pid, earlier in zip(pids, woke[name], strict=True):
            later = thread_wakeups(pid)
            total.update({thread: later[thread] - earlier.get(thread, 0) for thread in later})
        wakeups[name] = {
            thread: round(count / elapsed / max(1, len(pids)), 2)
            for thread, count in total.most_common()
        }
    return Window(
        elapsed,
        cpu,
        {name: len(pids) for name, pids in groups.items()},
        wakeups,
        load_before,
        load_average(),
    )


# -- the floor: bare grpc.aio servers ----------------------------------------------------------


def floor_parent(addresses: list[str], servers: int) -> int:
    """Run as `--floor-parent`: import grpc (warm), fork one bare process per address, print
    their pids as one JSON line once all serve; stop them when stdin closes."""
    import grpc  # noqa: F401  (the warm import, as the local runtime's warm parent does)

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pids = []
    for address in addresses:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            os.setsid()
            try:
                asyncio.run(_bare_servers(address, servers, write_fd))
            finally:
                os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as ready:
            if ready.readline().strip() != b"ready":
                raise SystemExit(f"the bare server on {address} did not start")
        pids.append(pid)
    print(json.dumps(pids), flush=True)
    sys.stdin.read()  # until the benchmark closes it
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return 0


async def _bare_servers(address: str, servers: int, ready_fd: int) -> None:
    import grpc

    started = []
    for port in PORTS[:servers]:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        server.add_insecure_port(f"{address}:{port}")
        await server.start()
        started.append(server)
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await asyncio.gather(*(server.stop(None) for server in started))


def measure_floor(addresses: list[str], servers: int, seconds: float, settle: float) -> Window:
    say(f"floor: forking {len(addresses)} bare processes of {servers} grpc.aio server(s) each")
    command = [sys.executable, "-m", "bench.idle_fleet", "--floor-parent", "--servers"]
    parent = subprocess.Popen(
        [*command, str(servers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=school_environment(os.environ),  # gRPC as a school runs it (DESIGN decision 43)
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        parent.stdin.write("\n".join(addresses) + "\n\n")
        parent.stdin.flush()
        line = parent.stdout.readline()
        if not line:
            raise SystemExit("the floor's warm parent exited before its processes served")
        pids = json.loads(line)
        say(f"floor: {len(pids)} processes serve; settling {settle:.0f} s, measuring {seconds} s")
        time.sleep(settle)
        return measure({"bare grpc.aio": pids}, seconds)
    finally:
        parent.stdin.close()
        try:
            parent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            parent.kill()


# -- the fleet ---------------------------------------------------------------------------------


class Fleet:
    """A controller on a fresh state directory, and everything it started, stopped on exit."""

    def __init__(self, tmp: Path, pool: str, code_dir: Path) -> None:
        self.state_dir = tmp / "state"
        self.code_dir = code_dir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")},
            "PYTHONPATH": str(code_dir),
            "PRONOTE_DC_STATE_DIR": str(self.state_dir),
            "PRONOTE_DC_ADDRESS_POOL": pool,
            "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",
            "PRONOTE_DC_CONSOLE_ADDRESS": "127.0.0.1:0",
        }
        self.log = tmp / "controller.log"
        self.controller: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.token = ""

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.controller = subprocess.Popen(
                [sys.executable, "-m", "datacenter.cli", "up"],
                cwd=self.code_dir,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.controller.poll() is not None:
                raise SystemExit(f"controller exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                info = json.loads((self.state_dir / "controller.json").read_text())
                if info["pid"] == self.controller.pid:
                    self.address = info["console_address"]
                    self.token = (self.state_dir / "operator.token").read_text().strip()
                    return
            time.sleep(0.1)
        raise SystemExit("the controller was not ready in time")

    async def provision(self, count: int) -> None:
        import grpc

        from datacenter.core.uai import make_uai
        from protos import console_pb2, console_pb2_grpc

        metadata = (("authorization", f"Bearer {self.token}"),)
        limit = asyncio.Semaphore(PARALLELISM)
        done = [0]
        async with grpc.aio.insecure_channel(self.address) as channel:
            console = console_pb2_grpc.ConsoleStub(channel)

            async def one(index: int) -> None:
                request = console_pb2.ProvisionSchoolRequest(
                    uai=make_uai(f"{9_200_000 + index:07d}"),
                    name=f"Collège Idle {index}",
                    formula=console_pb2.FORMULA_50,
                    responsable=console_pb2.Responsable(
                        name="Mme Idle", mobile="0612345678", email=f"idle{index}@example.org"
                    ),
                )
                async with limit:
                    await console.ProvisionSchool(request, metadata=metadata, timeout=120)
                done[0] += 1
                if done[0] % 100 == 0 or done[0] == count:
                    say(f"fleet: {done[0]}/{count} schools provisioned")

            await asyncio.gather(*(one(i) for i in range(count)))

    def pids(self) -> dict[str, list[int]]:
        assert self.controller is not None
        import psutil

        children = psutil.Process(self.controller.pid).children()
        schools = []
        for pid_file in sorted((self.state_dir / "schools").glob("*/agent.pid")):
            schools.append(int(json.loads(pid_file.read_text())["pid"]))
        return {
            "controller": [self.controller.pid],
            "warm parent": [c.pid for c in children],
            "schools": schools,
        }

    def stop(self) -> None:
        school_pids = []
        with contextlib.suppress(OSError, ValueError, KeyError):
            school_pids = self.pids()["schools"]
        if self.controller is not None and self.controller.poll() is None:
            self.controller.terminate()
            try:
                self.controller.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.controller.kill()
        subprocess.run(
            [sys.executable, "-m", "datacenter.cli", "down"],
            cwd=self.code_dir,
            env=self.env,
            capture_output=True,
            timeout=300,
        )
        for pid in school_pids:  # anything `down` left
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def measure_fleet(
    tmp: Path, pool: str, count: int, seconds: float, settle: float, code_dir: Path
) -> tuple[Window, float, int]:
    fleet = Fleet(tmp, pool, code_dir)
    try:
        fleet.start()
        say(f"fleet: provisioning {count} plain schools, {PARALLELISM} at a time")
        started = time.monotonic()
        asyncio.run(fleet.provision(count))
        provisioning = time.monotonic() - started
        say(f"fleet: settling {settle:.0f} s, then measuring {seconds} s")
        time.sleep(settle)
        wait_for_rest(fleet.state_dir)
        groups = fleet.pids()
        ksmd = ksmd_pid()
        if ksmd is not None:  # a kernel thread, but the fleet's doing when it scans
            groups["ksmd (kernel)"] = [ksmd]
        if len(groups["schools"]) != count:
            raise SystemExit(f"{len(groups['schools'])} school pid files for {count} schools")
        window = measure(groups, seconds)
        assert fleet.controller is not None
        return window, provisioning, fleet.controller.pid
    finally:
        say("fleet: stopping everything")
        fleet.stop()


# -- the report ----------------------------------------------------------------------------


def per_second_ms(window: Window, group: str) -> float:
    return 1000 * window.cpu[group] / window.seconds


def report(
    floor: Window, fleet: Window, schools: int, servers: int, provisioning: float
) -> dict[str, Any]:
    floor_ms = per_second_ms(floor, "bare grpc.aio")
    groups = {name: per_second_ms(fleet, name) for name in fleet.cpu}
    fleet_ms = sum(groups.values())
    excess_percent = (fleet_ms - floor_ms) / 10
    return {
        "schools": schools,
        "measured_seconds": round(fleet.seconds, 1),
        "floor_cpu_ms_per_s": round(floor_ms, 1),
        "floor_percent_of_a_core": round(floor_ms / 10, 2),
        "floor_per_process_ms_per_s": round(floor_ms / schools, 4),
        "floor_servers_per_process": servers,
        "floor_load_average": f"{floor.load_before} -> {floor.load_after}",
        "controller_cpu_ms_per_s": round(groups["controller"], 2),
        "warm_parent_cpu_ms_per_s": round(groups["warm parent"], 2),
        "schools_cpu_ms_per_s": round(groups["schools"], 1),
        "school_per_process_ms_per_s": round(groups["schools"] / schools, 4),
        # Counted in the fleet's: 0 once the merging pass after the provisioning is done.
        "ksmd_cpu_ms_per_s": round(groups.get("ksmd (kernel)", 0.0), 2),
        "fleet_cpu_ms_per_s": round(fleet_ms, 1),
        "fleet_percent_of_a_core": round(fleet_ms / 10, 2),
        "fleet_load_average": f"{fleet.load_before} -> {fleet.load_after}",
        "excess_over_floor_percent_of_a_core": round(excess_percent, 2),
        "excess_target_percent_of_a_core": EXCESS_TARGET_PERCENT,
        "met": excess_percent <= EXCESS_TARGET_PERCENT,
        "provisioning_seconds": round(provisioning, 1),
        "wakeups_per_s_by_thread_floor": floor.wakeups["bare grpc.aio"],
        "wakeups_per_s_by_thread_school": fleet.wakeups["schools"],
        "wakeups_per_s_by_thread_controller": fleet.wakeups["controller"],
    }


def addresses_of(pool: str, count: int) -> tuple[str, list[str]]:
    """The pool's first half for the fleet, the floor's addresses from its second half."""
    network = ipaddress.ip_network(pool)
    if not network.is_loopback or network.num_addresses < 4 * count:
        raise SystemExit(f"--pool must be a loopback network of at least {4 * count} addresses")
    fleet_half, floor_half = network.subnets(prefixlen_diff=1)
    return str(fleet_half), [str(a) for a in _first(floor_half.hosts(), count)]


def _first(hosts: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address], n: int) -> Iterator[Any]:
    for index, host in enumerate(hosts):
        if index == n:
            return
        yield host


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS)
    parser.add_argument(
        "--pool",
        default="",
        help="a loopback network, split in two (default: a free block of 127.156/16)",
    )
    parser.add_argument("--servers", type=int, default=len(PORTS), choices=(1, 2))
    parser.add_argument(
        "--code-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose controller and schools run (e.g. another branch's, to compare)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--floor-parent", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_parent:
        addresses = []
        for line in sys.stdin:
            if not line.strip():
                break
            addresses.append(line.strip())
        return floor_parent(addresses, args.servers)
    if not (1 <= args.schools <= 2000 and 5 <= args.seconds <= 300 and 0 <= args.settle <= 120):
        parser.error("keep it bounded: --schools 1-2000, --seconds 5-300, --settle 0-120")
    pool = args.pool or free_pool(POOL_SECOND_OCTET, 4 * args.schools)
    fleet_pool, floor_addresses = addresses_of(pool, args.schools)
    floor = measure_floor(floor_addresses, args.servers, args.seconds, args.settle)
    with tempfile.TemporaryDirectory(prefix="pronote-dc-idle-") as tmp:
        fleet, provisioning, _ = measure_fleet(
            Path(tmp), fleet_pool, args.schools, args.seconds, args.settle, args.code_dir
        )
    figures = report(floor, fleet, args.schools, args.servers, provisioning)
    print_figures({"code": str(args.code_dir), **figures}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
