"""The controller process: registry, fleet, console API and the reconcile loop, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import ssl
from collections.abc import Callable
from typing import IO

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

from common.clock import Clock, school_year_of
from common.fail2ban import SecurityPolicy
from common.files import make_private, write_json_atomically
from datacenter.adapters.agents import AgentDirectory
from datacenter.adapters.backup_copies import BackupCopies
from datacenter.adapters.console.service import ConsoleService
from datacenter.adapters.console_web import console_web_app
from datacenter.adapters.http import controller_app, serve_http
from datacenter.adapters.ksmd import Ksmd, MergePasses
from datacenter.adapters.loop_watch import LoopWatch
from datacenter.adapters.metrics import (
    BackupCopiesCollector,
    ControllerMetrics,
    PageMergingCollector,
)
from datacenter.core.auth import ConsoleAuth
from datacenter.core.demo import demo_orders, sample_accounts
from datacenter.core.errors import DatacenterError, Unavailable, WrongState
from datacenter.core.fleet import Fleet, Provisioned, SchoolOrder, SchoolStatus
from datacenter.core.gateway import PopulateBeforeStart
from datacenter.core.ipam import AddressPool
from datacenter.core.ordering import VatSchedule
from datacenter.core.orders import Ordering
from datacenter.core.registry import Registry, SampleAccount, SchoolRecord
from datacenter.core.scheduler import Scheduler, clock_file, clock_from_settings
from datacenter.core.settings import Settings, saved_runtime
from datacenter.core.year_cycle import YearCycle
from protos import console_pb2, console_pb2_grpc
from provisioning.factory import open_runtime
from provisioning.runtime import RuntimeFailure

log = logging.getLogger("datacenter")


class Controller:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or clock_from_settings(settings)  # real unless PRONOTE_DC_CLOCK
        self.console_address = ""
        self._lock_file: IO[str] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._scheduling: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self.merge_passes: MergePasses[SchoolRecord] | None = None
        self._server: grpc.aio.Server | None = None
        self.http_address = ""
        self._http: web.AppRunner | None = None

    async def start(self) -> None:
        settings = self.settings
        tls = settings.http_tls()  # a wrong certificate is refused before anything starts
        os.umask(0o077)  # everything it (and the schools it forks) creates is private
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._take_lock()
        await asyncio.to_thread(make_private, settings.state_dir)
        self.registry = Registry(settings.registry_path)
        self._remember_runtime()
        self.agents = AgentDirectory(settings.agent_port)
        self.runtime = open_runtime(settings.runtime)
        try:  # the runtime may reserve addresses of the pool (bridge gateways) or refuse it
            reserved = await self.runtime.prepare(settings.address_pool)
        except RuntimeFailure as error:
            raise Unavailable(str(error)) from error
        self.fleet = Fleet(
            settings,
            self.registry,
            AddressPool(settings.address_pool, self.registry, reserved),
            self.runtime,
            self.agents,
            self.clock,
        )
        self.auth = ConsoleAuth(
            self.registry,
            self.clock,
            settings.console_session_seconds,
            SecurityPolicy(settings.maxretry, settings.findtime_seconds, settings.bantime_seconds),
        )
        self.operator_token = self.auth.ensure_operator_token(settings.operator_token_path)
        self.metrics = ControllerMetrics(self.fleet)
        # From here on, a call that holds the event loop is logged with its stack (46).
        self._watching = asyncio.create_task(LoopWatch(self.metrics.loop_lag_seconds.observe).run())
        self.year_cycle = YearCycle(settings.state_dir / "year_cycle.json")
        self.scheduler = Scheduler(
            self.fleet, self.agents, self.clock, clock_file(settings), self.year_cycle
        )
        if self.runtime.moves_schools:  # swarm://: data outlives its node
            self.backup_copies = BackupCopies(self.fleet, self.agents, settings.backups_dir)
            self.scheduler.backup_listeners.append(self.backup_copies.copy_off)
            self.fleet.start_hooks.append(self.backup_copies.resume_if_lost)
            self.metrics.registry.register(BackupCopiesCollector(self.backup_copies))
        self._start_merge_passes()
        await self._serve_console()
        try:
            await self._serve_and_adopt(tls)
        except BaseException:
            # Stopped here: left to grpc's __del__, it found the event loop closed.
            assert self._server is not None
            await self._server.stop(grace=None)
            raise

    async def _serve_and_adopt(self, tls: ssl.SSLContext | None) -> None:
        """HTTP, then what a killed controller left, the running schools, the background work."""
        settings = self.settings
        console_web = console_web_app(
            lambda: self.console_address,
            session_seconds=settings.console_session_seconds,
            maxretry=settings.maxretry,
            findtime_seconds=settings.findtime_seconds,
            bantime_seconds=settings.bantime_seconds,
            grafana_url=settings.grafana_url,
            front_end_token=self.auth.front_end_token,
        )
        self._http, self.http_address = await serve_http(
            controller_app(self.fleet, self.metrics, settings.school_metrics_port, console_web),
            settings.http_address,
            tls,
        )
        await self.fleet.recover()  # finishes or undoes what a killed controller left
        await self.fleet.reconcile()  # adopts the school servers still running
        if self.merge_passes is not None:  # a killed controller may not have asked them (40)
            for record in self.registry.all():
                if self.fleet.status(record.uai) is SchoolStatus.RUNNING:
                    await self.merge_passes.school_started(record)
        self._reconciler = asyncio.create_task(self._reconcile_forever())
        self._scheduling = asyncio.create_task(
            self.scheduler.forever(settings.scheduler_interval_seconds)
        )
        write_json_atomically(
            settings.controller_file,
            {
                "console_address": self.console_address,
                "pid": os.getpid(),
                "http_address": self.http_address,
            },
        )

    def _start_merge_passes(self) -> None:
        """ksmd passes after schools start, where they can help and may run (decision 35)."""
        if self.settings.page_merging == "off" or not self.runtime.merges_pages:
            return
        ksmd = Ksmd()
        reason = ksmd.unavailable_reason()
        if reason is not None:
            log.warning("page merging off: %s (schools keep ~7 MiB each, not ~2)", reason)
            return
        try:
            ksmd.tidy()  # a controller killed in a pass left ksmd at its speed
        except OSError as error:
            log.warning("page merging off: %s", error)
            return
        runtime, fleet = self.runtime, self.fleet
        self.merge_passes = MergePasses(ksmd, lambda record: runtime.mark_pages(fleet.spec(record)))
        self.metrics.registry.register(PageMergingCollector(self.merge_passes))
        self.fleet.merge_pages = True
        self.fleet.start_hooks.append(self.merge_passes.school_started)

    def _remember_runtime(self) -> None:
        """Record the runtime in the state directory; refuse another one for its schools."""
        settings = self.settings
        saved = saved_runtime(settings.state_dir)
        if saved is not None and saved != settings.runtime and self.registry.all():
            raise WrongState(
                f"the schools of {settings.state_dir} run on {saved}, not {settings.runtime}: "
                f"start with --runtime {saved} (or unset PRONOTE_DC_RUNTIME), or give another "
                "--state-dir for a fleet on the other runtime"
            )
        write_json_atomically(settings.runtime_file, {"runtime": settings.runtime})

    async def _serve_console(self) -> None:
        server = grpc.aio.server(
            options=[("grpc.so_reuseport", 0)], interceptors=[self.metrics.interceptor()]
        )
        self.ordering = Ordering(
            self.fleet,
            self.auth,
            self.clock,
            VatSchedule.parse(self.settings.vat_schedule),
            lambda: self.console_address,
        )
        service = ConsoleService(
            self.fleet,
            self.auth,
            self.agents,
            self.settings.client_port,
            self.populate_demo,
            self.ordering,
            self.scheduler,
            max_upload_bytes=self.settings.max_upload_bytes,
        )
        console_pb2_grpc.add_ConsoleServicer_to_server(service, server)
        health_servicer = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = (
            console_pb2.DESCRIPTOR.services_by_name["Console"].full_name,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
        host, _, _ = self.settings.console_address.rpartition(":")
        try:
            port = server.add_insecure_port(self.settings.console_address)
        except RuntimeError as error:  # gRPC says no more than that: keep it for the log
            raise WrongState(
                f"cannot listen on {self.settings.console_address}: is another controller "
                "running? Choose another address with --console-address"
            ) from error
        await server.start()
        await health_servicer.set(health.OVERALL_HEALTH, health_pb2.HealthCheckResponse.SERVING)
        self.console_address = f"{host}:{port}"
        self._server = server

    def _take_lock(self) -> None:
        lock_file = open(self.settings.state_dir / "controller.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise WrongState(
                f"another controller already runs on {self.settings.state_dir}; stop it "
                "(`pronote-dc down`) or use another --state-dir"
            ) from None
        self._lock_file = lock_file

    async def _reconcile_forever(self) -> None:
        """The passes that back the runtime's events up (DESIGN decision 31): the schools it
        cannot watch every `reconcile_interval_seconds` (a pass with none costs a wake-up and
        nothing else), every school every `reconcile_full_interval_seconds`."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        next_full = loop.time() + settings.reconcile_full_interval_seconds
        while True:
            until_full = max(0.0, next_full - loop.time())
            if self.fleet.unwatched():
                await asyncio.sleep(min(settings.reconcile_interval_seconds, until_full))
            else:  # every school is watched: asleep until the full pass or an unwatched one
                self.fleet.unwatched_appeared.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.fleet.unwatched_appeared.wait(), until_full)
                if loop.time() < next_full:
                    continue
            full = loop.time() >= next_full
            if full:
                next_full = loop.time() + settings.reconcile_full_interval_seconds
            try:
                await self.fleet.reconcile(full=full)
            except Exception:
                log.exception("reconcile pass failed")

    async def populate_demo(
        self, record: SchoolRecord, before_start: PopulateBeforeStart | None
    ) -> list[SampleAccount]:
        year = school_year_of(self.clock.now())
        return await self.agents.populate_demo(record, year, sample_accounts(), before_start)

    @staticmethod
    def first_demo_orders(count: int) -> list[SchoolOrder]:
        """The orders of the first `count` demo schools: `up --demo N` makes sure these exist,
        so run twice it gives N demo schools, not 2 N."""
        return list(itertools.islice(demo_orders(set()), count))

    async def provision_demo(
        self, orders: list[SchoolOrder], on_done: Callable[[Provisioned | DatacenterError], None]
    ) -> None:
        """Provision these demo schools, `provision_parallelism` at a time."""
        limit = asyncio.Semaphore(self.settings.provision_parallelism)

        async def one(order: SchoolOrder) -> None:
            async with limit:
                try:
                    on_done(await self.fleet.provision(order, self.populate_demo))
                except DatacenterError as error:
                    on_done(error)
                except grpc.aio.AioRpcError as error:  # filling it (undone): that school only
                    on_done(
                        Unavailable(
                            f"school {order.uai} did not answer while being filled with its "
                            f"demo base ({error.code().name}: {error.details()}); it was undone, "
                            "run `up --demo` again to retry"
                        )
                    )

        await asyncio.gather(*(one(order) for order in orders))

    async def stop(self) -> None:
        """Stop the controller; the school servers keep running and are adopted next time."""
        if self._scheduling is not None:
            self._scheduling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduling
            self.scheduler.save_clock()
        if self._reconciler is not None:
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
            await self.fleet.close()  # its restart timers and the restarts under way
        if self.merge_passes is not None:
            await self.merge_passes.close()  # ksmd's settings back as they were
        if self._server is not None:
            await self._server.stop(grace=1.0)
        if self._http is not None:
            await self._http.cleanup()
        await self.runtime.close()
        await self.agents.close()
        self.registry.close()
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        self.settings.controller_file.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
