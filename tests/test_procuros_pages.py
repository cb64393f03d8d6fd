"""One cursor-pagination helper for every Procuros listing, with one page limit (issue 27, point 5).

The three listings (tasks to handle, tasks re-listed before a second mark, all-transactions
after a lost answer) read their pages through ``procuros/pages.py``: they follow the cursors to
the last page, and a listing that does not end (past the limit, or a cursor given twice) is a
TransientError naming it, never a partial list passed for the whole one.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from erp_outbound.core.http import Answer, TransientError
from erp_outbound.procuros import lookups, pages, task_marks, task_operators
from erp_outbound.procuros.lookups import find_transactions
from erp_outbound.procuros.task_marks import pending_task_ids
from erp_outbound.procuros.task_operators import ProcurosListTasksOperator


class NoRetries:
    async def call(self, send):
        return await send()


class PagedProcuros:
    """A Procuros client whose listings have ``count`` pages of one item; ``cursors`` are the cursors asked."""

    def __init__(self, count: int, same_cursor: bool = False) -> None:
        self.count, self.same_cursor = count, same_cursor
        self.policy = NoRetries()
        self.cursors: list[str | None] = []

    def check_access(self, answer: Answer) -> None:
        pass

    def _page(self, cursor: str | None, item: dict) -> Answer:
        self.cursors.append(cursor)
        n = int(cursor) if cursor else 0
        following = n if self.same_cursor and cursor else n + 1
        body = {"items": [item | {"n": n}], "hasMore": n + 1 < self.count, "nextCursor": str(following)}
        return Answer(200, body, "", {})

    async def list_tasks(self, per_page: int, cursor: str | None) -> Answer:
        return self._page(cursor, {"procurosTaskId": f"T{cursor or 0}", "type": "EXPORT_CUSTOMERS"})

    async def list_all_transactions(self, params: dict) -> Answer:
        return self._page(params.get("cursor"), {"procurosTransactionId": f"tx{params.get('cursor') or 0}"})


class Hook:
    def __init__(self, client: PagedProcuros) -> None:
        self._client = client

    def client(self):
        client = self._client

        class Session:
            async def __aenter__(self):
                return client

            async def __aexit__(self, *exc):
                return False
        return Session()


def list_tasks(client: PagedProcuros):
    return ProcurosListTasksOperator(task_id="list")._list(Hook(client), 1)


LISTINGS = {
    "tasks": (list_tasks, lambda found: len(found[0])),
    "re-listed tasks": (pending_task_ids, len),
    "all-transactions": (lambda client: find_transactions(client, "ORDER", date(2026, 1, 1), date(2026, 1, 9)), len),
}


@pytest.mark.parametrize("listing", LISTINGS)
def test_every_listing_follows_the_cursors_to_the_last_page(listing):
    read, count = LISTINGS[listing]
    client = PagedProcuros(5)
    assert count(asyncio.run(read(client))) == 5
    assert client.cursors == [None, "1", "2", "3", "4"]


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_listing_longer_than_the_one_page_limit_is_an_error_not_a_partial_list(listing, monkeypatch):
    monkeypatch.setattr(pages, "MAX_PAGES", 3)
    read, _ = LISTINGS[listing]
    with pytest.raises(TransientError, match="more than 3 pages"):
        asyncio.run(read(PagedProcuros(4)))
    assert asyncio.run(read(PagedProcuros(3))), "three pages are within the limit"


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_cursor_given_twice_ends_the_listing_with_an_error(listing):
    read, _ = LISTINGS[listing]
    client = PagedProcuros(100, same_cursor=True)
    with pytest.raises(TransientError, match="twice"):
        asyncio.run(read(client))
    assert client.cursors == [None, "1"], "the second page handed back the cursor that asked for it"


def test_there_is_one_page_limit():
    assert [m.__name__ for m in (lookups, task_marks, task_operators) if hasattr(m, "MAX_PAGES")] == []
    assert pages.MAX_PAGES == 10_000
