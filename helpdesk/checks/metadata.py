"""ISO 19139 metadata records: presence and form of the INSPIRE mandatory elements; DCAT (RDF/XML) in brief.

Parsed with defusedxml (no DTD, no entities, no external references) by the caller.
"""

from __future__ import annotations

import re
from typing import Any

from helpdesk.checks import identifiers as ids
from helpdesk.checks.report import Report, Severity

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gmi": "http://www.isotc211.org/2005/gmi",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "gml": "http://www.opengis.net/gml",
    "gml32": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
}
MD = "{{{}}}MD_Metadata".format(NS["gmd"])
MI = "{{{}}}MI_Metadata".format(NS["gmi"])  # ISO 19115-2 (imagery) in the ISO 19139 encoding
ISO19115_3 = "standards.iso.org/iso/19115/-3/"
# xs:date (with an optional zone), xs:gYear, xs:gYearMonth (all allowed in gco:Date) or xs:dateTime.
ZONE = r"(?:Z|[+-]\d{2}:\d{2})?"
ISO_DATE_RE = re.compile(rf"^\d{{4}}(?:-\d{{2}}(?:-\d{{2}})?)?{ZONE}$|"
                         rf"^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?{ZONE}$")
TOPICS = {
    "farming", "biota", "boundaries", "climatologyMeteorologyAtmosphere", "economy", "elevation", "environment",
    "geoscientificInformation", "health", "imageryBaseMapsEarthCover", "intelligenceMilitary", "inlandWaters",
    "location", "oceans", "planningCadastre", "society", "structure", "transportation",
    "utilitiesCommunication",
}
RESOURCE_TYPES = {"dataset", "series", "service"}
ID = "gmd:identificationInfo/*"


def _text(node: Any) -> str:
    """The text of a CharacterString, an Anchor, a Date or a codelist value under ``node``."""
    if node is None:
        return ""
    for path in ("gco:CharacterString", "gmx:Anchor", "gco:Date", "gco:DateTime", "gco:Decimal", "gco:Boolean",
                 "gmd:URL", "gco:Integer"):
        child = node.find(path, NS)
        if child is not None and (child.text or "").strip():
            return (child.text or "").strip()
    for child in node:
        if child.get("codeListValue"):
            return str(child.get("codeListValue")).strip()
    return (node.text or "").strip()


def _first_text(root: Any, path: str) -> str:
    return next((t for t in (_text(n) for n in root.findall(path, NS)) if t), "")


