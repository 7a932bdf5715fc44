"""The plugin's directory convention: pools claimed by mkdir, leftovers of dead owners reaped,
live owners' kept, bad blocks refused (no data-center started: plain directories)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.processes import PidFile, start_ticks
from pronote_dc_testing import leftovers


def test_claims_are_distinct_pools_of_the_block(tmp_path: Path) -> None:
    claims = [leftovers.claim("127.89.0.0/24", tmp_path) for _ in range(4)]
    pools = {ipaddress.IPv4Network(c.pool) for c in claims}
    assert len(pools) == 4  # a /24 holds exactly four /26
    assert all(p.subnet_of(ipaddress.IPv4Network("127.89.0.0/24")) for p in pools)
    with pytest.raises(RuntimeError, match=r"every /26 pool of 127\.89\.0\.0/24 is taken"):
        leftovers.claim("127.89.0.0/24", tmp_path)
    claims[0].release()
    assert leftovers.claim("127.89.0.0/24", tmp_path).pool == claims[0].pool


@pytest.mark.parametrize(
    ("block", "message"),
    [("10.0.0.0/16", "not inside 127.0.0.0/8"), ("127.89.0.0/28", "smaller than one pool")],
)
def test_bad_blocks_are_refused(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        leftovers.claim(block, tmp_path)


def test_reap_removes_dead_owners_only(tmp_path: Path) -> None:
    alive = leftovers.claim("127.89.0.0/24", tmp_path)
    dead = leftovers.claim("127.89.0.0/24", tmp_path)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(finished.stdout)
    assert start_ticks(pid) is None
    dead.state_dir.rmdir()  # no data-center in it: nothing for `pronote-dc down` to stop
    (dead.directory / leftovers.OWNER_FILE).write_text(
        json.dumps({"pid": pid, "start_ticks": 1, "name": "pytest"})
    )
    assert leftovers.reap(tmp_path) == [dead.directory]
    assert alive.directory.exists() and not dead.directory.exists()
    owner = PidFile.read(alive.directory / leftovers.OWNER_FILE)
    assert owner is not None and owner.is_alive()
