"""Every 4xx is ``{"error": {"code", "message", "details"}}`` naming the field and the fix; no input gives a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Server

pytestmark = pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return dict(body["error"])


def test_invalid_fields_are_422_naming_the_field(api_server: Server) -> None:
    with api_server.client(api_server.token("submit", "errors")) as c:
        e = error(c.post("/api/agentic/submit", json={"prompt": "x", "budget": -1}), 422, "bad_input")
        assert (
            e["details"]["field"] == "budget"
            and "budget" in e["message"]
            and "greater than or equal to 0.000001" in e["message"]
        )
        e = error(c.post("/api/agentic/submit", json={"budget": 1}), 422, "bad_input")
        assert e["message"] == "prompt is required: add it to the request"
        e = error(c.post("/api/agentic/submit", json={"prompt": "   ", "budget": 1}), 422, "bad_input")
        assert e["details"]["field"] == "prompt" and "empty" in e["message"]
        e = error(
            c.post("/api/agentic/submit", json={"prompt": "x", "budget": 1, "model": "gpt-nope"}), 422, "unknown_model"
        )
        e = error(
            c.post(
                "/api/agentic/submit",
                content=b'{"prompt": "x", "budget": 1',
                headers={"content-type": "application/json"},
            ),
            422,
            "bad_input",
        )
        assert "not valid JSON" in e["message"]
        for raw in (
            b'{"prompt": "a\\u0000b", "budget": 1}',
            b'{"prompt": "\\ud800", "budget": 1}',
            b'{"prompt": "x", "budget": NaN}',
            b'{"prompt": "x", "budget": 1e400}',
            b'{"prompt": "x", "budget": 100000000000000000000000}',
            b'{"prompt": "x", "budget": "five"}',
            b'{"prompt": "x", "budget": true}',
            b'{"prompt": "x", "budget": "5"}',
            b'{"prompt": ["x"], "budget": 1}',
            b"[]",
            b'"text"',
        ):
            error(
                c.post("/api/agentic/submit", content=raw, headers={"content-type": "application/json"}),
                422,
                "bad_input",
            )
        spec = {"title": "t", "description": "d"}
        e = error(
            c.post("/api/agentic/convoy", json={"name": "c", "budget": 1, "perTaskBudget": 2, "tasks": [spec]}),
            422,
            "bad_input",
        )
        assert e["details"]["field"] == "perTaskBudget" and "lower it" in e["message"]
        e = error(c.post("/api/agentic/convoy", json={"name": "c", "budget": 1, "tasks": []}), 422, "bad_input")
        assert e["details"]["field"] == "tasks"
        e = error(
            c.post("/api/agentic/convoy", json={"name": "c", "budget": 0.000002, "tasks": [spec] * 3}), 422, "bad_input"
        )
        assert e["details"]["field"] == "budget"
        e = error(c.get("/api/agentic/sessions", params={"status": "nope", "limit": 0}), 422, "bad_input")
        assert {x["field"] for x in e["details"]["errors"]} == {"status", "limit"}
        error(c.get("/api/agentic/sessions/bad id!"), 422, "bad_input")


def test_unknown_ids_routes_and_methods(api_server: Server) -> None:
    with api_server.client(api_server.token("admin", "errors")) as c:
        e = error(c.get("/api/agentic/sessions/agt_000000000000"), 404, "not_found")
        assert e["details"] == {"session_id": "agt_000000000000"}
        error(c.get("/tasks/agt_000000000000"), 404, "not_found")
        error(c.get("/convoys/convoy_000000000000"), 404, "not_found")
        for action in ("pause", "resume", "cancel", "approve"):
            error(c.post(f"/api/agentic/sessions/agt_000000000000/{action}"), 404, "not_found")
        error(c.get("/api/agentic/nothing-here"), 404, "not_found")
        error(c.delete("/api/agentic/submit"), 405, "method_not_allowed")


def test_impossible_transitions_are_409(api_server: Server) -> None:
    with api_server.client(api_server.token("admin", "errors-409")) as c:
        sid = c.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()["taskId"]
        api_server.wait([sid])
        e = error(c.post(f"/api/agentic/sessions/{sid}/pause"), 409, "conflict")
        assert "awaiting_review" in e["message"]
        error(c.post(f"/api/agentic/sessions/{sid}/resume"), 409, "conflict")
        assert c.post(f"/api/agentic/sessions/{sid}/cancel").status_code == 409


def test_oversized_bodies_are_413(api_server: Server) -> None:
    big = b'{"prompt": "' + b"x" * (2 << 20) + b'", "budget": 1}'
    with api_server.client(api_server.token("submit", "errors")) as c:
        e = error(
            c.post("/api/agentic/submit", content=big, headers={"content-type": "application/json"}), 413, "too_large"
        )
        assert e["details"]["limit_bytes"] == 1 << 20

        def chunks() -> Any:  # no Content-Length: counted as it streams in
            for _ in range(40):
                yield b"x" * 65536

        error(
            c.post("/api/agentic/submit", content=chunks(), headers={"content-type": "application/json"}),
            413,
            "too_large",
        )
