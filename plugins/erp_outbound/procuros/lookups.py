"""Asking Procuros what became of a transaction whose answer was lost.

A send whose answer was lost (timeout, dropped connection, a 5xx after Procuros may have
acted) is sent again; "Payload already received" then says Procuros has it, but not whether
it took it with 201 (TRANSMITTED) or 202 (NO_ACTION). When that happens, or when the tries
run out after a lost answer, the load step asks ``GET /v2/all-transactions`` (filtered by type
and creation date) for the transaction and decides by Procuros' own status:

=============  ==========================================================================
SUCCESS        DELIVERED, status TRANSMITTED
DROPPED        NO_ACTION (taken, not forwarded: what a 202 is)
PENDING        DEFERRED: not decided at Procuros yet; asked again next run
FAILED         UNCERTAIN: Procuros took it and it failed there; a person checks the portal
UNKNOWN        UNCERTAIN
not listed     UNCERTAIN after "Payload already received" (Procuros says it has it);
               DEFERRED when the tries ran out (it goes again next run)
lookup fails   DEFERRED (the next send is answered "Payload already received": asked again)
=============  ==========================================================================

Every decided verdict carries the ``procurosTransactionId`` (vendor_reference) and the status
(vendor_status) for the write-back.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from erp_outbound.core.http import ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Undecided, Verdict
from erp_outbound.procuros.flows import TYPES
from erp_outbound.procuros.pages import cursor_pages

TRANSMITTED, NO_ACTION = "TRANSMITTED", "NO_ACTION"
LOOKBACK_DAYS = 7  # how far back an earlier send whose answer was lost is looked for
LOOKED_UP = "Asked Procuros after a lost answer"
# What a person does about an UNCERTAIN Procuros document: there is nothing to release, the row is pending.
UNCERTAIN_ACTION = (
    "nothing to release: the row stays pending (Status empty), and every run sends it again, hears 'Payload "
    "already received' and asks Procuros again. Look the transaction up in the Procuros portal (its "
    "procurosTransactionId is the vendor reference). If it reached the partner, write Status TRANSMITTED on the "
    "ERP row yourself; if not, resolve it in the portal (Procuros refuses the same payload again) until "
    "Procuros' status says SUCCESS or DROPPED.")


def may_have_acted(error: TransientError) -> bool:
    """No answer (timeout, dropped connection), a 5xx other than 503, or an unreadable 2xx.

    A 4xx (429, 408 included) and a 503 say the request was not taken.
    """
    status = error.status
    return status is None or (status >= 500 and status != 503) or 200 <= status < 300


@dataclass(slots=True, kw_only=True)
class AskProcuros(Undecided):
    """Not decided yet: Procuros may have the document; ``look_up`` asks it before anything is recorded."""

    already_received: bool = False  # Procuros answered "Payload already received"
    content: str = ""  # the content we sent, as canonical JSON, to tell versions apart


def ask(doc: dict, already_received: bool, message: str, http_status: int | None = None) -> AskProcuros:
    return AskProcuros(vendor="procuros", doc_type=doc["doc_type"], document_id=doc["document_id"],
                       identifier=doc["identifier"], message=message, http_status=http_status,
                       attempts_before=doc.get("attempts", 0), already_received=already_received,
                       content=_canonical_content(doc.get("body")))


def _canonical_content(body) -> str:
    try:
        value = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return ""
    content = value.get("content") if isinstance(value, dict) else None
    return json.dumps(content, sort_keys=True, separators=(",", ":")) if content is not None else ""


async def transaction_page(client, params: dict) -> dict:
    """One page of GET /v2/all-transactions; TransientError when it cannot be read."""
    answer = await client.list_all_transactions(params)
    raise_for_transient(answer)
    client.check_access(answer)
    body = answer.body if isinstance(answer.body, dict) else None
    if answer.status != 200 or body is None or not isinstance(body.get("items"), list):
        raise TransientError(f"unreadable transaction list: HTTP {answer.status}", status=answer.status)
    return body


async def find_transactions(client, doc_type: str, since: date, until: date) -> list[dict]:
    """Every transaction of ``doc_type`` created between the two dates (all pages), each page under the
    client's retry policy. Raises TransientError or ConnectionConfigError."""
    params = {"filter[type]": doc_type, "filter[created_between]": f"{since.isoformat()},{until.isoformat()}",
              "per_page": 100}

    def read_page(cursor: str | None):
        return transaction_page(client, params | ({"cursor": cursor} if cursor else {}))

    found: list[dict] = []
    async for body in cursor_pages(client, read_page, "GET /v2/all-transactions"):
        found += [t for t in body["items"] if isinstance(t, dict)]
    return found


