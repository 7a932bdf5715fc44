"""Sending a large annexe to a hosted base ("Compléter la base hébergée"), end to end.

`python -m bench.base_upload [--mib N] [--json]` measures, in one run:

1. pronote-dc: `pronote-dc console complete-base` of a ~N MiB `.HPHOTOS` made by `hnot
   generate`, as a user runs it: the CLI streams 1 MiB chunks to the controller, which checks
   the hosting number and streams them on to the school's server, which writes, verifies
   (size, SHA-256, gzip'd JSON payload) and applies them;
2. baseline: the floor of the school's own work on the same file in one process: read it,
   write a copy and hash it (no RPC, no payload parsing).

Everything stays on loopback (127.140.x.0/27, this bench's range); the controller and the
school are stopped and the directory removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.running import print_figures

ITEM_KIB = 256
UAI = "0756000P"  # the first demo school


def free_pool() -> str:
    while True:
        third, fourth = random.randrange(256), random.randrange(0, 256, 32)
        with socket.socket() as sock:
            try:
                sock.bind((f"127.140.{third}.{fourth + 1}", 49300))
            except OSError:
                continue
        return f"127.140.{third}.{fourth}/27"


def pronote_dc(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "datacenter.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"pronote-dc {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def measure(tmp: Path, mib: int) -> dict[str, Any]:
    state = tmp / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")}
    env.update(
        PRONOTE_DC_STATE_DIR=str(state),
        PRONOTE_DC_CONSOLE_ADDRESS="127.0.0.1:0",
        PRONOTE_DC_HTTP_ADDRESS="127.0.0.1:0",
        PRONOTE_DC_ADDRESS_POOL=free_pool(),
    )
    log = (tmp / "controller.log").open("wb")
    controller = subprocess.Popen(
        [sys.executable, "-m", "datacenter.cli", "up", "--demo", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while b"ready." not in (tmp / "controller.log").read_bytes():
            if controller.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((tmp / "controller.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        school = json.loads(pronote_dc(env, "school", "show", UAI, "--json"))
        out = tmp / "out"
        photos = str(max(1, mib * 1024 // ITEM_KIB))  # gzip takes back what base64 adds
        pronote_dc(env, "hnot", "generate", "--uai", UAI, "--hosting-number",
                   school["hosting_number"], "-o", str(out), "--photos", photos,
                   "--item-kib", str(ITEM_KIB), "--json")  # fmt: skip
        (hnot_file,) = out.glob("*.HNOT")
        (photos_file,) = out.glob("*.HPHOTOS")
        pronote_dc(env, "console", "stop-server", "--uai", UAI)
        loaded = json.loads(
            pronote_dc(env, "console", "load-base", str(hnot_file), "--uai", UAI, "--json")
        )
        started = time.perf_counter()
        pronote_dc(env, "console", "complete-base", str(photos_file), "--base",
                   loaded["base"]["id"], "--uai", UAI, "--json")  # fmt: skip
        wall = time.perf_counter() - started
        started = time.perf_counter()
        pronote_dc(env, "console", "bases", "--uai", UAI, "--json")
        cli_call = time.perf_counter() - started
        return {"file": photos_file, "wall": wall, "cli_call": cli_call}
    finally:
        pronote_dc(env, "down")
        controller.wait(timeout=30)
        log.close()


def baseline(path: Path, tmp: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb") as source, open(tmp / "copy", "wb") as copy:
        while chunk := source.read(1024 * 1024):
            copy.write(chunk)
            digest.update(chunk)
        copy.flush()
        os.fsync(copy.fileno())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.mib <= 512:
        raise SystemExit("--mib: 1 to 512")
    tmp = Path(tempfile.mkdtemp(prefix="pdc-upload-"))
    try:
        print(f"complete-base with a ~{args.mib} MiB .HPHOTOS", file=sys.stderr)
        run = measure(tmp, args.mib)
        size = run["file"].stat().st_size
        floor = baseline(run["file"], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mib = size / 1024 / 1024
    result = {
        "file_mib": round(mib, 1),
        "complete_base_seconds": round(run["wall"], 2),
        "complete_base_mib_per_second": round(mib / run["wall"], 1),
        "cli_start_and_small_call_seconds": round(run["cli_call"], 2),
        "baseline_copy_and_hash_seconds": round(floor, 2),
        "baseline_mib_per_second": round(mib / floor, 1),
    }
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
