"""Inference autoscaling: replicas follow load within bounds, after the configured delays."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from emulator.build import build
from emulator.loader import validate_scenario
from tests.conftest import TWO_SYSTEMS, isolate_on_own_system, run_scenario, small_scenario
from tests.test_engine_invariants import check_invariants
from workloads.config import InferenceServiceConfig


def _service(**changes) -> dict:
    data = small_scenario(duration="6h")
    data["tenants"]["lab"]["training"] = []
    svc = {"name": "chat", "model": "llama3-70b", "replicas": 1, "gpus_per_replica": 2,
           "precision": "fp8", "rate": "8/s", "max_batch": 8,
           "prompt_tokens": {"dist": "fixed", "value": 512},
           "output_tokens": {"dist": "fixed", "value": 256},
           "slo": {"ttft": "2s", "tpot": "100ms"}}
    svc.update(changes)
    data["tenants"]["eu"]["inference"] = [svc]
    return data


def _replicas(sim):
    return [w for w in sim.works if w.kind == "replica"]


def test_scales_up_under_load_and_serves_better() -> None:
    fixed = run_scenario(_service())
    scaled = run_scenario(_service(autoscale={"min_replicas": 1, "max_replicas": 12,
                                              "scale_up_delay": "2m"}))
    check_invariants(scaled)
    started = [w for w in _replicas(scaled) if w.segments]
    assert len(started) in range(1, 12)
    first = min(w.start_s for w in started)
    assert first <= 10 * 60, "scaled up within the first windows"

    def attainment(sim) -> float:
        ttft = np.concatenate([b.ttft_s for b in sim.log.requests])
        return float((ttft <= 2.0).mean())

    assert attainment(fixed) < 0.5 < 0.9 < attainment(scaled)


def test_scales_down_to_minimum_when_idle() -> None:
    sim = run_scenario(_service(replicas=6, rate="0.05/s", autoscale={
        "min_replicas": 2, "max_replicas": 6, "scale_down_after": "10m"}))
    check_invariants(sim)
    replicas = _replicas(sim)
    assert len(replicas) == 4  # the initial extra replicas above min_replicas
    stopped = [w for w in replicas if w.state == "finished"]
    assert len(stopped) == 4
    assert all(w.end_s - w.start_s >= 600 for w in stopped), "waited scale_down_after"
    service = next(w for w in sim.works if w.kind == "inference")
    assert service.state == "truncated" and service.n_gpus == 2 * 2  # min replicas stay


def test_bounds_are_validated() -> None:
    base = {"name": "s", "model": "llama3-8b", "rate": "1/s"}
    with pytest.raises(ValidationError, match="within autoscale"):
        InferenceServiceConfig.model_validate(
            {**base, "replicas": 9, "autoscale": {"min_replicas": 1, "max_replicas": 4}})
    with pytest.raises(ValidationError, match="max_replicas"):
        InferenceServiceConfig.model_validate(
            {**base, "replicas": 2, "autoscale": {"min_replicas": 3, "max_replicas": 2}})


def _crowded(queue: str) -> dict:
    """One NVL72 rack filled by long training; a service that must scale from 1 to ~6."""
    data = _service(rate="5/s",
                    autoscale={"min_replicas": 1, "max_replicas": 8, "scale_up_delay": "1m"})
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"]["eu"]["priority"] = 10
    data["tenants"]["lab"] = {"jobs": [
        {"name": f"long-{i}", "model": "llama3-8b", "gpus": 8, "tp": 8, "tokens": 5e10,
         "submit": 0, "checkpoint_interval": "20m"} for i in range(8)] + [
        {"name": "filler", "model": "llama3-8b", "gpus": 6, "tp": 2, "tokens": 5e10,
         "submit": 0}]}  # 8 x 8 + 6 + the service's base replica (2) = 72: the rack is full
    data["scheduler"] = {"queue": queue, "placement": "pack"}
    return data


def test_training_yields_to_replicas_under_priority_policy() -> None:
    fifo = run_scenario(_crowded("fifo"))
    prio = run_scenario(_crowded("priority"))
    check_invariants(prio)
    assert not [w for w in _replicas(fifo) if w.segments], "FIFO: replicas wait behind training"
    started = [w for w in _replicas(prio) if w.segments]
    # Load needs ceil(~14 busy sequences / (8 slots x 0.7)) = 3 replicas: 2 extra, which
    # preempt one 8-GPU training job (the latest started, lowest class) after the first window.
    assert len(started) == 2 and all(w.start_s == 120.0 for w in started)
    preempted = [w for w in prio.works if w.kind == "training" and w.preemptions]
    assert len(preempted) == 1
    # No checkpoint yet (interval 20 min): all 120 s x 8 GPUs of work is lost.
    assert preempted[0].lost_gpu_s == 120.0 * 8


def test_prefill_bound_service_scales_on_prompt_load() -> None:
    """Long prompts and one-token answers: the batch slots are never full, but the single
    prefill pipeline is overloaded, so the autoscaler must add replicas for the prompts."""
    base = {"rate": "6/s", "max_batch": 256,
            "prompt_tokens": {"dist": "fixed", "value": 16000},
            "output_tokens": {"dist": "fixed", "value": 2},
            "slo": {"ttft": "5s", "tpot": "100ms"}}
    fixed = run_scenario(_service(**base))
    scaled = run_scenario(_service(**base, autoscale={"min_replicas": 1, "max_replicas": 16,
                                                      "scale_up_delay": "2m"}))
    check_invariants(scaled)
    started = [w for w in _replicas(scaled) if w.segments]
    assert len(started) >= 1, "prompt load alone must add replicas"

    def attainment(sim) -> float:
        ttft = np.concatenate([b.ttft_s for b in sim.log.requests])
        return float((ttft <= 5.0).mean())

    assert attainment(fixed) < 0.5 < 0.9 < attainment(scaled)


def test_initial_replicas_serve_from_the_start() -> None:
    """``replicas: 4`` with ``min_replicas: 1``: the three initial extras start with the
    service and serve at once, as the base replica does (they used to wait the scale-up
    delay, 30 minutes here, while one replica took the whole load)."""
    heavy = {"rate": "6/s", "slo": {"ttft": "2s", "tpot": "100ms"}}
    fixed = run_scenario(_service(replicas=4, **heavy))
    scaled = run_scenario(_service(replicas=4, **heavy, autoscale={
        "min_replicas": 1, "max_replicas": 4, "scale_up_delay": "30m",
        "scale_down_after": "6h"}))
    check_invariants(scaled)
    extras = _replicas(scaled)
    assert len(extras) == 3 and all(w.segments and w.segments[0][0] == 0.0 for w in extras)

    def first_half_hour(sim) -> float:
        batches = [b for b in sim.log.requests if b.arrival_s.size and b.arrival_s[0] < 1800]
        ttft = np.concatenate([b.ttft_s for b in batches])
        return float((ttft <= 2.0).mean())

    assert first_half_hour(scaled) == pytest.approx(first_half_hour(fixed), abs=0.01)
    assert first_half_hour(fixed) > 0.9


def test_jobs_table_replicas_per_row_match_gpus() -> None:
    """An autoscaled service's rows in the jobs table: each row's ``dp`` is the replicas it
    holds (its base work ``min_replicas``, each extra replica one), so ``n_gpus = tp · dp``
    and the rows' ``dp`` add up to the replicas run, as for a fixed service."""
    from emulator.results import collect

    sim = run_scenario(_service(replicas=6, rate="0.05/s", autoscale={
        "min_replicas": 2, "max_replicas": 6, "scale_down_after": "10m"}))
    jobs = collect(sim).tables["jobs"]
    rows = np.isin(jobs["kind"], ["inference", "replica"])
    assert np.array_equal(jobs["n_gpus"][rows], jobs["tp"][rows] * jobs["dp"][rows])
    assert int(jobs["dp"][rows].sum()) == 6
    base = jobs["kind"] == "inference"
    assert jobs["dp"][base].tolist() == [2]


