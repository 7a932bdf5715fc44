"""The fleet of schools: provision, deprovision, observe and reconcile (DESIGN decision 7).

A dead school is noticed by an event (DESIGN decision 31): the runtime watches each school's
server (`Runtime.watch`: a pidfd on local://) and the fleet restarts it when it stops. Schools
a runtime cannot watch (swarm://) are observed by the frequent pass (`reconcile(full=False)`);
every school by the slow safety-net pass (`reconcile()`).

Provisioning is all-or-nothing: a school that fails to start leaves no registry row, no lease,
no files and no process behind. Across a crash too (DESIGN decision 21): every multi-step
operation commits an intent row with its first write and deletes it with its last, and
`recover` (run at start, before anything is adopted) undoes an unfinished provisioning and
finishes an unfinished removal.
"""

from __future__ import annotations

import asyncio
import enum
import functools
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
from datacenter.core.errors import AlreadyExists, InvalidArgument, TimedOut, Unavailable
from datacenter.core.gateway import AgentGateway, PopulateBeforeStart
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry, SampleAccount, SchoolRecord
from datacenter.core.settings import Settings
from datacenter.core.uai import validate_uai
from provisioning.runtime import Observed, Runtime, SchoolSpec, StartFailed, StartTimedOut

log = logging.getLogger("datacenter.core.fleet")

FORMULAS: dict[str, int | None] = {"30": 30, "50": 50, "80": 80, "unlimited": None}
DEFAULT_ADMINISTRATIF_LICENCES = 4
RESTART_BACKOFF_MAX_SECONDS = 60.0
# A school whose start or population timed out (a loaded machine) is started again on a fresh
# server this many times in all before its provisioning is rolled back, after a pause.
PROVISION_ATTEMPTS = 2
PROVISION_RETRY_PAUSE_SECONDS = 1.0


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


