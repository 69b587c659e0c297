"""ISO 19139 / INSPIRE metadata checks, DCAT in brief, and the hardened XML parser."""

from __future__ import annotations

from helpdesk.checks import check_file
from tests.support.checks_samples import sample


def found(report: object) -> list[tuple[str, str | None]]:
    return [(f.code, f.element) for f in report.findings]  # type: ignore[attr-defined]


def test_complete_iso19139_record_passes() -> None:
    report = check_file("plu-murat.xml", sample("metadata-complete.xml"))
    assert report.kind == "metadata" and report.findings == []
    assert report.details["resource_type"] == "dataset"


def test_incomplete_record_names_each_missing_or_malformed_element() -> None:
    report = check_file("plu-murat.xml", sample("metadata-incomplete.xml"))
    assert found(report) == [
        ("inspire-element-missing", "gmd:abstract"),
        ("inspire-element-missing", "gmd:topicCategory"),
        ("inspire-element-missing", "gmd:lineage"),
        ("inspire-theme-missing", "gmd:descriptiveKeywords"),
        ("inspire-element-missing", "gmd:DQ_ConformanceResult"),
        ("inspire-element-invalid", "gmd:dateStamp"),
    ]
    assert "« 15/03/2024 »" in report.findings[-1].message


def test_bounding_box_in_lambert93_and_unknown_topic_are_malformed() -> None:
    xml = sample("metadata-complete.xml").decode()
    xml = xml.replace("<gco:Decimal>2.81</gco:Decimal>", "<gco:Decimal>660000</gco:Decimal>")
    xml = xml.replace("planningCadastre", "urbanisme")
    report = check_file("a.xml", xml.encode())
    assert found(report) == [("inspire-element-invalid", "gmd:topicCategory"),
                             ("inspire-element-invalid", "gmd:EX_GeographicBoundingBox")]


def test_record_inside_a_csw_response_and_a_service_record() -> None:
    xml = sample("metadata-complete.xml").decode().split("?>", 1)[1]
    wrapped = f'<csw:GetRecordByIdResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">{xml}' \
              "</csw:GetRecordByIdResponse>"
    assert check_file("csw.xml", wrapped.encode()).findings == []
    service = sample("metadata-incomplete.xml").decode().replace('codeListValue="dataset">dataset<',
                                                                 'codeListValue="service">service<', 1)
    report = check_file("service.xml", service.encode())
    # lineage, topic category and INSPIRE themes are not asked of a service record
    assert found(report) == [("inspire-element-missing", "gmd:abstract"),
                             ("inspire-element-missing", "gmd:DQ_ConformanceResult"),
                             ("inspire-element-invalid", "gmd:dateStamp")]


def test_external_entity_is_refused_without_being_resolved() -> None:
    report = check_file("fiche.xml", sample("xml-external-entity.xml"))
    assert found(report) == [("xml-unsafe", None)]
    assert "root:" not in report.findings[0].message


def test_billion_laughs_is_refused() -> None:
    xml = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
           "<lolz>&lol2;</lolz>")
    assert found(check_file("a.xml", xml.encode())) == [("xml-unsafe", None)]


def test_malformed_and_foreign_xml() -> None:
    assert found(check_file("a.xml", b"<gmd:MD_Metadata><unclosed>")) == [("xml-invalid", None)]
    assert found(check_file("a.xml", b"<root/>")) == [("metadata-not-iso19139", None)]


def test_dcat_dataset_without_description() -> None:
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
      xmlns:dct="http://purl.org/dc/terms/">
      <dcat:Dataset rdf:about="https://data.example.fr/budget">
        <dct:title>Budget primitif 2024</dct:title>
        <dcat:keyword>budget</dcat:keyword>
        <dct:publisher rdf:resource="https://data.example.fr/org/murat"/>
        <dcat:contactPoint rdf:resource="mailto:sig@mairie-murat.fr"/>
      </dcat:Dataset></rdf:RDF>"""
    report = check_file("catalogue.rdf.xml", rdf)
    where = "dcat:Dataset[1] <https://data.example.fr/budget>"
    # only DCAT-AP's mandatory properties are findings: the distribution is recommended, not mandatory
    assert found(report) == [("dcat-element-missing", f"{where}/dct:description")]
    assert report.verdict == "errors"


def test_dcat_ap_mandatory_catalogue_publisher_and_distribution_access_url() -> None:
    ttl = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <http://x/c> a dcat:Catalog ; dct:title "Catalogue" ; dct:description "Les jeux" ; dcat:dataset <http://x/d> .
    <http://x/d> a dcat:Dataset ; dct:title "Budget" ; dct:description "Budget 2024" ; dcat:distribution <http://x/f> .
    <http://x/f> a dcat:Distribution ; dct:title "CSV" ."""
    report = check_file("catalogue.ttl", ttl)
    assert sorted(f.element.rsplit("/", 1)[1] for f in report.findings) == ["dcat:accessURL", "dct:publisher"]
    complete = ttl.replace(b'dct:title "CSV"', b"dcat:accessURL <http://x/f.csv>").replace(
        b'dct:title "Catalogue"', b'dct:title "Catalogue" ; dct:publisher <http://x/org>')
    assert check_file("catalogue.ttl", complete).verdict == "ok"
