"""Provisioning and failover on the swarm:// runtime, beside Swarm's own, on a 3-node lab.

`python -m bench.provision_swarm [--schools N] [--parallelism P] [--json]` starts its own lab
(`pronote-dc lab up`'s code: 3 Docker-in-Docker nodes, the workers joined over SSH), then
measures in one run:

1. baseline: N raw `docker service create` of the agent image on the manager (dnsrr, on an
   overlay reachable from this host, each with its agent config in its environment), P in
   flight, wall time until every task answers the gRPC health check at its overlay address;
2. pronote-dc: a controller (`pronote-dc up --runtime swarm://…`, simulated clock) on another
   overlay, N schools provisioned through the Console API, P in flight, until each answers;
3. failover, one event for both: after a sauvegarde of every school was made and copied off,
   node 1 is stopped; wall time until every raw service that ran there answers again elsewhere
   (Swarm's rescheduling of a bare service) beside the time until every school that ran there
   answers again *with its data restored* (Reprise sur sauvegarde counted by the controller).

Target: pronote-dc provisioning <= 1.2x the baseline. Bounded by --timeout per phase; the lab
(label pronote-dc.lab=bench-<pid>), the controller and the host routes are removed at the end,
on error and on Ctrl-C too. Traffic goes only to the containers the run created.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker
import grpc

from bench.provision_local import (
    CHANNEL_OPTIONS,
    BenchFailure,
    Run,
    find_pronote_dc,
    provision_all,
    start_controller,
    wait_serving,
)
from bench.running import say
from common import secrets
from common.agent_config import AgentConfig, save_config
from datacenter.core.uai import make_uai
from protos import console_pb2, console_pb2_grpc
from provisioning import swarm_lab
from provisioning.swarm import AGENT_COMMAND, DEFAULT_IMAGE, SwarmRuntime

RATIO_TARGET = 1.2
FIRST_UAI_DIGITS = 9_300_000
START = "2026-10-05T07:00:00"
LOST_NODE = 1
BACKUP_AT = datetime.datetime(2026, 10, 5, 8, 5, tzinfo=datetime.UTC)  # past a sauvegarde slot


class SwarmRun(Run):
    runtime_url = ""
    lab = ""
    pools: tuple[str, ...] = ()

    def env(self, pool: str = "") -> dict[str, str]:
        env = super().env(pool)
        env["PRONOTE_DC_RUNTIME"] = self.runtime_url
        env["PRONOTE_DC_START_TIMEOUT_SECONDS"] = "180"
        env["PRONOTE_DC_CLOCK"] = "simulated"
        env["PRONOTE_DC_CLOCK_START"] = START
        env["PRONOTE_DC_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
        return env


def free_pools(count: int) -> list[str]:
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    pools = [f"10.{second}.0.0/22" for second in range(200, 250) if f"10.{second}." not in routes]
    if len(pools) < count:
        raise BenchFailure("no free overlay pool left in 10.200-249.0.0/22")
    return random.sample(pools, count)


def running_tasks(manager: docker.DockerClient, label: str) -> dict[str, tuple[str, str]]:
    """service name -> (node hostname, overlay address) of every running task with `label`."""
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in manager.api.nodes()}
    services = {s["ID"]: s["Spec"]["Name"] for s in manager.api.services(filters={"label": label})}
    found = {}
    for task in manager.api.tasks(filters={"desired-state": "running"}):
        if task["ServiceID"] in services and task["Status"]["State"] == "running":
            address = task["NetworksAttachments"][0]["Addresses"][0].split("/")[0]
            found[services[task["ServiceID"]]] = (nodes.get(task["NodeID"], "?"), address)
    return found


async def raw_services(
    manager_url: str,
    network: str,
    count: int,
    parallelism: int,
    timeout: float,
    tempdir: Path,
    image: str,
) -> float:
    """N raw `docker service create` of the agent image, until each task is healthy."""
    manager = docker.DockerClient(base_url=manager_url, timeout=120)
    limit = asyncio.Semaphore(parallelism)
    deadline = time.monotonic() + timeout

    async def one(index: int) -> None:
        path = Path(tempdir) / f"raw-{index}.json"
        save_config(
            path,
            AgentConfig(
                uai=make_uai(f"{FIRST_UAI_DIGITS + 500 + index:07d}"),
                school_name=f"Raw {index}",
                address="0.0.0.0",  # the command sets the task's own
                data_dir=Path("/school/data"),
                agent_secret_hash=secrets.hash_secret("raw"),
            ),
        )
        env = path.read_text(encoding="utf-8")
        async with limit:
            process = await asyncio.create_subprocess_exec(
                "docker", "-H", manager_url, "service", "create", "-d", "--quiet",
                "--name", f"raw-{index}", "--label", "pronote-dc.bench=raw",
                "--network", network, "--endpoint-mode", "dnsrr", "--no-healthcheck",
                "--env", f"PRONOTE_DC_AGENT_JSON={env}",
                image, "sh", "-c", AGENT_COMMAND,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, stderr = await process.communicate()
            if process.returncode != 0:
                raise BenchFailure(f"docker service create failed: {stderr.decode().strip()}")
        while time.monotonic() < deadline:
            tasks = await asyncio.to_thread(running_tasks, manager, "pronote-dc.bench=raw")
            if f"raw-{index}" in tasks:
                await wait_serving(f"{tasks[f'raw-{index}'][1]}:49300", deadline)
                return
            await asyncio.sleep(0.5)
        raise BenchFailure(f"raw-{index} has no running task within {timeout:.0f} s")

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started


async def failover(
    manager_url: str,
    run: SwarmRun,
    console_address: str,
    token: str,
    timeout: float,
) -> dict[str, Any]:
    manager = docker.DockerClient(base_url=manager_url, timeout=60)
    lost_host = f"node{LOST_NODE}"
    raws = [n for n, (node, _) in running_tasks(manager, "pronote-dc.bench=raw").items()
            if node == lost_host]  # fmt: skip
    schools = [n.rsplit("-", 1)[1]
               for n, (node, _) in running_tasks(manager, "pronote-dc.school").items()
               if node == lost_host]  # fmt: skip
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(console_address, options=CHANNEL_OPTIONS) as channel:
        console: Any = console_pb2_grpc.ConsoleStub(channel)
        for uai in schools:  # a base in service: something to back up and restore
            base = await console.CreateBase(
                console_pb2.CreateBaseRequest(uai=uai, school_year="2026-2027"), metadata=metadata
            )
            await console.PutBaseInService(
                console_pb2.PutBaseInServiceRequest(
                    uai=uai, base_id=base.id, spr_login="spr", spr_password="spr-password-1"
                ),
                metadata=metadata,
            )
        await console.AdvanceClock(
            console_pb2.AdvanceClockRequest(to_seconds=BACKUP_AT.timestamp()), metadata=metadata
        )
        store = run.state_dir / "backups"
        deadline = time.monotonic() + timeout
        while not all((store / uai / "index.json").exists() for uai in schools):
            if time.monotonic() > deadline:
                raise BenchFailure("the sauvegardes were not copied off in time")
            await asyncio.sleep(0.5)
        say(f"stopping {lost_host}: {len(raws)} raw services, {len(schools)} schools there…")
        started = time.perf_counter()
        await asyncio.to_thread(swarm_lab.stop_node, run.lab, LOST_NODE)
        raw_back: float | None = None
        schools_back: float | None = None
        while time.monotonic() < deadline and (raw_back is None or schools_back is None):
            if raw_back is None:
                tasks = await asyncio.to_thread(running_tasks, manager, "pronote-dc.bench=raw")
                if all(r in tasks and tasks[r][0] != lost_host for r in raws):
                    for r in raws:
                        await wait_serving(f"{tasks[r][1]}:49300", deadline)
                    raw_back = time.perf_counter() - started
            if schools_back is None:
                resumed = 0
                for uai in schools:
                    try:
                        history = await console.GetHistory(
                            console_pb2.SchoolRef(uai=uai), metadata=metadata, timeout=5
                        )
                    except grpc.aio.AioRpcError:
                        break  # its server is not back yet
                    resumed += any(e.action == "resumed_from_backup" for e in history.entries)
                if resumed == len(schools):
                    schools_back = time.perf_counter() - started
            await asyncio.sleep(0.25)
    if raw_back is None or schools_back is None:
        raise BenchFailure(f"failover did not finish within {timeout:.0f} s")
    return {
        "lost_node": lost_host,
        "raw_services_lost": len(raws),
        "schools_lost": len(schools),
        "swarm_reschedule_seconds": raw_back,
        "pronote_dc_failover_seconds": schools_back,
    }


async def bench(args: argparse.Namespace, run: SwarmRun) -> dict[str, Any]:
    assert run.tmp_dir is not None
    count, parallelism, timeout = args.schools, args.parallelism, args.timeout
    raw_pool, pool = free_pools(2)
    run.pools = (raw_pool, pool)
    say(f"lab: 3 nodes on {args.lab_subnet}…")
    nodes = await asyncio.to_thread(swarm_lab.up, run.lab, 3, args.lab_subnet, run.tmp_dir / "lab")
    url = await asyncio.to_thread(swarm_lab.form_swarm, nodes, run.tmp_dir / "lab", args.image, say)
    manager_url = url.replace("swarm://", "tcp://")
    run.runtime_url = f"{url}?image={args.image}"

    say(f"baseline: {count} x raw `docker service create` on {raw_pool}, {parallelism} at a time…")
    raw_runtime = SwarmRuntime(run.runtime_url)
    await raw_runtime.prepare(raw_pool)  # the overlay, its gateway and the host route
    raw_seconds = await raw_services(
        manager_url, raw_runtime.network_name, count, parallelism, timeout, run.tmp_dir, args.image
    )
    await raw_runtime.close()

    say(f"starting `pronote-dc up --runtime {run.runtime_url}` (pool {pool})…")
    console_address = await start_controller(run, pool, timeout)
    token = (run.state_dir / "operator.token").read_text(encoding="utf-8").strip()
    uais = [make_uai(f"{FIRST_UAI_DIGITS + i:07d}") for i in range(count)]
    say(f"provisioning {count} schools through {console_address}, {parallelism} in flight…")
    provisioning = await provision_all(console_address, token, uais, parallelism, timeout)
    if provisioning.failures:
        shown = "\n".join(f"  {s.uai}: {s.error}" for s in provisioning.failures[:5])
        raise BenchFailure(f"provisioning failed:\n{shown}\n{run.log_tail()}")
    ratio = provisioning.wall_seconds / raw_seconds
    say(f"  baseline {raw_seconds:.2f} s, pronote-dc {provisioning.wall_seconds:.2f} s")
    lost = await failover(manager_url, run, console_address, token, timeout)
    return {
        "schools": count,
        "parallelism": parallelism,
        "nodes": 3,
        "cpus": os.cpu_count(),
        "baseline_seconds": raw_seconds,
        "pronote_dc_seconds": provisioning.wall_seconds,
        "ratio": ratio,
        "ratio_target": RATIO_TARGET,
        "ratio_pass": ratio <= RATIO_TARGET,
        **lost,
    }


def render(report: dict[str, Any]) -> str:
    n, p = report["schools"], report["parallelism"]
    verdict = "PASS" if report["ratio_pass"] else "MISS"
    return "\n".join(
        [
            f"pronote-dc swarm provisioning — N={n} services on a {report['nodes']}-node lab "
            f"(Docker-in-Docker), P={p} at a time, {report['cpus']} CPUs; until healthy",
            f"  baseline: {n} x raw docker service create {report['baseline_seconds']:8.2f} s",
            f"  pronote-dc: {n} schools provisioned       {report['pronote_dc_seconds']:8.2f} s",
            f"  ratio pronote-dc / baseline               {report['ratio']:8.3f}x   "
            f"target <= {report['ratio_target']}x  {verdict}",
            f"failover — {report['lost_node']} stopped ({report['raw_services_lost']} raw "
            f"services, {report['schools_lost']} schools there)",
            f"  baseline: Swarm reschedules bare services  "
            f"{report['swarm_reschedule_seconds']:8.2f} s",
            f"  pronote-dc: serving, data restored         "
            f"{report['pronote_dc_failover_seconds']:8.2f} s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provision_swarm", description=__doc__)
    parser.add_argument("--schools", type=int, default=100, help="services per phase (100)")
    parser.add_argument("--parallelism", type=int, default=16, help="creations in flight (16)")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound per phase, s (600)")
    parser.add_argument("--lab-subnet", default="172.29.77.0/24", help="the lab bridge's subnet")
    parser.add_argument(
        "--image",
        default=os.environ.get("PRONOTE_DC_AGENT_IMAGE", DEFAULT_IMAGE),
        help="agent image (env PRONOTE_DC_AGENT_IMAGE, default pronote-dc/agent:latest)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 3 <= args.schools <= 250:
        parser.error("--schools must be between 3 and 250")
    run = SwarmRun(find_pronote_dc())
    run.lab = f"bench-{os.getpid()}"
    run.tmp_dir = Path(tempfile.mkdtemp(prefix="pronote-dc-bench-swarm-"))
    code = 0
    try:
        report = asyncio.run(bench(args, run))
        print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    except (BenchFailure, swarm_lab.LabFailure) as error:
        say(f"benchmark failed: {error}")
        code = 1
    except KeyboardInterrupt:
        say("interrupted")
        code = 130
    finally:
        if run.controller is not None and run.controller.poll() is None:
            run.controller.terminate()
            run.controller.wait(30)
        with contextlib.suppress(swarm_lab.LabFailure):
            swarm_lab.down(run.lab)
        for pool in run.pools:
            subprocess.run(["ip", "route", "del", pool], capture_output=True, check=False)
        shutil.rmtree(run.tmp_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
