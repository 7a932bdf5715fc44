"""The implementation of a Runtime, chosen from its URL in this one place (each runtime is
imported only when asked for, so local:// needs neither docker nor paramiko)."""

from __future__ import annotations

from provisioning.runtime import Runtime, UnsupportedRuntime


def open_runtime(url: str) -> Runtime:
    scheme = url.partition("://")[0]
    if scheme == "local":
        from provisioning.local import LocalRuntime

        return LocalRuntime(url)
    if scheme in {"docker", "ssh"}:
        from provisioning.docker import DockerRuntime

        return DockerRuntime(url)
    if scheme == "swarm":
        from provisioning.swarm import SwarmRuntime

        return SwarmRuntime(url)
    raise UnsupportedRuntime(
        f"runtime {url!r} is not supported here; use local:// (the embedded default), "
        "docker:// (the local Docker engine), ssh://user@host (a remote Docker engine) or "
        "swarm://MANAGER:2375 (a Docker Swarm)"
    )
