"""The fleet of schools: provision, deprovision, observe and reconcile (DESIGN decision 7).

Provisioning is all-or-nothing: a school that fails to start leaves no registry row, no lease,
no files and no process behind. Across a crash too (DESIGN decision 21): every multi-step
operation commits an intent row with its first write and deletes it with its last, and
`recover` (run at start, before anything is adopted) undoes an unfinished provisioning and
finishes an unfinished removal.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from common import secrets
from common.agent_config import AgentConfig, save_config
from common.clock import Clock, SimulatedClock
from common.faults import fault_point
from common.files import remove_temp_files
from datacenter.core.contacts import Responsable, normalise_email, normalise_mobile
from datacenter.core.errors import AlreadyExists, InvalidArgument, Unavailable
from datacenter.core.gateway import AgentGateway
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry, SampleAccount, SchoolRecord
from datacenter.core.settings import Settings
from datacenter.core.uai import validate_uai
from provisioning.runtime import Observed, Runtime, SchoolSpec, StartFailed

log = logging.getLogger("datacenter.core.fleet")

FORMULAS: dict[str, int | None] = {"30": 30, "50": 50, "80": 80, "unlimited": None}
DEFAULT_ADMINISTRATIF_LICENCES = 4
RESTART_BACKOFF_MAX_SECONDS = 60.0


class SchoolStatus(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    DOWN = "down"
    STOPPING = "stopping"


@dataclass(frozen=True)
class SchoolOrder:
    uai: str
    name: str
    formula: str
    responsable: Responsable
    administratif_licences: int = DEFAULT_ADMINISTRATIF_LICENCES


@dataclass(frozen=True)
class Provisioned:
    record: SchoolRecord
    console_password: str


Populate = Callable[[SchoolRecord], Awaitable[list[SampleAccount]]]
# Runs inside the transaction that ends a provisioning's intent (order activation's own writes).
Complete = Callable[["Provisioned", sqlite3.Connection], None]


def validate_order(order: SchoolOrder) -> SchoolOrder:
    """Check every field and return the order in canonical form; nothing is written."""
    name = order.name.strip()
    if not 1 <= len(name) <= 120:
        raise InvalidArgument("give the school a name of 1 to 120 characters")
    if order.formula not in FORMULAS:
        raise InvalidArgument(
            f"formula {order.formula!r} does not exist: choose 30, 50, 80 or unlimited"
        )
    mobile = normalise_mobile(order.responsable.mobile)
    email = normalise_email(order.responsable.email, "the hosting number is")
    if not 1 <= order.administratif_licences <= 999:
        raise InvalidArgument("administratif licences must be between 1 and 999")
    return SchoolOrder(
        uai=validate_uai(order.uai),
        name=name,
        formula=order.formula,
        responsable=Responsable(
            order.responsable.name.strip() or "Responsable hébergement",
            mobile,
            email,
        ),
        administratif_licences=order.administratif_licences,
    )


class Fleet:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        pool: AddressPool,
        runtime: Runtime,
        agents: AgentGateway,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self.registry = registry
        self._pool = pool
        self.runtime = runtime
        self._agents = agents
        self._clock = clock
        self.statuses: dict[str, SchoolStatus] = {}
        self.pids: dict[str, int] = {}
        self._busy: set[str] = set()
        self._retry_at: dict[str, tuple[float, float]] = {}  # uai -> (when, backoff)
        self.reconcile_actions: dict[str, int] = {
            "adopted": 0,
            "restarted": 0,
            "failed": 0,
            "moved": 0,
        }
        self.nodes: dict[str, str] = {}  # uai -> node it runs on (runtimes over several hosts)
        # Called with the seconds a successful provisioning took (metrics listen here).
        self.provision_listeners: list[Callable[[float], None]] = []
        # Awaited once a school's server (re)starts, before it is used (the simulated clock).
        self.start_hooks: list[Callable[[SchoolRecord], Awaitable[None]]] = []

    def spec(self, record: SchoolRecord) -> SchoolSpec:
        return SchoolSpec(record.uai, record.address, self._settings.schools_dir / record.uai)

    def status(self, uai: str) -> SchoolStatus:
        return self.statuses.get(uai, SchoolStatus.DOWN)

    # -- provisioning ----------------------------------------------------------------------

    async def provision(
        self,
        order: SchoolOrder,
        populate: Populate | None = None,
        complete: Complete | None = None,
    ) -> Provisioned:
        """Register, write, start and (with `populate`) fill a school; `complete` adds its
        writes to the final transaction. All or nothing, also if the controller is killed."""
        order = validate_order(order)
        if order.uai in self._busy or self.registry.exists(order.uai):
            raise AlreadyExists(
                f"school {order.uai} is already provisioned; show it with "
                f"`pronote-dc school show {order.uai}`"
            )
        self._busy.add(order.uai)
        started = time.perf_counter()
        try:
            provisioned = await self._provision(order, populate, complete)
        finally:
            self._busy.discard(order.uai)
        for listener in self.provision_listeners:
            listener(time.perf_counter() - started)
        return provisioned

    async def _provision(
        self, order: SchoolOrder, populate: Populate | None, complete: Complete | None
    ) -> Provisioned:
        now = self._clock.now()
        password, agent_secret = secrets.new_password(), secrets.new_token()
        hosting_number = self.registry.next_hosting_number(now)
        with self.registry.transaction() as db:
            address = self._pool.allocate(order.uai, now, db)
            record = SchoolRecord(
                uai=order.uai,
                name=order.name,
                formula=order.formula,
                responsable=order.responsable,
                administratif_licences=order.administratif_licences,
                hosting_number=hosting_number,
                console_password_hash=secrets.hash_secret(password),
                invoice_number=f"{hosting_number[-6:]}{secrets.new_password(4).upper()}",
                first_login_done=False,
                agent_secret=agent_secret,
                address=address,
                created_at=now,
            )
            self.registry.add_school(record, db)
            self.registry.begin_intent(record.uai, "provision", now, db)
        fault_point("provision.registered")
        spec = self.spec(record)
        self.statuses[record.uai] = SchoolStatus.STARTING
        try:
            await asyncio.to_thread(shutil.rmtree, spec.school_dir, True)  # an old school's
            await self._start(record, spec)
            fault_point("provision.started")
            accounts = await populate(record) if populate is not None else None
            fault_point("provision.populated")
            provisioned = Provisioned(record, password)
            with self.registry.transaction() as db:
                if accounts is not None:
                    self.registry.set_sample_accounts(record.uai, accounts, db)
                if complete is not None:
                    complete(provisioned, db)
                self.registry.end_intent(record.uai, db)
            fault_point("provision.done")
        except BaseException:
            await self._undo(record, spec)
            raise
        return Provisioned(self.registry.get(record.uai), password)

    def _write_config(self, record: SchoolRecord, spec: SchoolSpec) -> None:
        """Before every start: the config carries the data-center's time (point 3)."""
        save_config(spec.config_path, self._agent_config(record, spec))

    async def _start(self, record: SchoolRecord, spec: SchoolSpec) -> None:
        timeout = self._settings.start_timeout_seconds
        await self._agents.forget(record.uai)  # a channel to a dead server is in backoff
        await asyncio.to_thread(self._write_config, record, spec)
        fault_point("start.config_written")
        try:
            pid = await self.runtime.start(spec, timeout)
        except StartFailed as error:
            raise Unavailable(str(error)) from error
        record = await self._follow(record, self.runtime.observe(spec))
        if not self.runtime.start_waits_for_ready:
            try:
                await self._agents.wait_healthy(record, timeout)
            except Unavailable as error:
                tail = "\n".join(await asyncio.to_thread(self.runtime.log_tail, spec, 10))
                await self.runtime.stop(spec)
                raise Unavailable(f"{error}\nlast log lines:\n{tail}") from None
        self.pids[record.uai] = pid
        for hook in self.start_hooks:
            await hook(record)
        self.statuses[record.uai] = SchoolStatus.RUNNING

    async def _follow(self, record: SchoolRecord, observed: Observed) -> SchoolRecord:
        """Where the runtime placed the school (swarm://: its task's address and node): the
        lease follows it, and a channel to the old address is dropped."""
        placed_before = record.uai in self.nodes
        if observed.node is not None:
            self.nodes[record.uai] = observed.node
        if observed.address is None or observed.address == record.address:
            return record
        self.registry.move_lease(record.uai, observed.address, self._clock.now())
        await self._agents.forget(record.uai)
        if placed_before:  # not its first placement: the runtime moved it
            self.reconcile_actions["moved"] += 1
            log.info("school %s answers at %s on %s", record.uai, observed.address, observed.node)
        return self.registry.get(record.uai)

    async def _undo(self, record: SchoolRecord, spec: SchoolSpec) -> None:
        """Undo a failed provisioning. If the undo fails too (e.g. a swarm manager too busy to
        answer), the caller's error stands, not the undo's: the intent row stays, so the next
        start's `recover` finishes the undo, and the reconciler leaves the school alone."""
        try:
            await asyncio.shield(self._remove(record, spec))
        except Exception:
            log.exception(
                "undoing the provisioning of %s failed; the next start finishes it", record.uai
            )

    async def _remove(self, record: SchoolRecord, spec: SchoolSpec) -> None:
        """Process, then files, then the row (with its intent): a crash at any step leaves the
        intent (or a directory without a row), which `recover` finishes."""
        await self.runtime.remove(spec)
        fault_point("remove.stopped")
        await self._agents.forget(record.uai)
        await asyncio.to_thread(shutil.rmtree, spec.school_dir, ignore_errors=True)
        fault_point("remove.files_removed")
        self.registry.remove_school(record.uai)
        self.statuses.pop(record.uai, None)
        self.pids.pop(record.uai, None)
        self._retry_at.pop(record.uai, None)

    def _agent_config(self, record: SchoolRecord, spec: SchoolSpec) -> AgentConfig:
        settings = self._settings
        simulated = isinstance(self._clock, SimulatedClock)
        return AgentConfig(
            clock_seconds=self._clock.now() if simulated else None,
            clock_written_at=time.time(),
            clock_speed=self._clock.speed if isinstance(self._clock, SimulatedClock) else 1.0,
            uai=record.uai,
            school_name=record.name,
            address=record.address,
            data_dir=spec.data_dir,
            agent_secret_hash=secrets.hash_secret(record.agent_secret),
            client_port=settings.client_port,
            agent_port=settings.agent_port,
            administratif_licences=record.administratif_licences,
            enseignant_capacity=FORMULAS[record.formula],
            idle_timeout_seconds=settings.session_idle_timeout_seconds,
            maxretry=settings.maxretry,
            findtime_seconds=settings.findtime_seconds,
            bantime_seconds=settings.bantime_seconds,
            metrics_port=settings.school_metrics_port,
            pronote_net_port=settings.school_pronote_net_port,
            backup_dir=settings.backups_dir / record.uai,
        )

    async def deprovision(self, uai: str) -> None:
        record = self.registry.get(validate_uai(uai))
        if record.uai in self._busy:
            raise AlreadyExists(f"school {record.uai} is being changed; retry in a moment")
        self._busy.add(record.uai)
        self.statuses[record.uai] = SchoolStatus.STOPPING
        try:
            with self.registry.transaction() as db:
                self.registry.begin_intent(record.uai, "remove", self._clock.now(), db)
            fault_point("remove.intent")
            await self._remove(record, self.spec(record))
        finally:
            self._busy.discard(record.uai)

    # -- recovery (DESIGN decision 21) -----------------------------------------------------

    async def recover(self) -> list[str]:
        """At start, before anything is adopted: undo every unfinished provisioning, finish
        every unfinished removal, delete school directories no row makes real and the temp
        files of interrupted writes. Returns one line per action taken (for the log)."""
        actions = []
        for intent in self.registry.intents():
            record = self.registry.get(intent.uai)
            spec = self.spec(record)
            self._busy.add(record.uai)
            try:
                await self._remove(record, spec)
            finally:
                self._busy.discard(record.uai)
            verb = (
                "undid the provisioning" if intent.kind == "provision" else "finished the removal"
            )
            actions.append(f"{verb} of {record.uai}, interrupted by a controller stop")
            fault_point("recover.one")
        schools = self._settings.schools_dir
        known = {record.uai for record in self.registry.all()}
        orphans = (
            [d for d in schools.iterdir() if d.is_dir() and d.name not in known]
            if (schools.is_dir())
            else []
        )
        for directory in orphans:  # its server too, if one still runs there
            await self.runtime.remove(SchoolSpec(directory.name, "", directory))
            await asyncio.to_thread(shutil.rmtree, directory, True)
            actions.append(f"removed {directory}, which no registry row makes a school")
        removed = await asyncio.to_thread(self._remove_temp_files)
        if removed:
            actions.append(f"removed {removed} temporary file(s) of interrupted writes")
        for action in actions:
            log.warning("%s", action)
        return actions

    def _remove_temp_files(self) -> int:
        """The controller's own: the state dir's and each school directory's top level (each
        school removes those of its data and backups itself, at its start)."""
        schools = self._settings.schools_dir
        directories = [self._settings.state_dir]
        directories += [d for d in schools.iterdir() if d.is_dir()] if schools.is_dir() else []
        return sum(remove_temp_files(directory) for directory in directories)

    # -- reconciliation --------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Adopt running school servers; restart dead ones, backing off when they keep failing."""
        dead = []
        pending = {intent.uai for intent in self.registry.intents()}  # never restart half-made
        for record in self.registry.all():
            if record.uai in self._busy or record.uai in pending:
                continue
            observed = self.runtime.observe(self.spec(record))
            if observed.running:
                record = await self._follow(record, observed)
                if self.statuses.get(record.uai) is None:
                    self.reconcile_actions["adopted"] += 1
                    log.info("adopted school %s (pid %s)", record.uai, observed.pid)
                self.statuses[record.uai] = SchoolStatus.RUNNING
                self.pids[record.uai] = observed.pid or 0
            elif self._retry_at.get(record.uai, (0.0, 0.0))[0] <= self._clock.now():
                dead.append(record)
        if dead:
            limit = asyncio.Semaphore(self._settings.provision_parallelism)
            await asyncio.gather(*(self._restart(record, limit) for record in dead))

    async def _restart(self, record: SchoolRecord, limit: asyncio.Semaphore) -> None:
        async with limit:
            if record.uai in self._busy:
                return
            self._busy.add(record.uai)
            self.statuses[record.uai] = SchoolStatus.RESTARTING
            try:
                await self._start(record, self.spec(record))
                self.reconcile_actions["restarted"] += 1
                self._retry_at.pop(record.uai, None)
                log.info("restarted school %s", record.uai)
            except Exception as error:
                self.reconcile_actions["failed"] += 1
                self.statuses[record.uai] = SchoolStatus.DOWN
                backoff = min(
                    self._retry_at.get(record.uai, (0.0, 0.5))[1] * 2, RESTART_BACKOFF_MAX_SECONDS
                )
                self._retry_at[record.uai] = (self._clock.now() + backoff, backoff)
                log.warning("school %s did not restart: %s", record.uai, error)
            finally:
                self._busy.discard(record.uai)
