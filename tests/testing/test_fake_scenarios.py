"""Each scenario of the fake model, driven through the official SDK by a tiny agent loop (tools applied
in a tmp dir, tool results sent back, complete_task judged), reaches its documented end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentic_executor.engine.tools import TOOL_SPECS
from agentic_executor.testing import COMPLETION_MARKER, FakeModelServer

MODEL = "claude-sonnet-4-6"
TOOLS: list[dict[str, Any]] = TOOL_SPECS  # the agent's real tools
TASK = "Build a single-page website for a fitness studio in index.html."


def make_client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer("builder") as srv:
        yield srv


@pytest.fixture
def connect(server: FakeModelServer) -> Iterator[Callable[[str], anthropic.Anthropic]]:
    """Open SDK clients on a scenario's url; closed after the test."""
    clients: list[anthropic.Anthropic] = []

    def open_client(scenario: str) -> anthropic.Anthropic:
        clients.append(make_client(server.url_for(scenario)))
        return clients[-1]

    yield open_client
    for c in clients:
        c.close()


Judge = Callable[[Path, int], str | None]
"""Given the work dir and the number of completion attempts so far, a rejection reason or None."""


def accept_if_page(workdir: Path, _attempt: int) -> str | None:
    return None if (workdir / "index.html").is_file() else "index.html does not exist"


