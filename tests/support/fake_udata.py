"""A fake data.gouv.fr on 127.0.0.1: the udata API (v1 datasets, v2 resources, harvest sources) and files.

Its answers are the fixtures of tests/data/published (udata's response shapes, see the README there), with
``http://udata.fake`` replaced by the fake's own address and ``csw.fake`` by the fake catalogue's.

Datasets it serves (by slug or id):
- ``equipements-sportifs-de-lannion``: one valid CSV resource;
- ``horaires-des-piscines-de-lannion``: its resource file answers 404;
- ``subventions-versees-par-la-ville-de-lannion``: declares scdl/subventions, its file does not follow it;
- ``cadastre-2018-en-bretagne``: harvested from the catalogue (record 955c3e47-…), harvest source with errors;
- ``jeu-lent``: the API holds the answer until the test ends (``held`` is set when it starts holding);
- ``jeu-redirige``: its file answers a redirect to ``redirect_target``;
- ``jeu-ailleurs``: its file is on a host that is not on the allow-list;
- anything else: udata's 404.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from aiohttp import web

DATA = Path(__file__).resolve().parents[1] / "data" / "published"
FIXTURES = ("dataset_valid.json", "dataset_broken.json", "dataset_scdl.json", "dataset_harvested.json")
FILES = {"equipements-sportifs.csv", "subventions-2025.csv"}


def load(name: str, replacements: dict[str, str]) -> Any:
    text = (DATA / name).read_text(encoding="utf-8")
    for old, new in replacements.items():
        text = text.replace(old, new)
    return json.loads(text)


class FakeUdata:
    def __init__(self, *, catalogue: str = "csw.fake") -> None:
        self.catalogue = catalogue
        self.requests: list[str] = []
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.redirect_target = "http://127.0.0.1:9/secret"
        self.offsite_url = "https://files.elsewhere.example/data.csv"
        self.base = ""
        self.datasets: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/1/datasets/{ident}/", self._dataset)
        app.router.add_get("/api/2/datasets/resources/{rid}/", self._resource)
        app.router.add_get("/api/1/harvest/source/{sid}/", self._source)
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        subs = {"http://udata.fake": self.base, "csw.fake": self.catalogue}
        self.datasets = [load(name, subs) for name in FIXTURES]
        self.source = load("harvest_source.json", subs)
        self.not_found = load("not_found.json", subs)
        self.datasets += [self._variant("jeu-lent", "65a1f0c2d4e5f6a7b8c9d0f1", None),
                          self._variant("jeu-redirige", "65a1f0c2d4e5f6a7b8c9d0f2", f"{self.base}/files/redirect.csv"),
                          self._variant("jeu-ailleurs", "65a1f0c2d4e5f6a7b8c9d0f3", self.offsite_url)]
        return self.base

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/1"

    def _variant(self, slug: str, ident: str, url: str | None) -> dict[str, Any]:
        d = copy.deepcopy(self.datasets[0])
        d.update(id=ident, slug=slug, title=f"Jeu {slug}", page=f"https://www.data.gouv.fr/fr/datasets/{slug}/")
        if url is not None:
            d["resources"][0]["url"] = url
            d["resources"][0]["id"] = ident[-8:] + "-0000-4000-8000-000000000000"
        return d

    def _find(self, ident: str) -> dict[str, Any] | None:
        return next((d for d in self.datasets if ident in (d["slug"], d["id"])), None)

    async def _dataset(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        ident = request.match_info["ident"]
        if ident == "jeu-lent":
            self.held.set()
            await self.release.wait()
        found = self._find(ident)
        if found is None:
            return web.json_response(self.not_found, status=404)
        return web.json_response(found)

    async def _resource(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        rid = request.match_info["rid"]
        for d in self.datasets:
            for r in d["resources"]:
                if r["id"] == rid:
                    return web.json_response({"resource": r, "dataset_id": d["id"]})
        return web.json_response({"message": "Resource not found", "status": 404}, status=404)

    async def _source(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        if request.match_info["sid"] == self.source["id"]:
            return web.json_response(self.source)
        return web.json_response({"message": "Not found", "status": 404}, status=404)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        name = request.match_info["name"]
        if name == "redirect.csv":
            raise web.HTTPFound(self.redirect_target)
        if name in FILES:
            return web.Response(body=(DATA / name).read_bytes(), content_type="text/csv")
        return web.Response(status=404, text="Not Found")
