"""Unchunked prefill steps shared by the prompts waiting for them
(:func:`emulator.serving_queue.two_stage_batched_start_times`).

Held to four things: with nothing shared it is the plain two-stage queue, bit for bit;
its unqueued shortcut changes nothing against stepping through every request; a burst on
an idle pipeline pays the shared part once and every prompt of the step gets its first
token when the step ends, while a prompt that arrives during a step waits for the next
one and pays it again; and a step takes no more prompt tokens than its budget.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.serving_queue import (
    SlotPool,
    _batched_stepwise,
    two_stage_batched_start_times,
    two_stage_start_times,
)


def _window(seed: int, n: int, load: float, n_pipes: int, tied: bool = False,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Arrivals (s), prefill holds, shared parts, decode times and carried pipeline free
    times of a random window at ``load`` times what its pipelines sustain (``tied``:
    arrivals on a 0.1 s grid, many at the same instant)."""
    rng = np.random.default_rng(seed)
    prefill = rng.uniform(0.01, 0.2, n)
    shared = prefill * rng.uniform(0.0, 0.9, n)
    decode = rng.uniform(0.5, 5.0, n)
    span = max(float(prefill.sum()) / (n_pipes * load), 1e-3)
    arrivals = np.sort(rng.uniform(0.0, span, n))
    if tied:
        arrivals = np.round(arrivals, 1)
    pipes = sorted(rng.uniform(-1.0, 0.5, n_pipes).tolist())
    return arrivals, prefill, shared, decode, pipes


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), n_slots=st.integers(1, 30),
       n_pipes=st.integers(1, 5), load=st.floats(0.05, 5.0), tied=st.booleans())
def test_nothing_shared_is_the_plain_queue(seed: int, n: int, n_slots: int, n_pipes: int,
                                           load: float, tied: bool) -> None:
    arrivals, prefill, _, decode, pipes = _window(seed, n, load, n_pipes, tied)
    slots = np.random.default_rng(seed + 1).uniform(-1.0, 1.0, n_slots).tolist()
    plain_pool, plain_pipes = SlotPool(slots), list(pipes)
    batched_pool, batched_pipes = SlotPool(slots), list(pipes)
    plain = two_stage_start_times(plain_pool, plain_pipes, arrivals, prefill, decode)
    starts, holds, _ = two_stage_batched_start_times(batched_pool, batched_pipes, arrivals,
                                                     prefill, np.zeros(n), decode)
    assert starts.tobytes() == plain.tobytes()
    assert holds.tobytes() == prefill.tobytes()
    assert sorted(batched_pipes) == sorted(plain_pipes)
    assert batched_pool.times() == plain_pool.times()


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), n_slots=st.integers(1, 30),
       n_pipes=st.integers(1, 5), load=st.floats(0.05, 5.0), tied=st.booleans())
