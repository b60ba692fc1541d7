"""The engine: the core plus the simulation processes, wired on one simpy environment.

The :class:`~emulator.core.core.Core` owns the only mutable scheduling state and its
verbs; each process (:mod:`emulator.processes`) handles one concern and changes work only
through those verbs. Every state change is appended to the typed
:class:`~emulator.eventlog.EventLog`. This class only registers the processes, exposes
what the dashboard and benchmarks read, and closes the run at the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import simpy

from emulator.compute import ComputeModel
from emulator.core.allocation import ClusterState
from emulator.core.clock import SimpyClock
from emulator.core.core import Core
from emulator.core.training import ShapeCache
from emulator.energy.model import EnergyModel
from emulator.eventlog import EventLog, Sample
from emulator.placement.base import PlacementPolicy
from emulator.policies.base import QueuePolicy
from emulator.power_control import PowerCapPolicy
from emulator.processes.arrivals import arrivals
from emulator.processes.autoscale import Autoscaler
from emulator.processes.failures import FailureModel
from emulator.processes.planned_events import Injector, Resolved, schedule_planned
from emulator.processes.power_caps import PowerCaps
from emulator.processes.rounds import Rounds
from emulator.processes.sampler import Sampler
from emulator.processes.serving_windows import ServingWindows
from emulator.processes.staging import Staging
from emulator.processes.timed import timed_events
from emulator.serving import ServingModel
from emulator.transfers import TransferModel
from emulator.work import Work
from emulator.work_book import WorkBook

__all__ = ["Engine", "EngineSettings"]


@dataclass(frozen=True)
class EngineSettings:
    """Time steps (s) and per-site constants the engine needs."""

    sample_interval_s: float
    serving_window_s: float
    site_pue: np.ndarray
    site_fabric_w: np.ndarray
    # Round-based mode: with a round length (s), scheduling rounds happen only at its
    # multiples (Gavel's 360 s rounds); None keeps event-driven rounds.
    round_length_s: float | None = None
    # End the run when every work item has ended (engine.stop_when_done).
    stop_when_done: bool = False


class Engine:
    """The core and its processes on one simpy environment."""

    def __init__(self, env: simpy.Environment, cluster: ClusterState, works: Sequence[Work],
                 tenants: Sequence[str], policy: QueuePolicy, placement: PlacementPolicy,
                 compute: ComputeModel, serving: ServingModel, log: EventLog,
                 settings: EngineSettings, policy_options: dict[str, object] | None = None,
                 infeasible: dict[int, str] | None = None, *, energy: EnergyModel | None = None,
                 power: PowerCapPolicy | None = None,
                 timed: Sequence[tuple[float, Callable[[float], None]]] = (),
                 transfers: TransferModel | None = None,
                 shapes: ShapeCache | None = None) -> None:
        self.env = env
        self.clock = SimpyClock(env)
        self.compute = compute
        self.serving = serving
        self.log = log
        self.settings = settings
        self.tenants = tuple(tenants)
        self.core = Core(self.clock, cluster, works, len(self.tenants), log,
                         shapes or ShapeCache(compute, cluster.index), infeasible)
        self.rounds = Rounds(self.core, policy, placement, self.tenants,
                             policy_options or {}, serving, settings.round_length_s)
        self.all_ended: simpy.Event | None = None  # with stop_when_done: every work ended
        self.core.wants_round = self.rounds.request
        self.autoscaler = Autoscaler(self.core, serving)
        self.core.on_start = self.autoscaler.on_start
        if transfers is not None:
            self.core.staging = Staging(self.core, transfers)
        caps = (PowerCaps(self.core, compute, power, energy, settings.site_fabric_w)
                if power is not None and energy is not None else None)
        self.sampler = Sampler(self.core, compute, log, self.rounds,
                               settings.sample_interval_s, settings.site_pue,
                               settings.site_fabric_w, energy, caps)
        self.windows = ServingWindows(self.core, serving, self.autoscaler,
                                      settings.serving_window_s)
        self.timed = list(timed)
        self.failures: FailureModel | None = None  # set by the build (failures, injections)
        self._wakeups = [0]  # arrival process wake-ups
        self._timed_wakeups = [0]
        self.injector: Injector | None = None  # planned and live events (set by the build)
        self.planned: list[Resolved] = []
        self.planned_source = ""  # the events file ``planned`` came from, for notes

    # -- what others read ------------------------------------------------------------------
    @property
    def works(self) -> WorkBook:
        """Every work item by id, including replicas created during the run."""
        return self.core.works

    @property
    def policy(self) -> QueuePolicy:
        """The queue policy deciding the rounds."""
        return self.rounds.policy

    @property
    def infeasible(self) -> dict[int, str]:
        """Work that can never run, with the reason (rejected at submission)."""
        return self.core.infeasible

    @property
    def cluster(self) -> ClusterState:
        """GPU allocation state."""
        return self.core.cluster

    @property
    def running(self) -> dict[int, Work]:
        """Running work by id."""
        return self.core.running

    @property
    def queue(self) -> list[Work]:
        """Queued work in arrival order."""
        return self.core.queue.works

    @property
    def queue_by_tenant(self) -> list[int]:
        """Queued work per tenant (in the log's tenant order)."""
        return self.core.queue.by_tenant

    @property
    def tenant_gpus(self) -> dict[str, int]:
        """GPUs held per tenant now."""
        return dict(zip(self.tenants, self.core.tenant_gpus, strict=True))

    @property
    def last_sample(self) -> Sample | None:
        """The latest sample."""
        return self.sampler.last

    @property
    def rounds_run(self) -> int:
        """Scheduling rounds in which the policy was asked."""
        return self.rounds.rounds

    @property
    def sim_events(self) -> int:
        """simpy callbacks of the engine's own processes and deferred calls so far."""
        failures = self.failures.applied if self.failures is not None else 0
        return (self.rounds.calls + self.core.callbacks + self.sampler.ticks
                + self.windows.windows + self._wakeups[0] + self._timed_wakeups[0]
                + failures)

    def rerate(self, work: Work, speed: float, reason: str = "") -> None:
        """Change a running training job's speed (see :meth:`Core.rerate`)."""
        self.core.rerate(work, speed, reason)

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        """Register the processes with the environment."""
        env = self.env
        if self.settings.stop_when_done:
            # When it is processed, env.run returns (as at its ``until``): events due at the
            # same instant after it are not run, and until then nothing differs from a
            # run without the option.
            ended = self.all_ended = env.event()
            ended.callbacks.append(simpy.core.StopSimulation.callback)
            self.core.on_all_ended = lambda: None if ended.triggered else ended.succeed()
        env.process(arrivals(env, self.core, self.core.works, self._wakeups))
        env.process(self.sampler.process(env))
        if any(w.kind == "inference" for w in self.core.works.others):
            env.process(self.windows.process(env))
        if self.failures is not None and self.failures.times.size:  # sampled failures
            env.process(self.failures.process(env))
        if self.timed:
            staging = self.core.staging
            after = ((lambda now: staging.set_request_load(None, now))
                     if staging is not None else (lambda now: None))
            env.process(timed_events(env, self.timed, after, self._timed_wakeups))
        if self.planned and self.injector is not None:
            schedule_planned(env, self.injector, self.planned)

    def finish(self) -> None:
        """Close the run now: serve the last partial window, truncate queued and running
        work, and end the last energy interval here if it reached past now."""
        now = self.env.now
        self.windows.flush(now)
        self.core.truncate_all()
        self.sampler.close(now)
