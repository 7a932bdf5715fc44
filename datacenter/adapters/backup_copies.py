"""Backups outlive their node (swarm://, issue 17): every sauvegarde and archive a school makes
on its node is copied off to the data-center's backup store (`<backups_dir>/<uai>/`, the same
layout and `index.json` as a school's own store: vm_agent/backups.py), checked against the
SHA-256 the school recorded; when a school comes back empty on another node, it resumes from
its latest sauvegarde there (Agent.ResumeFromBackup), which its Historique records ("Reprise
sur sauvegarde") and `pronote_school_resumptions_total` counts.

The recovery point is the backup interval, as on the real platform: what changed after the
last sauvegarde is lost with the node."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import grpc

from datacenter.adapters.agents import AgentDirectory
from datacenter.core.fleet import Fleet
from datacenter.core.registry import SchoolRecord
from protos import agent_pb2, common_pb2

log = logging.getLogger("datacenter.backup_copies")
INDEX = "index.json"
INDEX_FORMAT = 1  # vm_agent/backups.py INDEX_FORMAT


class BackupCopies:
    def __init__(self, fleet: Fleet, agents: AgentDirectory, backups_dir: Path) -> None:
        self._fleet = fleet
        self._agents = agents
        self._dir = backups_dir
        self.copied = 0
        self.copy_failures = 0
        self.resumptions = 0
        self.last_resume_seconds = 0.0
        self._locks: dict[str, asyncio.Lock] = {}

    def store(self, uai: str) -> Path:
        return self._dir / uai

    def index(self, uai: str) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.store(uai) / INDEX).read_text(encoding="utf-8"))
            return dict(data["backups"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    async def copy_off(self, record: SchoolRecord) -> None:
        """Copy the school's backups the store lacks (same name and SHA-256 = already there).
        A failure is logged, counted and retried at the next backup."""
        lock = self._locks.setdefault(record.uai, asyncio.Lock())
        async with lock:
            try:
                listing = await self._agents.call(record, "ListBackups", agent_pb2.Empty())
                held = self.index(record.uai)
                copied = 0
                for info in listing.backups:
                    if held.get(info.name, {}).get("sha256") == info.sha256:
                        continue
                    content = await self._agents.call(
                        record, "ReadBackup", agent_pb2.BackupRef(name=info.name)
                    )
                    await asyncio.to_thread(self._keep, record.uai, content)
                    copied += 1
                self.copied += copied
            except (grpc.aio.AioRpcError, OSError, ValueError) as error:
                self.copy_failures += 1
                log.warning("backups of %s not copied off its node: %s", record.uai, error)

    def _keep(self, uai: str, content: common_pb2.BackupContent) -> None:
        info = content.info
        digest = hashlib.sha256(content.data).hexdigest()
        if digest != info.sha256 or len(content.data) != info.size:
            raise ValueError(f"backup {info.name} arrived damaged (SHA-256 {digest[:12]}…)")
        if "/" in info.name or info.name.startswith("."):
            raise ValueError(f"{info.name!r} is not a backup name")
        store = self.store(uai)
        store.mkdir(parents=True, exist_ok=True)
        _write(store / info.name, content.data)
        held = self.index(uai)
        held[info.name] = {
            "kind": info.kind,
            "made_at_seconds": info.made_at_seconds,
            "size": info.size,
            "sha256": info.sha256,
        }
        _write(store / INDEX, json.dumps({"format": INDEX_FORMAT, "backups": held}).encode())

    def latest_sauvegarde(self, uai: str) -> tuple[str, dict[str, Any]] | None:
        sauvegardes = [(n, m) for n, m in self.index(uai).items() if m.get("kind") == "sauvegarde"]
        if not sauvegardes:
            return None
        return max(sauvegardes, key=lambda item: item[1]["made_at_seconds"])

    async def resume_if_lost(self, record: SchoolRecord) -> None:
        """A start hook: a school that came back holding no base, while the store holds a
        sauvegarde of it, resumes from the latest one (checked on both sides)."""
        latest = self.latest_sauvegarde(record.uai)
        if latest is None:
            return
        bases = await self._agents.call(record, "ListBases", agent_pb2.Empty())
        if len(bases.bases):
            return  # its data is there: same node, or already resumed
        name, meta = latest
        started = asyncio.get_running_loop().time()
        data = await asyncio.to_thread((self.store(record.uai) / name).read_bytes)
        node = self._fleet.nodes.get(record.uai, "another node")
        request = agent_pb2.ResumeRequest(
            backup=common_pb2.BackupContent(
                info=common_pb2.BackupInfo(
                    name=name,
                    kind=meta["kind"],
                    made_at_seconds=meta["made_at_seconds"],
                    size=meta["size"],
                    sha256=meta["sha256"],
                ),
                data=data,
            ),
            detail=f"serveur reparti sur {node} ; données de la sauvegarde {name}",
        )
        await self._agents.call(record, "ResumeFromBackup", request)
        self.resumptions += 1
        self.last_resume_seconds = asyncio.get_running_loop().time() - started
        log.info("school %s resumed from sauvegarde %s on %s", record.uai, name, node)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fdatasync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
