"""The Clients panel of the Console API (seed 004 Fiche 4): the connection parameters of
Client PRONOTE and Client EDT, the licences used and reserved, the connections, the IPs
suspended after failed logins."""

from __future__ import annotations

import ipaddress

from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.core import errors
from protos import agent_pb2, common_pb2, console_pb2

PUBLIC_HOST = "{uai}.index-education.net"


class ClientsPanel(ConsolePanel):
    @translated
    async def GetClientParameters(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.ClientParameters:
        record = self._school(context, request.uai)
        return console_pb2.ClientParameters(
            uai=record.uai,
            name=record.name,
            address=record.address,
            port=self._client_port,
            public_host=PUBLIC_HOST.format(uai=record.uai),
        )

    @translated
    async def GetLicences(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.LicenceUsage:
        return await self._forward(context, request.uai, "GetLicences", agent_pb2.Empty())

    @translated
    async def SetReservedLicences(
        self, request: console_pb2.SetReservedLicencesRequest, context: Context
    ) -> common_pb2.LicenceUsage:
        forwarded = agent_pb2.SetReservedLicencesRequest(count=request.count)
        return await self._forward(context, request.uai, "SetReservedLicences", forwarded)

    @translated
    async def ListConnections(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.Connections:
        return await self._forward(context, request.uai, "ListConnections", agent_pb2.Empty())

    @translated
    async def DisconnectClient(
        self, request: console_pb2.DisconnectClientRequest, context: Context
    ) -> console_pb2.DisconnectReply:
        forwarded = agent_pb2.DisconnectRequest(session_id=request.session_id)
        await self._forward(context, request.uai, "Disconnect", forwarded)
        return console_pb2.DisconnectReply()

    @translated
    async def ListSuspendedIps(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.SuspendedIps:
        return await self._forward(context, request.uai, "ListSuspendedIps", agent_pb2.Empty())

    @translated
    async def UnblockIps(
        self, request: console_pb2.UnblockIpsRequest, context: Context
    ) -> common_pb2.UnblockReply:
        record = self._school(context, request.uai)  # who asks comes before what is asked
        if not request.all and not request.ip:
            raise errors.InvalidArgument("say which IP to unblock, or ask to unblock them all")
        if request.ip:
            try:
                ipaddress.ip_address(request.ip)
            except ValueError:
                raise errors.InvalidArgument(
                    f"{request.ip[:64]!r} is not an IP address: give one as "
                    "`console clients suspended-ips` lists them, e.g. 192.0.2.7"
                ) from None
        forwarded = agent_pb2.UnblockRequest(ip=request.ip, all=request.all)
        return await self._agents.call(record, "UnblockIps", forwarded)
