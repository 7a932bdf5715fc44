"""The school's Prometheus metrics, read from the live SchoolServer at scrape time.

No series carries a user, an IP or a session: a school target stays around 60 series.
The school's UAI is not a metric label: service discovery adds it as a target label.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from importlib import metadata

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.backup_plan import Kind
from vm_agent.adapters.slot import NotReady, SchoolSlot
from vm_agent.backups import BackupStore
from vm_agent.domain.espaces import PAGES
from vm_agent.domain.modes import Mode
from vm_agent.domain.school import REFUSAL_REASONS, SchoolServer
from vm_agent.domain.web import ESPACE_GENRES
from vm_agent.isolated import HELPER_KINDS, helpers_cpu_seconds, helpers_started


def package_version() -> str:
    try:
        return metadata.version("pronote-dc")
    except metadata.PackageNotFoundError:
        return "unknown"


# Read once in the warm parent: reading package metadata after the fork costs each school
# ~2 MiB of private memory.
VERSION = package_version()


class SchoolCollector(Collector):
    def __init__(
        self, slot: SchoolSlot, pronote_version: str, backups: BackupStore | None = None
    ) -> None:
        self._slot = slot
        self._backups = backups
        self._pronote_version = pronote_version
        self._version = VERSION

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "pronote_build_info",
            "Always 1; the labels say which software serves this school.",
            labels=["version", "pronote_version"],
        )
        build.add_metric([self._version, self._pronote_version], 1)
        yield build
        try:
            school = self._slot.school
        except NotReady:
            yield _gauge("pronote_school_up", "1 once the school's state is loaded.", 0)
            return
        yield _gauge("pronote_school_up", "1 once the school's state is loaded.", 1)
        yield from _licences(school)
        yield from _sessions(school)
        yield from _security(school)
        yield from _bases(school)
        yield from _publication(school)
        yield from _helpers()
        if self._backups is not None:
            yield from _backups(self._backups)


def _helpers() -> Iterator[Metric]:
    started = CounterMetricFamily(
        "pronote_school_helpers_started",
        "Helper processes that generated (part of) the synthetic school away from this one's "
        "memory, by who made them: a fork of the warm parent or a fresh interpreter.",
        labels=["made_by"],
    )
    cpu = CounterMetricFamily(
        "pronote_school_helpers_cpu_seconds",
        "CPU time the helper processes used, as each measured itself (a fork's counts from "
        "its fork, a fresh interpreter's from its start), by who made them.",
        labels=["made_by"],
    )
    for kind in HELPER_KINDS:
        started.add_metric([kind], helpers_started[kind])
        cpu.add_metric([kind], helpers_cpu_seconds[kind])
    yield started
    yield cpu


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _licences(school: SchoolServer) -> Iterator[Metric]:
    usage = school.licences()
    enseignant_capacity = usage.enseignant_capacity
    in_use = GaugeMetricFamily(
        "pronote_licences_in_use",
        "Licences held now: 'modification' (Administratif and Client EDT) and 'enseignant' "
        "(distinct teachers).",
        labels=["licence"],
    )
    in_use.add_metric(["modification"], usage.administratif_in_use)
    in_use.add_metric(["enseignant"], usage.enseignant_in_use)
    yield in_use
    capacity = GaugeMetricFamily(
        "pronote_licences_capacity",
        "Licences the school has; +Inf for the unlimited teacher formula.",
        labels=["licence"],
    )
    capacity.add_metric(["modification"], usage.administratif_capacity)
    capacity.add_metric(
        ["enseignant"], math.inf if enseignant_capacity is None else enseignant_capacity
    )
    yield capacity
    reserved = GaugeMetricFamily(
        "pronote_licences_reserved",
        "Licences en modification kept for the Administration group.",
        labels=["licence"],
    )
    reserved.add_metric(["modification"], usage.reserved_for_administration)
    yield reserved


def _sessions(school: SchoolServer) -> Iterator[Metric]:
    counts = dict.fromkeys(Mode, 0)
    for session in school.sessions:
        counts[session.mode] += 1
    sessions = GaugeMetricFamily(
        "pronote_sessions", "Client PRONOTE sessions open now, by mode.", labels=["mode"]
    )
    for mode, count in counts.items():
        sessions.add_metric([mode.value], count)
    yield sessions
    web = GaugeMetricFamily(
        "pronote_net_sessions",
        "PRONOTE.net users logged in now (no licence taken), by espace.",
        labels=["espace"],
    )
    logged_in = [s.espace for s in school.web_sessions.logged_in()]
    for espace in ESPACE_GENRES:
        web.add_metric([espace.value], logged_in.count(espace))
    yield web
    refused = CounterMetricFamily(
        "pronote_sessions_refused",
        "Client PRONOTE connections refused since the server started, by reason.",
        labels=["reason"],
    )
    for reason in REFUSAL_REASONS:
        refused.add_metric([reason], school.refusals[reason])
    yield refused


def _security(school: SchoolServer) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "pronote_authentication_failures",
        "Failed logins (wrong login or password), Client PRONOTE and PRONOTE.net, since the "
        "server started.",
        value=school.authentication_failures,
    )
    yield CounterMetricFamily(
        "pronote_ip_suspensions",
        "IPs suspended after too many failed logins since the server started.",
        value=school.ip_suspensions,
    )
    yield _gauge(
        "pronote_suspended_ips",
        "IPs suspended now (a count; never an IP label).",
        len(school.suspended_ips()),
    )


def _bases(school: SchoolServer) -> Iterator[Metric]:
    serving = school.base_in_service is not None
    state = GaugeMetricFamily(
        "pronote_server_state",
        "1 for the Serveur PRONOTE's current state: serving (a base in service) or stopped.",
        labels=["state"],
    )
    state.add_metric(["serving"], 1 if serving else 0)
    state.add_metric(["stopped"], 0 if serving else 1)
    yield state
    yield _gauge("pronote_bases", "Bases (one per school year) on this server.", len(school.bases))


def _publication(school: SchoolServer) -> Iterator[Metric]:
    publication = school.publication
    yield _gauge(
        "pronote_net_published",
        "1 while PRONOTE.net publishes the base (Publier la base), 0 once it is stopped.",
        1 if publication.published else 0,
    )
    espaces = GaugeMetricFamily(
        "pronote_net_espace_published",
        "1 for each page checked 'Publier' (the page commune and every espace); it is served "
        "only while pronote_net_published is 1.",
        labels=["espace"],
    )
    for page in PAGES:
        espaces.add_metric([page.name], 1 if publication.page_published(page.name) else 0)
    yield espaces


def _backups(store: BackupStore) -> Iterator[Metric]:
    """Absent until the school's first backup (an alert on absence would fire on new schools)."""
    for kind, name, what in (
        (Kind.SAUVEGARDE, "pronote_backup_last_success_timestamp_seconds", "sauvegarde (.sauvs)"),
        (Kind.ARCHIVE, "pronote_archive_last_success_timestamp_seconds", "archive (.archs)"),
    ):
        if kind in store.last_success:
            yield _gauge(
                name,
                f"When the last {what} was made, on the data-center's clock (Unix seconds).",
                store.last_success[kind],
            )
    if store.last_verification_ok is not None:
        yield _gauge(
            "pronote_backup_last_verification_success",
            "1 if the last backup read back (after making it, or before a restore) matched its "
            "SHA-256; 0 if not.",
            1 if store.last_verification_ok else 0,
        )


def school_registry(
    slot: SchoolSlot, pronote_version: str, backups: BackupStore | None = None
) -> CollectorRegistry:
    """A registry of its own (never the global one), with the process's CPU and memory."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SchoolCollector(slot, pronote_version, backups))
    ProcessCollector(registry=registry)
    return registry
