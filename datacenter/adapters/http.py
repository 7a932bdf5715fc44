"""The controller's HTTP port for Prometheus: its own `/metrics` and service discovery.

`GET /sd/schools` answers in the `http_sd_configs` format: one target group per school, its
`/metrics` address with `uai` and, when its département is known, `academie` labels.
`GET /sd/schools/<UAI>` is that one school's group; an unknown school answers 404.
Both read the registry at request time, so they stay valid JSON while schools come and go,
and never contact a school: one that is down or being re-provisioned changes nothing here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from datacenter.adapters.metrics import ControllerMetrics
from datacenter.core.academies import academie_of
from datacenter.core.errors import NotFound, WrongState
from datacenter.core.fleet import Fleet


def target_group(uai: str, address: str, metrics_port: int) -> dict[str, Any]:
    labels = {"uai": uai}
    academie = academie_of(uai)
    if academie is not None:
        labels["academie"] = academie
    return {"targets": [f"{address}:{metrics_port}"], "labels": labels}


def controller_app(fleet: Fleet, metrics: ControllerMetrics, metrics_port: int) -> web.Application:
    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def all_schools(_: web.Request) -> web.Response:
        addresses = fleet.registry.addresses()
        groups = [target_group(uai, address, metrics_port) for uai, address in addresses.items()]
        return web.json_response(groups)

    async def one_school(request: web.Request) -> web.Response:
        uai = request.match_info["uai"].upper()
        try:
            record = fleet.registry.get(uai)
        except NotFound:
            return web.json_response(
                {"error": f"no school {uai} in this data-center; list them at /sd/schools"},
                status=404,
            )
        return web.json_response([target_group(record.uai, record.address, metrics_port)])

    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/sd/schools", all_schools)
    app.router.add_get("/sd/schools/{uai}", one_school)
    return app


async def serve_http(app: web.Application, address: str) -> tuple[web.AppRunner, str]:
    """Serve on `host:port` (port 0: any free one); return the runner and the bound address."""
    host, _, port = address.rpartition(":")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, int(port), reuse_port=False)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise WrongState(
            f"cannot listen on {address} (HTTP, /metrics and /sd/schools): {error.strerror}; "
            "is another controller running? Choose another address with PRONOTE_DC_HTTP_ADDRESS"
        ) from None
    bound_port = runner.addresses[0][1]
    return runner, f"{host}:{bound_port}"
