"""The Mes archives panel of the Console API: the sauvegardes (every 2 h) and archives
(daily, the July one) of a school, opening one, downloading an archive."""

from __future__ import annotations

from common import backup_plan
from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.core import errors
from protos import agent_pb2, common_pb2, console_pb2


def _check_name(name: str) -> str:
    if not backup_plan.is_safe_name(name):
        raise errors.InvalidArgument(
            f"{name!r} is not a backup or archive name (a plain *.sauvs or *.archs name); "
            "list them with `pronote-dc console backups`"
        )
    return name


class MesArchivesPanel(ConsolePanel):
    @translated
    async def ListBackups(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> common_pb2.Backups:
        return await self._forward(context, request.uai, "ListBackups", agent_pb2.Empty())

    @translated
    async def OpenBackup(
        self, request: console_pb2.OpenBackupRequest, context: Context
    ) -> common_pb2.Bases:
        record = self._school(context, request.uai)
        name = _check_name(request.name)
        if not request.confirm:
            raise errors.InvalidArgument(
                f"opening {name!r} replaces the school's bases: confirm it (--yes)"
            )
        reply: common_pb2.Bases = await self._agents.call(
            record, "OpenBackup", agent_pb2.BackupRef(name=name)
        )
        return reply

    @translated
    async def DownloadArchive(
        self, request: console_pb2.BackupRequest, context: Context
    ) -> common_pb2.BackupContent:
        record = self._school(context, request.uai)
        name = _check_name(request.name)
        if not name.endswith(".archs"):
            raise errors.InvalidArgument(
                f"{name!r} is a sauvegarde; only archives (*.archs) can be downloaded"
            )
        return await self._agents.call(record, "ReadBackup", agent_pb2.BackupRef(name=name))
