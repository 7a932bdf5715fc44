"""Runs one school: the Client PRONOTE port and the management port, each with health and
reflection, health NOT_SERVING until the school's state is loaded."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

from common.agent_config import AgentConfig
from common.clock import Clock, DrivenClock
from common.files import remove_temp_files
from common.processes import PidFile
from protos import agent_pb2, agent_pb2_grpc, client_pb2, client_pb2_grpc
from vm_agent import page_merging
from vm_agent.adapters.agent_service import AgentService, SecretInterceptor
from vm_agent.adapters.client_service import ClientService
from vm_agent.adapters.expiry import IdleExpiry
from vm_agent.adapters.http import HttpBindError, metrics_app, start_http
from vm_agent.adapters.metrics import school_registry
from vm_agent.adapters.pronote_net.app import pronote_net_app
from vm_agent.adapters.publication_service import PronoteNetAddress
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.backups import BackupStore
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.school import Isolate, SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy
from vm_agent.isolated import run_isolated
from vm_agent.store import StateStore

log = logging.getLogger("vm_agent")

# A second server on a taken address must fail, not share it (PERFORMANCE.md, traps).
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]


class BindError(Exception):
    pass


def _new_server(
    port_label: str, address: str, port: int, interceptors: list[grpc.aio.ServerInterceptor]
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors)
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        server.add_insecure_port(f"{address}:{port}")
    except RuntimeError:
        raise BindError(
            f"cannot listen on {address}:{port} ({port_label}): the address is taken or not "
            "local; stop whatever holds it, or take this address out of the pool"
        ) from None
    return server, health_servicer


def school_clock(config: AgentConfig) -> DrivenClock:
    """The school's clock: on the data-center's time when `config` carries it (simulated
    time, driven by the controller afterwards), else real time."""
    clock = DrivenClock()
    if config.clock_seconds is not None:  # it starts on the data-center's time
        elapsed = max(0.0, time.time() - config.clock_written_at) * config.clock_speed
        clock.drive(config.clock_seconds + elapsed, config.clock_speed)
    return clock


def load_school(
    config: AgentConfig, clock: Clock, isolate: Isolate | None = run_isolated
) -> SchoolServer:
    """The school of `config` with its saved state (`<data_dir>/state.json`, none: empty).
    Raises ValueError if the state file is corrupt, InvalidArgument if its format is newer."""

    store = StateStore(config.data_dir)
    return SchoolServer(
        identity=SchoolIdentity(config.uai, config.school_name, config.pronote_version),
        licence_policy=LicencePolicy(config.administratif_licences, config.enseignant_capacity),
        security_policy=SecurityPolicy(
            config.maxretry, config.findtime_seconds, config.bantime_seconds
        ),
        idle_timeout_seconds=config.idle_timeout_seconds,
        clock=clock,
        save=store.save,
        saved_state=store.load(),
        isolate=isolate,
    )


def _marked_once_built(
    config: AgentConfig, make_app: Callable[[], web.Application]
) -> Callable[[], web.Application]:
    """`make_app`, which the first connection calls; the ~2.5 MiB of pages that building and
    serving it writes are marked for same-page merging (DESIGN decision 35) 2 s later, and
    merged at the controller's next pass."""
    if not config.merge_pages:
        return make_app

    def build() -> web.Application:
        page_merging.mark_soon()
        return make_app()

    return build


async def serve(
    config: AgentConfig,
    clock: Clock | None = None,
    on_ready: Callable[[], None] | None = None,
    pid_file: Path | None = None,
) -> None:
    if clock is None:
        clock = school_clock(config)
    for directory in (config.data_dir, config.backups):  # what a killed write left (issue 12)
        remove_temp_files(directory, recursive=True)
    slot = SchoolSlot()
    backups = BackupStore(config.backups, config.uai)
    client_server, client_health = _new_server(
        "Client PRONOTE", config.address, config.client_port, []
    )
    agent_server, agent_health = _new_server(
        "management",
        config.address,
        config.agent_port,
        [SecretInterceptor(config.agent_secret_hash)],
    )
    client_pb2_grpc.add_ClientPronoteServicer_to_server(ClientService(slot), client_server)
    agent_pb2_grpc.add_AgentServicer_to_server(
        AgentService(
            slot,
            clock.now(),
            backups,
            clock,
            config.data_dir,
            PronoteNetAddress(config.address, config.pronote_net_port),
        ),
        agent_server,
    )
    for server, service in (
        (client_server, client_pb2.DESCRIPTOR.services_by_name["ClientPronote"]),
        (agent_server, agent_pb2.DESCRIPTOR.services_by_name["Agent"]),
    ):
        names = (service.full_name, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)

    for health_servicer in (client_health, agent_health):
        await health_servicer.set(health.OVERALL_HEALTH, health_pb2.HealthCheckResponse.NOT_SERVING)
    await client_server.start()
    await agent_server.start()
    try:
        http_runner = await start_http(
            _marked_once_built(
                config, lambda: metrics_app(school_registry(slot, config.pronote_version, backups))
            ),
            config.address,
            config.metrics_port,
        )
        pronote_net_runner = await start_http(
            _marked_once_built(config, lambda: pronote_net_app(slot, clock)),
            config.address,
            config.pronote_net_port,
            "PRONOTE.net",
        )
    except HttpBindError as error:
        raise BindError(str(error)) from None

    config.data_dir.mkdir(parents=True, exist_ok=True)
    school = load_school(config, clock)  # a small file: no thread pool for it
    slot.fill(school)
    if config.merge_pages:  # before it is seen ready: the controller asks once it is (decision 40)
        page_merging.mark_when_asked()
    for health_servicer in (client_health, agent_health):
        await health_servicer.set(health.OVERALL_HEALTH, health_pb2.HealthCheckResponse.SERVING)
    if pid_file is not None:
        PidFile.write_for_self(pid_file, config.uai)
    log.info("school %s serving on %s:%s", config.uai, config.address, config.client_port)
    if on_ready is not None:
        on_ready()

    expiry = IdleExpiry(school, clock) if isinstance(clock, DrivenClock) else None
    if expiry is not None:
        expiry.rearm()  # sessions of a state loaded from disk: none today, but never polled
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()  # nothing periodic: idle sessions expire on their own timer
    if expiry is not None:
        expiry.close()

    for health_servicer in (client_health, agent_health):
        await health_servicer.enter_graceful_shutdown()
    await asyncio.gather(client_server.stop(grace=1.0), agent_server.stop(grace=1.0))
    await http_runner.cleanup()
    await pronote_net_runner.cleanup()
    if pid_file is not None:
        pid_file.unlink(missing_ok=True)
