"""The typed, append-only event log: the single source of truth for results (DESIGN 6).

Record streams, each appended in simulated-time order and never modified:

* **work events**, columnar and numeric: time (s), kind (:class:`Ev`), work id, tenant
  index, the work's GPU count, the allocation's slowest network tier, lost GPU-seconds
  (preemptions), speed (starts and re-rates), the remaining fraction of a training job's
  work (preemptions, truncations) and a reason code (an index into :attr:`EventLog.reasons`,
  the only text, interned). A start also records *where* the work runs: ``(NVLink domain,
  GPUs in it)`` pairs in flat placement columns — enough for residency checks, a Gantt
  chart or a trace viewer;
* **requests**: per serving window and service, either the per-request arrays
  (:class:`RequestBatch`) or, with ``keep_requests=False``, one mergeable
  :class:`~emulator.request_stats.RequestStats` per service, so memory does not grow with
  the number of requests;
* **samples**: per sampling tick, site power and utilisation (and per-rack utilisation);
* **energy samples** (sites with an ``energy`` section) and **infrastructure events**
  (cable cuts and repairs, service RTT changes, GPUs taken down and restored, drains and
  their ends), typed too. A row that concerns GPUs also records *where*: the lowest and
  highest global GPU id it concerns (a failed component's GPUs, a restored target's),
  so a reader can tell which failures an operator's restore of a rack or site ended.

Tables, the summary, ``compare`` and the dashboard are functions of this log or its
subscribers. :meth:`EventLog.digest` hashes the whole log canonically.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

import numpy as np

from emulator.request_stats import RequestStats

__all__ = ["INFRA_EVENTS", "WORK_EVENTS", "Ev", "EventLog", "Infra", "RequestBatch", "Sample"]


class Ev(IntEnum):
    """Kinds of work events."""

    SUBMIT = 0
    START = 1
    FINISH = 2
    REJECT = 3
    TRUNCATE = 4
    PREEMPT = 5
    RERATE = 6
    CANCEL = 7
    STAGED = 8  # a job's dataset reached its site; it computes from now
    STAGE = 9  # a job holding its GPUs began copying its dataset over the WAN
    INTERRUPT = 10  # a failure stopped running work (lost GPU-s since its last checkpoint)
    REQUEUE = 11  # an interrupted job, its failure detected, waits in the queue again
    RESTART = 12  # an interrupted job restarted (speed: restore + relaunch overhead, s)
    LOST = 13  # a serving replica was lost to a failure (terminal)


WORK_EVENTS = tuple(k.name.lower() for k in Ev)


class Infra(IntEnum):
    """Kinds of infrastructure events."""

    CABLE_CUT = 0
    CABLE_REPAIR = 1
    RTT = 2  # a service's round trip changed (value: new RTT in s; inf = unreachable)
    GPUS_DOWN = 3  # GPUs taken out of service (value: count)
    GPUS_UP = 4  # GPUs back in service (value: count)
    DRAIN = 5  # GPUs set draining: never allocated again, holders run on (value: count)
    UNDRAIN = 6  # a drain ended (value: count)
    POLICY = 7  # the queue policy was switched (label: the new policy's name)
    FAILURE = 8  # a component failed (subject: failure class code, value: its GPUs)
    REPAIR = 9  # a failed component is back (subject: class code, value: its GPUs; code
    # -1 and a ``restore TARGET`` label: an operator's restore, value: the GPUs it brought
    # back, GPU range: the target's)
    SPARE = 10  # a hot spare was swapped in (value: spares left in the pool)
    RETRIED = 11  # in-flight requests of a lost replica (subject: service; value: retried)
    FAILED_REQUESTS = 12  # in-flight requests lost with no replica left (value: count)
    REPLICAS_DOWN = 13  # a service's base replicas a failure stopped (subject: service;
    # value: replicas; their healthy GPUs are released, a replacement is queued for each)
    REPLICAS_UP = 14  # a replacement of a stopped base replica was placed; it serves after
    # the service's cold start (subject: service; value: replicas)


INFRA_EVENTS = tuple(k.name.lower() for k in Infra)


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
    utilisation over all GPUs (0..1); ``queue_by_tenant`` counts waiting work. With more
    than one site, ``site_busy`` and ``site_util`` split the first two by site (``None``
    for one site, whose figures are the totals).
    """

    t: float
    it_w: np.ndarray  # per site
    facility_w: np.ndarray  # per site
    busy_gpus: int
    mean_util: float
    queue_by_tenant: tuple[int, ...]
    running: int
    rack_util: np.ndarray | None = None
    site_busy: np.ndarray | None = None  # allocated GPUs per site (int64)
    site_util: np.ndarray | None = None  # mean compute utilisation per site (0..1)


