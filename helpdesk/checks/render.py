"""Reports as French text: the full report (staff note, CLI) and the short summary for the requester,
with links to the FAQ entries that explain each point."""

from __future__ import annotations

from collections.abc import Container, Sequence

from helpdesk.checks.report import SEVERITY_FR, Finding, Report, Severity

# Finding code (optionally with the report kind) -> the FAQ entry that explains it.
FAQ_BY_CODE: dict[str, str] = {
    "encoding": "csv-utf8-depuis-excel",
    "encoding-mixed": "csv-utf8-depuis-excel",
    "insee-unknown": "code-insee-ou-code-postal",
    "coordinates-swapped": "csv-coordonnees-latitude-longitude",
    "custom-check-error": "validata-erreurs-frequentes",
    "separator": "csv-separateur-virgule-point-virgule",
    "row-length": "csv-separateur-virgule-point-virgule",
    "header-missing": "csv-ligne-en-tete-noms-colonnes",
    "duplicate-column": "csv-ligne-en-tete-noms-colonnes",
    "empty-column": "csv-cellules-vides-valeurs-manquantes",
    "mixed-types": "csv-cellules-vides-valeurs-manquantes",
    "merged-header": "csv-cellules-fusionnees-mise-en-forme",
    "merged-cells": "csv-cellules-fusionnees-mise-en-forme",
    "multiple-sheets": "csv-un-tableau-par-fichier",
    "date-format": "csv-dates-format-iso-8601",
    "decimal-comma": "csv-montants-nombres-decimaux",
    "siret-invalid": "trouver-siret-collectivite",
    "siren-invalid": "siren-ou-siret-difference",
    "insee-invalid": "code-insee-ou-code-postal",
    "coordinates-outside-france": "couche-decalee-ou-dans-ocean",
    "coordinates-outside-france/table": "csv-coordonnees-latitude-longitude",
    "schema-field-missing": "validata-erreurs-frequentes",
    "type-error": "validata-erreurs-frequentes",
    "constraint-error": "validata-erreurs-frequentes",
    "inspire-element-missing": "md-elements-obligatoires-fiche-inspire",
    "inspire-element-invalid": "md-elements-obligatoires-fiche-inspire",
    "inspire-theme-missing": "md-mots-cles-gemet-thesaurus",
    "dcat-element-missing": "dcat-dcat-ap-definition",
    "shapefile-prj-missing": "shapefile-sans-prj-projection-inconnue",
    "shapefile-sidecar-missing": "shapefile-fichiers-manquants",
    "projection-unexpected": "lambert93-ou-wgs84-quel-systeme",
    "projection-unexpected/geojson": "geojson-quand-utiliser-wgs84",
}
KIND_FR = {"table": "tableau", "metadata": "fiche de métadonnées", "shapefile": "couche shapefile",
           "geojson": "GeoJSON", "archive": "archive zip", "unsupported": "format non vérifié",
           "layer": "couche géographique", "json": "fichier JSON"}
VERDICT_FR = {"unsupported": "format non vérifié automatiquement : une personne regardera ce fichier",
              "unreadable": "fichier illisible : il n'a pas pu être vérifié"}
MAX_SUMMARY_POINTS = 8
ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def faq_id(finding: Finding, kind: str) -> str | None:
    return FAQ_BY_CODE.get(f"{finding.code}/{kind}") or FAQ_BY_CODE.get(finding.code)


def points(n: int) -> str:
    return f"{n} point{'s' if n > 1 else ''} à corriger"


def headline(report: Report) -> str:
    bits = [KIND_FR.get(report.kind, report.kind)]
    for key, label in (("schema", "schéma"), ("encoding", "encodage"), ("separator", "séparateur"),
                       ("sheet", "feuille")):
        if report.details.get(key):
            bits.append(f"{label} {report.details[key]}")
    fix, info = len(report.to_fix), len(report.findings) - len(report.to_fix)
    if report.verdict in VERDICT_FR:
        return f"« {report.filename} » ({', '.join(bits)}) : {VERDICT_FR[report.verdict]}."
    counts = points(fix) if fix else "aucun point à corriger"
    if info:
        counts += f", {info} remarque{'s' if info > 1 else ''}"
    return f"« {report.filename} » ({', '.join(bits)}) : {counts}."


def full_text(reports: Sequence[Report]) -> str:
    """Every finding of every report, for staff (the internal note) and the command line: plain French,
    the codes only in the JSON."""
    lines: list[str] = []
    for report in reports:
        lines.append(f"Vérification automatique de {headline(report)}")
        for f in sorted(report.findings, key=lambda f: ORDER[f.severity]):
            where = f.where()
            lines.append(f"- [{SEVERITY_FR[f.severity]}] {where + ' — ' if where else ''}{f.message}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def summary_text(report: Report, *, ticket_ref: str, public_url: str, known_faq: Container[str]) -> str:
    """The short, friendly French summary sent to the requester."""
    fix = report.to_fix
    base = public_url.rstrip("/")
    lines = ["Bonjour,", ""]
    if report.verdict == "unsupported":
        lines.append(f"Le fichier « {report.filename} » joint à votre demande {ticket_ref} est dans un format que "
                     "notre vérification automatique ne sait pas lire : il n'a pas été vérifié. Un membre de l'équipe "
                     "le regardera.")
    elif report.verdict == "unreadable":
        lines.append(f"Le fichier « {report.filename} » joint à votre demande {ticket_ref} n'a pas pu être lu "
                     f"jusqu'au bout : {fix[0].message if fix else ''}")
    elif not fix:
        lines.append(f"Nous avons vérifié automatiquement le fichier « {report.filename} » joint à votre demande "
                     f"{ticket_ref} : aucun point à corriger n'a été détecté.")
    else:
        lines.append(f"Nous avons vérifié automatiquement le fichier « {report.filename} » joint à votre demande "
                     f"{ticket_ref}. {points(len(fix)).capitalize()} :")
        ordered = sorted(fix, key=lambda f: f.severity is not Severity.ERROR)
        linked: set[str] = set()
        for f in ordered[:MAX_SUMMARY_POINTS]:
            prefix = f"Colonne {f.column} : " if f.column and f.column not in f.message else ""
            suffix = f" ({f.element})" if f.element and f.element not in f.message else ""
            message = f.message
            if prefix and len(message) > 1 and message[1].islower():
                message = message[0].lower() + message[1:]
            lines.append(f"- {prefix}{message}{suffix}")
            entry = faq_id(f, report.kind)
            if entry and entry in known_faq and entry not in linked:
                linked.add(entry)
                lines.append(f"  Pour en savoir plus : {base}/faq/{entry}")
        if len(fix) > MAX_SUMMARY_POINTS:
            lines.append(f"- … et {len(fix) - MAX_SUMMARY_POINTS} autre(s) point(s), que nous reprendrons avec vous.")
    lines += ["", "Un membre de l'équipe d'assistance reprend votre demande et vous répondra. Vous pouvez déjà "
              "renvoyer le fichier corrigé en répondant à ce message.", "",
              "Ceci est un message automatique.", "L'équipe d'assistance du CRAIG"]
    return "\n".join(lines)
