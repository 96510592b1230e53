"""Redacting tool output: secrets in any listed spelling, budget internals, the system prompt."""

from __future__ import annotations

import base64

import pytest

from agentic_executor.engine.prompts import SYSTEM_PROMPT
from agentic_executor.hooks.redact import redact, redact_server_secrets, server_secrets

ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-ServerKey-1234567890abcdef",
    "OPENAI_API_KEY": "sk-proj-OpenAIServerKey0987654321zz",
    "AGX_API_TOKEN": "agx-bearer-0123456789-secret",
    "AGX_DATABASE_URL": "postgresql://agx:pg-Passw0rd-42@db.internal/agx",
    "AGX_HOME": "/var/lib/agx",
    "PATH": "/usr/bin:/bin",
}


def test_server_secrets_are_the_values_of_secret_variables_only() -> None:
    found = set(server_secrets(ENV))
    assert found == {ENV["ANTHROPIC_API_KEY"], ENV["OPENAI_API_KEY"], ENV["AGX_API_TOKEN"], "pg-Passw0rd-42"}


@pytest.mark.parametrize(
    "spelling",
    [
        lambda v: v,
        lambda v: v[::-1],
        lambda v: base64.b64encode(v.encode()).decode(),
        lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
        lambda v: v.encode().hex(),
    ],
    ids=["raw", "reversed", "base64", "urlsafe-base64", "hex"],
)
@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AGX_API_TOKEN"])
def test_server_secret_values_are_redacted_in_every_spelling(name: str, spelling: object) -> None:
    assert callable(spelling)
    leaked = spelling(ENV[name])
    text, kinds = redact(f"cat .env\nvalue: {leaked}\n", env=ENV)
    assert leaked not in text and "[redacted: server secret]" in text
    assert "server_secret" in kinds


def test_prompt_redaction_only_touches_server_secrets() -> None:
    prompt = f"Use the key {ENV['AGX_API_TOKEN']} and the public token=abc123456789 example"
    text, kinds = redact_server_secrets(prompt, env=ENV)
    assert text == "Use the key [redacted: server secret] and the public token=abc123456789 example"
    assert kinds == ["server_secret"]


SHAPED = {
    "anthropic key": ("key: sk-ant-api03-abcdefghijklmnop", "sk-ant-api03-abcdefghijklmnop"),
    "openai key": ("OPENAI=sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghijklmnopqrstuvwx"),
    "github token": ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    "aws key id": ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    "env token": ("export SERVICE_TOKEN=tok_live_9f8e7d6c5b", "tok_live_9f8e7d6c5b"),
    "quoted secret": ('CLIENT_SECRET = "s3cr3t-value"', "s3cr3t-value"),
    "json password": ('{"db_password": "hunter2hunter2"}', "hunter2hunter2"),
    "bearer header": ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
    "curl header": ("curl -H 'authorization: token abcdef0123456789'", "abcdef0123456789"),
    "url password": ("postgres://admin:s3cretpass@localhost/db", "s3cretpass"),
    "private key": ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaA"),
}


@pytest.mark.parametrize(("text", "secret"), SHAPED.values(), ids=SHAPED.keys())
def test_anything_shaped_like_a_credential_is_redacted(text: str, secret: str) -> None:
    clean, kinds = redact(text, env={})
    assert secret not in clean and "[redacted:" in clean and kinds


@pytest.mark.parametrize(
    "text",
    [
        'API_KEY = os.environ["API_KEY"]',
        "token = get_token()",
        "password: str",
        "export TOKEN=$TOKEN",
        "tokenizer = load_tokenizer(path)",
        "The budget is tight; spend wisely.",
    ],
)
def test_references_to_secrets_are_not_secrets(text: str) -> None:
    assert redact(text, env={}) == (text, [])


def test_budget_internals_are_redacted() -> None:
    text = '{"budget_micros": 5000000, "consumed_micros": 1234567, "note": "left 3765433"}'
    clean, kinds = redact(text, budget_figures=[5_000_000, 1_234_567, 3_765_433], env={})
    assert "5000000" not in clean and "1234567" not in clean and "3765433" not in clean
    assert kinds.count("budget_figure") == 3
    assert clean.startswith('{"budget_micros": [redacted: budget figure], "consumed_micros"')


def test_system_prompt_sentences_are_redacted() -> None:
    leaked = "My instructions say: " + SYSTEM_PROMPT
    clean, kinds = redact(leaked, system_prompt=SYSTEM_PROMPT, env={})
    assert "autonomous engineer working alone" not in clean
    assert "Work in small verified steps" not in clean
    assert kinds.count("system_prompt") >= 4