_NAN = float("nan")


@dataclass
class EventLog:
    """Append-only record of everything that happened in a run."""

    tenants: tuple[str, ...]
    sites: tuple[str, ...]
    keep_rack_util: bool = True
    keep_requests: bool = True
    # work events (one entry per event in every column)
    work_t: array = field(default_factory=lambda: array("d"))
    work_kind: array = field(default_factory=lambda: array("b"))
    work_id: array = field(default_factory=lambda: array("q"))
    work_tenant: array = field(default_factory=lambda: array("h"))
    work_gpus: array = field(default_factory=lambda: array("l"))
    work_tier: array = field(default_factory=lambda: array("b"))
    work_lost_gpu_s: array = field(default_factory=lambda: array("d"))
    work_speed: array = field(default_factory=lambda: array("d"))
    work_remaining: array = field(default_factory=lambda: array("d"))
    work_reason: array = field(default_factory=lambda: array("l"))
    work_place: array = field(default_factory=lambda: array("q"))  # first placement row, -1
    # placement rows (one per NVLink domain a start used)
    place_domain: array = field(default_factory=lambda: array("l"))
    place_gpus: array = field(default_factory=lambda: array("l"))
    reasons: list[str] = field(default_factory=lambda: [""])
    requests: list[RequestBatch] = field(default_factory=list)
    request_stats: dict[int, RequestStats] = field(default_factory=dict)
    slo: dict[int, tuple[float, float]] = field(default_factory=dict)  # service → (TTFT, TPOT)
    samples: list[Sample] = field(default_factory=list)
    energy: list[Any] = field(default_factory=list)  # EnergySample per tick (energy runs)
    infra_t: array = field(default_factory=lambda: array("d"))
    infra_kind: array = field(default_factory=lambda: array("b"))
    infra_subject: array = field(default_factory=lambda: array("q"))  # service id, or -1
    infra_value: array = field(default_factory=lambda: array("d"))
    infra_label: array = field(default_factory=lambda: array("l"))  # cable / reason code
    # GPU ids the row concerns, lowest and highest (-1: none, e.g. a cable or a policy)
    infra_gpu_first: array = field(default_factory=lambda: array("q"))
    infra_gpu_last: array = field(default_factory=lambda: array("q"))
    _reason_code: dict[str, int] = field(default_factory=lambda: {"": 0}, repr=False)
    _sample_subscribers: list[Callable[[Sample], None]] = field(default_factory=list,
                                                                repr=False)
    _work_subscribers: list[Callable[[int], None]] = field(default_factory=list, repr=False)
    _request_subscribers: list[Callable[[int, RequestStats], None]] = field(
        default_factory=list, repr=False)

    # -- writing -------------------------------------------------------------------------
    def reason(self, text: str) -> int:
        """The code of reason ``text`` (interned: each distinct text is stored once)."""
        code = self._reason_code.get(text)
        if code is None:
            code = self._reason_code[text] = len(self.reasons)
            self.reasons.append(text)
        return code

    def work_event(self, t: float, kind: Ev, work_id: int, tenant: int, gpus: int, *,
                   reason: str = "", tier: int = -1, lost_gpu_s: float = 0.0,
                   speed: float = _NAN, remaining: float = _NAN,
                   placement: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Append one work event; ``placement`` is ``(domains, GPUs per domain)``."""
        self.work_t.append(t)
        self.work_kind.append(kind)
        self.work_id.append(work_id)
        self.work_tenant.append(tenant)
        self.work_gpus.append(gpus)
        self.work_tier.append(tier)
        self.work_lost_gpu_s.append(lost_gpu_s)
        self.work_speed.append(speed)
        self.work_remaining.append(remaining)
        self.work_reason.append(self.reason(reason) if reason else 0)
        if placement is None:
            self.work_place.append(-1)
        else:
            self.work_place.append(len(self.place_domain))
            self.place_domain.extend(placement[0].tolist())
            self.place_gpus.extend(placement[1].tolist())
        for callback in self._work_subscribers:
            callback(len(self.work_t) - 1)

    def work_events(self, t: float, kind: Ev, work_ids: list[int], tenants: list[int],
                    gpus: list[int], *, reason: str = "") -> None:
        """Append one event of ``kind`` at ``t`` for each work item listed (the same
        columns as that many :meth:`work_event` calls with no placement, tier, loss,
        speed or remaining fraction: e.g. the horizon truncating a deep queue)."""
        n = len(work_ids)
        if not n:
            return
        first = len(self.work_t)
        self.work_t.extend([t] * n)
        self.work_kind.extend([int(kind)] * n)
        self.work_id.extend(work_ids)
        self.work_tenant.extend(tenants)
        self.work_gpus.extend(gpus)
        self.work_tier.extend([-1] * n)
        self.work_lost_gpu_s.extend([0.0] * n)
        self.work_speed.extend([_NAN] * n)
        self.work_remaining.extend([_NAN] * n)
        self.work_reason.extend([self.reason(reason) if reason else 0] * n)
        self.work_place.extend([-1] * n)
        for callback in self._work_subscribers:
            for row in range(first, first + n):
                callback(row)

    def set_slo(self, service: int, ttft_s: float, tpot_s: float) -> None:
        """Register service ``service``'s objectives (s), used to count SLO attainment."""
        self.slo[service] = (ttft_s, tpot_s)

    def request_batch(self, batch: RequestBatch) -> None:
        """Append one serving window's requests of one service (rows, or reduced stats)."""
        if self.keep_requests:
            self.requests.append(batch)
            if not self._request_subscribers:
                return
        ttft_slo, tpot_slo = self.slo.get(batch.service, (float("inf"), float("inf")))
        subscribed = bool(self._request_subscribers)
        if subscribed:  # the window's own figures, handed to the subscribers
            stats = RequestStats()
        else:  # reduced straight into the service's figures (the same sums and counts as
            # the window's figures merged in: integer counts, and 0.0 + s == s)
            stats = self.request_stats.get(batch.service) or self.request_stats.setdefault(
                batch.service, RequestStats())
        stats.add(batch.wait_s, batch.ttft_s, batch.tpot_s, batch.e2e_s,
                  batch.prompt_tokens, batch.output_tokens, ttft_slo, tpot_slo)
        if not subscribed:
            return
        if not self.keep_requests:
            self.request_stats.setdefault(batch.service, RequestStats()).merge(stats)
        for callback in self._request_subscribers:
            callback(batch.service, stats)

    def sample(self, sample: Sample) -> None:
        """Append one sample and hand it to the subscribers."""
        for callback in self._sample_subscribers:
            callback(sample)
        if not self.keep_rack_util and sample.rack_util is not None:
            sample = replace(sample, rack_util=None)
        self.samples.append(sample)

    def energy_sample(self, record: Any) -> None:
        """Append one tick's energy flows (:class:`emulator.energy.model.EnergySample`)."""
        self.energy.append(record)

    def infra_event(self, t: float, kind: Infra, label: str = "", subject: int = -1,
                    value: float = _NAN, gpus: np.ndarray | None = None) -> None:
        """Append one infrastructure event (cable cut/repair, RTT change, GPUs down/up).

        ``gpus``: the global GPU ids the event concerns (a failed component's, a target's;
        every component and target is one contiguous range of ids), logged as their
        lowest and highest id; ``None`` or empty for an event of no GPU."""
        self.infra_t.append(t)
        self.infra_kind.append(kind)
        self.infra_subject.append(subject)
        self.infra_value.append(value)
        self.infra_label.append(self.reason(label) if label else 0)
        if gpus is None or np.size(gpus) == 0:
            self.infra_gpu_first.append(-1)
            self.infra_gpu_last.append(-1)
        else:
            self.infra_gpu_first.append(int(np.min(gpus)))
            self.infra_gpu_last.append(int(np.max(gpus)))

    # -- subscribers ---------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Sample], None]) -> None:
        """Call ``callback`` with every future sample."""
        self._sample_subscribers.append(callback)

    def subscribe_work(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(row)`` after every future work event (``row`` indexes the columns)."""
        self._work_subscribers.append(callback)

    def subscribe_requests(self, callback: Callable[[int, RequestStats], None]) -> None:
        """Call ``callback(service id, stats of the window)`` after every request batch."""
        self._request_subscribers.append(callback)

    # -- reading -------------------------------------------------------------------------
    @property
    def n_work_events(self) -> int:
        """Work events recorded so far."""
        return len(self.work_t)

    def work_columns(self) -> dict[str, np.ndarray]:
        """The work-event columns as numpy arrays (views of the log's buffers)."""
        def arr(a: array) -> np.ndarray:
            return np.frombuffer(a, dtype=a.typecode) if len(a) else np.empty(0, a.typecode)
        return {"t_s": arr(self.work_t), "kind": arr(self.work_kind),
                "work_id": arr(self.work_id), "tenant": arr(self.work_tenant),
                "n_gpus": arr(self.work_gpus), "tier": arr(self.work_tier),
                "lost_gpu_s": arr(self.work_lost_gpu_s), "speed": arr(self.work_speed),
                "remaining": arr(self.work_remaining), "reason": arr(self.work_reason),
                "place": arr(self.work_place)}

    def placement(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """``(domains, GPUs per domain)`` of the start event at ``row``."""
        first = self.work_place[row]
        if first < 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        place = self.work_place
        nxt = next((place[i] for i in range(row + 1, len(place)) if place[i] >= 0),
                   len(self.place_domain))  # the next start: no copy of the log's tail
        return (np.asarray(self.place_domain[first:nxt], dtype=np.int64),
                np.asarray(self.place_gpus[first:nxt], dtype=np.int64))

    def digest(self) -> str:
        """SHA-256 over a canonical byte encoding of the whole log."""
        h = hashlib.sha256()
        for col in (self.work_t, self.work_kind, self.work_id, self.work_tenant,
                    self.work_gpus, self.work_tier, self.work_lost_gpu_s, self.work_speed,
                    self.work_remaining, self.work_reason, self.work_place,
                    self.place_domain, self.place_gpus):
            h.update(np.asarray(col, dtype=np.float64 if col.typecode == "d"
                                else np.int64).tobytes())
        h.update("\x1f".join(self.reasons).encode())
        for b in self.requests:
            h.update(np.int64(b.service).tobytes())
            for arr in (b.arrival_s, b.wait_s, b.ttft_s, b.tpot_s, b.e2e_s, b.prompt_tokens,
                        b.output_tokens):
                h.update(np.ascontiguousarray(arr).tobytes())
        for service in sorted(self.request_stats):
            h.update(np.int64(service).tobytes())
            h.update(self.request_stats[service].to_bytes())
        for s in self.samples:
            h.update(np.float64(s.t).tobytes())
            h.update(np.ascontiguousarray(s.it_w).tobytes())
            h.update(np.ascontiguousarray(s.facility_w).tobytes())
            h.update(np.array([s.busy_gpus, s.running, *s.queue_by_tenant],
                              dtype=np.int64).tobytes())
            h.update(np.float64(s.mean_util).tobytes())
            if s.site_busy is not None and s.site_util is not None:  # several sites
                h.update(np.asarray(s.site_busy, dtype=np.int64).tobytes())
                h.update(np.asarray(s.site_util, dtype=np.float64).tobytes())
        for e in self.energy:  # empty unless a site has an energy section
            h.update(e.to_bytes())
        for col in (self.infra_t, self.infra_kind, self.infra_subject, self.infra_value,
                    self.infra_label, self.infra_gpu_first, self.infra_gpu_last):
            h.update(np.asarray(col, dtype=np.float64 if col.typecode == "d"
                                else np.int64).tobytes())
        return h.hexdigest()
