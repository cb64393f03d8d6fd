"""Pacing: find and hold the request rate a vendor accepts.

Answers are counted in windows of at least ``WINDOW_ANSWERS`` answers and
``WINDOW_SECONDS`` (shorter once ``WINDOW_ANSWERS`` of them are 429s, while no random
share of 429s is known). A window has too many 429s when it has any while no random share of 429s is
known, or when its share is more than three standard errors above that known share.
Too many 429s cut the pace to a little under the rate the vendor accepted: the non-429
answers per second since the window's first 429 (an emptied token bucket refills at
exactly the vendor's limit), but never below half the rate sent (a rough estimate of a
short window is refined by the next). The next window tells the two kinds of 429 apart:

- back to normal: the 429s were load-driven. The pace is held, then probed upward by 1%
  after each normal window (a vendor that raised its limit is found again slowly, never
  by a flood of 429s); too many 429s cut it again. A pace far above what is sent is dropped.
  After cuts that began with a rough window (closed early on a burst of 429s, as at a run's start) the pace
  is only a floor: it climbs by a step that doubles from 1% up to 4%; at the first 429s it goes
  back two steps (a pace seen normal) and is held.
- the same share within three standard errors, and an accepted rate that fell with the
  sent rate (it stays at the vendor's limit when the 429s are load-driven): the 429s are
  random. The cut is undone at once and that share becomes the known random share (a
  moving average), so random 429s never ratchet the pace down.
- a share that rose or fell but is still too high: load-driven, the cut was not deep
  enough (e.g. the vendor's burst allowance ran out): cut again.

A window judges only requests sent under the current pace: answers to requests sent
before the last change are not counted. Until a limit is known (no cut confirmed), a
pace is probed upward by a step that doubles after each normal window.
The connection's ``max_requests_per_second`` is a ceiling on top of this.

The controller is a state machine (``PaceState``): each closed window gets a verdict
(``WindowVerdict``) and ``TRANSITIONS`` says what that verdict does in each state:

| state \\ window | normal | too many 429s | too many, looking random |
|---|---|---|---|
| UNPACED | stay | cut: VERIFYING | (not judged: no cut to compare with) |
| PROBING | raise the pace, the step doubling | cut: VERIFYING | |
| HOLDING | raise the pace 1% (in a run's last 2 s: ease under the limit seen) | cut: VERIFYING | |
| CLIMBING | raise the pace, the step doubling up to 4% (not in a run's last 2 s) | back two steps: HOLDING | |
| VERIFYING | hold: HOLDING (after cuts begun by a rough one: CLIMBING) | cut again: VERIFYING | undo the cuts; after a rough cut: cut again, RECHECKING |
| RECHECKING | hold: HOLDING (after cuts begun by a rough one: CLIMBING) | cut again: VERIFYING | undo the cuts |

Undoing the cuts returns to the pace before them: UNPACED, or PROBING from that pace. A raised
pace far above what is sent is dropped (UNPACED).
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

WINDOW_SECONDS = 0.25
WINDOW_ANSWERS = 20  # fewer answers cannot tell a share from chance
UNDER = 0.95  # pace this share of the accepted rate after a cut
FIRST_PROBE = 0.01  # upward step after a normal window once a limit is known; without one it doubles
CLIMB_STEP = 0.04  # the largest step up from a rough estimate of the limit (CLIMBING)
LAST_STRETCH_SECONDS = 2.0  # a held limit is not probed once the backlog ends within this (last_stretch)
MIN_RATE = 1.0  # requests per second: a cut never stops sending


def standard_error(share: float, answers: int) -> float:
    p = min(max(share, 1.0 / answers), 1 - 1.0 / answers)
    return math.sqrt(p * (1 - p) / answers)


class PaceState(enum.Enum):
    UNPACED = "unpaced"  # no pace of ours: send as fast as the senders go (the ceiling still holds)
    PROBING = "probing"  # paced, no limit known: raise the pace by a step that doubles
    HOLDING = "holding"  # a load-driven limit was confirmed: hold the pace, creep up 1% a window
    CLIMBING = "climbing"  # a limit roughly estimated (a window closed early): climb, the step doubling to 4%
    VERIFYING = "verifying"  # just cut: the next window tells load-driven 429s from random ones
    RECHECKING = "rechecking"  # looked random after a rough cut: one more window has to look random too


class WindowVerdict(enum.Enum):
    NORMAL = "normal"  # not too many 429s
    TOO_MANY = "too many 429s"
    LOOKS_RANDOM = "too many, looking random"  # only after a cut: the same share, an accepted rate that fell


@dataclass(frozen=True, kw_only=True)
class Cut:
    """The window that caused the last cut: the next window is compared with it."""

    share: float  # of 429s
    sent_rate: float
    accepted_rate: float
    rough: bool  # its window was closed early: its accepted rate holds the vendor's burst allowance


@dataclass
class Window:
    started: float
    answers: int = 0  # judged: requests sent under the current pace
    throttled: int = 0  # of them 429
    # The vendor's side counts every answer, whatever pace its request was sent at:
    all_answers: int = 0
    accepted: int = 0
    first_answer_at: float | None = None
    first_throttled_at: float | None = None
    accepted_since_first: int = 0
    last_at: float = 0.0  # when the last answer came

    def span(self, now: float) -> float:
        return max(now - self.started, 1e-9)


class RateController:
    def __init__(self, ceiling: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 window_seconds: float = WINDOW_SECONDS):
        self.ceiling = ceiling  # the connection's max_requests_per_second; 0 = none
        self.clock = clock
        self.window_seconds = window_seconds
        self.state = PaceState.UNPACED
        self.rate: float | None = None  # our pace in requests per second; None = unpaced
        self.lowest: float | None = None
        self.noise = 0.0  # share of 429s that slowing down did not remove
        self.cuts = 0
        self.limit_seen: float | None = None  # the accepted rate at the last load-driven cut
        self._changed_at = clock()  # answers to requests sent before this are not judged
        self._last_cut: Cut | None = None  # while a series of cuts is verified
        self._pace_before_cuts: float | None = None  # the pace before that series
        self._series_rough = False  # that series began with a rough cut (its later windows are judged at its pace)
        self._probe = FIRST_PROBE
        self._climbed: deque[float] = deque(maxlen=2)  # the paces of the last two raises while CLIMBING
        self._remaining: int | None = None  # requests the run has left (note_remaining), when told
        self._next_start = clock()
        self._window = Window(clock())

    # -- the backlog ----------------------------------------------------------------
    def note_remaining(self, requests: int) -> None:
        """How many requests the run has left (the delivery engine tells, as they finish)."""
        self._remaining = requests

    def last_stretch(self) -> bool:
        """Whether the run's backlog ends within LAST_STRETCH_SECONDS at the current pace. A 429 there costs
        a whole Retry-After after everything else (the run's end waits for that one document, up to a second
        of nothing sent, seen in make bench), while a pace a few percent under the limit costs a few
        percent of two seconds: a known limit is no longer probed, and a pace that crept over it is eased
        back under it (``_ease_for_the_end``) so the vendor's bucket fills again."""
        return self._remaining is not None and self.rate is not None and \
            self._remaining < self.rate * LAST_STRETCH_SECONDS

    # -- before a request ---------------------------------------------------------
    def delay(self) -> float:
        """Book the next request start; returns how long to wait for it (0 when unpaced)."""
        limits = [r for r in (self.rate, self.ceiling) if r]
        if not limits:
            return 0.0
        now = self.clock()
        start = max(now, self._next_start)
        self._next_start = start + 1.0 / min(limits)
        return start - now

    # -- after an answer ------------------------------------------------------------
    async def wait_turn(self, sleep) -> float:
        """Wait for a start under the current pace; returns when the start was booked.

        A start booked under an earlier pace is booked again: a cut takes effect at once,
        not after the starts already booked at the faster pace."""
        while True:
            booked = self.clock()
            delay = self.delay()
            if delay > 0:
                await sleep(delay)
            if self.books_now(booked):
                return booked

    def books_now(self, booked: float) -> bool:
        """Whether a start booked at ``booked`` was booked under the current pace."""
        return booked >= self._changed_at

    def answered(self, throttled: bool, sent_at: float | None = None) -> None:
        """Count an answer; ``sent_at`` is when its start was booked (``wait_turn``)."""
        now = self.clock()
        w = self._window
        started = now if sent_at is None else sent_at
        if w.all_answers == 0 or started - w.last_at > self.window_seconds:
            # Rates count from the first request after an idle spell (a start-up, a quiet tail), not across it.
            w = self._window = Window(max(w.started, started) if w.all_answers == 0 else started)
        w.last_at = now
        w.all_answers += 1
        if w.first_answer_at is None:
            w.first_answer_at = now
        if throttled:
            if w.first_throttled_at is None:
                w.first_throttled_at = now
        else:
            w.accepted += 1
            if w.first_throttled_at is not None:
                w.accepted_since_first += 1
        if sent_at is None or sent_at >= self._changed_at:  # sent at an earlier pace: not judged
            w.answers += 1
            w.throttled += throttled
        # While no random share is known, WINDOW_ANSWERS 429s are evidence enough: no need to wait out the
        # window while they pile up. Once one is known, windows run their length (closing on a cluster of
        # 429s would pick the unlucky windows).
        early = self.noise == 0 and w.throttled >= WINDOW_ANSWERS
        if w.answers >= WINDOW_ANSWERS and (early or now - w.started >= self.window_seconds):
            self._close(w, now)
            self._window = Window(now)

    # -- a closed window: its verdict, then the transition ---------------------------
    def _close(self, w: Window, now: float) -> None:
        verdict = self._judge(w, now)
        action = TRANSITIONS[self.state, verdict]
        self.state = action(self, w, now)

    def _judge(self, w: Window, now: float) -> WindowVerdict:
        share = w.throttled / w.answers
        if not self._too_many(share, w.answers):
            return WindowVerdict.NORMAL
        cause = self._last_cut
        if cause is None:
            return WindowVerdict.TOO_MANY
        # Random 429s: the share stays and the accepted rate falls with the sent rate. Load-driven ones:
        # the vendor keeps accepting its limit however fast we send.
        span = w.span(now)
        sent, accepted = w.all_answers / span, w.accepted / span
        same_share = abs(share - cause.share) <= 3 * standard_error(cause.share, w.answers)
        accepted_fell = accepted < cause.accepted_rate * (1 + sent / cause.sent_rate) / 2
        return WindowVerdict.LOOKS_RANDOM if same_share and accepted_fell else WindowVerdict.TOO_MANY

    def _too_many(self, share: float, answers: int) -> bool:
        if self.noise == 0:
            return share > 0
        return share > self.noise + 3 * standard_error(self.noise, answers)

    # -- the actions: each returns the next state --------------------------------------
    def _stay_unpaced(self, w: Window, now: float) -> PaceState:
        self._learn_noise(w)
        return PaceState.UNPACED

    def _raise(self, w: Window, now: float) -> PaceState:
        """A normal window under a pace: raise it (no new judgement needed: slower requests still count)."""
        self._learn_noise(w)
        if self.rate > 2 * w.all_answers / w.span(now):
            self.rate = None  # the pace no longer binds: something else limits us
            return PaceState.UNPACED
        if self.state in (PaceState.HOLDING, PaceState.CLIMBING) and self.last_stretch():
            # No probe at the end. A held limit crept over is eased under it; a climb has seen no 429 since its
            # floor (a rough, low estimate of the limit), so its pace is only held.
            if self.state is PaceState.HOLDING:
                self._ease_for_the_end()
            return self.state
        if self.state is PaceState.HOLDING:
            self.rate *= 1 + FIRST_PROBE  # a known limit: creep
            return PaceState.HOLDING
        if self.state is PaceState.CLIMBING:  # a rough floor: the step doubles, but an overshoot stays small
            self._climbed.append(self.rate)
            self.rate *= 1 + self._probe
            self._probe = min(CLIMB_STEP, self._probe * 2)
            return PaceState.CLIMBING
        self.rate *= 1 + self._probe
        self._probe = min(1.0, self._probe * 2)
        return PaceState.PROBING

    def _hold(self, w: Window, now: float) -> PaceState:
        """The window after a cut was normal: the 429s were load-driven; hold this pace.

        After a series of cuts that began with a rough window (closed early on a burst of 429s, as at the
        start of a run) the pace is only a floor: a few dozen milliseconds of answers put the limit 10-35% low
        at 16-64 senders (seen in make bench), and the series' later windows measure little more than the pace
        they were cut to; creeping 1% a window from there takes 3-10 s. It is climbed from (CLIMBING)."""
        rough = self._series_rough or self._last_cut.rough
        self._last_cut = None
        self._probe = FIRST_PROBE
        self._climbed.clear()
        return PaceState.CLIMBING if rough else PaceState.HOLDING

    def _climbed_over(self, w: Window, now: float) -> PaceState:
        """429s while climbing: the limit lies below the pace. A raise does not reset what is judged, and a
        token bucket's burst hides the first excess, so the 429s may belong to the step before: the pace goes
        back two steps, to one a normal window was seen at, and is held (no cut to verify, so load-driven 429s
        of an overshoot are never taken for random ones)."""
        back = self._climbed[0] if self._climbed else self.rate
        self._climbed.clear()
        self.cuts += 1
        self.limit_seen = w.accepted / w.span(now)
        self._set(back, now)
        self._next_start = min(self._next_start, now + 1.0 / self.rate)
        self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)
        self._probe = FIRST_PROBE
        log.info("429s on %d of %d answers while climbing: pace back to %.0f/s", w.throttled, w.answers, self.rate)
        return PaceState.HOLDING

    def _undo_cuts(self, w: Window, now: float) -> PaceState:
        """Slowing down did not change the share of 429s: they are random. Back to the pace before the cuts."""
        share = w.throttled / w.answers
        self._last_cut = None
        self._set(self._pace_before_cuts, now)
        self.limit_seen = None
        self.noise = share if self.noise == 0 else 0.8 * self.noise + 0.2 * share
        log.info("429s are random (%.0f%% of answers whatever the pace): pace back to %s",
                 100 * share, "unpaced" if self.rate is None else f"{self.rate:.0f}/s")
        return PaceState.UNPACED if self.rate is None else PaceState.PROBING

    def _random_after_rough_cut(self, w: Window, now: float) -> PaceState:
        """A window cut short at the start holds the vendor's burst allowance (a token bucket's depth): its
        accepted rate overstates the limit, and a cut to it can leave the share as it was. Such a cut proves
        nothing: the next cut, on this window's estimate, has to see the same share too."""
        if not self._last_cut.rough:
            return self._undo_cuts(w, now)
        self._cut(w, now)
        return PaceState.RECHECKING

    def _cut_first(self, w: Window, now: float) -> PaceState:
        """Too many 429s: the first cut of a series (undoing the series returns to the pace before it)."""
        self._pace_before_cuts = self.rate
        self._cut(w, now)
        self._series_rough = self._last_cut.rough
        return PaceState.VERIFYING

    def _cut_again(self, w: Window, now: float) -> PaceState:
        """Still too many after a cut, and not the same share: load-driven, the cut was not deep enough
        (e.g. the vendor's burst allowance ran out)."""
        self._cut(w, now)
        return PaceState.VERIFYING

    # -- helpers -------------------------------------------------------------------
    def _ease_for_the_end(self) -> None:
        """In a run's last stretch: no probe, and a pace no higher than a cut to the last limit seen would set."""
        if self.limit_seen:
            self.rate = max(MIN_RATE, min(self.rate, UNDER * self.limit_seen))

    def _learn_noise(self, w: Window) -> None:
        if self.noise:
            self.noise = 0.8 * self.noise + 0.2 * (w.throttled / w.answers)

    def _set(self, rate: float | None, now: float) -> None:
        self.rate = rate
        self._changed_at = now

    def _cut(self, w: Window, now: float) -> None:
        span = w.span(now)
        since_first = now - w.first_throttled_at if w.first_throttled_at is not None else 0.0
        since_answers = now - w.first_answer_at if w.first_answer_at is not None else 0.0
        rough = span < self.window_seconds
        if since_first >= span / 2:
            accepted_rate = w.accepted_since_first / since_first  # an emptied bucket refills at the limit
        elif rough and since_answers >= span / 2:
            # A window closed early, at a run's start, its answers spread out: the time before its first
            # answer (connections opened, the first requests' latency, a busy machine) is not the vendor's.
            # Counted from the first answer the rate is high by the vendor's burst, which the next window
            # corrects; counted from the first request it was 25-35% low in make bench, and a floor that low
            # took 3 s to climb from. (Answers that came all at once tell no rate: counted from the first request.)
            accepted_rate = w.accepted / since_answers
        else:
            accepted_rate = w.accepted / span
        sent_rate = w.all_answers / span
        before = self.rate
        self.limit_seen = accepted_rate
        # Never below half of what was sent: a short window's estimate is rough, the next one refines it.
        target = max(UNDER * min(accepted_rate, before or math.inf), sent_rate / 2)
        self._set(max(MIN_RATE, min(target, before or math.inf)), now)
        # Every start booked before the cut is booked again (wait_turn): the slots they held are free. Booking
        # on after the last of them would leave a gap of up to max_concurrency / pace with nothing sent.
        self._next_start = min(self._next_start, now + 1.0 / self.rate)
        self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)
        self.cuts += 1
        log.info("429s on %d of %d answers (%.0f sent/s, %.0f accepted/s): pace %.0f/s", w.throttled, w.answers,
                 sent_rate, accepted_rate, self.rate)
        self._probe = FIRST_PROBE
        self._last_cut = Cut(share=w.throttled / w.answers, sent_rate=sent_rate, accepted_rate=w.accepted / span,
                             rough=rough)