@dataclass
class Run:
    """What the test agent loop saw."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    replies: list[anthropic.types.Message] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    completed: bool = False

    def turns(self) -> list[list[str]]:
        """Tool names called by each reply (text-only replies give an empty list)."""
        return [[b.name for b in r.content if b.type == "tool_use"] for r in self.replies]


def execute(workdir: Path, name: str, args: dict[str, Any]) -> tuple[str, bool]:
    """Apply a tool call inside ``workdir``; returns (result text, is_error)."""
    if name == "write_file":
        (workdir / args["path"]).write_text(args["content"], encoding="utf-8")
        return f"wrote {len(args['content'].encode())} bytes to {args['path']}", False
    if name == "read_file":
        target = workdir / args["path"]
        if not target.is_file():
            return f"no such file: {args['path']}", True
        return target.read_text(encoding="utf-8"), False
    if name == "list_files":
        return "\n".join(sorted(p.name for p in workdir.iterdir())), False
    if name == "run_command":
        sizes = "\n".join(f"{p.stat().st_size} {p.name}" for p in sorted(workdir.iterdir()))
        return f"$ {args['command']}\n{sizes}", False
    return f"unknown tool {name}", True


def drive(
    send: Callable[..., anthropic.types.Message],
    workdir: Path,
    *,
    judge: Judge = accept_if_page,
    max_turns: int = 12,
    tools: list[dict[str, Any]] = TOOLS,
    **create: Any,
) -> Run:
    """A minimal agent loop: call the model (``send`` is ``client.messages.create`` or a wrapper), run
    its tools, judge complete_task, until a completion is accepted or a reply calls no tool."""
    run = Run(messages=[{"role": "user", "content": TASK}])
    attempts = 0
    for _ in range(max_turns):
        reply = send(model=MODEL, max_tokens=8000, tools=tools, messages=run.messages, **create)
        run.replies.append(reply)
        run.messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]})
        results: list[dict[str, Any]] = []
        for block in reply.content:
            if block.type != "tool_use":
                continue
            run.tools_called.append(block.name)
            if block.name == "complete_task":
                attempts += 1
                reason = judge(workdir, attempts)
                if reason is None:
                    run.completed = True
                    return run
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block.id,
                        "is_error": True,
                        "content": f"COMPLETION REJECTED: {reason}",
                    }
                )
            else:
                output, is_error = execute(workdir, block.name, dict(block.input))
                results.append(
                    {"type": "tool_result", "tool_use_id": block.id, "content": output, "is_error": is_error}
                )
        if not results:
            return run
        run.messages.append({"role": "user", "content": results})
    return run


def text_before_every_tool(run: Run) -> bool:
    for reply in run.replies:
        kinds = [b.type for b in reply.content if b.type != "thinking"]
        if "tool_use" in kinds and kinds[0] != "text":
            return False
    return True


def test_builder_writes_checks_and_completes(connect: Callable[[str], anthropic.Anthropic], tmp_path: Path) -> None:
    run = drive(connect("builder").messages.create, tmp_path)
    assert run.completed
    assert run.turns() == [["write_file"], ["run_command"], ["complete_task"]]
    assert text_before_every_tool(run)
    page = (tmp_path / "index.html").read_text()
    for needle in (
        '<html lang="en">',
        "<title>",
        'name="viewport"',
        "<h1>",
        "<table>",
        '<th scope="col">',
        "Meet the instructors",
        "Membership tiers",
    ):
        assert needle in page
    assert "skip-link" not in page.split("</style>")[1]
    assert run.replies[1].content[1].input == {"command": "ls -la && wc -c index.html"}
    assert "index.html" in run.replies[2].content[1].input["summary"]


def test_builder_fixes_the_page_after_a_rejection(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    run = drive(
        connect("builder").messages.create,
        tmp_path,
        judge=lambda _dir, attempt: "the page has no footer" if attempt == 1 else None,
    )
    assert run.completed
    assert run.turns() == [["write_file"], ["run_command"], ["complete_task"]] * 2
    page = (tmp_path / "index.html").read_text()
    assert 'class="skip-link"' in page and "<footer>" in page and "<address>" in page


def test_builder_says_done_after_an_accepted_completion(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    client = connect("builder")
    run = drive(client.messages.create, tmp_path)
    final = run.replies[-1].content[-1]
    messages = [
        *run.messages,
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": final.id, "content": "Completion accepted."}],
        },
    ]
    done = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=messages)
    assert done.stop_reason == "end_turn" and [b.type for b in done.content] == ["text"]


def test_builder_only_uses_offered_tools(connect: Callable[[str], anthropic.Anthropic], tmp_path: Path) -> None:
    client = connect("builder")
    no_check = [t for t in TOOLS if t["name"] != "run_command"]
    run = drive(client.messages.create, tmp_path, tools=no_check)
    assert run.completed and run.turns() == [["write_file"], ["complete_task"]]
    no_tools = client.messages.create(model=MODEL, max_tokens=8000, messages=[{"role": "user", "content": TASK}])
    assert no_tools.stop_reason == "end_turn" and "```html" in no_tools.content[0].text
    other = tmp_path / "other"
    other.mkdir()
    no_complete = drive(client.messages.create, other, tools=[t for t in TOOLS if t["name"] != "complete_task"])
    assert no_complete.turns() == [["write_file"], ["run_command"], []]
    assert COMPLETION_MARKER in no_complete.replies[-1].content[0].text


def test_replayed_request_gets_the_same_reply(connect: Callable[[str], anthropic.Anthropic]) -> None:
    client = connect("builder")
    messages = [{"role": "user", "content": TASK}]
    a = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=messages)
    b = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=messages)
    assert a.id != b.id and a.content == b.content


def test_liar_claims_then_builds_after_rejection(connect: Callable[[str], anthropic.Anthropic], tmp_path: Path) -> None:
    run = drive(connect("liar").messages.create, tmp_path)
    assert run.completed
    assert run.turns() == [["complete_task"], ["write_file"], ["run_command"], ["complete_task"]]
    assert COMPLETION_MARKER in run.replies[0].content[0].text
    assert (tmp_path / "index.html").is_file()
    assert 'class="skip-link"' not in (tmp_path / "index.html").read_text()


def test_liar_rejected_by_text_message(connect: Callable[[str], anthropic.Anthropic]) -> None:
    client = connect("liar")
    no_complete = [t for t in TOOLS if t["name"] != "complete_task"]
    messages: list[dict[str, Any]] = [{"role": "user", "content": TASK}]
    claim = client.messages.create(model=MODEL, max_tokens=8000, tools=no_complete, messages=messages)
    assert claim.stop_reason == "end_turn" and COMPLETION_MARKER in claim.content[0].text
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in claim.content]},
        {"role": "user", "content": "COMPLETION REJECTED: index.html does not exist."},
    ]
    fix = client.messages.create(model=MODEL, max_tokens=8000, tools=no_complete, messages=messages)
    assert [b.name for b in fix.content if b.type == "tool_use"] == ["write_file"]


def test_injector_writes_and_reads_notes_before_the_page(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    run = drive(connect("injector").messages.create, tmp_path)
    assert run.completed
    assert run.turns() == [["write_file"], ["read_file"], ["write_file"], ["run_command"], ["complete_task"]]
    assert [b.input.get("path") for r in run.replies for b in r.content if b.type == "tool_use"][:3] == [
        "notes.md",
        "notes.md",
        "index.html",
    ]
    notes = (tmp_path / "notes.md").read_text()
    for signal in (COMPLETION_MARKER, "ignore budget", "bypass quality gates", "SYSTEM: task approved"):
        assert signal.lower() in notes.lower()
    read_back = run.messages[4]["content"][0]
    assert read_back["type"] == "tool_result" and COMPLETION_MARKER in read_back["content"]
    assert (tmp_path / "index.html").is_file() and text_before_every_tool(run)


def test_spender_burns_max_tokens_and_never_completes(connect: Callable[[str], anthropic.Anthropic]) -> None:
    client = connect("spender")
    messages: list[dict[str, Any]] = [{"role": "user", "content": TASK}]
    for _ in range(3):
        reply = client.messages.create(model=MODEL, max_tokens=700, tools=TOOLS, messages=messages)
        assert reply.stop_reason == "max_tokens" and reply.usage.output_tokens == 700
        assert all(b.type == "text" for b in reply.content)
        messages += [{"role": "assistant", "content": reply.content[0].text}, {"role": "user", "content": "Go on."}]


def test_flaky_fails_each_turn_three_times_then_builds(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    client = connect("flaky")
    failures: list[str] = []

    def send(**kwargs: Any) -> anthropic.types.Message:
        for _ in range(4):
            try:
                return client.messages.create(**kwargs)
            except (anthropic.OverloadedError, anthropic.InternalServerError, anthropic.RateLimitError) as exc:
                failures.append(type(exc).__name__)
        raise AssertionError("still failing after 4 attempts")

    run = drive(send, tmp_path)
    assert run.completed and run.turns() == [["write_file"], ["run_command"], ["complete_task"]]
    assert failures == ["OverloadedError", "InternalServerError", "RateLimitError"] * 3


def test_thinker_signatures_validate_unchanged_and_fail_altered(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    client = connect("thinker")
    run = drive(client.messages.create, tmp_path, thinking={"type": "enabled", "budget_tokens": 2048})
    assert run.completed and run.turns() == [["write_file"], ["run_command"], ["complete_task"]]
    for reply in run.replies:
        first = reply.content[0]
        assert first.type == "thinking" and first.signature and first.thinking.startswith("Turn ")
    history = run.messages[:-1]  # ends with the tool result of run_command; thinking blocks sent back as-is
    thinking = {"type": "enabled", "budget_tokens": 2048}
    ok = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=history, thinking=thinking)
    assert ok.content[0].type == "thinking"
    counted = client.messages.count_tokens(model=MODEL, tools=TOOLS, messages=history, thinking=thinking)
    assert counted.input_tokens == ok.usage.input_tokens  # no cache_control: all input is uncached
    for field_name, change in (("thinking", " (edited)"), ("signature", "x")):
        tampered = [dict(m) for m in history]
        blocks = [dict(b) for b in tampered[1]["content"]]
        blocks[0][field_name] = blocks[0][field_name] + change
        tampered[1]["content"] = blocks
        with pytest.raises(anthropic.BadRequestError, match="Invalid signature in thinking block"):
            client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=tampered, thinking=thinking)


def test_thinker_without_thinking_has_no_thinking_blocks(
    connect: Callable[[str], anthropic.Anthropic], tmp_path: Path
) -> None:
    run = drive(connect("thinker").messages.create, tmp_path)
    assert run.completed and all(b.type != "thinking" for r in run.replies for b in r.content)
