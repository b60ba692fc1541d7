"""The serving queue: when each request of a window starts its prefill (FIFO, two stages).

A request, in arrival order, takes the earliest free sequence slot at or after its
arrival, then the earliest free prefill pipeline; it holds the pipeline for its prefill and
the slot until its decode ends. Pipelines are a heap of the times (s) each one frees; slots
are a :class:`SlotPool`. Both are carried across windows and updated in place.

A service's slots are many (64 replicas of a 70B model hold some 70,000 sequences) and
mostly idle. A slot free since before the arrivals of the window being served is free for
every later arrival and every later failure, whatever its time, so :class:`SlotPool` keeps
only a count of those and a heap of the others: popping the earliest slot is then popping
an idle one while any is left, as the full heap would (its minimum is one of them).

The recursion is a Python step per request (about 20 million on a 30-day campus). Most
windows of a service below capacity never queue: every request finds a slot and a
pipeline free at its arrival. :func:`two_stage_start_times` finds that unqueued prefix
with a few array operations and steps only through the rest, with the same floating-point
figures and the same free times (as multisets: the order of equal times in a heap, and the
times of idle slots, change nothing later) as a step through every request.

Why the prefix is exact. Arrivals are sorted; while no request has waited, the time a
step takes out of a heap is at most its own arrival, so every time in a heap later than
an arrival ``a_i`` is still there at step ``i``: the carried ones and those the earlier
requests of the window put in. A slot is free at ``a_i`` unless all of them are later
than ``a_i``, so request ``i`` does not wait iff fewer than ``len(heap)`` carried or
earlier times exceed ``a_i``, in both heaps. The times taken out are the smallest of all
times (carried and put in), so the heap after ``k`` steps holds the largest ``len(heap)``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["SlotPool", "two_stage_batched_start_times", "two_stage_start_times",
           "two_stage_start_times_stepwise"]

MIN_VECTOR_REQUESTS = 128
"""Below this many requests a window is stepped through: the array path costs about 40 µs
a window whatever its size, a step about 0.3 µs a request (measured together on one
machine; the two cross between 128 and 200 requests)."""

SETTLE_IN_ARRAYS = 64
"""Above this many busy slots, settling sorts them out with arrays, not one pop each."""


class SlotPool:
    """The times (s) a service's sequence slots free: ``idle`` slots free since before
    every arrival still to come (their times forgotten), and a heap ``busy`` of the rest."""

    __slots__ = ("busy", "idle")

    def __init__(self, times: Iterable[float] = ()) -> None:
        self.idle = 0
        self.busy: list[float] = []
        self.replace(times)

    def __len__(self) -> int:
        return self.idle + len(self.busy)

    def replace(self, times: Iterable[float]) -> None:
        """Hold ``times`` (``-inf`` stands for an idle slot, as :meth:`times` gives it)."""
        values = list(times)
        self.busy = [t for t in values if t != -math.inf]
        self.idle = len(values) - len(self.busy)
        heapq.heapify(self.busy)

    def times(self) -> list[float]:
        """Every slot's free time, earliest first (``-inf`` for an idle slot)."""
        return [-math.inf] * self.idle + sorted(self.busy)

    def settle(self, t: float) -> None:
        """Count the slots free at ``t`` as idle: ``t`` must be no later than any arrival
        still to be served or any time a replica will be lost (the window's first
        arrival qualifies: windows are served in time order, after they end)."""
        busy, pop = self.busy, heapq.heappop
        if len(busy) > SETTLE_IN_ARRAYS and busy[0] <= t:  # e.g. after a busy window
            times = np.asarray(busy, dtype=np.float64)
            later = times[times > t]
            self.idle += times.size - later.size
            self.busy = later.tolist()
            heapq.heapify(self.busy)
            return
        while busy and busy[0] <= t:
            pop(busy)
            self.idle += 1

    def put(self, t: float, count: int = 1) -> None:
        """``count`` slots that free at ``t``."""
        for _ in range(count):
            heapq.heappush(self.busy, t)

    def take(self) -> float:
        """Take out the slot that frees first; its time (``-inf`` for an idle one)."""
        if self.idle:
            self.idle -= 1
            return -math.inf
        return heapq.heappop(self.busy)

    def remove(self, t: float, count: int) -> int:
        """Close up to ``count`` busy slots that free exactly at ``t``; how many."""
        busy = self.busy
        found = min(busy.count(t), count)
        if found:
            left = found
            kept = []
            for x in busy:
                if left and x == t:
                    left -= 1
                else:
                    kept.append(x)
            heapq.heapify(kept)
            self.busy = kept
        return found

    def drop_earliest(self, count: int) -> None:
        """Close the ``count`` slots that free first (idle ones before busy ones)."""
        idle = min(self.idle, count)
        self.idle -= idle
        if count > idle:
            self.busy = sorted(self.busy)[count - idle:]  # sorted: still a heap


