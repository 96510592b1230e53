"""The canon gate: a design-rule audit of the site's HTML and CSS, driven by a rules file.

The rules (``canon.toml`` beside this module by default; the gates config's ``[gates.canon]
rules`` names another) cover the palette, font stacks, inline styles, ``!important``, the spacing
scale and landmarks. Markup and style sheets are parsed (html.parser, tinycss2), never grepped.
Passes with 0 violations.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tinycss2
import tinycss2.color4

from agentic_executor.gates.base import Finding, GateContext, GateResult
from agentic_executor.gates.styles import Styles, font_families, significant, site_styles, walk_tokens

BUILT_IN_RULES = Path(__file__).with_name("canon.toml")
COLOR_ATTRIBUTES = ("fill", "stroke", "color", "bgcolor", "stop-color", "flood-color", "lighting-color", "text")
_COLOR_IDENT_PROPERTIES = frozenset(
    {
        "background",
        "border",
        "border-top",
        "border-right",
        "border-bottom",
        "border-left",
        "border-block",
        "border-inline",
        "outline",
        "box-shadow",
        "text-shadow",
        "fill",
        "stroke",
        "column-rule",
        "text-decoration",
        "text-emphasis",
    }
)
_CSS_WIDE = frozenset({"inherit", "initial", "unset", "revert", "revert-layer"})
_FONT_SYSTEM_KEYWORDS = frozenset({"caption", "icon", "menu", "message-box", "small-caption", "status-bar"})
_RGB_SPACES = frozenset({"srgb", "srgb-linear", "display-p3", "a98-rgb", "prophoto-rgb", "rec2020"})
_LANDMARK_ROLES = {
    "header": "banner",
    "main": "main",
    "footer": "contentinfo",
    "nav": "navigation",
    "aside": "complementary",
}


def load_rules(path: Path | None = None) -> dict[str, Any]:
    return tomllib.loads((path or BUILT_IN_RULES).read_text())


class CanonGate:
    name = "canon"

    def run(self, ctx: GateContext) -> GateResult:
        configured = ctx.option("rules", "")
        path = Path(configured) if configured else None
        try:
            rules = load_rules(path)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return GateResult(self.name, passed=False, error=f"canon rules {path} cannot be read: {exc}")
        findings = audit(site_styles(ctx.site), rules)
        result = GateResult(self.name, passed=not findings, findings=findings)
        result.notes.append(f"rules: {path or 'built-in black & white canon'}")
        return result


def audit(styles: Styles, rules: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    checks = (
        ("colors", _colors),
        ("fonts", _fonts),
        ("inline_styles", _inline_styles),
        ("important", _important),
        ("spacing", _spacing),
        ("landmarks", _landmarks),
    )
    for section, check in checks:
        rule = rules.get(section, {})
        if rule.get("enabled", True):
            findings.extend(check(styles, rule))
    return findings


# ---- colors ------------------------------------------------------------------------------------
def _colors(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    if rule.get("palette", "greyscale") != "greyscale":
        return
    tolerance = float(rule.get("tolerance", 0.005))
    allowed = [c for c in (_parse_color(a) for a in rule.get("allow", [])) if c is not None]
    fix = "use black, white or a grey (equal red, green and blue, e.g. #000, #fff, #767676)"
    for d in styles.declarations:
        for token in walk_tokens(d.value):
            color = _color_of(token, d.name)
            if color is not None and not _grey(color, tolerance) and color not in allowed:
                yield Finding("canon/color", d.location, f"{d.name}: {tinycss2.serialize([token])} is not grey", fix)
    for page, parsed in styles.pages.items():
        for element in parsed.elements:
            for attribute in COLOR_ATTRIBUTES:
                value = element.attrs.get(attribute)
                color = _parse_color(value) if value else None
                if color is not None and not _grey(color, tolerance) and color not in allowed:
                    where = f"{page}:{element.line}:{element.col}"
                    yield Finding("canon/color", where, f'<{element.tag} {attribute}="{value}"> is not grey', fix)


def _parse_color(text: str) -> Any:
    color = tinycss2.color4.parse_color(text.strip())
    return None if color is None or color == "currentcolor" else color


def _color_of(token: Any, prop: str) -> Any:
    """The color a value token names, or None (identifiers count only where a color can stand)."""
    ident_color = token.type == "ident" and (
        prop in _COLOR_IDENT_PROPERTIES or "color" in prop or prop.startswith("--")
    )
    if not (token.type == "hash" or ident_color or (token.type == "function" and token.lower_name != "var")):
        return None
    color = tinycss2.color4.parse_color(token)
    return None if color is None or color == "currentcolor" else color


def _grey(color: Any, tolerance: float) -> bool:
    space = color.space
    if space in ("srgb", "hsl", "hwb"):
        coordinates = color.to("srgb").coordinates
    elif space in _RGB_SPACES:
        coordinates = color.coordinates
    elif space in ("lab", "oklab", "lch", "oklch"):
        # Grey means no chroma: a = b = 0, or C = 0. CIE Lab's axes span about ±125, Oklab's ±0.4.
        limit = tolerance * (250 if space in ("lab", "lch") else 1)
        chroma = color.coordinates[1:] if space.endswith("lab") else color.coordinates[1:2]
        return all(abs(c) <= limit for c in chroma)
    else:  # xyz and friends: no simple grey test, so not canon
        return False
    return bool(max(coordinates) - min(coordinates) <= tolerance)


# ---- fonts -------------------------------------------------------------------------------------
def _fonts(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {f.lower() for f in rule.get("allow", [])}
    if rule.get("allow_declared", True):
        allowed |= styles.declared_fonts
    for d in styles.declarations:
        if d.at_rule == "font-face" or d.name not in ("font-family", "font"):
            continue
        tokens = significant(d.value)
        families = font_families(tokens if d.name == "font-family" else _shorthand_families(tokens))
        for family in families:
            lowered = family.lower()
            if lowered in allowed or lowered in _CSS_WIDE or lowered.endswith("()"):
                continue
            yield Finding(
                "canon/font-family",
                d.location,
                f"font family {family!r} is not in the canon's font stacks",
                "use a system font stack (e.g. system-ui, sans-serif), or declare the font with @font-face",
            )


def _shorthand_families(tokens: list[Any]) -> list[Any]:
    """The family list of a ``font`` shorthand: what follows the size (``12px/1.5 Georgia, serif``)."""
    if len(tokens) == 1 and tokens[0].type == "ident" and tokens[0].lower_value in _FONT_SYSTEM_KEYWORDS | _CSS_WIDE:
        return []
    last_size = -1
    for index, token in enumerate(tokens):
        if token.type in ("dimension", "percentage", "number") or (token.type == "literal" and token.value == "/"):
            last_size = index
        if token.type == "literal" and token.value == ",":
            break
    return tokens[last_size + 1 :] if last_size >= 0 else []


# ---- inline styles, !important -----------------------------------------------------------------
def _inline_styles(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    for page, parsed in styles.pages.items():
        for element in parsed.elements:
            if "style" in element.attrs:
                yield Finding(
                    "canon/inline-style",
                    f"{page}:{element.line}:{element.col}",
                    f'<{element.tag} style="{element.attrs["style"][:60]}"> uses an inline style',
                    "move the declarations into the style sheet and select the element with a class",
                )


def _important(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    for d in styles.declarations:
        if d.important:
            yield Finding(
                "canon/important",
                d.location,
                f"{d.name} uses !important",
                "remove !important; raise the selector's specificity or reorder the rules instead",
            )


# ---- spacing -----------------------------------------------------------------------------------
def _spacing(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    names = tuple(rule.get("properties", []))
    scales = {unit: {float(v) for v in rule.get(unit, [])} for unit in ("rem", "em", "px")}
    free = {u.lower() for u in rule.get("other_units", [])}
    shown = {unit: ", ".join(f"{v:g}{unit}" for v in sorted(values)) for unit, values in scales.items()}
    for d in styles.declarations:
        if not any(d.name == n or d.name.startswith(n + "-") for n in names):
            continue
        for token in significant(d.value):  # functions (calc, var, clamp) are not evaluated
            if token.type == "dimension":
                unit = token.lower_unit
                if unit in free:
                    continue
                if unit not in scales:
                    message = f"{d.name}: {token.serialize()} uses a unit off the spacing scale"
                    fix = f"use rem on the scale: {shown['rem']}"
                elif abs(float(token.value)) not in scales[unit]:
                    message = f"{d.name}: {token.serialize()} is not on the spacing scale"
                    fix = f"use a step of the scale: {shown[unit]}"
                else:
                    continue
                yield Finding("canon/spacing-scale", d.location, message, fix)
            elif token.type == "number" and float(token.value) != 0:
                yield Finding(
                    "canon/spacing-scale",
                    d.location,
                    f"{d.name}: {token.serialize()} has no unit",
                    f"use a step of the scale: {shown['rem']}",
                )


# ---- landmarks ---------------------------------------------------------------------------------
def _landmarks(styles: Styles, rule: Mapping[str, Any]) -> Iterator[Finding]:
    required = list(rule.get("required", []))
    single = set(rule.get("single", []))
    for page, parsed in styles.pages.items():
        for landmark in required:
            role = _LANDMARK_ROLES.get(landmark, landmark)
            count = sum(1 for e in parsed.elements if e.tag == landmark or e.attrs.get("role") == role)
            if count == 0:
                yield Finding(
                    "canon/landmarks",
                    page,
                    f"the page has no <{landmark}> landmark",
                    f"wrap the page's {landmark} content in a <{landmark}> element",
                )
            elif count > 1 and landmark in single:
                yield Finding(
                    "canon/landmarks",
                    page,
                    f"the page has {count} <{landmark}> landmarks",
                    f"keep exactly one <{landmark}> per page",
                )
