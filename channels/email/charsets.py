"""Bytes to text as French mail actually arrives: declared charsets, mislabelled ones, raw 8-bit.

Order: the declared charset when it decodes cleanly (but UTF-8 wins over a declared Latin charset
when the bytes are valid UTF-8: a common mislabel), then UTF-8, then windows-1252 (a superset of
iso-8859-1 used by most French clients), then charset-normalizer's guess, then latin-1. Never raises.
Header phrases may be raw UTF-7 when the message's charset is UTF-7 (raw_utf7).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from email.errors import HeaderParseError
from email.header import decode_header

from charset_normalizer import from_bytes

_LATIN = {"iso8859-1", "latin-1", "iso8859-15", "cp1252", "us-ascii", "ascii", "windows-1252", "iso-8859-1"}
_ALIASES = {"unknown-8bit": None, "x-unknown": None, "default": None, "us-ascii": "cp1252", "ascii": "cp1252",
            "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252"}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip('"').lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # unknown, or garbage such as an embedded NUL
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Best-effort text for ``data``; ``declared`` is the charset the message claims."""
    if not data:
        return ""
    codec = _codec(declared)
    if data.isascii() and codec != "utf-7":
        return data.decode("ascii")
    if codec is not None and (codec in _LATIN or codec.startswith("iso8859") or codec == "cp1252"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for candidate in (codec, "utf-8", "cp1252"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("latin-1")


def header_bytes_to_str(value: bytes) -> str:
    """A raw header value: 8-bit bytes are UTF-8 or, failing that, windows-1252."""
    return decode_bytes(value, None)


def raw_utf7(text: str, body_charset: str | None) -> str:
    """A header phrase (subject, display name) written in raw UTF-7 ("Fr+APY-sche") by a client whose
    body charset is UTF-7 (Netscape 4.7). Unchanged unless it decodes cleanly as UTF-7."""
    if "+" not in text or "=?" in text or not text.isascii() or _codec(body_charset) != "utf-7":
        return text
    try:
        decoded = text.encode("ascii").decode("utf-7")
    except UnicodeDecodeError:
        return text
    return text if any(unicodedata.category(c) in {"Cc", "Cs"} for c in decoded) else decoded


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words to text, leniently (unknown or wrong charsets do not raise)."""
    if "=?" not in value or not _ENCODED_WORD.search(value):
        return value
    try:
        parts = decode_header(value)
    except (HeaderParseError, ValueError, LookupError, UnicodeError, AssertionError):
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)
