"""The append-only event log: the single source of truth for results (DESIGN principle 6).

Three record streams, each appended in simulated-time order and never modified:

* ``work`` events — one row per state change of a job or service
  (``submit``, ``start``, ``finish``, ``reject``, ``truncate``, ``preempt``, ``rerate``,
  ``cancel``, ``staged``: a job's dataset reached its site), columnar;
* request batches — per serving window and service, arrays of per-request figures;
* samples — per sampling tick, site power and utilisation (and per-rack utilisation);
* energy samples (per tick, sites with an ``energy`` section) and infrastructure events
  (cable cuts and repairs, service RTT changes), both empty unless configured.

Summaries, tables, the dashboard and exports are functions of this log. Subscribers (the
dashboard) are called with each sample as it is appended; the engine knows nothing of them.
:meth:`EventLog.digest` hashes the whole log canonically, for determinism checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["WORK_EVENTS", "EventLog", "RequestBatch", "Sample"]

WORK_EVENTS = ("submit", "start", "finish", "reject", "truncate", "preempt", "rerate",
               "cancel", "staged")
_KIND_CODE = {k: i for i, k in enumerate(WORK_EVENTS)}


@dataclass(frozen=True)
class RequestBatch:
    """Requests of one service that arrived in one serving window (SI units).

    ``ttft_s`` includes the round trip between the request's origin and the site.
    """

    service: int
    arrival_s: np.ndarray
    wait_s: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray


@dataclass(frozen=True)
class Sample:
    """Site state at one sampling tick; values hold until the next tick.

    Power in W; ``busy_gpus`` are allocated GPUs; ``mean_util`` is the mean compute
    utilisation over all GPUs (0..1); ``queue_by_tenant`` counts waiting work.
    """

    t: float
    it_w: np.ndarray  # per site
    facility_w: np.ndarray  # per site
    busy_gpus: int
    mean_util: float
    queue_by_tenant: tuple[int, ...]
    running: int
    rack_util: np.ndarray | None = None


@dataclass
class EventLog:
    """Append-only record of everything that happened in a run."""

    tenants: tuple[str, ...]
    sites: tuple[str, ...]
    work_t: list[float] = field(default_factory=list)
    work_kind: list[int] = field(default_factory=list)
    work_id: list[int] = field(default_factory=list)
    work_info: list[str] = field(default_factory=list)
    requests: list[RequestBatch] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    keep_rack_util: bool = True
    energy: list[Any] = field(default_factory=list)  # EnergySample per tick (energy runs)
    infra: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, detail)
    _subscribers: list[Callable[[Sample], None]] = field(default_factory=list, repr=False)

    def work_event(self, t: float, kind: str, work_id: int, info: str = "") -> None:
        """Append one work event (``kind`` in :data:`WORK_EVENTS`)."""
        self.work_t.append(t)
        self.work_kind.append(_KIND_CODE[kind])
        self.work_id.append(work_id)
        self.work_info.append(info)

    def request_batch(self, batch: RequestBatch) -> None:
        """Append one serving window's requests of one service."""
        self.requests.append(batch)

    def sample(self, sample: Sample) -> None:
        """Append one sample and hand it to the subscribers."""
        for callback in self._subscribers:
            callback(sample)
        if not self.keep_rack_util and sample.rack_util is not None:
            sample = Sample(sample.t, sample.it_w, sample.facility_w, sample.busy_gpus,
                            sample.mean_util, sample.queue_by_tenant, sample.running, None)
        self.samples.append(sample)

    def energy_sample(self, record: Any) -> None:
        """Append one tick's energy flows (:class:`emulator.energy.model.EnergySample`)."""
        self.energy.append(record)

    def infra_event(self, t: float, kind: str, detail: str = "") -> None:
        """Append one infrastructure event (cable cut/repair, service RTT change)."""
        self.infra.append((t, kind, detail))

    def subscribe(self, callback: Callable[[Sample], None]) -> None:
        """Call ``callback`` with every future sample."""
        self._subscribers.append(callback)

    @property
    def n_events(self) -> int:
        """Work events plus requests plus samples recorded so far."""
        return len(self.work_t) + sum(b.arrival_s.size for b in self.requests) + len(self.samples)

    def digest(self) -> str:
        """SHA-256 over a canonical byte encoding of the whole log."""
        h = hashlib.sha256()
        h.update(np.asarray(self.work_t, dtype=np.float64).tobytes())
        h.update(np.asarray(self.work_kind, dtype=np.int64).tobytes())
        h.update(np.asarray(self.work_id, dtype=np.int64).tobytes())
        h.update("\x1f".join(self.work_info).encode())
        for b in self.requests:
            h.update(np.int64(b.service).tobytes())
            for arr in (b.arrival_s, b.wait_s, b.ttft_s, b.tpot_s, b.e2e_s, b.prompt_tokens,
                        b.output_tokens):
                h.update(np.ascontiguousarray(arr).tobytes())
        for s in self.samples:
            h.update(np.float64(s.t).tobytes())
            h.update(np.ascontiguousarray(s.it_w).tobytes())
            h.update(np.ascontiguousarray(s.facility_w).tobytes())
            h.update(np.array([s.busy_gpus, s.running, *s.queue_by_tenant],
                              dtype=np.int64).tobytes())
            h.update(np.float64(s.mean_util).tobytes())
        for e in self.energy:  # empty unless a site has an energy section
            h.update(e.to_bytes())
        for t, kind, detail in self.infra:
            h.update(np.float64(t).tobytes())
            h.update(f"{kind}\x1f{detail}\x1e".encode())
        return h.hexdigest()
