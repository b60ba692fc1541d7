"""The core: owns allocation, queue and running set, and applies validated changes.

Verbs (every stop or slow-down of work goes through one of them, so there is one place
that validates, logs and releases):

* :meth:`Core.submit` — new work enters (rejected at once if it can never run);
* :meth:`Core.start` — a policy's start decision, validated, allocates GPUs;
  :meth:`Core.launch` then evaluates the kernels once for everything started in a round;
* :meth:`Core.finish` — work completes (or a replica is scaled down) and releases;
* :meth:`Core.preempt` — running training stops, keeps its progress to the last checkpoint
  (the rest is counted as lost GPU-seconds) and waits in the queue again;
* :meth:`Core.disrupt` — GPUs go out of service (until a time, or until restored): work
  on them is preempted and they are never allocated meanwhile;
* :meth:`Core.drain` / :meth:`Core.undrain` — GPUs set aside for maintenance: never
  allocated again until undrained, while work already on them runs to its end;
* :meth:`Core.fail` / :meth:`Core.repair` — a component fails (its GPUs out of service,
  or not for a software fault) and comes back; :meth:`Core.interrupt` stops training on
  it (lost work since the checkpoint, held until detected, restart overhead),
  :meth:`Core.lose` drops a serving replica and :meth:`Core.regroup` ends a service's
  base run and starts a new one at once on the replica groups the failure spared;
* :meth:`Core.rerate` — a running training job's speed changes (power caps);
* :meth:`Core.reject`, :meth:`Core.cancel`, :meth:`Core.truncate_all`.

Each verb appends a typed event to the log. The core is simpy-free: time and deferred
completions come from a :class:`~emulator.core.clock.Clock`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emulator.core.allocation import ClusterState
from emulator.core.clock import Clock
from emulator.core.failure_verbs import FailureVerbs
from emulator.core.launch_verbs import LaunchVerbs
from emulator.core.queue import WorkQueue
from emulator.core.running_table import RunningTable
from emulator.core.service_verbs import ServiceVerbs
from emulator.core.speed_verbs import SpeedVerbs
from emulator.core.start_checks import StartChecks
from emulator.core.training import ShapeCache, checkpoint_progress, progress
from emulator.eventlog import Ev, EventLog
from emulator.policies.base import PolicyError
from emulator.work import Work
from emulator.work_book import WorkBook
from workloads.spec import TrainingJobSpec

if TYPE_CHECKING:
    from emulator.checkpointing import YoungDalyCadence
    from emulator.processes.staging import Staging

__all__ = ["Core"]


class Core(LaunchVerbs, FailureVerbs, ServiceVerbs, StartChecks, SpeedVerbs):
    """Mutable scheduling state and the verbs that change it (see module docstring)."""

    def __init__(self, clock: Clock, cluster: ClusterState, works: Sequence[Work],
                 n_tenants: int, log: EventLog, shapes: ShapeCache,
                 infeasible: dict[int, str] | None = None) -> None:
        self.clock = clock
        self.cluster = cluster
        self.index = cluster.index
        self.works = works if isinstance(works, WorkBook) else WorkBook.of(works)
        self.log = log
        self.shapes = shapes
        self.infeasible = dict(infeasible or {})
        self.queue = WorkQueue(n_tenants)
        self.running: dict[int, Work] = {}
        self.running_table = RunningTable()  # the running set's fixed figures as arrays
        self.held: dict[int, Work] = {}  # interrupted by a failure, not yet detected
        self.tenant_gpus = [0] * n_tenants
        self.gpu_util = np.zeros(self.index.n_gpus, dtype=np.float64)  # write via set_util
        self._gpu_ids = np.arange(self.index.n_gpus, dtype=np.int64)  # spans: StartChecks
        # Racks whose GPUs' utilisation changed since the power model last read them.
        self.rack_dirty = np.ones(self.index.n_racks, dtype=bool)
        # 1.0 where a GPU's tray has power, 0.0 while a failure that removes it (a rack,
        # feed or tray: topologies.reliability.POWER_LOSS) holds it; write via set_energised
        self.gpu_energised = np.ones(self.index.n_gpus, dtype=np.float64)
        self.n_unpowered = 0  # GPUs at 0.0 in gpu_energised
        # each GPU's rack as array.array: one-entry reads give a Python int at once
        self._gpu_rack_at = array("q", np.asarray(self.index.gpu_rack, dtype=np.int64)
                                  .tobytes())
        self.running_version = 0  # bumps on every change of the running set or its rates
        self.changed: set[int] = set()  # work whose running state changed (readers clear it)
        self.changed_all = False  # set when ``changed`` overflowed: readers rebuild all
        self.callbacks = 0  # deferred calls that fired (completions, staging ends)
        self.staging: Staging | None = None
        # Sets each training run's checkpoint interval from where it starts (Young/Daly).
        self.cadence: YoungDalyCadence | None = None
        # Some work was ever given a speed factor (:meth:`slow`): until then no running
        # job is slowed, and the sampler need not look for power-capped work.
        self.any_slowed = False
        self.keep_segments = False  # keep each run's GPU ids on the work (tests, debugging)
        self.wants_round: Callable[[], None] = lambda: None
        self.on_start: Callable[[Work], None] = lambda w: None  # serving, autoscaling
        self.on_release: Callable[[Work], None] = lambda w: None
        # Work not yet in a terminal state (pending ones included), and who to tell when
        # none is left before the horizon (engine.stop_when_done).
        self.open_works = len(self.works)
        self.on_all_ended: Callable[[], None] = lambda: None

    # -- small helpers ---------------------------------------------------------------------
    def _changed(self, work_id: int) -> None:
        """Note that ``work_id``'s running state changed; bounded if nobody reads it."""
        self.changed.add(work_id)
        if self.running_table.active:
            self.running_table.dirty.add(work_id)
        if len(self.changed) > 4096 + 2 * len(self.running):
            self.changed.clear()
            self.changed_all = True

    def set_util(self, gpus: np.ndarray, util: float) -> None:
        """Set the compute utilisation (0..1) of ``gpus``, noting their racks for the
        power model (which recomputes only racks that changed)."""
        self.gpu_util[gpus] = util
        self.rack_dirty[self.index.gpu_rack[gpus]] = True

    def set_util_span(self, lo: int, hi: int, util: float) -> None:
        """:meth:`set_util` for the GPUs ``lo .. hi-1`` of one NVLink domain (slices)."""
        self.gpu_util[lo:hi] = util
        rack = self._gpu_rack_at
        first = rack[lo]
        if first == rack[hi - 1]:
            self.rack_dirty[first] = True
        else:
            self.rack_dirty[self.index.gpu_rack[lo:hi]] = True

    def set_energised(self, gpus: np.ndarray, on: bool) -> None:
        """Give ``gpus`` power back (``on``) or remove it (a failed rack, feed or tray:
        they and their share of the rack's non-GPU power draw 0 W until it is back),
        noting their racks for the power model."""
        gpus = np.asarray(gpus, dtype=np.int64)
        value = 1.0 if on else 0.0
        changed = np.unique(gpus[self.gpu_energised[gpus] != value])
        if changed.size == 0:
            return
        self.gpu_energised[changed] = value
        self.n_unpowered += -int(changed.size) if on else int(changed.size)
        self.rack_dirty[self.index.gpu_rack[changed]] = True

    @property
    def energised(self) -> np.ndarray | None:
        """:attr:`gpu_energised` for the power model, ``None`` while every GPU has power
        (then the power model skips the mask: no per-GPU work when nothing failed)."""
        return self.gpu_energised if self.n_unpowered else None

    @property
    def now(self) -> float:
        """Simulated time (s)."""
        return self.clock.now

    def _ended(self) -> None:
        """One more work item reached a terminal state before the horizon."""
        self.open_works -= 1
        if self.open_works == 0:
            self.on_all_ended()

    def _event(self, kind: Ev, work: Work, **fields: object) -> None:
        self.log.work_event(self.clock.now, kind, work.work_id, work.tenant_idx, work.n_gpus,
                            **fields)  # type: ignore[arg-type]

    def queued(self, work_id: int, who: str) -> Work:
        """Work ``work_id`` if it is waiting in the queue, else a :class:`PolicyError`."""
        work = self.works.live(work_id)
        if work is None or work.state != "queued":
            raise PolicyError(f"{who} decided on work {work_id}, which is not waiting in "
                              "the queue")
        return work

    # -- entering and leaving the queue ------------------------------------------------
    def submit(self, work: Work) -> None:
        """New work arrives: queued, or rejected at once if it can never run."""
        self.log.work_event(self.clock.now, Ev.SUBMIT, work.work_id, work.tenant_idx,
                            work.n_gpus)  # :meth:`_event`, inlined (every arrival)
        reason = self.infeasible.get(work.work_id)
        if reason is not None:
            work.state = "rejected"
            work.end_s = self.now
            self._event(Ev.REJECT, work, reason=reason)
            self._ended()
            self.works.retire(work)
            return
        work.state = "queued"
        self.queue.append(work)
        self.wants_round()

    def add_work(self, work: Work) -> None:
        """Register work created during the run (autoscaled replicas) before submitting."""
        self.works.append(work)
        self.open_works += 1

    def reject(self, work: Work, reason: str) -> None:
        """Refuse queued ``work`` for good."""
        self.queue.remove(work)
        work.state = "rejected"
        work.end_s = self.now
        self._event(Ev.REJECT, work, reason=reason)
        self._ended()
        self.works.retire(work)

    def cancel(self, work: Work, reason: str) -> None:
        """Withdraw queued ``work`` (an autoscaled replica no longer needed)."""
        self.queue.remove(work)
        work.state = "cancelled"
        work.end_s = self.now
        self._event(Ev.CANCEL, work, reason=reason)
        self._ended()

    # -- starting ------------------------------------------------------------------------
    def start(self, work: Work, gpus: np.ndarray, who: str) -> Work:
        """Validate and apply a start of queued ``work`` on ``gpus`` (ids group by group)."""
        self._occupy(work, gpus, who)
        self.queue.remove(work)
        return work

    def _occupy(self, work: Work, gpus: np.ndarray, who: str) -> None:
        """Validate and allocate ``gpus`` (ids group by group) to ``work``, which runs on
        them from now (:meth:`start`)."""
        gpus = np.array(gpus, dtype=np.int64)  # a copy the policy cannot touch
        gpus.setflags(write=False)
        span = self._domain_span(gpus, work.n_gpus)
        # the common case, consecutive GPUs, checked and applied on slices
        if span is None or not self._start_span(work, gpus, span, who):
            self._start_gpus(work, gpus, who)
        work.state = "running"
        work.gpus = gpus
        work.start_s = self.now
        self.running[work.work_id] = work
        if self.running_table.active:
            self.running_table.add(work)
        self.running_version += 1
        self._changed(work.work_id)
        self.tenant_gpus[work.tenant_idx] += work.n_gpus

    # -- stopping ------------------------------------------------------------------------
    def _release(self, work: Work) -> None:
        assert work.gpus is not None
        if self.keep_segments:
            work.close_segment(self.now)
        if work.span is not None:
            self.cluster.release_span(*work.span, work.work_id)
            self.set_util_span(*work.span, 0.0)
            work.span = None
        else:
            self.cluster.release(work.gpus, work.work_id, work.held_by_domain)
            work.held_by_domain = None
            self.set_util(work.gpus, 0.0)
        del self.running[work.work_id]
        if self.running_table.active:
            self.running_table.remove(work.work_id)
        self.running_version += 1
        self._changed(work.work_id)
        self.tenant_gpus[work.tenant_idx] -= work.n_gpus
        self.on_release(work)

    def finish(self, work: Work, reason: str = "") -> None:
        """Running ``work`` completes (or a replica stops) and gives its GPUs back."""
        now = self.now
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        self._release(work)
        work.remaining = 0.0
        work.state = "finished"
        work.end_s = now
        work.gpus = None
        work.rate_changes = None  # finished work keeps only what the tables read
        self.log.work_event(now, Ev.FINISH, work.work_id, work.tenant_idx, work.n_gpus,
                            reason=reason)  # :meth:`_event`, inlined (every completion)
        self._ended()
        self.works.retire(work)  # a finished job keeps its outcome in columns
        self.wants_round()

    def _stop_training(self, work: Work) -> float:
        """Stop running training ``work``, keeping its progress up to its last checkpoint;
        releases its GPUs and returns the GPU-seconds computed since (lost)."""
        now = self.now
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec) and work.gpus is not None
        if self.staging is not None:
            self.staging.abandon(work, now)  # a transfer in flight restarts from zero later
        # Keep the progress made up to the last completed checkpoint of this run: one is
        # written after every interval of compute from the run's compute start and takes
        # its cost to write (the cadence duration_s counts; a duration-as-given run's time
        # counts no writes), whatever re-rates happened.
        origin = work.run_origin_s
        if not math.isfinite(origin) or now <= origin:
            last_ckpt = now  # still staging or restoring: nothing computed, nothing lost
            work.remaining = work.remaining_at_origin
        elif not math.isfinite(spec.checkpoint_interval_s):
            last_ckpt = now  # lossless preemption (duration-as-given replay): keep it all
            work.remaining = max(0.0, work.remaining_at_origin
                                 - progress(work.rate_changes or [], origin, now))
        else:
            # a duration-as-given run's time counts no writes: its checkpoints fall every
            # interval of that time (the cost is only its restore)
            write_s = 0.0 if spec.runtime_s is not None else spec.checkpoint_cost_s
            last_ckpt = checkpoint_progress(origin, now, spec.checkpoint_interval_s, write_s)
            work.remaining = max(0.0, work.remaining_at_origin
                                 - progress(work.rate_changes or [], origin, last_ckpt))
        lost = (now - last_ckpt) * work.n_gpus
        work.lost_gpu_s += lost
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        work.preemptions += 1
        work.epoch += 1
        self._release(work)
        work.gpus = None
        return lost

    def preempt(self, work: Work, reason: str = "", *, who: str = "") -> None:
        """Stop running training ``work``; it keeps its progress up to its last checkpoint."""
        if work.state != "running":
            raise PolicyError(f"{who or 'a policy'} preempted work {work.work_id}, which is "
                              "not running")
        if work.kind != "training":
            raise PolicyError(f"{who or 'a policy'} preempted work {work.work_id}, which is "
                              "not a training job")
        lost = self._stop_training(work)
        work.state = "queued"
        self.queue.insert(work)
        self._event(Ev.PREEMPT, work, lost_gpu_s=lost, remaining=work.remaining,
                    reason=reason)
        self.wants_round()

    def expected_end(self, w: Work) -> float:
        """When running work should end by its estimate: remaining work at its speed (s)."""
        if w.kind != "training":
            return math.inf
        origin = w.progress_start_s if math.isfinite(w.progress_start_s) else self.now
        return origin + w.est_duration_s * w.remaining / max(w.speed, 1e-9)

    def truncate_all(self) -> None:
        """The horizon: queued and running work ends as ``truncated``."""
        now = self.now
        queued = list(self.queue)
        for work in queued:
            work.state = "truncated"
            work.end_s = now
        self.log.work_events(now, Ev.TRUNCATE, [w.work_id for w in queued],
                             [w.tenant_idx for w in queued], [w.n_gpus for w in queued],
                             reason="queued")
        for work in sorted(self.running.values(), key=lambda w: w.work_id):
            if self.keep_segments:
                work.close_segment(now)
            work.state = "truncated"
            work.end_s = now
            if work.kind == "training":
                if self.staging is not None:
                    self.staging.abandon(work, now)
                ran = max(0.0, now - work.progress_start_s)
                left = max(0.0, work.remaining - ran * work.rate)
                self._event(Ev.TRUNCATE, work, remaining=left, reason="running")
            else:
                self._event(Ev.TRUNCATE, work, reason="running")
        for work in sorted(self.held.values(), key=lambda w: w.work_id):
            work.state = "truncated"
            work.end_s = now
            work.epoch += 1
            self._event(Ev.TRUNCATE, work, remaining=work.remaining, reason="held")
        self.queue.clear()
        self.running.clear()
        self.running_table.clear()
        self.held.clear()
