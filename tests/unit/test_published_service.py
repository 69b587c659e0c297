"""The use case with in-memory ports: what it asks, what it concludes, and the French texts it feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from helpdesk.checks import Report, Severity
from helpdesk.ports import FixedClock
from helpdesk.published.csw import CswClient
from helpdesk.published.datagouv import DatagouvClient
from helpdesk.published.fetch import Fetched, FetchFailed
from helpdesk.published.filecheck import findings_of
from helpdesk.published.model import Finding, Status
from helpdesk.published.references import find_references
from helpdesk.published.service import PublishedDataService, file_name
from helpdesk.published.summary import agent_summary, internal_note, sidebar

DATA = Path(__file__).resolve().parents[1] / "data" / "published"
API = "https://www.data.gouv.fr/api/1"
CSW = "https://geo.example.fr/geonetwork/srv/fre/csw"


class MemoryFetcher:
    """Answers from a dict of URL prefix → (status, body); records what was asked."""

    def __init__(self, answers: dict[str, tuple[int, bytes]], *, down: bool = False) -> None:
        self.answers, self.down, self.asked = answers, down, []

    async def get(self, url: str, *, ticket: str | None = None, accept: str | None = None,
                  max_bytes: int | None = None) -> Fetched:
        self.asked.append((url, ticket, max_bytes))
        if self.down:
            raise FetchFailed("unreachable", "www.data.gouv.fr injoignable (ClientConnectorError)")
        for prefix, (status, body) in self.answers.items():
            if url.startswith(prefix):
                return Fetched(url, status, "application/json", body)
        return Fetched(url, 404, "application/json", b'{"message": "not found", "status": 404}')


class RecordingChecker:
    def __init__(self, findings: list[Finding] | None = None) -> None:
        self.calls: list[tuple[bytes, str, str | None]] = []
        self.findings = findings or []

    async def check(self, data: bytes, filename: str, schema: str | None = None) -> list[Finding]:
        self.calls.append((data, filename, schema))
        return list(self.findings)


def dataset_json(name: str, **changes: object) -> bytes:
    d = json.loads((DATA / name).read_text(encoding="utf-8").replace("http://udata.fake", "https://static.data.gouv.fr"))
    d.update(changes)
    return json.dumps(d).encode()


def service(fetcher: MemoryFetcher, checker: RecordingChecker, **kw: object) -> PublishedDataService:
    return PublishedDataService(fetcher, checker, FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
                                datagouv=DatagouvClient(fetcher, API), csw=CswClient(fetcher, CSW), **kw)  # type: ignore[arg-type]


async def test_the_declared_schema_and_a_checkable_name_reach_the_file_checker() -> None:
    fetcher = MemoryFetcher({f"{API}/datasets/subv": (200, dataset_json("dataset_scdl.json")),
                             "https://static.data.gouv.fr/files/": (200, b"a,b\n1,2\n")})
    checker = RecordingChecker([Finding("date-format", "error", "Dates au format JJ/MM/AAAA")])
    report = await service(fetcher, checker).look_up(find_references("jeu de données : subv-lannion"), ticket="T7")
    assert checker.calls == [(b"a,b\n1,2\n", "subventions-2025.csv", "scdl/subventions")]
    assert all(t == "T7" for _, t, _ in fetcher.asked)
    [item] = report.items
    assert [f.code for f in item.resources[0].findings] == ["date-format", "portal-validation"]


async def test_the_network_down_gives_not_verified_with_the_reason() -> None:
    fetcher = MemoryFetcher({}, down=True)
    report = await service(fetcher, RecordingChecker()).look_up(find_references(
        "https://www.data.gouv.fr/fr/datasets/mon-jeu/ https://geo.example.fr/geonetwork/srv/api/records/abc "
        "https://exemple.fr/a.csv"), ticket="T1")
    assert [i.status for i in report.items] == [Status.NOT_VERIFIED] * 3
    assert all("injoignable" in i.reason for i in report.items)
    note = internal_note(report)
    assert "non vérifié (www.data.gouv.fr injoignable" in note and "à regarder à la main" in note
    assert "une personne de l'équipe va regarder" in agent_summary(report)


async def test_at_most_max_resources_are_downloaded() -> None:
    base = json.loads(dataset_json("dataset_valid.json"))
    res = base["resources"][0]
    base["resources"] = [dict(res, id=f"0000000{i}-0000-4000-8000-000000000000", url=f"https://x.fr/f{i}.csv")
                         for i in range(7)]
    fetcher = MemoryFetcher({f"{API}/datasets/": (200, json.dumps(base).encode()), "https://x.fr/": (200, b"a\n1\n")})
    checker = RecordingChecker()
    [item] = (await service(fetcher, checker, max_resources=3).look_up(
        find_references("https://www.data.gouv.fr/fr/datasets/beaucoup-de-fichiers/"))).items
    assert len(checker.calls) == 3 and len(item.resources) == 3
    assert item.findings[-1].code == "resources-not-checked" and "4 autre(s)" in item.findings[-1].message


async def test_a_dataset_named_twice_is_checked_once() -> None:
    fetcher = MemoryFetcher({f"{API}/datasets/": (200, dataset_json("dataset_valid.json")),
                             "https://static.data.gouv.fr/": (200, b"a\n1\n")})
    checker = RecordingChecker()
    rid = "0b5c8a1e-3f2d-4c6b-9a7e-1d2c3b4a5f60"
    report = await service(fetcher, checker).look_up(find_references(
        "https://www.data.gouv.fr/fr/datasets/equipements-sportifs-de-lannion/ et "
        f"https://www.data.gouv.fr/fr/datasets/65a1f0c2d4e5f6a7b8c9d0e1/#/resources/{rid}"))
    assert len(report.items) == 1 and len(checker.calls) == 1


async def test_non_file_resources_and_huge_files_are_not_downloaded() -> None:
    base = json.loads(dataset_json("dataset_valid.json"))
    res = base["resources"][0]
    base["resources"] = [dict(res, format="ogc:wms", url="https://geo.fr/wms"),
                         dict(res, id="b", filesize=500 * 1024 * 1024)]
    fetcher = MemoryFetcher({f"{API}/datasets/": (200, json.dumps(base).encode())})
    [item] = (await service(fetcher, RecordingChecker()).look_up(
        find_references("https://www.data.gouv.fr/fr/datasets/un-jeu/"))).items
    assert [(r.status, [f.code for f in r.findings]) for r in item.resources] == [
        (Status.CHECKED, ["format-not-checked"]), (Status.NOT_VERIFIED, [])]
    assert "500 Mo" in item.resources[1].reason
    assert [u for u, _, _ in fetcher.asked] == [f"{API}/datasets/un-jeu/"]


def test_file_names_the_checks_recognise() -> None:
    assert file_name("https://static.data.gouv.fr/resources/x/20240101/data.csv", "t", "csv") == "data.csv"
    assert file_name("https://www.opendata56.fr/api/explore/v2.1/exports/csv", "bornes.csv", "csv") == "bornes.csv"
    assert file_name("https://x.fr/export?f=1", "Budget 2025", "xlsx") == "Budget 2025.xlsx"
    assert file_name("https://x.fr/wms", "Carte", "ogc:wms") is None


def test_declared_schema_compared_with_what_the_checks_recognised() -> None:
    matched = Report("s.csv", kind="table", details={"schema": "SCDL Subventions 2.1.1"})
    matched.add("required-missing", Severity.ERROR, "montant vide", row=3, column="montant")
    assert [f.code for f in findings_of(matched, "scdl/subventions")] == ["required-missing"]
    assert findings_of(matched, "scdl/subventions")[0].where == "ligne 3, colonne montant"
    other = Report("s.csv", kind="table", details={})
    assert [f.code for f in findings_of(other, "scdl/subventions")] == ["schema-not-followed"]
    assert [f.code for f in findings_of(other, "etalab/schema-irve-statique")] == ["schema-not-checked"]
    assert findings_of(other, None) == []


async def test_summary_texts_and_sidebar_rows() -> None:
    fetcher = MemoryFetcher({f"{API}/datasets/": (200, dataset_json("dataset_broken.json")),
                             "https://static.data.gouv.fr/": (404, b"Not Found")})
    report = await service(fetcher, RecordingChecker()).look_up(
        find_references("https://www.data.gouv.fr/fr/datasets/horaires-des-piscines-de-lannion/"))
    [row] = sidebar(report)
    assert {k: row[k] for k in ("title", "organisation", "licence", "last_update", "schema")} == {
        "title": "Horaires des piscines de Lannion", "organisation": "Ville de Lannion",
        "licence": "Licence Ouverte / Open Licence version 2.0", "last_update": "09/01/2026",
        "schema": "aucun schéma déclaré"}
    assert row["harvest"].startswith("non moissonné")
    assert row["resources"][0]["findings"][0]["severity"] == "à corriger"
    summary = agent_summary(report)
    assert "« Horaires des piscines de Lannion »" in summary and "404" in summary
    assert "[à corriger]" not in summary and "Indicateur de qualité" not in summary  # staff-only details
    json.dumps(report.as_json())  # the Outbox payload and `ticket --json` need plain JSON


async def test_a_dataset_harvested_from_another_catalogue_is_not_looked_up_in_ours() -> None:
    raw = json.loads(dataset_json("dataset_harvested.json"))
    raw["harvest"]["domain"] = "www.geo2france.fr"
    raw["harvest"]["remote_url"] = "https://www.geo2france.fr/geonetwork/srv/fre/catalog.search#/metadata/x"
    fetcher = MemoryFetcher({f"{API}/datasets/": (200, json.dumps(raw).encode())})
    [item] = (await service(fetcher, RecordingChecker()).look_up(
        find_references("https://www.data.gouv.fr/fr/datasets/cadastre-2018-en-bretagne/"))).items
    assert item.source_record is None and not any("GetRecordById" in u for u, _, _ in fetcher.asked)
    assert item.dataset.harvest.domain == "www.geo2france.fr"