S, V = PaceState, WindowVerdict
# (state, the closed window's verdict) -> the action, which returns the next state. LOOKS_RANDOM is only
# given while a cut is verified.
TRANSITIONS: dict[tuple[PaceState, WindowVerdict], Callable[[RateController, Window, float], PaceState]] = {
    (S.UNPACED, V.NORMAL): RateController._stay_unpaced,
    (S.UNPACED, V.TOO_MANY): RateController._cut_first,
    (S.PROBING, V.NORMAL): RateController._raise,
    (S.PROBING, V.TOO_MANY): RateController._cut_first,
    (S.HOLDING, V.NORMAL): RateController._raise,
    (S.HOLDING, V.TOO_MANY): RateController._cut_first,
    (S.CLIMBING, V.NORMAL): RateController._raise,
    (S.CLIMBING, V.TOO_MANY): RateController._climbed_over,
    (S.VERIFYING, V.NORMAL): RateController._hold,
    (S.VERIFYING, V.TOO_MANY): RateController._cut_again,
    (S.VERIFYING, V.LOOKS_RANDOM): RateController._random_after_rough_cut,
    (S.RECHECKING, V.NORMAL): RateController._hold,
    (S.RECHECKING, V.TOO_MANY): RateController._cut_again,
    (S.RECHECKING, V.LOOKS_RANDOM): RateController._undo_cuts,
}
del S, V
