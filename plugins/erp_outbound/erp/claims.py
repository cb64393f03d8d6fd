"""Claims: a run owns the documents it extracted until it has recorded their verdicts.

Two overlapping runs, or two workers, never send the same document: a claim is a row
keyed by the document, inserted only where none exists. A claim carries a lease, so a
claim held by a dead worker expires and the document becomes claimable again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Engine

from erp_outbound.erp.state import claims, utcnow

# How long a claim holds without its run renewing it; a dead worker's claims free up after this.
DEFAULT_LEASE_SECONDS = float(os.environ.get("ERP_OUTBOUND_CLAIM_LEASE_SECONDS", 30 * 60))


def _insert_ignoring_duplicates(engine: Engine):
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(claims).on_conflict_do_nothing()
    if dialect == "sqlite":
        return insert(claims).prefix_with("OR IGNORE")
    if dialect in ("mysql", "mariadb"):
        return insert(claims).prefix_with("IGNORE")
    raise ValueError(f"erp-outbound keeps its claims in SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")


class Claims:
    """The claims of one run of one DAG. A claim is keyed by the document alone: whichever DAG
    holds it, no other run sends it meanwhile."""

    def __init__(self, engine: Engine, run_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS, *,
                 dag_id: str | None):
        self.engine = engine
        self.run_id = run_id
        self.dag_id = dag_id
        self.lease_seconds = lease_seconds
        self.token = str(uuid.uuid4())
        self._all_held_until = None  # see hold_all
        self._whole: tuple[str, int] | None = None

    def claim(self, vendor: str, doc_type: str, document_ids: Sequence[str]) -> set[str]:
        """Claim what is free (or whose lease ran out); return the ids this run now holds."""
        if not document_ids:
            return set()
        now = utcnow()
        ids = [str(i) for i in document_ids]
        key = and_(claims.c.vendor == vendor, claims.c.doc_type == doc_type, claims.c.document_id.in_(ids))
        with self.engine.begin() as conn:
            conn.execute(delete(claims).where(key, claims.c.lease_until < now))
        rows = [
            dict(vendor=vendor, doc_type=doc_type, document_id=i, run_id=self.run_id, dag_id=self.dag_id,
                 token=self.token, lease_until=now + timedelta(seconds=self.lease_seconds))
            for i in ids
        ]
        with self.engine.begin() as conn:
            conn.execute(_insert_ignoring_duplicates(self.engine), rows)
            held = conn.execute(select(claims.c.document_id).where(key, claims.c.token == self.token))
            return {r[0] for r in held}

    def held(self, vendor: str, doc_type: str, document_ids: Sequence[str]) -> set[str]:
        """Of ``document_ids``, those this run still holds; renews the leases less than half left.

        A claim whose lease ran out is still this run's until another run takes it over. Only an
        expired claim is taken over, so one with half its lease left is held for that long without
        a write: the load step asks for every batch it reads, and a read costs far less than an update.
        """
        if not document_ids:
            return set()
        now = utcnow()
        ids = [str(i) for i in document_ids]
        if self._whole is not None and (now < self._all_held_until or self.hold_all(*self._whole)):
            return set(ids)
        key = and_(claims.c.vendor == vendor, claims.c.doc_type == doc_type)
        # Not indexable on purpose: the documents are found by the primary key. On the token's index
        # (SQLite's choice without statistics) each call would read every claim of the run: quadratic.
        ours = (claims.c.token + "") == self.token
        safe_until = now + timedelta(seconds=self.lease_seconds / 2)
        with self.engine.begin() as conn:
            rows = conn.execute(select(claims.c.document_id, claims.c.lease_until)
                                .where(key, claims.c.document_id.in_(ids), ours)).all()
            held = {r[0] for r in rows if r[1] >= safe_until}
            stale = [r[0] for r in rows if r[1] < safe_until]
            if stale:  # renewed only while still ours: an expired claim may have been taken over meanwhile
                mine = and_(key, claims.c.document_id.in_(stale), ours)
                renew = update(claims).where(mine).values(lease_until=now + timedelta(seconds=self.lease_seconds))
                if self.engine.dialect.update_returning:
                    held |= {r[0] for r in conn.execute(renew.returning(claims.c.document_id))}
                else:
                    conn.execute(renew)
                    held |= {r[0] for r in conn.execute(select(claims.c.document_id).where(mine))}
        return held

    def hold_all(self, vendor: str, claimed: int) -> bool:
        """Whether every one of the ``claimed`` claims of this run for ``vendor`` is still its own.

        Then none can be taken over before the earliest lease runs out (only an expired claim is), and
        ``held`` answers without a query until half a lease before that: the load step's claim check
        costs one read (and a write per half lease) instead of a read per record batch. False (some
        claim was lost): ``held`` asks, batch by batch.
        """
        now = utcnow()
        ours = and_(claims.c.vendor == vendor, claims.c.token == self.token)
        with self.engine.begin() as conn:
            count, earliest = conn.execute(select(func.count(), func.min(claims.c.lease_until)).where(ours)).one()
            if count == claimed > 0 and earliest < now + timedelta(seconds=self.lease_seconds / 2):
                earliest = now + timedelta(seconds=self.lease_seconds)
                # the rows renewed are the ones still ours at this moment: an expired one may just have gone
                count = conn.execute(update(claims).where(ours).values(lease_until=earliest)).rowcount
        whole = count == claimed > 0
        self._whole = (vendor, claimed) if whole else None
        self._all_held_until = earliest - timedelta(seconds=self.lease_seconds / 2) if whole else None
        return whole

    @classmethod
    def resume(cls, engine: Engine, run_id: str, token: str, lease_seconds: float = DEFAULT_LEASE_SECONDS, *,
               dag_id: str | None):
        """The claims of an earlier task of the same run (tasks pass the token through XCom)."""
        resumed = cls(engine, run_id, lease_seconds, dag_id=dag_id)
        resumed.token = token
        return resumed

    def release(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(claims).where(claims.c.token == self.token)).rowcount
