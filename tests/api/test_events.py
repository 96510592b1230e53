"""Server-sent events: live, in order, and resumable with Last-Event-ID."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from .conftest import Server


def read_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream: one dict per event, with its SSE id and name."""
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value


def test_events_stream_live_in_order_and_resume_after_a_reconnect(api_server: Server) -> None:
    token = api_server.token("submit", "events")
    with api_server.client(token) as client:
        task = client.post("/api/agentic/submit", json={"prompt": "Build a bakery page", "budget": 2}).json()
        url = f"/api/agentic/sessions/{task['taskId']}/events"
        received: list[dict[str, Any]] = []
        seen_at: list[float] = []
        with client.stream("GET", url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            for event in read_events(stream):
                received.append(event)
                seen_at.append(time.monotonic())
                if event["event"] == "status_changed" and event["data"]["data"]["status"] == "awaiting_review":
                    break
    ids = [int(e["id"]) for e in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e["event"] == e["data"]["type"] and int(e["id"]) == e["data"]["id"] for e in received)
    types = [e["event"] for e in received]
    assert types[0] == "session_created"
    for kind in ("status_changed", "tool_call", "iteration_completed", "completion_claimed", "completion_approved"):
        assert kind in types
    assert seen_at[-1] - seen_at[0] > 0.2, "events arrived as they happened, not in one batch at the end"
    with api_server.app.db.read() as conn:
        from agentic_executor.store import queries

        stored = [e.id for e in queries.events_since(conn, 0, session_id=task["taskId"])]
    assert ids == stored[: len(ids)]

    # reconnect after the 4th event: exactly the rest, in order
    with api_server.client(token) as client:
        rest = client.get(url, params={"follow": "false"}, headers={"Last-Event-ID": str(ids[3])})
        resumed = [int(e["id"]) for e in read_events(rest)]
    assert resumed == stored[4:]

    # a follower reconnecting at the end gets what happens next, live (here: the approval)
    got: list[dict[str, Any]] = []

    def follow() -> None:
        with (
            api_server.client(token) as client,
            client.stream("GET", url, headers={"Last-Event-ID": str(stored[-1])}) as stream,
        ):
            for event in read_events(stream):
                got.append(event)
                if event["event"] == "status_changed":
                    return

    reader = threading.Thread(target=follow)
    reader.start()
    time.sleep(0.5)
    with api_server.client(api_server.token("review", "events")) as client:
        assert client.post(f"/api/agentic/sessions/{task['taskId']}/approve").status_code == 200
    reader.join(timeout=10)
    assert [e["event"] for e in got] == ["review_approved", "status_changed"]
    assert int(got[0]["id"]) > stored[-1]


def test_a_bad_last_event_id_is_a_422(api_server: Server) -> None:
    sid = _any_session(api_server)
    with api_server.client(api_server.token("read", "events")) as client:
        r = client.get(f"/api/agentic/sessions/{sid}/events", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "last-event-id"


def _any_session(server: Server) -> str:
    with server.client(server.token("submit", "events")) as client:
        return str(client.post("/api/agentic/submit", json={"prompt": "x", "budget": 0.5}).json()["taskId"])