def check_iso19139(root: Any, report: Report) -> None:
    if ISO19115_3 in str(root.tag) or any(ISO19115_3 in str(el.tag) for el in root.iter() if el is not root
                                          and isinstance(el.tag, str) and el.tag.endswith("}MD_Metadata")):
        report.kind = "metadata"
        report.details["standard"] = "ISO 19115-3"
        report.add("metadata-iso19115-3", Severity.ERROR,
                   "Cette fiche est au format ISO 19115-3, plus récent, que les catalogues français et INSPIRE ne "
                   "moissonnent pas encore. Exportez-la en ISO 19139 depuis votre outil de catalogage (dans "
                   "GeoNetwork : « Exporter » puis « ISO 19139 ») et renvoyez ce fichier.")
        return
    md = root if root.tag in (MD, MI) else root.find(".//gmd:MD_Metadata", NS)
    if md is None:
        md = root.find(".//gmi:MI_Metadata", NS)
    if md is not None and md.tag == MI:
        report.details["standard"] = "ISO 19115-2 (gmi:MI_Metadata) en ISO 19139"
    if md is None:
        local = str(root.tag).rsplit("}", 1)[-1]
        what = ("une notice Dublin Core (csw:Record)" if local in ("Record", "SummaryRecord", "BriefRecord")
                else f"un document « {local} »")
        report.add("metadata-not-iso19139", Severity.ERROR,
                   f"Ce XML est {what} et non une fiche de métadonnées ISO 19139 (élément gmd:MD_Metadata absent) : "
                   "exportez la fiche au format ISO 19139 depuis votre outil de catalogage.")
        return
    report.kind = "metadata"
    rtype = _first_text(md, "gmd:hierarchyLevel")
    report.details["resource_type"] = rtype or None
    service = rtype == "service"

    def missing(element: str, label: str, severity: Severity = Severity.ERROR) -> None:
        report.add("inspire-element-missing", severity,
                   f"Élément INSPIRE obligatoire manquant ou vide : {label} ({element}).", element=element)

    def invalid(element: str, message: str) -> None:
        report.add("inspire-element-invalid", Severity.ERROR, message, element=element)

    if not _first_text(md, f"{ID}/gmd:citation/*/gmd:title"):
        missing("gmd:title", "Titre de la ressource")
    if not _first_text(md, f"{ID}/gmd:abstract"):
        missing("gmd:abstract", "Résumé de la ressource")
    if not rtype:
        missing("gmd:hierarchyLevel", "Type de la ressource")
    elif rtype not in RESOURCE_TYPES:
        invalid("gmd:hierarchyLevel", f"Type de ressource « {rtype} » : attendu dataset, series ou service.")
    if not _first_text(md, "gmd:distributionInfo//gmd:onLine/*/gmd:linkage"):
        missing("gmd:linkage", "Localisateur de la ressource (adresse de téléchargement ou de consultation)",
                Severity.ERROR if service else Severity.WARNING)
    if not service:
        if not _first_text(md, f"{ID}/gmd:citation/*/gmd:identifier/*/gmd:code"):
            missing("gmd:identifier", "Identificateur de ressource unique")
        if not _first_text(md, f"{ID}/gmd:language"):
            missing("gmd:language (ressource)", "Langue de la ressource")
        topics = [_text(n) or (n.findtext("gmd:MD_TopicCategoryCode", "", NS) or "").strip()
                  for n in md.findall(f"{ID}/gmd:topicCategory", NS)]
        topics = [t for t in topics if t]
        if not topics:
            missing("gmd:topicCategory", "Catégorie thématique ISO")
        for t in topics:
            if t not in TOPICS:
                invalid("gmd:topicCategory", f"Catégorie thématique « {t} » inconnue de la liste ISO 19115.")
        if not _first_text(md, "gmd:dataQualityInfo/*/gmd:lineage/*/gmd:statement"):
            missing("gmd:lineage", "Généalogie (origine et traitements des données)")
        if not md.findall(f"{ID}/gmd:spatialResolution", NS):
            missing("gmd:spatialResolution", "Résolution spatiale (échelle ou distance)", Severity.WARNING)
    _keywords(md, report, service)
    _extent(md, report, missing, invalid)
    _dates(md, report, missing, invalid)
    _cnig_projection(md, report)
    if not md.findall("gmd:dataQualityInfo//gmd:DQ_ConformanceResult", NS):
        missing("gmd:DQ_ConformanceResult", "Conformité (au règlement INSPIRE 1089/2010, degré : conforme, non "
                "conforme ou non évalué)")
    constraints = md.findall(f"{ID}/gmd:resourceConstraints/*", NS)
    # INSPIRE TG Metadata 2.0 (C.18): the conditions applying to access and use may also be given as an
    # otherConstraints (anchored to the ConditionsApplyingToAccessAndUse register, or a second one beside the
    # limitations on public access) instead of useLimitation.
    others = [o for c in constraints for o in c.findall("gmd:otherConstraints", NS)]
    anchored = any("conditionsapplyingtoaccessanduse" in str(a.get("{http://www.w3.org/1999/xlink}href", "")).lower()
                   for o in others for a in o.iter() if str(a.tag).endswith("Anchor"))
    if not any(c.find("gmd:useLimitation", NS) is not None or c.find("gmd:useConstraints", NS) is not None
               for c in constraints) and not anchored and len(others) < 2:
        missing("gmd:useLimitation", "Conditions d'accès et d'utilisation (licence)")
    if not any(c.find("gmd:accessConstraints", NS) is not None or c.find("gmd:otherConstraints", NS) is not None
               for c in constraints):
        missing("gmd:accessConstraints", "Restrictions d'accès public")
    _party(md, f"{ID}/gmd:pointOfContact", "gmd:pointOfContact", "Organisation responsable de la ressource",
           missing, invalid)
    _party(md, "gmd:contact", "gmd:contact", "Point de contact des métadonnées", missing, invalid)
    stamp = _first_text(md, "gmd:dateStamp")
    if not stamp:
        missing("gmd:dateStamp", "Date des métadonnées")
    elif not ISO_DATE_RE.match(stamp):
        invalid("gmd:dateStamp", f"Date des métadonnées « {stamp} » : format AAAA-MM-JJ attendu.")
    if not _first_text(md, "gmd:language"):
        missing("gmd:language (métadonnées)", "Langue des métadonnées")


