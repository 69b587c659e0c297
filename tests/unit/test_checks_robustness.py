"""Whatever bytes arrive, a check ends with a report (never an exception) made of known codes."""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.checks import check_file
from helpdesk.checks.codes import CODES
from tests.support.checks_samples import sample, shapefile_zip, subventions_xlsx

NAMES = ["a.csv", "a.xlsx", "a.ods", "a.xml", "a.zip", "a.geojson", "a.json"]
SEEDS = [sample("budget-faulty.csv"), sample("metadata-complete.xml"), subventions_xlsx(), shapefile_zip(),
         b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", '
         b'"coordinates": [2.8, 45.1]}}]}']


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), seed=st.sampled_from(SEEDS), cut=st.integers(0, 4000),
       noise=st.binary(max_size=64), at=st.integers(0, 4000))
def test_damaged_files_give_a_report(name: str, seed: bytes, cut: int, noise: bytes, at: int) -> None:
    data = seed[:at] + noise + seed[at:cut or len(seed)]
    report = check_file(name, data)
    assert {f.code for f in report.findings} <= CODES
    assert all(f.message for f in report.findings)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(NAMES))
def test_random_bytes_give_a_report(data: bytes, name: str) -> None:
    assert {f.code for f in check_file(name, data).findings} <= CODES


def test_deeply_nested_json_and_xml() -> None:
    assert check_file("a.geojson", b"[" * 100_000).codes() == ["geojson-invalid"]
    assert check_file("a.xml", b"<a>" * 100_000).codes() == ["xml-invalid"]


def test_a_workbook_that_is_a_zip_of_something_else() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "bonjour")
    assert check_file("a.xlsx", buf.getvalue()).codes() == ["spreadsheet-invalid"]
    assert check_file("a.ods", buf.getvalue()).codes() == ["spreadsheet-invalid"]
