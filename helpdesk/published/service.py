"""The use case: given the references of a message, look at what is published and report its problems.

Everything outside goes through ports: a Fetcher (``fetch.py``: the network rules), the data.gouv.fr and
CSW clients built on it, and a FileChecker (bytes + file name + optional schema name → findings). Nothing
here raises for a peer's fault: a refused or failed fetch becomes « non vérifié » with its French reason.
Work is bounded: at most ``max_items`` references and ``max_resources`` resource files per dataset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from helpdesk.ports import Clock
from helpdesk.published.csw import CswClient
from helpdesk.published.datagouv import DatagouvClient, parse_harvest
from helpdesk.published.fetch import Fetcher, FetchError, host_port, size_fr
from helpdesk.published.filecheck import FileChecker
from helpdesk.published.model import (
    DatasetCheck,
    DatasetInfo,
    FileCheck,
    Finding,
    HarvestInfo,
    Item,
    PublishedReport,
    RecordCheck,
    ResourceCheck,
    ResourceInfo,
    Status,
)
from helpdesk.published.references import Reference, RefKind

CHECKABLE = {"csv": "csv", "tsv": "tsv", "xlsx": "xlsx", "ods": "ods", "xml": "xml", "zip": "zip",
             "json": "json", "geojson": "geojson", "shp": "zip"}
HTTP_FR = {401: "accès refusé", 403: "accès interdit", 404: "fichier introuvable", 410: "fichier supprimé",
           500: "erreur du serveur", 502: "serveur injoignable", 503: "serveur indisponible"}
NO_CATALOGUE = "aucun catalogue régional configuré (HELPDESK_CSW_URL)"


class PublishedDataService:
    def __init__(self, fetcher: Fetcher, checker: FileChecker, clock: Clock, *,
                 datagouv: DatagouvClient | None, csw: CswClient | None,
                 max_file_bytes: int = 30 * 1024 * 1024, max_resources: int = 5, max_items: int = 8) -> None:
        self.fetcher = fetcher
        self.checker = checker
        self.clock = clock
        self.datagouv = datagouv
        self.csw = csw
        self.max_file_bytes = max_file_bytes
        self.max_resources = max_resources
        self.max_items = max_items

    async def look_up(self, references: Sequence[Reference], *, ticket: str | None = None) -> PublishedReport:
        report = PublishedReport(checked_at=self.clock.now())
        datasets: dict[str, DatasetCheck] = {}
        for ref in list(references)[: self.max_items]:
            item = await self._one(ref, ticket, datasets)
            if item is not None:
                report.items.append(item)
        return report

    async def _one(self, ref: Reference, ticket: str | None, datasets: dict[str, DatasetCheck]) -> Item | None:
        if ref.kind is RefKind.DATASET:
            return await self._dataset(ref.value, ref.url or ref.value, None, ticket, datasets)
        if ref.kind is RefKind.RESOURCE:
            return await self._resource(ref, ticket, datasets)
        if ref.kind is RefKind.RECORD:
            return await self._record(ref.value, ref.url, ticket)
        if ref.kind is RefKind.UUID:
            return await self._bare_uuid(ref, ticket, datasets)
        return await self._file(ref.value, ticket)

    # -- data.gouv.fr ---------------------------------------------------------------------------------

    async def _resource(self, ref: Reference, ticket: str | None, datasets: dict[str, DatasetCheck]) -> Item | None:
        dataset = ref.dataset
        if dataset is None:
            if self.datagouv is None:
                return DatasetCheck(ref.url or ref.value, Status.NOT_VERIFIED, "data.gouv.fr non configuré")
            try:
                dataset = await self.datagouv.resource_dataset(ref.value, ticket=ticket)
            except FetchError as exc:
                return DatasetCheck(ref.url or ref.value, Status.NOT_VERIFIED, exc.reason)
            if dataset is None:
                return DatasetCheck(ref.url or ref.value, Status.NOT_FOUND, "ressource inconnue de data.gouv.fr")
        return await self._dataset(dataset, ref.url or ref.value, ref.value, ticket, datasets)

    async def _dataset(self, ident: str, reference: str, focus: str | None, ticket: str | None,
                       datasets: dict[str, DatasetCheck]) -> Item | None:
        if self.datagouv is None:
            return DatasetCheck(reference, Status.NOT_VERIFIED, "data.gouv.fr non configuré")
        try:
            info = await self.datagouv.dataset(ident, ticket=ticket)
        except FetchError as exc:
            return DatasetCheck(reference, Status.NOT_VERIFIED, exc.reason)
        if info is None:
            return DatasetCheck(reference, Status.NOT_FOUND, "jeu de données introuvable sur data.gouv.fr")
        known = datasets.get(info.id)
        if known is not None:  # named twice (page and resource): check the named resource once, in place
            if focus and all(rc.resource.id != focus for rc in known.resources):
                res = next((r for r in info.resources if r.id == focus), None)
                if res is not None:
                    known.resources.append(await self._check_resource(res, ticket))
            return None
        check = DatasetCheck(reference, Status.CHECKED, dataset=info)
        datasets[info.id] = check
        check.findings.extend(dataset_findings(info))
        if info.harvest is not None:
            await self._harvest(check, info, ticket)
        chosen, skipped = self._choose(info.resources, focus)
        check.resources = list(await asyncio.gather(*(self._check_resource(r, ticket) for r in chosen)))
        if skipped:
            check.findings.append(Finding("resources-not-checked", "info",
                                          f"{skipped} autre(s) ressource(s) non vérifiée(s) automatiquement "
                                          f"(au plus {self.max_resources} par jeu de données)."))
        return check

    async def _harvest(self, check: DatasetCheck, info: DatasetInfo, ticket: str | None) -> None:
        assert info.harvest is not None and self.datagouv is not None
        harvest = info.harvest
        if harvest.source_id:
            try:
                source = await self.datagouv.harvest_source(harvest.source_id, ticket=ticket)
            except FetchError:
                source = None
            if source:
                raw = {"backend": harvest.backend, "domain": harvest.domain, "remote_id": harvest.remote_id,
                       "remote_url": harvest.remote_url, "source_id": harvest.source_id,
                       "last_update": harvest.last_update.isoformat() if harvest.last_update else None,
                       "archived": harvest.archived}
                harvest = parse_harvest(raw, source) or harvest
                check.dataset = replace(info, harvest=harvest)
        check.findings.extend(harvest_findings(harvest))
        if harvest.remote_id and self._from_catalogue(harvest.domain, harvest.backend, harvest.remote_url):
            check.source_record = await self._record(harvest.remote_id, harvest.remote_url, ticket)

    def _from_catalogue(self, domain: str | None, backend: str | None, remote_url: str | None) -> bool:
        if self.csw is None:
            return False
        csw_host = (host_port(self.csw.csw_url) or ("", 0))[0]
        remote_host = (host_port(remote_url or "") or ("", 0))[0]
        domain_host = (domain or "").split(":", 1)[0].lower()
        if domain_host or remote_host:  # harvested from somewhere known: only our catalogue's records
            return csw_host in (domain_host, remote_host)
        return "csw" in (backend or "") or "iso" in (backend or "")

    def _choose(self, resources: Sequence[ResourceInfo], focus: str | None) -> tuple[list[ResourceInfo], int]:
        ordered = sorted(resources, key=lambda r: (r.id != focus, r.type not in (None, "main")))
        return ordered[: self.max_resources], max(0, len(ordered) - self.max_resources)

    async def _check_resource(self, res: ResourceInfo, ticket: str | None) -> ResourceCheck:
        filename = file_name(res.url, res.title, res.format)
        if filename is None or res.filetype == "api":
            return ResourceCheck(res, Status.CHECKED, findings=[Finding(
                "format-not-checked", "info",
                f"Format « {res.format or 'inconnu'} » : pas de vérification automatique du contenu.")])
        if res.filesize is not None and res.filesize > self.max_file_bytes:
            return ResourceCheck(res, Status.NOT_VERIFIED, _too_big(res.filesize, self.max_file_bytes))
        check = ResourceCheck(res, Status.CHECKED)
        try:
            answer = await self.fetcher.get(res.url, ticket=ticket, max_bytes=self.max_file_bytes)
        except FetchError as exc:
            check.status, check.reason = Status.NOT_VERIFIED, exc.reason
        else:
            if answer.status >= 400:
                check.findings.append(unreachable(answer.status))
            else:
                check.findings.extend(await self.checker.check(answer.body, filename, res.schema))
        check.findings.extend(portal_findings(res, downloaded=check.status is Status.CHECKED))
        return check

    # -- regional catalogue ---------------------------------------------------------------------------

    async def _record(self, identifier: str, url: str | None, ticket: str | None) -> RecordCheck:
        if self.csw is None:
            return RecordCheck(identifier, Status.NOT_VERIFIED, NO_CATALOGUE, url)
        try:
            record = await self.csw.record(identifier, ticket=ticket)
        except FetchError as exc:
            return RecordCheck(identifier, Status.NOT_VERIFIED, exc.reason, url)
        if record is None:
            return RecordCheck(identifier, Status.NOT_FOUND, "fiche absente du catalogue régional", url)
        return RecordCheck(identifier, Status.CHECKED, url=url, record=record)

    async def _bare_uuid(self, ref: Reference, ticket: str | None, datasets: dict[str, DatasetCheck]
                         ) -> Item | None:
        """A UUID alone: a catalogue record, else a data.gouv.fr resource, else nothing worth saying."""
        reasons: list[str] = []
        if self.csw is not None:
            record = await self._record(ref.value, None, ticket)
            if record.status is Status.CHECKED:
                return record
            if record.status is Status.NOT_VERIFIED:
                reasons.append(record.reason)
        if self.datagouv is not None:
            item = await self._resource(Reference(RefKind.RESOURCE, ref.value), ticket, datasets)
            if item is None or item.status is Status.CHECKED:
                return item
            if item.status is Status.NOT_VERIFIED:
                reasons.append(item.reason)
        if reasons:
            return RecordCheck(ref.value, Status.NOT_VERIFIED, reasons[0])
        return None

    # -- a bare file link -----------------------------------------------------------------------------

    async def _file(self, url: str, ticket: str | None) -> FileCheck:
        try:
            answer = await self.fetcher.get(url, ticket=ticket, max_bytes=self.max_file_bytes)
        except FetchError as exc:
            return FileCheck(url, Status.NOT_VERIFIED, exc.reason)
        check = FileCheck(url, Status.CHECKED, http_status=answer.status)
        if answer.status >= 400:
            check.findings.append(unreachable(answer.status))
            return check
        name = file_name(answer.url, "", None) or file_name(url, "", None) or "fichier"
        check.findings.extend(await self.checker.check(answer.body, name, None))
        return check


# -- pure rules ---------------------------------------------------------------------------------------


def file_name(url: str, title: str, fmt: str | None) -> str | None:
    """A file name the checks recognise (they dispatch on the extension), or None when not checkable."""
    try:
        name = PurePosixPath(unquote(urlsplit(url).path)).name
    except ValueError:
        name = ""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if suffix in CHECKABLE:
        return name
    kind = CHECKABLE.get((fmt or "").lower().strip())
    if kind is None:
        return None
    stem = PurePosixPath(title).stem if title else "ressource"
    return f"{stem or 'ressource'}.{kind}"


def unreachable(status: int) -> Finding:
    label = HTTP_FR.get(status, "erreur")
    return Finding("resource-unreachable", "error",
                   f"Le fichier ne se télécharge pas : le serveur répond {status} ({label}). Le lien de la ressource "
                   "est cassé : remplacez le fichier ou corrigez son adresse sur la fiche.")


def _too_big(size: int, cap: int) -> str:
    return f"fichier de {size_fr(size)} : au-delà de {size_fr(cap)} il n'est pas téléchargé"


def dataset_findings(info: DatasetInfo) -> list[Finding]:
    out = []
    if info.deleted:
        out.append(Finding("dataset-deleted", "error", "Le jeu de données est supprimé sur data.gouv.fr."))
    if info.archived:
        out.append(Finding("dataset-archived", "warning",
                           "Le jeu de données est archivé : il n'apparaît plus dans les recherches."))
    if info.private:
        out.append(Finding("dataset-private", "warning", "Le jeu de données est en brouillon (privé) : "
                           "il n'est pas visible du public tant qu'il n'est pas publié."))
    q = info.quality
    rules = (
        ("license", "quality-license", "Aucune licence n'est choisie : choisissez la Licence Ouverte 2.0 ou l'ODbL."),
        ("update_fulfilled_in_time", "quality-late",
         "La mise à jour annoncée (fréquence) n'a pas été faite à temps."),
        ("has_open_format", "quality-format", "Aucune ressource n'est dans un format ouvert (CSV, GeoJSON…)."),
        ("all_resources_available", "quality-unavailable",
         "data.gouv.fr signale au moins une ressource indisponible."),
        ("dataset_description_quality", "quality-description", "La description est trop courte."),
    )
    for key, code, message in rules:
        if q.get(key) is False:
            out.append(Finding(code, "warning", message))
    if info.resources == ():
        out.append(Finding("no-resources", "error", "Le jeu de données n'a aucune ressource (aucun fichier)."))
    return out


def harvest_findings(h: HarvestInfo) -> list[Finding]:
    out = []
    if h.archived:
        out.append(Finding("harvest-archived", "error",
                           "Le moissonnage a archivé ce jeu de données : il n'est plus trouvé dans le catalogue "
                           f"source ({h.archived})."))
    if h.last_job_status in ("failed", "done-errors"):
        what = "a échoué" if h.last_job_status == "failed" else "s'est terminé avec des erreurs"
        count = f" ({h.last_job_errors} élément(s) en échec)" if h.last_job_errors else ""
        out.append(Finding("harvest-errors", "warning", f"Le dernier moissonnage de la source {what}{count}."))
    if h.source_active is False:
        out.append(Finding("harvest-inactive", "warning", "La source de moissonnage est désactivée."))
    return out


def portal_findings(res: ResourceInfo, *, downloaded: bool) -> list[Finding]:
    """What data.gouv.fr itself says about a resource (its availability check and its schema validator)."""
    out = []
    if res.available is False and not downloaded:
        status = f" (HTTP {res.http_status})" if res.http_status else ""
        out.append(Finding("portal-unavailable", "warning",
                           f"data.gouv.fr signale aussi ce fichier comme indisponible{status}."))
    if res.validation_valid is False:
        n = f"{res.validation_errors} erreur(s)" if res.validation_errors is not None else "des erreurs"
        schema = f" au schéma « {res.schema} »" if res.schema else " au schéma déclaré"
        out.append(Finding("portal-validation", "warning",
                           f"Le validateur de data.gouv.fr trouve {n} par rapport{schema}."))
    return out
