"""Plain text with its web addresses made clickable: for message bodies and FAQ snippets on staff pages.

The text is escaped first; only ``http(s)://`` and ``www.`` addresses become links (new tab, no referrer).
Punctuation that ends a sentence is left out of the address, as is a closing parenthesis or guillemet
that has no opening one inside the address.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"«»…]+", re.IGNORECASE)
TRAILING = ".,;:!?'"


def _trim(url: str) -> tuple[str, str]:
    """The address and what followed it in the sentence (final punctuation, an unmatched bracket)."""
    tail = ""
    while url:
        last = url[-1]
        if last in TRAILING or (last == ")" and url.count("(") < url.count(")")) or \
                (last == "]" and url.count("[") < url.count("]")):
            url, tail = url[:-1], last + tail
        else:
            break
    return url, tail


def linkify(text: str | None) -> Markup:
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for match in URL.finditer(text):
        url, tail = _trim(match.group(0))
        if "." not in url.split("//", 1)[-1]:  # "http://" alone or a host without a dot: leave as text
            continue
        href = url if url.lower().startswith("http") else "https://" + url
        out.append(str(escape(text[pos:match.start()])))
        out.append(f'<a href="{escape(href)}" rel="noopener noreferrer" target="_blank">{escape(url)}</a>')
        out.append(str(escape(tail)))
        pos = match.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))  # noqa: S704 - every piece escaped above