def test_the_unqueued_shortcut_changes_nothing(seed: int, n: int, n_slots: int,
                                               n_pipes: int, load: float, tied: bool) -> None:
    """Also with tied arrivals (a burst at one instant): a request arriving as a batch
    began rides it, whether that batch opened in the array prefix or step by step."""
    arrivals, prefill, shared, decode, pipes = _window(seed, n, load, n_pipes, tied)
    slots = np.random.default_rng(seed + 1).uniform(-1.0, 1.0, n_slots).tolist()
    fast_pool, fast_pipes = SlotPool(slots), list(pipes)
    tokens = np.random.default_rng(seed + 2).integers(1, 3000, n).astype(np.float64)
    starts, holds, waits = two_stage_batched_start_times(fast_pool, fast_pipes, arrivals,
                                                         prefill, shared, decode, tokens,
                                                         8192)
    step_pool, step_pipes = SlotPool(slots), list(pipes)
    if n:
        step_pool.settle(float(arrivals[0]))
    step_starts, step_holds, step_waits = np.empty(n), np.empty(n), np.zeros(n)
    _batched_stepwise(step_pool, step_pipes, arrivals, prefill, shared, decode, step_starts,
                      step_holds, step_waits, tokens, 8192)
    assert starts.tobytes() == step_starts.tobytes()
    assert holds.tobytes() == step_holds.tobytes()
    assert waits.tobytes() == step_waits.tobytes()
    assert sorted(fast_pipes) == sorted(step_pipes)
    # the same free times but for slots free before the first arrival (idle either way)
    first = float(arrivals[0]) if n else -math.inf

    def canonical(pool: SlotPool) -> list[float]:
        return sorted(-math.inf if t <= first else t for t in pool.times())

    assert canonical(fast_pool) == canonical(step_pool)
    # a pipeline is never held less than a prompt's own work, nor more than its prefill
    assert np.all(holds >= prefill - shared - 1e-12) and np.all(holds <= prefill)
    # the wait for the step's end is never negative, and every first token comes at the
    # end of some prompt of the window that waits for nothing (its step's last)
    assert np.all(waits >= 0.0)
    ends = np.sort((starts + holds)[waits == 0.0])
    firsts = starts + holds + waits
    if n:
        nearest = np.minimum(np.abs(firsts - ends[np.clip(np.searchsorted(ends, firsts), 0,
                                                              ends.size - 1)]),
                             np.abs(firsts - ends[np.clip(np.searchsorted(ends, firsts) - 1,
                                                          0, ends.size - 1)]))
        assert np.all(nearest <= 1e-9)


def test_a_burst_pays_the_shared_part_once_and_a_latecomer_again() -> None:
    n, work, fixed = 10, 0.02, 0.05
    arrivals = np.full(n, 1.0)
    prefill, shared = np.full(n, work + fixed), np.full(n, fixed)
    pool, pipes = SlotPool([0.0] * 64), [0.0]
    starts, holds, waits = two_stage_batched_start_times(pool, pipes, arrivals, prefill,
                                                         shared, np.full(n, 3.0))
    # the first opens the step at its arrival; the other nine ride it, one after another
    assert holds[0] == work + fixed and np.allclose(holds[1:], work)
    assert np.allclose(starts, 1.0 + np.concatenate([[0.0], work + fixed + work *
                                                     np.arange(n - 1)]))
    step_end = 1.0 + fixed + n * work
    assert pipes == [step_end] or math.isclose(pipes[0], step_end)
    # one forward pass: every prompt of the step gets its first token when it ends
    assert np.allclose(starts + holds + waits, step_end) and waits[-1] == 0.0
    # one more arrives while that step runs: it waits for the next step and pays again
    late = np.array([1.01])
    starts, holds, waits = two_stage_batched_start_times(pool, pipes, late, prefill[:1],
                                                         shared[:1], np.full(1, 3.0))
    assert math.isclose(float(starts[0]), step_end)
    assert holds[0] == work + fixed and waits[0] == 0.0


def test_a_step_takes_no_more_prompt_tokens_than_its_budget() -> None:
    n, work, fixed, prompt = 10, 0.02, 0.05, 3000
    arrivals = np.full(n, 1.0)
    prefill, shared = np.full(n, work + fixed), np.full(n, fixed)
    tokens = np.full(n, float(prompt))
    pool, pipes = SlotPool([0.0] * 64), [0.0]
    starts, holds, waits = two_stage_batched_start_times(
        pool, pipes, arrivals, prefill, shared, np.full(n, 3.0), tokens, 8192)
    ends = starts + holds + waits  # first tokens: two prompts per step (6,000 tokens)
    steps = np.unique(np.round(ends, 12))
    assert steps.size == 5
    assert all(int(np.count_nonzero(np.isclose(ends, e))) == 2 for e in steps)
    # each step pays the shared part once: five steps of two prompts
    assert math.isclose(pipes[0], 1.0 + 5 * fixed + n * work)
    # a prompt longer than the budget runs alone
    pool, pipes = SlotPool([0.0] * 64), [0.0]
    _, _, waits = two_stage_batched_start_times(
        pool, pipes, arrivals[:3], prefill[:3], shared[:3], np.full(3, 3.0),
        np.full(3, 9000.0), 8192)
    assert np.all(waits == 0.0) and math.isclose(pipes[0], 1.0 + 3 * (work + fixed))
