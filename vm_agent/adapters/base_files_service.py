"""The management API's calls for files sent by the school (adapter), mixed into
AgentService: a file arrives in chunks into a temporary file, is verified whole (format,
version, SHA-256; common.hnot, common.edt_zip), then handed to vm_agent.domain.base_files.
Whatever is refused, the bases and every file stay as they were."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

from common import edt_zip, hnot
from common.files import temp_file
from protos import agent_pb2, common_pb2
from vm_agent.adapters import convert
from vm_agent.adapters.errors import translated
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain import base_files
from vm_agent.domain.bases import Base, find_base
from vm_agent.domain.errors import AgentError, InvalidArgument
from vm_agent.domain.school import SchoolServer

OPERATIONS = ("load", "complete", "users", "edt")
# The controller enforces the configured cap while streaming; this one guards the disk.
MAX_RECEIVE_BYTES = 4 * 1024**3
UPLOADS_DIR = "uploads"
STALE_UPLOAD_SECONDS = 3600.0  # an upload in progress writes more often than this
ANNEXES_DIR = "annexes"


class BaseFilesAgent:
    _slot: SchoolSlot
    _data_dir: Path

    @translated
    async def ReceiveBaseFile(
        self,
        request_iterator: AsyncIterator[common_pb2.BaseFileChunk],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> common_pb2.BaseFileReply:
        uploads = self._data_dir / UPLOADS_DIR
        uploads.mkdir(parents=True, exist_ok=True)
        _remove_stale(uploads)
        fd, name = temp_file(uploads, "upload")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as file:
                first, size, digest = await _receive(self._slot.school, request_iterator, file)
            reply = await self._apply(first, path)
            reply.size, reply.sha256 = size, digest
            return reply
        finally:
            path.unlink(missing_ok=True)

    async def _apply(self, first: common_pb2.BaseFileChunk, path: Path) -> common_pb2.BaseFileReply:
        school = self._slot.school
        if first.operation == "edt":
            data = await asyncio.to_thread(path.read_bytes)
            try:
                transfer = await asyncio.to_thread(edt_zip.read, data)
            except edt_zip.BadZip as error:
                raise InvalidArgument(f"{first.file_name}: {error}") from None
            base = base_files.initialise_from_edt(
                school, first.base_id, transfer, _espaces(first.espaces)
            )
            return _reply(school, first, base, len(transfer.lessons), "initialised from EDT")
        try:
            header, payload = await asyncio.to_thread(hnot.verify, path)
        except hnot.BadFile as error:
            raise InvalidArgument(f"{first.file_name}: {error}") from None
        base_files.check_binding(school, header, first.hosting_number)
        if first.operation == "load":
            base = base_files.load_base(school, header, payload)
            return _reply(school, first, base, 1, f"loaded as base {base.id}, not in service")
        if first.operation == "users":
            base, count = base_files.recover_users(school, first.base_id, header, payload)
            return _reply(school, first, base, count, f"{count} users recovered")
        target = base_files.target_base(school, first.base_id, "complete")
        keep = self._data_dir / ANNEXES_DIR / target.id / f"annexe.{header.kind.value}"
        keep.parent.mkdir(parents=True, exist_ok=True)
        incoming = keep.with_name(f".{keep.name}.new")
        os.replace(path, incoming)  # the documents themselves stay with the base
        try:
            base, count = base_files.complete_base(school, target.id, header, payload)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        os.replace(incoming, keep)
        return _reply(school, first, base, count, f"{count} {header.kind.value} items added")

    @translated
    async def OpenBase(
        self, request: agent_pb2.PutInServiceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Base:
        base = base_files.open_base(
            self._slot.school, request.base_id, request.spr_login, request.spr_password
        )
        return convert.base(base, in_service=True)

    @translated
    async def GetHistory(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.History:
        history = self._slot.school.history
        return common_pb2.History(
            entries=[
                common_pb2.HistoryEntry(
                    at_seconds=e.at_seconds,
                    action=e.action.value,
                    label=e.action.label,
                    detail=e.detail,
                )
                for e in history.entries()
            ],
            limit=history.limit,
        )


async def _receive(
    school: SchoolServer, chunks: AsyncIterator[common_pb2.BaseFileChunk], file: Any
) -> tuple[common_pb2.BaseFileChunk, int, str]:
    """Write every chunk to `file`; check what can be checked on the first one, so a server
    in service refuses a base before it is sent whole."""
    first: common_pb2.BaseFileChunk | None = None
    size = 0
    digest = hashlib.sha256()
    async for chunk in chunks:
        if first is None:
            first = chunk
            try:
                _precheck(school, chunk)
            except AgentError:  # read what is still coming, then refuse (issue 12, point 5):
                async for _ in chunks:  # a stream cut while the controller writes reaches
                    pass  # it as INTERNAL, and the refusal as "RPC already finished"
                raise
        size += len(chunk.data)
        if size > MAX_RECEIVE_BYTES:
            raise InvalidArgument(f"the file is larger than {MAX_RECEIVE_BYTES} bytes")
        digest.update(chunk.data)
        file.write(chunk.data)
    if first is None or size == 0:
        raise InvalidArgument("the file is empty: give the file to send")
    return first, size, digest.hexdigest()


def _remove_stale(uploads: Path) -> None:
    """Uploads a crash interrupted (older than any upload in progress can be)."""
    now = time.time()
    for leftover in uploads.glob(".upload.*"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_UPLOAD_SECONDS:
                leftover.unlink()


def _precheck(school: SchoolServer, first: common_pb2.BaseFileChunk) -> None:
    if first.operation not in OPERATIONS:
        raise InvalidArgument(
            f"unknown operation {first.operation!r}: choose one of {', '.join(OPERATIONS)}"
        )
    if first.operation == "load":
        school.require_stopped("load a base")
    elif first.base_id:
        find_base(school.bases, first.base_id)
    else:
        base_files.target_base(school, "", first.operation)
    _espaces(first.espaces)


def _espaces(values: Any) -> dict[str, bool] | None:
    if not values:
        return None
    choice = {}
    for value in values:
        name, _, flag = str(value).partition("=")
        if flag not in ("true", "false"):
            raise InvalidArgument(f"espace choice {value!r} is not name=true or name=false")
        choice[name] = flag == "true"
    return choice


def _reply(
    school: SchoolServer, first: common_pb2.BaseFileChunk, base: Base, items: int, summary: str
) -> common_pb2.BaseFileReply:
    in_service = school.base_in_service
    return common_pb2.BaseFileReply(
        operation=first.operation,
        base=convert.base(base, in_service is not None and in_service.id == base.id),
        items=items,
        summary=f"{first.file_name}: {summary}",
    )
