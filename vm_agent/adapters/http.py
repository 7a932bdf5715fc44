"""The school's HTTP ports: `/metrics`, and PRONOTE.net's espaces (`pronote_net.app`).

It runs in the agent's asyncio loop, so a scrape reads the school's state between two gRPC
calls, never during one.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class HttpBindError(Exception):
    pass


def metrics_app(registry: CollectorRegistry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


async def start_http(
    app: web.Application, address: str, port: int, what: str = "HTTP, /metrics"
) -> web.AppRunner:
    """Serve `app` on address:port (unknown paths get aiohttp's 404)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, address, port, reuse_port=False).start()
    except OSError as error:
        await runner.cleanup()
        raise HttpBindError(
            f"cannot listen on {address}:{port} ({what}): {error.strerror}; stop "
            "whatever holds it, or choose another port"
        ) from None
    return runner
