"""Work held as columns: the book and the spec columns give what objects gave.

Training jobs are kept as columns until they arrive and again once they finish
(:mod:`emulator.work_book`), and their specs are made on demand from each workload's
drawn arrays (:mod:`workloads.spec_columns`). These tests hold both to the object path:
the same specs field for field, the same run and tables, no object per finished job.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from emulator.build import build
from emulator.checkpointing import with_young_daly
from emulator.failure_plan import FailurePlan
from emulator.loader import validate_scenario
from emulator.rng import RngStreams
from emulator.tables import jobs_table
from emulator.work_book import RETIRED_FIELDS, WorkBook
from tests.conftest import small_scenario
from workloads.config import TenantConfig
from workloads.generate import generate_trace_jobs, generate_training_jobs, generate_workload
from workloads.spec import TrainingJobSpec
from workloads.spec_columns import JobSpecs, slot_maker

DAY = 86400.0


def _tenants() -> dict[str, TenantConfig]:
    stream = {"name": "ft", "model": ["llama3-8b", "llama3-70b"], "rate": "300/d",
              "gpus": [8, 16, 72], "tp": 8, "estimate_error": 0.3,
              "tokens": {"dist": "lognormal", "median": 3e8, "p90": 3e9}}
    return {
        "lab": TenantConfig.model_validate({
            "priority": 1, "training": [stream, {**stream, "name": "big", "rate": "20/d",
                                                 "gpus": [144], "pp": 2}],
            "jobs": [{"name": "golden", "model": "llama3-70b", "submit": "3h", "gpus": 64,
                      "tp": 8, "tokens": 1e9}]}),
        "eu": TenantConfig.model_validate({"training": [{**stream, "rate": "100/d"}]}),
    }


def _object_path(tenants: dict[str, TenantConfig], horizon_s: float,
                 seed: int) -> list[TrainingJobSpec]:
    """Every job as an object, tenant by tenant, sorted and renumbered as documented."""
    streams = RngStreams(seed)
    jobs: list[TrainingJobSpec] = []
    for name in sorted(tenants):
        jobs.extend(generate_training_jobs(name, tenants[name], horizon_s, streams, len(jobs)))
        jobs.extend(generate_trace_jobs(name, tenants[name], horizon_s, len(jobs)))
    jobs.sort(key=lambda j: (j.submit_s, j.job_id))
    return [dataclasses.replace(j, job_id=i) for i, j in enumerate(jobs)]


def test_spec_columns_equal_the_object_path_field_for_field() -> None:
    tenants = _tenants()
    specs, _services = generate_workload(tenants, 3 * DAY, RngStreams(5))
    expected = _object_path(tenants, 3 * DAY, 5)
    assert isinstance(specs, JobSpecs)
    assert len(specs) == len(expected) > 1000
    assert list(specs) == expected
    assert [s.job_id for s in specs] == list(range(len(specs)))
    for f in dataclasses.fields(TrainingJobSpec):
        assert specs.values(f.name) == [getattr(s, f.name) for s in expected], f.name
    assert specs[-1] == expected[-1] and specs[2:5] == expected[2:5]


def test_an_adjustment_applies_to_made_specs_and_their_values() -> None:
    specs, _ = generate_workload(_tenants(), 1 * DAY, RngStreams(2))
    doubled = specs.with_adjustment(
        lambda s: dataclasses.replace(s, checkpoint_interval_s=2 * s.checkpoint_interval_s),
        ("checkpoint_interval_s",))
    assert doubled.values("checkpoint_interval_s") == [
        2 * s.checkpoint_interval_s for s in specs]
    assert doubled[3].checkpoint_interval_s == 2 * specs[3].checkpoint_interval_s
    same = with_young_daly(specs, FailurePlan((), {}), 16.0)  # no site asks: unchanged
    assert same is specs


def _run(keep_objects: bool, **changes: object):  # type: ignore[no-untyped-def]
    data = small_scenario(**changes)
    data["tenants"]["lab"]["training"][0]["rate"] = "400/d"
    sim = build(validate_scenario(data), keep_segments=keep_objects)
    sim.run()
    return sim


def test_retiring_changes_no_result_and_keeps_no_object_per_finished_job() -> None:
    kept, retired = _run(True), _run(False)
    assert kept.log.digest() == retired.log.digest()
    a, b = jobs_table(kept.log, kept.works), jobs_table(retired.log, retired.works)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    book = retired.works
    assert isinstance(book, WorkBook) and book.n_jobs > 300
    states = book.states()
    finished = np.flatnonzero(states[:book.n_jobs] == "finished")
    assert finished.size > 100
    assert all(book.live(int(i)) is None for i in finished)  # no object kept
    for i in range(len(book)):  # a retired job reads back with the fields it ended with
        x, y = kept.works[i], book[i]
        assert (x.state, x.kind, x.tenant, x.name, x.n_gpus, x.spec) == (
            y.state, y.kind, y.tenant, y.name, y.n_gpus, y.spec)
        for f in (*RETIRED_FIELDS, "tier", "epoch", "preemptions", "interruptions",
                  "est_duration_s"):
            u, v = getattr(x, f), getattr(y, f)
            assert u == v or (isinstance(u, float) and math.isnan(u) and math.isnan(v)), f
    assert list(states) == [w.state for w in kept.works]
    assert list(book.kinds()) == [w.kind for w in kept.works]
    with pytest.raises(ValueError, match="cannot arrive again"):
        book.arrive(int(finished[0]))


def test_an_object_read_before_the_run_is_the_one_the_run_uses() -> None:
    sim = build(validate_scenario(small_scenario(duration="6h")))
    first = sim.works[0]
    assert first.state == "pending" and sim.works[0] is first
    sim.run()
    assert first.state != "pending"
    assert first.state == sim.works[0].state


def test_rejected_jobs_retire_too() -> None:
    data = small_scenario(duration="12h")
    data["tenants"]["lab"]["training"][0]["gpus"] = [8, 4096]  # 4096 never fits 288 GPUs
    data["tenants"]["lab"]["training"][0]["global_batch_tokens"] = 4096 * 8192
    sim = build(validate_scenario(data))
    sim.run()
    book = sim.works
    rejected = [i for i, s in enumerate(book.states()) if s == "rejected"]
    assert rejected and all(book.live(i) is None for i in rejected)
    assert all(book[i].n_gpus == 4096 and book[i].state == "rejected" for i in rejected)


def test_a_book_indexes_by_id_only() -> None:
    sim = build(validate_scenario(small_scenario(duration="1h")))
    with pytest.raises(TypeError):
        sim.works["0"]  # type: ignore[index]
    with pytest.raises(IndexError):
        sim.works[len(sim.works)]


def _spec_made(work: object) -> bool:
    from emulator.work import _SPEC_SLOT
    return _SPEC_SLOT.__get__(work) is not None


def test_a_queued_job_makes_its_spec_only_when_read() -> None:
    """A synthetic job's object carries the head fields a queue reads, equal to its spec's;
    the spec is made on first read, then kept (the same object)."""
    from emulator.work import DeferredSpecWork

    sim = build(validate_scenario(small_scenario(duration="1d")))
    book = sim.works
    specs = book.specs
    for i in range(min(book.n_jobs, 50)):
        w = book[i]
        assert isinstance(w, DeferredSpecWork) and not _spec_made(w)
        spec = specs[i]
        assert (w.name, w.submit_s, w.n_gpus, w.group_size, w.priority, w.preemptible) == (
            spec.name, spec.submit_s, spec.n_gpus, spec.tp, spec.priority, spec.preemptible)
        assert not _spec_made(w)  # reading the head fields made nothing
        assert w.spec == spec and w.spec is w.spec and _spec_made(w)


def test_deferred_specs_change_no_result_and_queued_jobs_never_make_one() -> None:
    """A deep queue: the run with specs made at arrival and the one with specs made when
    first read give the same event log and jobs table, and most jobs still waiting at the
    end never made their spec."""
    def run(defer: bool):  # type: ignore[no-untyped-def]
        data = small_scenario(duration="1d")
        data["tenants"]["lab"]["training"][0]["rate"] = "2000/d"
        sim = build(validate_scenario(data))
        if not defer:
            sim.works._head = None  # every arriving job makes its spec at once
        sim.run()
        return sim

    eager, deferred = run(False), run(True)
    assert eager.log.digest() == deferred.log.digest()
    a, b = jobs_table(eager.log, eager.works), jobs_table(deferred.log, deferred.works)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    book = deferred.works
    waiting = [w for i in range(book.n_jobs) if (w := book.live(i)) is not None
               and w.start_s != w.start_s]  # arrived, never started
    assert len(waiting) > 100, "no deep queue formed: the test proves nothing"
    assert sum(not _spec_made(w) for w in waiting) > 0.9 * len(waiting)


def test_an_adjustment_of_a_head_field_makes_specs_at_arrival() -> None:
    """When the adjustment may change a field the queue reads, the head is not taken from
    the columns: the spec is made (and adjusted) as the job arrives."""
    specs, _ = generate_workload(_tenants(), 1 * DAY, RngStreams(2))
    assert specs.head(0) is not None
    renamed = specs.with_adjustment(lambda s: dataclasses.replace(s, priority=9),
                                    ("priority",))
    assert renamed.head(0) is None and renamed[0].priority == 9


def test_a_deferred_job_and_its_view_equal_the_keyword_built_ones() -> None:
    """The deferred object and the queue's view are made with positional arguments (a job
    is made at every arrival): every field equals that of the object made from the spec by
    keyword, so a reordered field cannot slip through."""
    from emulator.policies.base import QueuedJob

    sim = build(validate_scenario(small_scenario(duration="1d")))
    book = sim.works
    head = book._head
    for i in range(min(book.n_jobs, 20)):
        deferred = book._make(i)
        book._head = None
        eager = book._make(i)
        book._head = head
        for f in dataclasses.fields(eager):
            got, want = getattr(deferred, f.name), getattr(eager, f.name)
            assert got == want or (got != got and want != want), f.name  # nan == nan
        view = deferred.queued_view()
        assert view == QueuedJob(**{f.name: getattr(eager, f.name)
                                    for f in dataclasses.fields(QueuedJob)})


def test_slot_maker_refuses_classes_whose_init_does_more() -> None:
    """A direct slot maker would skip an inherited ``__post_init__`` or give a value to a
    field ``__init__`` does not take: such classes are refused; the spec class is not."""
    class Base:
        def __post_init__(self) -> None:
            object.__setattr__(self, "y", 2 * self.x)  # type: ignore[attr-defined]

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        x: int
        y: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Hidden:
        x: int
        y: int = dataclasses.field(default=0, init=False)

    for cls in (Derived, Hidden):
        with pytest.raises(TypeError, match="no direct slot maker"):
            slot_maker(cls)
    slot_maker(TrainingJobSpec)
