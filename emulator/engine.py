"""The discrete-event engine: simpy processes that play a scenario forward.

Processes: ``arrivals`` (submits work at its time), scheduling rounds (run once per
instant after an arrival or a completion: the queue policy decides, the engine validates
and applies), completions (one simpy timeout per running job), ``serving`` (advances all
inference services one window at a time) and ``sampler`` (site power and utilisation per
tick). Every state change is appended to the :class:`~emulator.eventlog.EventLog`.

The engine owns the only mutable state (cluster allocation, queue, running set); policies
see read-only views and return decisions (DESIGN principle 2). Kernels run on whole batches
per round, window and tick (principle 4).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import simpy

from emulator.cluster import AllocationError, ClusterState
from emulator.compute import ComputeModel
from emulator.energy.model import EnergyModel
from emulator.eventlog import EventLog, Sample
from emulator.placement.base import PlacementPolicy, PlacementRequest, Scratch
from emulator.policies.base import (
    ClusterView,
    PolicyError,
    PreemptJob,
    QueuePolicy,
    ReadOnlySequence,
    RejectJob,
    RunningJob,
    StartJob,
)
from emulator.power_control import PowerCapPolicy, PowerView, cap_candidates, cap_effect
from emulator.serving import ServiceRuntime, ServingModel
from emulator.transfers import Transfer, TransferModel
from emulator.work import Work
from topologies.catalog import SystemSpec
from workloads.spec import TrainingJobSpec

__all__ = ["Engine", "EngineSettings"]


def _progress(rate_changes: list[tuple[float, float]], t0: float, t1: float) -> float:
    """Work fraction done in ``[t0, t1]`` given ``(from time, rate)`` steps, sorted by time."""
    done = 0.0
    for i, (start, rate) in enumerate(rate_changes):
        end = rate_changes[i + 1][0] if i + 1 < len(rate_changes) else math.inf
        lo, hi = max(start, t0), min(end, t1)
        if hi > lo:
            done += (hi - lo) * rate
    return done


@dataclass(frozen=True)
class EngineSettings:
    """Time steps (s) and per-site constants the engine needs."""

    sample_interval_s: float
    serving_window_s: float
    site_pue: np.ndarray
    site_fabric_w: np.ndarray
    keep_rack_util: bool = True
    # Round-based mode: with a round length (s), scheduling rounds happen only at
    # its multiples (Gavel's 360 s rounds); None keeps event-driven rounds.
    round_length_s: float | None = None


class Engine:
    """Owns the simulation state and the simpy processes."""

    def __init__(self, env: simpy.Environment, cluster: ClusterState, works: Sequence[Work],
                 tenants: Sequence[str], policy: QueuePolicy, placement: PlacementPolicy,
                 compute: ComputeModel, serving: ServingModel, log: EventLog,
                 settings: EngineSettings, policy_options: dict[str, object] | None = None,
                 infeasible: dict[int, str] | None = None, *, energy: EnergyModel | None = None,
                 power: PowerCapPolicy | None = None,
                 timed: Sequence[tuple[float, Callable[[float], None]]] = (),
                 transfers: TransferModel | None = None) -> None:
        self.env = env
        self.cluster = cluster
        self.index = cluster.index
        self.works = list(works)
        self.tenants = tuple(tenants)
        self.policy = policy
        self.placement = placement
        self.compute = compute
        self.serving = serving
        self.log = log
        self.settings = settings
        self.policy_options = dict(policy_options or {})
        self.infeasible = dict(infeasible or {})
        self.queue: list[Work] = []
        self.queue_views: list = []
        self.running: dict[int, Work] = {}
        self.queue_by_tenant = [0] * len(self.tenants)
        self.tenant_gpus: dict[str, int] = dict.fromkeys(self.tenants, 0)
        self.gpu_util = np.zeros(self.index.n_gpus, dtype=np.float64)
        self.rounds = 0
        self.sim_events = 0
        self._running_version = 0
        self.transfers = transfers
        self._staging: dict[int, Transfer] = {}
        self._profile_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self.served_until = 0.0
        self._round_pending = False
        self._wakeup_token = 0  # the policy's latest next_wakeup request
        self._every_event = getattr(policy, "next_wakeup", None) is not None
        self.last_sample: Sample | None = None
        self.energy = energy  # PUE(T) and the per-tick supply dispatch (energy runs only)
        self.power = power  # power-cap policy (sites with a power cap only)
        self.timed = sorted(timed, key=lambda a: a[0])  # exogenous events, e.g. cable cuts

    # -- processes ---------------------------------------------------------------------
    def start(self) -> None:
        """Register the engine's processes with the environment."""
        self.env.process(self._arrivals())
        self.env.process(self._sampler())
        if any(w.kind == "inference" for w in self.works):
            self.env.process(self._serving())
        if self.timed:
            self.env.process(self._timed())

    def _timed(self) -> Iterator[simpy.Event]:
        for t, action in self.timed:
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
                self.sim_events += 1
            action(self.env.now)
            if self.transfers is not None:  # the WAN changed: re-rate dataset transfers now
                self._reschedule_transfers(self.transfers.set_request_load(
                    self.transfers.request_bps, self.env.now))

    def _arrivals(self) -> Iterator[simpy.Event]:
        env = self.env
        for work in sorted(self.works, key=lambda w: (w.submit_s, w.work_id)):
            delay = work.submit_s - env.now
            if delay > 0:
                yield env.timeout(delay)
                self.sim_events += 1
            self._submit(work)

    def _sampler(self) -> Iterator[simpy.Event]:
        # Let the t=0 arrivals and their scheduling round happen first, so the first sample
        # (which holds for a whole interval) sees the work that starts at t=0.
        yield self.env.timeout(0)
        while True:
            self._sample()
            yield self.env.timeout(self.settings.sample_interval_s)
            self.sim_events += 1

    def _serving(self) -> Iterator[simpy.Event]:
        width = self.settings.serving_window_s
        while True:
            t0 = self.env.now
            yield self.env.timeout(width)
            self.sim_events += 1
            self.serving.advance(t0, self.env.now)
            self.served_until = self.env.now
            if self.transfers is not None:  # request traffic shares the WAN with datasets
                loads = self.serving.wan_load_bps(self.env.now - t0)
                self._reschedule_transfers(self.transfers.set_request_load(loads,
                                                                           self.env.now))
            for svc, delta in self.serving.scaling(self.env.now):
                if delta > 0:
                    self._scale_up(svc, delta)
                else:
                    self._scale_down(svc, -delta)
            for svc in self.serving.services:
                for alloc in svc.allocations():
                    if alloc.gpus is not None:
                        self.gpu_util[alloc.gpus] = svc.replica_util

    # -- autoscaling ---------------------------------------------------------------------
    def _scale_up(self, svc: ServiceRuntime, n: int) -> None:
        """Queue ``n`` extra replicas of ``svc`` as work of their own (priority as the service)."""
        base = svc.work
        g = base.group_size
        for _ in range(n):
            replica = Work(
                work_id=len(self.works), kind="replica", tenant=base.tenant,
                tenant_idx=base.tenant_idx, spec=base.spec, n_gpus=g, group_size=g,
                submit_s=self.env.now, priority=base.priority, preemptible=False,
                est_duration_s=math.inf,
                request=PlacementRequest(g, g, base.request.eligible), parent=base.work_id)
            self.works.append(replica)
            svc.queued_replicas.append(replica)
            self._submit(replica)

    def _scale_down(self, svc: ServiceRuntime, n: int) -> None:
        """Cancel queued replicas first, then stop the newest running ones."""
        now = self.env.now
        for _ in range(n):
            if svc.queued_replicas:
                replica = svc.queued_replicas.pop()
                self._dequeue(replica)
                replica.state = "cancelled"
                replica.end_s = now
                self.log.work_event(now, "cancel", replica.work_id, "load fell")
                continue
            if not svc.replica_works:
                return
            replica = self.serving.remove_replica(svc)
            self._release(replica, now)
            replica.state = "finished"
            replica.end_s = now
            self.log.work_event(now, "finish", replica.work_id, "scaled down")
            self._request_round()

    # -- submission and admission ------------------------------------------------------
    def _submit(self, work: Work) -> None:
        now = self.env.now
        self.log.work_event(now, "submit", work.work_id)
        reason = self.infeasible.get(work.work_id)
        if reason is not None:
            work.state = "rejected"
            work.end_s = now
            self.log.work_event(now, "reject", work.work_id, reason)
            return
        work.state = "queued"
        self.queue.append(work)
        self.queue_views.append(work.queued_view())
        self.queue_by_tenant[work.tenant_idx] += 1
        self._request_round()

    def _request_round(self) -> None:
        if self._round_pending:
            return
        self._round_pending = True
        length = self.settings.round_length_s
        if length is not None:  # round-based mode: wait for the next round boundary
            now = self.env.now
            boundary = math.ceil(now / length - 1e-9) * length
            if boundary > now:
                timeout = self.env.timeout(boundary - now)
                timeout.callbacks.append(self._round)
                return
        event = self.env.event()
        event.callbacks.append(self._round)
        event.succeed()

    def _ask_wakeup(self, view: ClusterView) -> None:
        """Policy-requested rounds: a policy with ``next_wakeup(view)`` returning
        a future time (s) gets a scheduling round then, e.g. at a 2D-LAS threshold crossing,
        even if nothing arrives or completes. Each round's answer replaces the previous
        one (``None``: no round needed). Such policies also get a round at every arrival and
        completion, even with an empty queue, so that their clocks (demotions) advance."""
        self._wakeup_token += 1
        when = self.policy.next_wakeup(view)  # type: ignore[attr-defined]
        now = self.env.now
        if when is None or not math.isfinite(when) or when <= now:
            return
        timeout = self.env.timeout(float(when) - now)
        timeout.callbacks.append(lambda _e, tok=self._wakeup_token: self._woken(tok))

    def _woken(self, token: int) -> None:
        if token == self._wakeup_token:  # not superseded by a later round's answer
            self._request_round()

    # -- scheduling rounds -------------------------------------------------------------
    def _release_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """(expected end s, GPUs) of running work sorted by end; cached per running set."""
        if self._profile_cache is None or self._profile_cache[0] != self._running_version:
            items = sorted((self._expected_end(w), w.work_id, w.n_gpus)
                           for w in self.running.values())
            ends = np.array([e for e, _i, _g in items], dtype=np.float64)
            gpus = np.array([g for _e, _i, g in items], dtype=np.int64)
            self._profile_cache = (self._running_version, ends, gpus)
        return self._profile_cache[1], self._profile_cache[2]

    def _expected_end(self, w: Work) -> float:
        """When running work should end by its estimate: remaining work at its speed."""
        if w.kind != "training":
            return math.inf
        origin = w.progress_start_s if math.isfinite(w.progress_start_s) else self.env.now
        return origin + w.est_duration_s * w.remaining / max(w.speed, 1e-9)

    def _running_views(self) -> list[RunningJob]:
        now = self.env.now
        return [RunningJob(w.work_id, w.kind, w.tenant, w.n_gpus, w.start_s,
                           self._expected_end(w), w.priority,
                           w.preemptible and w.kind == "training",
                           w.attained_gpu_s + w.n_gpus * (now - w.start_s), w.gpus)
                for w in self.running.values()]

    def _scratch(self) -> Scratch:
        c = self.cluster
        return Scratch(self.index, c.free_mask(), c.domain_free, c.domain_start, self.placement)

    def _round(self, _event: simpy.Event) -> None:
        self._round_pending = False
        self.sim_events += 1
        if not self.queue and not self._every_event:
            return
        self.rounds += 1
        view = ClusterView(
            now=self.env.now, queue=ReadOnlySequence(self.queue_views),
            total_gpus=self.index.n_gpus,
            free_gpus=self.cluster.free_gpus, running=self._running_views,
            release_profile=self._release_profile,
            scratch=self._scratch, tenant_gpus=dict(self.tenant_gpus),
            options=self.policy_options)
        try:
            decisions = self.policy.decide(view)
        except PolicyError:
            raise
        except Exception as exc:  # a user's plug-in failing is reported, named, on one line
            raise PolicyError(f"policy {self.policy.name!r} raised "
                              f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(decisions, list | tuple):
            raise PolicyError(f"policy {self.policy.name!r} returned "
                              f"{type(decisions).__name__}; expected a list of decisions")
        started: list[Work] = []
        for decision in decisions:
            if isinstance(decision, StartJob):
                started.append(self._apply_start(decision))
            elif isinstance(decision, RejectJob):
                self._apply_reject(decision)
            elif isinstance(decision, PreemptJob):
                if any(w.work_id == decision.work_id for w in started):
                    raise PolicyError(f"policy {self.policy.name!r} started and preempted work "
                                      f"{decision.work_id} in the same round")
                self._apply_preempt(decision)
            else:
                raise PolicyError(f"policy {self.policy.name!r} returned "
                                  f"{type(decision).__name__}; expected StartJob, RejectJob "
                                  "or PreemptJob")
        if started:
            self._launch(started)
        if self._every_event:  # see _ask_wakeup
            self._ask_wakeup(ClusterView(
                now=self.env.now, queue=ReadOnlySequence(self.queue_views),
                total_gpus=self.index.n_gpus, free_gpus=self.cluster.free_gpus,
                running=self._running_views, release_profile=self._release_profile,
                scratch=self._scratch, tenant_gpus=dict(self.tenant_gpus),
                options=self.policy_options))

    def _enqueue(self, work: Work) -> None:
        """Insert in arrival order (a preempted job returns to its original place)."""
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_right([(w.submit_s, w.work_id) for w in self.queue], key)
        work.view = None
        self.queue.insert(i, work)
        self.queue_views.insert(i, work.queued_view())
        self.queue_by_tenant[work.tenant_idx] += 1

    def _dequeue(self, work: Work) -> None:
        i = self.queue.index(work)
        del self.queue[i]
        del self.queue_views[i]
        self.queue_by_tenant[work.tenant_idx] -= 1

    def _queued(self, work_id: int) -> Work:
        if not 0 <= work_id < len(self.works) or self.works[work_id].state != "queued":
            raise PolicyError(f"policy {self.policy.name!r} decided on work {work_id}, "
                              "which is not waiting in the queue")
        return self.works[work_id]

    def _apply_start(self, decision: StartJob) -> Work:
        work = self._queued(decision.work_id)
        gpus = np.array(decision.gpus, dtype=np.int64)  # a copy the policy cannot touch
        gpus.setflags(write=False)
        name = self.policy.name
        if gpus.size and (gpus.min() < 0 or gpus.max() >= self.index.n_gpus):
            raise PolicyError(f"policy {name!r} gave work {work.work_id} GPU ids outside "
                              f"0..{self.index.n_gpus - 1}")
        if gpus.ndim != 1 or gpus.size != work.n_gpus:
            raise PolicyError(f"policy {name!r} gave work {work.work_id} {gpus.size} GPUs; "
                              f"it needs exactly {work.n_gpus}")
        domains = self.index.gpu_domain[gpus].reshape(-1, work.group_size)
        if np.any(domains != domains[:, :1]):
            raise PolicyError(f"policy {name!r} split a tensor-parallel group of work "
                              f"{work.work_id} across NVLink domains")
        if work.request.eligible is not None and not np.all(
                work.request.eligible[self.index.gpu_domain[gpus]]):
            raise PolicyError(f"policy {name!r} placed work {work.work_id} on GPUs it may "
                              "not use (system or residency restriction)")
        try:
            self.cluster.allocate(gpus, work.work_id)
        except AllocationError as exc:
            raise PolicyError(f"policy {name!r}: {exc}") from None
        self._dequeue(work)
        work.state = "running"
        work.gpus = gpus
        work.start_s = self.env.now
        work.tier = self.index.slowest_tier(gpus)
        self.running[work.work_id] = work
        self._running_version += 1
        self.tenant_gpus[work.tenant] += work.n_gpus
        return work

    def _apply_reject(self, decision: RejectJob) -> None:
        work = self._queued(decision.work_id)
        self._dequeue(work)
        if work.kind == "replica":
            self.serving.by_work[work.parent].queued_replicas.remove(work)  # type: ignore[index]
        work.state = "rejected"
        work.end_s = self.env.now
        self.log.work_event(self.env.now, "reject", work.work_id, str(decision.reason))

    def _apply_preempt(self, decision: PreemptJob) -> None:
        work = self.running.get(decision.work_id)
        name = self.policy.name
        if work is None:
            raise PolicyError(f"policy {name!r} preempted work {decision.work_id}, which is "
                              "not running")
        if work.kind != "training" or not work.preemptible:
            raise PolicyError(f"policy {name!r} preempted work {work.work_id}, which is not "
                              "a preemptible training job")
        now = self.env.now
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec) and work.gpus is not None
        self._abandon_staging(work, now)  # a transfer in flight restarts from zero later
        # Keep the progress made up to the last periodic checkpoint of this run: checkpoints
        # fall every interval from the run's compute start, whatever re-rates happened.
        origin = work.run_origin_s
        if not math.isfinite(origin) or now <= origin:
            last_ckpt = now  # still staging or restoring: nothing computed, nothing lost
            work.remaining = work.remaining_at_origin
        elif not math.isfinite(spec.checkpoint_interval_s):
            # Lossless preemption (duration-as-given replay): keep all progress.
            last_ckpt = now
            work.remaining = max(0.0, work.remaining_at_origin
                                 - _progress(work.rate_changes, origin, now))
        else:
            interval = spec.checkpoint_interval_s
            last_ckpt = origin + math.floor((now - origin) / interval) * interval
            work.remaining = max(0.0, work.remaining_at_origin
                                 - _progress(work.rate_changes, origin, last_ckpt))
        lost = (now - last_ckpt) * work.n_gpus
        work.lost_gpu_s += lost
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        work.preemptions += 1
        work.epoch += 1
        self._release(work, now)
        work.state = "queued"
        work.gpus = None
        self._enqueue(work)
        self.log.work_event(now, "preempt", work.work_id,
                            f"lost_gpu_s={lost:.3f} remaining={work.remaining:.6f} "
                            f"{decision.reason}".strip())
        self._request_round()

    def rerate(self, work: Work, speed: float, reason: str = "") -> None:
        """Change a running training job's speed (1.0 = full; power caps slow jobs down).

        Progress so far is kept; the completion is rescheduled for the remaining work.
        """
        if work.state != "running" or work.kind != "training":
            raise ValueError(f"work {work.work_id} is not a running training job")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        now = self.env.now
        if work.work_id in self._staging:  # still copying data: the new speed applies later
            work.speed = speed
            work.rate = speed / work.full_duration_s
            return
        if now > work.progress_start_s:
            work.remaining = max(0.0, work.remaining - (now - work.progress_start_s) * work.rate)
            work.progress_start_s = now
        work.speed = speed
        work.rate = speed / work.full_duration_s
        work.rate_changes.append((max(now, work.progress_start_s), work.rate))
        work.epoch += 1
        self._running_version += 1
        self._schedule_completion(work, max(work.progress_start_s - now, 0.0)
                                  + work.remaining / work.rate)
        self.log.work_event(now, "rerate", work.work_id, f"speed={speed:.4f} {reason}".strip())

    def _release(self, work: Work, now: float) -> None:
        """Running ``work`` gives its GPUs back (completion, preemption or scale-down)."""
        assert work.gpus is not None
        work.close_segment(now)
        self.cluster.release(work.gpus, work.work_id)
        self.gpu_util[work.gpus] = 0.0
        del self.running[work.work_id]
        self._running_version += 1
        self.tenant_gpus[work.tenant] -= work.n_gpus

    def _schedule_completion(self, work: Work, delay: float) -> None:
        timeout = self.env.timeout(delay)
        epoch = work.epoch
        timeout.callbacks.append(lambda _e, w=work, ep=epoch: self._complete(w, ep))

    def _system(self, work: Work) -> SystemSpec:
        assert work.gpus is not None
        return self.compute.system_of_gpu(int(work.gpus[0]))

    def _launch(self, started: list[Work]) -> None:
        """Run the kernels once for everything started this round, then schedule ends."""
        now = self.env.now
        training = [w for w in started if w.kind == "training"]
        if training:
            specs: list[TrainingJobSpec] = [w.spec for w in training]  # type: ignore[misc]
            est = self.compute.training(
                specs, [self._system(w) for w in training],
                np.array([w.tier for w in training], dtype=np.int64),
                np.array([int(w.gpus[0]) for w in training], dtype=np.int64))  # type: ignore[index]
            for i, work in enumerate(training):
                spec = work.spec
                assert isinstance(spec, TrainingJobSpec)
                work.step_s = float(est.step_s[i])
                work.util = float(est.util[i])
                work.full_duration_s = float(est.duration_s[i])
                work.speed = 1.0
                work.rate = 1.0 / work.full_duration_s
                if spec.dataset_bytes > 0 and self.transfers is not None:
                    self._begin_staging(work, now)
                else:
                    self._begin_compute(work, now)
        for work in started:
            info = f"tier={work.tier}"
            if work.kind == "inference":
                self.serving.add(work, now)
            elif work.kind == "replica":
                self.serving.add_replica(work, now)
            self.log.work_event(now, "start", work.work_id, info)
        for work in started:  # an autoscaled service queues its initial extra replicas
            spec = work.spec
            if work.kind == "inference" and spec.autoscale is not None:  # type: ignore[union-attr]
                extra = spec.replicas - spec.base_replicas  # type: ignore[union-attr]
                if extra > 0:
                    self._scale_up(self.serving.by_work[work.work_id], extra)

    def _begin_compute(self, work: Work, now: float) -> None:
        """Start (or resume) a training job's computation at ``now``."""
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec)
        restore = spec.checkpoint_cost_s if work.preemptions else 0.0
        work.progress_start_s = now + restore
        work.run_origin_s = work.progress_start_s
        work.remaining_at_origin = work.remaining
        work.rate_changes = [(work.progress_start_s, work.rate)]
        work.duration_s = restore + work.remaining / work.rate
        if spec.runtime_s is not None:
            # Duration as given: remaining seconds without the 1/rate round trip,
            # and the end snapped to the microsecond so that a job of integral duration ends
            # exactly when a trace event at the same second happens (same batching as the
            # peers' simulators).
            end = round(work.progress_start_s
                        + work.remaining * work.full_duration_s / work.speed, 6)
            work.duration_s = max(0.0, end - now)
        self.gpu_util[work.gpus] = work.util
        self._schedule_completion(work, work.duration_s)

    # -- dataset staging over the WAN ----------------------------------------------------
    def _begin_staging(self, work: Work, now: float) -> None:
        """Copy the job's dataset to its site first (GPUs held, idle); see transfers."""
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec) and work.gpus is not None
        assert self.transfers is not None
        site = self.index.site_names[int(self.index.gpu_site[work.gpus[0]])]
        work.progress_start_s = math.inf
        work.staging_since_s = now
        self.gpu_util[work.gpus] = 0.0
        changed = self.transfers.start(work.work_id, site, spec.dataset_source or "local",
                                       spec.dataset_bytes, now)
        self._staging[work.work_id] = changed[-1]
        self._reschedule_transfers(changed)

    def _reschedule_transfers(self, changed: list) -> None:
        for transfer in changed:
            work = self.works[transfer.work_id]
            work.epoch += 1
            eta = self.transfers.eta_s(transfer)  # type: ignore[union-attr]
            if math.isfinite(eta):
                timeout = self.env.timeout(eta)
                epoch = work.epoch
                timeout.callbacks.append(lambda _e, w=work, ep=epoch: self._staged(w, ep))

    def _staged(self, work: Work, epoch: int) -> None:
        self.sim_events += 1
        if work.epoch != epoch or work.work_id not in self._staging:
            return
        now = self.env.now
        transfer = self._staging.pop(work.work_id)
        self._reschedule_transfers(self.transfers.finish(transfer, now))  # type: ignore[union-attr]
        work.staging_s += now - work.staging_since_s
        self.log.work_event(now, "staged", work.work_id,
                            f"{work.spec.dataset_bytes / 1e12:.3f} TB "  # type: ignore[union-attr]
                            f"in {now - work.staging_since_s:.1f} s")
        work.epoch += 1
        self._begin_compute(work, now)

    def _abandon_staging(self, work: Work, now: float) -> None:
        transfer = self._staging.pop(work.work_id, None)
        if transfer is not None:
            work.staging_s += now - work.staging_since_s
            self._reschedule_transfers(self.transfers.finish(transfer, now))  # type: ignore[union-attr]

    def _complete(self, work: Work, epoch: int) -> None:
        self.sim_events += 1
        if work.epoch != epoch or work.state != "running":
            return  # superseded (preempted or re-rated) before this timeout fired
        now = self.env.now
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        self._release(work, now)
        work.remaining = 0.0
        work.state = "finished"
        work.end_s = now
        self.log.work_event(now, "finish", work.work_id)
        self._request_round()

    # -- sampling and the end of the run -----------------------------------------------
    def _apply_power_caps(self, now: float, pue: np.ndarray) -> None:
        """Ask the power policy for GPU caps on training work and apply them (re-rating)."""
        s = self.settings
        training = [w for w in self.running.values()
                    if w.kind == "training" and w.work_id not in self._staging]
        for w in training:  # the uncapped draw is what the policy must judge
            self.gpu_util[w.gpus] = w.util
        _r, _it, fac = self.compute.power(self.gpu_util, pue, s.site_fabric_w)
        gpu = self.compute.system_of_gpu
        jobs = cap_candidates(training, self.index.gpu_site,
                              lambda g: (gpu(g).gpu.idle_w, gpu(g).gpu.tdp_w))
        assert self.power is not None and self.energy is not None
        view = PowerView(now, fac, self.energy.cap_at(now), pue, jobs)
        limits = {j.work_id: j for j in jobs}
        for decision in self.power.decide(view):
            job, work = limits.get(decision.work_id), self.running.get(decision.work_id)
            if job is None or work is None:
                raise PolicyError(f"power policy capped work {decision.work_id}, which is "
                                  "not a running training job")
            speed, util = cap_effect(decision.cap_w, work.util, job.idle_w, job.tdp_w)
            self.gpu_util[work.gpus] = util
            if abs(speed - work.speed) > 1e-3:
                self.rerate(work, speed, f"power cap {decision.cap_w:.0f} W/GPU"
                            if speed < 1.0 else "power cap lifted")

    def _sample(self) -> None:
        s = self.settings
        now = self.env.now
        pue = s.site_pue if self.energy is None else self.energy.pue_at(now)
        if self.power is not None:
            self._apply_power_caps(now, pue)
            if self.queue:  # caps and solar hours change what may start
                self._request_round()
        elif self.energy is not None and self.queue:
            self._request_round()
        _racks, it, fac = self.compute.power(self.gpu_util, pue, s.site_fabric_w)
        rack_util = np.bincount(self.index.gpu_rack, weights=self.gpu_util,
                                minlength=self.index.n_racks)
        rack_util /= np.maximum(np.bincount(self.index.gpu_rack,
                                            minlength=self.index.n_racks), 1)
        sample = Sample(t=self.env.now, it_w=it, facility_w=fac,
                        busy_gpus=self.index.n_gpus - self.cluster.free_gpus,
                        mean_util=float(self.gpu_util.mean()) if self.index.n_gpus else 0.0,
                        queue_by_tenant=tuple(self.queue_by_tenant), running=len(self.running),
                        rack_util=rack_util.astype(np.float32))
        self.last_sample = sample
        self.log.sample(sample)
        if self.energy is not None:
            self.log.energy_sample(self.energy.step(now, it, fac))

    def finish(self) -> None:
        """Close the run at the current time: queued and running work is truncated.

        Requests of the last, partial serving window (up to now) are served first, so no
        arrival before the horizon is dropped.
        """
        now = self.env.now
        if now > self.served_until and self.serving.services:
            self.serving.advance(self.served_until, now)
            self.served_until = now
        for work in list(self.queue):
            work.state = "truncated"
            work.end_s = now
            self.log.work_event(now, "truncate", work.work_id, "queued")
        for work in sorted(self.running.values(), key=lambda w: w.work_id):
            work.close_segment(now)
            work.state = "truncated"
            work.end_s = now
            if work.kind == "training":
                self._abandon_staging(work, now)
                ran = max(0.0, now - work.progress_start_s)
                done = 1.0 - max(0.0, work.remaining - ran * work.rate)
                self.log.work_event(now, "truncate", work.work_id, f"running done={done:.4f}")
            else:
                self.log.work_event(now, "truncate", work.work_id, "running")
        self.queue.clear()
        self.queue_views.clear()
        self.running.clear()