def match(asked: AskProcuros, transactions: list[dict]) -> dict | None:
    """Our transaction among Procuros': same type and number; the one with our content if several."""
    field = TYPES.get(asked.doc_type, (None, None))[1]

    def content(tx: dict) -> str:
        return json.dumps(tx.get("content"), sort_keys=True, separators=(",", ":"))

    same = [tx for tx in transactions if tx.get("type") == asked.doc_type]
    if field:
        same = [tx for tx in same if str(((tx.get("content") or {}).get("header") or {}).get(field)) == asked.identifier]
    exact = [tx for tx in same if asked.content and content(tx) == asked.content]
    if exact:
        return exact[-1]
    if field and len(same) == 1:
        return same[0]
    return None  # nothing, or several versions none of which is ours exactly


def decide(asked: AskProcuros, tx: dict | None) -> Verdict:
    """The verdict by Procuros' status of the transaction (see the table above)."""
    def verdict(outcome: Outcome, message: str, status: str | None = None) -> Verdict:
        return Verdict(vendor="procuros", doc_type=asked.doc_type, document_id=asked.document_id,
                       identifier=asked.identifier, outcome=outcome, status=status, message=message,
                       vendor_reference=str(tx["procurosTransactionId"]) if tx else None,
                       vendor_status=str(tx.get("status")) if tx else None, http_status=asked.http_status,
                       attempts_before=asked.attempts_before)

    if tx is None:
        if asked.already_received:
            return verdict(Outcome.UNCERTAIN, "Procuros answered 'Payload already received' but lists no such "
                                              "transaction: check the document in the Procuros portal.")
        return verdict(Outcome.DEFERRED, f"{asked.message}; Procuros lists no such transaction: sent again next run")
    status = str(tx.get("status") or "").upper()
    said = f"{LOOKED_UP}: transaction {tx['procurosTransactionId']} is {status or 'without status'}"
    if status == "SUCCESS":
        return verdict(Outcome.DELIVERED, said, TRANSMITTED)
    if status == "DROPPED":
        return verdict(Outcome.NO_ACTION, f"{said} (taken, not forwarded)", NO_ACTION)
    if status == "PENDING":
        return verdict(Outcome.DEFERRED, f"{said}: asked again next run")
    return verdict(Outcome.UNCERTAIN, f"{said}: check it in the Procuros portal before sending it again")


async def look_up(client, asked: list[AskProcuros]) -> list[Verdict]:
    """One listing per document type; a failed listing leaves its documents DEFERRED."""
    by_type: dict[str, list[AskProcuros]] = defaultdict(list)
    for a in asked:
        by_type[a.doc_type].append(a)
    # Procuros dates are Berlin time: the extra day on either side covers any offset (today in UTC, not in
    # the worker's TZ, so every worker asks for the same window).
    today = datetime.now(timezone.utc).date()
    since, until = today - timedelta(days=LOOKBACK_DAYS + 1), today + timedelta(days=1)
    verdicts: list[Verdict] = []
    for doc_type, docs in by_type.items():
        try:
            transactions = await find_transactions(client, doc_type, since, until)
        except (TransientError, ConnectionConfigError) as exc:  # e.g. a token without access to the listing
            reason = exc.reason if isinstance(exc, TransientError) else str(exc)
            verdicts += [Verdict(vendor="procuros", doc_type=a.doc_type, document_id=a.document_id,
                                 identifier=a.identifier, outcome=Outcome.DEFERRED,
                                 message=f"{a.message}; asking Procuros what became of it failed ({reason}): "
                                         "asked again next run", http_status=a.http_status,
                                 attempts_before=a.attempts_before) for a in docs]
            continue
        verdicts += [decide(a, match(a, transactions)) for a in docs]
    return verdicts
