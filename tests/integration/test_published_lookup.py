"""The published-data look-up against fake data.gouv.fr and GeoNetwork servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.ports import FixedClock
from helpdesk.published.csw import CswClient
from helpdesk.published.datagouv import DatagouvClient
from helpdesk.published.fetch import FetchPolicy, FetchRefused, SafeFetcher
from helpdesk.published.filecheck import ChecksFileChecker
from helpdesk.published.model import DatasetCheck, FileCheck, RecordCheck, Status
from helpdesk.published.references import find_references
from helpdesk.published.service import PublishedDataService
from helpdesk.published.summary import internal_note, sidebar
from tests.support.fake_csw import FakeCsw
from tests.support.fake_udata import FakeUdata

PAGE = "https://www.data.gouv.fr/fr/datasets/{}/"
HARVESTED_RECORD = "955c3e47-411e-4969-b61b-3556d1b9f879"


@dataclass
class Peers:
    udata: FakeUdata
    csw: FakeCsw

    def service(self, *, resolve: Any = None, max_file_bytes: int = 30 * 1024 * 1024, **policy: Any
                ) -> tuple[PublishedDataService, SafeFetcher]:
        policy.setdefault("timeout", 2.0)
        fetcher = SafeFetcher(FetchPolicy.build(api_url=self.udata.api_url, csw_url=self.csw.url, **policy))
        if resolve is not None:
            fetcher.resolve = resolve
        svc = PublishedDataService(fetcher, ChecksFileChecker(), FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
                                   datagouv=DatagouvClient(fetcher, self.udata.api_url),
                                   csw=CswClient(fetcher, self.csw.url), max_file_bytes=max_file_bytes)
        return svc, fetcher


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    csw = FakeCsw()
    await csw.start()
    udata = FakeUdata(catalogue=csw.host)
    await udata.start()
    try:
        yield Peers(udata, csw)
    finally:
        await udata.stop()
        await csw.stop()


async def look(svc: PublishedDataService, text: str, ticket: str = "T1") -> list[Any]:
    return (await svc.look_up(find_references(text), ticket=ticket)).items


def codes(findings: list[Any]) -> list[str]:
    return [f.code for f in findings]


async def test_a_dataset_with_a_valid_resource(peers: Peers) -> None:
    svc, _ = peers.service()
    report = await svc.look_up(find_references(f"Ma fiche {PAGE.format('equipements-sportifs-de-lannion')} "
                                               "n'apparaît pas"), ticket="T1")
    [item] = report.items
    assert isinstance(item, DatasetCheck) and item.status is Status.CHECKED and item.dataset is not None
    [res] = item.resources
    assert res.status is Status.CHECKED
    assert [f for f in res.findings if f.severity != "info"] == []
    note = internal_note(report)
    for expected in ("Équipements sportifs de Lannion", "Organisation : Ville de Lannion",
                     "Licence : Licence Ouverte / Open Licence version 2.0", "Dernière mise à jour : 09/01/2026",
                     "Moissonnage : non moissonné", "Schéma : aucun schéma déclaré",
                     "Ressource « equipements-sportifs.csv » (csv) : aucun problème trouvé."):
        assert expected in note
    assert any(r.endswith("/files/equipements-sportifs.csv") for r in peers.udata.requests)


async def test_a_broken_resource(peers: Peers) -> None:
    svc, _ = peers.service()
    [item] = await look(svc, PAGE.format("horaires-des-piscines-de-lannion"))
    [res] = item.resources
    assert res.status is Status.CHECKED and codes(res.findings) == ["resource-unreachable"]
    assert "404" in res.findings[0].message
    assert "quality-unavailable" in codes(item.findings)


async def test_a_declared_scdl_schema_the_file_does_not_follow(peers: Peers) -> None:
    svc, _ = peers.service()
    [item] = await look(svc, PAGE.format("subventions-versees-par-la-ville-de-lannion"))
    [res] = item.resources
    found = codes(res.findings)
    assert found[0] == "schema-not-followed" and "portal-validation" in found and "date-format" in found
    assert "scdl/subventions" in res.findings[0].message
    assert sidebar(await svc.look_up(find_references(PAGE.format(item.dataset.slug)), ticket="T2"))[0][
        "schema"] == "scdl/subventions 2.1.1"


async def test_a_harvested_dataset_whose_source_record_lacks_inspire_elements(peers: Peers) -> None:
    svc, _ = peers.service()
    [item] = await look(svc, PAGE.format("cadastre-2018-en-bretagne"))
    assert item.dataset.harvest.last_job_status == "done-errors"
    assert "harvest-errors" in codes(item.findings)
    record = item.source_record
    assert isinstance(record, RecordCheck) and record.status is Status.CHECKED and record.record is not None
    assert "inspire-keyword" in codes(list(record.record.missing)) and len(record.record.missing) == 7
    assert peers.csw.requests[0]["id"] == HARVESTED_RECORD
    assert peers.csw.requests[0]["outputschema"] == "http://www.isotc211.org/2005/gmd"


async def test_a_catalogue_link_and_a_bare_uuid(peers: Peers) -> None:
    svc, _ = peers.service()
    items = await look(svc, f"https://geo.example.fr/geonetwork/srv/fre/catalog.search#/metadata/{HARVESTED_RECORD}"
                            " et aussi 363e3a8e-d0ce-497d-87a9-2a2d58d82772 et 00000000-0000-4000-8000-000000000000")
    assert [(type(i).__name__, i.status) for i in items] == [("RecordCheck", Status.CHECKED),
                                                             ("RecordCheck", Status.CHECKED)]
    assert items[1].record.missing == ()  # the unknown bare UUID is neither a record nor a resource: no noise


async def test_a_resource_permalink_finds_its_dataset(peers: Peers) -> None:
    svc, _ = peers.service()
    rid = "1c6d9b2f-4a3e-4d7c-8b8f-2e3d4c5b6a71"
    page = PAGE.format("horaires-des-piscines-de-lannion")
    [item] = await look(svc, f"https://www.data.gouv.fr/fr/datasets/r/{rid} et {page}")
    assert item.dataset.slug == "horaires-des-piscines-de-lannion" and [r.resource.id for r in item.resources] == [rid]


async def test_a_dataset_that_does_not_exist(peers: Peers) -> None:
    svc, _ = peers.service()
    [item] = await look(svc, PAGE.format("jeu-inconnu-du-portail"))
    assert item.status is Status.NOT_FOUND and item.dataset is None


async def test_a_timeout_says_not_verified(peers: Peers) -> None:
    svc, _ = peers.service(timeout=0.2)
    [item] = await look(svc, PAGE.format("jeu-lent"))
    assert peers.udata.held.is_set()  # the fake got the request and held it: the client gave up on its own
    assert item.status is Status.NOT_VERIFIED and "pas de réponse" in item.reason
    [record] = await look(svc, "https://geo.example.fr/geonetwork/srv/api/records/slow")
    assert peers.csw.held.is_set() and record.status is Status.NOT_VERIFIED


async def test_a_host_not_on_the_list(peers: Peers) -> None:
    svc, fetcher = peers.service()
    [item] = await look(svc, PAGE.format("jeu-ailleurs"))
    assert item.resources[0].status is Status.NOT_VERIFIED
    assert "files.elsewhere.example" in item.resources[0].reason
    [file_item] = await look(svc, "https://evil.example/donnees.csv")
    assert isinstance(file_item, FileCheck) and file_item.status is Status.NOT_VERIFIED
    with pytest.raises(FetchRefused) as refused:
        await fetcher.get("https://evil.example/donnees.csv")
    assert refused.value.code == "host-not-allowed"


async def test_a_redirect_to_a_private_address_is_refused(peers: Peers) -> None:
    # 127.0.0.1 on another port is the catalogue's host, so on the allow-list, but not trusted: private.
    svc, fetcher = peers.service()
    [item] = await look(svc, PAGE.format("jeu-redirige"))
    assert item.resources[0].status is Status.NOT_VERIFIED and "adresse privée" in item.resources[0].reason
    # An allowed name that resolves to a private address is refused too, after one resolution.
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    port = peers.udata.base.rsplit(":", 1)[1]
    peers.udata.redirect_target = f"http://files.example.test:{port}/files/equipements-sportifs.csv"
    _, fetcher = peers.service(resolve=resolve, fetch_hosts=["files.example.test"])
    with pytest.raises(FetchRefused) as refused:
        await fetcher.get(f"{peers.udata.base}/files/redirect.csv")
    assert refused.value.code == "private-address" and asked == ["files.example.test"]


async def test_a_redirect_within_the_rules_is_followed(peers: Peers) -> None:
    peers.udata.redirect_target = f"{peers.udata.base}/files/equipements-sportifs.csv"
    _, fetcher = peers.service()
    answer = await fetcher.get(f"{peers.udata.base}/files/redirect.csv")
    assert answer.status == 200 and answer.url.endswith("/files/equipements-sportifs.csv")
    assert answer.body.startswith(b"id_equipement,")


async def test_network_off_says_not_verified_everywhere(peers: Peers) -> None:
    svc, _ = peers.service(enabled=False)
    report = await svc.look_up(find_references(
        f"{PAGE.format('equipements-sportifs-de-lannion')} https://geo.example.fr/geonetwork/srv/api/records/x "
        "https://www.data.gouv.fr/donnees.csv"), ticket="T1")
    assert [i.status for i in report.items] == [Status.NOT_VERIFIED] * 3
    assert not report.verified and "non vérifié" in internal_note(report)
    assert peers.udata.requests == [] and peers.csw.requests == []


async def test_answers_are_cached_for_the_hour(peers: Peers) -> None:
    svc, _ = peers.service()
    await look(svc, PAGE.format("equipements-sportifs-de-lannion"), ticket="T1")
    before = list(peers.udata.requests)
    [again] = await look(svc, PAGE.format("equipements-sportifs-de-lannion"), ticket="T2")
    assert again.status is Status.CHECKED and peers.udata.requests == before


async def test_the_per_ticket_rate_limit(peers: Peers) -> None:
    svc, _ = peers.service(per_ticket=1)
    [item] = await look(svc, PAGE.format("equipements-sportifs-de-lannion"), ticket="T9")
    assert item.status is Status.CHECKED  # the API call was the ticket's one request
    assert item.resources[0].status is Status.NOT_VERIFIED and "ticket" in item.resources[0].reason


async def test_the_size_cap(peers: Peers) -> None:
    svc, fetcher = peers.service(max_file_bytes=200)
    [item] = await look(svc, PAGE.format("equipements-sportifs-de-lannion"))
    res = item.resources[0]  # data.gouv.fr declares 9 ko: not even downloaded
    assert res.status is Status.NOT_VERIFIED and "au-delà de 200 octets" not in res.reason and "ko" in res.reason
    [file_item] = await look(svc, f"{peers.udata.base}/files/equipements-sportifs.csv", ticket="T3")
    assert file_item.status is Status.NOT_VERIFIED and "fichier de plus de" in file_item.reason
    with pytest.raises(FetchRefused) as refused:  # a body over the cap is cut off while streaming
        await fetcher.get(f"{peers.udata.base}/files/equipements-sportifs.csv", max_bytes=100)
    assert refused.value.code == "too-large"
