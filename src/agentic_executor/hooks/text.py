"""How a model reads text: a normalized *shadow* of untrusted text, mapped back to the original.

Invariant: every character of the shadow knows the span of original text it came from, so a
phrase found in the shadow is removed from the original exactly, and the rest of the text is left
as the user or the tool wrote it.

The shadow undoes the spellings a model still reads as the plain phrase:

* escapes, repeatedly (double encoding): HTML entities (``&lt;``, ``&#x3c;``), percent escapes of
  ASCII (``%3C``), and ``\\u003c`` / ``\\x3c`` / ``\\u{3c}`` / ``\\U0000003c``;
* compatibility forms (NFKD): fullwidth ``＜ｃｏｍｐｌｅｔｉｏｎ＞``, mathematical letters, circled
  letters, ligatures; then combining marks are dropped (``c̸o̸m̸p̸``) and the text is case-folded;
* look-alikes (``CONFUSABLES``): Cyrillic, Greek, Armenian and small-capital letters that look
  Latin, and bracket or slash look-alikes (``‹completion›``);
* invisible characters (format characters: zero-width, bidi controls, soft hyphen, fillers) are
  dropped; Unicode *tag* characters, which smuggle invisible ASCII, are decoded to that ASCII.

Spacing (``c o m p l e t i o n``) and leetspeak are left to the patterns (``sanitize.kw``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

TAG_BASE = 0xE0000
"""Unicode tag characters U+E0020..U+E007E mirror printable ASCII and render as nothing."""

_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters that render as blank space (Hangul fillers, the Braille blank)."""

_CONFUSABLE_PAIRS = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "н": "h", "і": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w",
    "ь": "b", "ѡ": "w", "ү": "y", "ɡ": "g", "п": "n", "г": "r", "з": "3", "ч": "4",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "μ": "u", "ϲ": "c", "ϳ": "j", "ς": "c", "δ": "d", "λ": "l",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q", "ք": "p",
    # Latin small capitals and IPA letters
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r", "ꜱ": "s", "ᴄ": "c", "ᴅ": "d",
    "ᴇ": "e", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ɪ": "i",
    "ʏ": "y", "ʜ": "h", "ᴋ": "k", "ɢ": "g", "ʙ": "b", "ᴀ": "a", "ᴊ": "j", "ǀ": "l", "ɾ": "r", "ɔ": "c",
    # Cherokee capitals (which case-fold to small letters that no longer look Latin)
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭼ": "e", "Ꮋ": "h", "Ꮶ": "k", "Ꮇ": "m", "Ꮲ": "p", "Ꭲ": "t", "Ꮃ": "w",
    "ꭺ": "a", "ᏼ": "b", "ꮯ": "c", "ꭼ": "e", "ꮋ": "h", "ꮶ": "k", "ꮇ": "m", "ꮲ": "p", "ꭲ": "t", "ꮃ": "w",
    # brackets and slashes
    "‹": "<", "›": ">", "〈": "<", "〉": ">", "⟨": "<", "⟩": ">", "❮": "<", "❯": ">", "❬": "<", "❭": ">",
    "⧼": "<", "⧽": ">", "˂": "<", "˃": ">", "ᐸ": "<", "ᐳ": ">", "《": "<", "》": ">", "≺": "<", "≻": ">",
    "⁄": "/", "∕": "/", "⧸": "/", "╱": "/", "᜵": "/", "⼃": "/",
}  # fmt: skip
CONFUSABLES = {ord(k): v for k, v in _CONFUSABLE_PAIRS.items()}

_ESCAPE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?"
    r"|%[0-7][0-9a-fA-F]"
    r"|\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|U[0-9a-fA-F]{8})"
)
_DECODE_PASSES = 3
_NEEDS_FOLD = re.compile(r"[^\x00-\x7f]")
_MARKS = frozenset({"Mn", "Me"})
"""Combining and enclosing marks (strike-throughs, the grapheme joiner, variation selectors) read as nothing."""


@dataclass(frozen=True)
class Shadow:
    """The normalized text and, per character, the original span ``[starts[i], ends[i])``."""

    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the shadow's ``[start, end)`` (which must not be empty)."""
        return self.starts[start], self.ends[end - 1]


def _decode_escape(unit: str) -> str | None:
    """What an escape stands for, or None if ``unit`` is not one (e.g. ``&notanentity``)."""
    if unit[0] == "&":
        decoded = html.unescape(unit)
        return decoded if decoded != unit else None
    if unit[0] == "%":
        return chr(int(unit[1:], 16))
    digits = unit[2:].strip("{}")
    try:
        return chr(int(digits, 16))
    except (ValueError, OverflowError):
        return None


def _decode_pass(text: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]] | None:
    """One pass of escape decoding; None when the text holds no escape."""
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    changed = False
    for match in _ESCAPE.finditer(text):
        decoded = _decode_escape(match.group(0))
        if decoded is None:
            continue
        changed = True
        a, b = match.span()
        out.append(text[position:a])
        new_starts += starts[position:a]
        new_ends += ends[position:a]
        out.append(decoded)
        new_starts += [starts[a]] * len(decoded)
        new_ends += [ends[b - 1]] * len(decoded)
        position = b
    if not changed:
        return None
    out.append(text[position:])
    new_starts += starts[position:]
    new_ends += ends[position:]
    return "".join(out), new_starts, new_ends


def fold_char(char: str) -> str:
    """What one character reads as: "" for an invisible one, else its folded Latin look-alike."""
    code = ord(char)
    if TAG_BASE + 0x20 <= code <= TAG_BASE + 0x7E:
        return chr(code - TAG_BASE).casefold()
    if char in _FILLERS or unicodedata.category(char) == "Cf":
        return ""
    folded = unicodedata.normalize("NFKD", char.translate(CONFUSABLES))
    folded = "".join(c for c in folded if unicodedata.category(c) not in _MARKS).casefold()
    return folded.translate(CONFUSABLES)


def shadow(text: str) -> Shadow:
    """The shadow of ``text`` (see the module doc)."""
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    current = text
    for _ in range(_DECODE_PASSES):
        decoded = _decode_pass(current, starts, ends)
        if decoded is None:
            break
        current, starts, ends = decoded
    if not _NEEDS_FOLD.search(current):
        return Shadow(current.lower(), starts, ends)
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for char, start, end in zip(current, starts, ends, strict=True):
        folded = char.lower() if char.isascii() else fold_char(char)
        out.append(folded)
        new_starts += [start] * len(folded)
        new_ends += [end] * len(folded)
    return Shadow("".join(out), new_starts, new_ends)


def hidden_ascii(text: str) -> str:
    """The ASCII smuggled in Unicode tag characters (empty when there is none)."""
    return "".join(chr(ord(c) - TAG_BASE) for c in text if TAG_BASE + 0x20 <= ord(c) <= TAG_BASE + 0x7E)


_STRIP = re.compile("[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069]")


def strip_invisible_controls(text: str) -> str:
    """``text`` without tag characters and bidi overrides: never meant for a reader, only for tricks."""
    return _STRIP.sub("", text)
