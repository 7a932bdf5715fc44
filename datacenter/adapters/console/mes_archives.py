"""The Console's Clock and Sauvegardes / Mes archives calls (adapter), mixed into
ConsoleService: it authorizes, then asks the scheduler or the school's agent."""

from __future__ import annotations

from typing import Any

import grpc

from common import backup_plan
from datacenter.adapters.console.panel import ConsolePanel
from datacenter.core import errors
from datacenter.core.auth import require_operator
from datacenter.core.scheduler import Scheduler, Summary
from protos import agent_pb2, common_pb2, console_pb2


def _check_name(name: str) -> str:
    if not backup_plan.is_safe_name(name):
        raise errors.InvalidArgument(
            f"{name!r} is not a backup or archive name (a plain *.sauvs or *.archs name); "
            "list them with `pronote-dc console backups`"
        )
    return name


class BackupsConsole(ConsolePanel):
    _scheduler: Scheduler | None

    def _clock_reply(self, summary: Summary | None = None) -> console_pb2.ClockReply:
        scheduler = self._require_scheduler()
        summary = summary or Summary()
        return console_pb2.ClockReply(
            now_seconds=scheduler.clock.now(),
            simulated=scheduler.simulated,
            speed=scheduler.speed,
            backups_due=summary.backups_due,
            archives_due=summary.archives_due,
            files_written=summary.written,
            schools=summary.schools,
        )

    def _require_scheduler(self) -> Scheduler:
        if self._scheduler is None:
            raise errors.Unavailable("this controller runs no scheduler")
        return self._scheduler

    async def _get_clock(
        self, request: console_pb2.ClockRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.ClockReply:
        self._principal(context)  # any console login may read the time
        return self._clock_reply()

    async def _advance_clock(
        self, request: console_pb2.AdvanceClockRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.ClockReply:
        require_operator(self._principal(context), "advance the clock")
        summary = await self._require_scheduler().advance_to(request.to_seconds)
        return self._clock_reply(summary)

    async def _list_backups(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.Backups:
        return await self._forward(context, request.uai, "ListBackups", agent_pb2.Empty())

    async def _open_backup(
        self, request: console_pb2.OpenBackupRequest, context: grpc.aio.ServicerContext[Any, Any]
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

    async def _download_archive(
        self, request: console_pb2.BackupRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.BackupContent:
        record = self._school(context, request.uai)
        name = _check_name(request.name)
        if not name.endswith(".archs"):
            raise errors.InvalidArgument(
                f"{name!r} is a sauvegarde; only archives (*.archs) can be downloaded"
            )
        return await self._agents.call(record, "ReadBackup", agent_pb2.BackupRef(name=name))
