"""RambaseOperationTrigger: waits for RamBase API operations in the triggerer, not a worker slot.

It polls each operation instance's link, with the same async client as the load step, at a growing interval until every one has
finished (9) or failed (7), or the timeout passes, logging progress as it goes. It holds
ids and links only (the hook fetches its own token from the connection), and hands back
``carry`` in its event so the operator can resume. The triggerer logs each event whole at
INFO, so an event holds ids, statuses and errors, never a vendor's answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from erp_outbound.core.http import ConnectionConfigError, TransientError


class RambaseOperationTrigger(BaseTrigger):
    def __init__(self, rambase_conn_id: str, operations: dict[str, str], timeout_at: float,
                 poll_seconds: float = 2.0, max_poll_seconds: float = 30.0, carry: dict | None = None) -> None:
        super().__init__()
        self.carry = carry or {}  # handed back in the event: what the operator needs to resume
        self.rambase_conn_id = rambase_conn_id
        self.operations = operations  # operation instance id -> operationInstanceLink
        self.timeout_at = timeout_at
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("erp_outbound.rambase.triggers.RambaseOperationTrigger", {
            "rambase_conn_id": self.rambase_conn_id, "operations": self.operations,
            "timeout_at": self.timeout_at, "poll_seconds": self.poll_seconds,
            "max_poll_seconds": self.max_poll_seconds, "carry": self.carry,
        })

    async def run(self):
        from erp_outbound.rambase.hook import RambaseHook
        from erp_outbound.rambase.verdicts import (
            STARTED,
            describe_answer,
            operation_instance,
            operation_outcome,
            progress,
        )

        hook = RambaseHook(self.rambase_conn_id)
        pending, finished = dict(self.operations), {}
        interval = self.poll_seconds
        client = None
        try:
            client = await asyncio.to_thread(hook.client)  # reads the connection: not on the event loop
            while pending:
                told_to_wait = 0.0  # the longest Retry-After of this round: the next round waits at least that
                for instance_id, link in list(pending.items()):
                    try:
                        answer = await client.call("GET", link)
                    except TransientError as exc:
                        self.log.warning("RamBase operation %s: %s; polling again", instance_id, exc.reason)
                        told_to_wait = max(told_to_wait, exc.retry_after or 0.0)
                        continue
                    told_to_wait = max(told_to_wait, answer.retry_after or 0.0)
                    instance = operation_instance(answer.body)
                    if instance is None:
                        self.log.warning("RamBase operation %s: %s; polling again", instance_id,
                                         describe_answer(answer))
                        continue
                    percent = progress(instance)
                    self.log.info("RamBase operation %s: status %s%s", instance_id, instance["status"],
                                  f", {percent}% complete" if percent is not None else "")
                    if int(instance["status"]) != STARTED:
                        finished[instance_id] = operation_outcome(instance)  # the event is logged at INFO
                        del pending[instance_id]
                if pending and time.time() >= self.timeout_at:
                    break
                if pending:
                    await asyncio.sleep(max(interval, told_to_wait))
                    interval = min(interval * 1.5, self.max_poll_seconds)
        except ConnectionConfigError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc), "finished": finished,
                                "timed_out": list(pending), "carry": self.carry})
            return
        finally:
            if client is not None:
                await client.close()
        yield TriggerEvent({"status": "done", "finished": finished, "timed_out": list(pending), "carry": self.carry})
