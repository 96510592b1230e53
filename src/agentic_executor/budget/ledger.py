"""The budget ledger: pools, reservations, settlement. Invariant 1 lives here.

For every pool, at every moment: ``consumed + reserved <= allocated``.

- ``reserve`` is one conditional UPDATE per pool, all in one transaction, pools locked in id
  order (no deadlocks): either every pool takes the reservation or none does. It commits before
  the model call it pays for, so a crash can never hide a call in flight.
- ``settle`` moves a reservation's real cost from reserved to consumed, and releases the rest.
  It never charges more than was reserved: the reservation is the bound the call was allowed.
- ``recover_abandoned`` settles reservations left open by a dead process at their full worst
  case: the provider may have billed the call, so we may under-spend, never over-spend.

The database enforces the same inequality with a CHECK constraint, as a second line.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from sqlalchemy import Connection, select, update

from agentic_executor.errors import BadInput, BudgetExhausted, NotFound
from agentic_executor.store.db import Database
from agentic_executor.store.tables import budget_pools, budget_reservations, sessions

MICROS_PER_DOLLAR = 1_000_000


def dollars_to_micros(dollars: float | str) -> int:
    """Dollars at the API edge → integer micro-dollars (rounded down: never grant more)."""
    try:
        value = Decimal(str(dollars))
    except InvalidOperation as exc:
        raise BadInput(f"not a dollar amount: {dollars!r}") from exc
    if not value.is_finite():
        raise BadInput(f"not a dollar amount: {dollars!r}")
    return int((value * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_FLOOR))


def micros_to_dollars(micros: int) -> float:
    return micros / MICROS_PER_DOLLAR


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass(frozen=True)
class PoolState:
    id: str
    allocated: int
    consumed: int
    reserved: int

    @property
    def committed(self) -> int:
        """What users see as spent: consumed plus what in-flight calls may still cost."""
        return self.consumed + self.reserved

    @property
    def available(self) -> int:
        return self.allocated - self.consumed - self.reserved


@dataclass(frozen=True)
class Reservation:
    id: str
    pool_ids: tuple[str, ...]
    amount: int
    session_id: str | None = None


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- pools -------------------------------------------------------------------------
    def create_pool(self, kind: str, allocated: int, *, conn: Connection | None = None) -> str:
        if allocated <= 0:
            raise BadInput("a budget must be greater than zero", details={"field": "budget"})
        pool_id = new_id("pool")
        with self._tx(conn) as c:
            c.execute(
                budget_pools.insert().values(
                    id=pool_id,
                    kind=kind,
                    allocated_micros=allocated,
                    consumed_micros=0,
                    reserved_micros=0,
                    created_at=utcnow(),
                )
            )
        return pool_id

    def pool(self, pool_id: str, *, conn: Connection | None = None) -> PoolState:
        with self._tx(conn, read_only=True) as c:
            row = c.execute(select(budget_pools).where(budget_pools.c.id == pool_id)).one_or_none()
        if row is None:
            raise NotFound(f"no budget pool {pool_id!r}")
        return PoolState(row.id, row.allocated_micros, row.consumed_micros, row.reserved_micros)

    def available(self, pool_ids: Sequence[str], *, conn: Connection | None = None) -> int:
        with self._tx(conn, read_only=True) as c:
            return min(self.pool(p, conn=c).available for p in pool_ids)

    def add_funds(self, pool_id: str, amount: int, *, conn: Connection | None = None) -> PoolState:
        """Top up a pool (and the session that owns it, if any)."""
        if amount <= 0:
            raise BadInput("the amount to add must be greater than zero", details={"field": "amount"})
        with self._tx(conn) as c:
            c.execute(
                update(budget_pools)
                .where(budget_pools.c.id == pool_id)
                .values(allocated_micros=budget_pools.c.allocated_micros + amount)
            )
            c.execute(
                update(sessions)
                .where(sessions.c.pool_id == pool_id)
                .values(budget_micros=sessions.c.budget_micros + amount)
            )
            return self.pool(pool_id, conn=c)

    # ---- reserve / settle --------------------------------------------------------------
    def reserve(
        self,
        pool_ids: Sequence[str],
        amount: int,
        *,
        session_id: str | None = None,
        iteration: int | None = None,
        attempt: int | None = None,
        owner: str | None = None,
    ) -> Reservation:
        """Hold ``amount`` in every pool, or in none; committed before this returns."""
        if amount < 0:
            raise BadInput("a reservation cannot be negative")
        ordered = tuple(sorted(set(pool_ids)))
        res_id = new_id("rsv")
        with self.db.transaction() as c:
            for pool_id in ordered:
                done = c.execute(
                    update(budget_pools)
                    .where(budget_pools.c.id == pool_id)
                    .where(
                        budget_pools.c.consumed_micros + budget_pools.c.reserved_micros + amount
                        <= budget_pools.c.allocated_micros
                    )
                    .values(reserved_micros=budget_pools.c.reserved_micros + amount)
                )
                if done.rowcount != 1:
                    raise BudgetExhausted(  # raising rolls back the pools already updated
                        f"budget pool {pool_id} cannot cover {amount} micro-dollars",
                        details={"pool_id": pool_id, "requested_micros": amount},
                    )
            c.execute(
                budget_reservations.insert().values(
                    id=res_id,
                    pool_ids=json.dumps(ordered),
                    amount_micros=amount,
                    status="open",
                    session_id=session_id,
                    iteration=iteration,
                    attempt=attempt,
                    owner=owner,
                    created_at=utcnow(),
                )
            )
        return Reservation(res_id, ordered, amount, session_id)

    def settle(
        self,
        reservation: str | Reservation,
        actual: int,
        *,
        conn: Connection | None = None,
        settled_as: str = "actual",
        mirror_session: bool = True,
    ) -> int:
        """Charge ``min(actual, reserved)`` and release the rest; returns what was charged.

        Idempotent: settling an already settled reservation changes nothing and returns 0. Given
        the ``Reservation`` itself (not only its id), no row is read back first. With
        ``mirror_session=False`` the caller updates ``agentic_sessions.consumed_micros`` itself, in
        the same transaction.
        """
        if actual < 0:
            raise BadInput("an actual cost cannot be negative")
        with self._tx(conn) as c:
            if isinstance(reservation, str):
                reservation = self._load(c, reservation)
            charged = min(actual, reservation.amount)
            closed = c.execute(
                update(budget_reservations)
                .where(budget_reservations.c.id == reservation.id, budget_reservations.c.status == "open")
                .values(status="settled", actual_micros=actual, settled_as=settled_as, settled_at=utcnow())
            )
            if closed.rowcount != 1:
                return 0
            for pool_id in reservation.pool_ids:
                c.execute(
                    update(budget_pools)
                    .where(budget_pools.c.id == pool_id)
                    .values(
                        reserved_micros=budget_pools.c.reserved_micros - reservation.amount,
                        consumed_micros=budget_pools.c.consumed_micros + charged,
                    )
                )
            if reservation.session_id is not None and mirror_session:
                c.execute(
                    update(sessions)
                    .where(sessions.c.id == reservation.session_id)
                    .values(consumed_micros=sessions.c.consumed_micros + charged)
                )
            return charged

    @staticmethod
    def _load(conn: Connection, reservation_id: str) -> Reservation:
        row = conn.execute(select(budget_reservations).where(budget_reservations.c.id == reservation_id)).one_or_none()
        if row is None:
            raise NotFound(f"no reservation {reservation_id!r}")
        return Reservation(row.id, tuple(json.loads(row.pool_ids)), int(row.amount_micros), row.session_id)

    def settle_worst_case(self, reservation: str | Reservation, *, conn: Connection | None = None) -> int:
        with self._tx(conn) as c:
            if isinstance(reservation, str):
                reservation = self._load(c, reservation)
            return self.settle(reservation, reservation.amount, conn=c, settled_as="worst_case")

    def open_reservations(self, *, owner: str | None = None, session_id: str | None = None) -> list[str]:
        query = select(budget_reservations.c.id).where(budget_reservations.c.status == "open")
        if owner is not None:
            query = query.where(budget_reservations.c.owner == owner)
        if session_id is not None:
            query = query.where(budget_reservations.c.session_id == session_id)
        with self.db.transaction() as c:
            return list(c.execute(query.order_by(budget_reservations.c.created_at)).scalars())

    def recover_abandoned(self, *, owner: str | None = None, session_id: str | None = None) -> list[str]:
        """Settle at worst case every open reservation of a dead owner (or of a session being resumed)."""
        if owner is None and session_id is None:
            raise BadInput("recover_abandoned needs an owner or a session id")
        ids = self.open_reservations(owner=owner, session_id=session_id)
        for res_id in ids:
            self.settle_worst_case(res_id)
        return ids

    # ---- plumbing ----------------------------------------------------------------------
    @contextmanager
    def _tx(self, conn: Connection | None, *, read_only: bool = False) -> Iterator[Connection]:
        """Join the caller's transaction when given one, else run in a new one."""
        if conn is not None:
            yield conn
        else:
            with self.db.read() if read_only else self.db.transaction() as c:
                yield c
