"""The controller's Prometheus metrics: the fleet read at scrape time, provisioning durations,
reconcile actions, and the console API's latency and errors (a gRPC server interceptor)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from importlib import metadata
from typing import Any

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from datacenter.adapters.backup_copies import BackupCopies
from datacenter.adapters.ksmd import MergePasses
from datacenter.core.fleet import Fleet, SchoolStatus
from protos import console_pb2

# `_created` series would double every counter's samples (PERFORMANCE.md).
disable_created_metrics()

CONSOLE_METHODS = tuple(m.name for m in console_pb2.DESCRIPTOR.services_by_name["Console"].methods)
# The codes the console answers with (DESIGN decision 8), plus UNKNOWN for a bug.
ERROR_CODES = (
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "RESOURCE_EXHAUSTED",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "FAILED_PRECONDITION",
    "UNAVAILABLE",
    "UNKNOWN",
)
PROVISION_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60)
RPC_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
# ControllerEventLoopBlocked fires on lags past 1 s (monitoring/rules/pronote.rules.yml).
LOOP_LAG_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class FleetCollector(Collector):
    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet

    def collect(self) -> Iterator[Metric]:
        counts = dict.fromkeys(SchoolStatus, 0)
        for uai in self._fleet.registry.addresses():
            counts[self._fleet.status(uai)] += 1
        schools = GaugeMetricFamily(
            "pronote_fleet_schools",
            "Registered schools, by the state of their server.",
            labels=["state"],
        )
        for status, count in counts.items():
            schools.add_metric([status.value], count)
        yield schools
        actions = CounterMetricFamily(
            "pronote_fleet_reconcile_actions",
            "What the reconciler did since the controller started: adopted a running server, "
            "restarted a dead one, or failed to.",
            labels=["action"],
        )
        for action, count in self._fleet.reconcile_actions.items():
            actions.add_metric([action], count)
        yield actions
        yield CounterMetricFamily(
            "pronote_fleet_provision_retries",
            "Schools whose start or population timed out while being provisioned (a loaded "
            "machine) and whose server was started again, since the controller started.",
            value=self._fleet.provision_retries,
        )
        if self._fleet.nodes:  # runtimes spread over several hosts (swarm://)
            per_node = GaugeMetricFamily(
                "pronote_fleet_schools_per_node",
                "Schools whose server was last seen running on each node.",
                labels=["node"],
            )
            counts_per_node: dict[str, int] = {}
            for node in self._fleet.nodes.values():
                counts_per_node[node] = counts_per_node.get(node, 0) + 1
            for node, count in sorted(counts_per_node.items()):
                per_node.add_metric([node], count)
            yield per_node


class BackupCopiesCollector(Collector):
    """Backups copied off their node and reprises sur sauvegarde (swarm://)."""

    def __init__(self, copies: BackupCopies) -> None:
        self._copies = copies

    def collect(self) -> Iterator[Metric]:
        copies = CounterMetricFamily(
            "pronote_backup_copies",
            "Backups copied off a school's node to the data-center's store, and failed copies.",
            labels=["result"],
        )
        copies.add_metric(["copied"], self._copies.copied)
        copies.add_metric(["failed"], self._copies.copy_failures)
        yield copies
        yield CounterMetricFamily(
            "pronote_school_resumptions",
            "Schools that came back empty on another node and resumed from their latest "
            "sauvegarde (Historique: Reprise sur sauvegarde).",
            value=self._copies.resumptions,
        )


class PageMergingCollector(Collector):
    """ksmd passes this controller ran, and what the machine's ksmd merged (its sysfs counters,
    read at each scrape; DESIGN decision 35). node_exporter's `node_ksmd_*` say the same of a
    host; these are here so that one scrape of the controller tells the fleet's memory."""

    def __init__(self, passes: MergePasses[Any]) -> None:
        self._passes = passes

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "pronote_page_merging_passes",
            "ksmd passes run after schools started, each to its last full scan.",
            value=self._passes.passes,
        )
        yield CounterMetricFamily(
            "pronote_page_merging_marks_asked",
            "Schools asked to mark their own pages at the start of a pass (DESIGN decision 40).",
            value=self._passes.marks_asked,
        )
        ksmd = self._passes.ksmd
        try:
            shared, sharing = ksmd.read("pages_shared"), ksmd.read("pages_sharing")
        except (OSError, ValueError):
            return
        yield GaugeMetricFamily(
            "pronote_page_merging_shared_pages",
            "Merged pages the machine's ksmd keeps (one copy each), of 4 KiB.",
            value=shared,
        )
        yield GaugeMetricFamily(
            "pronote_page_merging_sharing_pages",
            "Pages mapped onto a merged page: the pages ksmd saved, of 4 KiB.",
            value=sharing,
        )


class ControllerMetrics:
    """Everything the controller exposes, in a registry of its own."""

    def __init__(self, fleet: Fleet) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        build = GaugeMetricFamily(
            "pronote_build_info",
            "Always 1; the label says which software runs.",
            labels=["version"],
        )
        build.add_metric([_version()], 1)
        self.registry.register(_Constant(build))
        self.registry.register(FleetCollector(fleet))
        ProcessCollector(registry=self.registry)
        self.provision_seconds = Histogram(
            "pronote_fleet_provision_duration_seconds",
            "Time from a provisioning order to a serving school (successful ones).",
            buckets=PROVISION_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.rpc_seconds = Histogram(
            "pronote_console_rpc_duration_seconds",
            "Console API calls, by method, errors included.",
            ["method"],
            buckets=RPC_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.rpc_errors = Counter(
            "pronote_console_rpc_errors",
            "Console API calls answered with an error, by method and gRPC status code.",
            ["method", "code"],
            registry=self.registry,
        )
        for method in CONSOLE_METHODS:
            self.rpc_seconds.labels(method)
            for code in ERROR_CODES:
                self.rpc_errors.labels(method, code)
        self.loop_lag_seconds = Histogram(
            "pronote_controller_event_loop_lag_seconds",
            "How late the controller's event loop ran a timer due every second: a lag is a time "
            "every console call, scrape and school start waited (datacenter/adapters/loop_watch).",
            buckets=LOOP_LAG_BUCKETS_SECONDS,
            registry=self.registry,
        )
        fleet.provision_listeners.append(self.provision_seconds.observe)

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        return RpcMetricsInterceptor(self)


class _Constant(Collector):
    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> Iterator[Metric]:
        yield self._metric


Handler = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Times every console call and counts its errors; health and reflection are left alone."""

    def __init__(self, metrics: ControllerMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        service, _, method = handler_call_details.method.rpartition("/")
        if handler is None or not service.endswith(".Console") or method not in CONSOLE_METHODS:
            return handler
        if handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._timed(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _timed(self, method: str, behaviour: Any) -> Handler:
        metrics = self._metrics

        async def timed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                return await behaviour(request, context)
            except BaseException:
                code = context.code() or grpc.StatusCode.UNKNOWN
                name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
                metrics.rpc_errors.labels(method, name).inc()
                raise
            finally:
                metrics.rpc_seconds.labels(method).observe(time.perf_counter() - started)

        return timed


def _version() -> str:
    try:
        return metadata.version("pronote-dc")
    except metadata.PackageNotFoundError:
        return "unknown"
