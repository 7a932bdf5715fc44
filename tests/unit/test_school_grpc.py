"""A school's gRPC settings, given in its environment (DESIGN decision 43)."""

from __future__ import annotations

from common.school_grpc import GRPC_EXPERIMENTS, SCHOOL_GRPC_EXPERIMENTS, school_environment


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
