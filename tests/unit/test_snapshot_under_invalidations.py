"""SharedSnapshot (DESIGN decision 39) under steady invalidations: during a docker:// wave
every start (and every death the events report) invalidates the listing, and every start's
`observe` awaits one. A caller needs a listing begun after *its own* call (so after the
invalidation that preceded it), not one that no invalidation at all overlapped: while the
starts finish faster than a listing takes, such a listing never comes and `observe` waits for
the end of the wave."""

from __future__ import annotations

import asyncio
import time

from provisioning.snapshot import SharedSnapshot


def test_a_caller_is_answered_while_invalidations_keep_coming() -> None:
    listings = 0

    def take() -> int:  # an engine listing ~100 containers under load
        nonlocal listings
        listings += 1
        time.sleep(0.05)
        return listings

    snapshot: SharedSnapshot[int] = SharedSnapshot(take, 0, max_age_seconds=0.25)

    async def main() -> float:
        async def starts_finishing() -> None:  # one school started every 20 ms
            while True:
                await asyncio.sleep(0.02)
                snapshot.invalidate()

        wave = asyncio.create_task(starts_finishing())
        try:
            began = time.monotonic()
            await asyncio.wait_for(snapshot.get(), 2.0)
            return time.monotonic() - began
        finally:
            wave.cancel()

    assert asyncio.run(main()) < 0.5  # at most two listings (one begun before the call)
