"""Marking Procuros tasks processed when an answer may be lost: look before marking again.

``PUT /v2/tasks/{id}`` ends the task at Procuros. When its answer is lost (timeout, dropped
connection, a 5xx after Procuros may have acted), the task is looked up in ``GET /v2/tasks``
before it is marked again: a task Procuros no longer lists was marked, so it is not marked twice.
"""

from __future__ import annotations

from erp_outbound.core.http import TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.procuros.lookups import may_have_acted
from erp_outbound.procuros.pages import cursor_pages
from erp_outbound.procuros.verdicts import mark_verdict


async def task_page(client, per_page: int, cursor: str | None) -> dict:
    """One page of GET /v2/tasks; TransientError (retried under the policy) when it cannot be read."""
    answer = await client.list_tasks(per_page, cursor)
    raise_for_transient(answer)
    client.check_access(answer)
    if answer.status != 200 or not isinstance(answer.body, dict) or not isinstance(answer.body.get("items"), list):
        # The answer itself is in the DEBUG log (core/http.py), never in an INFO/WARNING line.
        raise TransientError(f"unreadable task list: HTTP {answer.status}", status=answer.status)
    return answer.body


async def pending_task_ids(client) -> set[str]:
    """The ids of every task Procuros still lists (all pages, each under the retry policy)."""
    ids: set[str] = set()
    async for page in cursor_pages(client, lambda cursor: task_page(client, 100, cursor), "GET /v2/tasks"):
        ids |= {str(t.get("procurosTaskId")) for t in page["items"] if isinstance(t, dict)}
    return ids


class TaskMarker:
    """Marks tasks on one ProcurosClient; a task whose last mark may have arrived is re-listed first."""

    def __init__(self, client) -> None:
        self.client = client
        self.unsure: set[str] = set()
        self.relisted = 0

    async def mark(self, task: dict) -> Verdict:
        task_id = task["task_id"]
        if task_id in self.unsure:
            self.relisted += 1
            if task_id not in await pending_task_ids(self.client):
                return Verdict(vendor="procuros", doc_type=task["task_type"], document_id=task_id, identifier=task_id,
                               outcome=Outcome.DELIVERED, status="PROCESSED",
                               message="The answer to marking it was lost; Procuros no longer lists it: marked.")
        try:
            answer = await self.client.mark_task(task_id, task["body"])
            raise_for_transient(answer)
        except TransientError as error:
            if may_have_acted(error):
                self.unsure.add(task_id)
            raise
        return mark_verdict(task, answer, self.client.check_access)
