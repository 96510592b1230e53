"""The OpenAPI spec is the contract: schemathesis fuzzes every operation of a live server, with
data that fits the spec and data that does not, and finds no 500 and no response that breaks
the spec (bounded: a few hundred cases, well under a minute).

Not checked: that every request the spec allows is accepted. Some rules are semantic and answer
422 by design: a model that is not an exact priced model, a prompt of blanks, a task cap above
its convoy's budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from agentic_executor.store import queries

from ..conftest import make_url
from .conftest import Server, start_server

FRAMING = {"transfer-encoding", "content-length", "host", "connection", "expect", "upgrade"}
"""Headers that frame the HTTP message itself: garbage there is refused by uvicorn before the app."""


def config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
            "checks": {
                # a body over the size limit is refused before it is parsed: 413 is a rejection too
                "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429]},
            },
        }
    )


EXAMPLES = 12  # per operation and mode: 23 operations × 2 modes × 12 ≈ 550 cases


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fuzz")
    server = start_server(
        tmp / "home", make_url("sqlite", tmp, request), worker=False, tokens={"fuzz": ("admin", "fuzz")}
    )
    yield server
    server.stop()


@pytest.mark.slow
def test_no_server_errors_and_no_schema_violations(live: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base}/openapi.json", config=config(live.tokens["fuzz"]))
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def run(case: schemathesis.Case) -> None:
                if FRAMING & {name.lower() for name in case.headers or {}}:
                    return
                case.call_and_validate(timeout=10, excluded_checks=[positive_data_acceptance])

            try:
                run()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} [{mode}]: {exc}")
    assert not failures, "\n\n".join(failures)
    with live.app.db.read() as conn:  # the fuzzer was authenticated: its valid submits got through
        assert queries.list_sessions_page(conn, tenant="fuzz", limit=1).total > 0
