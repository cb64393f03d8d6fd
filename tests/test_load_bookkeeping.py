"""The load step's bookkeeping on its hot path: journal entries as driver tuples, claims checked once
per half lease. Each must keep exactly what the slow path kept, on every database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import claims as claims_module
from erp_outbound.erp import journal as journal_module
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal, journal_row
from erp_outbound.erp.state import claims as claims_table
from erp_outbound.erp.state import ensure_tables, verdicts

DAG = "gep_por_status"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def engine(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'erp.db'}" if request.param == "sqlite"
           else request.getfixturevalue(f"{request.param}_url"))
    engine = make_engine(url)
    ensure_tables(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM erp_outbound_verdicts")
        conn.exec_driver_sql("DELETE FROM erp_outbound_claims")
    yield engine
    engine.dispose()


@pytest.fixture
def clock(monkeypatch):
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]  # no microseconds: a naive adapter drops them
    monkeypatch.setattr(claims_module, "utcnow", lambda: now[0])
    monkeypatch.setattr(journal_module, "utcnow", lambda: now[0])
    return SimpleNamespace(now=lambda: now[0],
                           advance=lambda seconds: now.__setitem__(0, now[0] + timedelta(seconds=seconds)))


def statements(engine) -> list[str]:
    """Every SQL statement the engine runs from now on."""
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: seen.append(sql))
    return seen


VERDICTS = [
    Verdict(vendor="gep", doc_type="POR_STATUS", document_id="1", identifier="4800000001", outcome=Outcome.DELIVERED,
            status="ACKNOWLEDGED", http_status=200),
    Verdict(vendor="gep", doc_type="POR_STATUS", document_id="2", identifier="4800000002", outcome=Outcome.REJECTED,
            message="E42: unknown order", error_code="E42", http_status=200, attempts_before=2),
    Verdict(vendor="gep", doc_type="POR_STATUS", document_id="3", identifier="4800000003", outcome=Outcome.DELIVERED,
            status="ACKNOWLEDGED", http_status=200),
    Verdict(vendor="procuros", doc_type="ORDER", document_id="4", identifier="PO-4", outcome=Outcome.BUILD_ERROR,
            errors={"items[0].gtin": ["is ünknown"]}, attempts_before=1),
    Verdict(vendor="procuros", doc_type="ORDER", document_id="5", identifier="PO-5", outcome=Outcome.DELIVERED,
            status="TRANSMITTED", vendor_reference="tx-5", vendor_status="SUCCESS", http_status=201),
    Verdict(vendor="gep", doc_type="POR_STATUS", document_id="6", identifier="4800000006", outcome=Outcome.DEFERRED,
            message="HTTP 503", http_status=503),
]


def test_journal_entries_read_back_as_the_verdicts_in_their_order(engine, clock):
    journal = Journal(engine, "run-1", dag_id=DAG)
    assert journal.record(VERDICTS) == len(VERDICTS)
    assert journal.of_run("gep") == [v for v in VERDICTS if v.vendor == "gep"]
    assert journal.of_run("procuros") == [v for v in VERDICTS if v.vendor == "procuros"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(verdicts).order_by(verdicts.c.id)).all()
    assert [r.document_id for r in rows] == ["1", "2", "3", "4", "5", "6"]  # plain and explained stay in order
    assert {(r.recorded_at, r.dag_id, r.run_id, r.dry_run, r.applied_at, r.applied_by) for r in rows} == {
        (clock.now(), DAG, "run-1", False, None, None)}
    assert journal.unapplied("gep")  # the pending index sees them: applied_at is a real NULL


def test_journal_entries_store_time_exactly_as_sqlalchemys_own_insert(engine, clock):
    """The driver path binds the run's time with SQLAlchemy's types: stored alike, compared alike."""
    Journal(engine, "run-1", dag_id=DAG).record(VERDICTS[:1])
    with engine.begin() as conn:
        conn.execute(sa.insert(verdicts), [journal_row(VERDICTS[2], DAG, "run-1", False, clock.now())])
        stored = conn.execute(sa.select(sa.func.count()).where(verdicts.c.recorded_at == clock.now())).scalar()
        raw = {r[0] for r in conn.execute(sa.text("SELECT recorded_at FROM erp_outbound_verdicts"))}
    assert stored == 2
    assert len(raw) == 1  # both rows hold the same stored value


def test_a_dry_runs_entries_stay_apart(engine, clock):
    Journal(engine, "run-1", dry_run=True, dag_id=DAG).record(VERDICTS[:3])
    assert Journal(engine, "run-1", dag_id=DAG).unapplied("gep") == []


def claim_all(engine, ids, lease=60.0) -> Claims:
    claims = Claims(engine, "run-1", lease, dag_id=DAG)
    assert claims.claim("gep", "POR_STATUS", ids) == set(ids)
    return claims


def test_claims_all_still_held_are_checked_once_for_half_a_lease(engine, clock):
    ids = [str(i) for i in range(1, 101)]
    claims = claim_all(engine, ids)
    assert claims.hold_all("gep", len(ids))
    seen = statements(engine)
    for start in range(0, 100, 10):
        assert claims.held("gep", "POR_STATUS", ids[start:start + 10]) == set(ids[start:start + 10])
    assert seen == []  # no query per batch while every claim is known to be ours
    clock.advance(31)  # past half the lease: asked again, and renewed
    assert claims.held("gep", "POR_STATUS", ids[:10]) == set(ids[:10])
    assert seen
    with engine.connect() as conn:
        leases = {r[0] for r in conn.execute(sa.select(claims_table.c.lease_until))}
    assert leases == {clock.now() + timedelta(seconds=60)}


def test_a_claim_taken_over_before_the_load_is_never_sent(engine, clock):
    ids = [str(i) for i in range(1, 11)]
    claims = claim_all(engine, ids)
    clock.advance(61)  # every lease ran out; another run takes one over
    other = Claims(engine, "run-2", 60, dag_id=DAG)
    assert other.claim("gep", "POR_STATUS", ["3"]) == {"3"}
    assert not claims.hold_all("gep", len(ids))
    assert claims.held("gep", "POR_STATUS", ids) == set(ids) - {"3"}


def test_a_claim_lost_while_the_load_ran_is_found_when_half_the_lease_is_gone(engine, clock):
    ids = [str(i) for i in range(1, 11)]
    claims = claim_all(engine, ids)
    assert claims.hold_all("gep", len(ids))
    with engine.begin() as conn:  # a person (or a bug) removed one claim meanwhile
        conn.execute(sa.delete(claims_table).where(claims_table.c.document_id == "7"))
    assert claims.held("gep", "POR_STATUS", ids) == set(ids)  # within the window: no claim can be taken over
    clock.advance(31)
    assert claims.held("gep", "POR_STATUS", ids) == set(ids) - {"7"}


def test_expired_claims_still_ours_are_renewed_and_held(engine, clock):
    ids = [str(i) for i in range(1, 11)]
    claims = claim_all(engine, ids)
    clock.advance(90)  # expired, nobody took them
    assert claims.hold_all("gep", len(ids))
    assert claims.held("gep", "POR_STATUS", ids) == set(ids)
    other = Claims(engine, "run-2", 60, dag_id=DAG)
    assert other.claim("gep", "POR_STATUS", ids) == set()  # renewed: not claimable


def test_more_entries_than_one_statement_holds_are_all_kept_in_order(engine, clock):
    """SQLite gets multi-row INSERTs of at most 2,500 rows: a long stretch of one shape takes several."""
    batch = [Verdict(vendor="gep", doc_type="POR_STATUS", document_id=str(i), identifier=f"48{i:08d}",
                     outcome=Outcome.DELIVERED, status="ACKNOWLEDGED", http_status=200)
             for i in range(6001)]
    batch[3000] = Verdict(vendor="gep", doc_type="POR_STATUS", document_id="3000", identifier="4800003000",
                          outcome=Outcome.REJECTED, message="E1: closed")
    assert Journal(engine, "run-1", dag_id=DAG).record(batch) == 6001
    assert Journal(engine, "run-1", dag_id=DAG).of_run("gep") == batch
