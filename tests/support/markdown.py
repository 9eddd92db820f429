"""Markdown rendered as the Airflow UI renders an approval body: CommonMark with GFM (tables,
strikethrough, bare-URL autolinks) and raw HTML allowed — the most permissive reading, so what
stays inert here stays inert there."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

_MD = MarkdownIt("gfm-like", {"html": True, "linkify": True})


def render_markdown(text: str) -> str:
    return _MD.render(text)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees (zero-width break hints removed)."""
    p = _Text()
    p.feed(html)
    return "".join(p.parts).replace("\u200b", "").replace("\u2060", "")


# What remark-gfm (the Airflow UI) links in text nodes after escapes are resolved — the literal
# autolinks of mdast-util-gfm-autolink-literal: http(s)://…, www.…, and e-mail addresses.
_GFM_LITERAL = re.compile(r"(?i)(https?://|www(?=\.))[-.\w]+|[-.+\w]+@[-\w]+(?:\.[-\w]+)+")


def gfm_autolinks(html: str) -> list[str]:
    """Bare URLs and e-mail addresses in the rendered text that the Airflow UI would make links."""
    p = _Text()
    p.feed(html)
    return [m.group(0) for m in _GFM_LITERAL.finditer("".join(p.parts).replace("\u200b", ""))]


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Text()
    p.feed(html)
    return p.tags
