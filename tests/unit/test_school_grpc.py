"""A school's gRPC settings: given in its environment (DESIGN decision 43), and the options of
the controller's connection to it (decision 45)."""

from __future__ import annotations

from common.school_grpc import (
    GRPC_EXPERIMENTS,
    NO_BDP_PROBE,
    SCHOOL_GRPC_EXPERIMENTS,
    school_environment,
)
from datacenter.adapters.agents import CHANNEL_OPTIONS
from vm_agent import warm_grpc
from vm_agent.server import SERVER_OPTIONS

# Imported at collection, not in the test: gRPC's and aiohttp's imports would count in the
# unit tier's 20 s bound on a loaded machine.


def test_a_school_gets_its_grpc_experiments_and_the_rest_of_the_environment() -> None:
    environment = school_environment({"PATH": "/usr/bin", "LANG": "C.UTF-8"})
    assert environment == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        GRPC_EXPERIMENTS: "-event_engine_listener",
    }
    assert SCHOOL_GRPC_EXPERIMENTS == "-event_engine_listener"


def test_the_operators_own_choice_is_kept_as_given() -> None:
    chosen = {GRPC_EXPERIMENTS: "event_engine_listener", "PATH": "/usr/bin"}
    assert school_environment(chosen) == chosen
    assert school_environment({GRPC_EXPERIMENTS: ""}) == {GRPC_EXPERIMENTS: ""}


def test_both_ends_of_the_controllers_connection_to_a_school_turn_the_bdp_probe_off() -> None:
    """DESIGN decision 45: the school's two servers and its warm-up server, and the controller's
    channel to each school, take the options `common.school_grpc` gives."""
    assert NO_BDP_PROBE == ("grpc.http2.bdp_probe", 0)
    for options in (SERVER_OPTIONS, warm_grpc._SERVER_OPTIONS, CHANNEL_OPTIONS):
        assert NO_BDP_PROBE in options
    assert ("grpc.so_reuseport", 0) in SERVER_OPTIONS  # a taken address still refuses a server
    assert ("grpc.max_reconnect_backoff_ms", 2000) in CHANNEL_OPTIONS
    assert ("grpc.enable_http_proxy", 0) in CHANNEL_OPTIONS  # never via the operator's proxy
