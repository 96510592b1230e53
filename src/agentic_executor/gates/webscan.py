"""Security rules for what a browser runs: HTML attributes and JavaScript, parsed, not grepped.

HTML (html.parser): inline event handlers, ``target=_blank`` without ``rel=noopener``, mixed
content (``http://`` subresources), ``javascript:`` URLs. JavaScript (a small tokenizer that skips
comments, strings, template literals and regular expressions): ``eval``, ``new Function``, string
timers, and HTML sinks (``innerHTML``/``outerHTML``/``insertAdjacentHTML``/``document.write``) fed
anything but a constant string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from agentic_executor.gates.base import Finding
from agentic_executor.gates.markup import Page

SUBRESOURCE_ATTRIBUTES = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "audio": "src",
    "video": "src",
    "source": "src",
    "track": "src",
    "embed": "src",
    "object": "data",
    "link": "href",
    "form": "action",
}
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data")


def scan_page(page: Page, where: str) -> Iterator[Finding]:
    for e in page.elements:
        at = f"{where}:{e.line}:{e.col}"
        for name, value in e.attrs.items():
            if name.startswith("on") and len(name) > 2:
                yield Finding(
                    "security/inline-event-handler",
                    at,
                    f'<{e.tag} {name}="{value[:60]}"> runs script from an attribute',
                    "attach the handler with addEventListener in a script file (inline handlers defeat a CSP)",
                    "medium",
                )
        if e.attrs.get("target", "").lower() == "_blank" and e.tag in ("a", "area", "form"):
            rel = e.attrs.get("rel", "").lower().split()
            if "noopener" not in rel and "noreferrer" not in rel:
                yield Finding(
                    "security/target-blank",
                    at,
                    f'<{e.tag} target="_blank"> without rel="noopener"',
                    'add rel="noopener noreferrer" so the opened page cannot reach window.opener',
                    "low",
                )
        resource = SUBRESOURCE_ATTRIBUTES.get(e.tag)
        value = e.attrs.get(resource or "", "").strip()
        if resource and value.lower().startswith("http://") and not (e.tag == "link" and _is_navigation_link(e.attrs)):
            yield Finding(
                "security/mixed-content",
                at,
                f'<{e.tag} {resource}="{value[:80]}"> loads over plain http',
                "load it over https (or ship the file in the site and use a relative URL)",
                "medium",
            )
        for name in URL_ATTRIBUTES:
            if re.sub(r"\s", "", e.attrs.get(name, "")).lower().startswith("javascript:"):
                yield Finding(
                    "security/javascript-url",
                    at,
                    f'<{e.tag} {name}="{e.attrs[name][:60]}"> is a javascript: URL',
                    "use a real URL or a button with an event listener",
                    "medium",
                )
    for block in page.scripts:
        yield from scan_script(block.text, where, block.line)


def _is_navigation_link(attrs: dict[str, str]) -> bool:
    rel = set(attrs.get("rel", "").lower().split())
    return bool(rel) and rel <= {"alternate", "author", "canonical", "help", "license", "next", "prev", "search"}


# ---- JavaScript --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # name · punct · string (constant) · template (has ${…}) · number · regex
    text: str
    line: int


_PUNCT = re.compile(r">>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.|[-+*/%&|^]=|\+\+|--|.")
_NAME = re.compile(r"[A-Za-z_$][\w$]*")
_NUMBER = re.compile(r"\d[\w.]*|\.\d[\w]*")
_REGEX_AFTER = frozenset(
    {
        *"(,=:[!&|?{};+-*%<>~^",
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "of",
        "new",
        "void",
        "&&",
        "||",
        "=>",
        "==",
        "===",
        "!=",
        "!==",
        "+=",
        "??",
    }
)


def tokenize(source: str, first_line: int = 1) -> list[Token]:
    tokens: list[Token] = []
    i, line, n = 0, first_line, len(source)
    while i < n:
        c = source[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif source.startswith("//", i) or source.startswith("<!--", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += source.count("\n", i, end)
            i = end
        elif c in "'\"`":
            end, interpolated = _string_end(source, i)
            tokens.append(Token("template" if interpolated else "string", source[i:end], line))
            line += source.count("\n", i, end)
            i = end
        elif c == "/" and (not tokens or tokens[-1].text in _REGEX_AFTER):
            end = _regex_end(source, i)
            tokens.append(Token("regex", source[i:end], line))
            i = end
        elif match := _NAME.match(source, i):
            tokens.append(Token("name", match.group(), line))
            i = match.end()
        elif match := _NUMBER.match(source, i):
            tokens.append(Token("number", match.group(), line))
            i = match.end()
        else:
            match = _PUNCT.match(source, i)
            assert match is not None  # "." matches any character
            tokens.append(Token("punct", match.group(), line))
            i = match.end()
    return tokens


def _string_end(source: str, start: int) -> tuple[int, bool]:
    quote, i, depth, interpolated = source[start], start + 1, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if quote == "`" and depth == 0 and source.startswith("${", i):
            interpolated, depth, i = True, 1, i + 2
            continue
        if depth:
            depth += {"{": 1, "}": -1}.get(c, 0)
        elif c == quote or (c == "\n" and quote != "`"):
            return i + 1, interpolated
        i += 1
    return len(source), interpolated


def _regex_end(source: str, start: int) -> int:
    i, in_class = start + 1, False
    while i < len(source) and source[i] != "\n":
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            i += 1
            while i < len(source) and (source[i].isalnum()):
                i += 1
            return i
        i += 1
    return i


def scan_script(source: str, where: str, first_line: int = 1) -> Iterator[Finding]:
    tokens = tokenize(source, first_line)
    for k, t in enumerate(tokens):
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        before = tokens[k - 1] if k else None
        at = f"{where}:{t.line}"
        calls = after is not None and after.text == "("
        if t.kind != "name":
            continue
        if t.text == "eval" and calls and not (before and before.text == "function"):
            yield _eval(at, "eval() runs a string as code")
        elif t.text == "Function" and before is not None and before.text == "new":
            yield _eval(at, "new Function() builds code from strings")
        elif t.text in ("setTimeout", "setInterval") and calls and k + 2 < len(tokens):
            if tokens[k + 2].kind in ("string", "template"):
                yield _eval(at, f"{t.text}() with a string runs it as code")
        elif t.text in ("innerHTML", "outerHTML") and before is not None and before.text in (".", "?."):
            if after is not None and after.text in ("=", "+=") and not _constant(tokens, k + 2, {";", "}", ")"}):
                yield _html_sink(at, f"{t.text} is assigned data that is not a constant string")
        elif t.text == "insertAdjacentHTML" and calls:
            second = _argument(tokens, k + 1, 1)
            if second is None or not (len(second) == 1 and second[0].kind == "string"):
                yield _html_sink(at, "insertAdjacentHTML() is given markup that is not a constant string")
        elif t.text in ("write", "writeln") and before is not None and before.text == "." and calls:
            owner = tokens[k - 2] if k >= 2 else None
            first = _argument(tokens, k + 1, 0)
            if (
                owner is not None
                and owner.text == "document"
                and not (first and len(first) == 1 and first[0].kind == "string")
            ):
                yield _html_sink(at, f"document.{t.text}() is given markup that is not a constant string")


def _constant(tokens: list[Token], start: int, stops: set[str]) -> bool:
    """Whether the expression from ``start`` to the statement's end is one constant string."""
    expression: list[Token] = []
    for t in tokens[start:]:
        if t.kind == "punct" and t.text in stops:
            break
        if expression and t.line != expression[-1].line and t.kind == "name":
            break  # a new statement on the next line (no semicolon)
        expression.append(t)
    return len(expression) == 1 and expression[0].kind == "string"


def _argument(tokens: list[Token], open_index: int, position: int) -> list[Token] | None:
    """The tokens of argument ``position`` of the call whose ``(`` is at ``open_index``."""
    depth, index = 0, 0
    current: list[Token] = []
    for t in tokens[open_index + 1 :]:
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            if depth == 0:
                return current if index == position else None
            depth -= 1
        elif t.kind == "punct" and t.text == "," and depth == 0:
            if index == position:
                return current
            index, current = index + 1, []
            continue
        current.append(t)
    return None


def _eval(at: str, message: str) -> Finding:
    return Finding(
        "security/eval",
        at,
        message,
        "parse data with JSON.parse and call functions directly; never run strings",
        "high",
    )


def _html_sink(at: str, message: str) -> Finding:
    return Finding(
        "security/html-injection",
        at,
        message,
        "set textContent (or build elements with createElement); sanitize markup that must be HTML",
        "medium",
    )
