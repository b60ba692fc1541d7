"""``engine.stop_when_done``: a run ends when its last job ends, as trace replays expect.

Replaying a trace, a user does not know how long the queue takes to drain; a generous
duration then dilutes utilisation and energy with an idle tail and costs run time. With
the option the run stops when every work item has ended and none is left to arrive. The
jobs are exactly those of a run to the duration; the summary covers the time simulated and
says why the run ended early.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from emulator.cli import app
from emulator.results import collect
from emulator.tables import jobs_table
from tests.conftest import run_scenario, small_scenario

COMPARED = ("work_id", "submit_s", "start_s", "end_s", "state", "n_gpus", "gpu_s",
            "preemptions")


def _training_only(stop: bool, **changes: Any) -> dict[str, Any]:
    data = small_scenario(duration="10d", **changes)
    data["tenants"].pop("eu")  # a service never ends
    data["tenants"]["lab"] = {"jobs": [
        {"name": f"j{i}", "model": "llama3-8b", "gpus": 8 * (1 + i % 4), "tp": 8,
         "tokens": 2e9 * (1 + i), "submit": f"{3 * i}h"} for i in range(12)]}
    data["engine"]["stop_when_done"] = stop
    return data


def test_the_run_stops_when_the_last_job_ends() -> None:
    stopped = run_scenario(_training_only(True))
    full = run_scenario(_training_only(False))
    a, b = jobs_table(stopped.log, stopped.works), jobs_table(full.log, full.works)
    for column in COMPARED:
        assert np.array_equal(a[column], b[column]), column
    assert (a["state"] == "finished").all()
    last_end = float(np.max(a["end_s"]))
    assert stopped.ended_when_done and not full.ended_when_done
    assert stopped.horizon_s == last_end < full.horizon_s == 10 * 86400
    summary = collect(stopped).summary
    assert summary["simulated_s"] == last_end
    assert summary["ended_early"] == {"reason": "every job ended (engine.stop_when_done)",
                                      "at_s": last_end, "planned_s": 10 * 86400.0}
    assert "ended_early" not in collect(full).summary
    # Utilisation is over the time simulated: the same GPU-seconds over a shorter span.
    gpus = stopped.index.n_gpus
    assert summary["gpu_allocation_util"] == pytest.approx(
        float(np.sum(a["gpu_s"])) / (gpus * last_end), rel=1e-9)


def test_a_scenario_with_a_service_runs_to_its_duration() -> None:
    data = small_scenario(duration="6h")
    data["engine"]["stop_when_done"] = True
    sim = run_scenario(data)
    assert not sim.ended_when_done and sim.horizon_s == 6 * 3600


def test_until_before_the_last_job_ends_stops_at_until() -> None:
    from emulator.build import build
    from emulator.loader import validate_scenario

    sim = build(validate_scenario(_training_only(True)), keep_segments=True)
    sim.run(until=12 * 3600.0)
    assert not sim.ended_when_done and sim.horizon_s == 12 * 3600.0


def test_the_cli_says_the_run_stopped_early(tmp_path: Any) -> None:
    import yaml

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(_training_only(True)))
    result = CliRunner().invoke(app, ["run", str(scenario), "--headless",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "every job ended at" in result.output
    assert "the run stopped there (engine.stop_when_done)" in result.output


def test_the_option_changes_nothing_in_a_run_that_does_not_end_early() -> None:
    """A service keeps the run going: with or without the option, the same event log
    (events due at the very end included, which decide finished against truncated)."""
    runs = []
    for stop in (False, True):
        data = small_scenario(duration="6h")
        data["engine"]["stop_when_done"] = stop
        runs.append(run_scenario(data))
    assert runs[0].log.digest() == runs[1].log.digest()
    assert [x.t for x in runs[0].log.samples] == [x.t for x in runs[1].log.samples]


def test_until_at_a_job_end_decides_as_without_the_option() -> None:
    from emulator.build import build
    from emulator.loader import validate_scenario

    full = run_scenario(_training_only(False))
    ends = np.sort(jobs_table(full.log, full.works)["end_s"])
    until = float(ends[len(ends) // 2])  # a job ends exactly there
    states = []
    for stop in (False, True):
        sim = build(validate_scenario(_training_only(stop)))
        sim.run(until=until)
        states.append(jobs_table(sim.log, sim.works)["state"].tolist())
    assert states[0] == states[1] and "truncated" in states[0]


@pytest.mark.parametrize("how", ["until", "done"])
def test_energy_ends_where_the_run_ends(how: str) -> None:
    """The energy interval in progress when a run stops is dispatched again to end there:
    nothing is charged past the end, whether ``--until`` or the last job stopped it."""
    from emulator.build import build
    from emulator.loader import validate_scenario

    sim = build(validate_scenario(_training_only(how == "done")))
    sim.run(until=1000.0 if how == "until" else None)
    samples = sim.log.energy
    assert samples, "the Bizerte preset has an energy model"
    end = sim.horizon_s
    if how == "until":
        assert end == 1000.0 and not sim.ended_when_done
    else:
        assert sim.ended_when_done and end < 10 * 86400
    assert samples[-1].t < end <= samples[-1].t + 600.0  # stopped between two samples
    assert sum(s.dt_s for s in samples) == pytest.approx(end, rel=1e-12)
    assert samples[-1].dt_s == pytest.approx(end - samples[-1].t, rel=1e-12)


def test_a_closed_interval_keeps_the_cap_it_was_dispatched_under() -> None:
    """The cap of a site that follows its renewables reads the battery; the interval redone
    at the end keeps the cap of its start, not one from the battery state after it."""
    from emulator.build import build
    from emulator.loader import validate_scenario

    data = _training_only(False)
    data["start"] = "2025-07-14"
    data["sites"][0]["energy"] = {
        "battery": {"energy": "4MWh", "power": "50MW", "efficiency": 0.9, "initial_soc": 0.3},
        "power_cap": {"mode": "renewable", "grid_allowance": "1MW"}}
    sim = build(validate_scenario(data))
    energy = sim.engine.sampler.energy
    assert energy is not None and energy.has_caps
    t = 13 * 3600.0  # midday: the battery charges from the sun during the interval
    it_w = np.full(len(sim.index.site_names), 2e6)
    step = energy.step(t, it_w, it_w * 1.2)
    closed = energy.close(t + 120.0)
    assert closed is not None and closed.dt_s == 120.0
    assert not np.array_equal(step.soc_j, closed.soc_j)  # the battery moved less
    assert not np.array_equal(energy.cap_at(t), step.cap_w)  # the case: the cap moved
    assert np.array_equal(closed.cap_w, step.cap_w)
    assert energy.close(t + 120.0) is None  # already ends there


def test_a_sample_at_the_very_end_leaves_no_empty_interval() -> None:
    """A sample taken at the instant the run stops covers nothing: it is dropped, so no
    hourly energy row is made of a zero-length interval."""
    from emulator.build import build
    from emulator.loader import validate_scenario

    sim = build(validate_scenario(_training_only(False)))
    sim.run(until=1000.0)
    sampler = sim.engine.sampler
    n = len(sim.log.energy)
    it_w = np.full(len(sim.index.site_names), 1e6)
    sim.log.energy_sample(sampler.energy.step(1000.0, it_w, it_w))  # sampled at the stop
    sampler.close(1000.0)
    assert len(sim.log.energy) == n and sim.log.energy[-1].t < 1000.0
