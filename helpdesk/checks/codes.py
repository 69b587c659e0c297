# ruff: noqa: E501  (the table of codes is kept one row per line)
"""Every finding code the checks report, with what it means (the one table tools and tests rely on).

Codes are stable: the FAQ links, the JSON output (``helpdesk check --json``) and the corpus expectations
key on them. People never see them: notes and summaries are plain French.

| code | verdict it can set | meaning |
| --- | --- | --- |
| encoding | warnings / errors | not UTF-8: windows-1252 or Latin-1 read consistently (warning), UTF-16 (error) |
| encoding-mixed | errors | UTF-8 (or a BOM) then windows-1252 bytes in the same file; the first bad line is given |
| separator | errors / ok | one column only (error), or a separator other than the comma (info) |
| row-length | errors | a row with more or fewer values than the header |
| header-missing | errors | no header row, an unnamed column with data, or an empty table |
| merged-header | errors | title lines or merged cells above/in the header (grouped: cells and zones) |
| merged-cells | errors | merged cells in the body of a sheet (grouped: cells and zones) |
| duplicate-column | errors | two columns with the same name |
| empty-column | ok (info) | a column with no value (not reported for a known schema's optional fields) |
| mixed-types | warnings | text in a column of numbers |
| date-format | warnings / errors | dates written DD/MM/YYYY (an error when a schema's date field holds them) in a date column (not identifiers like 17.1.43, not free text) |
| decimal-comma | warnings / errors | 5500,20 or 17 142.08; an error when a schema's number field holds them |
| whitespace | warnings / ok (info) | spaces around a column name (warning) or a value (info) |
| siren-invalid / siret-invalid | errors | malformed SIREN/SIRET or wrong Luhn key (La Poste's rule included) |
| insee-invalid | errors | an INSEE commune code of the wrong form (4 digits, letters) |
| insee-unknown | errors / warnings | well formed but not a commune of the COG (frformat): a postcode (error) or a code unknown in the 2023-2024 COG (warning) |
| coordinates-outside-france | errors / warnings | points, a layer's extent or a bounding box outside France |
| coordinates-swapped | errors | latitude and longitude inverted (the swapped point falls in France) |
| multiple-sheets | warnings | more than one sheet with data |
| partial-check | ok (info) | only part of the file was read (limits): counts then read « au moins N (fichier partiel) » |
| schema-field-missing | errors | a required field of the matched schema absent, or human labels instead of field names |
| type-error | errors | cells of the matched schema's field that are not of its type (number, date, URL, boolean…), grouped by column (frictionless's error kind) |
| constraint-error | errors | cells breaking a constraint of the matched schema (required, enum, pattern, min/max, length), grouped by column and constraint (frictionless's error kind) |
| custom-check-error | errors | a Validata custom check of the schema failed (sums, comparisons, one-of-required, ACTES matière, SIRET) |
| inspire-element-missing / inspire-element-invalid / inspire-theme-missing | errors / warnings | ISO 19139 record lacking or misfilling an INSPIRE element |
| metadata-not-iso19139 | errors | an XML or RDF document that is neither ISO 19139 nor DCAT |
| metadata-iso19115-3 | errors | an ISO 19115-3 record: ask for an ISO 19139 export |
| dcat-element-missing | errors | a property DCAT-AP makes mandatory is missing: dataset title/description, catalogue title/description/publisher, distribution accessURL (recommended ones are not findings) |
| shapefile-prj-missing / shapefile-sidecar-missing / shapefile-invalid | errors / warnings | incomplete or broken shapefile |
| layer-sidecar-missing | errors | a MapInfo layer without its .dat/.map/.id (or .mid) |
| layer-unreadable | unreadable | a TAB/MIF/GPKG/KML/GML layer GDAL cannot open |
| projection-unexpected | errors / warnings | CRS other than Lambert-93/WGS84, GeoJSON not in WGS84, CNIG document not in Lambert-93 (error) |
| projection-guess | ok (info) | no .prj, the projection guessed from the coordinates |
| geojson-invalid | errors | not valid GeoJSON (structure, geometries) |
| json-invalid | unreadable | a .json file that is not valid JSON |
| unsupported-format | unsupported | a file the checks cannot read (said plainly; in an archive: info naming the members) |
| zip-bomb / too-large / timeout | unreadable | refused or stopped by the limits |
| xml-unsafe / xml-invalid / archive-invalid / spreadsheet-invalid / check-failed | unreadable | the file could not be read |
"""

from __future__ import annotations

import re

CODES: frozenset[str] = frozenset(
    code.strip() for row in re.findall(r"^\| ([a-z0-9 /-]+) \|", __doc__ or "", re.MULTILINE)
    for code in row.split("/") if code.strip() and code.strip() not in ("code", "---")
)
