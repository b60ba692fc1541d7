"""The serving queue held to its definition, a full heap of every slot's free time stepped
through request by request: the same start times bit for bit and the same free times
(idle slots' own times aside), from random loads below, at and far above capacity, with
times carried across windows; and the stepwise path with the slot pool alone."""

from __future__ import annotations

import heapq
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.serving_queue import (
    MIN_VECTOR_REQUESTS,
    SlotPool,
    _unqueued_prefix,
    two_stage_start_times,
    two_stage_start_times_stepwise,
)


def _definition(slots: list[float], pipes: list[float], arrivals: np.ndarray,
                prefill: np.ndarray, decode: np.ndarray) -> np.ndarray:
    """The recursion on full heaps: each request pops the earliest slot, waits for it and
    for the earliest pipeline, holds the pipeline for its prefill and the slot until its
    decode ends."""
    out = np.empty(arrivals.size)
    for i, (a, p, d) in enumerate(zip(arrivals.tolist(), prefill.tolist(), decode.tolist(),
                                      strict=True)):
        ready = max(a, heapq.heappop(slots))
        start = max(ready, pipes[0])
        heapq.heapreplace(pipes, start + p)
        heapq.heappush(slots, start + p + d)
        out[i] = start
    return out


def _is_heap(heap: list[float]) -> bool:
    return all(heap[i] <= heap[c] for i in range(len(heap))
               for c in (2 * i + 1, 2 * i + 2) if c < len(heap))


def _both(slots: list[float], pipes: list[float], arrivals: np.ndarray,
          prefill: np.ndarray, decode: np.ndarray,
          pool: SlotPool | None = None) -> tuple[np.ndarray, list[float], list[float],
                                                  SlotPool]:
    """Serve one window with the shortcut (on ``pool``, or a new one holding ``slots``),
    the stepwise path and the definition; assert they agree; the shortcut's results and
    the definition's heaps."""
    fast_pool = SlotPool(slots) if pool is None else pool
    step_pool = SlotPool(fast_pool.times())
    fast_pipes, step_pipes = list(pipes), list(pipes)
    fast = two_stage_start_times(fast_pool, fast_pipes, arrivals, prefill, decode)
    if arrivals.size:
        step_pool.settle(float(arrivals[0]))
    step = two_stage_start_times_stepwise(step_pool, step_pipes, arrivals, prefill, decode)
    ref = _definition(slots, pipes, arrivals, prefill, decode)
    assert fast.tobytes() == ref.tobytes()
    assert step.tobytes() == ref.tobytes()
    # the same free times, but for slots free before the window's first arrival (idle:
    # free for every later arrival, whatever their times)
    settled = float(arrivals[0]) if arrivals.size else -math.inf

    def canonical(times: list[float]) -> list[float]:
        return sorted(-math.inf if t <= settled else t for t in times)

    assert canonical(fast_pool.times()) == canonical(slots)
    assert canonical(step_pool.times()) == canonical(slots)
    assert sorted(fast_pipes) == sorted(pipes) == sorted(step_pipes)
    assert _is_heap(fast_pool.busy) and _is_heap(fast_pipes)  # the next window pops
    return fast, slots, pipes, fast_pool


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 600),
       n_slots=st.integers(1, 40), n_pipes=st.integers(1, 6),
       load=st.floats(0.01, 6.0), windows=st.integers(1, 3))
def test_shortcut_equals_stepwise(seed: int, n: int, n_slots: int, n_pipes: int,
                                  load: float, windows: int) -> None:
    """Random windows, each continuing from the heaps the previous one left."""
    rng = np.random.default_rng(seed)
    slots = [float(x) for x in rng.uniform(0.0, 2.0, n_slots)]
    pipes = [float(x) for x in rng.uniform(0.0, 0.5, n_pipes)]
    heapq.heapify(slots)
    heapq.heapify(pipes)
    t0 = 0.0
    pool = SlotPool(slots)
    for _ in range(windows):
        # mean prefill 0.05 s and decode 2 s per request; ``load`` scales the arrival rate
        # against what the slots and pipelines can serve
        rate = load * min(n_slots / 2.05, n_pipes / 0.05)
        arrivals = np.sort(t0 + rng.uniform(0.0, max(n, 1) / rate, n))
        prefill = rng.exponential(0.05, n)
        decode = rng.exponential(2.0, n)
        _, slots, pipes, pool = _both(slots, pipes, arrivals, prefill, decode, pool)
        t0 = float(arrivals[-1]) if n else t0


