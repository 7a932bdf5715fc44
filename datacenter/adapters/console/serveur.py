"""The Serveur PRONOTE panel of the Console API: the bases (create, put in service, stop the
server), passwords, and the files sent by the school:
"Charger une base" (.HNOT), "Compléter la base hébergée" (annexes), "Récupérer les
utilisateurs" (.profils), initialising a base from EDT (.zip), "Autres bases" and
"Historique".

A file arrives in chunks. The controller reads its header and checks the hosting number it
was generated for against the school's, then streams it on to the school's server, which
verifies format, version and checksum and only then changes anything. The size cap
(`PRONOTE_DC_MAX_UPLOAD_BYTES`) is enforced while streaming: a huge file stops there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from common import hnot
from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.core import errors
from datacenter.core.registry import SchoolRecord
from protos import agent_pb2, common_pb2, console_pb2

UPLOAD_TIMEOUT_SECONDS = 600.0
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
OPERATIONS = ("load", "complete", "users", "edt")


class ServeurPanel(ConsolePanel):
    _max_upload_bytes: int

    @translated
    async def ListBases(self, request: console_pb2.SchoolRef, context: Context) -> common_pb2.Bases:
        return await self._forward(context, request.uai, "ListBases", agent_pb2.Empty())

    @translated
    async def CreateBase(
        self, request: console_pb2.CreateBaseRequest, context: Context
    ) -> common_pb2.Base:
        forwarded = agent_pb2.CreateBaseRequest(
            school_year=request.school_year, synthetic_seed=request.synthetic_seed
        )
        if request.HasField("synthetic_resources"):
            forwarded.synthetic_resources.CopyFrom(request.synthetic_resources)
        return await self._forward(context, request.uai, "CreateBase", forwarded)

    @translated
    async def PutBaseInService(
        self, request: console_pb2.PutBaseInServiceRequest, context: Context
    ) -> common_pb2.Base:
        return await self._forward(context, request.uai, "PutInService", _in_service(request))

    @translated
    async def StopServer(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.Bases:
        return await self._forward(context, request.uai, "StopServer", agent_pb2.Empty())

    @translated
    async def IssuePassword(
        self, request: console_pb2.IssuePasswordRequest, context: Context
    ) -> console_pb2.IssuedPassword:
        credential = agent_pb2.Credential(login=request.login, password=request.password)
        forwarded = agent_pb2.IssuePasswordsRequest(credentials=[credential])
        reply = await self._forward(context, request.uai, "IssuePasswords", forwarded)
        user = reply.users[0]
        return console_pb2.IssuedPassword(
            login=user.login, display_name=user.display_name, kind=user.kind, group=user.group
        )

    @translated
    async def UploadBaseFile(
        self,
        request_iterator: AsyncIterator[common_pb2.BaseFileChunk],
        context: Context,
    ) -> common_pb2.BaseFileReply:
        chunks = aiter(request_iterator)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            raise errors.InvalidArgument("nothing was sent: give a file") from None
        buffered = [first]
        try:
            record = self._school(context, first.uai)  # who asks comes before what is sent
            if first.operation not in OPERATIONS:
                raise errors.InvalidArgument(
                    f"unknown operation {first.operation!r}: choose one of {', '.join(OPERATIONS)}"
                )
            if first.operation != "edt":
                buffered += await _read_header_chunks(chunks, first.data)
                _check_hosting_number(b"".join(c.data for c in buffered), record)
        except errors.DatacenterError:
            await _drain(chunks, self._max_upload_bytes)
            raise
        forwarded = common_pb2.BaseFileChunk()
        forwarded.CopyFrom(first)
        forwarded.uai, forwarded.hosting_number = "", record.hosting_number
        buffered[0] = forwarded
        call = self._agents.stub(record).ReceiveBaseFile(
            metadata=self._agents.metadata(record), timeout=UPLOAD_TIMEOUT_SECONDS
        )
        sent = 0
        try:
            for chunk in _chain(buffered, chunks):
                async for item in chunk:
                    sent += len(item.data)
                    if sent > self._max_upload_bytes:
                        raise errors.Exhausted(
                            f"{first.file_name} is larger than the {self._max_upload_bytes} bytes "
                            "a file may have here (PRONOTE_DC_MAX_UPLOAD_BYTES); nothing was "
                            "changed"
                        )
                    await call.write(item)
            await call.done_writing()
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, RuntimeError, asyncio.InvalidStateError):
            # The school refused early (e.g. a file it will not take): writing to its finished
            # call fails; its own status comes from `await call` below (issue 12, point 5).
            # The sender's remaining chunks are read and dropped first (up to the cap): a client
            # whose stream is cut while it still sends sees INTERNAL, not the school's status.
            await _drain(chunks, self._max_upload_bytes - sent)
        except BaseException:  # too large, or the sender went away: the school drops it
            call.cancel()
            raise
        reply: common_pb2.BaseFileReply = await call
        return reply

    @translated
    async def OpenBase(
        self,
        request: console_pb2.PutBaseInServiceRequest,
        context: Context,
    ) -> common_pb2.Base:
        return await self._forward(context, request.uai, "OpenBase", _in_service(request))

    @translated
    async def GetHistory(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.History:
        return await self._forward(context, request.uai, "GetHistory", agent_pb2.Empty())


async def _drain(chunks: AsyncIterator[common_pb2.BaseFileChunk], limit: int) -> None:
    """Read and drop what the sender still sends (up to `limit` bytes) before refusing: a gRPC
    client whose request stream is cut while it sends gets INTERNAL instead of the refusal."""
    received = 0
    async for chunk in chunks:
        received += len(chunk.data)
        if received > limit:
            return


async def _read_header_chunks(
    chunks: AsyncIterator[common_pb2.BaseFileChunk], data: bytes
) -> list[common_pb2.BaseFileChunk]:
    """More chunks until the file's two header lines are in (or the header cap is reached)."""
    extra: list[common_pb2.BaseFileChunk] = []
    while data.count(b"\n") < 2 and len(data) < hnot.MAX_HEADER_BYTES:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        extra.append(chunk)
        data += chunk.data
    return extra


def _check_hosting_number(prefix: bytes, record: SchoolRecord) -> None:
    if not prefix:
        raise errors.InvalidArgument("the file is empty: give the file the school generated")
    try:
        header = hnot.read_header(prefix)
    except hnot.BadFile as error:
        raise errors.InvalidArgument(f"{error}; nothing was changed") from None
    if header.hosting_number != record.hosting_number:
        raise errors.InvalidArgument(
            f"this {header.kind.value} file was generated for hosting number "
            f"{header.hosting_number}, not for school {record.uai}'s ({record.hosting_number}): "
            "generate it again with your hosting number (Générer les fichiers pour "
            "l'hébergement); nothing was changed"
        )


def _chain(
    buffered: list[common_pb2.BaseFileChunk], rest: AsyncIterator[common_pb2.BaseFileChunk]
) -> list[AsyncIterator[common_pb2.BaseFileChunk]]:
    async def replay() -> AsyncIterator[common_pb2.BaseFileChunk]:
        for chunk in buffered:
            yield chunk

    return [replay(), rest]


def _in_service(request: console_pb2.PutBaseInServiceRequest) -> agent_pb2.PutInServiceRequest:
    """What the agent is asked for both PutBaseInService and OpenBase: the base, and the SPR
    login and password given the first time."""
    return agent_pb2.PutInServiceRequest(
        base_id=request.base_id, spr_login=request.spr_login, spr_password=request.spr_password
    )
