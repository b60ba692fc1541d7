"""Training-job and inference-service generation from tenant configs."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.rng import RngStreams
from workloads.config import TenantConfig
from workloads.generate import generate_services, generate_training_jobs, generate_workload
from workloads.models import UnknownModelError

DAY = 86400.0


def pretrain(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "pretrain", "model": ["llama3-70b", "llama3-8b"], "model_weights": [1, 3],
        "rate": "8/d", "gpus": [72, 144, 288], "tp": 8, "pp": 1,
        "tokens": {"dist": "lognormal", "median": 5e9, "p90": 2e10},
    }
    base.update(overrides)
    return base


def tenants(*research_workloads: dict[str, Any]) -> dict[str, TenantConfig]:
    return {
        "research": TenantConfig.model_validate({
            "priority": 2,
            "training": list(research_workloads) or [pretrain()],
            "jobs": [{"name": "golden", "model": "llama3-405b", "submit": "1h", "gpus": 512,
                      "tp": 8, "pp": 4, "tokens": 1e10}],
        }),
        "eu-inference": TenantConfig.model_validate({
            "origin": "marseille", "priority": 5,
            "inference": [
                {"name": "chat-70b", "model": "llama3-70b", "replicas": 32,
                 "gpus_per_replica": 4, "rate": "20/s"},
                {"name": "code-8b", "model": "llama3-8b", "replicas": 2, "rate": "3/s",
                 "origin": "tunis", "slo": {"ttft": "1s", "tpot": "50ms"}},
            ],
        }),
        "alpha": TenantConfig.model_validate({
            "training": [pretrain(name="ft", model="llama3-8b", model_weights=None,
                                  gpus=[8], rate="20/d")],
        }),
    }


def test_same_seed_same_workload_different_seed_different() -> None:
    a = generate_workload(tenants(), 7 * DAY, RngStreams(11))
    b = generate_workload(tenants(), 7 * DAY, RngStreams(11))
    c = generate_workload(tenants(), 7 * DAY, RngStreams(12))
    assert a == b
    assert a[0] != c[0]
    assert a[1] == c[1]  # services hold no randomness


def test_jobs_sorted_and_renumbered_contiguously() -> None:
    jobs, services = generate_workload(tenants(), 7 * DAY, RngStreams(1))
    assert [j.job_id for j in jobs] == list(range(len(jobs)))
    keys = [j.submit_s for j in jobs]
    assert keys == sorted(keys)
    assert {j.tenant for j in jobs} == {"alpha", "research"}
    assert [s.service_id for s in services] == [0, 1]
    assert all(0.0 <= j.submit_s < 7 * DAY for j in jobs)


def test_parallelism_and_sampled_values() -> None:
    jobs, _ = generate_workload(tenants(), 30 * DAY, RngStreams(2))
    for j in jobs:
        assert j.dp * j.tp * j.pp == j.n_gpus
        assert j.tokens >= 1 and j.est_duration_s is None
    pre = [j for j in jobs if j.name.startswith("pretrain-")]
    assert {j.n_gpus for j in pre} == {72, 144, 288}
    assert {j.model for j in pre} == {"llama3-70b", "llama3-8b"}
    assert all(j.priority == 2 for j in pre)  # tenant 2 + workload 0
    golden = next(j for j in jobs if j.name == "golden")
    assert (golden.submit_s, golden.n_gpus, golden.dp, golden.pp) == (3600.0, 512, 16, 4)
    assert golden.model == "llama3-405b" and golden.tokens == 1e10


def test_model_weights_are_respected() -> None:
    t = {"r": TenantConfig.model_validate({"training": [pretrain(rate="1000/d")]})}
    jobs, _ = generate_workload(t, 20 * DAY, RngStreams(3))
    share_8b = sum(j.model == "llama3-8b" for j in jobs) / len(jobs)
    # ~20,000 jobs, weight 3/4: binomial sd ~0.003.
    assert share_8b == pytest.approx(0.75, abs=0.02)


def test_poisson_job_count_mean() -> None:
    t = {"r": TenantConfig.model_validate({"training": [pretrain(rate="100/d")]})}
    counts = [len(generate_training_jobs("r", t["r"], 100 * DAY, RngStreams(s), 0))
              for s in range(20)]
    # Expected 10,000 per run; the mean of 20 runs has sd sqrt(10000/20) ~ 22.
    assert sum(counts) / len(counts) == pytest.approx(10_000, abs=100)


def test_max_jobs_and_start() -> None:
    t = TenantConfig.model_validate({"training": [pretrain(rate="100/d", max_jobs=5,
                                                           start="2d")]})
    jobs = generate_training_jobs("r", t, 30 * DAY, RngStreams(4), first_job_id=10)
    assert len(jobs) == 5
    assert [j.job_id for j in jobs] == list(range(10, 15))
    assert all(j.submit_s >= 2 * DAY for j in jobs)


def test_adding_a_workload_leaves_others_unchanged() -> None:
    one = tenants(pretrain())
    two = tenants(pretrain(), pretrain(name="sft", model="mixtral-8x7b",
                                           model_weights=None, gpus=[16]))
    jobs_one = generate_training_jobs("research", one["research"], 7 * DAY, RngStreams(5), 0)
    jobs_two = generate_training_jobs("research", two["research"], 7 * DAY, RngStreams(5), 0)

    def key(js: list) -> list:
        return [(j.name, j.submit_s, j.model, j.n_gpus, j.tokens) for j in js
                if j.name.startswith("pretrain-")]

    assert key(jobs_one) and key(jobs_one) == key(jobs_two)
    assert any(j.name.startswith("sft-") for j in jobs_two)


def test_longer_horizon_only_appends_jobs() -> None:
    t = tenants()["research"]
    short = generate_training_jobs("research", t, 5 * DAY, RngStreams(6), 0)
    long = generate_training_jobs("research", t, 20 * DAY, RngStreams(6), 0)
    assert len(long) > len(short)
    assert long[: len(short)] == short


def test_services_origin_priority_and_slo() -> None:
    t = tenants()["eu-inference"]
    chat, code = generate_services("eu-inference", t, first_service_id=3)
    assert (chat.service_id, code.service_id) == (3, 4)
    assert chat.origin == "marseille" and code.origin == "tunis"
    assert chat.priority == code.priority == 5
    assert chat.n_gpus == 128 and chat.rate_per_s == 20.0
    assert (code.slo_ttft_s, code.slo_tpot_s) == (1.0, 0.05)


def test_unknown_model_names_tenant_workload_and_model() -> None:
    bad = TenantConfig.model_validate({"training": [pretrain(model=["llama3-8b", "gpt-x"])]})
    with pytest.raises(UnknownModelError, match=r"'lab'.*'pretrain'.*'gpt-x'"):
        generate_training_jobs("lab", bad, DAY, RngStreams(0), 0)
    svc = TenantConfig.model_validate({"inference": [{"name": "s", "model": "nope",
                                                      "replicas": 1, "rate": "1/s"}]})
    with pytest.raises(UnknownModelError, match=r"'lab'.*'s'.*'nope'"):
        generate_services("lab", svc, 0)


def test_duplicate_workload_names_rejected() -> None:
    with pytest.raises(ValueError, match=r"training\.1\.name\n  got 'pretrain'; expected each "
                                         r"training workload of a tenant to have its own name"):
        TenantConfig.model_validate({"training": [pretrain(), pretrain()]})
