"""What the serving model keeps of each running service, and the steady time per token.

:class:`ServiceRuntime` is the mutable state of one running service (its slot pool and
prefill pipelines, its replicas, what its last window measured, the decodes and prefills
carried into the next window); :class:`StepsAt` the services' decode steps at a window's
batches; :func:`time_per_token` a window's first guess of a request's time per output
token. Kept apart from :mod:`emulator.serving` (which advances the services window by
window) so that the modules reading a service's state need not import the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from emulator.compute import ServiceStatics
from emulator.serving_decode import StepTable
from emulator.serving_queue import SlotPool
from emulator.work import Work
from topologies.catalog import SystemSpec
from workloads.spec import InferenceServiceSpec

__all__ = ["ServiceRuntime", "StepsAt", "time_per_token"]


def time_per_token(gpu_s: float, host_s: float, prefill_share: float) -> float:
    """Seconds per output token of a running sequence at a steady batch and prefill share
    (TPOT; a window's first guess of its requests' decode times, which
    :func:`emulator.serving_decode.decode_under_load` then solves at the load each runs
    under).

    Prefill work takes ``prefill_share`` of the replica's GPU time, so the GPU's part of a
    decode step stretches to ``gpu_s/(1 - prefill_share)``; the host prepares each step
    while the GPU runs the previous one, so its ``host_s`` per step overlaps that and a
    host-bound step is not stretched further (as in
    :func:`cupy_kernels.inference.replica_throughput`).
    """
    return max(gpu_s / (1.0 - prefill_share), host_s)


@dataclass(eq=False)
class ServiceRuntime:
    """Mutable serving state of one running service."""

    work: Work
    spec: InferenceServiceSpec
    system: SystemSpec
    rtt_s: float
    slots: int
    free_at: SlotPool  # when each sequence slot frees (s)
    prefill_free_at: list[float]
    arrivals_rng: np.random.Generator
    tokens_rng: np.random.Generator
    replicas: int = 0
    batch: float = 1.0
    replica_util: float = 0.0
    in_service: float = 0.0
    served: int = 0
    replica_works: list[Work] = field(default_factory=list)
    queued_replicas: list[Work] = field(default_factory=list)
    low_since: float | None = None
    window_bytes: float = 0.0  # request bytes of the window starting at bytes_window_s
    bytes_window_s: float = -1.0
    site: str = ""
    prefill_share: float = 0.0
    prefill_load: float = 0.0  # offered prefill work per second (pipelines kept busy)
    occupancy: float = 0.0
    busy_start: np.ndarray = field(default_factory=lambda: np.empty(0))
    busy_end: np.ndarray = field(default_factory=lambda: np.empty(0))
    busy_share: np.ndarray = field(default_factory=lambda: np.empty(0))
    # first and last token times (s) of its requests whose decode was not over when the
    # last window ended (queued ones included)
    decode_first: np.ndarray = field(default_factory=lambda: np.empty(0))
    decode_last: np.ndarray = field(default_factory=lambda: np.empty(0))
    step_table: StepTable | None = None  # decode step times by batch, made at first use
    tpot_seen: float = 0.0  # s per output token its last window's requests decoded at
    riding_seen: float | None = None  # mean step its last window's prompts found (s)
    served_to: float = 0.0  # its arrivals before this time (s) are already logged
    cut_at: float = -math.inf  # where serve_until last cut a window short (s)
    # extra replica work id → when its servers open (s; later than now while it warms up)
    opens_at: dict[int, float] = field(default_factory=dict)
    # extra replica work id → the free times (s) of its slots still busy when it was
    # scaled down: it drains them before its GPUs go back (see remove_replica)
    draining: dict[int, list[float]] = field(default_factory=dict)
    # replica work ids queued to replace base replicas a failure stopped: each serves after
    # the service's cold start (:attr:`InferenceServiceSpec.replacement_delay_s`)
    replacing: set[int] = field(default_factory=set)
    # when the service started (s): its base work's first start (a failure that stops
    # some base replicas starts the base work's run again, on the replicas it spared)
    started_s: float = math.nan

    def allocations(self) -> list[Work]:
        """The base work and its running extra replicas."""
        return [self.work, *self.replica_works]


@dataclass(frozen=True)
class StepsAt:
    """The services' decode steps at given batches (s, per service): GPU, host, the step
    (the larger) and the GPU utilisation for power while decoding."""

    statics: ServiceStatics
    batches: np.ndarray
    gpu_s: np.ndarray
    host_s: np.ndarray
    step_s: np.ndarray
    power_util: list[float]
