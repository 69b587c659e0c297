"""What people read about published data: the internal note, the sidebar rows, the agent's summary. Pure.

The internal note is for staff (everything, with links); the agent's summary is short, only the problems,
and is sent only when staff choose to. Dates are shown in Europe/Paris.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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
    Status,
)

PARIS = ZoneInfo("Europe/Paris")
SEVERITY_FR = {"error": "à corriger", "warning": "à améliorer", "info": "remarque"}
JOB_FR = {"pending": "en attente", "initializing": "en préparation", "initialized": "préparé",
          "processing": "en cours", "done": "terminé sans erreur", "done-errors": "terminé avec des erreurs",
          "failed": "échoué"}
NOT_VERIFIED = "non vérifié"
MAX_AGENT_PROBLEMS = 3


def day(when: datetime | None) -> str:
    return when.astimezone(PARIS).strftime("%d/%m/%Y") if when else "inconnue"


def moment(when: datetime | None) -> str:
    return when.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if when else "inconnue"


def harvest_status(h: HarvestInfo | None) -> str:
    if h is None:
        return "non moissonné (publié directement sur data.gouv.fr)"
    where = h.source_name or h.domain or "une source externe"
    text = f"moissonné depuis {where}"
    if h.last_update:
        text += f", dernier moissonnage le {moment(h.last_update)}"
    if h.last_job_status:
        text += f" ; dernier passage de la source : {JOB_FR.get(h.last_job_status, h.last_job_status)}"
        if h.last_job_errors:
            text += f" ({h.last_job_errors} élément(s) en échec)"
    if h.archived:
        text += " ; jeu archivé par le moissonnage"
    return text


def schema_text(info: DatasetInfo) -> str:
    names = sorted({n for n in [info.schema, *(r.schema for r in info.resources)] if n})
    if not names:
        return "aucun schéma déclaré"
    versions = {r.schema: r.schema_version for r in info.resources if r.schema and r.schema_version}
    return ", ".join(f"{n} {versions[n]}" if versions.get(n) else n for n in names)


def _finding_line(f: Finding) -> str:
    where = f" ({f.where})" if f.where else ""
    return f"[{SEVERITY_FR.get(f.severity, f.severity)}] {f.message}{where}"


def _problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in ("error", "warning")]


# -- internal note ------------------------------------------------------------------------------------

def internal_note(report: PublishedReport) -> str:
    lines = [f"Données publiées — vérification automatique du {moment(report.checked_at)}"]
    for item in report.items:
        lines.append("")
        lines.extend(_note_item(item))
    if not report.verified:
        lines += ["", "Rien n'a pu être vérifié (réseau coupé ou sites non autorisés) : à regarder à la main."]
    return "\n".join(lines)


def _note_item(item: Item) -> list[str]:
    if isinstance(item, DatasetCheck):
        return _note_dataset(item)
    if isinstance(item, RecordCheck):
        return _note_record(item, "Fiche du catalogue régional")
    return _note_file(item)


def _note_dataset(c: DatasetCheck) -> list[str]:
    if c.dataset is None:
        label = NOT_VERIFIED if c.status is Status.NOT_VERIFIED else "introuvable"
        return [f"Jeu de données {c.reference} : {label} ({c.reason})."]
    d = c.dataset
    lines = [f"Jeu de données « {d.title} » (data.gouv.fr)"]
    if d.page:
        lines.append(f"  {d.page}")
    lines += [
        f"  Organisation : {d.organization or d.owner or 'inconnue'}",
        f"  Licence : {d.license or 'aucune'}",
        f"  Dernière mise à jour : {day(d.last_update)}",
        f"  Moissonnage : {harvest_status(d.harvest)}",
        f"  Schéma : {schema_text(d)}",
    ]
    if d.quality_score is not None:
        lines.append(f"  Indicateur de qualité data.gouv.fr : {round(d.quality_score * 100)} %")
    if c.findings:
        lines.append("  Jeu de données :")
        lines += [f"    - {_finding_line(f)}" for f in c.findings]
    for rc in c.resources:
        lines += _note_resource(rc)
    if c.source_record is not None:
        lines += ["  " + line for line in _note_record(c.source_record, "Fiche source (catalogue régional)")]
    return lines


def _note_resource(rc: ResourceCheck) -> list[str]:
    r = rc.resource
    head = f"  Ressource « {r.title} » ({r.format or 'format inconnu'})"
    if rc.status is Status.NOT_VERIFIED:
        return [f"{head} : {NOT_VERIFIED} ({rc.reason})."] + [f"    - {_finding_line(f)}" for f in rc.findings]
    if not _problems(rc.findings):
        extra = [f"    - {_finding_line(f)}" for f in rc.findings]
        return [f"{head} : aucun problème trouvé."] + extra
    return [f"{head} :"] + [f"    - {_finding_line(f)}" for f in rc.findings]


def _note_record(c: RecordCheck, what: str) -> list[str]:
    if c.record is None:
        label = NOT_VERIFIED if c.status is Status.NOT_VERIFIED else "introuvable"
        return [f"{what} {c.identifier} : {label} ({c.reason})."]
    r = c.record
    lines = [f"{what} « {r.title or 'sans titre'} » ({r.organisation or 'organisation inconnue'})",
             f"  Identifiant : {r.identifier or c.identifier} ; date des métadonnées : {r.date or 'absente'}"]
    if c.url:
        lines.append(f"  {c.url}")
    if r.missing:
        lines.append(f"  {len(r.missing)} élément(s) INSPIRE manquant(s) :")
        lines += [f"    - {f.message}" for f in r.missing]
    else:
        lines.append("  Tous les éléments INSPIRE sont renseignés.")
    return lines


def _note_file(c: FileCheck) -> list[str]:
    if c.status is Status.NOT_VERIFIED:
        return [f"Fichier {c.url} : {NOT_VERIFIED} ({c.reason})."]
    if not c.findings:
        return [f"Fichier {c.url} : aucun problème trouvé."]
    return [f"Fichier {c.url} :"] + [f"  - {_finding_line(f)}" for f in c.findings]


# -- sidebar ------------------------------------------------------------------------------------------

def sidebar(report: PublishedReport) -> list[dict[str, Any]]:
    """Rows for the ticket sidebar « Données publiées »."""
    return [_side(item) for item in report.items]


def _findings_json(findings: list[Finding]) -> list[dict[str, str]]:
    return [{"severity": SEVERITY_FR.get(f.severity, f.severity), "level": f.severity, "message": f.message,
             "where": f.where, "code": f.code} for f in findings]


def _state(status: Status, reason: str) -> str:
    return {Status.CHECKED: "vérifié", Status.NOT_FOUND: f"introuvable ({reason})",
            Status.NOT_VERIFIED: f"{NOT_VERIFIED} ({reason})"}[status]


def _side(item: Item) -> dict[str, Any]:
    if isinstance(item, DatasetCheck):
        row: dict[str, Any] = {"type": "dataset", "reference": item.reference,
                               "state": _state(item.status, item.reason), "findings": _findings_json(item.findings)}
        if item.dataset is not None:
            d = item.dataset
            row.update({"title": d.title, "link": d.page, "organisation": d.organization or d.owner,
                        "licence": d.license, "last_update": day(d.last_update),
                        "harvest": harvest_status(d.harvest), "schema": schema_text(d)})
        row["resources"] = [{"title": rc.resource.title, "format": rc.resource.format, "link": rc.resource.url,
                             "state": _state(rc.status, rc.reason), "findings": _findings_json(rc.findings)}
                            for rc in item.resources]
        if item.source_record is not None:
            row["source_record"] = _side(item.source_record)
        return row
    if isinstance(item, RecordCheck):
        r = item.record
        return {"type": "record", "reference": item.identifier, "link": item.url,
                "state": _state(item.status, item.reason), "title": r.title if r else None,
                "organisation": r.organisation if r else None, "last_update": r.date if r else None,
                "findings": _findings_json(list(r.missing)) if r else []}
    return {"type": "file", "reference": item.url, "link": item.url, "title": item.url.rsplit("/", 1)[-1],
            "state": _state(item.status, item.reason), "findings": _findings_json(item.findings)}


# -- the agent's summary ------------------------------------------------------------------------------

def agent_summary(report: PublishedReport) -> str:
    """A short French text for the requester: what was looked at and the problems to fix."""
    lines = ["Nous avons regardé les données publiées dont vous parlez :"]
    for item in report.items:
        lines.append(_agent_line(item))
    if not report.verified:
        lines.append("Nous n'avons pas pu les consulter automatiquement : une personne de l'équipe va regarder.")
    return "\n".join(lines)


def _agent_line(item: Item) -> str:
    if isinstance(item, DatasetCheck):
        if item.dataset is None:
            return (f"- {item.reference} : nous ne trouvons pas ce jeu de données sur data.gouv.fr."
                    if item.status is Status.NOT_FOUND else f"- {item.reference} : pas encore vérifié.")
        problems = _problems(item.findings)
        for rc in item.resources:
            problems += [Finding(f.code, f.severity, f"« {rc.resource.title} » : {f.message}")
                         for f in _problems(rc.findings)]
        if item.source_record is not None and item.source_record.record is not None:
            missing = item.source_record.record.missing
            if missing:
                problems.append(Finding("inspire", "error", f"la fiche du catalogue régional n'a pas "
                                        f"{len(missing)} élément(s) INSPIRE obligatoire(s) : "
                                        + ", ".join(m.message.split(" : ", 1)[-1].rstrip(".") for m in missing[:4])
                                        + ("…" if len(missing) > 4 else ".")))
        unverified = sum(rc.status is Status.NOT_VERIFIED for rc in item.resources)
        if unverified:
            problems.append(Finding("not-verified", "info", f"{unverified} fichier(s) n'ont pas pu être vérifiés "
                                    "automatiquement : une personne de l'équipe va les regarder."))
        return _agent_item(f"« {item.dataset.title} »", problems)
    if isinstance(item, RecordCheck):
        if item.record is None:
            return f"- fiche {item.identifier} : " + ("introuvable dans le catalogue régional."
                                                      if item.status is Status.NOT_FOUND else "pas encore vérifiée.")
        return _agent_item(f"fiche « {item.record.title or item.identifier} »", list(item.record.missing))
    if item.status is Status.NOT_VERIFIED:
        return f"- {item.url} : pas encore vérifié."
    return _agent_item(item.url.rsplit("/", 1)[-1], _problems(item.findings))


def _agent_item(name: str, problems: list[Finding]) -> str:
    if not problems:
        return f"- {name} : nous n'avons pas trouvé de problème."
    shown = "\n".join(f"  • {f.message}" for f in problems[:MAX_AGENT_PROBLEMS])
    extra = len(problems) - MAX_AGENT_PROBLEMS
    more = f"\n  • et {extra} autre(s) point(s)." if extra > 0 else ""
    return f"- {name} :\n{shown}{more}"
