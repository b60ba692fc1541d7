"""A failure under a service's base replica stops that replica as an orchestrator would:
its healthy GPUs go back to the pool, the failed one stays down until its repair, and a
replacement is queued at once and serves on healthy GPUs after the service's cold start.
The summary counts the replica lost (never 0 while it retried their requests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emulator.build import build
from emulator.eventlog import Ev, Infra
from emulator.failure_metrics import failure_rows
from emulator.loader import validate_scenario
from emulator.results import collect
from emulator.tables import jobs_table
from tests.conftest import TWO_SYSTEMS, isolate_on_own_system, small_scenario


def _events(tmp_path: Path, *events: dict[str, Any]) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump({"events": list(events)}))
    return path


_FAIL_GPU0 = {"at": "1h", "target": "gpu:bizerte-20mw/hall-a/0/0", "action": "fail",
              "duration": "2h"}


def _infra(sim: Any, *kinds: Infra) -> list[tuple[Infra, float, int, float]]:
    log = sim.log
    return [(Infra(k), t, s, v) for k, t, s, v in zip(
        log.infra_kind, log.infra_t, log.infra_subject, log.infra_value, strict=True)
        if k in kinds]


def _work_rows(sim: Any, wid: int) -> list[tuple[Ev, float, int]]:
    c = sim.log.work_columns()
    m = c["work_id"] == wid
    return [(Ev(int(k)), float(t), int(n)) for k, t, n in zip(
        c["kind"][m], c["t_s"][m], c["n_gpus"][m], strict=True)]


def test_a_base_replica_on_a_failed_gpu_is_replaced_on_healthy_gpus(tmp_path: Path) -> None:
    """The 4 one-GPU replicas hold GPUs 0-3; GPU 0 fails at 1 h for 2 h. The base work's
    run ends and a new one starts at once on GPUs 1-3; a replacement replica is placed on
    another GPU at once and serves after the default 2 min cold start; the repair gives
    nothing back to the service."""
    sim = build(validate_scenario(small_scenario(duration="4h")),
                events_file=_events(tmp_path, _FAIL_GPU0))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    sim.env.run(until=3600.0 + 1.0)
    assert service.gpus is not None and service.gpus.tolist() == [1, 2, 3]
    svc = sim.engine.serving.by_work[service.work_id]
    (replacement,) = svc.replica_works
    assert replacement.gpus is not None and 0 not in replacement.gpus.tolist()
    assert svc.opens_at == {replacement.work_id: 3600.0 + 120.0}
    assert svc.replicas == 4
    assert not sim.engine.core.cluster.free[0]  # the failed GPU stays out of service
    sim.env.run(until=4 * 3600.0)
    sim.engine.finish()
    assert _work_rows(sim, service.work_id) == [
        (Ev.SUBMIT, 0.0, 4), (Ev.START, 0.0, 4), (Ev.INTERRUPT, 3600.0, 4),
        (Ev.START, 3600.0, 3), (Ev.TRUNCATE, 14400.0, 3)]
    assert _work_rows(sim, replacement.work_id) == [
        (Ev.SUBMIT, 3600.0, 1), (Ev.START, 3600.0, 1), (Ev.TRUNCATE, 14400.0, 1)]
    assert _infra(sim, Infra.REPLICAS_DOWN, Infra.REPLICAS_UP) == [
        (Infra.REPLICAS_DOWN, 3600.0, service.work_id, 1.0),
        (Infra.REPLICAS_UP, 3600.0, service.work_id, 1.0)]
    cluster = sim.engine.core.cluster  # repaired: back in the pool, not the service's
    assert not cluster.down[0]
    assert int(cluster.owner[0]) not in (service.work_id, replacement.work_id)
    assert svc.replicas == 4
    result = collect(sim)
    f = result.summary["failures"]
    assert f["requests_retried"] > 0
    assert (f["replicas_lost"], f["base_replicas_stopped"], f["base_replicas_restored"]) == (
        1, 1, 1)
    assert f["job_interruptions"] == 0  # a service is no job
    assert ("replicas lost", "1 (1 base, replaced; 1 replacements placed)") in \
        failure_rows(f)
    # GPU-hours: 4 GPUs for 1 h, then 3 for 3 h on the base work, 1 for 3 h on the replica
    jobs = jobs_table(sim.log, sim.works)
    row = {int(w): i for i, w in enumerate(jobs["work_id"].tolist())}
    assert jobs["n_gpus"][row[service.work_id]] == 4  # as placed at its start
    assert jobs["gpu_s"][row[service.work_id]] == 4 * 3600.0 + 3 * 3 * 3600.0
    assert jobs["gpu_s"][row[replacement.work_id]] == 3 * 3600.0
    assert jobs["interruptions"][row[service.work_id]] == 1


def test_capacity_is_conserved_across_the_failure(tmp_path: Path) -> None:
    """At every instant the service holds one group per replica it counts (base groups
    plus replica works), and the GPUs it holds are owned by it in the cluster state."""
    sim = build(validate_scenario(small_scenario(duration="4h")),
                events_file=_events(tmp_path, _FAIL_GPU0))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    core = sim.engine.core
    for t in (1800.0, 3600.0 + 1.0, 3600.0 + 200.0, 3 * 3600.0 + 1.0):
        sim.env.run(until=t)
        svc = sim.engine.serving.by_work[service.work_id]
        held = [w for w in svc.allocations() if w.gpus is not None]
        assert sum(len(w.gpus) for w in held) == 4  # type: ignore[arg-type]
        assert svc.replicas == 4
        for w in held:
            assert bool((core.cluster.owner[w.gpus] == w.work_id).all())
        assert core.tenant_gpus[service.tenant_idx] == 4
    sim.engine.finish()


def test_a_replacement_waits_in_the_queue_without_capacity(tmp_path: Path) -> None:
    """Every other GPU is out of service: the replacement waits in the queue (requests
    meanwhile find three replicas, none fails for want of one) and is placed when the
    failed GPU's repair frees room, paying its cold start then."""
    data = small_scenario(duration="4h")
    data["tenants"].pop("lab")  # no training: only the service and the failures
    data["tenants"]["eu"]["inference"][0]["cold_start"] = "5m"
    sim = build(validate_scenario(data), events_file=_events(tmp_path, _FAIL_GPU0))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    core = sim.engine.core
    others = np.arange(4, sim.index.n_gpus)
    core.disrupt(others, "maintenance")  # nowhere else to go
    sim.env.run(until=3600.0 + 1.0)
    svc = sim.engine.serving.by_work[service.work_id]
    (waiting,) = svc.queued_replicas
    assert waiting.state == "queued" and svc.replicas == 3
    sim.env.run(until=3 * 3600.0 + 1.0)  # GPU 0 repaired: the replacement goes there
    assert waiting.state == "running" and waiting.gpus.tolist() == [0]  # type: ignore[union-attr]
    assert svc.opens_at[waiting.work_id] == 3 * 3600.0 + 300.0
    sim.env.run(until=4 * 3600.0)
    sim.engine.finish()
    assert _work_rows(sim, waiting.work_id)[:2] == [(Ev.SUBMIT, 3600.0, 1),
                                                   (Ev.START, 3 * 3600.0, 1)]
    f = collect(sim).summary["failures"]
    assert (f["base_replicas_stopped"], f["base_replicas_restored"]) == (1, 1)