def _keywords(md: Any, report: Report, service: bool) -> None:
    blocks = md.findall(f"{ID}/gmd:descriptiveKeywords/gmd:MD_Keywords", NS)
    words = [_text(k) for b in blocks for k in b.findall("gmd:keyword", NS)]
    if not any(words):
        report.add("inspire-element-missing", Severity.ERROR,
                   "Élément INSPIRE obligatoire manquant ou vide : mots-clés (gmd:keyword).",
                   element="gmd:keyword")
        return
    if service:
        return
    for block in blocks:
        thesaurus = _first_text(block, "gmd:thesaurusName/*/gmd:title").lower()
        anchors = [a.get("{{{}}}href".format(NS["xlink"]), "") for a in block.iter("{{{}}}Anchor".format(NS["gmx"]))]
        if "inspire" in thesaurus or any("inspire.ec.europa.eu/theme" in a for a in anchors):
            return
    report.add("inspire-theme-missing", Severity.ERROR,
               "Aucun mot-clé issu du thésaurus « GEMET - INSPIRE themes, version 1.0 » : ajoutez au moins un "
               "thème INSPIRE (par exemple « Usage des sols »), avec le nom et la date du thésaurus.",
               element="gmd:descriptiveKeywords")


METRO_BOX = (-5.2, 41.3, 9.6, 51.1)  # west, south, east, north of metropolitan France (WGS84 degrees)


def _extent(md: Any, report: Report, missing: Any, invalid: Any) -> None:
    box = md.find(f"{ID}/*/gmd:EX_Extent/gmd:geographicElement/gmd:EX_GeographicBoundingBox", NS)
    if box is None:
        box = md.find(".//gmd:EX_GeographicBoundingBox", NS)
    if box is None:
        missing("gmd:EX_GeographicBoundingBox", "Rectangle de délimitation géographique")
        return
    values: dict[str, float] = {}
    for side in ("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude", "northBoundLatitude"):
        raw = _text(box.find(f"gmd:{side}", NS))
        try:
            values[side] = float(raw.replace(",", "."))
        except ValueError:
            invalid(f"gmd:{side}", f"Coordonnée {side} « {raw} » : nombre décimal en degrés attendu.")
    if len(values) < 4:
        return
    w, e, s, n = (values["westBoundLongitude"], values["eastBoundLongitude"], values["southBoundLatitude"],
                  values["northBoundLatitude"])
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90) or w > e or s > n:
        invalid("gmd:EX_GeographicBoundingBox",
                f"Rectangle de délimitation incohérent (ouest {w}, est {e}, sud {s}, nord {n}) : degrés WGS84 "
                "attendus, ouest ≤ est et sud ≤ nord.")
        return
    # A box that covers metropolitan France (a national or world-wide service) is not « outside France ».
    covers_france = w <= METRO_BOX[2] and e >= METRO_BOX[0] and s <= METRO_BOX[3] and n >= METRO_BOX[1]
    if not covers_france and not ids.in_france((w + e) / 2, (s + n) / 2):
        report.add("coordinates-outside-france", Severity.WARNING,
                   f"Le rectangle de délimitation (ouest {w}, est {e}, sud {s}, nord {n}) n'est pas en France : "
                   f"{ids.outside_hint((w + e) / 2, (s + n) / 2)}.", element="gmd:EX_GeographicBoundingBox")


