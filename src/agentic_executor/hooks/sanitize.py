"""Neutralize control phrases in untrusted text: user prompts at submit, tool results in the loop.

Guards invariant 2: nothing but code can finish a session or change its budget, so completion
signals and budget / gate bypass phrases are replaced by a visible marker wherever they come
from outside the model. Matching runs on a normalized shadow of the text (NFKC, zero-width
characters and HTML entities removed, case folded) so trivial spellings do not slip through;
what was removed is returned so the caller can record a ``prompt_injection_detected`` event.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

PATTERNS: dict[str, re.Pattern[str]] = {
    "completion_signal": re.compile(
        r"<\s*/?\s*completion\s*>\s*done\s*<\s*/\s*completion\s*>|<\s*completion\s*>", re.I
    ),
    "budget_bypass": re.compile(
        r"\b(ignore|bypass|disable|skip|override|raise|increase|exceed)\s+(the\s+|your\s+|all\s+|any\s+)?"
        r"(budget|spending\s+limit|cost\s+limit)s?\b",
        re.I,
    ),
    "gate_bypass": re.compile(
        r"\b(bypass|ignore|skip|disable|override)\s+(the\s+|all\s+|any\s+)?(quality\s+)?gates?\b", re.I
    ),
    "forged_role": re.compile(
        r"^\s*(system|assistant)\s*:\s*(task\s+(approved|complete)|approved|override)", re.I | re.M
    ),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str  # the original span, as it appeared


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", html.unescape(text)).translate(ZERO_WIDTH)


def neutralize(text: str) -> tuple[str, list[Finding]]:
    """``text`` with every control phrase replaced by ``[removed: kind]``, and what was removed."""
    findings: list[Finding] = []
    shadow = normalize(text)
    # Work on the normalized text when obfuscation hid a phrase: the model reads it that way.
    if shadow != text and any(p.search(shadow) for p in PATTERNS.values()):
        text = shadow
    for kind, pattern in PATTERNS.items():

        def replace(match: re.Match[str], kind: str = kind) -> str:
            findings.append(Finding(kind, match.group(0)))
            return f"[removed: {kind.replace('_', ' ')}]"

        text = pattern.sub(replace, text)
    return text, findings


COMPLETION_CLAIM = re.compile(r"<\s*completion\s*>\s*done\s*<\s*/\s*completion\s*>", re.I)


def claims_completion(text: str) -> bool:
    """The seed's literal ``<completion>DONE</completion>`` in the model's own text is a claim."""
    return bool(COMPLETION_CLAIM.search(normalize(text)))
