"""Procuros' cursor pagination, read one way for every listing (GET /v2/tasks, GET /v2/all-transactions).

A page is ``{"items": [...], "hasMore": bool, "nextCursor": str}``; the next page is asked with
``cursor=<nextCursor>``. Each page is read under the client's retry policy. A listing longer
than ``MAX_PAGES`` pages, or a cursor Procuros hands back twice, is a TransientError: a partial
listing must never pass for the whole one (a task missing from it would look marked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from erp_outbound.core.http import TransientError

MAX_PAGES = 10_000  # one limit for every listing: 1,000,000 items at 100 a page


async def cursor_pages(client, read_page: Callable[[str | None], Awaitable[dict]], listing: str) -> AsyncIterator[dict]:
    """Every page of one listing, first to last. ``read_page(cursor)`` reads one page (cursor None: the first)
    and raises TransientError when it cannot; ``listing`` names it in errors (e.g. ``GET /v2/tasks``)."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.policy.call(lambda: read_page(cursor))
        yield page
        next_cursor = page.get("nextCursor")
        if not page.get("hasMore") or not next_cursor:
            return
        if next_cursor == cursor:
            raise TransientError(f"{listing}: Procuros gave the cursor {str(next_cursor)[:40]!r} twice; "
                                 "the listing was not read to its end")
        cursor = next_cursor
    raise TransientError(f"{listing}: more than {MAX_PAGES} pages; the listing was not read to its end")
