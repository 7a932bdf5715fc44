"""Where embedded data-centers live, who owns them, and how a dead owner's are reaped.

The convention (issue 18): every data-center the plugin starts has its own directory under one
well-known root, ``<tmp>/pronote-dc-testing-<uid>/`` (``PRONOTE_DC_TESTING_ROOT`` overrides it).
The directory is named after the address pool it claims (``127.86.4.64_26``), so creating it
with ``mkdir`` *is* the claim: two pytest-xdist workers can never get the same pool. Inside,
``owner.json`` names the test process (pid and start time, so a recycled pid is never taken
for it) and ``state/`` is the data-center's state directory.

A directory whose owner is dead is a leftover of a killed test process: :func:`reap` stops its
controller and school servers with ``pronote-dc down`` on its state directory, then deletes it.
Reaping runs before every new data-center is started, so the next run cleans the last one's.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common.processes import PidFile

ROOT_ENV = "PRONOTE_DC_TESTING_ROOT"
DEFAULT_BLOCK = "127.86.0.0/16"  # loopback; away from the data-center's default 127.51.0.0/16
POOL_PREFIX_LENGTH = 26  # 62 school addresses per data-center
OWNER_FILE = "owner.json"
DOWN_TIMEOUT_SECONDS = 60.0
CLIENT_PORT = 49300


def root_dir(environ: dict[str, str] | None = None) -> Path:
    """The directory holding every embedded data-center of this user (created on demand)."""
    environ = dict(os.environ) if environ is None else environ
    default = Path(tempfile.gettempdir()) / f"pronote-dc-testing-{os.getuid()}"
    return Path(environ.get(ROOT_ENV) or default)


@dataclass(frozen=True)
class Claim:
    """A data-center's directory: its claimed pool and its state directory."""

    directory: Path
    pool: str

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    def release(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _dir_name(pool: ipaddress.IPv4Network) -> str:
    return f"{pool.network_address}_{pool.prefixlen}"


def _owner_alive(directory: Path) -> bool:
    owner = PidFile.read(directory / OWNER_FILE)
    if owner is None:  # being created right now, or half-written by a killed process
        return _young(directory)
    return owner.is_alive()


def _young(directory: Path, grace_seconds: float = 30.0) -> bool:
    """A directory without its owner file yet: its creator may still be writing it."""
    try:
        return time.time() - directory.stat().st_mtime < grace_seconds
    except OSError:
        return False


def down(state_dir: Path) -> None:
    """`pronote-dc down` on a state directory: stops its controller and every school server."""
    # The plugin's data-centers always run schools as local processes, whatever the caller's
    # own PRONOTE_DC_RUNTIME says.
    env = {**os.environ, "PRONOTE_DC_STATE_DIR": str(state_dir), "PRONOTE_DC_RUNTIME": "local://"}
    subprocess.run(
        [sys.executable, "-m", "datacenter.cli", "down"],
        env=env,
        capture_output=True,
        timeout=DOWN_TIMEOUT_SECONDS,
        check=False,
    )


def reap(root: Path | None = None) -> list[Path]:
    """Stop and delete the data-centers of dead test processes; returns the directories reaped."""
    root = root or root_dir()
    reaped: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except FileNotFoundError:
        return reaped
    for directory in entries:
        if directory.is_dir() and not _owner_alive(directory):
            if (directory / "state").is_dir():
                down(directory / "state")
            shutil.rmtree(directory, ignore_errors=True)
            reaped.append(directory)
    return reaped


def _free_on_loopback(pool: ipaddress.IPv4Network) -> bool:
    """Nobody outside the convention (a hand-started fleet) serves the pool's first address."""
    with socket.socket() as sock:
        try:
            sock.bind((str(pool.network_address + 1), CLIENT_PORT))
        except OSError:
            return False
    return True


def claim(block: str = DEFAULT_BLOCK, root: Path | None = None) -> Claim:
    """Claim a free pool of the loopback `block` for a new data-center owned by this process.

    Raises ValueError for a block outside 127.0.0.0/8 or smaller than one pool, RuntimeError
    when every pool of the block is taken.
    """
    network = ipaddress.ip_network(block, strict=True)
    if not isinstance(network, ipaddress.IPv4Network) or not network.subnet_of(
        ipaddress.IPv4Network("127.0.0.0/8")
    ):
        raise ValueError(f"{block!r} is not inside 127.0.0.0/8: give a loopback block")
    if network.prefixlen > POOL_PREFIX_LENGTH:
        raise ValueError(f"{block!r} is smaller than one pool (/{POOL_PREFIX_LENGTH})")
    root = root or root_dir()
    _private_root(root)
    candidates = list(network.subnets(new_prefix=POOL_PREFIX_LENGTH))
    random.shuffle(candidates)
    for pool in candidates:
        directory = root / _dir_name(pool)
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        if not _free_on_loopback(pool):
            shutil.rmtree(directory, ignore_errors=True)
            continue
        PidFile.write_for_self(directory / OWNER_FILE, "pytest")
        (directory / "state").mkdir()
        return Claim(directory, str(pool))
    raise RuntimeError(
        f"every /{POOL_PREFIX_LENGTH} pool of {block} is taken by a running data-center; "
        f"stop some or give a larger block (--pronote-dc-block)"
    )


def _private_root(root: Path) -> None:
    """Make `root` (a predictable path under the temp dir) ours alone: created 0700, or refused
    when another user made it first or others may write in it (they could plant a claim)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.stat()
    if info.st_uid != os.getuid():
        raise RuntimeError(
            f"{root} belongs to another user: set PRONOTE_DC_TESTING_ROOT to a directory of yours"
        )
    if info.st_mode & 0o077:
        os.chmod(root, 0o700)
