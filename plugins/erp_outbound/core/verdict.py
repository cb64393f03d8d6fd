"""The verdict: what happened to one document in one run, and what the ERP must record.

Also what a vendor's send step returns: a ``SendOutcome`` (final verdict, several verdicts, or
"ask the vendor after the sends", with the ``Undecided`` documents).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any


class Outcome(str, enum.Enum):
    """How a document's delivery ended. Only the first two give the document a status."""

    DELIVERED = "DELIVERED"  # the vendor took it: the document gets its final status
    NO_ACTION = "NO_ACTION"  # taken but not forwarded (Procuros 202): final status too
    REJECTED = "REJECTED"  # the vendor refused this document: stays pending, attempts + 1
    BUILD_ERROR = "BUILD_ERROR"  # no valid payload could be built: stays pending, attempts + 1
    DEFERRED = "DEFERRED"  # vendor or network failure: the document is left untouched
    # The request went out and its answer was lost: the vendor may or may not have acted on it.
    # Not final, no attempt, no refusal: the document waits until a person checked at the vendor
    # and released it (``erp-outbound release``).
    UNCERTAIN = "UNCERTAIN"

    @property
    def is_final(self) -> bool:
        return self in (Outcome.DELIVERED, Outcome.NO_ACTION)

    @property
    def counts_attempt(self) -> bool:
        return self in (Outcome.REJECTED, Outcome.BUILD_ERROR)


# GEP journals one a key: slots make them smaller and quicker to build. Keywords only: a field
# moved or added here can never shift the values of a verdict built elsewhere.
@dataclass(slots=True, kw_only=True)
class Verdict:
    """One document's verdict. ``status`` is the value written to the ERP's status field."""

    vendor: str
    doc_type: str
    document_id: str
    identifier: str
    outcome: Outcome
    status: str | None = None
    message: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    error_url: str | None = None
    error_code: str | None = None  # the vendor's error id (RamBase errorMessageId, GEP errorCode)
    vendor_reference: str | None = None
    vendor_status: str | None = None  # the vendor's own status of it, when asked (Procuros' transaction status)
    http_status: int | None = None
    attempts_before: int = 0

    def as_row(self) -> dict[str, Any]:
        # A plain field copy: dataclasses.asdict deep-copies, a cost paid on every verdict journalled.
        row = {name: getattr(self, name) for name in _FIELDS}
        row["outcome"] = self.outcome.value
        row["errors"] = {name: list(msgs) for name, msgs in self.errors.items()}
        return row

    @property
    def reason(self) -> str:
        return reason_text(self.message, self.errors)


_FIELDS = tuple(f.name for f in fields(Verdict))


def reason_text(message: str | None, errors: dict[str, list[str]] | None) -> str:
    """One line for people: the message and the per-field errors."""
    parts = [message or ""]
    parts += [f"{name}: {'; '.join(msgs)}" for name, msgs in sorted((errors or {}).items())]
    return " | ".join(p for p in parts if p)


@dataclass(slots=True, kw_only=True)
class Undecided:
    """A document sent whose verdict is not known yet: the vendor is asked about it after the sends.

    Never recorded as it is. A vendor subclasses it with what it asks by (Procuros: whether it said
    "Payload already received" and the content sent; RamBase: the operation instance still running).
    """

    vendor: str
    doc_type: str
    document_id: str
    identifier: str
    attempts_before: int = 0
    message: str | None = None
    http_status: int | None = None


class Decision(str, enum.Enum):
    """What sending one request decided."""

    FINAL = "final verdict"  # one document, its verdict: recorded at once
    SEVERAL = "several verdicts"  # a batch (GEP): one verdict per document, recorded at once
    ASK_AFTER = "ask the vendor after the sends"  # not decided yet: see ``Undecided``


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOutcome:
    """The one type a vendor's send step returns (and its deferral, when every try failed).

    Built with ``final``, ``several`` or ``ask_after``, so each says which of the three it is.
    """

    decision: Decision
    verdicts: tuple[Verdict, ...] = ()
    undecided: Undecided | None = None

    @classmethod
    def final(cls, verdict: Verdict) -> SendOutcome:
        return cls(decision=Decision.FINAL, verdicts=(verdict,))

    @classmethod
    def several(cls, verdicts: Iterable[Verdict]) -> SendOutcome:
        return cls(decision=Decision.SEVERAL, verdicts=tuple(verdicts))

    @classmethod
    def ask_after(cls, undecided: Undecided) -> SendOutcome:
        return cls(decision=Decision.ASK_AFTER, undecided=undecided)
