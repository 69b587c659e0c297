"""DCAT descriptions read with rdflib, in any RDF serialisation: RDF/XML (typed nodes or
``rdf:Description`` + ``rdf:type dcat:Dataset``), Turtle, JSON-LD, N-Triples.

XML is parsed by the caller with defusedxml first (no DTD, no entities); rdflib then reads the same bytes.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from helpdesk.checks.report import Report, Severity

# Remote JSON-LD contexts are never fetched (no network in a check): they are replaced by the prefixes of the
# vocabularies DCAT descriptions use, which is what the common contexts (DCAT-AP, ckanext-dcat) declare.
PREFIXES = {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
            "dcterms": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "xsd": "http://www.w3.org/2001/XMLSchema#",
            "adms": "http://www.w3.org/ns/adms#", "schema": "http://schema.org/", "owl": "http://www.w3.org/2002/07/owl#",
            "locn": "http://www.w3.org/ns/locn#", "skos": "http://www.w3.org/2004/02/skos/core#"}
FORMATS = {".ttl": "turtle", ".n3": "n3", ".nt": "nt", ".jsonld": "json-ld", ".rdf": "xml", ".xml": "xml"}
MAX_DATASETS = 50
MAX_RDF_BYTES = 5 * 1024 * 1024
NAMES = {"xml": "RDF/XML", "turtle": "Turtle", "json-ld": "JSON-LD", "nt": "N-Triples", "n3": "Notation3"}
# DCAT-AP's mandatory properties (DCAT-AP 2.1 / 3.0, « Mandatory » in the class tables): a description that has
# them is complete; the recommended ones (contact point, keywords, publisher of a dataset…) are not findings.
DATASET_ELEMENTS = ((DCTERMS.title, "dct:title", "titre"),
                    (DCTERMS.description, "dct:description", "description"))
CATALOG_ELEMENTS = ((DCTERMS.title, "dct:title", "titre du catalogue"),
                    (DCTERMS.description, "dct:description", "description du catalogue"),
                    (DCTERMS.publisher, "dct:publisher", "éditeur du catalogue"))
DISTRIBUTION_ELEMENTS = ((DCAT.accessURL, "dcat:accessURL", "adresse d'accès de la distribution"),)


def _local_contexts(node: Any, depth: int = 0) -> Any:
    """The JSON-LD document with every remote @context replaced by PREFIXES (bounded depth)."""
    if depth > 50:
        raise ValueError("JSON-LD nested too deep")
    if isinstance(node, list):
        return [_local_contexts(n, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "@context":
            parts = value if isinstance(value, list) else [value]
            local = [p for p in parts if isinstance(p, dict)]
            out[key] = [PREFIXES, *local] if len(local) != len(parts) else value
        else:
            out[key] = _local_contexts(value, depth + 1)
    return out


def check_rdf(data: bytes, fmt: str, report: Report) -> None:
    report.kind = "metadata"
    if len(data) > MAX_RDF_BYTES:  # rdflib cannot be interrupted: its work is bounded by the input's size
        report.add("too-large", Severity.ERROR,
                   f"Description RDF de plus de {MAX_RDF_BYTES // (1024 * 1024)} Mo : elle n'est pas vérifiée "
                   "automatiquement (un catalogue entier ?). Envoyez la fiche du jeu de données concerné.")
        return
    graph = Graph()
    if fmt == "json-ld":
        try:
            data = json.dumps(_local_contexts(json.loads(data.decode("utf-8-sig")))).encode()
        except (ValueError, RecursionError) as exc:
            where = f", ligne {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            report.add("check-failed", Severity.ERROR,
                       f"JSON-LD illisible ({type(exc).__name__}{where}) : une virgule en trop, un guillemet ou une "
                       "accolade manquante ? Exportez la description à nouveau.")
            return
    try:
        with warnings.catch_warnings():  # rdflib's JSON-LD parser warns about its own deprecated internals
            warnings.simplefilter("ignore", DeprecationWarning)
            graph.parse(data=data, format=fmt)
    except Exception as exc:  # noqa: BLE001 - rdflib's parsers raise many kinds; unreadable is a finding
        detail = " ".join(str(exc).split())[:160]
        report.add("check-failed", Severity.ERROR,
                   f"Description RDF illisible : le fichier n'est pas du {NAMES.get(fmt, fmt)} valide ({detail}).")
        return
    report.details["format"] = NAMES.get(fmt, fmt)
    datasets = sorted({s for s in graph.subjects(RDF.type, DCAT.Dataset)}, key=str)
    report.details["datasets"] = len(datasets)
    if not datasets:
        catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
        report.add("metadata-not-iso19139", Severity.ERROR,
                   "Description RDF sans jeu de données DCAT (dcat:Dataset)" +
                   (" : le catalogue ne décrit aucun jeu de données." if catalogs else
                    " : ni fiche ISO 19139 ni description DCAT reconnue."))
        return
    def require(node: Any, where: str, elements: tuple[tuple[URIRef, str, str], ...]) -> None:
        for prop, name, label in elements:
            values = [v for v in graph.objects(node, prop) if str(v).strip()]
            if not values:
                report.add("dcat-element-missing", Severity.ERROR,
                           f"DCAT : élément obligatoire de DCAT-AP manquant : {label} ({name}).",
                           element=f"{where}/{name}")

    for i, ds in enumerate(datasets[:MAX_DATASETS]):
        require(ds, f"dcat:Dataset[{i + 1}]" + (f" <{ds}>" if isinstance(ds, URIRef) else ""), DATASET_ELEMENTS)
    for i, cat in enumerate(sorted(set(graph.subjects(RDF.type, DCAT.Catalog)), key=str)[:MAX_DATASETS]):
        require(cat, f"dcat:Catalog[{i + 1}]" + (f" <{cat}>" if isinstance(cat, URIRef) else ""), CATALOG_ELEMENTS)
    distributions = {d for d in graph.subjects(RDF.type, DCAT.Distribution)} | \
        {d for ds in datasets for d in graph.objects(ds, DCAT.distribution)}
    for i, dist in enumerate(sorted(distributions, key=str)[:MAX_DATASETS]):
        require(dist, f"dcat:Distribution[{i + 1}]" + (f" <{dist}>" if isinstance(dist, URIRef) else ""),
                DISTRIBUTION_ELEMENTS)