def test_a_lost_replacement_is_replaced_again(tmp_path: Path) -> None:
    """The replacement's own GPU fails later: it is lost and queued again."""
    sim = build(validate_scenario(small_scenario(duration="4h")),
                events_file=_events(tmp_path, _FAIL_GPU0))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    sim.env.run(until=3600.0 + 1.0)
    svc = sim.engine.serving.by_work[service.work_id]
    (first,) = svc.replica_works
    sim.engine.failures.inject(first.gpus, "gpu", repair_s=600.0)  # type: ignore[arg-type]
    assert first.state == "lost"
    sim.env.run(until=3600.0 + 2.0)
    (second,) = svc.replica_works
    assert second is not first and second.state == "running"
    assert svc.replicas == 4
    sim.env.run(until=4 * 3600.0)
    sim.engine.finish()
    f = collect(sim).summary["failures"]
    assert (f["replicas_lost"], f["base_replicas_stopped"], f["base_replicas_restored"]) == (
        2, 1, 2)


def test_every_base_replica_lost_leaves_the_service_to_its_replacements(
        tmp_path: Path) -> None:
    """A failure of all four base GPUs: the base work holds nothing (held until the
    horizon) and four replacements serve; nothing is left open in the log."""
    events = [{"at": "1h", "target": f"gpu:bizerte-20mw/hall-a/0/{i}", "action": "fail",
               "duration": "2h"} for i in range(4)]
    sim = build(validate_scenario(small_scenario(duration="4h")),
                events_file=_events(tmp_path, *events))
    service = next(w for w in sim.works if w.kind == "inference")
    result = sim.run()
    svc = sim.engine.serving.by_work[service.work_id]
    assert service.gpus is None and service.state == "truncated"
    assert len(svc.replica_works) == 4 and svc.replicas == 4
    rows = _work_rows(sim, service.work_id)
    assert [r[0] for r in rows].count(Ev.INTERRUPT) == 4
    assert rows[-1][0] == Ev.TRUNCATE
    f = collect(sim).summary["failures"] if result is None else result.summary["failures"]
    assert (f["base_replicas_stopped"], f["base_replicas_restored"]) == (4, 4)


