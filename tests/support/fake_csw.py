"""A fake GeoNetwork CSW on 127.0.0.1: GetRecordById answered from tests/data/published.

- ``955c3e47-411e-4969-b61b-3556d1b9f879``: the GéoBretagne cadastre record with its INSPIRE elements
  removed (the harvested dataset's source record);
- ``363e3a8e-d0ce-497d-87a9-2a2d58d82772``: the complete GéoBretagne record;
- ``slow``: held until the test ends (``held`` is set when it starts holding);
- anything else: GeoNetwork's empty GetRecordByIdResponse.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

DATA = Path(__file__).resolve().parents[1] / "data" / "published"
RECORDS = {"955c3e47-411e-4969-b61b-3556d1b9f879": "csw_record_incomplete.xml",
           "363e3a8e-d0ce-497d-87a9-2a2d58d82772": "csw_record_complete.xml"}
PATH = "/geonetwork/srv/fre/csw"


class FakeCsw:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(PATH, self._csw)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    @property
    def url(self) -> str:
        return self.base + PATH

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _csw(self, request: web.Request) -> web.Response:
        query = {k.lower(): v for k, v in request.query.items()}
        self.requests.append(query)
        if query.get("request", "").lower() != "getrecordbyid" or query.get("service", "").upper() != "CSW":
            return web.Response(status=400, text="bad request")
        ident = query.get("id", "")
        if ident == "slow":
            self.held.set()
            await self.release.wait()
        name = RECORDS.get(ident, "csw_record_empty.xml")
        return web.Response(body=(DATA / name).read_bytes(), content_type="application/xml")
