"""Atomic writes (DESIGN decision 5): a reader sees the old file or the new one, never half."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

# `tempfile.mkstemp(prefix=".NAME.")` names: a dot, the target's name, a dot, 8 random characters
# (and TEMP_SUFFIX since issue 12). What a killed writer leaves; nothing else looks like it.
TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}(\.tmp)?$")


def temp_file(directory: Path, name: str) -> tuple[int, str]:
    """A new private (0600) temporary file for an atomic write of `name` in `directory`:
    `.NAME.XXXXXXXX.tmp`, as `tempfile.mkstemp` names it, made with os calls alone (a school
    writes its pid file at every start: tempfile's machinery and its random generator cost
    a forked school ~0.3 MiB of private pages; DESIGN decision 32)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp_name = os.path.join(directory, f".{name}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
        try:
            return os.open(tmp_name, flags, 0o600), tmp_name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name} in {directory}")


def remove_temp_files(directory: Path, recursive: bool = False) -> int:
    """Delete the temporary files interrupted writes left in `directory` (and below, if
    `recursive`); only their owner calls this, at its start. Returns how many were removed.
    (os.scandir rather than pathlib's glob: a forked school runs this at each start, and
    the glob machinery's first run costs it ~0.25 MiB of private pages; DESIGN decision 32.)"""
    removed = 0
    pending = [str(directory)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if recursive and entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed += 1
    return removed


def write_atomically(path: Path, data: bytes, mode: int = 0o600, make_parents: bool = True) -> None:
    """Write to a temporary file in the same directory, fsync it, rename it over `path`.
    Files are private to the controller's user by default (issue 12, point 4). The missing
    directories are made unless `make_parents` is False: then FileNotFoundError if the
    directory is gone (a school's own files: a school whose directory was removed, e.g. by
    a provisioning's undo, must not make it again)."""
    if make_parents and not os.path.isdir(path.parent):  # pathlib's mkdir: ~0.2 MiB a school
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
    fd, tmp_name = temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def write_json_atomically(
    path: Path, value: Any, mode: int = 0o600, indent: int | None = 2, make_parents: bool = True
) -> None:
    """`indent=None`: compact, for state written often (C encoder, ~5x faster);
    `make_parents`: as `write_atomically`."""
    text = json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"), mode, make_parents)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def fsync_directory(directory: Path) -> None:
    """Make the names in `directory` durable (a new file's, a rename's, an unlink's)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private(root: Path) -> int:
    """Take group and other permissions off everything under `root` (itself included):
    directories 0700, files their owner's bits only. Returns how many modes changed. A state
    directory holds secrets (issue 12, point 4)."""
    changed = 0
    for directory, _, files in os.walk(root):
        for path in [directory, *(os.path.join(directory, name) for name in files)]:
            try:
                current = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(current):
                continue
            wanted = 0o700 if stat.S_ISDIR(current) else current & 0o700
            if current & 0o777 != wanted:
                try:
                    os.chmod(path, wanted)
                except PermissionError:  # another user's (a container's): not ours to change
                    continue
                changed += 1
    return changed
