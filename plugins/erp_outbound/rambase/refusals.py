"""Why RamBase refused a call: the token, the ``$db``, a missing duty, or the document itself.

A refusal of the connection (token, ``$db``) is the same for every document: it stops the run
with a message naming the cause. A missing duty is named with the duty and the call it blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from erp_outbound.core.http import Answer
from erp_outbound.rambase.error_body import RambaseError, parse_error

TOKEN, DATABASE, DUTY, DOCUMENT = "token", "$db", "duty", "document"

# RamBase publishes no error id for an unknown $db: its message names the database.
_DATABASE = re.compile(r"\bdatabase\b|\$db\b", re.IGNORECASE)
_DUTY = re.compile(r"\bdut(y|ies)\b", re.IGNORECASE)


@dataclass
class Refusal:
    cause: str  # TOKEN, DATABASE, DUTY or DOCUMENT
    error: RambaseError | None
    status: int

    @property
    def duty(self) -> str | None:
        """The missing duty RamBase names ("Missing duty: X"), else None."""
        if self.cause != DUTY or self.error is None:
            return None
        if self.error.parameters:
            return self.error.parameters[0]
        _, _, named = self.error.message.partition(":")
        return named.strip() or None

    def text(self, call: str) -> str:
        said = self.error.text() if self.error else f"HTTP {self.status}"
        if self.cause == TOKEN:
            return (f"RamBase refused the access token on {call} (HTTP {self.status}: {said}): check the client id "
                    "and secret (the Client id and Client secret fields) and the grant type.")
        if self.cause == DATABASE:
            return (f"RamBase does not accept the database ($db) on {call} (HTTP {self.status}: {said}): check the "
                    "connection's extra db.")
        if self.cause == DUTY:
            duty = f"the duty {self.duty!r}" if self.duty else "a duty"
            return (f"The RamBase API client lacks {duty} for {call} (HTTP 403: {said}): grant it to the client "
                    "in RamBase.")
        return said


def refusal(answer: Answer) -> Refusal | None:
    """The cause of a 4xx answer (None for anything else)."""
    if not 400 <= answer.status < 500:
        return None
    error = parse_error(answer.body)
    words = " ".join(filter(None, [error.message, error.translated] if error else []))
    if answer.status == 401:
        return Refusal(TOKEN, error, 401)
    if answer.status == 403 and (error is None or not _DATABASE.search(words)):
        return Refusal(DUTY, error, 403)
    if error is not None and _DATABASE.search(words) and not _DUTY.search(words):
        return Refusal(DATABASE, error, answer.status)
    return Refusal(DOCUMENT, error, answer.status)