def test_same_scenario_same_seed_same_log(tmp_path: Path) -> None:
    def once() -> tuple[list[object], ...]:
        sim = build(validate_scenario(small_scenario(duration="4h")),
                    events_file=_events(tmp_path, _FAIL_GPU0))
        sim.run()
        c = sim.log.work_columns()
        return (c["kind"].tolist(), c["t_s"].tolist(), c["work_id"].tolist(),
                c["n_gpus"].tolist(), list(sim.log.infra_value))
    assert once() == once()


def _fail_gpu0_after(tmp_path: Path, before: Any, **changes: Any) -> Any:
    """Run the small service to 10 s, apply ``before(sim)``, fail GPU 0 (the first base
    replica's) for 10 min, then run to the end; the simulation."""
    data = small_scenario(duration="2h", **changes)
    data["tenants"].pop("lab")
    sim = build(validate_scenario(data))
    sim.engine.start()
    sim.env.run(until=10.0)
    before(sim)
    sim.engine.failures.inject(np.array([0]), "gpu", repair_s=600.0)
    return sim


def test_a_spared_group_on_a_draining_gpu_keeps_serving(tmp_path: Path) -> None:
    """GPU 1 (the second base replica's) is draining for maintenance when GPU 0 fails:
    the spared replicas keep their GPUs, the draining one included (work holding a
    draining GPU keeps it until it ends), and the run goes on to its end."""
    sim = _fail_gpu0_after(tmp_path, lambda s: s.engine.core.drain(np.array([1]), "m"))
    service = next(w for w in sim.works if w.kind == "inference")
    core = sim.engine.core
    assert service.gpus is not None and service.gpus.tolist() == [1, 2, 3]
    assert int(core.cluster.owner[1]) == service.work_id
    sim.env.run(until=11.0)
    assert core.tenant_gpus[service.tenant_idx] == 4  # 3 base GPUs and the replacement
    sim.env.run(until=2 * 3600.0)
    sim.engine.finish()
    assert _work_rows(sim, service.work_id)[-2:] == [(Ev.START, 10.0, 3),
                                                     (Ev.TRUNCATE, 7200.0, 3)]


def test_a_spared_group_on_a_gpu_out_for_maintenance_keeps_serving(tmp_path: Path) -> None:
    """GPU 1 was taken out of service for maintenance (serving keeps what it holds) when
    GPU 0 fails: the spared replicas keep their GPUs, GPU 1 included."""
    sim = _fail_gpu0_after(tmp_path,
                           lambda s: s.engine.core.disrupt(np.array([1]), "maintenance"))
    service = next(w for w in sim.works if w.kind == "inference")
    assert service.gpus is not None and service.gpus.tolist() == [1, 2, 3]
    assert int(sim.engine.core.cluster.owner[1]) == service.work_id
    sim.env.run(until=2 * 3600.0)
    sim.engine.finish()


def test_spared_groups_across_domains_keep_gpus_cut_off_from_scale_out(
        tmp_path: Path) -> None:
    """74 one-GPU replicas span two NVLink domains; a NIC failure cut GPU 73 off the
    scale-out network (a replica needs none) before GPU 0 fails: the 73 spared replicas
    keep their GPUs across both domains."""
    sim = _fail_gpu0_after(
        tmp_path,
        lambda s: s.engine.failures.inject(np.array([73]), "nic", repair_s=3600.0),
        tenants__eu__inference=[{
            "name": "chat", "model": "llama3-8b", "replicas": 74, "gpus_per_replica": 1,
            "rate": "2/s", "slo": {"ttft": "500ms", "tpot": "30ms"}}])
    service = next(w for w in sim.works if w.kind == "inference")
    assert service.gpus is not None and service.gpus.tolist() == list(range(1, 74))
    assert bool((sim.engine.core.cluster.owner[1:74] == service.work_id).all())
    sim.env.run(until=2 * 3600.0)
    sim.engine.finish()


