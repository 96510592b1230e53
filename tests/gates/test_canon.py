"""The canon audit on small sites: what the default canon accepts and refuses, and a user's own canon."""

from __future__ import annotations

from pathlib import Path

from agentic_executor.gates.canon import audit, load_rules
from agentic_executor.gates.site import Site
from agentic_executor.gates.styles import site_styles

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>t</title><style>{css}</style></head>
<body><header><h1>t</h1></header><main>{body}</main></body></html>
"""


def _audit(tmp_path: Path, css: str, body: str = "<p>x</p>", rules: str | None = None) -> set[tuple[str, str]]:
    (tmp_path / "index.html").write_text(PAGE.format(css=css, body=body))
    rules_path = None
    if rules is not None:
        rules_path = tmp_path / "canon.toml"
        rules_path.write_text(rules)
    findings = audit(site_styles(Site.scan(tmp_path)), load_rules(rules_path))
    return {(f.rule, f.message) for f in findings}


def test_greys_system_fonts_and_the_scale_pass(tmp_path: Path) -> None:
    css = """
      :root { --ink: #222; --line: rgb(118 118 118 / 50%); }
      body { font: 1rem/1.5 system-ui, sans-serif; color: var(--ink); background: white; margin: 0 auto; }
      h1 { font-family: "Helvetica Neue", Arial, sans-serif; color: hsl(0 0% 7%); padding: 0.5rem 1rem; }
      .card { border: 1px solid oklch(60% 0 0); box-shadow: 0 2px 4px rgba(0, 0, 0, 0.3); gap: 24px; }
      .wide { margin-inline: calc(50% - 2rem); padding: 5%; outline: 2px solid currentColor; }
      @media (min-width: 40rem) { .card { padding: 2rem; background: linear-gradient(#fff, #eee); } }
      @font-face { font-family: "House Serif"; src: url(house.woff2) format("woff2"); }
      .quote { font-family: "House Serif", Georgia, serif; }
    """
    assert _audit(tmp_path, css) == set()


def test_every_kind_of_colour_is_checked(tmp_path: Path) -> None:
    css = """
      a { color: rebeccapurple; }
      b { background: linear-gradient(#fff, #f00); }
      i { border: 1px solid hsl(200 60% 40%); }
      s { --brand: tomato; }
      u { box-shadow: 0 0 2px color-mix(in srgb, red, white); }
    """
    body = '<svg aria-hidden="true"><rect fill="#0f0" stroke="#000" width="2" height="2"/></svg>'
    messages = {m for rule, m in _audit(tmp_path, css, body) if rule == "canon/color"}
    assert messages == {
        "color: rebeccapurple is not grey",
        "background: #f00 is not grey",
        "border: hsl(200 60% 40%) is not grey",
        "--brand: tomato is not grey",
        "box-shadow: red is not grey",
        '<rect fill="#0f0"> is not grey',
    }


def test_fonts_spacing_inline_styles_important_and_landmarks(tmp_path: Path) -> None:
    css = """
      h1 { font: italic bold 2rem/1.2 "Papyrus", fantasy; }
      p { margin: 0 0 7px; padding: 0.3rem; gap: 2; column-gap: 3pt; }
      em { color: #000 !important; }
    """
    (tmp_path / "about.html").write_text("<!DOCTYPE html><title>a</title><main>a</main><main>b</main>")
    found = _audit(tmp_path, css, body='<p style="color: #000">x</p>')
    assert found == {
        ("canon/font-family", "font family 'Papyrus' is not in the canon's font stacks"),
        ("canon/spacing-scale", "margin: 7px is not on the spacing scale"),
        ("canon/spacing-scale", "padding: 0.3rem is not on the spacing scale"),
        ("canon/spacing-scale", "gap: 2 has no unit"),
        ("canon/spacing-scale", "column-gap: 3pt uses a unit off the spacing scale"),
        ("canon/important", "color uses !important"),
        ("canon/inline-style", '<p style="color: #000"> uses an inline style'),
        ("canon/landmarks", "the page has no <header> landmark"),
        ("canon/landmarks", "the page has 2 <main> landmarks"),
    }


def test_a_users_canon_changes_the_rules(tmp_path: Path) -> None:
    rules = """
[colors]
palette = "greyscale"
allow = ["#0b5d3b"]
[fonts]
allow = ["Inter", "sans-serif"]
allow_declared = false
[inline_styles]
enabled = false
[important]
enabled = true
[spacing]
enabled = false
[landmarks]
required = ["header", "main", "footer"]
"""
    css = "a { color: #0b5d3b; margin: 7px; } body { font-family: Inter, system-ui; } b { color: #f00; }"
    found = _audit(tmp_path, css, body='<p style="margin: 3px">x</p>', rules=rules)
    assert found == {
        ("canon/color", "color: #f00 is not grey"),
        ("canon/font-family", "font family 'system-ui' is not in the canon's font stacks"),
        ("canon/landmarks", "the page has no <footer> landmark"),
    }


def test_the_built_in_canon_is_the_documented_file() -> None:
    rules = load_rules()
    assert rules["colors"]["palette"] == "greyscale" and rules["landmarks"]["required"] == ["header", "main"]
    assert all(rules[s].get("enabled", True) for s in ("colors", "fonts", "inline_styles", "important", "spacing"))