def test_light_load_takes_the_shortcut_for_every_request() -> None:
    """Below capacity every request starts at its arrival (the whole window at once)."""
    n = 2 * MIN_VECTOR_REQUESTS
    arrivals = np.arange(n, dtype=np.float64)
    assert _unqueued_prefix(SlotPool([0.0] * 8), [0.0, 0.0], arrivals, np.full(n, 0.1),
                            np.full(n, 2.0)) == n
    starts, slots, pipes, _ = _both([0.0] * 8, [0.0, 0.0], arrivals, np.full(n, 0.1),
                                    np.full(n, 2.0))
    assert np.array_equal(starts, arrivals)
    assert sorted(slots) == [float(a) + 0.1 + 2.0 for a in arrivals[-8:]]
    assert sorted(pipes) == [n - 2 + 0.1, n - 1 + 0.1]


def test_a_slot_freed_at_the_arrival_instant_is_free() -> None:
    """Ties count as free, as in the recursion (``a > slot`` is false when equal): one
    slot, each request freeing it exactly when the next arrives, never queues."""
    n = 2 * MIN_VECTOR_REQUESTS
    arrivals = np.arange(n, dtype=np.float64)
    prefill, decode = np.full(n, 0.5), np.full(n, 0.5)
    assert _unqueued_prefix(SlotPool([0.0]), [0.0], arrivals, prefill, decode) == n
    starts, _, _, _ = _both([0.0], [0.0], arrivals, prefill, decode)
    assert np.array_equal(starts, arrivals)


def test_a_queue_midway_is_stepped_from_its_first_wait() -> None:
    """A burst fills the single slot: requests wait from there on, as stepped."""
    n = MIN_VECTOR_REQUESTS
    arrivals = np.concatenate([np.arange(n, dtype=np.float64) * 10.0,
                               np.full(20, 10.0 * n + 0.5)])
    prefill, decode = np.full(n + 20, 0.25), np.full(n + 20, 1.0)
    assert _unqueued_prefix(SlotPool([0.0]), [0.0], arrivals, prefill, decode) == n + 1
    starts, _, _, _ = _both([0.0], [0.0], arrivals, prefill, decode)
    assert np.array_equal(starts[:n + 1], arrivals[:n + 1])  # these never wait
    assert np.all(np.diff(starts[n:]) == 1.25)  # the burst goes one at a time


def test_premises_that_fail_fall_back_to_steps() -> None:
    """Out-of-order arrivals, holds that end at their own arrival in floating point, and
    windows too small for arrays are stepped through: still the definition's figures."""
    rng = np.random.default_rng(3)
    n = 3 * MIN_VECTOR_REQUESTS
    shuffled = rng.permutation(np.arange(n, dtype=np.float64))
    _both([0.0] * 4, [0.0], shuffled, np.full(n, 0.1), np.full(n, 1.0))
    late = np.full(n, 1e17) + np.arange(n) * 1e3  # 1e-3 s vanishes next to 1e17 s
    _both([0.0] * 4, [0.0], late, np.full(n, 1e-3), np.full(n, 1e-3))
    few = np.arange(MIN_VECTOR_REQUESTS - 1, dtype=np.float64)
    _both([0.0], [0.0], few, np.full(few.size, 0.5), np.full(few.size, 0.5))


def test_slot_pool_operations_match_a_sorted_list() -> None:
    """Settling, closing the earliest slots, taking and putting back: the pool gives the
    times a plain list would, idle slots standing for any time before the settle."""
    times = [5.0, 1.0, 3.0, 8.0, 2.0, 9.0]
    pool = SlotPool(times)
    assert len(pool) == 6 and pool.times() == sorted(times)
    pool.settle(3.0)  # 1, 2 and 3 are free for everything to come
    assert pool.idle == 3 and pool.times() == [-math.inf] * 3 + [5.0, 8.0, 9.0]
    pool.drop_earliest(4)  # three idle ones, then 5
    assert pool.times() == [8.0, 9.0]
    pool.put(4.0, 2)
    assert pool.take() == 4.0 and pool.times() == [4.0, 8.0, 9.0]
    pool.replace([-math.inf, 7.0, -math.inf])
    assert pool.idle == 2 and pool.take() == -math.inf and pool.times() == [-math.inf, 7.0]
    pool.drop_earliest(2)
    assert len(pool) == 0 and pool.times() == []


def test_slot_pool_removes_slots_at_a_given_time() -> None:
    """A warming replica's slots (all free at its opening time) can be closed by that time."""
    pool = SlotPool([1.0, 5.0, 5.0, 5.0, 7.0])
    assert pool.remove(5.0, 2) == 2 and pool.times() == [1.0, 5.0, 7.0]
    assert pool.remove(5.0, 4) == 1 and pool.remove(6.0, 1) == 0
    assert pool.take() == 1.0 and pool.times() == [7.0]
