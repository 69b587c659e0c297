"""DCAT descriptions read with rdflib, in any RDF serialisation: RDF/XML (typed nodes or
``rdf:Description`` + ``rdf:type dcat:Dataset``), Turtle, JSON-LD, N-Triples.

XML is parsed by the caller with defusedxml first (no DTD, no entities); rdflib then reads the same bytes.
"""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from helpdesk.checks.report import Report, Severity

FORMATS = {".ttl": "turtle", ".n3": "n3", ".nt": "nt", ".jsonld": "json-ld", ".rdf": "xml", ".xml": "xml"}
MAX_DATASETS = 50
ELEMENTS = ((DCTERMS.title, "dct:title", "titre", Severity.ERROR),
            (DCTERMS.description, "dct:description", "description", Severity.ERROR),
            (DCAT.distribution, "dcat:distribution", "distribution (fichier ou lien de téléchargement)",
             Severity.WARNING),
            (DCAT.contactPoint, "dcat:contactPoint", "point de contact", Severity.WARNING),
            (DCTERMS.publisher, "dct:publisher", "éditeur", Severity.WARNING),
            (DCAT.keyword, "dcat:keyword", "mots-clés", Severity.WARNING))


def check_rdf(data: bytes, fmt: str, report: Report) -> None:
    report.kind = "metadata"
    graph = Graph()
    try:
        graph.parse(data=data, format=fmt)
    except Exception as exc:  # noqa: BLE001 - rdflib's parsers raise many kinds; unreadable is a finding
        report.add("check-failed", Severity.ERROR,
                   f"Description RDF illisible ({type(exc).__name__}) : le fichier n'est pas du {fmt} valide.")
        return
    report.details["format"] = {"xml": "RDF/XML", "turtle": "Turtle", "json-ld": "JSON-LD"}.get(fmt, fmt)
    datasets = sorted({s for s in graph.subjects(RDF.type, DCAT.Dataset)}, key=str)
    report.details["datasets"] = len(datasets)
    if not datasets:
        catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
        report.add("metadata-not-iso19139", Severity.ERROR,
                   "Description RDF sans jeu de données DCAT (dcat:Dataset)" +
                   (" : le catalogue ne décrit aucun jeu de données." if catalogs else
                    " : ni fiche ISO 19139 ni description DCAT reconnue."))
        return
    for i, ds in enumerate(datasets[:MAX_DATASETS]):
        where = f"dcat:Dataset[{i + 1}]" + (f" <{ds}>" if isinstance(ds, URIRef) else "")
        for prop, name, label, severity in ELEMENTS:
            values = [v for v in graph.objects(ds, prop) if str(v).strip() or not hasattr(v, "strip")]
            if not values:
                report.add("dcat-element-missing", severity, f"DCAT : {label} absent ({name}).",
                           element=f"{where}/{name}")
