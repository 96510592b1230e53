"""The review queue: reject with feedback (a new turn for the agent), approve, export."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import sqlalchemy as sa

from agentic_executor.store import queries
from agentic_executor.store.tables import budget_pools

from .conftest import Server


def test_reject_sends_feedback_back_then_approve_exports_the_work(api_server: Server, tmp_path: Path) -> None:
    submitter, reviewer = api_server.token("submit", "review"), api_server.token("review", "review")
    with api_server.client(submitter) as client:
        sid = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 2}).json()["taskId"]
    (first,) = api_server.wait([sid])
    assert first.status == "awaiting_review"

    with api_server.client(reviewer) as client:
        queue = client.get("/api/agentic/review").json()
        assert queue["total"] == 1
        (item,) = queue["sessions"]
        assert item["id"] == sid and item["summary"] and item["cost"] > 0
        assert item["preview"] == f"{api_server.base}/preview/{sid}/"
        assert [g["gate"] for g in item["gates"]] == ["security"] and item["gates"][0]["passed"] is True

        assert client.post(f"/api/agentic/sessions/{sid}/reject", json={}).status_code == 422
        rejected = client.post(f"/api/agentic/sessions/{sid}/reject", json={"feedback": "Add a contact section."})
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["session"]["status"] in ("queued", "running")
        conflict = client.post(f"/api/agentic/sessions/{sid}/approve")
        assert conflict.status_code in (200, 409)  # 200 only if the agent was already done again
    (second,) = api_server.wait([sid], until=lambda s: s.status == "awaiting_review" or s.status == "approved")
    assert second.iteration > first.iteration and second.run_no == first.run_no + 1
    with api_server.app.db.read() as conn:
        history = queries.load_messages(conn, sid)
        types = [e["type"] for e in queries.list_events(conn, sid)]
    feedback = [m for m in history if "Add a contact section." in str(m["content"])]
    assert len(feedback) == 1 and feedback[0]["role"] == "user"
    assert "review_rejected" in types

    with api_server.client(reviewer) as client:
        if second.status == "awaiting_review":
            approved = client.post(f"/api/agentic/sessions/{sid}/approve")
            assert approved.status_code == 200, approved.text
            assert approved.json()["session"]["session"]["status"] == "approved"
        assert client.post(f"/api/agentic/sessions/{sid}/approve").status_code == 409
        assert client.post(f"/api/agentic/sessions/{sid}/reject", json={"feedback": "x"}).status_code == 409
        archive = client.get(f"/api/agentic/sessions/{sid}/export", params={"format": "tar.gz"})
        assert archive.status_code == 200 and archive.headers["content-type"] == "application/gzip"
        with tarfile.open(fileobj=io.BytesIO(archive.content)) as tar:
            names = tar.getnames()
            page = tar.extractfile(f"{sid}/index.html")
            assert page is not None and b"<h1" in page.read()
        assert not any(".git" in n for n in names)
        bundle = client.get(f"/api/agentic/sessions/{sid}/export", params={"format": "bundle"})
        assert bundle.status_code == 200
    (tmp_path / "w.bundle").write_bytes(bundle.content)
    subprocess.run(["git", "clone", "-q", "-b", "main", str(tmp_path / "w.bundle"), str(tmp_path / "w")], check=True)
    assert (tmp_path / "w" / "index.html").read_text() == (Path(second.workspace or "") / "index.html").read_text()


def test_reject_needs_budget_for_the_next_turn(api_server: Server) -> None:
    submitter, reviewer = api_server.token("submit", "review-402"), api_server.token("review", "review-402")
    with api_server.client(submitter) as client:
        sid = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()["taskId"]
        assert client.get(f"/api/agentic/sessions/{sid}/export").status_code in (403, 409)
    (row,) = api_server.wait([sid])
    with api_server.app.db.transaction() as conn:  # as if the work had used all but half a cent
        conn.execute(
            sa.update(budget_pools)
            .where(budget_pools.c.id == row.pool_id)
            .values(consumed_micros=budget_pools.c.allocated_micros - 5_000)
        )
    with api_server.client(reviewer) as client:
        assert client.get(f"/api/agentic/sessions/{sid}/export").status_code == 409  # not approved yet
        refused = client.post(f"/api/agentic/sessions/{sid}/reject", json={"feedback": "More, please."})
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "budget_exhausted"
        assert client.get(f"/api/agentic/sessions/{sid}").json()["session"]["status"] == "awaiting_review"
