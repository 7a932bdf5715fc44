"""Runs one school: the Client PRONOTE port and the management port, each with health and
reflection, health NOT_SERVING until the school's state is loaded."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from common.agent_config import AgentConfig
from common.clock import Clock, DrivenClock
from common.files import remove_temp_files
from common.processes import PidFile
from common.school_grpc import SCHOOL_SERVER_OPTIONS
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

SERVER_OPTIONS = list(SCHOOL_SERVER_OPTIONS)


class BindError(Exception):
    pass


def _new_server(
    port_label: str,
    address: str,
    port: int,
    interceptors: list[grpc.aio.ServerInterceptor],
    table: MethodTable,
) -> grpc.aio.Server:
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors)
    table.add_to(server)
    try:
        server.add_insecure_port(f"{address}:{port}")
    except RuntimeError:
        raise BindError(
            f"cannot listen on {address}:{port} ({port_label}): the address is taken or not "
            "local; stop whatever holds it, or take this address out of the pool"
        ) from None
    return server


class MethodTable:
    """Stands for a server while generated code (`add_*Servicer_to_server`) fills in its
    method handlers, which `add_to` then gives a real server, in the same order."""

    def __init__(self) -> None:
        self._generic: list[tuple[grpc.GenericRpcHandler, ...]] = []
        self._registered: list[tuple[str, dict[str, grpc.RpcMethodHandler]]] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._generic.append(tuple(handlers))

    def add_registered_method_handlers(
        self, service_name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self._registered.append((service_name, handlers))

    @property
    def service_names(self) -> set[str]:
        """The full names of the services whose handlers it holds."""
        return {service_name for service_name, _ in self._registered}

    def add_to(self, server: grpc.aio.Server) -> None:
        for generic in self._generic:
            server.add_generic_rpc_handlers(generic)
        for service_name, handlers in self._registered:
            # in grpcio since 1.62, not yet in its type stubs
            server.add_registered_method_handlers(service_name, handlers)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Services:
    """A school's servicers on both ports (health and reflection included) and their method
    tables, not bound to a school yet: `agent` is bound, `slot` filled, once it is known."""

    slot: SchoolSlot
    agent: AgentService
    client_health: health_aio.HealthServicer
    agent_health: health_aio.HealthServicer
    client_table: MethodTable
    agent_table: MethodTable


def make_services() -> Services:
    """New servicers and their method tables: ~60 handlers, one per RPC, each touching its
    request and reply classes. Pure Python: gRPC is not initialised."""
    slot, agent = SchoolSlot(), AgentService.unbound()
    client_health, agent_health = health_aio.HealthServicer(), health_aio.HealthServicer()
    client_table, agent_table = MethodTable(), MethodTable()
    health_pb2_grpc.add_HealthServicer_to_server(client_health, client_table)
    health_pb2_grpc.add_HealthServicer_to_server(agent_health, agent_table)
    client_pb2_grpc.add_ClientPronoteServicer_to_server(ClientService(slot), client_table)
    agent_pb2_grpc.add_AgentServicer_to_server(agent, agent_table)
    for table, service in (
        (client_table, client_pb2.DESCRIPTOR.services_by_name["ClientPronote"]),
        (agent_table, agent_pb2.DESCRIPTOR.services_by_name["Agent"]),
    ):
        names = (service.full_name, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer(names),  # type: ignore[attr-defined]
            table,
        )
    return Services(slot, agent, client_health, agent_health, client_table, agent_table)


_prepared: Services | None = None


def prepare_services() -> None:
    """Make the next school's servicers and method tables now (in the warm parent, before it
    forks: DESIGN decision 42). Built in each school, they cost it ~0.5 MiB of private pages
    (the reference counts of every handler, servicer method and message class they touch);
    made here, those pages stay shared, and a school touches a method's only when it is called.
    `serve` takes them once; a process that serves again makes its own."""
    global _prepared
    _prepared = make_services()


def take_services() -> Services:
    """The servicers `prepare_services` made, the first time; new ones afterwards (a process
    that serves two schools, as tests do, must not give them one slot)."""
    global _prepared
    services, _prepared = _prepared, None
    return services if services is not None else make_services()


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
    backups = BackupStore(config.backups, config.uai)
    services = take_services()
    slot, client_health, agent_health = services.slot, services.client_health, services.agent_health
    services.agent.bind(
        slot,
        clock.now(),
        backups,
        clock,
        config.data_dir,
        PronoteNetAddress(config.address, config.pronote_net_port),
    )
    client_server = _new_server(
        "Client PRONOTE", config.address, config.client_port, [], services.client_table
    )
    agent_server = _new_server(
        "management",
        config.address,
        config.agent_port,
        [SecretInterceptor(config.agent_secret_hash)],
        services.agent_table,
    )

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

    config.data_dir.mkdir(exist_ok=True)  # in the school's directory, not made again if gone
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
