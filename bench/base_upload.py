"""Sending a large annexe to a hosted base ("Compléter la base hébergée"), end to end.

`python -m bench.base_upload [--mib N] [--json]` measures, in one run:

1. pronote-dc: "Compléter la base hébergée" of a ~N MiB `.HPHOTOS` made by `hnot generate`:
   the console API's UploadBaseFile called from this (already started) process with the
   chunks `pronote-dc console complete-base` sends (1 MiB each), streamed by the controller,
   which checks the hosting number, on to the school's server, which writes, verifies (size,
   SHA-256, gzip'd JSON payload) and applies them. No interpreter start is counted, as in the
   baseline;
2. baseline: the floor of the school's own work on the same file in this process: read it,
   write a copy, fsync and hash it (no RPC, no payload parsing);
3. for the user's view, beside: the same file sent again by `pronote-dc console
   complete-base` as a user runs it (CLI start included), and the CLI's start with one small
   call (`console bases`) alone.

Everything stays on loopback (a free /27 of 127.140/16, this bench's range); the controller
and the school are stopped and the directory removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

from bench.addresses import free_pool
from bench.running import print_figures
from datacenter.cli.console.serveur import CHUNK_BYTES
from protos import common_pb2, console_pb2_grpc

ITEM_KIB = 256
UAI = "0756000P"  # the first demo school


def upload_in_process(state: Path, path: Path, base_id: str) -> float:
    """UploadBaseFile ("complete") of `path` through the console API, the CLI's chunks, from
    this process with the operator token: seconds."""
    address = json.loads((state / "controller.json").read_text())["console_address"]
    token = (state / "operator.token").read_text().strip()

    def chunks() -> Iterator[common_pb2.BaseFileChunk]:
        chunk = common_pb2.BaseFileChunk(
            uai=UAI, operation="complete", base_id=base_id, file_name=path.name
        )
        with open(path, "rb") as file:
            while data := file.read(CHUNK_BYTES):
                chunk.data = data
                yield chunk
                chunk = common_pb2.BaseFileChunk()

    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        stub = console_pb2_grpc.ConsoleStub(channel)
        started = time.perf_counter()
        stub.UploadBaseFile(chunks(), metadata=(("authorization", f"Bearer {token}"),), timeout=600)
        return time.perf_counter() - started


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
        PRONOTE_DC_ADDRESS_POOL=free_pool(140, 30),
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
        rpc = upload_in_process(state, photos_file, loaded["base"]["id"])
        started = time.perf_counter()
        pronote_dc(env, "console", "complete-base", str(photos_file), "--base",
                   loaded["base"]["id"], "--uai", UAI, "--json")  # fmt: skip
        wall = time.perf_counter() - started
        started = time.perf_counter()
        pronote_dc(env, "console", "bases", "--uai", UAI, "--json")
        cli_call = time.perf_counter() - started
        return {"file": photos_file, "rpc": rpc, "wall": wall, "cli_call": cli_call}
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
        "complete_base_seconds": round(run["rpc"], 2),
        "complete_base_mib_per_second": round(mib / run["rpc"], 1),
        "baseline_copy_and_hash_seconds": round(floor, 2),
        "baseline_mib_per_second": round(mib / floor, 1),
        "complete_base_vs_baseline": round(run["rpc"] / floor, 2),
        "cli_complete_base_seconds_as_a_user_runs_it": round(run["wall"], 2),
        "cli_start_and_small_call_seconds": round(run["cli_call"], 2),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
