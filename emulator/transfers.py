"""Training datasets staged over the WAN, sharing link capacity with inference traffic.

A training job may name a dataset (``dataset: {size: 20TB, source: marseille}``). Once
its GPUs are allocated, it first copies the dataset from that place to its site over the
lowest-latency WAN path, and only then starts computing (the GPUs are held and idle
meanwhile, as in a real job's data-loading phase).

Capacity model: each transfer and each request stream takes the lowest-latency WAN path
between its site and place; every link of it has ``capacity_bps`` (fibre pairs × rate ×
the site's share). Inference request traffic, measured per serving window (prompt and
output tokens at ``BYTES_PER_TOKEN`` plus ``REQUEST_OVERHEAD_BYTES`` per request), is
served first on every link it crosses; the rest of each link is shared by the transfers
crossing it, max-min fair (progressive filling): transfers on one path share it equally,
and transfers of different paths that meet on a link (a site reached through another
site's gateway) together never get more than that link carries. Rates are recomputed
whenever a transfer starts or ends and after every serving window, so a cable cut (which
changes the paths and their capacity) or a traffic surge takes effect at once. A path
with no capacity left stalls its transfers until capacity returns.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import networkx as nx

from topologies.wan import path_links

__all__ = ["BYTES_PER_TOKEN", "REQUEST_OVERHEAD_BYTES", "Transfer", "TransferModel"]

BYTES_PER_TOKEN = 4.0
"""Bytes per token on the wire (UTF-8 text is about 4 characters per token)."""

REQUEST_OVERHEAD_BYTES = 2_000.0
"""HTTP/TLS framing and metadata per request and response, bytes (estimate)."""

LOCAL_BPS = 1e15
"""Rate (bit/s) a path with no WAN hop (the dataset is at the site) offers its transfers."""


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
        """Remove a transfer (done or abandoned); the others re-rated (those that changed)."""
        key = (transfer.site, transfer.place)
        self._advance(now)
        self.active[key].remove(transfer)
        return self._rebalance(key, now)

    def set_request_load(self, loads: dict[tuple[str, str], float],
                         now: float) -> list[Transfer]:
        """New request traffic per path (bit/s); every active transfer is re-rated."""
        self.request_bps = dict(loads)
        return self._rebalance(None, now)

    def eta_s(self, transfer: Transfer) -> float:
        """Seconds to finish at the current rate (``inf`` while stalled)."""
        if transfer.bytes_left <= 0:
            return 0.0
        if transfer.rate_bps <= 0:
            return math.inf
        return transfer.bytes_left * 8.0 / transfer.rate_bps

    def _advance(self, now: float) -> None:
        """Move every active transfer's bytes on to ``now`` (s) at its current rate."""
        for key in sorted(self.active):
            for t in self.active[key]:
                done = t.rate_bps / 8.0 * (now - t.since_s)
                t.bytes_left -= done
                self.moved_bytes += done
                t.since_s = now

    def _links(self, key: tuple[str, str]) -> list[frozenset[Hashable]] | None:
        """The links of ``key``'s path (empty: same node), ``None`` when unreachable."""
        try:
            return path_links(self.graph, key[0], key[1])
        except (KeyError, nx.NodeNotFound):
            return None

    def _rebalance(self, key: tuple[str, str] | None, now: float) -> list[Transfer]:
        """Re-rate every active transfer (max-min fair over links); returns the transfers
        of ``key`` (every one when ``None``) and any other whose rate changed."""
        self._advance(now)
        paths = {k: self._links(k) for k in sorted(self.active) if self.active[k]}
        if not paths:
            return []
        spare: dict[frozenset[Hashable], float] = {}
        for links in paths.values():
            for link in links or ():
                if link not in spare:
                    spare[link] = _link_capacity(self.graph, link)
        for k, load in sorted(self.request_bps.items()):
            if load <= 0:
                continue
            links = paths[k] if k in paths else self._links(k)
            for link in links or ():
                if link in spare:
                    spare[link] = max(0.0, spare[link] - load)
        rates = _max_min_rates(paths, spare,
                               {k: len(self.active[k]) for k in paths})
        changed: list[Transfer] = []
        for k in paths:
            for t in self.active[k]:
                if key is None or k == key or t.rate_bps != rates[k]:
                    changed.append(t)
                t.rate_bps = rates[k]
        return changed


def _link_capacity(graph: nx.Graph, link: frozenset[Hashable]) -> float:
    """Capacity (bit/s) of the WAN edge ``link``."""
    a, b = tuple(link)
    return float(graph.edges[a, b]["capacity_bps"])


def _max_min_rates(paths: dict[tuple[str, str], list[frozenset[Hashable]] | None],
                   spare: dict[frozenset[Hashable], float],
                   counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], float]:
    """Rate (bit/s) of each transfer of each path, max-min fair over the links' ``spare``
    capacity: the link with the smallest equal share fixes the rate of every transfer
    crossing it, which leaves that link and moves on (progressive filling). A path with
    no link (site and place are one node) runs at ``LOCAL_BPS``; an unreachable one at 0."""
    rates: dict[tuple[str, str], float] = {}
    left = dict(spare)
    open_paths: dict[tuple[str, str], list[frozenset[Hashable]]] = {}
    for k, links in paths.items():
        if links is None:
            rates[k] = 0.0
        elif not links:
            rates[k] = LOCAL_BPS / counts[k]
        else:
            open_paths[k] = links
    while open_paths:
        crossing: dict[frozenset[Hashable], int] = defaultdict(int)
        for k, links in open_paths.items():
            for link in links:
                crossing[link] += counts[k]
        link = min(crossing, key=lambda x: (left[x] / crossing[x], sorted(map(str, x))))
        share = left[link] / crossing[link]
        for k in sorted(k for k, links in open_paths.items() if link in links):
            rates[k] = share
            for other in open_paths.pop(k):
                left[other] = max(0.0, left[other] - share * counts[k])
    return rates
