"""The regional catalogue: CSW GetRecordById, the record read with owslib's ISO 19139 reader.

The HTTP goes through our Fetcher (owslib's own ``CatalogueServiceWeb`` would use ``requests`` outside
the allow-list, the caps and the rate limits); the XML is refused when it declares a DTD or entities
(defusedxml), then parsed by lxml with entity resolution and network access off, and handed to
``owslib.iso.MD_Metadata``. Parsing runs in a thread: a large record never blocks the event loop.

The INSPIRE check lists the elements of the INSPIRE metadata regulation (1205/2008, datasets) that the
record leaves empty, each as a French finding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from owslib.etree import etree  # type: ignore[import-untyped]
from owslib.iso import MD_Metadata  # type: ignore[import-untyped]

from helpdesk.published.fetch import Fetcher, FetchError
from helpdesk.published.model import Finding, RecordInfo

GMD = "http://www.isotc211.org/2005/gmd"
MAX_RECORD_BYTES = 5 * 1024 * 1024


class RecordUnreadable(FetchError):
    """The catalogue answered with something that is not a readable ISO 19139 record."""


class CswClient:
    def __init__(self, fetcher: Fetcher, csw_url: str) -> None:
        self.fetcher = fetcher
        self.csw_url = csw_url

    def record_url(self, identifier: str) -> str:
        query = urlencode({"service": "CSW", "version": "2.0.2", "request": "GetRecordById", "id": identifier,
                           "outputSchema": GMD, "elementSetName": "full"})
        return f"{self.csw_url}{'&' if '?' in self.csw_url else '?'}{query}"

    async def record(self, identifier: str, *, ticket: str | None = None) -> RecordInfo | None:
        """The record, or None when the catalogue does not have it."""
        answer = await self.fetcher.get(self.record_url(identifier), ticket=ticket,
                                        accept="application/xml", max_bytes=MAX_RECORD_BYTES)
        if answer.status in (404, 410):
            return None
        if answer.status >= 400:
            raise RecordUnreadable("csw-error", f"le catalogue a répondu {answer.status}")
        return await asyncio.to_thread(parse_record_response, answer.body)


def parse_record_response(data: bytes) -> RecordInfo | None:
    """A GetRecordById response (or a bare MD_Metadata document) → RecordInfo; None when empty."""
    try:
        SafeET.fromstring(data, forbid_dtd=True)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        root = etree.fromstring(data, parser=parser)
    except DefusedXmlException as exc:
        raise RecordUnreadable("xml-unsafe", "fiche refusée : le XML déclare une DTD ou des entités") from exc
    except (SafeET.ParseError, etree.XMLSyntaxError, ValueError) as exc:
        raise RecordUnreadable("xml-invalid", "fiche illisible : XML mal formé") from exc
    if root.tag == f"{{{GMD}}}MD_Metadata":
        node = root
    else:
        node = root.find(f".//{{{GMD}}}MD_Metadata")
        if node is None:
            if root.tag.endswith("ExceptionReport"):
                raise RecordUnreadable("csw-exception", "le catalogue a répondu par une erreur OGC")
            return None
    try:
        return record_info(MD_Metadata(node))
    except (AttributeError, TypeError, ValueError, IndexError, KeyError) as exc:  # a record owslib cannot read
        raise RecordUnreadable("record-unreadable", f"fiche illisible ({type(exc).__name__})") from exc


def record_info(md: Any) -> RecordInfo:
    ident = md.identification[0] if md.identification else None
    organisation = None
    if ident is not None:
        organisation = next((c.organization for c in ident.contact if c.organization), None)
    return RecordInfo(
        identifier=md.identifier or "",
        title=ident.title if ident is not None else None,
        organisation=organisation,
        date=md.datestamp,
        hierarchy=md.hierarchy,
        missing=tuple(inspire_missing(md)),
    )


def _has(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_has(v) for v in value)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


def _keywords(ident: Any) -> list[tuple[str, list[str]]]:
    out = []
    for group in getattr(ident, "keywords", None) or []:
        thesaurus = (group.thesaurus or {}).get("title") or ""
        out.append((str(thesaurus), [k.name for k in group.keywords if getattr(k, "name", None)]))
    return out


def _online(md: Any) -> bool:
    dist = md.distribution
    return dist is not None and any(_has(getattr(o, "url", None)) for o in dist.online)


# (code, French label, test on (md, identification)) — the INSPIRE metadata elements for a dataset.
INSPIRE: tuple[tuple[str, str, Callable[[Any, Any], bool]], ...] = (
    ("inspire-title", "titre de la ressource", lambda md, i: _has(i.title)),
    ("inspire-abstract", "résumé", lambda md, i: _has(i.abstract)),
    ("inspire-type", "type de la ressource (jeu de données, série, service)", lambda md, i: _has(md.hierarchy)),
    ("inspire-locator", "localisateur de la ressource (lien de téléchargement ou de consultation)",
     lambda md, i: _online(md)),
    ("inspire-identifier", "identificateur de ressource unique", lambda md, i: _has(i.uricode)),
    ("inspire-language", "langue de la ressource",
     lambda md, i: _has(i.resourcelanguage) or _has(i.resourcelanguagecode)),
    ("inspire-topic", "catégorie thématique ISO", lambda md, i: _has(i.topiccategory)),
    ("inspire-keyword", "mot-clé d'un thème INSPIRE (thésaurus GEMET – INSPIRE themes)",
     lambda md, i: any(("inspire" in t.lower() or "gemet" in t.lower()) and kws for t, kws in _keywords(i))),
    ("inspire-bbox", "rectangle de délimitation géographique", lambda md, i: i.bbox is not None),
    ("inspire-date", "référence temporelle (date de création, de publication ou de révision)",
     lambda md, i: _has(i.date) or _has(i.temporalextent_start)),
    ("inspire-lineage", "généalogie (origine et traitements des données)",
     lambda md, i: md.dataquality is not None and _has(md.dataquality.lineage)),
    ("inspire-conformity", "conformité (degré de conformité à un règlement ou une spécification)",
     lambda md, i: md.dataquality is not None and (_has(md.dataquality.conformancetitle)
                                                   or _has(md.dataquality.conformancedegree))),
    ("inspire-use", "conditions d'accès et d'utilisation (licence)",
     lambda md, i: _has(i.useconstraints) or _has(i.otherconstraints) or _has(i.uselimitation)),
    ("inspire-access", "restrictions d'accès public",
     lambda md, i: _has(i.accessconstraints) or _has(i.otherconstraints) or _has(i.classification)),
    ("inspire-party", "organisation responsable de la ressource",
     lambda md, i: any(_has(c.organization) or _has(c.email) for c in i.contact)),
    ("inspire-md-contact", "point de contact des métadonnées",
     lambda md, i: any(_has(c.organization) or _has(c.email) for c in md.contact)),
    ("inspire-md-date", "date des métadonnées", lambda md, i: _has(md.datestamp)),
    ("inspire-md-language", "langue des métadonnées", lambda md, i: _has(md.language) or _has(md.languagecode)),
)


def inspire_missing(md: Any) -> list[Finding]:
    if not md.identification:
        return [Finding("inspire-identification", "error",
                        "La fiche n'a pas de partie « identification » : titre, résumé, mots-clés… manquent tous.")]
    ident = md.identification[0]
    out = []
    for code, label, present in INSPIRE:
        try:
            ok = present(md, ident)
        except (AttributeError, TypeError, IndexError):
            ok = False
        if not ok:
            out.append(Finding(code, "error", f"Élément INSPIRE manquant : {label}.", "fiche de métadonnées"))
    return out
