"""Where and when work ran, and when infrastructure was down, from a run's tables.

:func:`job_segments` pairs each ``start`` in the events table with the event that closed
that run (the work's next ``preempt``, ``interrupt`` (a failure), ``finish``, ``lost`` (a
serving replica lost to a failure), or a ``truncate`` while it held GPUs; the same rule
as :func:`emulator.tables.runs`)
and spreads it over the NVLink domains the placements table gives for that start: one
segment per (run, domain). :func:`outages` pairs infrastructure events into intervals
(a cable cut with its repair, GPUs taken down with their return, a drain with its end)
by what they act on, open intervals ending at the horizon; only failures that take GPUs
out of service count, as in the summary; a sampled failure ends at its repair or at an
operator's earlier restore of a target holding its GPUs, by the rule the failure summary
uses (:mod:`emulator.failure_pairs`). Both read only the tables a run writes.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from emulator.failure_pairs import FAILURE, OTHER, REPAIR, RESTORE, ended_by
from emulator.report.rundata import Columns, RunData
from emulator.targets import covers, is_restore, is_target, label_target
from topologies.reliability import COMPONENTS, effect_of

__all__ = ["Outage", "Segments", "job_segments", "lanes", "outages"]


@dataclass(frozen=True)
class Segments:
    """One row per (run of a work, NVLink domain): times in s, GPUs held in the domain."""

    work_id: np.ndarray
    domain: np.ndarray
    gpus: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray

    @property
    def size(self) -> int:
        """Number of segments."""
        return int(self.work_id.size)


def _run_ends(events: Columns, horizon_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start row order, work id, end time) of every run, starts in log order."""
    kind = events["event"]
    work = events["work_id"].astype(np.int64)
    t = events["t_s"].astype(np.float64)
    starts = np.flatnonzero(kind == "start")
    if starts.size == 0:
        return starts, starts, np.empty(0)
    n = int(work.max()) + 1
    n_start = np.bincount(work[starts], minlength=n)
    # A preemption or an interruption stops a run that the work may start again; a
    # finish or a loss ends the work; a truncation closes a run only if one is open.
    stops = (kind == "preempt") | (kind == "interrupt")
    n_stop = np.bincount(work[stops], minlength=n)
    trunc = np.flatnonzero(kind == "truncate")
    trunc_open = trunc[n_start[work[trunc]] > n_stop[work[trunc]]]
    closes = np.sort(np.concatenate([np.flatnonzero(stops | (kind == "finish")
                                                    | (kind == "lost")), trunc_open]))
    s_order = starts[np.argsort(work[starts], kind="stable")]
    c_order = closes[np.argsort(work[closes], kind="stable")]
    ends = np.full(starts.size, horizon_s)
    # Pair the k-th start of a work with its k-th close; a run never closed ends at the
    # horizon (a partial run's folder).
    pos_in_start = np.searchsorted(starts, s_order)  # s_order[j] is starts[pos_in_start[j]]
    rank_s = _rank_within(work[s_order])
    rank_c = _rank_within(work[c_order])
    key_c = {(int(w), int(r)): i for i, (w, r) in enumerate(zip(work[c_order], rank_c,
                                                                 strict=True))}
    for j, (w, r) in enumerate(zip(work[s_order].tolist(), rank_s.tolist(), strict=True)):
        i = key_c.get((w, r))
        if i is not None:
            ends[pos_in_start[j]] = t[c_order[i]]
    return starts, work[starts], ends


