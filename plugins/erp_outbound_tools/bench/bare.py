"""The bare aiohttp client the engine legs are measured against.

It sends the very requests our load step sends (the staged bodies), with ``concurrency`` workers
on one aiohttp session of as many connections, after getting a token once (RamBase, GEP). Its
retry is the naive one: a 429, a 5xx or a cut connection is sent again after the answer's
Retry-After (1 s when there is none), up to 10 tries; no backoff, no pacing, no verdicts written.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from erp_outbound_tools.sandbox.credentials import DEMO

MAX_TRIES = 10


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with its query, relative to the vendor's base URL
    body: bytes
    documents: int = 1


async def _token(session: aiohttp.ClientSession, vendor: str, base_url: str, procuros_token: str) -> dict[str, str]:
    if vendor == "procuros":
        token = procuros_token
    elif vendor == "rambase":
        form = {"grant_type": "client_credentials", "client_id": DEMO.rambase_client_id,
                "client_secret": DEMO.rambase_client_secret}
        async with session.post(f"{base_url}/oauth2/access_token", data=form) as answer:
            token = (await answer.json())["access_token"]
    else:
        async with session.get(f"{base_url}/token/gep", headers={"gep-auth-key": DEMO.gep_auth_key}) as answer:
            token = (await answer.json())["Token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def send_all(vendor: str, base_url: str, requests: list[Request], concurrency: int,
                   procuros_token: str = "") -> dict:
    """Send every request; the figures of the run (documents answered 2xx, failed, tries, seconds)."""
    todo = iter(requests)
    counts = {"ok_documents": 0, "failed_documents": 0, "tries": 0, "answers_429": 0}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        headers = await _token(session, vendor, base_url, procuros_token)

        async def worker() -> None:
            for request in todo:  # one shared iterator: each request goes to one worker
                for _ in range(MAX_TRIES):
                    counts["tries"] += 1
                    try:
                        async with session.request(request.method, base_url + request.path, data=request.body,
                                                   headers=headers) as answer:
                            await answer.read()
                            status, retry_after = answer.status, answer.headers.get("Retry-After")
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        status, retry_after = None, None
                    if status is not None and status < 500 and status != 429:
                        counts["ok_documents" if status < 300 else "failed_documents"] += request.documents
                        break
                    counts["answers_429"] += status == 429
                    await asyncio.sleep(float(retry_after or 1))
                else:
                    counts["failed_documents"] += request.documents

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    documents = sum(r.documents for r in requests)
    return counts | {"documents": documents, "requests": len(requests), "seconds": round(seconds, 3),
                     "docs_per_second": round(counts["ok_documents"] / seconds, 1)}


def run(vendor: str, base_url: str, requests: list[Request], concurrency: int, procuros_token: str = "") -> dict:
    cpu_started = time.process_time()
    result = asyncio.run(send_all(vendor, base_url, requests, concurrency, procuros_token))
    return result | {"cpu_seconds": round(time.process_time() - cpu_started, 3)}
