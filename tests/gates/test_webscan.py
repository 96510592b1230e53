"""The HTML and JavaScript security rules: code is parsed, so words in comments and strings are not code."""

from __future__ import annotations

import pytest

from agentic_executor.gates.markup import parse_html
from agentic_executor.gates.webscan import scan_page, scan_script


def _rules(source: str) -> list[tuple[str, str]]:
    return [(f.rule, f.location) for f in scan_script(source, "app.js")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("eval(userInput);", [("security/eval", "app.js:1")]),
        ("window.eval(code)", [("security/eval", "app.js:1")]),
        ("const f = new Function('a', body);", [("security/eval", "app.js:1")]),
        ('setTimeout("tick()", 10);', [("security/eval", "app.js:1")]),
        ("setTimeout(tick, 10);", []),
        ("el.innerHTML = data;", [("security/html-injection", "app.js:1")]),
        ("el.innerHTML = `<p>${name}</p>`;", [("security/html-injection", "app.js:1")]),
        ("el.innerHTML += '<b>' + x;", [("security/html-injection", "app.js:1")]),
        ("el.innerHTML = '<p>static</p>';", []),
        ("el.innerHTML = `<p>static</p>`;", []),
        ("el.innerHTML = ''\nfoo()", []),
        ("if (el.innerHTML === data) {}", []),
        ("el.insertAdjacentHTML('beforeend', row);", [("security/html-injection", "app.js:1")]),
        ("el.insertAdjacentHTML('beforeend', '<hr>');", []),
        ("document.write(html);", [("security/html-injection", "app.js:1")]),
        ("document.write('<p>hi</p>');", []),
        ("// eval(x) and el.innerHTML = y in a comment\n/* new Function(z) */", []),
        ("const s = 'eval(x); el.innerHTML = y';", []),
        ("const re = /eval\\(/g; const t = a / b / c;", []),
        ("\n\n  eval(x)", [("security/eval", "app.js:3")]),
    ],
)
def test_script_rules(source: str, expected: list[tuple[str, str]]) -> None:
    assert _rules(source) == expected


def test_html_rules_with_their_locations() -> None:
    page = parse_html(
        """<!DOCTYPE html>
<html><head>
<link rel="stylesheet" href="http://cdn.example.com/a.css">
<link rel="canonical" href="http://example.com/">
<script>
  const ok = 1;
  eval(location.hash);
</script>
<script type="application/ld+json">{"eval(": 1}</script>
</head><body>
<img src="http://example.com/a.png" alt="">
<a href="https://example.org" target="_blank" rel="noopener">fine</a>
<a href="https://example.org" target="_blank">opener</a>
<a href="javascript:void(0)" onmouseover="go()">js</a>
<a href="http://example.com/">a plain link is not mixed content</a>
</body></html>
"""
    )
    found = sorted((f.rule, f.location, f.severity) for f in scan_page(page, "index.html"))
    assert found == [
        ("security/eval", "index.html:7", "high"),
        ("security/inline-event-handler", "index.html:14:1", "medium"),
        ("security/javascript-url", "index.html:14:1", "medium"),
        ("security/mixed-content", "index.html:11:1", "medium"),
        ("security/mixed-content", "index.html:3:1", "medium"),
        ("security/target-blank", "index.html:13:1", "low"),
    ]
