"""Trace rows → training jobs / request arrays."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from workloads.models import get_model
from workloads.traces import sample_path
from workloads.traces.mapping import (
    TraceReplayConfig,
    alibaba_to_jobs,
    philly_to_jobs,
    replay_trace,
    resolve_trace_path,
)
from workloads.traces.philly import read_philly


def cfg(**kw: object) -> TraceReplayConfig:
    base: dict[str, object] = {"kind": "philly", "path": "sample:philly", "tenant": "lab",
                               "model": "llama3-8b"}
    base.update(kw)
    return TraceReplayConfig.model_validate(base)


def test_philly_jobs_run_for_trace_duration_at_reference_throughput() -> None:
    c = cfg(tp=2, gpu_scale=2.0, reference_flops_per_gpu=5e14)
    jobs = philly_to_jobs(read_philly(sample_path("philly")), c)
    assert len(jobs) == 4909
    flops = get_model("llama3-8b").train_flops_per_token()
    for j in jobs:
        assert j.dp * j.tp * j.pp == j.n_gpus and j.n_gpus % 2 == 0
        runtime = j.steps * j.tokens_per_step * flops / (j.n_gpus * 5e14)
        # A whole number of steps, rounded up by under one token per step.
        assert runtime == pytest.approx(j.est_duration_s, rel=1e-6, abs=1e-3)
        assert j.tokens_per_step <= 4e6
    assert {j.n_gpus for j in jobs} == {2, 4, 8, 16, 32, 64}  # 1..32 GPUs doubled
    assert [j.job_id for j in jobs] == list(range(4909))


def test_time_scale_start_limit_and_tenant_per_cluster() -> None:
    c = cfg(time_scale=0.5, start="1h", limit=10, tenant_per_cluster=True)
    trace = read_philly(sample_path("philly"))
    jobs = philly_to_jobs(trace, c, first_job_id=100)
    assert len(jobs) == 10 and jobs[0].job_id == 100
    for job, row in zip(jobs, trace.jobs, strict=False):
        assert job.submit_s == 3600 + 0.5 * row.submit_s
        assert job.tenant == f"lab-{row.cluster}"
        assert job.name == f"trace-L{row.line}"


def test_alibaba_skips_cpu_pods() -> None:
    r = replay_trace(cfg(kind="alibaba", path="sample:alibaba", tp=1, keep_pending=True))
    assert len(r.jobs) == 2406 - 377 and r.skipped == 377
    assert r.requests is None and [i.kind for i in r.issues] == ["skipped", "adjusted"]
    assert {j.n_gpus for j in r.jobs} == {1, 2, 4, 8}


def test_alibaba_skips_pending_pods_by_default() -> None:
    from workloads.traces.alibaba import read_alibaba_pods
    pods = read_alibaba_pods(sample_path("alibaba")).pods
    pending_gpu = sum(1 for p in pods if p.num_gpu and (p.scheduled_s is None
                                                        or p.phase == "Pending"))
    r = replay_trace(cfg(kind="alibaba", path="sample:alibaba", tp=1))
    assert pending_gpu > 0 and r.skipped == 377 + pending_gpu
    assert len(r.jobs) == 2406 - 377 - pending_gpu
    counted = {i.message.split(" (")[0]: i.count for i in r.notes}
    assert counted["CPU-only pod"] == 377 and counted["never scheduled"] == pending_gpu


def test_alibaba_limit_counts_pods_considered() -> None:
    from workloads.traces.alibaba import read_alibaba_pods
    jobs, skipped = alibaba_to_jobs(read_alibaba_pods(sample_path("alibaba")),
                                    cfg(kind="alibaba", limit=50))
    assert len(jobs) + skipped == 50


@pytest.mark.parametrize(("kind", "path", "rows"), [
    ("azure_llm", "sample:azure_llm_conv", 4204),
    ("azure_llm", "sample:azure_llm_code", 1966),
    ("mooncake", "sample:mooncake", 1750),
])
def test_serving_traces_become_requests(kind: str, path: str, rows: int) -> None:
    plain = replay_trace(cfg(kind=kind, path=path))
    scaled = replay_trace(cfg(kind=kind, path=path, time_scale=0.1, start=100))
    assert plain.jobs == () and plain.requests is not None and scaled.requests is not None
    assert len(plain.requests) == rows
    assert scaled.requests.times_s == pytest.approx(100 + 0.1 * plain.requests.times_s)
    assert (scaled.requests.prompt_tokens == plain.requests.prompt_tokens).all()


def test_config_rejects_unknown_sample_and_keys() -> None:
    # an unknown model is the scenario's to report (tests/test_scenario_models.py)
    with pytest.raises(ValidationError, match="expected a known trace sample"):
        cfg(path="sample:nope")
    with pytest.raises(ValidationError, match="extra"):
        cfg(speed=2)


def test_gpu_scale_past_any_cluster_is_a_config_error() -> None:
    # 1e30 GPUs per job overflowed the engine's integer arrays mid-run (a traceback)
    assert cfg(gpu_scale=1e6).gpu_scale == 1e6
    with pytest.raises(ValidationError, match="gpu_scale"):
        cfg(gpu_scale=1e30)


def test_an_unknown_sample_is_reported_at_its_field() -> None:
    # was reported at the whole trace entry: "traces.0: got {'kind': …}; expected unknown…"
    from emulator.errors import UserError
    from emulator.loader import validate_scenario
    from tests.conftest import small_scenario

    data = small_scenario()
    data["tenants"]["lab"] = {"traces": [{"kind": "philly", "path": "sample:nope",
                                          "model": "llama3-8b"}]}
    with pytest.raises(UserError, match=r"traces\.0\.path: got 'sample:nope'; expected a "
                                        r"known trace sample after 'sample:' \(alibaba, "):
        validate_scenario(data)
    with pytest.raises(ValidationError, match="throughputs"):
        cfg(kind="gavel", model="generic", runtime="as_given", throughputs="sample:nope")


def test_relative_paths_resolve_against_base_dir(tmp_path: Path) -> None:
    assert resolve_trace_path("t.csv", tmp_path) == tmp_path / "t.csv"
    assert resolve_trace_path(str(tmp_path / "a.csv"), "/elsewhere") == tmp_path / "a.csv"
    assert resolve_trace_path("sample:philly") == sample_path("philly")
    with pytest.raises(FileNotFoundError, match=r"missing\.csv"):
        replay_trace(cfg(path="missing.csv"), base_dir=tmp_path)
