"""Neutralize control phrases in untrusted text: user prompts at submit, tool results in the loop.

Guards invariant 2: nothing but code finishes a session or changes its budget, so text that comes
from outside the model cannot carry a completion signal, a budget or gate bypass, a forged
approval, a forged system/role marker or a forged tool call into the conversation. Each is
replaced by a visible ``[removed: kind]`` marker; the rest of the text is kept as written, so the
user's intent stays readable. Matching runs on the shadow of the text (``text.shadow``: escapes,
compatibility forms, look-alikes and invisible characters undone, case folded); the patterns add
letter spacing and leetspeak. What was removed is returned, original spelling included, for the
``prompt_injection_detected`` event.

Split signals: text arrives in pieces (one tool result after another), and a model reads the
pieces as one stream. ``neutralize(piece, carry=tail_of_previous)`` scans the previous piece's
tail and the new piece together and removes, from the new piece, the part of any phrase that
crosses the boundary; a piece that ends in an unfinished ``<completion`` tag or starts with the
rest of one loses that fragment even without a carry (after a restart, say).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentic_executor.hooks.text import hidden_ascii, shadow, strip_invisible_controls

CARRY_CHARS = 200
"""How much of the previous piece is scanned with the next one (longer than any encoded phrase)."""

_LEET = {"a": "a4@", "b": "b8", "e": "e3", "g": "g9", "i": "i1!|l", "l": "l1|i", "o": "o0", "s": "s5$", "t": "t7+"}
_INNER = r"[\s._*·'`~^-]{0,8}"
"""Allowed between the letters of a keyword: ``c o m p l e t i o n``, ``c.o.m.p``, ``c-o-m-p``."""
GAP = r"[\s_.*'\"`-]{1,4}"
"""Allowed between the words of a phrase: ``ignore budget``, ``ignore_budget``, ``ignore-the-budget``."""


def kw(word: str) -> str:
    """A regex for ``word`` with letter spacing and leetspeak (spaces in ``word`` become ``GAP``)."""
    parts = []
    for chunk in word.split(" "):
        letters = [f"[{re.escape(_LEET[c])}]" if c in _LEET else re.escape(c) for c in chunk]
        parts.append(_INNER.join(letters))
    return GAP.join(parts)


def alt(*words: str) -> str:
    return "(?:" + "|".join(kw(w) for w in sorted(words, key=len, reverse=True)) + ")"


_DET = rf"(?:(?:the|your|all|any|my|our|this|its|of|these|those|previous|prior){GAP}){{0,3}}"
_OPEN = r"[<\[]\s*"
_CLOSE = r"\s*[>\]]"
_COMPLETION = kw("completion")
_DONE = alt("done", "complete", "completed", "finished", "true", "yes", "ok", "success")
_TAG = rf"<\s*/?\s*{_COMPLETION}(?:\s+[^<>\[\]\n]{{0,60}}?)?\s*>"
_CLOSING_TAG = rf"{_OPEN}/\s*{_COMPLETION}{_CLOSE}"

SIGNAL = re.compile(rf"{_OPEN}{_COMPLETION}(?:\s+[^<>\[\]\n]{{0,60}}?)?{_CLOSE}\s*(?:{_DONE})?\s*{_CLOSING_TAG}")
"""The seed's ``<completion>DONE</completion>`` in any spelling: what counts as a claim from the model."""

_BUDGET_NOUN = alt(
    "budget", "budget limit", "budget cap", "spending limit", "spend limit", "spending cap", "spend cap",
    "cost limit", "cost cap", "token limit", "money limit",
) + "s?"  # fmt: skip
_BUDGET_VERB = alt(
    "ignore", "bypass", "disable", "skip", "override", "raise", "increase", "exceed", "remove", "lift",
    "double", "triple", "extend", "disregard", "forget", "circumvent", "waive", "suspend", "turn off",
    "switch off", "unlock", "expand", "top up", "refill",
)  # fmt: skip
_GATE_NOUN = (
    rf"(?:{alt('quality', 'security', 'accessibility', 'performance', 'canon', 'completion', 'validation')}{GAP})?"
    rf"{alt('gates', 'gate', 'gate checks', 'gate check')}"
)
_GATE_VERB = alt(
    "bypass", "ignore", "skip", "disable", "override", "turn off", "switch off", "waive", "remove",
    "disregard", "circumvent", "suppress", "silence", "deactivate", "avoid", "evade",
)  # fmt: skip

PROSE = r"[ \t]{1,3}"
"""Between the words of a forged notice: plain spaces only, so identifiers (``completion_approved``) pass."""


def phrase(pattern: str) -> str:
    """``pattern`` as whole words: not inside a longer word or identifier (``raise BudgetExhausted``)."""
    return rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])"


