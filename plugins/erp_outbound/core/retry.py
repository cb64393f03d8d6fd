"""The retry policy of every vendor request: which failures are retried, and how long to wait.

A failure is transient (``TransientError``: 408, 429, 5xx, timeout, lost connection,
unreadable answer) or final. A transient failure is tried again up to ``max_tries`` tries in
all; before each new try the request waits what the vendor's Retry-After asks (capped at
``max_retry_wait``), and without Retry-After backs off exponentially with jitter from
``backoff_initial``. The delivery engine parks a document for that wait instead of sleeping
in a sender; one-off requests (ping, a task list page, a token) sleep with tenacity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import TransientError

T = TypeVar("T")


class wait_retry_after(wait_base):
    """Wait what the vendor's Retry-After says; otherwise back off exponentially with jitter."""

    def __init__(self, initial: float, maximum: float):
        self.maximum = maximum
        self.backoff = wait_exponential_jitter(initial=initial, max=maximum, jitter=initial)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.maximum)
        return self.backoff(retry_state)


class RetryPolicy:
    def __init__(self, settings: DeliverySettings, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.max_tries = settings.max_tries
        self.wait = wait_retry_after(settings.backoff_initial, settings.max_retry_wait)
        self.sleep = sleep  # tests pass a fake sleep

    def gives_up(self, tries: int) -> bool:
        """True once ``tries`` tries have failed: the last one is final."""
        return tries >= self.max_tries

    def wait_after(self, tries: int, error: TransientError) -> float:
        """Seconds to wait after the ``tries``-th failed try, as tenacity's wait computes it."""
        state = RetryCallState(None, None, (), {})
        state.attempt_number = tries
        state.set_exception((type(error), error, error.__traceback__))
        return self.wait(state)

    def retrying(self, before_sleep: Callable[[RetryCallState], None] | None = None) -> AsyncRetrying:
        return AsyncRetrying(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(self.max_tries),
                             wait=self.wait, sleep=self.sleep, before_sleep=before_sleep, reraise=True)

    async def call(self, send: Callable[[], Awaitable[T]],
                   before_sleep: Callable[[RetryCallState], None] | None = None) -> T:
        """``await send()`` under the policy; the last TransientError is raised when every try failed."""
        async for attempt in self.retrying(before_sleep):
            with attempt:
                return await send()
        raise AssertionError("tenacity ended without an outcome")  # reraise=True re-raises the last error
