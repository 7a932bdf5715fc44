"""The gRPC settings of a school's processes, given in their environment: gRPC reads its
configuration once, when it is imported (DESIGN decision 43).

`-event_engine_listener` serves the connections a school accepts with gRPC's polling engine
(`grpc.aio` polls it), not with its event engine's work-stealing thread pool. A worker of
that pool that ran work sleeps 15 ms, then 1.3 times longer each time it finds none, up to
3 s: each call wakes the pool's 4 workers again and again until the next call, so a school
called once a simulated day pays more the longer a day lasts, that is the bigger the fleet
(docs/PERFORMANCE.md, "School year"). Measured with `python -m bench.grpc_wakeups`, one
health check every 0.16 s and every 0.75 s: the pool's wake-ups per call 13.6 and 31.4 with
gRPC's defaults, 4.7 and 13.6 with this.
"""

from __future__ import annotations

from collections.abc import Mapping

GRPC_EXPERIMENTS = "GRPC_EXPERIMENTS"
SCHOOL_GRPC_EXPERIMENTS = "-event_engine_listener"


def school_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` (e.g. `os.environ`) for a school process: with the school's gRPC experiments,
    unless GRPC_EXPERIMENTS is set there already (the operator's choice is kept as given)."""
    return {GRPC_EXPERIMENTS: SCHOOL_GRPC_EXPERIMENTS, **environ}
