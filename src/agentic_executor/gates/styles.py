"""Every CSS declaration of a site, parsed with tinycss2: ``site_styles`` → ``Styles``.

Sources: ``*.css`` files, ``<style>`` blocks and ``style=""`` attributes of every page, each
declaration with its file, line and column. Nested rules (@media, @supports, @layer, @container,
CSS nesting, @keyframes) are walked; ``@font-face`` families are collected as declared fonts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import tinycss2
import tinycss2.ast

from agentic_executor.gates.markup import Page, parse_html
from agentic_executor.gates.site import Site

_RULE_LIST_AT = frozenset(
    {"media", "supports", "layer", "container", "document", "scope", "starting-style", "keyframes", "-webkit-keyframes"}
)


@dataclass(frozen=True)
class Declaration:
    name: str
    value: list[Any]
    important: bool
    location: str
    inline: bool = False
    """From a ``style=""`` attribute."""
    at_rule: str = ""
    """The enclosing at-rule, e.g. ``font-face`` (empty for plain style rules)."""


@dataclass
class Styles:
    declarations: list[Declaration] = field(default_factory=list)
    pages: dict[str, Page] = field(default_factory=dict)

    @property
    def declared_fonts(self) -> set[str]:
        return {
            family.lower()
            for d in self.declarations
            if d.at_rule == "font-face" and d.name == "font-family"
            for family in font_families(d.value)
        }


def font_families(tokens: Iterable[Any]) -> list[str]:
    """The family names of a ``font-family`` value: strings, or runs of identifiers, comma-separated."""
    families: list[str] = []
    words: list[str] = []
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            if words:
                families.append(" ".join(words))
            words = []
        elif token.type in ("ident", "string"):
            words.append(str(token.value))
        elif token.type == "function":
            words.append(f"{token.lower_name}()")
    if words:
        families.append(" ".join(words))
    return families


def site_styles(site: Site) -> Styles:
    styles = Styles()
    for relative in site.with_suffix(".css"):
        text = site.read_text(relative)
        if text is not None:
            styles.declarations.extend(_stylesheet(text, relative, 1))
    for relative in site.pages:
        text = site.read_text(relative)
        if text is None:
            continue
        page = parse_html(text)
        styles.pages[relative] = page
        for block in page.styles:
            styles.declarations.extend(_stylesheet(block.text, relative, block.line))
        for element in page.elements:
            if "style" in element.attrs:
                where = f"{relative}:{element.line}:{element.col}"
                for d in _declarations(tinycss2.parse_blocks_contents(element.attrs["style"]), where, 1, ""):
                    styles.declarations.append(
                        Declaration(d.name, d.value, d.important, where, inline=True, at_rule=d.at_rule)
                    )
    return styles


def _stylesheet(css: str, source: str, first_line: int) -> list[Declaration]:
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return list(_walk(rules, source, first_line, ""))


def _walk(rules: Iterable[Any], source: str, first_line: int, at_rule: str) -> Iterator[Declaration]:
    for rule in rules:
        if rule.type == "qualified-rule":
            contents = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
            yield from _declarations(contents, source, first_line, at_rule)
        elif rule.type == "at-rule" and rule.content is not None:
            name = rule.lower_at_keyword
            if name in _RULE_LIST_AT:
                inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
                yield from _walk(inner, source, first_line, at_rule if name in ("media", "supports") else name)
            else:
                contents = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
                yield from _declarations(contents, source, first_line, name)


def _declarations(contents: Iterable[Any], source: str, first_line: int, at_rule: str) -> Iterator[Declaration]:
    for item in contents:
        if item.type == "declaration":
            line = first_line + item.source_line - 1
            yield Declaration(
                item.lower_name,
                list(item.value),
                item.important,
                f"{source}:{line}:{item.source_column}",
                False,
                at_rule,
            )
        elif item.type in ("qualified-rule", "at-rule"):  # CSS nesting
            yield from _walk([item], source, first_line, at_rule)


def significant(tokens: Iterable[Any]) -> list[Any]:
    """Tokens without whitespace and comments."""
    return [t for t in tokens if t.type not in ("whitespace", "comment")]


def walk_tokens(tokens: Iterable[Any]) -> Iterator[Any]:
    """Every token, descending into function arguments and blocks (not into ``var()``)."""
    for token in tokens:
        yield token
        if token.type == "function" and token.lower_name != "var":
            yield from walk_tokens(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            yield from walk_tokens(token.content)
