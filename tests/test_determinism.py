"""Same scenario + same seed ⇒ byte-identical event log; another seed ⇒ another log."""

from __future__ import annotations

from emulator.build import Simulation
from tests.conftest import run_scenario, small_scenario


def test_same_seed_gives_identical_event_log(small_run: Simulation) -> None:
    again = run_scenario(small_scenario())
    assert again.log.digest() == small_run.log.digest()
    assert again.log.work_t == small_run.log.work_t
    assert again.log.work_reason == small_run.log.work_reason
    assert again.log.reasons == small_run.log.reasons


def test_other_seed_gives_other_event_log(small_run: Simulation) -> None:
    other = run_scenario(small_scenario(seed=8))
    assert other.log.digest() != small_run.log.digest()
