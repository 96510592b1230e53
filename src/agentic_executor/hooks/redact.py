"""Redact what the model must not read in tool output: secrets, budget internals, the system prompt.

Guards invariant 5's "server secrets never enter the transcript": every tool result passes through
``redact`` before it is stored or sent. Removed are

* the *values* of the server's secret environment variables (``ANTHROPIC_API_KEY``,
  ``OPENAI_API_KEY``, any variable whose name says key, token, secret, password or credential,
  the password of ``AGX_DATABASE_URL``), also reversed, base64- and hex-encoded;
* anything shaped like a credential: provider keys (``sk-ant-…``, ``sk-…``), cloud and forge
  tokens, private key blocks, ``Authorization: Bearer …`` headers, the value of ``FOO_TOKEN=…``
  style assignments, passwords in URLs;
* budget internals: ``*_micros`` figures and the session's own pool figures;
* sentences of the system prompt.

Each becomes ``[redacted: kind]``; only kinds are reported, never the value, so the events table
does not become the leak. Not covered: a secret the agent can read and chooses to transform in a
way not listed (split in pieces, enciphered) — keep secrets out of the workspace; the sandbox
keeps them out of commands.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

SECRET_NAME = re.compile(r"(?i)(?:api_?key|token|secret|passw(?:or)?d|credential|private_key|access_key|auth)")
ALWAYS_SECRET = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN")
MIN_SECRET_CHARS = 8
MIN_SENTENCE_CHARS = 40


def marker(kind: str) -> str:
    return f"[redacted: {kind.replace('_', ' ')}]"


_KEYS = re.compile(
    r"sk-ant-[A-Za-z0-9_-]{8,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
    r"|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*[\"']?(?:bearer|basic|token|bot|digest)\s+)([^\s\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/-]{16,}=*)")
_ASSIGNMENT = re.compile(
    r"(?i)(\b[\"']?[A-Za-z_][A-Za-z0-9_.-]*"
    r"(?:api_?key|token|secret|passw(?:or)?d|credentials?|private_key|access_key|auth)"
    r"[\"']?\s*[:=]\s*)"
    r"(\"[^\"\n]{4,}\"|'[^'\n]{4,}'|[^\s\"',;)}\]]{8,})"
)
_NOT_A_VALUE = re.compile(
    r"^[\"']?(?:\$|os\.|process\.|getenv|env\(|\[redacted|<|\{|none$|null$|undefined$|str$)", re.I
)
"""Values that only point at a secret (``os.environ[...]``, ``$TOKEN``) are left alone."""
_URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)", re.I)
_MICROS = re.compile(
    r"(?i)\b((?:budget|allocated|consumed|reserved|remaining|available|spent|cost|charged)_?"
    r"(?:micros?|usd|dollars)[\"']?\s*[:=]\s*[\"']?)(\$?-?\d[\d_]*(?:\.\d+)?)"
)


def server_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values in the server's environment, longest first (see the module doc)."""
    env = os.environ if env is None else env
    values = set()
    for name, value in env.items():
        if name in ALWAYS_SECRET or SECRET_NAME.search(name):
            values.add(value)
        elif name.startswith("AGX_") and "://" in value:
            password = urlsplit(value).password
            if password:
                values.add(password)
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def _spellings(secret: str) -> tuple[set[str], set[str]]:
    """(plain spellings, encoded spellings) of ``secret``. Encoded ones are searched with white space
    ignored, since ``base64`` and ``xxd -p`` wrap their lines."""
    raw = secret.encode()
    encoded = {raw.hex(), raw.hex().upper()}
    for skip in range(3):  # base64 of a longer text holding the secret at any of the 3 alignments
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * skip + raw).decode()
            encoded.add(text[4 if skip else 0 : 4 * ((skip + len(raw)) // 3)])
    return {secret, secret[::-1]}, encoded


def _compact_spans(text: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Where ``needles`` occur in ``text`` once white space is ignored, as spans of ``text``."""
    kept = [i for i, c in enumerate(text) if not c.isspace()]
    compact = "".join(text[i] for i in kept)
    spans = []
    for needle in needles:
        if len(needle) >= MIN_SECRET_CHARS:
            spans += [(kept[m.start()], kept[m.end() - 1] + 1) for m in re.finditer(re.escape(needle), compact)]
    return spans


@functools.lru_cache(maxsize=8)
def _sentences(system_prompt: str) -> tuple[re.Pattern[str], ...]:
    pieces = re.split(r"(?<=[.:;!?])\s+|\n+|\s+-\s+", system_prompt)
    patterns = []
    for piece in pieces:
        words = re.findall(r"\w+", piece)
        if len(piece) >= MIN_SENTENCE_CHARS and len(words) >= 5:
            patterns.append(re.compile(r"\W+".join(map(re.escape, words)), re.I))
    return tuple(patterns)


def redact_server_secrets(text: str, *, env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """``text`` without the values of the server's secrets, in any spelling of ``_spellings`` (plain
    ones in any letter case)."""
    spans: list[tuple[int, int]] = []
    for secret in server_secrets(env):
        plain, encoded = _spellings(secret)
        for spelling in plain:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(spelling), text, re.I)]
        spans += _compact_spans(text, encoded)
    if not spans:
        return text, []
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + marker("server_secret") + text[end:]
    return text, ["server_secret"] * len(merged)


def redact(
    text: str,
    *,
    budget_figures: Iterable[int] = (),
    system_prompt: str = "",
    env: Mapping[str, str] | None = None,
) -> tuple[str, list[str]]:
    """``text`` with secrets, budget internals and system prompt sentences redacted; the kinds removed."""
    text, kinds = redact_server_secrets(text, env=env)

    def sub(pattern: re.Pattern[str], kind: str, source: str, keep: int = 0) -> str:
        def replace(match: re.Match[str]) -> str:
            if keep and _NOT_A_VALUE.match(match.group(keep + 1)):
                return match.group(0)
            kinds.append(kind)
            groups = [g or "" for g in match.groups()]
            return "".join(groups[:keep]) + marker(kind) + "".join(groups[keep + 1 :])

        return pattern.sub(replace, source)

    text = sub(_PRIVATE_KEY, "private_key", text)
    text = sub(_KEYS, "api_key", text)
    text = sub(_AUTH_HEADER, "credential", text, keep=1)
    text = sub(_BEARER, "credential", text, keep=1)
    text = sub(_ASSIGNMENT, "credential", text, keep=1)
    text = sub(_URL_PASSWORD, "credential", text, keep=1)
    text = sub(_MICROS, "budget_figure", text, keep=1)
    for figure in {f for f in budget_figures if f >= 10_000}:
        text = sub(re.compile(rf"(?<![\d.,]){figure}(?![\d])"), "budget_figure", text)
    if system_prompt:
        for sentence in _sentences(system_prompt):
            text = sub(sentence, "system_prompt", text)
    return text, kinds
