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

A policy whose decisions never settle (it preempts work and starts other work, round
after round, at one instant) would keep simulated time from moving on. Rounds at one
instant asked for only by the previous round's own decisions (its preemptions) are
counted; past :func:`settle_bound` of them in a row the run stops with a
:class:`PolicyError` naming the policy and the time. A signal (SIGINT/SIGTERM) held
while a step runs is raised between two rounds once it has waited
:data:`SIGNAL_WAIT_S` seconds, so a step that takes long cannot hold it for good.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emulator.core.core import Core
from emulator.core.running_table import RunningTable
from emulator.errors import short
from emulator.interrupts import raise_pending_after
from emulator.placement.base import PlacementPolicy, Scratch, as_gpu_ids
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

__all__ = ["SIGNAL_WAIT_S", "Rounds", "gpu_ids", "settle_bound", "work_id_of"]

SIGNAL_WAIT_S = 1.0
"""Wall seconds a held SIGINT/SIGTERM may wait inside one simulation step before it is
raised between two rounds (the step's state is whole there)."""


def settle_bound(waiting: int) -> int:
    """Most rounds in a row at one instant, each asked for only by the previous round's
    own decisions, before a policy is judged never to settle.

    A policy that settles needs at most a few such rounds (the built-in ones at most
    three on the shipped examples: soon a round after a preemption decides nothing
    new); a policy that preempts one job per round could in principle need one per job
    it may preempt or start. ``waiting`` is the running and queued work at that instant;
    the bound is 1,000 plus twice that.
    """
    return 1000 + 2 * waiting


def work_id_of(value: object, who: str) -> int:
    """A decision's ``work_id`` as an ``int`` (numpy integers too; ``bool`` is not an id),
    else a :class:`PolicyError` naming the policy and the value."""
    if type(value) is int:  # the common case, without the abstract-class check
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return int(value)
    raise PolicyError(f"{who} decided on work_id {short(value)}; expected an integer work "
                      "id from the view")


def gpu_ids(value: object, who: str, work_id: int) -> np.ndarray:
    """A start decision's ``gpus`` as a 1-D int64 array (see
    :func:`~emulator.placement.base.as_gpu_ids`), else a :class:`PolicyError`."""
    if type(value) is np.ndarray and value.ndim == 1 and value.dtype == np.int64:
        return value  # the common case: what Scratch.place returns
    arr = as_gpu_ids(value)
    if arr is None:
        raise PolicyError(f"{who} started work {work_id} on gpus {short(value)}; expected a "
                          "1-D list or array of integer GPU ids")
    return arr


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
        self.due_s = math.inf  # when the pending round runs (inf: none pending)
        self.rounds = 0  # rounds in which the policy was asked
        self.calls = 0  # round callbacks (including those with an empty queue)
        self._profile = ReleaseProfile(core)
        self.round_length_s = round_length_s
        self._wakeup_token = 0  # the policy's latest next_wakeup answer
        self._every_event = getattr(policy, "next_wakeup", None) is not None
        self._idle_when_full = self._skips_full_rounds(policy)
        self._in_round = False  # inside run(): a request now comes from the round itself
        self._self_asked = False  # the pending round was asked for only from inside a round
        self._streak_s = -math.inf  # the instant of the current streak
        self._streak = 0  # rounds in a row at that instant asked for only by a round

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
            if not self._in_round:
                self._self_asked = False  # something else happened too
            return
        self.pending = True
        self._self_asked = self._in_round
        length = self.round_length_s
        now = self.due_s = self.core.now
        if length is not None:
            boundary = math.ceil(now / length - 1e-9) * length
            if boundary > now:
                self.due_s = boundary
                self.core.clock.call_in(boundary - now, self.run)
                return
        self.core.clock.call_in(0.0, self.run)

    def due_now(self) -> bool:
        """Whether a round asked for is still to run at this instant."""
        return self.pending and self.due_s <= self.core.now

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

    def _top_remaining(self) -> float:
        return self._running_table().top_remaining(self.core.now)

    def _scratch(self) -> Scratch:
        c = self.core.cluster
        return Scratch(c.index, c.free, c.domain_free, c.domain_start, self.placement,
                       c.by_free, isolated=c.isolated, domain_isolated=c.domain_isolated,
                       domain_connected=c.domain_connected, down=c.down, draining=c.draining,
                       free_gpus=c.free_gpus, out_of_service=c.n_down + c.n_draining)

    def view(self) -> ClusterView:
        """The read-only view of this instant."""
        core = self.core
        queue = core.queue
        return ClusterView(  # positional, in the signature's order (a view per round)
            core.now, ReadOnlySequence(queue.views), core.index.n_gpus,
            core.cluster.free_gpus, self._running_views, self._scratch,
            dict(zip(self.tenants, core.tenant_gpus, strict=True)), self.options,
            self._release_profile, queue.columns, queue.table, self._running_columns,
            self._top_attained, self._top_remaining, self._running_job, self._idle_token,
            self._arrival_token, self.round_length_s)

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
        self.due_s = math.inf
        self.calls += 1
        self._count_streak(self._self_asked)
        self._in_round = True
        try:
            self._round()
        finally:
            self._in_round = False
        raise_pending_after(SIGNAL_WAIT_S)

    def _count_streak(self, self_asked: bool) -> None:
        """Count rounds in a row at one instant asked for only by the round before; stop
        a policy that never settles (see :func:`settle_bound`)."""
        now = self.core.now
        if not self_asked or now != self._streak_s:
            self._streak_s = now
            self._streak = 0
            return
        self._streak += 1
        if self._streak > 1000:  # cheap test first: the bound is at least 1,000
            bound = settle_bound(len(self.core.queue) + len(self.core.running))
            if self._streak > bound:
                raise PolicyError(
                    f"policy {self.policy.name!r} does not settle at t={now:g} s: "
                    f"{self._streak:,} rounds in a row at that instant, each caused only by "
                    "its own previous decisions (preemptions); expected decisions that "
                    "reach a round changing nothing, so that time moves on")

    def _round(self) -> None:
        """One round: the policy decides, the core applies."""
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
                work = core.queued(work_id_of(decision.work_id, name), name)
                gpus = gpu_ids(decision.gpus, name, work.work_id)
                started.append(core.start(work, gpus, name))
                started_ids.add(work.work_id)
            elif isinstance(decision, RejectJob):
                work = core.queued(work_id_of(decision.work_id, name), name)
                if work.kind == "replica":
                    self.serving.by_work[work.parent].queued_replicas.remove(work)  # type: ignore[index]
                core.reject(work, str(decision.reason))
            elif isinstance(decision, PreemptJob):
                victim = work_id_of(decision.work_id, name)
                if victim in started_ids:
                    raise PolicyError(f"{name} started and preempted work "
                                      f"{victim} in the same round")
                work = core.running.get(victim)  # type: ignore[assignment]
                if work is None:
                    raise PolicyError(f"{name} preempted work {victim}, which is "
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


