"""An entry's answer (Markdown) rendered for a channel: plain text for email, HTML for Telegram.

Pure functions. The entries use a small part of Markdown: paragraphs, `**bold**`, `*italic*`, `` `code` ``,
fenced code blocks, `[text](url)` links and bare URLs, `-`/`*`/`+` and `1.` lists, `#` headings and `>`
quotes. Plain text keeps what a person reads: a link becomes "text (url)" or the bare URL when the text is
the URL, list items start with "- " (numbered ones keep their number), emphasis marks go. Telegram HTML
uses only the tags Telegram accepts (b, i, code, pre, a href, blockquote), with &, < and > escaped.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d+)[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")


def _lines(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) per line: kind is "code" inside fences, else "text"; fence lines are dropped."""
    out: list[tuple[str, str]] = []
    in_code = False
    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            out.append(("fence", ""))
            continue
        out.append(("code" if in_code else "text", line))
    return out


def _inline_plain(text: str) -> str:
    def link(m: re.Match[str]) -> str:
        label, url = m.group(1).strip(), m.group(2)
        if not label or label.rstrip("/") == url.rstrip("/") or label == url.split("://", 1)[-1].rstrip("/"):
            return url
        return f"{label} ({url})"

    text = _AUTOLINK.sub(r"\1", text)
    text = _LINK.sub(link, text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    return _ITALIC.sub(r"\2", text)


def to_plain_text(markdown: str) -> str:
    """The answer as plain text for an email: bare URLs, lists as dashes, no Markdown marks."""
    out: list[str] = []
    for kind, line in _lines(markdown):
        if kind == "fence":
            continue
        if kind == "code":
            out.append("    " + line if line.strip() else "")
            continue
        if _RULE.match(line):
            out.append("")
            continue
        if m := _HEADING.match(line):
            out.append(_inline_plain(m.group(1)))
        elif m := _BULLET.match(line):
            out.append(f"{m.group(1)}- {_inline_plain(m.group(2))}")
        elif m := _NUMBERED.match(line):
            out.append(f"{m.group(1)}{m.group(2)}. {_inline_plain(m.group(3))}")
        elif m := _QUOTE.match(line):
            out.append("> " + _inline_plain(m.group(1)) if m.group(1) else ">")
        else:
            out.append(_inline_plain(line.rstrip()))
    return _squeeze(out)


def _squeeze(lines: list[str]) -> str:
    """Lines joined, without trailing spaces and with at most one blank line in a row."""
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _inline_html(text: str) -> str:
    """Inline Markdown to Telegram HTML; everything else escaped."""
    pieces: list[str] = []  # placeholders keep links and code out of the emphasis rules and the escaping
    def keep(fragment: str) -> str:
        pieces.append(fragment)
        return f"\x00{len(pieces) - 1}\x00"

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1).strip() or m.group(2), m.group(2)
        if not url.startswith(("http://", "https://", "mailto:")):
            return keep(html.escape(label))
        return keep(f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>')

    text = _CODE.sub(lambda m: keep(f"<code>{html.escape(m.group(1))}</code>"), text)
    text = _AUTOLINK.sub(lambda m: keep(html.escape(m.group(1))), text)
    text = _LINK.sub(link, text)
    text = _URL.sub(lambda m: keep(html.escape(m.group(0))), text)
    text = html.escape(text, quote=False)
    text = _BOLD.sub(r"<b>\2</b>", text)
    text = _ITALIC.sub(r"<i>\2</i>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: pieces[int(m.group(1))], text)


def to_telegram_html(markdown: str) -> str:
    """The answer in the HTML subset Telegram accepts (parse_mode="HTML")."""
    out: list[str] = []
    code: list[str] = []
    quote: list[str] = []

    def flush_quote() -> None:
        if quote:
            out.append("<blockquote>" + "\n".join(quote) + "</blockquote>")
            quote.clear()

    for kind, line in _lines(markdown):
        if kind == "code":
            code.append(line)
            continue
        if kind == "fence":
            if code:
                out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
                code.clear()
            continue
        if m := _QUOTE.match(line):
            quote.append(_inline_html(m.group(1)))
            continue
        flush_quote()
        if _RULE.match(line):
            out.append("")
        elif m := _HEADING.match(line):
            out.append(f"<b>{_inline_html(m.group(1))}</b>")
        elif m := _BULLET.match(line):
            out.append(f"{m.group(1)}• {_inline_html(m.group(2))}")
        elif m := _NUMBERED.match(line):
            out.append(f"{m.group(1)}{m.group(2)}. {_inline_html(m.group(3))}")
        else:
            out.append(_inline_html(line.rstrip()))
    flush_quote()
    if code:  # an unclosed fence
        out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
    return _squeeze(out)
