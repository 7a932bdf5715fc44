"""The PRONOTE.net panel of the Console API (seed 004 Fiches 8-9): publication, pages, the
delegation to an ENT and its identifiers file; the ENT catalogue is answered here."""

from __future__ import annotations

from common.ent_catalogue import Protocol, catalogue
from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.core import errors
from protos import agent_pb2, common_pb2, console_pb2


class PronoteNetPanel(ConsolePanel):
    @translated
    async def GetPublication(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "GetPublication", agent_pb2.Empty())

    @translated
    async def SetPublished(
        self, request: console_pb2.SetPublishedRequest, context: Context
    ) -> common_pb2.Publication:
        forwarded = agent_pb2.SetPublishedRequest(published=request.published)
        return await self._forward(context, request.uai, "SetPublished", forwarded)

    @translated
    async def SetPagePublished(
        self,
        request: console_pb2.SetPagePublishedRequest,
        context: Context,
    ) -> common_pb2.Publication:
        record = self._school(context, request.uai)
        if not request.page:
            raise errors.InvalidArgument("say which page: commune or an espace (e.g. parent)")
        forwarded = agent_pb2.SetPagePublishedRequest(
            page=request.page, published=request.published
        )
        return await self._agents.call(record, "SetPagePublished", forwarded)

    @translated
    async def SetDelegation(
        self,
        request: console_pb2.SetDelegationRequest,
        context: Context,
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "SetDelegation", request.delegation)

    @translated
    async def RemoveDelegation(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "RemoveDelegation", agent_pb2.Empty())

    @translated
    async def ExportIdentifiers(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.IdentifiersFile:
        return await self._forward(context, request.uai, "ExportIdentifiers", agent_pb2.Empty())

    @translated
    async def ListEnts(
        self, request: console_pb2.EntsRequest, context: Context
    ) -> console_pb2.Ents:
        self._principal(context)  # any console login may read the catalogue
        return console_pb2.Ents(
            ents=[
                console_pb2.Ent(
                    id=ent.id,
                    name=ent.name,
                    protocol=ent.protocol.value,
                    parameters=dict(ent.parameters),
                )
                for ent in catalogue()
            ],
            protocols=[p.value for p in Protocol],
        )
