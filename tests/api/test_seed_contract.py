"""The seed's curl commands, host swapped, against a live ``agx serve``: same paths, same shapes."""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

from .conftest import Server

SUBMIT = """curl -s -X POST {host}/api/agentic/submit \\
  -H "Content-Type: application/json" {auth} \\
  -d '{{
    "type": "template-generation",
    "prompt": "Create a fitness studio template with class schedule, instructor bios, and membership tiers. Style: Canon-compliant, black & white.",
    "budget": 5.00,
    "acceptanceCriteria": [
      "Homepage renders with studio name",
      "Class schedule displays with filtering",
      "All quality gates pass"
    ]
  }}'"""  # noqa: E501 - the seed's command, verbatim

CONVOY = """curl -s -X POST {host}/api/agentic/convoy \\
  -H "Content-Type: application/json" {auth} \\
  -d '{{
    "name": "E-commerce Component Suite",
    "budget": 15.00,
    "tasks": [
      {{
        "title": "Product catalog",
        "description": "Grid layout with filtering and sorting",
        "acceptanceCriteria": ["Responsive grid", "Filter by category"]
      }},
      {{
        "title": "Shopping cart",
        "description": "Add/remove items, quantity adjustment",
        "acceptanceCriteria": ["Persist cart state", "Calculate totals"]
      }},
      {{
        "title": "Checkout form",
        "description": "Multi-step checkout with validation",
        "acceptanceCriteria": ["Form validation", "Stripe integration"]
      }}
    ]
  }}'"""

STATUS = "curl -s {auth} {host}{path}"


def curl(command: str, server: Server, token: str, **fields: str) -> Any:
    auth = f"-H {shlex.quote('Authorization: Bearer ' + token)}"
    out = subprocess.run(
        ["bash", "-c", command.format(host=server.base, auth=auth, **fields)], capture_output=True, check=True
    )
    return json.loads(out.stdout)


def shape(value: Any, expected: dict[str, type | tuple[type, ...]]) -> None:
    assert isinstance(value, dict)
    for key, kind in expected.items():
        assert key in value, f"missing {key}"
        assert isinstance(value[key], kind), f"{key}: {value[key]!r} is not {kind}"


def test_the_seeds_curl_commands_get_the_seeds_shapes(api_server: Server) -> None:
    token = api_server.token("submit", "seed")
    task = curl(SUBMIT, api_server, token)
    shape(task, {"taskId": str, "epicId": str, "status": str, "budget": (int, float), "statusUrl": str})
    assert task["taskId"].startswith("agt_") and task["epicId"].startswith("epic_")
    assert task["status"] == "queued" and task["budget"] == 5.0 and task["statusUrl"] == f"/tasks/{task['taskId']}"

    convoy = curl(CONVOY, api_server, token)
    shape(
        convoy,
        {
            "convoyId": str,
            "tasks": list,
            "totalBudget": (int, float),
            "perTaskBudget": (int, float),
            "status": str,
            "statusUrl": str,
        },
    )
    assert convoy["convoyId"].startswith("convoy_") and len(convoy["tasks"]) == 3
    assert convoy["totalBudget"] == 15.0 and convoy["perTaskBudget"] == 5.0 and convoy["status"] == "queued"
    assert convoy["statusUrl"] == f"/convoys/{convoy['convoyId']}"

    # every statusUrl resolves, and the seed's "Check Session Status" answers in its shape
    for path in (task["statusUrl"], f"/api/agentic/sessions/{task['taskId']}"):
        status = curl(STATUS, api_server, token, path=path)
        shape(status, {"session": dict, "budget": dict, "iterations": list, "events": list})
        assert "preview" in status and isinstance(status["preview"], str | None)
        shape(status["session"], {"id": str, "status": str, "iteration": int})
        shape(
            status["budget"],
            {
                "allocated": (int, float),
                "consumed": (int, float),
                "remaining": (int, float),
                "percentUsed": (int, float),
                "exhausted": bool,
            },
        )
        assert status["session"]["id"] == task["taskId"] and status["budget"]["allocated"] == 5.0
    convoy_status = curl(STATUS, api_server, token, path=convoy["statusUrl"])
    assert [t["id"] for t in convoy_status["tasks"]] == convoy["tasks"]
    assert convoy_status["budget"]["allocated"] == 15.0
    assert all(t["budget"]["allocated"] == 5.0 for t in convoy_status["tasks"])

    # the work gets done: awaiting review, with the served preview
    rows = api_server.wait([task["taskId"], *convoy["tasks"]])
    assert {r.status for r in rows} == {"awaiting_review"}
    final = curl(STATUS, api_server, token, path=task["statusUrl"])
    assert final["preview"] == f"{api_server.base}/preview/{task['taskId']}/"
    assert final["session"]["iteration"] == len(final["iterations"]) > 0
    iteration = final["iterations"][0]
    shape(iteration, {"iteration": int, "cost": float, "inputTokens": int, "outputTokens": int})
    shape(final["events"][0], {"id": int, "type": str, "data": dict, "createdAt": str})
    with api_server.client(token) as client:
        page = client.get(final["preview"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<h1" in page.text
        done = client.get(convoy["statusUrl"]).json()
        assert done["status"] == "completed" and done["finishedAt"] is not None
