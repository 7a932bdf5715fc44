"""The gRPC settings of a school's processes, given in their environment: gRPC reads its
configuration once, when it is imported (DESIGN decision 43); and the HTTP/2 options of the
connection between the controller and a school (DESIGN decision 45).

`-event_engine_listener` serves the connections a school accepts with gRPC's polling engine
(`grpc.aio` polls it), not with its event engine's work-stealing thread pool. A worker of
that pool that ran work sleeps 15 ms, then 1.3 times longer each time it finds none, up to
3 s: each call wakes the pool's 4 workers again and again until the next call, so a school
called once a simulated day pays more the longer a day lasts, that is the bigger the fleet
(docs/PERFORMANCE.md, "School year"). Measured with `python -m bench.grpc_wakeups`, one
health check every 0.16 s and every 0.75 s: the pool's wake-ups per call 13.6 and 31.4 with
gRPC's defaults, 4.7 and 13.6 with this.

`grpc.http2.bdp_probe = 0` on both ends of the controller's connection to a school (DESIGN
decision 45): HTTP/2's bandwidth-delay-product probe, on by default, answers data read with a
PING and times its acknowledgement to size the flow-control window (grpc's `chttp2`
transport, `flow_control.cc`, `bdp_estimator.cc`), so each call of the controller cost the
school a ping to answer and work for the pool of its event engine (the same back-off as
above). A school's calls are small, or a base's 1 MiB chunks on loopback, where the default
64 KiB window is not the limit. Measured with `bench.grpc_wakeups --calls 60`, the pool's
wake-ups per call at a call every 0.16 s and every 0.75 s: 4.7 and 13.6 with the experiment
above alone, 1.4 and 4.2 with this too; `bench.base_upload --mib 64` 53 MiB/s before and
53-56 after (docs/PERFORMANCE.md). Unlike GRPC_EXPERIMENTS, these options are not taken from
the environment: an operator cannot turn the probe back on without changing this module.
"""

from __future__ import annotations

from collections.abc import Mapping

GRPC_EXPERIMENTS = "GRPC_EXPERIMENTS"
SCHOOL_GRPC_EXPERIMENTS = "-event_engine_listener"

NO_BDP_PROBE = ("grpc.http2.bdp_probe", 0)
# A school's gRPC servers (`vm_agent.server`; `vm_agent.warm_grpc` serves once like them).
# A second server on a taken address must fail, not share it (PERFORMANCE.md, traps).
SCHOOL_SERVER_OPTIONS: tuple[tuple[str, int], ...] = (("grpc.so_reuseport", 0), NO_BDP_PROBE)
# The controller's channel to each school (`datacenter.adapters.agents`): a school server comes
# back within a second or two, so reconnect quickly, not after gRPC's default backoff of up to
# two minutes; always direct, never through an `http_proxy` of the controller's environment
# (a school's address is one the controller provisioned itself).
SCHOOL_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.enable_http_proxy", 0),
    NO_BDP_PROBE,
)


def school_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` (e.g. `os.environ`) for a school process: with the school's gRPC experiments,
    unless GRPC_EXPERIMENTS is set there already (the operator's choice is kept as given)."""
    return {GRPC_EXPERIMENTS: SCHOOL_GRPC_EXPERIMENTS, **environ}
