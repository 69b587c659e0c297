"""Reading udata's JSON and CSW/ISO 19139 records: the shapes of tests/data/published."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk.published.csw import RecordUnreadable, parse_record_response
from helpdesk.published.datagouv import api2_url, parse_dataset, parse_harvest, parse_resource

DATA = Path(__file__).resolve().parents[1] / "data" / "published"


def fixture(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_dataset_fields() -> None:
    d = parse_dataset(fixture("dataset_valid.json"))
    assert (d.title, d.slug, d.organization) == ("Équipements sportifs de Lannion", "equipements-sportifs-de-lannion",
                                                 "Ville de Lannion")
    assert d.license == "Licence Ouverte / Open Licence version 2.0"
    assert d.last_update == datetime(2026, 1, 9, 6, 59, 37, 726000, tzinfo=UTC)
    assert d.harvest is None and d.quality["license"] is True and d.quality_score == pytest.approx(0.7778)
    [r] = d.resources
    assert (r.format, r.available, r.http_status, r.schema) == ("csv", True, 200, None)


def test_declared_schema_and_portal_validation() -> None:
    d = parse_dataset(fixture("dataset_scdl.json"))
    assert d.schema == "scdl/subventions"
    [r] = d.resources
    assert (r.schema, r.schema_version, r.validation_valid, r.validation_errors) == (
        "scdl/subventions", "2.1.1", False, 12)


def test_harvest_metadata_and_source_job() -> None:
    raw = fixture("dataset_harvested.json")
    d = parse_dataset(raw)
    assert d.harvest is not None
    assert (d.harvest.backend, d.harvest.remote_id) == ("csw-iso-19139", "955c3e47-411e-4969-b61b-3556d1b9f879")
    h = parse_harvest(raw["harvest"], fixture("harvest_source.json"))
    assert h is not None
    assert (h.source_name, h.last_job_status, h.last_job_errors, h.source_active) == (
        "GéoBretagne (CSW)", "done-errors", 14, True)


def test_broken_and_hostile_values_become_none() -> None:
    d = parse_dataset({"title": 12, "resources": [{"filesize": True, "extras": [], "schema": "x"}, "junk"],
                       "quality": {"score": "high", "license": "yes"}, "harvest": {"remote_id": None},
                       "last_update": "hier", "organization": ["x"]})
    assert d.title == "(sans titre)" and d.organization is None and d.last_update is None
    assert d.quality == {} and d.quality_score is None and d.harvest is None
    [r] = d.resources
    assert (r.filesize, r.available, r.schema) == (None, None, None)
    assert parse_resource({"url": "https://x/a.csv", "last_modified": "2026-01-01T00:00:00"}).last_modified == \
        datetime(2026, 1, 1, tzinfo=UTC)


def test_api2_url() -> None:
    assert api2_url("https://www.data.gouv.fr/api/1") == "https://www.data.gouv.fr/api/2"
    assert api2_url("http://127.0.0.1:8000/api/1/") == "http://127.0.0.1:8000/api/2"


def test_complete_record_misses_nothing() -> None:
    r = parse_record_response((DATA / "csw_record_complete.xml").read_bytes())
    assert r is not None
    assert (r.title, r.organisation, r.hierarchy) == ("Cadastre 2018 en Bretagne", "DGFIP Bretagne", "dataset")
    assert r.missing == ()


def test_incomplete_record_lists_the_missing_inspire_elements() -> None:
    r = parse_record_response((DATA / "csw_record_incomplete.xml").read_bytes())
    assert r is not None
    assert [f.code for f in r.missing] == ["inspire-identifier", "inspire-topic", "inspire-keyword",
                                           "inspire-lineage", "inspire-conformity", "inspire-use", "inspire-access"]
    assert all(f.message.startswith("Élément INSPIRE manquant") for f in r.missing)


def test_empty_response_is_not_found_and_bad_xml_is_refused() -> None:
    assert parse_record_response((DATA / "csw_record_empty.xml").read_bytes()) is None
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd">&x;</gmd:MD_Metadata>')
    with pytest.raises(RecordUnreadable) as refused:
        parse_record_response(xxe)
    assert refused.value.code == "xml-unsafe"
    with pytest.raises(RecordUnreadable) as broken:
        parse_record_response(b"<csw:GetRecordByIdResponse")
    assert broken.value.code == "xml-invalid"
    with pytest.raises(RecordUnreadable) as ows:
        parse_record_response(b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows"/>')
    assert ows.value.code == "csw-exception"


def test_a_record_without_identification() -> None:
    r = parse_record_response(b'<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>')
    assert r is not None and [f.code for f in r.missing] == ["inspire-identification"]


def test_a_record_owslib_cannot_read_is_unreadable_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import helpdesk.published.csw as csw

    def broken(node: object) -> object:
        raise AttributeError("'NoneType' object has no attribute 'text'")

    monkeypatch.setattr(csw, "MD_Metadata", broken)
    with pytest.raises(RecordUnreadable) as unreadable:
        parse_record_response((DATA / "csw_record_complete.xml").read_bytes())
    assert unreadable.value.code == "record-unreadable"