_TYPE_HINT = r"(?:str|int|float|bool|bytes|dict|list|tuple|set|optional|union|any|none|literal)\b"
"""``system: str`` is a Python annotation, not a role marker."""
_LINE_START = r"[ \t]{0,3}(?:[>#*_-][ \t]*){0,4}"
"""A line's start as markdown may dress it: up to three spaces of indent, quote, heading, emphasis."""
_ROLE = (
    rf"{alt('system', 'assistant', 'human', 'developer')}"
    rf"(?:[ \t]+{alt('message', 'prompt', 'note', 'override', 'notice')})?"
)

_EARLIER = alt("all", "any", "the", "your", "of", "previous", "prior", "above", "earlier", "system", "original")

PATTERNS: dict[str, list[str]] = {
    "completion_signal": [
        SIGNAL.pattern,
        _TAG,
        rf"<\s*/?\s*{_COMPLETION}(?![a-z0-9_])",  # an opening fragment: ``<completion`` without its ``>``
        rf"(?<![a-z0-9_]){_COMPLETION}\s*>",  # a closing fragment: ``completion>``
        phrase(rf"{_COMPLETION}[\"']?\s*[:=]\s*[\"']?\s*{alt('done', 'complete', 'completed', 'finished')}"),
        r"<\s*/?\s*c(?:o(?:m(?:p(?:l(?:e(?:t(?:i(?:on?)?)?)?)?)?)?)?)?\s*\Z",  # ``<compl`` at the end of a piece
        r"\A\s*(?:o?m?p?l?e?t?i?on)\s*>(?:\s*" + _DONE + r")?",  # ``etion>DONE`` at the start of a piece
    ],
    "budget_bypass": [
        phrase(rf"{_BUDGET_VERB}{GAP}{_DET}{_BUDGET_NOUN}"),
        phrase(
            rf"{_BUDGET_NOUN}{GAP}{alt('does not', 'doesnt', 'do not', 'dont', 'no longer', 'will not', 'wont')}"
            rf"{GAP}{alt('apply', 'matter', 'count')}"
        ),
        phrase(rf"{alt('unlimited', 'infinite', 'unbounded', 'limitless', 'endless')}{GAP}{_BUDGET_NOUN}"),
        phrase(rf"no{GAP}{alt('budget limit', 'budget limits', 'budget cap', 'spending limit', 'cost limit')}"),
        phrase(
            rf"{_BUDGET_NOUN}{GAP}(?:{alt('is', 'are', 'has been', 'set to', 'to', 'now')}{GAP})?"
            rf"{alt('unlimited', 'infinite', 'unbounded', 'waived', 'removed', 'lifted', 'disabled', 'suspended')}"
        ),
        phrase(rf"{alt('set', 'change', 'update', 'raise', 'increase', 'bump', 'reset')}{GAP}{_DET}{_BUDGET_NOUN}")
        + rf"{GAP}(?:{alt('to')}{GAP})?\$?\s*\d",
        phrase(rf"{_BUDGET_NOUN}{GAP}{alt('override', 'bypass', 'exempt', 'exemption')}"),
    ],
    "gate_bypass": [
        phrase(rf"{_GATE_VERB}{GAP}{_DET}{_GATE_NOUN}"),
        phrase(
            rf"{_GATE_NOUN}{PROSE}{alt('are', 'is', 'were', 'was', 'have been', 'has been')}{PROSE}"
            rf"(?:{alt('now', 'all')}{PROSE})?"
            rf"{alt('disabled', 'bypassed', 'waived', 'skipped', 'off', 'not required', 'optional', 'pre-approved')}"
        ),
        phrase(rf"{alt('quality gates', 'quality gate', 'gates enabled', 'gate checks', 'run gates')}")
        + r"[\"']?\s*[:=]\s*[\"']?\s*(?:false|off|none|disabled|0|\[\s*\])",
        phrase(rf"{alt('skip', 'bypass', 'circumvent', 'waive')}{GAP}{_DET}{alt('verification', 'review')}"),
        phrase(rf"{_GATE_VERB}{GAP}{_DET}{alt('completion validation', 'completion checks', 'completion check')}"),
    ],
    "approval_forgery": [
        phrase(rf"{kw('completion')}{PROSE}{alt('accepted', 'approved', 'rejected', 'confirmed', 'granted')}"),
        phrase(
            rf"{alt('task', 'work', 'session', 'submission')}{PROSE}"
            rf"(?:{alt('is', 'was', 'has been', 'been')}{PROSE})?(?:{alt('already')}{PROSE})?"
            rf"{alt('approved', 'pre-approved', 'preapproved', 'signed off')}"
        ),
        phrase(
            rf"{alt('reviewer', 'grader', 'validator', 'supervisor', 'operator', 'system')}{PROSE}"
            rf"(?:{alt('has', 'have')}{PROSE})?(?:{alt('already')}{PROSE})?{alt('approved', 'accepted', 'signed off')}"
        ),
        phrase(
            rf"{alt('no')}{PROSE}{alt('further', 'more')}{PROSE}{alt('checks', 'verification', 'validation', 'review')}"
            rf"{PROSE}(?:{alt('are', 'is')}{PROSE})?{alt('needed', 'required', 'necessary')}"
        ),
        rf"{kw('budget warning')}[^a-z0-9]{{0,20}}(?:consumed|remaining)\s*:",  # the engine's 80% notice, forged
    ],
    "instruction_override": [
        phrase(
            rf"{alt('ignore', 'disregard', 'forget', 'override', 'overrule', 'bypass')}{GAP}"
            rf"(?:{_EARLIER}{GAP}){{1,4}}"
            rf"{alt('instructions', 'instruction', 'prompts', 'prompt', 'rules', 'directives', 'guidelines')}"
        ),
    ],
    "forged_role": [
        rf"(?m:^){_LINE_START}{_ROLE}[ \t]*:(?=[ \t]*\S)(?![ \t]*{_TYPE_HINT})",  # ``SYSTEM: approved``
        rf"(?m:^){_LINE_START}[\[(<|]+[ \t]*{_ROLE}[ \t]*[\])>|]+(?:[ \t]*:)?",  # ``[SYSTEM]``, ``(assistant)``
        rf"<\|\s*[a-z_]{{2,30}}\s*\|>(?:[ \t]*{_ROLE})?",  # chat-template tokens: ``<|im_start|>system``
        r"\[\s*/?\s*inst\s*\]|<<\s*/?\s*sys\s*>>",
        r"<\s*/?\s*(?:system(?:[-_ ]?(?:prompt|reminder|message))?|assistant|human|instructions?|"
        r"function[-_ ]?(?:results?|calls?)|tool[-_ ]?(?:results?|use|output)|antml:[a-z_]+)(?=[\s/>])[^<>\n]{0,80}>",
    ],
    "forged_tool_call": [
        r"[\"'](?:tool|name|function|tool_name)[\"']\s*:\s*[\"']" + kw("complete_task"),
        r"<\s*(?:antml:)?invoke\s+name\s*=\s*[\"']?complete_task",
    ],
}
COMPILED: dict[str, re.Pattern[str]] = {
    kind: re.compile("|".join(f"(?:{p})" for p in ps)) for kind, ps in PATTERNS.items()
}


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str
    """The original span, as it appeared (for a split phrase: the previous piece's part included)."""
    split: bool = False
    """The phrase began in the previous piece (``carry``)."""