def test_the_live_counts_see_no_queued_work_after_a_regroup(tmp_path: Path) -> None:
    """The dashboard's counts: the base work goes on at once on its spared replicas (an
    interrupt row, then a start row, no requeue), so its tenant has nothing queued, and
    holds the base work's 3 GPUs plus the replacement's one."""
    from emulator.dashboard import Dashboard
    data = small_scenario(duration="4h")
    data["tenants"].pop("lab")
    sim = build(validate_scenario(data), events_file=_events(tmp_path, _FAIL_GPU0))
    counts = Dashboard(sim).counts
    sim.engine.start()
    sim.env.run(until=3600.0 + 1.0)
    assert counts.queued == [0]
    assert counts.gpus == [4] and counts.running_services == 1
    sim.engine.finish()


def test_a_replacement_stays_on_the_services_rack_system(tmp_path: Path) -> None:
    """A site of one GB200 and one H100 rack; the service runs on H100 GPUs, whose other
    GPUs are all taken out of service. A replacement waits in the queue rather than go
    to a GB200 GPU: the service serves every replica with its H100 slots and steps."""
    data = small_scenario(duration="2h")
    data["tenants"].pop("lab")
    data["sites"][0]["halls"] = TWO_SYSTEMS
    sim = build(validate_scenario(data))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    sim.env.run(until=10.0)
    compute = sim.engine.serving.compute
    system = isolate_on_own_system(sim, service)
    sim.engine.failures.inject(service.gpus[:1].copy(), "gpu", repair_s=3600.0)
    sim.env.run(until=600.0)
    svc = sim.engine.serving.by_work[service.work_id]
    (waiting,) = svc.queued_replicas
    assert waiting.state == "queued" and not svc.replica_works
    sim.env.run(until=3600.0 + 11.0)  # the failed GPU is back: the replacement goes there
    assert waiting.state == "running" and waiting.gpus is not None
    assert compute.system_of_gpu(int(waiting.gpus[0])) is system
    sim.engine.finish()


def test_an_extra_replica_queued_at_a_regroup_pays_its_scale_up_delay(
        tmp_path: Path) -> None:
    """The autoscaler queues an extra replica at the instant a failure stopped a base
    replica (the base work's run starts again then): placed at once, it still warms up
    for the scale-up delay, as the replacement does; only the service's initial replicas
    serve from its start."""
    data = small_scenario(duration="2h")
    data["tenants"].pop("lab")
    data["tenants"]["eu"]["inference"][0].update(
        replicas=2, autoscale={"min_replicas": 2, "max_replicas": 8,
                               "scale_up_delay": "5m"})
    sim = build(validate_scenario(data))
    service = next(w for w in sim.works if w.kind == "inference")
    sim.engine.start()
    sim.env.run(until=3010.0)
    svc = sim.engine.serving.by_work[service.work_id]
    assert service.gpus is not None
    sim.engine.failures.inject(service.gpus[:1].copy(), "gpu", repair_s=3600.0)
    sim.engine.autoscaler.scale_up(svc, 1)
    sim.env.run(until=3011.0)
    assert len(svc.replica_works) == 2
    assert sorted(svc.opens_at.values()) == [3010.0 + 300.0] * 2
    sim.engine.finish()


def test_a_run_with_a_regroup_keeps_the_engine_invariants(tmp_path: Path) -> None:
    """No GPU held twice, the GPU-seconds of the log equal the runs' segments (the base
    work's on 4 GPUs, then on 3), one terminal state per work."""
    from tests.test_engine_invariants import check_invariants
    sim = build(validate_scenario(small_scenario(duration="4h")),
                events_file=_events(tmp_path, _FAIL_GPU0), keep_segments=True)
    sim.run()
    check_invariants(sim)
    service = next(w for w in sim.works if w.kind == "inference")
    assert [g.size for _s, _e, g in service.segments or []] == [4, 3]
