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
* **retried** (moved to a surviving slot, where it prefills its prompt again, its KV cache
  lost, and decodes what it had left: :meth:`HeldRequests.retry`), ending at ``new_end``
  instead of ``old_end``: its end-to-end latency grows by ``new_end - old_end``; so does its
  TTFT if the failure came before its first token, else its TPOT grows by that shift over
  its output tokens (the pause is spread over its tokens, as the mean TPOT is).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emulator.eventlog import EventLog, RequestBatch

__all__ = ["MATCH_TOLERANCE_S", "HeldRequests"]

MATCH_TOLERANCE_S = 1e-6
"""How close (s) a lost slot's free time must be to a held request's end to be that
request: the two are the same sum of floats, added in a different order."""


@dataclass
class _Held:
    """One batch of one service's requests, with each request's prefill start, first-token
    and end instants (s; ``-inf`` for a request no replica served, which nothing can
    change)."""

    batch: RequestBatch
    start_at: np.ndarray  # prefill start (s)
    first_at: np.ndarray
    end_at: np.ndarray
    last_end: float  # the latest finite end (s), -inf when none


class HeldRequests:
    """Request batches awaiting release to ``log``, oldest first."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._queue: deque[_Held] = deque()

    def __len__(self) -> int:
        """Requests held."""
        return sum(h.end_at.size for h in self._queue)

    def hold(self, batch: RequestBatch,
             times: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """Hold ``batch`` until every request in it has ended; ``times``: each request's
        prefill start, first-token and end instants (s), ``None`` for requests no replica
        served (logged as soon as all before are).

        The batch's latency arrays and ``times`` become the holder's: a failure revises
        them in place (they are not copied, as they are as many as the requests in flight;
        the caller made them for this batch and keeps no other use of them)."""
        n = batch.arrival_s.size
        if times is None:
            times = (np.full(n, -np.inf),) * 3
        start_at, first_at, end_at = times
        finite = end_at[np.isfinite(end_at)]
        last = float(finite.max()) if finite.size else -np.inf
        if not self._queue and last == -np.inf:
            self.log.request_batch(batch)  # nothing before it, nothing can change it
            return
        self._queue.append(_Held(batch, np.asarray(start_at, dtype=np.float64),
                                 np.asarray(first_at, dtype=np.float64),
                                 np.asarray(end_at, dtype=np.float64), last))

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

    def fail_after(self, service: int, now: float) -> int:
        """Fail every request of ``service`` not ended by ``now`` (its last replica is
        lost: in flight or queued for a slot, none is served); how many."""
        failed = 0
        for h in self._of(service):
            hit = h.end_at > now
            if hit.any():
                failed += int(np.count_nonzero(hit))
                self._fail(h, hit)
        return failed

    def fail_ends(self, service: int, now: float, ends: list[float]) -> int:
        """Fail the requests of ``service`` that end at ``ends`` (s, the free times of lost
        slots past ``now``); how many were found."""
        found = 0
        for hit in self._match(service, now, ends):
            if hit is not None:
                h, i = hit
                mask = np.zeros(h.end_at.size, dtype=bool)
                mask[i] = True
                self._fail(h, mask)
                found += 1
        return found

    def retry(self, service: int, now: float, ends: list[float],
              take: Callable[[], float]) -> list[float]:
        """Retry at ``now`` the requests of ``service`` that end at ``ends`` (s, the free
        times of lost slots past ``now``), each on the slot ``take()`` gives (the time it
        frees, s); the new ends, in the order of ``ends``.

        The replica's KV cache is lost with it, so a retried request prefills its prompt
        again and then decodes what it had left: ``first token - prefill start`` of its
        own run, plus the decode after ``now`` (all of it if its first token had not come).
        A request not found (not held) needs the time its slot still had (``end - now``).
        """
        out = []
        for f, hit in zip(ends, self._match(service, now, ends), strict=True):
            free = max(take(), now)
            if hit is None:
                out.append(free + (f - now))
                continue
            h, i = hit
            first = float(h.first_at[i])
            prefill = first - float(h.start_at[i])
            new = free + prefill + (f - max(now, first))
            shift = new - f
            b = h.batch
            b.e2e_s[i] += shift
            if now < first:  # no token yet: the first one comes that much later
                b.ttft_s[i] += shift
                h.first_at[i] += shift
            elif b.output_tokens[i] > 0:  # tokens streamed, then a pause: a longer TPOT
                b.tpot_s[i] += shift / float(b.output_tokens[i])
            h.end_at[i] = new
            h.last_end = max(h.last_end, new)
            out.append(new)
        return out

    def _match(self, service: int, now: float, ends: list[float]
               ) -> list[tuple[_Held, int] | None]:
        """For each of ``ends``, the held request of ``service`` ending past ``now``
        nearest it (within :data:`MATCH_TOLERANCE_S`; each request matched once) as
        ``(batch, index)``, or ``None``; in the order of ``ends``."""
        out: list[tuple[_Held, int] | None] = [None] * len(ends)
        held = self._of(service)
        if not ends or not held:
            return out
        which = np.concatenate([np.full(h.end_at.size, k) for k, h in enumerate(held)])
        index = np.concatenate([np.arange(h.end_at.size) for h in held])
        end = np.concatenate([h.end_at for h in held])
        live = end > now
        which, index, end = which[live], index[live], end[live]
        order = np.argsort(end, kind="stable")
        which, index, end = which[order], index[order], end[order]
        used = np.zeros(end.size, dtype=bool)
        tol = MATCH_TOLERANCE_S
        for pos in sorted(range(len(ends)), key=ends.__getitem__):
            f = ends[pos]
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
            if best >= 0:
                used[best] = True
                out[pos] = (held[int(which[best])], int(index[best]))
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
