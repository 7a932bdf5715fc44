"""`python -m vm_agent --config agent.json`: run one school's Serveur PRONOTE."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from common.agent_config import ConfigError, load_config
from vm_agent.server import BindError, serve


def configure_logging() -> None:
    """INFO and above to stderr (the school's log). The warm parent calls it before it forks,
    so a school does not build its handler itself (DESIGN decision 32)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def run_in_new_loop(main: Coroutine[Any, Any, None]) -> None:
    """What `asyncio.run` does (a new loop, set as the current one; at the end the tasks left
    cancelled, async generators and the default executor shut down, the loop closed) without
    its Runner, whose start costs a forked school ~0.2 MiB more (DESIGN decision 32)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def run(config_path: Path, pid_file: Path | None = None, ready_fd: int | None = None) -> int:
    """Serve until SIGTERM. Readiness ('ready') or the failure goes to `ready_fd` if given."""
    configure_logging()  # nothing to do in a fork of the warm parent: it did it

    def report(line: str) -> None:
        if ready_fd is not None:
            os.write(ready_fd, (line + "\n").encode())

    try:
        config = load_config(config_path)
        run_in_new_loop(serve(config, on_ready=lambda: report("ready"), pid_file=pid_file))
    except (ConfigError, BindError, ValueError, OSError) as error:  # OSError: e.g. its dir gone
        logging.getLogger("vm_agent").error("%s", error)
        report(f"error {error}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm_agent", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="agent.json of the school")
    parser.add_argument("--pid-file", type=Path, help="write pid and start time here when ready")
    args = parser.parse_args(argv)
    return run(args.config, args.pid_file)


if __name__ == "__main__":
    sys.exit(main())
