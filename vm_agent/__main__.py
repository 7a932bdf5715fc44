"""`python -m vm_agent --config agent.json`: run one school's Serveur PRONOTE."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from common.agent_config import ConfigError, load_config
from vm_agent.server import BindError, serve


def configure_logging() -> None:
    """INFO and above to stderr (the school's log). The warm parent calls it before it forks,
    so a school does not build its handler itself (DESIGN decision 32)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def run(config_path: Path, pid_file: Path | None = None, ready_fd: int | None = None) -> int:
    """Serve until SIGTERM. Readiness ('ready') or the failure goes to `ready_fd` if given."""
    configure_logging()  # nothing to do in a fork of the warm parent: it did it

    def report(line: str) -> None:
        if ready_fd is not None:
            os.write(ready_fd, (line + "\n").encode())

    try:
        config = load_config(config_path)
        asyncio.run(serve(config, on_ready=lambda: report("ready"), pid_file=pid_file))
    except (ConfigError, BindError, ValueError) as error:
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
