"""Training datasets staged over the WAN, sharing link capacity with inference traffic.

A training job may name a dataset (``dataset: {size: 20TB, source: marseille}``). Once
its GPUs are allocated, it first copies the dataset from that place to its site over the
lowest-latency WAN path, and only then starts computing (the GPUs are held and idle
meanwhile, as in a real job's data-loading phase).

Capacity model: the path's capacity is its narrowest link (``capacity_bps`` of the WAN
edges, i.e. fibre pairs × rate × the site's share). Inference request traffic between the
same site and place, measured per serving window (prompt and output tokens at
``BYTES_PER_TOKEN`` plus ``REQUEST_OVERHEAD_BYTES`` per request), is served first; the rest
is shared equally by the transfers active on that path (processor sharing). Rates are
recomputed whenever a transfer starts or ends and after every serving window, so a cable
cut (which changes the path and its capacity) or a traffic surge takes effect at once. A
path with no capacity left stalls its transfers until capacity returns.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from topologies.wan import path_capacity_bps

__all__ = ["BYTES_PER_TOKEN", "REQUEST_OVERHEAD_BYTES", "Transfer", "TransferModel"]

BYTES_PER_TOKEN = 4.0
"""Bytes per token on the wire (UTF-8 text is about 4 characters per token)."""

REQUEST_OVERHEAD_BYTES = 2_000.0
"""HTTP/TLS framing and metadata per request and response, bytes (estimate)."""


@dataclass(eq=False)
class Transfer:
    """One dataset copy: bytes left, current rate (bit/s) and when that rate was set (s)."""

    work_id: int
    site: str
    place: str
    bytes_left: float
    rate_bps: float = 0.0
    since_s: float = 0.0


@dataclass
class TransferModel:
    """Active dataset transfers per (site, place) path and the request load on each path."""

    graph: nx.Graph
    active: dict[tuple[str, str], list[Transfer]] = field(
        default_factory=lambda: defaultdict(list))
    request_bps: dict[tuple[str, str], float] = field(default_factory=dict)
    moved_bytes: float = 0.0

    def start(self, work_id: int, site: str, place: str, size_bytes: float,
              now: float) -> list[Transfer]:
        """Begin a transfer; the transfers whose rate changed (including the new one)."""
        t = Transfer(work_id, site, place, float(size_bytes), 0.0, now)
        self.active[(site, place)].append(t)
        return self._rebalance((site, place), now)

    def finish(self, transfer: Transfer, now: float) -> list[Transfer]:
        """Remove a transfer (done or abandoned); the others on its path, re-rated."""
        key = (transfer.site, transfer.place)
        self._advance(key, now)
        self.active[key].remove(transfer)
        return self._rebalance(key, now)

    def set_request_load(self, loads: dict[tuple[str, str], float],
                         now: float) -> list[Transfer]:
        """New request traffic per path (bit/s); every active transfer is re-rated."""
        self.request_bps = dict(loads)
        changed: list[Transfer] = []
        for key in sorted(k for k, v in self.active.items() if v):
            changed.extend(self._rebalance(key, now))
        return changed

    def eta_s(self, transfer: Transfer) -> float:
        """Seconds to finish at the current rate (``inf`` while stalled)."""
        if transfer.bytes_left <= 0:
            return 0.0
        if transfer.rate_bps <= 0:
            return math.inf
        return transfer.bytes_left * 8.0 / transfer.rate_bps

    def _advance(self, key: tuple[str, str], now: float) -> None:
        for t in self.active[key]:
            done = t.rate_bps / 8.0 * (now - t.since_s)
            t.bytes_left -= done
            self.moved_bytes += done
            t.since_s = now

    def _rebalance(self, key: tuple[str, str], now: float) -> list[Transfer]:
        self._advance(key, now)
        transfers = self.active[key]
        if not transfers:
            return []
        try:
            capacity = path_capacity_bps(self.graph, key[0], key[1])
        except (KeyError, nx.NodeNotFound):
            capacity = 0.0
        if not math.isfinite(capacity):  # same node: no WAN hop at all
            capacity = 1e15
        spare = max(0.0, capacity - self.request_bps.get(key, 0.0))
        share = spare / len(transfers)
        for t in transfers:
            t.rate_bps = share
        return list(transfers)
