"""Scheduling rounds: the queue policy decides on a read-only view; the core applies.

A round runs once per instant in which something may have changed (an arrival, a
completion, a preemption, GPUs back in service, a sample under a power model): requests
within one instant coalesce into one round. In round-based mode (a round length), a
request waits for the next multiple of the round length (Gavel's 360 s rounds). A policy
that defines ``next_wakeup(view)`` gets a round at the time it returns (e.g. a 2D-LAS
threshold crossing), and a round at every arrival and completion even with an empty queue,
so that its own clock advances. Decisions are applied in order — rejections,
preemptions (whose GPUs are free for later starts of the same round) and starts — each
validated by the core; the kernels then run once for everything started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emulator.core.core import Core
from emulator.core.running_table import RunningTable
from emulator.placement.base import PlacementPolicy, Scratch
from emulator.policies.base import (
    ClusterView,
    PolicyError,
    PreemptJob,
    QueuePolicy,
    ReadOnlySequence,
    RejectJob,
    RunningColumns,
    RunningJob,
    StartJob,
)
from emulator.processes.release_profile import ReleaseProfile
from emulator.serving import ServingModel
from emulator.work import Work

__all__ = ["Rounds"]


class Rounds:
    """Builds each round's view, asks the policy and applies its decisions."""

    def __init__(self, core: Core, policy: QueuePolicy, placement: PlacementPolicy,
                 tenants: Sequence[str], options: Mapping[str, Any],
                 serving: ServingModel, round_length_s: float | None = None) -> None:
        self.core = core
        self.policy = policy
        self.placement = placement
        self.tenants = tuple(tenants)
        self.options = dict(options)
        self.serving = serving
        self.pending = False
        self.rounds = 0  # rounds in which the policy was asked
        self.calls = 0  # round callbacks (including those with an empty queue)
        self._profile = ReleaseProfile(core)
        self.round_length_s = round_length_s
        self._wakeup_token = 0  # the policy's latest next_wakeup answer
        self._every_event = getattr(policy, "next_wakeup", None) is not None
        self._idle_when_full = self._skips_full_rounds(policy)

    def _skips_full_rounds(self, policy: QueuePolicy) -> bool:
        """Whether a round of ``policy`` with no free GPU may go unasked: the class that
        defines its ``decide`` says it decides nothing then (a subclass that overrides
        ``decide`` must say so again), and it keeps no clock of its own."""
        owner = next((c for c in type(policy).__mro__ if "decide" in c.__dict__), None)
        return (owner is not None and bool(owner.__dict__.get("decides_nothing_when_full"))
                and not self._every_event)

    def set_policy(self, policy: QueuePolicy) -> None:
        """Decide with ``policy`` from now on (a live or planned switch), in a round now."""
        self.policy = policy
        self._every_event = getattr(policy, "next_wakeup", None) is not None
        self._idle_when_full = self._skips_full_rounds(policy)
        self._wakeup_token += 1  # the old policy's pending wake-up no longer applies
        self.request()

    def request(self) -> None:
        """Ask for a round now, or at the next round boundary in round-based mode (one
        round per instant, however many asks)."""
        if self.pending:
            return
        self.pending = True
        length = self.round_length_s
        if length is not None:
            now = self.core.now
            boundary = math.ceil(now / length - 1e-9) * length
            if boundary > now:
                self.core.clock.call_in(boundary - now, self.run)
                return
        self.core.clock.call_in(0.0, self.run)

    def _ask_wakeup(self) -> None:
        """Schedule the round the policy asks for (each answer replaces the last)."""
        self._wakeup_token += 1
        when = self.policy.next_wakeup(self.view())  # type: ignore[attr-defined]
        now = self.core.now
        if when is None or not math.isfinite(when) or when <= now:
            return
        token = self._wakeup_token
        self.core.clock.call_in(float(when) - now, lambda: self._woken(token))

    def _woken(self, token: int) -> None:
        if token == self._wakeup_token:  # not superseded by a later round's answer
            self.request()

    # -- the view ------------------------------------------------------------------------
    def _release_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """(expected end s, GPUs) of running work sorted by end (kept incrementally)."""
        return self._profile.arrays()

    def _running_view(self, w: Work, now: float) -> RunningJob:
        return RunningJob(w.work_id, w.kind, w.tenant, w.n_gpus, w.start_s,
                          self.core.expected_end(w), w.priority,
                          w.preemptible and w.kind == "training",
                          w.attained_gpu_s + w.n_gpus * (now - w.start_s), w.gpus)

    def _running_views(self) -> list[RunningJob]:
        now = self.core.now
        return [self._running_view(w, now) for w in self.core.running.values()]

    def _running_job(self, work_id: int) -> RunningJob:
        return self._running_view(self.core.running[work_id], self.core.now)

    def _running_table(self) -> RunningTable:
        table = self.core.running_table
        if not table.active:  # the first policy to read running work: keep it from now on
            table.activate(self.core.running.values())
        return table

    def _running_columns(self) -> RunningColumns:
        return self._running_table().columns(self.core.now)

    def _top_attained(self) -> float:
        return self._running_table().top_attained(self.core.now)

    def _scratch(self) -> Scratch:
        c = self.core.cluster
        return Scratch(c.index, c.free, c.domain_free, c.domain_start, self.placement,
                       c.by_free, isolated=c.isolated, domain_isolated=c.domain_isolated,
                       domain_connected=c.domain_connected, down=c.down, draining=c.draining,
                       free_gpus=c.free_gpus)

    def view(self) -> ClusterView:
        """The read-only view of this instant."""
        core = self.core
        return ClusterView(
            now=core.now, queue=ReadOnlySequence(core.queue.views),
            total_gpus=core.index.n_gpus, free_gpus=core.cluster.free_gpus,
            running=self._running_views, release_profile=self._release_profile,
            scratch=self._scratch,
            tenant_gpus=dict(zip(self.tenants, core.tenant_gpus, strict=True)),
            options=self.options, queue_columns=core.queue.columns,
            queue_table=core.queue.table, running_columns=self._running_columns,
            top_attained=self._top_attained,
            running_job=self._running_job, idle_token=self._idle_token,
            arrival_token=self._arrival_token,
            round_length_s=self.round_length_s)

    def _idle_token(self, scanned: int) -> object | None:
        """See :meth:`ClusterView.idle_token`: the cluster's and running set's versions and
        the first ``scanned`` queued jobs (the views themselves: kept alive, compared by
        identity first), or ``None`` when a placement or an expected end reads the clock."""
        core = self.core
        if not self.placement.stateless or (core.staging is not None and core.staging.active):
            return None
        return (core.cluster.version, core.running_version, core.queue.views[:scanned])

    def _arrival_token(self) -> tuple[object, ...] | None:
        """See :meth:`ClusterView.arrival_token`: the queue itself (a policy object reused
        by another run never matches), the cluster's, running set's and queue's versions
        and the queue's length, or ``None`` when a placement reads more than the free state
        (the condition of :meth:`_idle_token`)."""
        core = self.core
        if not self.placement.stateless or (core.staging is not None and core.staging.active):
            return None
        return (core.queue, core.cluster.version, core.running_version, core.queue.edits,
                len(core.queue))

    # -- one round -----------------------------------------------------------------------
    def run(self) -> None:
        """Ask the policy and apply what it decided."""
        self.pending = False
        self.calls += 1
        core = self.core
        if not core.queue and not self._every_event:
            return
        if self._idle_when_full and core.cluster.free_gpus == 0:
            return  # it would decide nothing: not asked (no view built)
        self.rounds += 1
        name = f"policy {self.policy.name!r}"
        try:
            decisions = self.policy.decide(self.view())
        except PolicyError:
            raise
        except Exception as exc:  # a user's plug-in failing is reported, named, on one line
            raise PolicyError(f"{name} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(decisions, list | tuple):
            raise PolicyError(f"{name} returned {type(decisions).__name__}; expected a list "
                              "of decisions")
        started: list[Work] = []
        started_ids: set[int] = set()
        for decision in decisions:
            if isinstance(decision, StartJob):
                work = core.queued(decision.work_id, name)
                started.append(core.start(work, decision.gpus, name))
                started_ids.add(work.work_id)
            elif isinstance(decision, RejectJob):
                work = core.queued(decision.work_id, name)
                if work.kind == "replica":
                    self.serving.by_work[work.parent].queued_replicas.remove(work)  # type: ignore[index]
                core.reject(work, str(decision.reason))
            elif isinstance(decision, PreemptJob):
                if decision.work_id in started_ids:
                    raise PolicyError(f"{name} started and preempted work "
                                      f"{decision.work_id} in the same round")
                work = core.running.get(decision.work_id)  # type: ignore[assignment]
                if work is None:
                    raise PolicyError(f"{name} preempted work {decision.work_id}, which is "
                                      "not running")
                if work.kind != "training" or not work.preemptible:
                    raise PolicyError(f"{name} preempted work {work.work_id}, which is not "
                                      "a preemptible training job")
                core.preempt(work, decision.reason, who=name)
            else:
                raise PolicyError(f"{name} returned {type(decision).__name__}; expected "
                                  "StartJob, RejectJob or PreemptJob")
        if started:
            core.launch(started)
        if self._every_event:
            self._ask_wakeup()


