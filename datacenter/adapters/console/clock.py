"""The data-center's Clock in the Console API (the operator's, not a panel of the school's
console): read it, advance a simulated one, with what the scheduler did meanwhile."""

from __future__ import annotations

from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.core import errors
from datacenter.core.auth import require_operator
from datacenter.core.scheduler import Scheduler, Summary
from protos import console_pb2


class ClockConsole(ConsolePanel):
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

    @translated
    async def GetClock(
        self, request: console_pb2.ClockRequest, context: Context
    ) -> console_pb2.ClockReply:
        self._principal(context)  # any console login may read the time
        return self._clock_reply()

    @translated
    async def AdvanceClock(
        self, request: console_pb2.AdvanceClockRequest, context: Context
    ) -> console_pb2.ClockReply:
        require_operator(self._principal(context), "advance the clock")
        summary = await self._require_scheduler().advance_to(request.to_seconds)
        return self._clock_reply(summary)
