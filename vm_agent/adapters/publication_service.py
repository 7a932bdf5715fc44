"""The management API's PRONOTE.net calls (seed 004 Fiches 8-9), mixed into AgentService:
publication, the pages' addresses, the delegation to an ENT and the identifiers export."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from common.clock import Clock
from protos import agent_pb2, common_pb2
from vm_agent.adapters.errors import translated
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain.delegation import new_delegation
from vm_agent.domain.espaces import COMMUNE, PAGES, Espace, page_addresses
from vm_agent.domain.identifiers_export import Identity, export_identifiers, people_identities
from vm_agent.domain.publication import Publication


class PronoteNetAddress:
    """Where this school's PRONOTE.net listens: its own address and HTTP port."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port


class PublicationRpcs:
    _slot: SchoolSlot
    _clock: Clock
    _pronote_net: PronoteNetAddress

    def _publication(self) -> common_pb2.Publication:
        school = self._slot.school
        publication = school.publication
        base = school.base_in_service
        reply = common_pb2.Publication(
            published=publication.published,
            espaces=[self._address(publication, page.name) for page in PAGES],
            base=base.name if base else "",
        )
        delegation = publication.delegation
        if delegation is not None:
            reply.delegation.CopyFrom(
                common_pb2.Delegation(
                    protocol=delegation.protocol.value,
                    ent=delegation.ent_id,
                    ent_name=delegation.ent_name,
                    parameters=dict(delegation.parameters),
                    espaces=sorted(e.value for e in delegation.espaces),
                    allow_direct_authentication=delegation.allow_direct_authentication,
                )
            )
        return reply

    def _address(self, publication: Publication, name: str) -> common_pb2.EspaceAddress:
        page = next(p for p in PAGES if p.name == name)
        where = page_addresses(
            page, self._pronote_net.host, self._pronote_net.port, self._slot.school.identity.uai
        )
        espace = None if name == COMMUNE else Espace(name)
        return common_pb2.EspaceAddress(
            page=page.name,
            label=page.label,
            published=publication.page_published(name),
            url=where.url,
            mobile_url=where.mobile_url,
            public_url=where.public_url,
            public_mobile_url=where.public_mobile_url,
            delegated=espace is not None and publication.delegation_for(espace) is not None,
            direct_login_allowed=espace is None or publication.direct_login_allowed(espace),
        )

    @translated
    async def GetPublication(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        return self._publication()

    @translated
    async def SetPublished(
        self, request: agent_pb2.SetPublishedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        self._slot.school.change_publication(
            Publication.start if request.published else Publication.stop
        )
        return self._publication()

    @translated
    async def SetPagePublished(
        self,
        request: agent_pb2.SetPagePublishedRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> common_pb2.Publication:
        self._slot.school.change_publication(
            lambda publication: publication.set_page(request.page, request.published)
        )
        return self._publication()

    @translated
    async def SetDelegation(
        self, request: common_pb2.Delegation, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        # Checked whole (ENT, protocol, parameters, espaces) before the state is touched.
        delegation = new_delegation(
            request.protocol,
            request.ent,
            dict(request.parameters),
            list(request.espaces),
            request.allow_direct_authentication,
        )
        self._slot.school.change_publication(lambda p: p.delegate(delegation))
        return self._publication()

    @translated
    async def RemoveDelegation(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Publication:
        self._slot.school.change_publication(Publication.remove_delegation)
        return self._publication()

    @translated
    async def ExportIdentifiers(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.IdentifiersFile:
        school = self._slot.school
        uai = school.identity.uai
        people: list[Identity] = []
        if school.base_in_service is not None and school.publication.delegation is not None:
            roster = await asyncio.to_thread(school.roster)  # generated: not on the loop
            people = people_identities(uai, roster)
        exported = export_identifiers(
            uai,
            school.base_in_service,
            school.publication.delegation,
            self._clock.now(),
            people,
        )
        return common_pb2.IdentifiersFile(
            file_name=exported.file_name, data=exported.data, users=exported.count
        )