CNIG_RE = re.compile(r"\b(?:PLUi?|PLU-?H|POS|PSMV|carte communale|plan local d.urbanisme|plan d.occupation des sols|"
                     r"servitudes? d.utilit[eé] publique|SUP)\b", re.IGNORECASE)
OVERSEAS_EPSG = {"5490", "2972", "2975", "4471", "4467"}


def _cnig_projection(md: Any, report: Report) -> None:
    """An urbanism document's record (CNIG standards) declares Lambert-93 in metropolitan France."""
    title = _first_text(md, f"{ID}/gmd:citation/*/gmd:title")
    if not CNIG_RE.search(title):
        return
    codes = [_text(n) for n in md.findall("gmd:referenceSystemInfo//gmd:referenceSystemIdentifier/*/gmd:code", NS)]
    codes = [c for c in codes if c]
    if not codes:
        return
    flat = " ".join(codes).lower().replace(" ", "")
    if "2154" in flat or "lambert93" in flat.replace("-", "") or any(e in flat for e in OVERSEAS_EPSG):
        return
    report.add("projection-unexpected", Severity.ERROR,
               f"Fiche d'un document d'urbanisme déclarant le système « {codes[0]} » : le standard CNIG impose le "
               "Lambert-93 (EPSG:2154) en métropole. Déclarez et fournissez les données en Lambert-93.",
               element="gmd:referenceSystemInfo")


def _dates(md: Any, report: Report, missing: Any, invalid: Any) -> None:
    dates = md.findall(f"{ID}/gmd:citation/*/gmd:date/gmd:CI_Date", NS)
    temporal = md.findall(f"{ID}/*/gmd:EX_Extent/gmd:temporalElement", NS)
    if not dates and not temporal:
        missing("gmd:CI_Date", "Référence temporelle (date de création, de publication ou de révision)")
        return
    for d in dates:
        value = _text(d.find("gmd:date", NS))
        kind = _text(d.find("gmd:dateType", NS))
        if value and not ISO_DATE_RE.match(value):
            invalid("gmd:CI_Date", f"Date « {value} » : format AAAA-MM-JJ attendu (par exemple 2024-03-15).")
        if kind and kind not in ("creation", "publication", "revision"):
            invalid("gmd:dateType", f"Type de date « {kind} » : creation, publication ou revision attendu.")


def _party(md: Any, path: str, element: str, label: str, missing: Any, invalid: Any) -> None:
    parties = md.findall(f"{path}/gmd:CI_ResponsibleParty", NS)
    if not parties:
        missing(element, label)
        return
    # Every contact is read: an empty first one does not hide a complete second one.
    if not any(_first_text(p, "gmd:organisationName") for p in parties):
        invalid(element, f"{label} : nom de l'organisation absent (gmd:organisationName).")
    if not any(_first_text(p, "gmd:contactInfo//gmd:electronicMailAddress") for p in parties):
        missing(f"{element}/gmd:electronicMailAddress", f"{label}, adresse électronique")


def check_dcat(root: Any, report: Report) -> None:
    """Kept for callers of the first version: DCAT is now read with rdflib (dcat.py)."""
    datasets = root.findall(".//dcat:Dataset", NS)
    report.kind = "metadata"
    if not datasets:
        report.add("metadata-not-iso19139", Severity.ERROR,
                   "Document RDF sans dcat:Dataset : ni fiche ISO 19139 ni description DCAT reconnue.")
        return
    for i, ds in enumerate(datasets[:50]):
        where = f"dcat:Dataset[{i + 1}]"
        for el, label, sev in (("dct:title", "titre", Severity.ERROR), ("dct:description", "description",
                               Severity.ERROR), ("dcat:distribution", "distribution", Severity.WARNING),
                               ("dcat:contactPoint", "point de contact", Severity.WARNING),
                               ("dct:publisher", "éditeur", Severity.WARNING),
                               ("dcat:keyword", "mots-clés", Severity.WARNING)):
            node = ds.find(el, NS)
            if node is None or not ((node.text or "").strip() or len(node) or node.attrib):
                report.add("dcat-element-missing", sev, f"DCAT : {label} absent ({el}).", element=f"{where}/{el}")