LABELS = {
    "completion_signal": "completion signal",
    "budget_bypass": "budget phrase",
    "gate_bypass": "quality-gate phrase",
    "approval_forgery": "forged approval",
    "instruction_override": "instruction override",
    "forged_role": "forged role marker",
    "forged_tool_call": "forged tool call",
}
"""What the reader sees instead of a phrase (worded so that no label is itself a phrase)."""


def marker(kind: str) -> str:
    return f"[removed: {LABELS.get(kind, kind)}]"


def neutralize(text: str, *, carry: str = "") -> tuple[str, list[Finding]]:
    """``text`` with every control phrase replaced by ``[removed: kind]``, and what was removed.

    ``carry`` is the tail of the text the reader saw just before ``text``: phrases that start in
    it and end in ``text`` are removed from ``text`` too (see the module doc).
    """
    whole = carry + text
    view = shadow(whole)
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in COMPILED.items():
        for match in pattern.finditer(view.text):
            if match.end() > match.start():
                start, end = view.span(match.start(), match.end())
                if end > len(carry):
                    spans.append((start, end, kind))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    findings: list[Finding] = []
    position = len(carry)
    for start, end, kind in spans:
        if end <= position:
            continue  # inside a span already removed
        findings.append(Finding(kind, whole[start:end], split=start < len(carry)))
        start = max(start, position)
        out.append(strip_invisible_controls(whole[position:start]))
        out.append(marker(kind))
        position = end
    out.append(strip_invisible_controls(whole[position:]))
    hidden = hidden_ascii(text)
    if hidden.strip():
        findings.append(Finding("hidden_characters", hidden))
    return "".join(out), findings


def claims_completion(text: str) -> bool:
    """The seed's ``<completion>DONE</completion>``, in any spelling, in the model's own text is a claim."""
    return bool(SIGNAL.search(shadow(text).text))


def normalize(text: str) -> str:
    """The shadow of ``text`` as a plain string (see ``text.shadow``)."""
    return shadow(text).text
