"""The Console's PRONOTE.net and Clients panels (adapter), mixed into ConsoleService: it
authorizes, then asks the school's agent; the ENT catalogue and the Clients panel are
answered here."""

from __future__ import annotations

from typing import Any

import grpc

from common.ent_catalogue import Protocol, catalogue
from datacenter.adapters.console.panel import ConsolePanel
from datacenter.core import errors
from datacenter.core.registry import SchoolRecord
from protos import agent_pb2, common_pb2, console_pb2

PUBLIC_HOST = "{uai}.index-education.net"
# GetSchool still answers when the school's server does not: it waits this long at most.
PUBLICATION_TIMEOUT_SECONDS = 3.0


class PronoteNetConsole(ConsolePanel):
    _client_port: int

    async def _add_publication(self, record: SchoolRecord, school: console_pb2.School) -> None:
        """`school show`'s PRONOTE.net part, or "unknown" if the school does not answer."""
        try:
            publication = await self._agents.stub(record).GetPublication(
                agent_pb2.Empty(),
                metadata=self._agents.metadata(record),
                timeout=PUBLICATION_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError:
            school.pronote_net = "unknown"
            return
        school.pronote_net = "published" if publication.published else "stopped"
        school.espaces.extend(publication.espaces)

    async def _get_publication(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "GetPublication", agent_pb2.Empty())

    async def _set_published(
        self, request: console_pb2.SetPublishedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        forwarded = agent_pb2.SetPublishedRequest(published=request.published)
        return await self._forward(context, request.uai, "SetPublished", forwarded)

    async def _set_page_published(
        self,
        request: console_pb2.SetPagePublishedRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> common_pb2.Publication:
        record = self._school(context, request.uai)
        if not request.page:
            raise errors.InvalidArgument("say which page: commune or an espace (e.g. parent)")
        forwarded = agent_pb2.SetPagePublishedRequest(
            page=request.page, published=request.published
        )
        return await self._agents.call(record, "SetPagePublished", forwarded)

    async def _set_delegation(
        self,
        request: console_pb2.SetDelegationRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "SetDelegation", request.delegation)

    async def _remove_delegation(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        return await self._forward(context, request.uai, "RemoveDelegation", agent_pb2.Empty())

    async def _export_identifiers(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.IdentifiersFile:
        return await self._forward(context, request.uai, "ExportIdentifiers", agent_pb2.Empty())

    async def _list_ents(
        self, request: console_pb2.EntsRequest, context: grpc.aio.ServicerContext[Any, Any]
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

    async def _get_client_parameters(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.ClientParameters:
        record = self._school(context, request.uai)
        return console_pb2.ClientParameters(
            uai=record.uai,
            name=record.name,
            address=record.address,
            port=self._client_port,
            public_host=PUBLIC_HOST.format(uai=record.uai),
        )
