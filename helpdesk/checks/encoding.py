"""Text encodings of the tables agents send: UTF-8 (with or without BOM) or windows-1252, nothing else guessed.

French files in the wild are UTF-8 or windows-1252 almost always; a statistical guess (mac_latin2,
iso8859_14…) turns « N° » into « NḞ » and raises false enum errors, so no guess is made. A file that
starts in UTF-8 and then holds windows-1252 bytes (a BOM then an Excel paste) is mixed: an error with
the first bad line, and the text decoded line by line so the rest of the checks still run.
"""

from __future__ import annotations

from helpdesk.checks.report import Report, Severity

BOM = b"\xef\xbb\xbf"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf8_share(data: bytes) -> tuple[int, int]:
    """(valid UTF-8 multibyte sequences, invalid bytes) over the whole file, line by line."""
    good = bad = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    return good, bad


def _mixed(data: bytes) -> str:
    """Each line decoded as UTF-8 when it can be, else as windows-1252 (never a replacement char)."""
    out = []
    for line in data.splitlines(keepends=True):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="replace"))
    return "".join(out)


def decode(data: bytes, report: Report) -> str:
    """Text of the file; a finding when it is not plain UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        report.details["encoding"] = "utf-16"
        report.add("encoding", Severity.ERROR,
                   "Fichier en UTF-16 (« Texte Unicode » d'Excel) : enregistrez-le en « CSV UTF-8 ».")
        return data.decode("utf-16", errors="replace")
    bom = data.startswith(BOM)
    body = data[3:] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = (3 if bom else 0) + exc.start
    else:
        report.details["encoding"] = "UTF-8 avec BOM" if bom else "UTF-8"
        return text
    good, _bad = _utf8_share(body)
    if bom or good:
        report.details["encoding"] = "mélange UTF-8 et windows-1252"
        report.add("encoding-mixed", Severity.ERROR,
                   "Le fichier mélange deux encodages : il commence en UTF-8 mais la ligne "
                   f"{_line_of(data, first_bad)} est en windows-1252 (ancien encodage d'Excel)."
                   " Les accents de ces lignes "
                   "seront illisibles. "
                   "Rouvrez le fichier dans votre tableur et enregistrez-le entièrement en « CSV UTF-8 ».",
                   row=_line_of(data, first_bad))
        return _mixed(body)
    try:
        text = body.decode("cp1252")
        name = "windows-1252"
    except UnicodeDecodeError:  # the 5 bytes cp1252 leaves undefined: Latin-1 control codes
        text = body.decode("latin_1")
        name = "ISO-8859-1 (Latin-1)"
    report.details["encoding"] = name
    # Read consistently in one encoding, the text is not lost: UTF-8 is data.gouv.fr's recommendation (a
    # warning). Mixed encodings (above) and UTF-16 do lose or hide text: errors.
    report.add("encoding", Severity.WARNING,
               f"Le fichier n'est pas en UTF-8 (encodage : {name}) : les accents seront illisibles pour les "
               "réutilisateurs et data.gouv.fr. Enregistrez-le en « CSV UTF-8 » depuis votre tableur.",
               row=_line_of(data, first_bad))
    return text
