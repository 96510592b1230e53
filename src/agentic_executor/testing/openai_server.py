"""A fake OpenAI-compatible chat-completions endpoint, driven by the same scenarios as the fake
Messages API: each request is translated to a Messages request, answered by ``FakeModel``, and
translated back (``choices``, ``tool_calls``, ``usage`` with cached tokens, OpenAI's error shape).

    with FakeOpenAIServer("builder") as server:
        client = openai.OpenAI(api_key="test", base_url=server.base_url)   # …/v1
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agentic_executor.testing.engine import FakeModel

FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}


def to_messages_request(chat: dict[str, Any]) -> dict[str, Any]:
    system = "\n".join(m.get("content") or "" for m in chat.get("messages", []) if m.get("role") == "system")
    messages: list[dict[str, Any]] = []
    for m in chat.get("messages", []):
        role = m.get("role")
        if role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m["content"]}] if m.get("content") else []
            for call in m.get("tool_calls") or []:
                fn = call["function"]
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": fn["name"],
                        "input": json.loads(fn.get("arguments") or "{}"),
                    }
                )
            messages.append({"role": "assistant", "content": blocks})
        elif role == "tool":
            result = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": m.get("content") or ""}
            if messages and messages[-1]["role"] == "user" and isinstance(messages[-1]["content"], list):
                messages[-1]["content"].append(result)
            else:
                messages.append({"role": "user", "content": [result]})
        elif role == "user":
            text = {"type": "text", "text": m.get("content") or ""}
            if messages and messages[-1]["role"] == "user" and isinstance(messages[-1]["content"], list):
                messages[-1]["content"].append(text)
            else:
                messages.append({"role": "user", "content": [text]})
    body: dict[str, Any] = {
        "model": chat.get("model"),
        "max_tokens": chat.get("max_completion_tokens") or chat.get("max_tokens") or 4096,
        "messages": messages,
    }
    if system:
        body["system"] = system
    if chat.get("tools"):
        body["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters") or {"type": "object"},
            }
            for t in chat["tools"]
        ]
    return body


def to_chat_completion(message: dict[str, Any]) -> dict[str, Any]:
    text = "".join(b["text"] for b in message["content"] if b["type"] == "text")
    calls = [
        {"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
        for b in message["content"]
        if b["type"] == "tool_use"
    ]
    usage = message["usage"]
    cached = usage.get("cache_read_input_tokens") or 0
    prompt = usage["input_tokens"] + cached + (usage.get("cache_creation_input_tokens") or 0)
    return {
        "id": "chatcmpl-" + message["id"].removeprefix("msg_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message["model"],
        "choices": [
            {
                "index": 0,
                "finish_reason": FINISH.get(message["stop_reason"], "stop"),
                "message": {"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})},
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": usage["output_tokens"],
            "total_tokens": prompt + usage["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


class FakeOpenAIServer:
    def __init__(self, scenario: str = "builder", *, port: int = 0) -> None:
        self.scenario = scenario
        self.model = FakeModel(min_cache_tokens=1024)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                try:
                    chat = json.loads(raw)
                except json.JSONDecodeError as exc:
                    return self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                answer = owner.model.handle(
                    "/v1/messages", owner.scenario, json.dumps(to_messages_request(chat)).encode()
                )
                if answer.status != 200:
                    error = answer.body.get("error", {})
                    return self._send(
                        answer.status,
                        {"error": {"message": error.get("message", ""), "type": error.get("type", "api_error")}},
                        answer.headers,
                    )
                self._send(200, to_chat_completion(answer.body))

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
