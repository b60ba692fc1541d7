"""The decode step a prompt waits for or rides (emulator/serving_prefill.py)."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.serving_prefill import (
    PREFILL_LOOKBACK_S,
    PrefillRule,
    step_in_flight,
    step_in_flight_with_prefill,
)
from emulator.serving_steps import StepTable

G0, G1, HOST = 0.010, 0.001, 0.0  # s per step, s per step per sequence


def _table(slots: int = 64, host: float = HOST) -> StepTable:
    grid = StepTable.grid(slots)
    return StepTable(grid, G0 + G1 * grid, np.full(grid.size, host))


def test_one_replica_waits_for_the_step_of_the_sequences_decoding_then() -> None:
    """Sequences decode over [0, 10) and [2, 4): an arrival at 1 finds one decoding, at 3
    two, at 5 one, at 12 none (no step in flight)."""
    first, last = np.array([0.0, 2.0]), np.array([10.0, 4.0])
    riding = step_in_flight(np.array([1.0, 3.0, 5.0, 12.0]), first, last, 1, _table())
    assert riding == pytest.approx([G0 + G1, G0 + 2 * G1, G0 + G1, 0.0])


def test_a_sequence_queued_for_its_prefill_does_not_count() -> None:
    """A request whose first token comes at 8 does not decode at 5."""
    riding = step_in_flight(np.array([5.0]), np.array([0.0, 8.0]), np.array([10.0, 9.0]),
                            1, _table())
    assert riding == pytest.approx([G0 + G1])


def test_many_replicas_weigh_the_step_by_the_chance_theirs_is_decoding() -> None:
    """Four sequences over two replicas: the arrival's replica decodes with probability
    1 - (1/2)^4, at a batch of 2 / that probability; the host time bounds the step."""
    first, last = np.zeros(4), np.full(4, 10.0)
    busy = 1.0 - 0.5 ** 4
    batch = 2.0 / busy
    riding = step_in_flight(np.array([1.0]), first, last, 2, _table())
    assert riding[0] == pytest.approx(busy * (G0 + G1 * batch))
    host_bound = step_in_flight(np.array([1.0]), first, last, 2, _table(host=0.05))
    assert host_bound[0] == pytest.approx(busy * 0.05)


def test_unchunked_prompts_wait_half_the_step_in_flight() -> None:
    """Without chunked prefill a prompt holds its pipeline for its work and the step's
    fixed part (shared when prompts ride one step) and waits half the step in flight
    before its first token; its prefill takes all of the GPU while it holds it."""
    rule = PrefillRule(np.array([0.02, 0.04]), np.array([0.005, 0.005]), None)
    times = rule.times(np.array([0.03, 0.0]))
    assert times.hold_s == pytest.approx([0.025, 0.045])
    assert times.fixed_s == pytest.approx([0.015, 0.0])
    assert times.load_span_s == pytest.approx(times.hold_s)
    assert times.load_share == pytest.approx([1.0, 1.0])
    assert times.shared_s == pytest.approx([0.005, 0.005])


def test_chunked_prompts_ride_their_share_of_the_steps() -> None:
    """A 1,024-token prompt (half a chunk) holds its pipeline for its work and half of the
    step it rides, and waits the other half for its first token; with no step in flight
    it holds the pipeline for its work alone. Its GPU load is its work, spread over both."""
    rule = PrefillRule(np.array([0.02, 0.02]), np.array([0.005, 0.005]),
                       np.array([0.5, 0.5]))
    times = rule.times(np.array([0.04, 0.0]))
    assert times.hold_s == pytest.approx([0.02 + 0.02, 0.02])
    assert times.fixed_s == pytest.approx([0.005 + 0.02, 0.005])
    assert times.load_span_s == pytest.approx([0.065, 0.025])
    assert times.load_share * times.load_span_s == pytest.approx([0.02, 0.02])
    assert times.shared_s is None


def test_whole_prompts_with_the_decode_wait_out_the_step_in_flight() -> None:
    """Without chunked prefill, whole prompts run in the decode's forward pass: a prompt
    holds its pipeline for its work and its share of the step (as a chunk), waits half the
    step in flight (prefill included: 60 ms of which 40 decode) and the rest of its own
    step (the decode, 30 ms, and half the other prompts' prefill, 10 ms), and pays the
    fixed part only when its replica is idle. Its GPU load is its work over its hold."""
    rule = PrefillRule(np.array([0.02, 0.02]), np.array([0.005, 0.005]),
                       np.array([0.25, 0.25]), np.array([2048.0, 2048.0]), 8192,
                       joins_next_step=True)
    times = rule.times(np.array([0.04, 0.0]), np.array([1.0, 0.0]), np.array([0.06, 0.0]))
    assert times.hold_s == pytest.approx([0.02 + 0.01, 0.02])
    assert times.fixed_s == pytest.approx([0.03 + 0.01 + 0.03, 0.005])
    assert times.load_span_s == pytest.approx(times.hold_s)
    assert times.load_share * times.load_span_s == pytest.approx([0.02, 0.02])
    half_busy = rule.times(np.array([0.02]).repeat(2), np.array([0.5, 0.5]))
    assert half_busy.fixed_s == pytest.approx([0.0025 + 0.015 + 0.01] * 2)


def test_the_step_in_flight_carries_the_other_prompts_prefill() -> None:
    """The prefills took 68 % of the replica's GPU over the second before a prompt's start
    at 1 s (and 60 % before 2.5 s): the decode step it waits out is stretched to
    ``riding / (1 - 0.68)``, but by no more than a full budget's prefill work; over two
    replicas a replica carries half of them; with no prefills, the decode step alone."""
    assert PREFILL_LOOKBACK_S == 1.0
    starts, ends = np.array([0.0, 0.5, 1.0, 0.2]), np.array([2.0, 2.0, 3.0, 0.4])
    shares = np.array([0.4, 0.2, 0.3, 0.9])
    riding = np.array([0.01, 0.01])
    times = np.array([1.0, 2.5])
    flight = step_in_flight_with_prefill(riding, times, (starts, ends, shares), 1, 1.0)
    assert flight == pytest.approx([0.01 / 0.32, 0.01 / 0.4])
    capped = step_in_flight_with_prefill(riding, times, (starts, ends, shares), 1, 0.005)
    assert capped == pytest.approx([0.015, 0.015])
    two = step_in_flight_with_prefill(riding, times, (starts, ends, shares), 2, 1.0)
    assert two == pytest.approx([0.01 / 0.66, 0.01 / 0.7])
    none = step_in_flight_with_prefill(riding, times, (np.empty(0),) * 3, 1, 1.0)
    assert none == pytest.approx(riding)


def test_a_full_budget_of_prefill_work() -> None:
    """The work of ``step_tokens`` prompt tokens at the window's mean work per token."""
    rule = PrefillRule(np.array([0.01, 0.03]), np.array([0.0, 0.0]), np.array([0.1, 0.3]),
                       np.array([1000.0, 3000.0]), 8000)
    assert rule.budget_work_s() == pytest.approx(0.08)
    assert PrefillRule(np.array([0.01]), np.array([0.0]), None).budget_work_s() == 0.0
