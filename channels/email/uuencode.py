"""Uuencoded files inside a text body ("begin 644 name" … "end"), as Outlook 2000 and old clients send them.

Pure functions: the text without the blocks, and the decoded files. A block that does not decode
cleanly (no "end", a line that is not uuencoded) is left in the text untouched.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

_BEGIN = re.compile(r"begin [0-7]{3,4} +(\S.*?)\s*")
_END = re.compile(r"end\s*")
_UU_LINE = re.compile(r"[ -`]+")  # the uuencode alphabet has no lower-case letters: prose never matches
MAX_BLOCK_LINES = 500_000


@dataclass(frozen=True, slots=True)
class UUFile:
    name: str
    data: bytes


def _decode_line(line: str) -> bytes:
    """One uuencoded line; raises ValueError when it is not one."""
    if not line.strip() or line[0] == "`":
        return b""  # the zero-length line that ends the data (a lone space often gets stripped in transit)
    if not _UU_LINE.fullmatch(line):
        raise ValueError("not a uuencoded line")
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders add padding characters: decode only what the length character announces.
        size = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
        return binascii.a2b_uu(line[:size])


def _block(lines: list[str], start: int) -> tuple[int, bytes] | None:
    """(index of the "end" line, decoded bytes) for the block whose "begin" line is ``start``."""
    chunks: list[bytes] = []
    for j in range(start + 1, min(len(lines), start + MAX_BLOCK_LINES)):
        if _END.fullmatch(lines[j]):
            return j, b"".join(chunks)
        try:
            chunks.append(_decode_line(lines[j]))
        except ValueError:  # binascii.Error included
            return None
    return None


def extract(text: str) -> tuple[str, list[UUFile]]:
    """The text without its uuencoded blocks, and the files they hold (in order)."""
    if "begin " not in text:
        return text, []
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    files: list[UUFile] = []
    i = 0
    while i < len(lines):
        m = _BEGIN.fullmatch(lines[i])
        found = _block(lines, i) if m else None
        if m is None or found is None:
            kept.append(lines[i])
            i += 1
            continue
        end, data = found
        files.append(UUFile(m.group(1), data))
        i = end + 1
    if not files:
        return text, []
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n") + "\n", files
