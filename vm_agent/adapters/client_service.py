"""The Client PRONOTE protocol on port 49300."""

from __future__ import annotations

import grpc

from protos import client_pb2, client_pb2_grpc
from vm_agent.adapters import convert
from vm_agent.adapters.errors import peer_ip, translated
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain.errors import InvalidArgument


class ClientService(client_pb2_grpc.ClientPronoteServicer):
    def __init__(self, slot: SchoolSlot) -> None:
        self._slot = slot

    @translated
    async def Connect(
        self, request: client_pb2.ConnectRequest, context: grpc.aio.ServicerContext
    ) -> client_pb2.ConnectReply:
        mode = convert.MODE_FROM_PROTO.get(request.mode)
        if mode is None:
            raise InvalidArgument("choose a mode: administratif, enseignant, vie scolaire or edt")
        session = self._slot.school.connect(
            mode,
            request.login,
            request.password,
            source_ip=peer_ip(context),
            poste=request.poste,
            application=request.application,
        )
        return client_pb2.ConnectReply(
            session_id=session.id,
            user=session.display_name,
            state=session.state,
            base=session.base_name,
            idle_timeout_seconds=self._slot.school.sessions.idle_timeout_seconds,
        )

    @translated
    async def Heartbeat(
        self, request: client_pb2.SessionRef, context: grpc.aio.ServicerContext
    ) -> client_pb2.HeartbeatReply:
        return client_pb2.HeartbeatReply(
            expires_in_seconds=self._slot.school.heartbeat(request.session_id)
        )

    @translated
    async def Disconnect(
        self, request: client_pb2.SessionRef, context: grpc.aio.ServicerContext
    ) -> client_pb2.DisconnectReply:
        self._slot.school.close(request.session_id)
        return client_pb2.DisconnectReply()

    @translated
    async def GetServerInfo(
        self, request: client_pb2.ServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> client_pb2.ServerInfo:
        base = self._slot.school.base_in_service
        return client_pb2.ServerInfo(
            uai=self._slot.school.identity.uai,
            school_name=self._slot.school.identity.name,
            server_state=convert.STATE_TO_PROTO[self._slot.school.server_state],
            base=base.name if base else "",
            licences=convert.licence_usage(self._slot.school.licences()),
        )
