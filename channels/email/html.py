"""HTML mail: sanitised for display (nh3) and turned into readable text (html2text)."""

from __future__ import annotations

import re

import html2text
import nh3

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_CLEAN_CONTENT = {"script", "style", "title", "head", "template", "noscript"}


def sanitise(html: str) -> str:
    """Markup safe to show to staff: no scripts, styles, event handlers or foreign URL schemes."""
    return nh3.clean(
        html,
        url_schemes=_URL_SCHEMES,
        clean_content_tags=_CLEAN_CONTENT,
        link_rel="noopener noreferrer nofollow",
    )


# Word/Outlook HTML writes every line as its own <p class=MsoNormal> and a blank line as a paragraph
# holding only &nbsp;: one line per paragraph, and the &nbsp; paragraph is the only paragraph break.
_MSO_PARAGRAPH = re.compile(r"<p\b[^>]*\bclass=[\"']?Mso\w*[^>]*>", re.IGNORECASE)
_PARAGRAPH_END = re.compile(r"</p\s*>", re.IGNORECASE)
_BLANK_LINE = re.compile(r"^[\s\u00a0\u200b\u200c\u200d\u2060\ufeff]+$", re.MULTILINE)


def _outlook_lines(html: str) -> str:
    if not _MSO_PARAGRAPH.search(html):
        return html
    return _PARAGRAPH_END.sub("<br>", _MSO_PARAGRAPH.sub("", html))


def to_text(html: str) -> str:
    """Readable plain text; quoted blocks become ``>`` lines so the quote stripper sees them."""
    html = _outlook_lines(html)
    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_emphasis = True
    h.unicode_snob = True
    h.ignore_mailto_links = True
    h.skip_internal_links = True
    try:
        text = h.handle(html)
    except Exception:  # noqa: BLE001 - a broken document still gives its visible characters
        text = re.sub(r"<[^>]*>", " ", html)
    text = re.sub(r"(?m)^\* \* \*$", "_" * 32, text)  # <hr>: the separator Outlook puts above a quote
    text = re.sub(r"(?m)^(\s*)\\([-+#])", r"\1\2", text)
    text = re.sub(r"(?m)^(\s*\d+)\\\.", r"\1.", text)
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    text = _BLANK_LINE.sub("", text)  # a line of &nbsp; or zero-width spaces is an empty line
    return re.sub(r"\n{3,}", "\n\n", text).strip()
