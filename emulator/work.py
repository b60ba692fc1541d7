"""Runtime records of the work the engine schedules (jobs and services).

A :class:`Work` wraps an immutable spec (training job or inference service) with the
engine's mutable bookkeeping: state, allocation, timing. Only the engine mutates it.
States: ``pending`` (not yet submitted) → ``queued`` → ``running`` (→ ``queued`` again when
preempted; → ``held`` while a failure that stopped it is being detected, then ``queued``)
→ one terminal state: ``finished``, ``rejected``, ``truncated`` (the horizon ended while
queued, held or running), ``cancelled`` (an autoscaled replica no longer needed) or
``lost`` (a serving replica on failed hardware).
Kinds: ``training``, ``inference`` (a service's base replicas) and ``replica`` (one extra
replica of an autoscaled service; ``parent`` is the service's work id).

Progress of a training job is ``1 - remaining`` (a fraction of its work). While running it
advances at ``rate`` (fraction per second = ``speed / full_duration_s``) from
``progress_start_s`` (after any restore delay); a preemption keeps only the progress up to
the last periodic checkpoint, and a speed change (power cap) re-rates the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.placement.base import PlacementRequest
from emulator.policies.base import QueuedJob
from workloads.spec import InferenceServiceSpec, TrainingJobSpec

__all__ = ["TERMINAL_STATES", "DeferredSpecWork", "Work"]

TERMINAL_STATES = ("finished", "rejected", "truncated", "cancelled", "lost")


@dataclass(slots=True, eq=False)
class Work:
    """One job or service and its runtime state (times in s, power-relevant util 0..1)."""

    work_id: int
    kind: str
    tenant: str
    tenant_idx: int
    spec: TrainingJobSpec | InferenceServiceSpec
    n_gpus: int
    group_size: int
    submit_s: float
    priority: int
    preemptible: bool
    est_duration_s: float
    request: PlacementRequest
    state: str = "pending"
    gpus: np.ndarray | None = None
    start_s: float = float("nan")
    end_s: float = float("nan")
    duration_s: float = float("nan")
    step_s: float = float("nan")
    util: float = 0.0
    tier: int = -1
    epoch: int = 0
    view: QueuedJob | None = None
    remaining: float = 1.0
    progress_start_s: float = float("nan")
    rate: float = 0.0
    speed: float = 1.0
    full_duration_s: float = float("nan")
    attained_gpu_s: float = 0.0
    lost_gpu_s: float = 0.0
    preemptions: int = 0
    segments: list[tuple[float, float, np.ndarray]] | None = None
    parent: int | None = None
    staging_since_s: float = float("nan")
    staging_s: float = 0.0
    run_origin_s: float = float("nan")
    remaining_at_origin: float = 1.0
    rate_changes: list[tuple[float, float]] | None = None
    domains: tuple[np.ndarray, np.ndarray] | None = None  # placement of a start, until logged
    interruptions: int = 0  # failures that stopped this work
    restart_s: float = 0.0  # relaunch overhead (s) the next start pays after a failure
    after_failure: bool = False  # the next start is a restart after a failure
    speed_factors: dict[str, float] | None = None  # slow-downs by cause (see Core.slow)
    span: tuple[int, int] | None = None  # consecutive GPUs first .. end-1, while held
    # (domains, GPUs in each) of the GPUs held, while held, when not one span
    held_by_domain: tuple[np.ndarray, np.ndarray] | None = None

    def close_segment(self, now: float) -> None:
        """Record the GPUs held from ``start_s`` to ``now`` (one run between (re)starts)."""
        if self.gpus is None:
            return
        if self.segments is None:
            self.segments = []
        self.segments.append((self.start_s, now, self.gpus))

    @property
    def name(self) -> str:
        """The job's or service's name."""
        return self.spec.name

    def queued_view(self) -> QueuedJob:
        """The frozen view policies see (built once)."""
        if self.view is None:
            self.view = QueuedJob(  # positional, in field order: made at every arrival
                self.work_id, self.kind, self.tenant, self.name, self.n_gpus,
                self.group_size, self.submit_s, self.priority, self.preemptible,
                self.est_duration_s, self.request, self.attained_gpu_s, self.remaining,
                self.preemptions)
        return self.view


_SPEC_SLOT: Any = Work.__dict__["spec"]  # the slot that holds a Work's spec


class DeferredSpecWork(Work):
    """A training job whose spec is made the first time something reads it.

    While a job waits in the queue only its head fields are read (size, arrival, priority,
    name: given here). In a deep queue most jobs never start before the horizon, and making
    each one's frozen spec (29 fields) at arrival was about a tenth of the run. ``specs``
    makes the spec (``specs[work_id]``); it is the same object from then on, equal field
    for field to the one made at arrival before. ``dataclasses.replace`` does not apply
    (the constructor takes ``specs`` and ``name``); build a :class:`Work` from ``spec``
    instead.
    """

    __slots__ = ("_name", "_specs")

    def __init__(self, specs: Sequence[TrainingJobSpec], name: str, work_id: int,
                 tenant: str, tenant_idx: int, n_gpus: int, group_size: int,
                 submit_s: float, priority: int, preemptible: bool, est_duration_s: float,
                 request: PlacementRequest) -> None:
        self._specs = specs
        self._name = name
        # positional, in Work's field order (a job is made at each arrival: keywords
        # passed on cost about a microsecond a job)
        Work.__init__(self, work_id, "training", tenant, tenant_idx, None,  # type: ignore[arg-type]
                      n_gpus, group_size, submit_s, priority, preemptible, est_duration_s,
                      request)

    @property  # type: ignore[override]
    def spec(self) -> TrainingJobSpec:
        """The job's spec, made on first read."""
        spec = _SPEC_SLOT.__get__(self, Work)
        if spec is None:
            spec = self._specs[self.work_id]
            _SPEC_SLOT.__set__(self, spec)
        return spec  # type: ignore[no-any-return]

    @spec.setter
    def spec(self, value: TrainingJobSpec | None) -> None:
        _SPEC_SLOT.__set__(self, value)

    @property
    def name(self) -> str:
        """The job's name (without making its spec)."""
        return self._name
