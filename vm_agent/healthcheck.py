"""`python -m vm_agent.healthcheck --config agent.json`: exit 0 if the school's server answers
SERVING on its gRPC health service (client port), 1 otherwise. The container's HEALTHCHECK."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.agent_config import ConfigError, load_config


def check(target: str, timeout_seconds: float) -> str:
    """The health status the server at `target` reports, or why there is none."""
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout_seconds
            )
        except grpc.RpcError as error:
            return f"no answer from {target}: {error.code().name}"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm_agent.healthcheck", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="agent.json of the school")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    status = check(f"{config.address}:{config.client_port}", args.timeout)
    print(status)
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
