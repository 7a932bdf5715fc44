"""Regenerate the protobuf and gRPC modules from the .proto files beside this one.

`python -m protos.generate` writes them; `python -m protos.generate --check` regenerates into
a temporary directory and fails if the committed modules differ (CI runs this).
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

PROTOS_DIR = Path(__file__).resolve().parent
ROOT = PROTOS_DIR.parent
SOURCES = sorted(PROTOS_DIR.glob("*.proto"))
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    include = Path(protoc.__file__).resolve().parent / "_proto"
    mypy_plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    args = [
        "protoc",
        f"--plugin=protoc-gen-mypy={mypy_plugin}",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(source.relative_to(ROOT)) for source in SOURCES),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above")


def generated_names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh_dir = Path(tmp) / "protos"
        fresh, committed = generated_names(fresh_dir), generated_names(PROTOS_DIR)
        stale = sorted(
            name
            for name in fresh | committed
            if name not in fresh
            or name not in committed
            or not filecmp.cmp(fresh_dir / name, PROTOS_DIR / name, shallow=False)
        )
    if stale:
        print(f"generated code is stale: {', '.join(stale)}; run `make protos`", file=sys.stderr)
        return 1
    print(f"generated code is fresh ({len(fresh)} modules)")
    return 0


def main(argv: list[str]) -> int:
    if "--check" in argv:
        return check()
    generate(ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