def two_stage_start_times(slots: SlotPool, prefill_free: list[float],
                          arrivals: np.ndarray, prefill_s: np.ndarray,
                          decode_s: np.ndarray, ready: np.ndarray | None = None
                          ) -> np.ndarray:
    """Prefill start times (s) of requests arriving at ``arrivals`` (sorted, s).

    ``prefill_s`` is the time each holds a prefill pipeline and ``decode_s`` the further
    time it holds its slot (s). ``slots`` and the heap ``prefill_free`` are updated.
    ``ready``, if given, receives when each request took its slot (s): its arrival, or the
    end of the request before it on that slot when it waited for one.
    """
    n = int(arrivals.size)
    k = _serve_unqueued_prefix(slots, prefill_free, arrivals, prefill_s, decode_s)
    if ready is not None:
        ready[:k] = arrivals[:k]
    if k == 0:
        return two_stage_start_times_stepwise(slots, prefill_free, arrivals, prefill_s,
                                              decode_s, ready)
    head = arrivals[:k]
    if k == n:
        return head.astype(np.float64, copy=True)
    out = np.empty(n, dtype=np.float64)
    out[:k] = head
    out[k:] = two_stage_start_times_stepwise(slots, prefill_free, arrivals[k:],
                                             prefill_s[k:], decode_s[k:],
                                             None if ready is None else ready[k:])
    return out


def _serve_unqueued_prefix(slots: SlotPool, prefill_free: list[float],
                           arrivals: np.ndarray, prefill_s: np.ndarray,
                           decode_s: np.ndarray, before_next: bool = False) -> int:
    """Settle the slots at the first arrival and serve, with array operations, the
    requests from the first that start at their arrival (:func:`_unqueued_prefix`):
    their pipeline and slot free times go into ``prefill_free`` and ``slots``. How many.

    ``before_next``: serve only those that arrive strictly before the first request left
    to step through (prefill batches: a request arriving at the very moment a batch began
    would ride it, which the stepwise recursion must see)."""
    if arrivals.size:
        slots.settle(float(arrivals[0]))
    k = _unqueued_prefix(slots, prefill_free, arrivals, prefill_s, decode_s)
    if before_next and 0 < k < arrivals.size:
        k = int(np.searchsorted(arrivals[:k], arrivals[k], side="left"))
    if k:
        ends = arrivals[:k] + prefill_s[:k]
        _keep_latest(prefill_free, ends)
        _take_and_put(slots, ends + decode_s[:k])
    return k


