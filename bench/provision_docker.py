"""Provisioning on the docker runtime, side by side with raw `docker run` of the same image.

`python -m bench.provision_docker [--schools N] [--parallelism P] [--json]` measures, in one run:

1. baseline: N raw `docker run -d --network NET --ip IP` of the agent image, each with its
   agent.json bind-mounted, P at a time, wall time until every one answers the gRPC health
   check on its own IP, port 49300;
2. pronote-dc: a controller (`pronote-dc up --runtime docker://`) whose pool is another free
   bridge subnet, N schools provisioned through the Console API, P requests in flight, wall
   time until every school answers the same health check.

Target: pronote-dc <= 1.2x the baseline. Both phases are bounded by --timeout; every container,
network and volume of the run is removed at the end, on error and on Ctrl-C too. Traffic goes
only to the containers the run created.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker

from bench.provision_local import (
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
from provisioning.docker import DEFAULT_IMAGE, DockerRuntime
from provisioning.runtime import SchoolSpec

RATIO_TARGET = 1.2
BLOCK = ipaddress.ip_network("172.30.128.0/17")
FIRST_UAI_DIGITS = 9_200_000
BENCH_LABEL = "pronote-dc.bench"


class DockerRun(Run):
    def env(self, pool: str = "") -> dict[str, str]:
        env = super().env(pool)
        env["PRONOTE_DC_RUNTIME"] = "docker://"
        env["PRONOTE_DC_START_TIMEOUT_SECONDS"] = "120"
        return env


def free_subnets(client: docker.DockerClient, count: int) -> list[str]:
    used = [
        ipaddress.ip_network(config["Subnet"])
        for network in client.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
        if ":" not in config.get("Subnet", ":")
    ]
    candidates = [s for s in BLOCK.subnets(new_prefix=24) if not any(s.overlaps(u) for u in used)]
    if len(candidates) < count:
        raise BenchFailure("no free /24 left in 172.30.128.0/17 for the benchmark")
    return [str(s) for s in random.sample(candidates, count)]


async def raw_docker_runs(
    client: docker.DockerClient,
    tmp: Path,
    subnet: str,
    count: int,
    parallelism: int,
    timeout: float,
) -> float:
    """N raw `docker run` of the agent image on their own IPs, until each is healthy."""
    network = ipaddress.ip_network(subnet)
    name = f"pdc-bench-raw-{network.network_address}"
    client.networks.create(
        name,
        ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=str(network[1]))]
        ),
        labels={BENCH_LABEL: "raw"},
    )
    addresses = [str(network[i + 2]) for i in range(count)]
    for index, address in enumerate(addresses):
        save_config(
            tmp / f"raw-{index}" / "agent.json",
            AgentConfig(
                uai=make_uai(f"{FIRST_UAI_DIGITS + 500 + index:07d}"),
                school_name=f"Raw {index}",
                address=address,
                data_dir=Path("/school/data"),
                agent_secret_hash=secrets.hash_secret("raw"),
            ),
        )
    limit = asyncio.Semaphore(parallelism)
    deadline = time.monotonic() + timeout

    async def one(index: int, address: str) -> None:
        async with limit:
            process = await asyncio.create_subprocess_exec(
                "docker", "run", "-d", "--network", name, "--ip", address,
                "--label", f"{BENCH_LABEL}=raw",
                "-v", f"{tmp / f'raw-{index}' / 'agent.json'}:/school/agent.json:ro",
                DEFAULT_IMAGE,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, stderr = await process.communicate()
            if process.returncode != 0:
                raise BenchFailure(f"docker run failed: {stderr.decode().strip()}")
            await wait_serving(f"{address}:49300", deadline)

    started = time.perf_counter()
    await asyncio.gather(*(one(i, a) for i, a in enumerate(addresses)))
    return time.perf_counter() - started


def remove_raw(client: docker.DockerClient) -> None:
    for container in client.api.containers(all=True, filters={"label": BENCH_LABEL}):
        client.api.remove_container(container["Id"], force=True)
    for network in client.api.networks(filters={"label": BENCH_LABEL}):
        client.api.remove_network(network["Id"])


def remove_fleet(client: docker.DockerClient, run: Run, subnet: str) -> None:
    instance = DockerRuntime.instance(SchoolSpec("x", "", run.state_dir / "schools" / "x"))
    selector = {"label": f"pronote-dc.instance={instance}"}
    for container in client.api.containers(all=True, filters=selector):
        client.api.remove_container(container["Id"], force=True)
    for volume in client.api.volumes(filters=selector).get("Volumes") or []:
        client.api.remove_volume(volume["Name"], force=True)
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_network(f"pronote-dc-{subnet.replace('/', '-')}")


async def bench(
    args: argparse.Namespace, run: DockerRun, client: docker.DockerClient
) -> dict[str, Any]:
    assert run.tmp_dir is not None
    count, parallelism, timeout = args.schools, args.parallelism, args.timeout
    raw_subnet, pool = free_subnets(client, 2)
    run.subnet = pool  # type: ignore[attr-defined]

    say(f"baseline: {count} x raw `docker run` on {raw_subnet}, {parallelism} at a time…")
    raw_seconds = await raw_docker_runs(
        client, run.tmp_dir, raw_subnet, count, parallelism, timeout
    )
    say(f"  {raw_seconds:.2f} s; removing them…")
    await asyncio.to_thread(remove_raw, client)

    say(f"starting `pronote-dc up --runtime docker://` (pool {pool})…")
    console_address = await start_controller(run, pool, timeout)
    token = (run.state_dir / "operator.token").read_text(encoding="utf-8").strip()
    uais = [make_uai(f"{FIRST_UAI_DIGITS + i:07d}") for i in range(count)]
    say(f"provisioning {count} schools through {console_address}, {parallelism} in flight…")
    provisioning = await provision_all(console_address, token, uais, parallelism, timeout)
    if provisioning.failures:
        shown = "\n".join(f"  {s.uai}: {s.error}" for s in provisioning.failures[:5])
        raise BenchFailure(f"provisioning failed:\n{shown}\n{run.log_tail()}")
    ratio = provisioning.wall_seconds / raw_seconds
    return {
        "schools": count,
        "parallelism": parallelism,
        "cpus": os.cpu_count(),
        "baseline_seconds": raw_seconds,
        "pronote_dc_seconds": provisioning.wall_seconds,
        "ratio": ratio,
        "ratio_target": RATIO_TARGET,
        "ratio_pass": ratio <= RATIO_TARGET,
    }


def render(report: dict[str, Any]) -> str:
    n, p = report["schools"], report["parallelism"]
    verdict = "PASS" if report["ratio_pass"] else "MISS"
    return "\n".join(
        [
            f"pronote-dc docker provisioning — N={n} containers, P={p} at a time, "
            f"{report['cpus']} CPUs; both until healthy on their own IP, port 49300",
            f"  baseline: {n} x raw docker run      {report['baseline_seconds']:8.2f} s",
            f"  pronote-dc: {n} schools provisioned  {report['pronote_dc_seconds']:8.2f} s",
            f"  ratio pronote-dc / baseline          {report['ratio']:8.3f}x   "
            f"target <= {report['ratio_target']}x  {verdict}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provision_docker", description=__doc__)
    parser.add_argument("--schools", type=int, default=100, help="containers per phase (100)")
    parser.add_argument("--parallelism", type=int, default=16, help="starts in flight (16)")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound per phase, s (600)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.schools <= 250:
        parser.error("--schools must be between 1 and 250 (one /24 per phase)")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        client.images.get(DEFAULT_IMAGE)
    except docker.errors.DockerException as error:
        say(f"benchmark failed: no Docker engine or image ({error}); run `make docker-images`")
        return 1
    run = DockerRun(find_pronote_dc())
    run.tmp_dir = Path(tempfile.mkdtemp(prefix="pronote-dc-bench-docker-"))
    code = 0
    try:
        report = asyncio.run(bench(args, run, client))
        print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    except BenchFailure as error:
        say(f"benchmark failed: {error}")
        code = 1
    except KeyboardInterrupt:
        say("interrupted")
        code = 130
    finally:
        if run.controller is not None and run.controller.poll() is None:
            run.controller.terminate()
            run.controller.wait(30)
        remove_raw(client)
        if hasattr(run, "subnet"):
            remove_fleet(client, run, run.subnet)
        shutil.rmtree(run.tmp_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
