"""Zip archives opened safely: members listed from the central directory, refused when they look like
a zip bomb (compression ratio, total uncompressed size, member count); reads bounded by declared sizes."""

from __future__ import annotations

import io
import zipfile
import zlib

from helpdesk.checks.limits import Limits
from helpdesk.checks.report import Report, Severity


class Refused(Exception):
    """The archive is not opened (a finding says why)."""


def open_zip(data: bytes, report: Report, limits: Limits, element: str | None = None) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.add("archive-invalid", Severity.ERROR,
                   f"Archive zip illisible ou incomplète ({exc}) : renvoyez le fichier.", element=element)
        raise Refused from exc
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_members:
        report.add("zip-bomb", Severity.ERROR,
                   f"Archive refusée : {len(infos)} fichiers (au plus {limits.max_members}).", element=element)
        raise Refused
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed:
        report.add("zip-bomb", Severity.ERROR,
                   f"Archive refusée : {total // (1024 * 1024)} Mo une fois décompressée (au plus "
                   f"{limits.max_uncompressed // (1024 * 1024)} Mo).", element=element)
        raise Refused
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio and info.file_size > 1024 * 1024:
            report.add("zip-bomb", Severity.ERROR,
                       f"Archive refusée : « {info.filename} » se décompresse {ratio:.0f} fois plus gros que dans "
                       "l'archive (bombe de décompression ?).", element=info.filename)
            raise Refused
    return archive


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes; never more than its declared size (zipfile stops there and checks the CRC)."""
    try:
        with archive.open(name) as fh:
            return fh.read()
    except (ValueError, EOFError, zlib.error) as exc:  # a damaged member: the archive is unreadable
        raise zipfile.BadZipFile(f"{name}: {exc}") from exc
