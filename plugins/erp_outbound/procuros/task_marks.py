"""Marking Procuros tasks processed when an answer may be lost: look before marking again.

``PUT /v2/tasks/{id}`` ends the task at Procuros. When its answer is lost (timeout, dropped
connection, a 5xx after Procuros may have acted), the task is looked up in ``GET /v2/tasks``
before it is marked again: a task Procuros no longer lists was marked, so it is not marked twice.
"""

from __future__ import annotations

import threading

from erp_outbound.core.http import TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.procuros.lookups import may_have_acted
from erp_outbound.procuros.verdicts import mark_verdict

MAX_PAGES = 10_000


def pending_task_ids(hook, session, timeout: float) -> set[str]:
    """The ids of every task Procuros still lists (all pages). Raises TransientError."""
    ids: set[str] = set()
    cursor = None
    for _ in range(MAX_PAGES):
        answer = hook.list_tasks(session, 100, cursor, timeout)
        raise_for_transient(answer)
        hook.check_access(answer)
        body = answer.body if isinstance(answer.body, dict) else None
        if answer.status != 200 or body is None or not isinstance(body.get("items"), list):
            raise TransientError(f"unreadable task list: HTTP {answer.status}", status=answer.status)
        ids |= {str(t.get("procurosTaskId")) for t in body["items"] if isinstance(t, dict)}
        cursor = body.get("nextCursor")
        if not body.get("hasMore") or not cursor:
            break
    return ids


class TaskMarker:
    """Marks tasks; a task whose last mark may have arrived is re-listed before a new mark."""

    def __init__(self, hook) -> None:
        self.hook = hook
        self.unsure: set[str] = set()
        self.relisted = 0
        self._lock = threading.Lock()

    def mark(self, session, task: dict, timeout: float) -> Verdict:
        task_id = task["task_id"]
        if task_id in self.unsure:
            with self._lock:
                self.relisted += 1
            if task_id not in pending_task_ids(self.hook, session, timeout):
                return Verdict("procuros", task["task_type"], task_id, task_id, Outcome.DELIVERED, status="PROCESSED",
                               message="The answer to marking it was lost; Procuros no longer lists it: marked.")
        try:
            answer = self.hook.mark_task(session, task_id, task["body"], timeout)
            raise_for_transient(answer)
        except TransientError as error:
            if may_have_acted(error):
                self.unsure.add(task_id)
            raise
        return mark_verdict(task, answer, self.hook.check_access)
