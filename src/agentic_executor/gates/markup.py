"""Parsing an HTML page once for the static gates: ``parse_html`` → elements, styles, scripts, title.

Stdlib ``html.parser`` (tolerant, like browsers), with the line and column of everything found so
findings can say where. Script and style bodies keep the line they start on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

JS_TYPES = frozenset({"", "text/javascript", "module", "application/javascript", "text/ecmascript"})


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str]
    line: int
    col: int


@dataclass(frozen=True)
class Block:
    """The text of a <style> or an inline <script>, and where it starts in the page."""

    text: str
    line: int
    col: int
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    elements: list[Element] = field(default_factory=list)
    styles: list[Block] = field(default_factory=list)
    scripts: list[Block] = field(default_factory=list)
    """Inline JavaScript only (``<script src>`` and non-JS types are skipped)."""
    title: str = ""

    def tags(self) -> set[str]:
        return {e.tag for e in self.elements}

    def with_tag(self, *tags: str) -> list[Element]:
        return [e for e in self.elements if e.tag in tags]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._raw: tuple[str, dict[str, str], int, int] | None = None
        self._buffer: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, col = self.getpos()
        values = {k.lower(): (v or "") for k, v in attrs}
        self.page.elements.append(Element(tag, values, line, col + 1))
        if tag in ("style", "script"):
            self._raw, self._buffer = (tag, values, line, col + 1), []
        self._in_title = tag == "title"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, col = self.getpos()
        self.page.elements.append(Element(tag, {k.lower(): (v or "") for k, v in attrs}, line, col + 1))

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if self._raw is None or tag != self._raw[0]:
            return
        kind, attrs, line, col = self._raw
        block = Block("".join(self._buffer), line, col, attrs)
        if kind == "style":
            self.page.styles.append(block)
        elif "src" not in attrs and attrs.get("type", "").lower() in JS_TYPES:
            self.page.scripts.append(block)
        self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._buffer.append(data)
        elif self._in_title:
            self.page.title += data.strip()


def parse_html(text: str) -> Page:
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.page