def test_dashboard_counts_replicas_apart_from_training_jobs() -> None:
    """Autoscaled replicas belong to their service: the dashboard's footer counted them
    as running training jobs ('running 2 training job(s), 1 inference service(s)' with no
    training at all)."""
    from emulator.build import build
    from emulator.dashboard import Dashboard
    from emulator.loader import validate_scenario
    from tests.test_summary_rows import _text

    data = _service(replicas=3, rate="1/s", autoscale={"min_replicas": 1, "max_replicas": 6})
    data["duration"] = "10m"
    sim = build(validate_scenario(data))
    dash = Dashboard(sim)
    sim.run(until=300.0)
    counts = dash.counts
    assert (counts.running_jobs, counts.running_services, counts.running_replicas) == (0, 1, 2)
    text = _text(dash.frame(), width=200)
    assert "running 0 training job(s), 1 inference service(s) (+2 autoscaled replica(s))" \
        in text


def test_an_extra_replica_stays_on_the_services_rack_system() -> None:
    """A site of one GB200 and one H100 rack; an autoscaled service (no system asked
    for) under a load its one replica cannot serve, every other GPU of the rack system it
    was placed on out of service. Its extra replicas wait in the queue rather than go to
    the other system's free GPUs: the serving model serves every replica with the
    service's own system's slots and step times."""
    data = _service(autoscale={"min_replicas": 1, "max_replicas": 4,
                               "scale_up_delay": "2m"}, rate="40/s")
    data["tenants"].pop("lab")
    data["sites"][0]["halls"] = TWO_SYSTEMS
    sim = build(validate_scenario(data))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    sim.env.run(until=1.0)
    isolate_on_own_system(sim, service)
    sim.env.run(until=3600.0)
    svc = sim.engine.serving.by_work[service.work_id]
    assert not svc.replica_works, "no extra replica placed on the other rack system"
    assert svc.queued_replicas, "the load asked for more replicas: they wait"
    assert all(w.state == "queued" for w in svc.queued_replicas)
    sim.engine.finish()
