"""Tiresias's discretised 2D-LAS (``dlas-gpu``), with exact threshold-crossing demotion.

Source: Gu et al., "Tiresias: A GPU Cluster Manager for Distributed Deep Learning",
NSDI 2019, section 4 (discretised two-dimensional least-attained-service, and the
starvation knob of section 4.2.2), and its simulator (github.com/SymbioticLab/Tiresias,
``simulator/run_sim.py`` ``dlas_sim_jobs(gputime=True)``; queue limits in
``simulator/jobs.py``).

A job's *service* is the GPU-seconds it has attained (GPUs × run time) since it last
entered the top queue. Queue ``k`` holds jobs whose service lies between
``thresholds[k-1]`` and ``thresholds[k]``; a new job enters queue 0. At each round every
runnable training job, running or waiting, is taken queue by queue and, inside a queue,
in the queue's order (FIFO; running jobs ahead of waiting ones, as the simulator keeps
them), and GPUs are handed out down that order, skipping jobs that do not fit; a running
job that loses its GPUs is preempted (:mod:`emulator.policies.reallocate`).

Demotion happens *at the exact moment* a running job's service crosses a threshold: the
policy asks the engine for a round then (:meth:`DiscretisedLasPolicy.next_wakeup`). The
Tiresias simulator instead checks thresholds only at its events and schedules its next
check ``floor((limit - run seconds) / GPUs)`` seconds ahead — a limit in GPU-seconds
minus a time in seconds — so a multi-GPU job is demoted late (an 8-GPU job after 761 s
instead of 406.25 s at the 3,250 GPU-s limit). ``crossing: simulator`` reproduces that
schedule (one level per check) for side-by-side comparisons; see ``docs/reproductions.md``.

Starvation (``starvation_knob`` = the paper's PROMOTEKNOB, the simulator's
``solve_starvation``; 0 = off): a waiting job outside queue 0 that has waited ``knob ×`` its
run time (service / GPUs, s) since it last entered queue 0 is promoted back to queue 0 with
its service reset; the policy asks for a round at that moment too.

Options: ``thresholds`` — service at each demotion, GPU-seconds or durations (``"2h"`` = 2
GPU-hours); default ``[3250, 7200]`` (three queues, the simulator's ``queue_limit``);
``starvation_knob`` (default 0); ``crossing`` — ``exact`` (default) or ``simulator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    QueuePolicy,
    RunningJob,
    StartJob,
)
from emulator.policies.options import number
from emulator.policies.ordered import as_seconds_list, services_first
from emulator.policies.reallocate import reallocate

__all__ = ["DiscretisedLasPolicy"]

EPS_GPU_S = 1e-6
"""Service (GPU-s) within this of a threshold counts as having crossed it (float noise)."""


@dataclass
class _JobState:
    """What the policy remembers of one runnable job between rounds."""

    queue: int = 0
    base_gpu_s: float = 0.0  # attained GPU-s when it last entered queue 0
    waited_s: float = 0.0  # time waited since then, while it had some service
    seen_s: float = 0.0  # time of the last round that saw it
    waiting: bool = True  # waiting (not running) after that round


class DiscretisedLasPolicy(QueuePolicy):
    """Multi-level queues on attained GPU-seconds; exact demotion and starvation rounds."""

    name = "dlas-gpu"

    def __init__(self, thresholds: Any = (3250, 7200), starvation_knob: float = 0.0,
                 crossing: str = "exact", **options: Any) -> None:
        super().__init__(**options)
        if crossing not in ("exact", "simulator"):
            raise ValueError(f"crossing must be 'exact' or 'simulator', got {crossing!r}")
        self.exact = crossing == "exact"
        self.thresholds = as_seconds_list(thresholds, "thresholds")
        knob = number(starvation_knob, "starvation_knob")
        if not knob >= 0:
            raise ValueError(f"starvation_knob must be >= 0, got {starvation_knob!r}")
        self.knob = knob
        self._state: dict[int, _JobState] = {}
        self._queues: list[list[int]] = [[] for _ in range(len(self.thresholds) + 1)]

    def _service(self, job: QueuedJob | RunningJob) -> float:
        return job.attained_gpu_s - self._state[job.work_id].base_gpu_s

    def _move(self, wid: int, to: int) -> None:
        st = self._state[wid]
        self._queues[st.queue].remove(wid)
        self._queues[to].append(wid)
        st.queue = to

    def _update(self, view: ClusterView, jobs: dict[int, QueuedJob | RunningJob]) -> None:
        """Forget departed jobs, admit new ones to queue 0, demote and promote."""
        now = view.now
        for q in self._queues:
            q[:] = [w for w in q if w in jobs]
        self._state = {w: s for w, s in self._state.items() if w in jobs}
        for job in sorted((j for j in jobs.values() if j.work_id not in self._state),
                          key=lambda j: (getattr(j, "submit_s", now), j.work_id)):
            self._state[job.work_id] = _JobState(seen_s=now)
            self._queues[0].append(job.work_id)
        crossings: list[tuple[float, int, int]] = []
        for wid in sorted(jobs):
            job, st = jobs[wid], self._state[wid]
            if st.waiting and self._service(job) > 0:
                st.waited_s += now - st.seen_s
            st.seen_s = now
            if isinstance(job, RunningJob):
                served, level = self._service(job), st.queue
                while (level < len(self.thresholds)
                       and served >= self.thresholds[level] - EPS_GPU_S):
                    level += 1
                    if not self.exact:
                        break  # the simulator moves a job one queue per check
                if level != st.queue:
                    crossed = now - (served - self.thresholds[level - 1]) / job.n_gpus
                    crossings.append((crossed, wid, level))
            elif (self.knob > 0 and st.queue > 0 and self._service(job) > 0
                  and st.waited_s >= self.knob * self._service(job) / job.n_gpus - 1e-9):
                st.base_gpu_s = job.attained_gpu_s
                st.waited_s = 0.0
                self._move(wid, 0)
        for _t, wid, level in sorted(crossings):  # demoted in the order they crossed
            self._move(wid, level)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Serve the queues in order, FIFO inside each; reallocate down that order."""
        jobs: dict[int, QueuedJob | RunningJob] = {
            j.work_id: j for j in (*view.running, *view.queue)
            if j.kind == "training" and j.preemptible}
        self._update(view, jobs)
        others = sorted((j for j in (*view.running, *view.queue) if j.work_id not in jobs),
                        key=lambda j: (services_first(j), j.work_id))
        ranked = [*others, *(jobs[w] for q in self._queues for w in q)]
        decisions = reallocate(view, ranked)
        started = {d.work_id for d in decisions if isinstance(d, StartJob)}
        stopped = {d.work_id for d in decisions if isinstance(d, PreemptJob)}
        for q in self._queues:  # running jobs ahead of waiting ones, each in its order
            run = [w for w in q if (isinstance(jobs[w], RunningJob) and w not in stopped)
                   or w in started]
            in_run = set(run)
            q[:] = run + [w for w in q if w not in in_run]
        for wid, job in jobs.items():
            self._state[wid].waiting = not ((isinstance(job, RunningJob) and wid not in stopped)
                                            or wid in started)
        return decisions

    def next_wakeup(self, view: ClusterView) -> float | None:
        """The next exact demotion (a running job's service reaching its queue's
        threshold) or starvation promotion, in s; ``None`` if none is due."""
        now, best = view.now, math.inf
        for r in view.running:
            st = self._state.get(r.work_id)
            if st is None or st.queue >= len(self.thresholds) or r.n_gpus <= 0:
                continue
            if self.exact:
                left = self.thresholds[st.queue] - self._service(r)
                best = min(best, now + max(left, 0.0) / r.n_gpus)
            else:  # the simulator's next check: floor((limit - run s) / GPUs) ahead
                run_s = self._service(r) / r.n_gpus
                best = min(best, now + math.floor(
                    (self.thresholds[st.queue] - run_s) / r.n_gpus + 1e-9))
        if self.knob > 0:
            for j in view.queue:
                st = self._state.get(j.work_id)
                if st is None or st.queue == 0 or self._service(j) <= 0:
                    continue
                due = self.knob * self._service(j) / j.n_gpus - st.waited_s
                best = min(best, now + max(due, 0.0))
        return best if math.isfinite(best) and best > now else None
