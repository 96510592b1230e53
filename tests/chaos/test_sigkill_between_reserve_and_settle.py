"""A process SIGKILLed while its model call is in flight: the reservation survives and is settled
at its worst case when the owner comes back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from agentic_executor.budget.ledger import Ledger
from agentic_executor.store.db import Database

CHILD = textwrap.dedent("""
    import sys, time
    from agentic_executor.budget.ledger import Ledger
    from agentic_executor.store.db import Database
    ledger = Ledger(Database(sys.argv[1]))
    ledger.reserve([sys.argv[2]], 700_000, owner="worker-7", session_id=None)
    print("reserved", flush=True)
    time.sleep(60)  # "the model call": killed here
""")


@pytest.mark.slow
def test_killed_reserver_is_settled_at_worst_case(db: Database, db_url: str) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 1_000_000)
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, pool], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "reserved"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    state = ledger.pool(pool)
    assert (state.consumed, state.reserved) == (0, 700_000)  # written ahead, durably
    # Nobody can spend the in-flight money while the owner is dead.
    assert ledger.available([pool]) == 300_000

    restarted = Database(db_url)
    recovered = Ledger(restarted).recover_abandoned(owner="worker-7")
    restarted.dispose()
    assert len(recovered) == 1
    state = ledger.pool(pool)
    assert (state.consumed, state.reserved) == (700_000, 0)
