"""The local runtime's death events (DESIGN decision 31) when the kernel will not give a pidfd."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

from common.processes import PidFile
from provisioning.local import LocalRuntime
from provisioning.runtime import SchoolSpec


def test_a_pidfd_that_cannot_be_opened_leaves_the_school_to_be_observed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of descriptors (a pidfd and a channel per school against a soft limit of 1024), or
    a sandbox without pidfd_open: `watch` says False, so the fleet's passes observe the school,
    instead of raising into a start or a reconcile pass."""
    spec = SchoolSpec(uai="0750655E", address="127.0.0.2", school_dir=tmp_path)
    PidFile.write_for_self(spec.pid_file, spec.uai)  # this process plays the school

    def refused(pid: int) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "pidfd_open", refused)

    async def watch() -> bool:
        return LocalRuntime().watch(spec, lambda uai: None)

    assert asyncio.run(watch()) is False