def _rank_within(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each run of equal values of an already sorted key array."""
    if sorted_keys.size == 0:
        return sorted_keys
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    idx = np.arange(sorted_keys.size)
    return idx - np.maximum.accumulate(np.where(first, idx, 0))


def job_segments(data: RunData) -> Segments:
    """Every run of every work on every NVLink domain it held (see the module notes)."""
    events = data.columns("events", ["t_s", "event", "work_id"])
    place = data.columns("placements", ["t_s", "work_id", "domain", "gpus"])
    empty = np.empty(0)
    if not events or not place or place["work_id"].size == 0:
        return Segments(empty.astype(np.int64), empty.astype(np.int64),
                        empty.astype(np.int64), empty, empty)
    starts, start_work, ends = _run_ends(events, data.horizon_s)
    pw, pt = place["work_id"].astype(np.int64), place["t_s"].astype(np.float64)
    # Placement rows come grouped by start, in start order: a new group where the work
    # or the time changes.
    new_group = np.r_[True, (pw[1:] != pw[:-1]) | (pt[1:] != pt[:-1])]
    group = np.cumsum(new_group) - 1
    n_groups = int(group[-1]) + 1
    if n_groups != starts.size or not np.array_equal(pw[new_group], start_work):
        raise ValueError(f"placements: {n_groups} placed starts do not match the "
                         f"{starts.size} start events; the run's tables do not belong together")
    return Segments(work_id=pw, domain=place["domain"].astype(np.int64),
                    gpus=place["gpus"].astype(np.int64), start_s=pt,
                    end_s=ends[group])


def lanes(domain: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Lane of each segment so that segments on one (domain, lane) never overlap.

    Work sharing an NVLink domain at the same time goes on separate lanes (the Perfetto
    trace's tracks, the Gantt chart's rows), so no bar hides another. Greedy by start
    time, reusing the lane that freed first: a domain gets as many lanes as it ever
    held runs at once.
    """
    lane = np.zeros(domain.size, dtype=np.int64)
    order = np.lexsort((start, domain))
    free: dict[int, list[tuple[float, int]]] = {}  # domain → heap of (end, lane)
    count: dict[int, int] = {}
    for i in order.tolist():
        d = int(domain[i])
        heap = free.setdefault(d, [])
        if heap and heap[0][0] <= start[i]:
            _, k = heapq.heappop(heap)
        else:
            k = count.get(d, 0)
            count[d] = k + 1
        lane[i] = k
        heapq.heappush(heap, (float(end[i]), k))
    return lane


@dataclass(frozen=True)
class Outage:
    """A time interval of a failure, cable cut or maintenance (s); ``kind`` names it."""

    kind: str  # "cable" or "gpus"
    label: str
    start_s: float
    end_s: float
    value: float  # GPUs down (``gpus``), NaN for cables


_OPENS = {"cable_cut": "cable", "gpus_down": "gpus", "failure": "gpus", "drain": "maintenance"}
_CLOSES = {"cable_repair": "cable", "gpus_up": "gpus", "repair": "gpus",
           "undrain": "maintenance"}
_SPARED = frozenset(c for c, name in enumerate(COMPONENTS) if effect_of(name) != "down")
"""Failure class codes that take no GPU out of service (a software fault restarts its
work; a NIC or a switch cuts the scale-out network; a spine shrinks bandwidth)."""


def _takes_gpus_down(event: str, subject: int) -> bool:
    """Whether an infra row of a failure or repair concerns GPUs out of service: every
    ``gpus_down``/``gpus_up``, and failures of a class whose effect is ``down`` or of no
    class (code -1: an injection), as the summary's ``outages`` counts them."""
    return event not in ("failure", "repair") or subject not in _SPARED


def _key(label: str) -> str:
    """What an infra row acts on: the target of a planned or live event (``drain
    rack:S/H/3`` and ``restore rack:S/H/3`` both act on ``rack:S/H/3``), else the label
    itself (a failure class, a cable, an operator's reason)."""
    return label_target(label) or label


@dataclass(frozen=True)
class _Span:
    """An open span: its start (s), its GPUs (or NaN) and the GPU ids it struck, lowest
    and highest (-1: not logged, a run folder of an earlier version)."""

    start_s: float
    value: float
    gpu_first: int = -1
    gpu_last: int = -1

    def inside(self, first: int, last: int) -> bool:
        """Whether every GPU of the span lies in ``first .. last`` (both known)."""
        return 0 <= first <= self.gpu_first and 0 <= self.gpu_last <= last


class _OpenSpans:
    """Spans opened and not yet closed, per (group, key), oldest first."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], list[_Span]] = {}
        self.cuts: dict[str, int] = {}  # cable → cuts logged and not yet repaired

    def start(self, group: str, key: str, span: _Span) -> None:
        """Open a span; a cable already cut stays one span until every cut of it is
        repaired (as the WAN keeps it cut: two overlapping cut windows, a planned cut
        beside a sampled one)."""
        spans = self.open.setdefault((group, key), [])
        if group == "cable":
            self.cuts[key] = self.cuts.get(key, 0) + 1
        if group != "cable" or not spans:
            spans.append(span)

    def close(self, group: str, key: str, first: int = -1, last: int = -1, *,
              restore: bool = False) -> list[tuple[str, _Span]]:
        """Close what a repair or restore row ends. Returns (key, span) of each closed.

        A ``restore`` of a target (an operator's; in a folder of an earlier version also
        the end of a timed drain, then logged as a restore) ends every
        span on that target, on a target inside it, and, where the log says which GPUs
        each struck (``first .. last``), every span whose GPUs lie inside the target's:
        a sampled failure, keyed by its class, that the restore ended. Any other row (a
        sampled repair, keyed by its class; the end of one timed failure or drain of a
        target, logged under its ``fail``/``drain`` label; a cable) closes the oldest span
        on exactly ``key`` — the one on the same GPUs when
        the log gives them, none if a restore already closed it (in a folder of an
        earlier version, failing that, for a target, the spans on targets inside it).
        """
        if group == "cable":  # repaired only when its last cut is
            left = self.cuts.get(key, 0) - 1
            self.cuts[key] = max(left, 0)
            spans = self.open.get((group, key))
            return [(key, spans.pop(0))] if left <= 0 and spans else []
        if not restore:
            spans = self.open.get((group, key))
            if not spans:
                # (a folder of an earlier version: a target's spans inside it)
                return self._inside(group, key, -1, -1) if is_target(key) and first < 0 else []
            if first < 0:
                return [(key, spans.pop(0))]
            at = next((i for i, sp in enumerate(spans)
                       if (sp.gpu_first, sp.gpu_last) == (first, last)), None)
            if at is None:
                # not logged where (an earlier version's folder): the oldest on the key
                at = 0 if all(sp.gpu_first < 0 for sp in spans) else None
            return [] if at is None else [(key, spans.pop(at))]
        return self._inside(group, key, first, last)

    def _inside(self, group: str, key: str, first: int, last: int) -> list[tuple[str, _Span]]:
        """Close every span on target ``key``, on a target inside it, or (GPUs known) on
        GPUs inside ``first .. last``."""
        closed = []
        for (g, inner), spans in self.open.items():
            if g != group or not spans:
                continue
            whole = inner == key or (is_target(key) and is_target(inner)
                                     and covers(key, inner))
            keep = []
            for sp in spans:
                if whole or sp.inside(first, last):
                    closed.append((inner, sp))
                else:
                    keep.append(sp)
            spans[:] = keep
        return closed


def _outage(group: str, key: str, start_s: float, end_s: float, value: float) -> Outage:
    if group == "cable":
        return Outage("cable", key, start_s, end_s, float("nan"))
    label = f"maintenance: {key}" if group == "maintenance" else key
    return Outage("gpus", label, start_s, end_s, value)


def _sampled(event: np.ndarray, subject: np.ndarray, label: np.ndarray,
             first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each infra row's role for :mod:`emulator.failure_pairs`, as the failure summary
    gives it: a sampled failure or repair of a class that takes GPUs out of service, or
    an operator's restore of a target whose GPUs the log gives; whether the row is a
    sampled failure's or repair's, paired there and not by :class:`_OpenSpans`)."""
    sampled = np.isin(event, ("failure", "repair")) & (subject >= 0) & ~np.isin(
        subject, list(_SPARED))
    restore = (event == "repair") & (subject == -1) & (first >= 0)
    restore[restore] = [is_restore(str(x or "")) for x in label[restore].tolist()]
    role = np.select([sampled & (event == "failure"), sampled & (event == "repair"),
                      restore], [FAILURE, REPAIR, RESTORE], OTHER)
    return role, sampled


def outages(data: RunData) -> list[Outage]:
    """Cable cuts (until repaired), GPUs down or failed (until back or repaired) and drains
    (maintenance, until undrained), from the infra table; open intervals end at the
    horizon.

    Spans pair by what they act on (:func:`_key`), never by the whole label: a drain is
    logged as ``drain rack:…`` and its end as ``restore rack:…``. A sampled failure is
    paired by :mod:`emulator.failure_pairs`, the rule the failure summary's GPU-hours down
    use: with the repair of the same class on the same GPUs (the table's
    ``gpu_first``/``gpu_last``), or an operator's earlier restore of a target whose GPUs
    hold its own. A failure that takes no GPU out of service (software, NIC, switch,
    spine) is no outage here, as in the summary's ``outages``; those classes log no
    repair of GPUs, or none that matters.
    """
    infra = data.columns("infra", ["t_s", "event", "subject", "value", "label", "gpu_first",
                                   "gpu_last"])
    if not infra:
        return []
    n = infra["t_s"].size
    subject = np.asarray(infra.get("subject", np.full(n, -1)), dtype=np.int64)
    first = np.asarray(infra.get("gpu_first", np.full(n, -1)), dtype=np.int64)  # absent in
    last = np.asarray(infra.get("gpu_last", np.full(n, -1)), dtype=np.int64)  # old folders
    event = np.asarray(infra["event"], dtype=object)
    label = np.asarray(infra["label"], dtype=object)
    end = data.horizon_s
    role, sampled = _sampled(event, subject, label, first)
    by = ended_by(role, subject, first, last)
    closing: list[tuple[int, Outage]] = []  # (the row that ended it, or n: open at the end)
    t_s = infra["t_s"].tolist()
    for row in np.flatnonzero(role == FAILURE).tolist():
        closer = int(by[row])
        closing.append((closer if closer >= 0 else n, _outage(
            "gpus", _key(str(label[row] or "")), t_s[row], t_s[closer] if closer >= 0 else end,
            float(infra["value"][row]))))
    spans = _OpenSpans()
    for i, (t, kind, code, value, text, lo, hi) in enumerate(zip(
            t_s, event.tolist(), subject.tolist(), infra["value"].tolist(), label.tolist(),
            first.tolist(), last.tolist(), strict=True)):
        if sampled[i] or not _takes_gpus_down(kind, int(code)):
            continue
        key = _key(str(text or ""))
        lo, hi = int(lo), int(hi)
        if kind in _OPENS:
            spans.start(_OPENS[kind], key, _Span(t, value, lo, hi))
        elif kind in _CLOSES:
            group = _CLOSES[kind]
            restore = is_restore(str(text or ""))
            closing += [(i, _outage(group, k, sp.start_s, t, sp.value))
                        for k, sp in spans.close(group, key, lo, hi, restore=restore)]
    closing += [(n, _outage(group, key, sp.start_s, end, sp.value))
                for (group, key), open_ in spans.open.items() for sp in open_]
    closing.sort(key=lambda c: c[0])  # stable: the order they closed, as they were found
    return sorted((o for _, o in closing), key=lambda o: (o.start_s, o.kind, o.label))
