"""Request rows held until their fate is known: served, retried, or failed with a replica.

A serving window's requests are simulated when the window ends, and many are still in
flight then (decoding, or queued for a slot). A replica failure later on can still change
them: a request on a lost replica is retried on a surviving one (it ends later than its
row said) or, when the service has no replica left, fails. So a window's rows are not
handed to the event log (rows, or the reduced statistics of ``output.requests: false``)
when they are computed, but once every request in them has finished (its slot freed) by
the time the serving windows have reached: no failure can change them after that.

Batches are released in the order they were made, so the log receives exactly the rows,
in exactly the order, it received before rows were held: a run without failures gives the
same rows and the same statistics, down to the bit. What changes is when: a batch is
logged one window later (the live dashboard's request figures trail by a window), and all
that is held is logged when the run closes (:meth:`HeldRequests.release_all`).

Revisions (times in s, ``now`` the failure):

* **failed** (no replica left to retry on): wait, TTFT, TPOT and end-to-end become NaN, as
  for a request that arrives while no replica is up. The request counts as ``unreachable``
  (no replica served it) and as an SLO miss; its latencies are not among the served ones.
  A scaled-down replica still draining is healthy: the requests on its slots end on it
  whatever happens to the others (only a failure of its own GPUs retries or fails them).
A lost slot is known by the time it frees, the end of the last request the queue gave it;
the requests queued on it before that one are found from it, each having taken the slot
when the one before it ended (its *ready* time): every request on a lost slot not ended by
the failure, running or queued for it, is retried or failed, once.

* **retried** (moved to a surviving slot, where it prefills its prompt again, its KV cache
  lost, and decodes what it had left: :meth:`HeldRequests.retry`), ending at ``new_end``
  instead of ``old_end``: its end-to-end latency grows by ``new_end - old_end``; so does its
  TTFT if the failure came before its first token, else its TPOT grows by that shift over
  its output tokens (the pause is spread over its tokens, as the mean TPOT is).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from emulator.eventlog import EventLog, RequestBatch

__all__ = ["MATCH_TOLERANCE_S", "HeldRequests", "Retried"]

MATCH_TOLERANCE_S = 1e-6
"""How close (s) a lost slot's free time must be to a held request's end to be that
request: the two are the same sum of floats, added in a different order."""


@dataclass
class _Held:
    """One batch of one service's requests, with each request's prefill start, first-token
    and end instants (s; ``-inf`` for a request no replica served, which nothing can
    change) and when it took its slot."""

    batch: RequestBatch
    start_at: np.ndarray  # prefill start (s)
    first_at: np.ndarray
    end_at: np.ndarray
    last_end: float  # the latest finite end (s), -inf when none
    ready_at: np.ndarray  # when it took its slot (s): its arrival unless it waited for one


@dataclass(frozen=True)
class Retried:
    """A request moved to a surviving slot by :meth:`HeldRequests.retry` (times in s): the
    end it had, and the prefill start, first token and end of its redo (``first`` equal to
    ``start``, ``prefill`` 0, for a request not held, whose slot time alone is known)."""

    old_end: float
    start: float
    prefill: float
    first: float
    end: float


class HeldRequests:
    """Request batches awaiting release to ``log``, oldest first."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._queue: deque[_Held] = deque()

    def __len__(self) -> int:
        """Requests held."""
        return sum(h.end_at.size for h in self._queue)

    def hold(self, batch: RequestBatch,
             times: tuple[np.ndarray, ...] | None = None) -> None:
        """Hold ``batch`` until every request in it has ended; ``times``: each request's
        prefill start, first-token and end instants and when it took its slot (s; without
        the last, at its arrival: none waited for a slot), ``None`` for requests no
        replica served (logged as soon as all before are).

        The batch's latency arrays and ``times`` become the holder's: a failure revises
        them in place (they are not copied, as they are as many as the requests in flight;
        the caller made them for this batch and keeps no other use of them)."""
        n = batch.arrival_s.size
        if times is None:
            times = (np.full(n, -np.inf),) * 4
        start_at, first_at, end_at = times[:3]
        ready_at = times[3] if len(times) > 3 else batch.arrival_s
        finite = end_at[np.isfinite(end_at)]
        last = float(finite.max()) if finite.size else -np.inf
        if not self._queue and last == -np.inf:
            self.log.request_batch(batch)  # nothing before it, nothing can change it
            return
        self._queue.append(_Held(batch, np.asarray(start_at, dtype=np.float64),
                                 np.asarray(first_at, dtype=np.float64),
                                 np.asarray(end_at, dtype=np.float64), last,
                                 np.asarray(ready_at, dtype=np.float64)))

    def release(self, now: float) -> None:
        """Log the oldest batches whose requests have all ended by ``now`` (s)."""
        queue = self._queue
        while queue and queue[0].last_end <= now:
            self.log.request_batch(queue.popleft().batch)

    def release_all(self) -> None:
        """Log every batch held (the run is closing: nothing can change them now)."""
        while self._queue:
            self.log.request_batch(self._queue.popleft().batch)

    def _of(self, service: int) -> list[_Held]:
        return [h for h in self._queue if h.batch.service == service]

    def fail_after(self, service: int, now: float, spare: Sequence[float] = ()) -> int:
        """Fail every request of ``service`` not ended by ``now`` (s; its last serving
        replica is lost: in flight or queued for a slot, none is served) but those on the
        slots of scaled-down replicas still draining, which free at ``spare`` (s): such a
        replica is healthy and serves them to their end (:meth:`_on_slots`); how many."""
        kept: dict[int, list[int]] = {}
        for hit in self._on_slots(service, now, list(spare)):
            if hit is not None:
                kept.setdefault(id(hit[0]), []).append(hit[1])
        failed = 0
        for h in self._of(service):
            hit = h.end_at > now
            hit[kept.get(id(h), [])] = False
            if hit.any():
                failed += int(np.count_nonzero(hit))
                self._fail(h, hit)
        return failed

    def slot_ends(self, service: int, now: float, ends: list[float]) -> list[float]:
        """The ends (s) of the requests of ``service`` on the slots that free at ``ends``
        (s, past ``now``) not ended by ``now``: each slot's last request and those queued
        on it before (:meth:`_on_slots`); a slot whose request is not held, its free time."""
        hits = self._on_slots(service, now, ends)
        out = [f for f, hit in zip(ends, hits[:len(ends)], strict=True) if hit is None]
        return out + [float(h.end_at[i]) for h, i in (hit for hit in hits if hit is not None)]

    def fail_ends(self, service: int, now: float, ends: list[float],
                  spare: Sequence[float] = ()) -> int:
        """Fail the requests of ``service`` on the lost slots that free at ``ends`` (s, past
        ``now``): each slot's last request and those queued on it before (:meth:`_on_slots`;
        never those on the draining slots freeing at ``spare``); how many were found."""
        found = 0
        for hit in self._on_slots(service, now, ends, spare):
            if hit is not None:
                h, i = hit
                mask = np.zeros(h.end_at.size, dtype=bool)
                mask[i] = True
                self._fail(h, mask)
                found += 1
        return found

    def retry(self, service: int, now: float, ends: list[float],
              take: Callable[[], float], put: Callable[[float], None],
              prefill_at: Callable[[float, float], float] | None = None,
              spare: Sequence[float] = ()) -> list[Retried]:
        """Retry at ``now`` the requests of ``service`` on the lost slots that free at
        ``ends`` (s, past ``now``): each slot's last request and those queued on it before
        (:meth:`_on_slots`), in the order their prefills started, each on the slot
        ``take()`` gives (the time it frees, s), given back with ``put(end)`` for the next;
        what became of each.

        The replica's KV cache is lost with it, so a retried request prefills its prompt
        again and then decodes what it had left: ``first token - prefill start`` of its
        own run, plus the decode after ``now`` (all of it if its first token had not come).
        ``prefill_at(ready, prefill)`` (if given) says when that prefill starts on a
        surviving pipeline for a request ready at ``ready`` (s) and takes the pipeline for
        it; without it the prefill starts as soon as the slot is free. A request not found
        (not held) needs the time its slot still had (``end - now``). The requests on the
        slots of scaled-down replicas still draining, freeing at ``spare`` (s), stay where
        they are: their replica serves them (:meth:`_on_slots`).
        """
        hits = self._on_slots(service, now, ends, spare)
        found = sorted((h.start_at[i], h.batch.arrival_s[i], k) for k, (h, i) in
                       enumerate(hit for hit in hits if hit is not None))
        held = [hit for hit in hits if hit is not None]
        out = []
        for _, _, k in found:
            h, i = held[k]
            f = float(h.end_at[i])
            free = max(take(), now)
            first = float(h.first_at[i])
            prefill = first - float(h.start_at[i])
            start = free if prefill_at is None else prefill_at(free, prefill)
            new = start + prefill + (f - max(now, first))
            shift = new - f
            b = h.batch
            b.e2e_s[i] += shift
            if now < first:  # no token yet: the first one comes that much later
                b.ttft_s[i] += shift
                h.first_at[i] += shift
            elif b.output_tokens[i] > 1:  # tokens streamed, then a pause: a longer TPOT
                # (over the N - 1 gaps between its tokens)
                b.tpot_s[i] += shift / float(b.output_tokens[i] - 1)
            h.end_at[i] = new
            h.last_end = max(h.last_end, new)
            put(new)
            out.append(Retried(f, start, prefill, start + prefill, new))
        for f, hit in zip(ends, hits[:len(ends)], strict=True):
            if hit is None:  # a slot whose request is not held
                free = max(take(), now)
                put(free + (f - now))
                out.append(Retried(f, free, 0.0, free, free + (f - now)))
        return out

    def _on_slots(self, service: int, now: float, ends: list[float],
                  spare: Sequence[float] = ()) -> list[tuple[_Held, int] | None]:
        """The held requests of ``service`` on the lost slots that free at ``ends`` (s, past
        ``now``) and not ended by ``now``: first, in the order of ``ends``, each slot's
        last request (:meth:`_Matcher.find`; ``None`` where none is held), then those queued on
        the slots before them: a request that waited for its slot (taken at its ready
        time, after its arrival) and had not started its prefill by ``now`` took it
        when the request before it there ended, itself lost if that was after ``now``.

        ``spare``: the free times (s) of slots that are not lost (a scaled-down replica's,
        draining on a healthy replica): their requests, found first the same way, are
        never among those returned, even where an end time is within the matching
        tolerance of a lost slot's."""
        matcher = _Matcher(self._of(service), now)
        self._queued_before(matcher, now, [matcher.find(f) for f in spare])
        return self._queued_before(matcher, now, [matcher.find(f) for f in ends])

    @staticmethod
    def _queued_before(matcher: _Matcher, now: float, out: list[tuple[_Held, int] | None]
                       ) -> list[tuple[_Held, int] | None]:
        """``out`` (slots' last requests) followed by the requests queued on those slots
        before them and not ended by ``now`` (s), each found with ``matcher``."""
        todo = [hit for hit in out if hit is not None]
        while todo:
            h, i = todo.pop()
            ready = float(h.ready_at[i])
            if h.start_at[i] > now and ready > now and ready > h.batch.arrival_s[i]:
                before = matcher.find(ready)
                if before is not None:
                    out.append(before)
                    todo.append(before)
        return out

    @staticmethod
    def _fail(h: _Held, mask: np.ndarray) -> None:
        """Mark the requests of ``h`` under ``mask`` failed (NaN latencies)."""
        b = h.batch
        for arr in (b.wait_s, b.ttft_s, b.tpot_s, b.e2e_s):
            arr[mask] = np.nan
        h.end_at[mask] = -np.inf
        h.first_at[mask] = -np.inf
        finite = h.end_at[np.isfinite(h.end_at)]
        h.last_end = float(finite.max()) if finite.size else -np.inf