def two_stage_batched_start_times(slots: SlotPool, prefill_free: list[float],
                                  arrivals: np.ndarray, prefill_s: np.ndarray,
                                  shared_s: np.ndarray, decode_s: np.ndarray,
                                  tokens: np.ndarray | None = None,
                                  step_tokens: float | None = None,
                                  ready: np.ndarray | None = None,
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prefill start times, pipeline holds and waits for the batch's end (s) when waiting
    prompts share a prefill batch: (starts, holds, waits).

    As :func:`two_stage_start_times`, but a pipeline runs its prompts in batches, as an
    engine without chunked prefill runs the admitted prompts in one prefill step: a
    request whose slot was ready by the time the batch on its pipeline began rides that
    batch, if its ``tokens`` still fit the step's budget (``step_tokens`` prompt tokens;
    ``None``: no budget), and holds the pipeline for ``prefill_s - shared_s`` only
    (``shared_s``: the part a batch pays once, its weight read and step overhead); any
    other request opens the pipeline's next batch, at its own ready time or when the
    pipeline frees, and holds it for all of ``prefill_s``. A batch's prompts hold the
    pipeline one after another (``starts`` and ``holds``: the GPU's work, in order), but
    every one of them gets its first token when the batch ends, as one forward pass
    finishes them all: ``waits`` is each one's time from the end of its own hold to the end
    of its batch (0 for the batch's last prompt). A request's slot is taken back at the
    end of its hold plus its ``decode_s``: a caller whose first tokens count the wait
    passes it in ``decode_s`` (the serving model's fixed point does, with the waits of its
    previous pass). Requests that never wait all open batches of their own: the unqueued
    prefix of :func:`two_stage_start_times` holds for them. ``ready``: as there.
    """
    n = int(arrivals.size)
    k = _serve_unqueued_prefix(slots, prefill_free, arrivals, prefill_s, decode_s,
                               before_next=True)
    if ready is not None:
        ready[:k] = arrivals[:k]
    holds = np.asarray(prefill_s, dtype=np.float64).copy()
    starts = np.empty(n, dtype=np.float64)
    waits = np.zeros(n, dtype=np.float64)
    starts[:k] = arrivals[:k]
    if k < n:
        _batched_stepwise(slots, prefill_free, arrivals[k:], prefill_s[k:], shared_s[k:],
                          decode_s[k:], starts[k:], holds[k:], waits[k:],
                          None if tokens is None else tokens[k:], step_tokens,
                          None if ready is None else ready[k:])
    return starts, holds, waits


def _batched_stepwise(slots: SlotPool, prefill_free: list[float], arrivals: np.ndarray,
                      prefill_s: np.ndarray, shared_s: np.ndarray, decode_s: np.ndarray,
                      starts: np.ndarray, holds: np.ndarray, waits: np.ndarray,
                      tokens: np.ndarray | None = None,
                      step_tokens: float | None = None,
                      ready_out: np.ndarray | None = None) -> None:
    """The batched recursion one request at a time, into ``starts``, ``holds`` and
    ``waits`` (and ``ready_out``: when each took its slot, s).

    Each pipeline carries the time its current batch began (a batch running since an
    earlier window takes no one: ``-inf``; kept negated, so that of pipelines freeing
    together the latest batch comes first), the batch's number and the prompt tokens it
    holds; each batch's end is kept, and the waits are filled in at the end."""
    budget = math.inf if step_tokens is None or tokens is None else float(step_tokens)
    sizes = [0.0] * arrivals.size if tokens is None else tokens.tolist()
    # (frees at, -began, batch, tokens), a heap: among pipelines freeing at the same
    # time, the one whose batch began last comes first (more requests can ride it)
    pipes = [(t, math.inf, -1, 0.0) for t in prefill_free]
    batch_end: list[float] = []
    batch_of = [0] * arrivals.size
    pop, push, replace = heapq.heappop, heapq.heappush, heapq.heapreplace
    busy = slots.busy
    for i, (a, p, c, d, size) in enumerate(zip(arrivals.tolist(), prefill_s.tolist(),
                                               shared_s.tolist(), decode_s.tolist(), sizes,
                                               strict=True)):
        if slots.idle:
            slots.idle -= 1
            ready = a
        else:
            slot = pop(busy)
            ready = a if a > slot else slot
        free, neg_began, batch, used = pipes[0]
        began = -neg_began
        if ready <= began and used + size <= budget:  # waiting when the batch began: rides
            start, p, used = free, p - c, used + size
        else:  # opens the next batch: when the pipeline frees, or now if it is idle
            start = began = free if ready < free else ready
            batch, used = len(batch_end), size
            batch_end.append(start)
        end = start + p
        batch_end[batch] = end
        batch_of[i] = batch
        replace(pipes, (end, -began, batch, used))
        push(busy, end + d)
        starts[i] = start
        holds[i] = p
        if ready_out is not None:
            ready_out[i] = ready
    if arrivals.size:
        waits[:] = np.asarray(batch_end)[batch_of] - (starts + holds)
    prefill_free[:] = [t for t, _, _, _ in pipes]  # still a heap: ordered by time first


def two_stage_start_times_stepwise(slots: SlotPool, prefill_free: list[float],
                                   arrivals: np.ndarray, prefill_s: np.ndarray,
                                   decode_s: np.ndarray,
                                   ready_out: np.ndarray | None = None) -> np.ndarray:
    """The same as :func:`two_stage_start_times`, one request at a time (the definition;
    ``ready_out``: when each took its slot, s)."""
    out = np.empty(arrivals.size, dtype=np.float64)
    pop, push, replace = heapq.heappop, heapq.heappush, heapq.heapreplace
    busy = slots.busy
    for i, (a, p, d) in enumerate(zip(arrivals.tolist(), prefill_s.tolist(),
                                      decode_s.tolist(), strict=True)):
        if slots.idle:  # free since before the window's first arrival
            slots.idle -= 1
            ready = a
        else:
            slot = pop(busy)
            ready = a if a > slot else slot
        pipe = prefill_free[0]
        start = ready if ready > pipe else pipe
        end = start + p
        replace(prefill_free, end)
        push(busy, end + d)
        out[i] = start
        if ready_out is not None:
            ready_out[i] = ready
    return out


def _unqueued_prefix(slots: SlotPool, prefill_free: list[float], arrivals: np.ndarray,
                     prefill_s: np.ndarray, decode_s: np.ndarray) -> int:
    """How many requests from the first start at their arrival (0: step through all).

    0 also where the shortcut's premises fail: too few requests, no slot or pipeline,
    arrivals out of order, or a hold that does not end after its arrival in floating point.
    """
    n = int(arrivals.size)
    if n < MIN_VECTOR_REQUESTS or not len(slots) or not prefill_free:
        return 0
    a = np.asarray(arrivals, dtype=np.float64)
    ends = a + prefill_s
    frees = ends + decode_s
    # Times put in by later requests must not count as "later than a_i" by accident: each
    # must end after its own arrival (hence after every earlier one).
    if not (bool((a[1:] >= a[:-1]).all()) and bool((ends > a).all())
            and bool((frees > a).all())):
        return 0
    before = np.arange(n)
    busy_pipes = _later_than(prefill_free, a) + before - np.searchsorted(
        np.sort(ends), a, side="right")
    busy_slots = _later_than(slots.busy, a) + before - np.searchsorted(
        np.sort(frees), a, side="right")  # idle slots are never later than an arrival
    waits = (busy_pipes >= len(prefill_free)) | (busy_slots >= len(slots))
    first = int(np.argmax(waits))
    return first if waits[first] else n


def _later_than(heap: list[float], times: np.ndarray) -> np.ndarray:
    """How many of ``heap``'s times are later than each of ``times``."""
    carried = np.sort(np.asarray(heap, dtype=np.float64))
    return carried.size - np.searchsorted(carried, times, side="right")


def _keep_latest(heap: list[float], added: np.ndarray, size: int | None = None) -> None:
    """Replace ``heap`` (in place) by the latest ``size`` (default ``len(heap)``) of its
    times and ``added``."""
    size = len(heap) if size is None else size
    both = np.concatenate([np.asarray(heap, dtype=np.float64), added])
    heap[:] = np.partition(both, both.size - size)[both.size - size:].tolist()
    heapq.heapify(heap)


def _take_and_put(slots: SlotPool, added: np.ndarray) -> None:
    """``added.size`` steps that each took the earliest slot and put one in at ``added``,
    none of them waiting: idle slots go first, then the earliest of the rest and
    ``added`` together (the latest ``len(slots)`` of all remain)."""
    idle = min(slots.idle, added.size)
    slots.idle -= idle
    if idle == added.size:
        slots.busy.extend(added.tolist())
        heapq.heapify(slots.busy)
    else:
        _keep_latest(slots.busy, added, len(slots.busy) + idle)
