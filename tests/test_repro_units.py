"""Duration-as-given replay, generic clusters, trace readers, round-based mode and the
Tiresias policies, each on a handful of jobs whose outcome is worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator.build import Simulation, build
from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.test_engine_invariants import check_invariants
from topologies.config import HallConfig
from topologies.sizing import effective_system
from workloads.traces.philly import read_philly
from workloads.traces.tiresias import read_tiresias

HEADER = "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n"


def scenario(tmp_path: Path, rows: list[tuple[int, float, float]], queue: str = "fifo",
             nodes: int = 2, gpus_per_node: int = 4, **scheduler: Any) -> dict[str, Any]:
    """A generic cluster replaying ``(gpus, submit s, duration s)`` rows as given."""
    trace = tmp_path / "jobs.csv"
    trace.write_text(HEADER + "".join(f"{i},{g},{t},1,m,{d},0\n"
                                      for i, (g, t, d) in enumerate(rows)))
    return {
        "name": "t", "seed": 1, "duration": "2d",
        "sites": [{"name": "lab", "country": "US", "city": "x",
                   "location": {"lat": 0, "lon": 0}, "grid_connection": "1MW",
                   "cooling": "air",
                   "halls": [{"name": "h", "system": "generic", "nodes": nodes,
                              "gpus_per_node": gpus_per_node}]}],
        "tenants": {"lab": {"traces": [{"kind": "tiresias", "path": str(trace),
                                         "model": "generic", "runtime": "as_given"}]}},
        "scheduler": {"queue": queue, "placement": "pack", **scheduler},
        "compute": {"backend": "numpy"},
    }


def run(data: dict[str, Any]) -> Simulation:
    sim = build(validate_scenario(data), keep_segments=True)
    sim.run()
    check_invariants(sim)
    return sim


def times(sim: Simulation) -> list[tuple[float, float]]:
    """(first start s, end s) per training job, in job order."""
    out = []
    for w in sim.works:
        if w.kind == "training":
            first = min(s for s, _e, _g in w.segments) if w.segments else w.start_s
            out.append((first, w.end_s))
    return out


# -- duration as given ------------------------------------------------------------------
def test_as_given_jobs_run_exactly_their_duration(tmp_path: Path) -> None:
    sim = run(scenario(tmp_path, [(8, 0, 100.5), (1, 10.25, 7)]))
    assert times(sim) == [(0.0, 100.5), (100.5, 107.5)]  # FIFO: the 1-GPU job waits


def test_as_given_preemption_is_lossless(tmp_path: Path) -> None:
    # smallest-gpu-first: the 1-GPU job displaces the 8-GPU one at t=10 for 5 s; the big
    # job then still needs exactly its remaining 90 s.
    sim = run(scenario(tmp_path, [(8, 0, 100), (1, 10, 5)], queue="smallest-gpu-first"))
    (_s0, end0), (start1, end1) = times(sim)
    assert (start1, end1) == (10.0, 15.0)
    assert end0 == 105.0
    assert [w.preemptions for w in sim.works] == [1, 0]


def test_a_model_too_big_for_memory_is_not_refused_when_run_as_given(tmp_path: Path) -> None:
    data = scenario(tmp_path, [(1, 0, 50)])
    data["tenants"]["lab"]["traces"][0]["model"] = "llama3-405b"
    data["sites"][0]["halls"] = [{"name": "h", "system": "h100-hgx", "racks": 1}]
    sim = run(data)
    assert [w.state for w in sim.works] == ["finished"]
    assert times(sim) == [(0.0, 50.0)]


def test_generic_model_needs_as_given(tmp_path: Path) -> None:
    data = scenario(tmp_path, [(1, 0, 50)])
    del data["tenants"]["lab"]["traces"][0]["runtime"]
    with pytest.raises(UserError, match="runtime: as_given"):
        build(validate_scenario(data))


# -- generic clusters -------------------------------------------------------------------
def test_generic_hall_is_nodes_of_gpus() -> None:
    system = effective_system(HallConfig(name="h", system="generic", nodes=27,
                                         gpus_per_node=4, gpu="v100"))
    assert (system.gpus_per_rack, system.nvlink_domain_gpus, system.gpu.name) == (4, 4, "v100")
    flat = effective_system(HallConfig(name="h", system="generic", nodes=3, gpus_per_node=8,
                                       nvlink=False))
    assert flat.nvlink_domain_gpus == 1


@pytest.mark.parametrize(("hall", "message"), [
    ({"system": "generic", "nodes": 2}, "needs gpus_per_node"),
    ({"system": "h100-hgx", "racks": 1, "gpus_per_node": 4}, "apply to system 'generic'"),
    ({"system": "generic", "nodes": 2, "racks": 2, "gpus_per_node": 4}, "not both"),
])
def test_bad_generic_halls_are_one_line_errors(tmp_path: Path, hall: dict, message: str
                                               ) -> None:
    data = scenario(tmp_path, [(1, 0, 1)])
    data["sites"][0]["halls"] = [{"name": "h", **hall}]
    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_108_generic_gpus(tmp_path: Path) -> None:
    sim = run(scenario(tmp_path, [(108, 0, 10)], nodes=27, gpus_per_node=4))
    assert sim.index.n_gpus == 108
    assert times(sim) == [(0.0, 10.0)]


# -- trace readers ----------------------------------------------------------------------
def test_tiresias_reader_keeps_fractions_and_skips_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "a,2,0.5,1,vgg16,10.25,0\nb,0,1,1,m,5,0\nc,1,0.25,1,m,3,0\n")
    trace = read_tiresias(p)
    assert [(j.job_id, j.submit_s, j.duration_s, j.num_gpus) for j in trace.jobs] == [
        ("c", 0.25, 3.0, 1), ("a", 0.5, 10.25, 2)]
    assert len(trace.issues) == 1 and "num_gpu" in trace.issues[0].message


def test_philly_reader_takes_sub_second_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text("timestamp,duration,num_gpus,gpu_time,cluster\n"
                 "2017-10-01 00:00:00,10,1,10,vc\n2017-10-01 00:00:01.250000,5,2,10,vc\n")
    assert [j.submit_s for j in read_philly(p).jobs] == [0.0, 1.25]


# -- round-based mode ------------------------------------------------------------------
def test_round_based_mode_starts_work_only_at_round_boundaries(tmp_path: Path) -> None:
    sim = run(scenario(tmp_path, [(8, 5, 100), (8, 10, 50)], round_length="60s"))
    # Arrivals wait for the round at 60 s; the second job's round comes at 180 s (the
    # first ends at 160 s, between rounds).
    assert times(sim) == [(60.0, 160.0), (180.0, 230.0)]


# -- dlas-gpu ----------------------------------------------------------------------------
def test_dlas_demotes_at_the_exact_threshold_crossing(tmp_path: Path) -> None:
    # An 8-GPU job crosses 3,250 GPU-s at 406.25 s; the waiting 1-GPU job (queue 0) then
    # displaces it at that instant, not at the next arrival or completion.
    sim = run(scenario(tmp_path, [(8, 0, 1000), (1, 10, 20)], queue="dlas-gpu"))
    (_s0, end0), (start1, end1) = times(sim)
    assert (start1, end1) == (406.25, 426.25)
    assert end0 == 1020.0


def test_dlas_simulator_crossing_checks_late(tmp_path: Path) -> None:
    # At the 1-GPU job's arrival (10 s, 10 s of run time) the Tiresias simulator schedules
    # its next check floor((3250 - 10) / 8) = 405 s later, at 415 s: the demotion, and the
    # small job's start, come 8.75 s after the exact crossing (406.25 s).
    sim = run(scenario(tmp_path, [(8, 0, 1000), (1, 10, 20)], queue="dlas-gpu",
                       options={"crossing": "simulator"}))
    assert times(sim)[1] == (415.0, 435.0)


def test_dlas_starvation_knob_promotes_a_waiting_job(tmp_path: Path) -> None:
    # Thresholds 400 / 800 GPU-s. Job 0 (4 GPUs) reaches queue 2 at 200 s, when job 1
    # (8 GPUs, queue 0) arrives and displaces it; job 1 falls to queue 1 at 250 s and to
    # queue 2 at 300 s, behind job 0, which then resumes. With knob 0.25, job 0 (200 s of
    # run time) is promoted after waiting 50 s: it resumes at 250 s instead.
    def resumed(**options: Any) -> float:
        sim = run(scenario(tmp_path, [(4, 0, 1000), (8, 200, 1000)], queue="dlas-gpu",
                           options={"thresholds": [400, 800], **options}))
        segments = sorted((s, e) for s, e, _g in sim.works[0].segments)
        assert segments[0] == (0.0, 200.0)
        return segments[1][0]

    assert resumed() == 300.0
    assert resumed(starvation_knob=0.25) == 250.0


def test_dlas_bad_option_is_a_one_line_error(tmp_path: Path) -> None:
    data = scenario(tmp_path, [(1, 0, 1)], queue="dlas-gpu", options={"crossing": "late"})
    with pytest.raises(UserError, match="crossing must be 'exact' or 'simulator'"):
        build(validate_scenario(data))


# -- explicit jobs and rejected work ------------------------------------------------------
def test_explicit_jobs_take_a_runtime(tmp_path: Path) -> None:
    data = scenario(tmp_path, [])
    data["tenants"]["lab"] = {"jobs": [
        {"name": "a", "model": "generic", "gpus": 8, "runtime": "90s"},
        {"name": "b", "model": "llama3-405b", "gpus": 1, "submit": "10s", "runtime": 30}]}
    sim = run(data)
    assert times(sim) == [(0.0, 90.0), (90.0, 120.0)]


@pytest.mark.parametrize(("job", "message"), [
    ({"name": "a", "model": "generic", "gpus": 1, "tokens": 1e9}, "needs a runtime"),
    ({"name": "a", "model": "llama3-8b", "gpus": 1}, "exactly one of tokens"),
])
def test_bad_explicit_jobs_are_one_line_errors(tmp_path: Path, job: dict, message: str
                                               ) -> None:
    data = scenario(tmp_path, [])
    data["tenants"]["lab"] = {"jobs": [job]}
    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_run_warns_about_rejected_jobs_by_reason(tmp_path: Path) -> None:
    import subprocess
    import sys

    import yaml

    data = scenario(tmp_path, [(1, 0, 10), (16, 0, 10), (16, 5, 10)])
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "warning: 2 job(s) will be rejected: needs 16 GPUs" in done.stderr.replace("\n", " ")


def test_shipped_peer_samples_read_whole() -> None:
    from collections import Counter

    from workloads.traces import sample_path
    from workloads.traces.gavel import read_gavel

    t = read_tiresias(sample_path("tiresias_60"))
    assert len(t.jobs) == 60 and t.issues == ()
    assert Counter(j.num_gpus for j in t.jobs) == {1: 30, 2: 10, 4: 10, 8: 10}
    assert t.jobs[-1].submit_s == 1779 and sum(j.duration_s for j in t.jobs) == 10705
    g = read_gavel(sample_path("gavel_100"))
    assert len(g.jobs) == 100 and g.issues == () and g.jobs[-1].arrival_s == 90500
