"""The file checks of the attachment feature, behind the FileChecker port of the published-data service.

Only the checks package's public entry points are used (``check_file``, ``Limits``, ``Report``): the check
runs in a thread, under the checks' own size and time limits. A declared schema is compared with the
schema the checks recognised in the file: bundled SCDL schemas (budget, délibérations, subventions) are
checked for real; any other declared schema is named as not checked here.
"""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Protocol

from helpdesk.checks import Limits, Report, check_file
from helpdesk.published.model import Finding

# declared schema name (schema.data.gouv.fr) → a word of the checks' schema label ("SCDL Subventions 2.1.1")
BUNDLED_SCDL = {"scdl/subventions": "subventions", "scdl/deliberations": "deliberations", "scdl/budget": "budget"}


class FileChecker(Protocol):
    async def check(self, data: bytes, filename: str, schema: str | None = None) -> list[Finding]:
        """The findings for one file; never raises for a bad file."""
        ...


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def findings_of(report: Report, schema: str | None) -> list[Finding]:
    out = [Finding(f.code, f.severity.value, f.message, f.where()) for f in report.findings]
    if schema is None:
        return out
    word = BUNDLED_SCDL.get(schema.strip().lower())
    if word is None:
        out.append(Finding("schema-not-checked", "info",
                           f"Schéma déclaré « {schema} » : l'assistance ne le vérifie pas elle-même ; "
                           "voir le rapport du validateur de data.gouv.fr."))
        return out
    if report.kind != "table":
        return out
    recognised = str(report.details.get("schema", ""))
    if word not in _fold(recognised):
        out.insert(0, Finding("schema-not-followed", "error",
                           f"Le jeu de données déclare le schéma « {schema} », mais les colonnes du fichier ne "
                           "correspondent pas à ce schéma : reprenez le modèle de fichier du schéma "
                           "(noms de colonnes exacts, séparateur virgule, encodage UTF-8)."))
    return out


class ChecksFileChecker:
    """The real FileChecker: helpdesk.checks in a thread."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @property
    def max_bytes(self) -> int:
        return self.limits.max_bytes

    async def check(self, data: bytes, filename: str, schema: str | None = None) -> list[Finding]:
        try:  # the checks stop themselves at their deadline; past it (plus a margin) we stop waiting
            report = await asyncio.wait_for(asyncio.to_thread(check_file, filename, data, self.limits),
                                            timeout=self.limits.seconds + 5)
        except TimeoutError:
            return [Finding("timeout", "error", f"Vérification interrompue après {self.limits.seconds:g} s : "
                            "le fichier sera regardé par une personne.")]
        return findings_of(report, schema)