# Fills a demo school: before its start where the runtime can (given a PopulateBeforeStart),
# else through its started server (None); returns its sample accounts.
Populate = Callable[[SchoolRecord, PopulateBeforeStart | None], Awaitable[list[SampleAccount]]]
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
        # uai -> (when, on `monotonic`; backoff seconds): a school that did not restart
        self._retry_at: dict[str, tuple[float, float]] = {}
        self.monotonic: Callable[[], float] = time.monotonic  # real time, even when simulated
        self.watched: set[str] = set()  # schools whose stop the runtime reports (an event)
        self._restarts = asyncio.Semaphore(settings.provision_parallelism)
        self._revivals: set[asyncio.Task[None]] = set()
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self.unwatched_appeared = asyncio.Event()  # a school no event covers: poll it
        self._closed = False
        self.provision_retries = 0  # schools started again after a timeout (metrics)
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
        # Schools mark their own pages for same-page merging (DESIGN decision 35).
        self.merge_pages = False

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
            accounts = await self._start_and_populate(record, spec, populate)
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

    async def _start_and_populate(
        self, record: SchoolRecord, spec: SchoolSpec, populate: Populate | None
    ) -> list[SampleAccount] | None:
        """Start the school's server and fill it. If that timed out (a loaded machine, most
        often), the server is removed and started afresh, `PROVISION_ATTEMPTS` times in all,
        before the caller rolls the school back; each retry is logged and counted."""
        for attempt in range(1, PROVISION_ATTEMPTS + 1):
            try:
                if populate is not None and self.runtime.populates_before_start:
                    await asyncio.to_thread(self._write_config, record, spec)
                    before_start = functools.partial(self._populate_before_start, spec)
                    accounts = await populate(record, before_start)
                    await self._start(record, spec)
                    fault_point("provision.started")
                    return accounts
                await self._start(record, spec)
                fault_point("provision.started")
                return await populate(record, None) if populate is not None else None
            except TimedOut as error:
                if attempt == PROVISION_ATTEMPTS:
                    raise TimedOut(
                        f"{error}\n(timed out {attempt} times: the machine is probably "
                        "overloaded; provision fewer schools at once with "
                        "PRONOTE_DC_PROVISION_PARALLELISM, then try again)"
                    ) from error
                log.warning(
                    "school %s timed out while being provisioned (%s); its server is removed "
                    "and started again in %.0f s (attempt %d of %d)",
                    record.uai,
                    str(error).splitlines()[0],
                    PROVISION_RETRY_PAUSE_SECONDS,
                    attempt + 1,
                    PROVISION_ATTEMPTS,
                )
                self.provision_retries += 1
                await self.runtime.remove(spec)
                await self._agents.forget(record.uai)
                await asyncio.to_thread(shutil.rmtree, spec.school_dir, True)
                await asyncio.sleep(PROVISION_RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _populate_before_start(self, spec: SchoolSpec, request: bytes) -> bytes:
        """The runtime's `populate_before_start`, its failures as the core's errors."""
        try:
            return await self.runtime.populate_before_start(
                spec, request, self._settings.start_timeout_seconds
            )
        except StartTimedOut as error:
            raise TimedOut(str(error)) from error
        except StartFailed as error:
            raise Unavailable(str(error)) from error

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
        except StartTimedOut as error:
            raise TimedOut(str(error)) from error
        except StartFailed as error:
            raise Unavailable(str(error)) from error
        record = await self._follow(record, await self.runtime.observe(spec))
        if not self.runtime.start_waits_for_ready:
            try:
                await self._agents.wait_healthy(record, timeout)
            except Unavailable as error:  # TimedOut stays TimedOut: provisioning retries it
                tail = "\n".join(await asyncio.to_thread(self.runtime.log_tail, spec, 10))
                await self.runtime.stop(spec)
                raise type(error)(f"{error}\nlast log lines:\n{tail}") from None
        self.pids[record.uai] = pid
        for hook in self.start_hooks:
            await hook(record)
        self.statuses[record.uai] = SchoolStatus.RUNNING
        self._watch(spec)

    def _watch(self, spec: SchoolSpec) -> None:
        if self.runtime.watch(spec, self._stopped):
            self.watched.add(spec.uai)
        else:
            self.watched.discard(spec.uai)
            self.unwatched_appeared.set()

    def unwatched(self) -> bool:
        """True if some school known to the fleet has no event to report its stop."""
        return any(uai not in self.watched for uai in self.statuses)

    def _stopped(self, uai: str) -> None:
        """The runtime's event: this school's server stopped. Restarted at once, unless an
        operation on it is under way (which owns its process) or it is gone."""
        self.watched.discard(uai)
        if self._closed or uai in self._busy or not self.registry.exists(uai):
            return
        log.info("school %s stopped", uai)
        task = asyncio.get_running_loop().create_task(self._revive(uai))
        self._revivals.add(task)
        task.add_done_callback(self._revivals.discard)

    async def _revive(self, uai: str) -> None:
        """Look at one school as the pass would, now."""
        self._retries.pop(uai, None)
        if self._not_ours_to_restart(uai):
            return
        record = self.registry.get(uai)
        if await self._needs_restart(record):
            await self._restart(record, self._restarts)
        else:
            log.info("school %s runs: watched again", uai)

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
        self.watched.discard(record.uai)
        retry = self._retries.pop(record.uai, None)
        if retry is not None:
            retry.cancel()

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
            merge_pages=self.merge_pages,
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

    async def reconcile(self, full: bool = True) -> None:
        """Adopt running school servers (and watch them); restart dead ones, backing off when
        they keep failing. `full=False`: only the schools no runtime event covers."""
        if not full and not self.unwatched():
            return  # nothing to look at: no query, no file read
        dead = []
        pending = {intent.uai for intent in self.registry.intents()}  # never restart half-made
        for record in self.registry.all():
            if record.uai in self._busy or record.uai in pending:
                continue
            if not full and record.uai in self.watched:
                continue
            if await self._needs_restart(record):
                dead.append(record)
        if dead:
            await asyncio.gather(*(self._restart(record, self._restarts) for record in dead))

    async def _needs_restart(self, record: SchoolRecord) -> bool:
        """Adopt the school if it runs (and watch it); else True once its backoff has passed."""
        spec = self.spec(record)
        observed = await self.runtime.observe(spec)
        if not observed.running:  # the safety net caught what no event reported
            self.watched.discard(record.uai)
            return self._retry_at.get(record.uai, (0.0, 0.0))[0] <= self.monotonic()
        record = await self._follow(record, observed)
        if self.statuses.get(record.uai) is None:
            self.reconcile_actions["adopted"] += 1
            log.info("adopted school %s (pid %s)", record.uai, observed.pid)
        self.statuses[record.uai] = SchoolStatus.RUNNING
        self.pids[record.uai] = observed.pid or 0
        if record.uai not in self.watched:
            self._watch(spec)
        return False

    def _not_ours_to_restart(self, uai: str) -> bool:
        """True when an operation holds the school, it is removed, or it is half-made or
        half-removed (an intent: `recover` owns it)."""
        return (
            uai in self._busy
            or not self.registry.exists(uai)
            or any(intent.uai == uai for intent in self.registry.intents())
        )

    async def _restart(self, record: SchoolRecord, limit: asyncio.Semaphore) -> None:
        async with limit:
            if self._not_ours_to_restart(record.uai):  # it may have changed while it waited
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
                self._retry_at[record.uai] = (self.monotonic() + backoff, backoff)
                self._retry_later(record.uai, backoff)
                self.unwatched_appeared.set()
                log.warning("school %s did not restart: %s", record.uai, error)
            finally:
                self._busy.discard(record.uai)

    def _retry_later(self, uai: str, delay_seconds: float) -> None:
        """A timer, not a poll: the school is looked at again once its backoff has passed."""
        old = self._retries.pop(uai, None)
        if old is not None:
            old.cancel()
        self._retries[uai] = asyncio.get_running_loop().call_later(
            delay_seconds, self._stopped, uai
        )

    async def close(self) -> None:
        """Cancel the timers and the restarts under way (the controller stops)."""
        self._closed = True
        for retry in self._retries.values():
            retry.cancel()
        self._retries.clear()
        for task in list(self._revivals):
            task.cancel()
        await asyncio.gather(*self._revivals, return_exceptions=True)
