"""The offline benchmark run (``cupy_kernels/offline_run.py``): closed forms, its steady-state
limit, and its shortcut (decode-only stretches advanced at once) against a plain
iteration-by-iteration replay written here."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cupy_kernels.offline_run import offline_run_seconds, offline_run_throughput


def _decode(batch_cap: int, weights_s: float = 0.01, per_seq_s: float = 1e-4) -> list[float]:
    """A decode step that reads the weights once and grows linearly with the batch."""
    return [0.0] + [weights_s + per_seq_s * b for b in range(1, batch_cap + 1)]


def _replay(prompt: int, output: int, requests: int, batch_cap: int, budget: int,
            decode_s: list[float], per_token: float, host: float, idle: float) -> float:
    """Every iteration one by one: each request's prompt progress and tokens kept apart."""
    queue = deque(range(requests))
    prompt_left: dict[int, int] = {}  # admitted requests still in prefill, FCFS
    tokens_left: dict[int, int] = {}  # requests in their output phase
    t = 0.0
    while queue or prompt_left or tokens_left:
        while queue and len(prompt_left) + len(tokens_left) < batch_cap:
            prompt_left[queue.popleft()] = prompt
        room = max(budget - len(tokens_left), 0)
        prefilled = 0
        finished_prefill = []
        for r in list(prompt_left):
            if room == 0:
                break
            use = min(prompt_left[r], room)
            prompt_left[r] -= use
            room -= use
            prefilled += use
            if prompt_left[r] == 0:
                finished_prefill.append(r)
        n = len(tokens_left)
        gpu = (decode_s[n] if n else idle) + per_token * prefilled
        t += max(gpu, host * n)
        for r in list(tokens_left):
            tokens_left[r] -= 1
            if tokens_left[r] == 0:
                del tokens_left[r]
        for r in finished_prefill:
            del prompt_left[r]
            if output > 1:
                tokens_left[r] = output - 1
    return t


def test_a_dataset_that_fits_at_once_is_one_prefill_then_the_decode_steps() -> None:
    """Ten requests, room and budget for all: one prefill iteration, then output - 1 steps
    at a batch of ten."""
    decode = _decode(16)
    seconds = offline_run_seconds(100, 50, 10, 16, 4096, decode, 2e-5, 0.0, idle_s=0.01)
    assert seconds == pytest.approx(0.01 + 2e-5 * 1000 + 49 * decode[10])
    tput = offline_run_throughput(100, 50, 10, 16, 4096, decode, 2e-5, 0.0, idle_s=0.01)
    assert tput == pytest.approx(10 * 50 / seconds)


def test_the_host_bound_applies_per_iteration() -> None:
    """A host slower than the GPU sets the time of every decoding iteration."""
    decode = _decode(8)
    seconds = offline_run_seconds(10, 20, 8, 8, 4096, decode, 0.0, host_s_per_seq=0.01,
                                  idle_s=0.0)
    assert seconds == pytest.approx(19 * 8 * 0.01)


def test_a_long_run_tends_to_the_steady_state() -> None:
    """Many waves of a full batch: within a few percent of batch / (decode + prefill share)
    per step, and below it (ramp-up and drain only cost)."""
    cap, prompt, output = 256, 512, 256
    decode, per_token = _decode(cap), 1e-6
    steady = cap / (decode[cap] + per_token * cap * prompt / output)
    tput = offline_run_throughput(prompt, output, 40 * cap, cap, cap * 3, decode, per_token,
                                  0.0, idle_s=0.01)
    assert 0.9 * steady < tput < steady


def test_more_requests_of_the_same_kind_never_lower_the_throughput() -> None:
    """From one batch to many, the ramp and drain weigh less and less."""
    decode = _decode(64)
    figures = [offline_run_throughput(128, 128, n, 64, 2048, decode, 1e-6, 0.0, 0.01)
               for n in (64, 128, 256, 1024, 4096)]
    assert figures == sorted(figures)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        offline_run_seconds(0, 10, 10, 4, 100, _decode(4), 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="batch_cap \\+ 1"):
        offline_run_seconds(10, 10, 10, 4, 100, [0.0, 1.0], 0.0, 0.0, 0.0)


@settings(max_examples=150, deadline=None)
@given(prompt=st.integers(1, 300), output=st.integers(1, 40), requests=st.integers(1, 60),
       batch_cap=st.integers(1, 24), budget=st.integers(1, 700),
       per_token=st.floats(0.0, 1e-3), host=st.floats(0.0, 2e-3))
def test_the_shortcut_replays_every_iteration_exactly(prompt: int, output: int,
                                                      requests: int, batch_cap: int,
                                                      budget: int, per_token: float,
                                                      host: float) -> None:
    """Advancing decode-only stretches at once gives the time of the plain replay."""
    decode = _decode(batch_cap, 0.004, 3e-4)
    fast = offline_run_seconds(prompt, output, requests, batch_cap, budget, decode,
                               per_token, host, idle_s=0.003)
    slow = _replay(prompt, output, requests, batch_cap, budget, decode, per_token, host,
                   idle=0.003)
    assert fast == pytest.approx(slow, rel=1e-9)
