"""Gavel's trace format, throughput tables and max-min fairness policies.

The reference figures in ``tests/fixtures/gavel`` are the Gavel simulator's own output
(stanford-futuredata/gavel @ c4fa400, ``scripts/drivers/simulate_scheduler_with_trace.py
-t generated_100_jobs_seed0.trace -p <policy> -c 4:4:4 --seed 0 --solver ECOS``; see
``docs/reproductions.md``) for the shipped 100-job trace on 4 V100 + 4 P100 + 4 K80.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from emulator.build import Simulation, build
from emulator.errors import UserError
from emulator.loader import load_scenario, validate_scenario
from emulator.policies.gavel_rounds import max_min_allocation
from tests.test_engine_invariants import check_invariants
from workloads.traces import sample_path
from workloads.traces.gavel import read_gavel, read_throughputs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "gavel_heterogeneous.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "gavel"


def gavel_mean_jct(policy: str) -> float:
    text = (FIXTURES / f"generated_100_{policy}.txt").read_text()
    return float(re.search(r"Average job completion time: ([\d.]+)", text).group(1))


def run(queue: str, *overrides: str) -> Simulation:
    sim = build(load_scenario(EXAMPLE, [f"scheduler.queue={queue}", *overrides], seed=1),
                keep_segments=True)
    sim.run()
    check_invariants(sim)
    return sim


# The paper's round mechanism and SciPy's HiGHS, each option at its default.
PAPER = ("scheduler.options.solver=highs", "scheduler.options.reset_interval=0s",
         "scheduler.options.mechanism=paper")


def mean_jct(sim: Simulation) -> float:
    jobs = [w for w in sim.works if w.kind == "training"]
    assert all(w.state == "finished" for w in jobs)
    return sum(w.end_s - w.submit_s for w in jobs) / len(jobs)


def test_heterogeneity_aware_max_min_fairness_within_2_percent_of_gavel() -> None:
    # The example runs as Gavel's simulator does: ECOS, 1920 s between allocations and
    # Gavel's round priorities (measured: 17,707 s against 18,003 s, -1.6 %).
    ours, theirs = mean_jct(run("max-min-fairness-het")), gavel_mean_jct("max_min_fairness_perf")
    assert abs(ours - theirs) / theirs < 0.02, (ours, theirs)


def test_agnostic_max_min_fairness_within_2_percent_of_gavel() -> None:
    # Measured: 30,911 s against 31,286 s (-1.2 %); Gavel serves the GPU types in a random
    # order each round for this policy, and gpuemu draws the same sequence.
    ours, theirs = mean_jct(run("max-min-fairness")), gavel_mean_jct("max_min_fairness")
    assert abs(ours - theirs) / theirs < 0.02, (ours, theirs)


def test_lightly_loaded_1000_job_trace_within_2_percent_of_gavel() -> None:
    # 1,000 jobs on 36 + 36 + 36 GPUs, utilisation 7 %: mean JCT is the runtimes plus the
    # wait for the next allocation (measured: 10,187 s against 10,211 s, -0.2 %).
    trace = FIXTURES / "generated_1000_lam1200.trace"
    sim = run("max-min-fairness-het", f"tenants.gavel.traces.0.path={trace}",
              "duration=30d", *(f"sites.0.halls.{i}.nodes=36" for i in range(3)))
    text = (FIXTURES / "generated_1000_max_min_fairness_perf.txt").read_text()
    theirs = float(re.search(r"Average job completion time: ([\d.]+)", text).group(1))
    assert abs(mean_jct(sim) - theirs) / theirs < 0.02, (mean_jct(sim), theirs)


def test_the_papers_mechanism_stays_near_gavel_on_the_loaded_trace() -> None:
    # Each option at its default (HiGHS, no interval, the paper's priorities, a round at
    # every boundary while a job waits): measured on 2026-12-02 -3.7 % (aware) and -8.2 %
    # (agnostic) on the 100-job trace. Before the paper's mechanism re-planned each round
    # (rounds only at arrivals and completions) they were +0.2 % and -3.8 %, and both were
    # held within 5 %; the agnostic bound is 10 % since (docs/reproductions.md).
    for queue, policy, bound in (("max-min-fairness-het", "max_min_fairness_perf", 0.05),
                                 ("max-min-fairness", "max_min_fairness", 0.10)):
        ours, theirs = mean_jct(run(queue, *PAPER)), gavel_mean_jct(policy)
        assert abs(ours - theirs) / theirs < bound, (queue, ours, theirs)


def test_heterogeneity_awareness_pays_on_heterogeneous_gpus() -> None:
    # Gavel's headline: the aware policy cuts mean JCT against the agnostic one (here by
    # about 40 %, as in Gavel's own figures for this trace: 18,003 s vs 31,286 s).
    assert mean_jct(run("max-min-fairness-het")) < 0.7 * mean_jct(run("max-min-fairness"))


def test_jobs_run_at_their_gpu_types_speed() -> None:
    sim = run("max-min-fairness-het")
    table = read_throughputs(sample_path("gavel_throughputs"))
    names = {d: sim.index.systems[int(sim.index.rack_system[int(sim.index.domain_rack[d])])]
             .gpu.name for d in range(sim.index.n_domains)}
    trace = read_gavel(sample_path("gavel_100"))
    for work, row in zip(sim.works, trace.jobs, strict=True):
        # GPU-time fractions over the job's runs must add up to exactly one whole job.
        done = sum((e - s) / table.runtimes_s(row.job_type, row.scale_factor,
                                              row.total_steps)[names[int(
                                                  sim.index.gpu_domain[g[0]])]]
                   for s, e, g in work.segments)
        assert done == pytest.approx(1.0, abs=1e-6)


def test_max_min_allocation_by_hand() -> None:
    # Two 1-GPU jobs, one fast and one slow GPU. Job A runs 4x faster on the fast type
    # (throughputs 4, 1; on an equal share 2.5), job B 1.25x (1.25, 1; equal share 1.125).
    # Normalised terms: A 1.6·a1 + 0.4·a2, B 1.111·b1 + 0.889·b2. With a1 = b2 = x and
    # a2 = b1 = 1 - x, they are equal at x = 0.5, where both reach 1.0 (the optimum: more
    # for one is less for the other).
    thr = np.array([[4.0, 1.0], [1.25, 1.0]])
    x = max_min_allocation(thr, np.ones(2), np.array([1.0, 1.0]))
    assert x == pytest.approx(np.full((2, 2), 0.5), abs=1e-6)
    fair = thr @ np.array([0.5, 0.5])
    assert (thr * x).sum(axis=1) / fair == pytest.approx([1.0, 1.0], abs=1e-6)
    # A 2-GPU job counts twice in its term: with one type of 2 GPUs and a 1-GPU job
    # beside it, max-min gives the 1-GPU job twice the time share of the 2-GPU one.
    x = max_min_allocation(np.ones((2, 1)), np.array([2.0, 1.0]), np.array([2.0]))
    assert x[:, 0] == pytest.approx([0.5, 1.0], abs=1e-6)


def test_gavel_reader_takes_both_formats(tmp_path: Path) -> None:
    p = tmp_path / "t.trace"
    p.write_text("A3C\tcmd\tdir\t--steps\t0\t100\t2\t1\t-1\t12.5\n"
                 "LM (batch size 5)\tcmd\t-n\t1\t50\t3.25\t1\n"
                 "bad\tline\n")
    trace = read_gavel(p)
    assert [(j.job_type, j.total_steps, j.scale_factor, j.arrival_s) for j in trace.jobs] == [
        ("LM (batch size 5)", 50, 1, 3.25), ("A3C", 100, 2, 12.5)]
    assert len(trace.issues) == 1 and "10 (or 7)" in trace.issues[0].message


def test_a_job_type_missing_from_the_table_is_a_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "t.trace"
    p.write_text("Nope\tcmd\tdir\t--steps\t0\t100\t1\t1\t-1\t0\n")
    data = {
        "name": "g", "seed": 1, "duration": "1d",
        "sites": [{"name": "lab", "country": "US", "city": "x",
                   "location": {"lat": 0, "lon": 0}, "grid_connection": "1MW",
                   "cooling": "air", "halls": [{"name": "h", "system": "generic",
                                                "gpu": "v100", "gpus_per_node": 1,
                                                "nodes": 1}]}],
        "tenants": {"t": {"traces": [{"kind": "gavel", "path": str(p),
                                      "throughputs": "sample:gavel_throughputs",
                                      "model": "generic", "runtime": "as_given"}]}},
        "scheduler": {"queue": "max-min-fairness-het", "round_length": "360s"},
    }
    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    assert "no job type 'Nope'" in str(info.value) and "\n" not in str(info.value)
    del data["tenants"]["t"]["traces"][0]["throughputs"]
    with pytest.raises(UserError, match="needs 'throughputs'"):
        build(validate_scenario(data))


def test_services_start_first_and_stay_put_under_max_min_fairness() -> None:
    from tests.conftest import run_scenario, small_scenario

    sim = run_scenario(small_scenario(scheduler={"queue": "max-min-fairness-het",
                                                 "placement": "pack",
                                                 "round_length": "360s"}))
    check_invariants(sim)
    services = [w for w in sim.works if w.kind == "inference"]
    assert services and all(w.preemptions == 0 and w.start_s < 360.0 + 1e-9
                            for w in services)
    assert any(w.kind == "training" and w.state == "finished" for w in sim.works)


def test_ecos_returns_the_centre_of_a_degenerate_optimum() -> None:
    # Two 1-GPU jobs, two types of one GPU each, equally fast everywhere: every job can
    # reach its full share, and the optimal allocations are X = [[a, 1-a], [1-a, a]] for
    # any a in [0, 1]. HiGHS returns a vertex (a = 0 or 1); ECOS, an interior-point
    # method like Gavel's default solver, the middle of that face (a = 1/2).
    thr, scale, gpus = np.ones((2, 2)), np.ones(2), np.ones(2)
    interior = max_min_allocation(thr, scale, gpus, solver="ecos")
    assert interior == pytest.approx(np.full((2, 2), 0.5), abs=1e-4)
    vertex = max_min_allocation(thr, scale, gpus, solver="highs")
    assert vertex.sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-6)
    assert min(abs(vertex[0, 0]), abs(vertex[0, 0] - 1.0)) < 1e-6
    # Where the optimum is unique both solvers agree (the case worked by hand above).
    thr = np.array([[4.0, 1.0], [1.25, 1.0]])
    assert max_min_allocation(thr, scale, gpus, solver="ecos") == pytest.approx(
        max_min_allocation(thr, scale, gpus, solver="highs"), abs=1e-5)


def test_ecos_leaves_types_a_job_cannot_run_on_empty() -> None:
    thr = np.array([[2.0, 0.0], [1.0, 1.0]])
    x = max_min_allocation(thr, np.ones(2), np.ones(2), solver="ecos")
    assert x[0, 1] == 0.0 and (x >= 0).all() and (x.sum(axis=1) <= 1 + 1e-6).all()


def _two_job_scenario(tmp_path: Path, options: dict[str, object], steps: int = 20000,
                      round_length: str | None = "360s") -> dict[str, object]:
    trace = tmp_path / "two.trace"
    trace.write_text(f"A3C\tcmd\tdir\t--steps\t0\t{steps}\t1\t1\t-1\t0\n"
                     "A3C\tcmd\tdir\t--steps\t0\t20000\t1\t1\t-1\t400\n")
    halls = [{"name": n, "system": "generic", "gpu": n, "gpus_per_node": 1, "nodes": 1}
             for n in ("v100", "p100")]
    scheduler: dict[str, object] = {"queue": "max-min-fairness-het", "options": options}
    if round_length is not None:
        scheduler["round_length"] = round_length
    return {
        "name": "g", "seed": 1, "duration": "5d",
        "sites": [{"name": "lab", "country": "US", "city": "x",
                   "location": {"lat": 0, "lon": 0}, "grid_connection": "1MW",
                   "cooling": "air", "halls": halls}],
        "tenants": {"t": {"traces": [{"kind": "gavel", "path": str(trace),
                                      "throughputs": "sample:gavel_throughputs",
                                      "model": "generic", "runtime": "as_given"}]}},
        "scheduler": scheduler,
    }


def _second_start(data: dict[str, object]) -> float:
    sim = build(validate_scenario(data), keep_segments=True)
    sim.run()
    second = sorted(sim.works, key=lambda w: w.submit_s)[1]
    assert second.segments, "the second job never started"
    return float(second.segments[0][0])


def test_reset_interval_holds_new_jobs_until_the_next_allocation(tmp_path: Path) -> None:
    # The second job arrives at 400 s. Without an interval it starts at the next round
    # (720 s). With Gavel's 1920 s it waits, a GPU type standing free, for the first round
    # at least 1920 s after the allocation made at 0 s: 2160 s.
    assert _second_start(_two_job_scenario(tmp_path, {"reset_interval": "0s"})) == 720.0
    for mechanism in ("paper", "gavel"):
        options = {"solver": "ecos", "reset_interval": "1920s", "mechanism": mechanism}
        # Gavel's timer treats an allocation at 0 s as none: its next one is at 720 s
        start = _second_start(_two_job_scenario(tmp_path, options))
        assert start == (2160.0 if mechanism == "paper" else 720.0), mechanism


def test_a_held_job_starts_once_the_interval_is_over_with_nothing_else_happening(
        tmp_path: Path) -> None:
    # The first job ends at about 279 s, the second arrives at 400 s: no arrival or end
    # follows, so only the policy's own wake-up can start it once the 1920 s are over.
    short = {"reset_interval": "1920s"}
    assert _second_start(_two_job_scenario(tmp_path, short, steps=2000)) == 2160.0
    # In event-driven mode (no rounds), exactly when the interval ends.
    assert _second_start(_two_job_scenario(tmp_path, short, steps=2000,
                                           round_length=None)) == pytest.approx(1920.0)


def test_gavel_mechanism_needs_rounds(tmp_path: Path) -> None:
    data = _two_job_scenario(tmp_path, {"mechanism": "gavel"}, round_length=None)
    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    assert str(info.value).startswith("<scenario>: scheduler.round_length: policy "
                                      "'max-min-fairness-het'")
    assert "\n" not in str(info.value)


def test_a_job_that_can_run_nowhere_leaves_the_others_allocation_alone() -> None:
    thr = np.array([[2.0, 1.0], [1.0, 1.0]])
    for solver in ("highs", "ecos"):
        alone = max_min_allocation(thr, np.ones(2), np.ones(2), solver=solver)
        with_idle = max_min_allocation(np.vstack([thr, [[0.0, 0.0]]]), np.ones(3),
                                       np.ones(2), solver=solver)
        assert with_idle[:2] == pytest.approx(alone, abs=1e-5), solver
        assert (with_idle[2] == 0.0).all()
        assert with_idle[:2].sum() > 1.5  # both GPUs in use, not an arbitrary optimum


@pytest.mark.parametrize("options, expected", [
    ({"solver": "glpk"}, "solver 'glpk'; expected one of highs, ecos"),
    ({"reset_interval": "-5s"}, "reset_interval"),
    ({"mechanism": "tiresias"}, "mechanism 'tiresias'; expected one of paper, gavel"),
])
def test_bad_gavel_options_are_one_line(tmp_path: Path, options: dict[str, object],
                                        expected: str) -> None:
    with pytest.raises(UserError) as info:
        build(validate_scenario(_two_job_scenario(tmp_path, options)))
    assert expected in str(info.value) and "\n" not in str(info.value)