class _Matcher:
    """Finds held requests by end time (s): each the one ending past ``now`` nearest the
    time asked (within :data:`MATCH_TOLERANCE_S`), each found once."""

    def __init__(self, held: list[_Held], now: float) -> None:
        self.held = held
        if held:
            which = np.concatenate([np.full(h.end_at.size, k) for k, h in enumerate(held)])
            index = np.concatenate([np.arange(h.end_at.size) for h in held])
            end = np.concatenate([h.end_at for h in held])
        else:
            which = index = np.empty(0, dtype=np.int64)
            end = np.empty(0)
        live = end > now
        order = np.argsort(end[live], kind="stable")
        self.which, self.index = which[live][order], index[live][order]
        self.end = end[live][order]
        self.used = np.zeros(self.end.size, dtype=bool)

    def find(self, f: float) -> tuple[_Held, int] | None:
        """The unused request ending nearest ``f`` (s) as ``(batch, index)``, or ``None``."""
        end, used, tol = self.end, self.used, MATCH_TOLERANCE_S
        k = int(np.searchsorted(end, f))
        best, gap = -1, tol
        j = k - 1
        while j >= 0 and end[j] >= f - tol:
            if not used[j] and f - end[j] <= gap:
                best, gap = j, f - end[j]
            j -= 1
        j = k
        while j < end.size and end[j] <= f + tol:
            if not used[j] and end[j] - f <= gap:
                best, gap = j, end[j] - f
            j += 1
        if best < 0:
            return None
        used[best] = True
        return self.held[int(self.which[best])], int(self.index[best])
