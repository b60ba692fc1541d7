"""Target strings of planned events and live injections, resolved to GPU ids or a cable.

Naming scheme: ``KIND:PATH``, the path going down the hierarchy a person walks in a
datacenter — site, hall, rack, tray — with names as the scenario spells them (the site's
``name``, the hall's ``name``) and numbers counted from 0 within their parent, in the same
order as the topology graph and the dense index (:mod:`topologies.index`)::

    site:SITE                    every GPU of the site
    hall:SITE/HALL               every GPU of one hall
    rack:SITE/HALL/R             rack R of the hall (0 = the hall's first rack)
    domain:SITE/HALL/D           NVLink domain D of the hall (on GB200 NVL72: one rack)
    tray:SITE/HALL/R/T           compute tray T of rack R
    gpu:SITE/HALL/R/G            GPU G of rack R (0 .. GPUs per rack - 1)
    link:NAME                    the WAN cable NAME (cut and restored, not drained)

Site and hall names are matched exactly (case-sensitive), as in the scenario's tables.
A target that does not exist is a :class:`~emulator.errors.UserError` naming the field,
the value and what was expected (the valid range or names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emulator.errors import UserError, did_you_mean, short
from topologies.index import TopologyIndex

__all__ = ["KINDS", "Target", "covers", "domain_target", "event_label", "is_restore",
           "is_target", "label_target", "rack_target", "resolve_target"]

KINDS = ("site", "hall", "rack", "domain", "tray", "gpu", "link")
_DEPTH = {"site": 1, "hall": 2, "rack": 3, "domain": 3, "tray": 4, "gpu": 4}


@dataclass(frozen=True, eq=False)
class Target:
    """A resolved target: its canonical text and either its GPU ids or its cable name."""

    text: str
    kind: str
    gpus: np.ndarray  # sorted global GPU ids; empty for a link
    cable: str | None = None


def _span(sorted_ids: np.ndarray, value: int) -> tuple[int, int]:
    """``[first, end)`` positions of ``value`` in the sorted array ``sorted_ids``."""
    return (int(np.searchsorted(sorted_ids, value, "left")),
            int(np.searchsorted(sorted_ids, value, "right")))


def _number(text: str, what: str, count: int, field: str, value: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) >= count:
        raise UserError(f"{field}: {short(value)}: {what} {short(text)} does not exist; "
                        f"expected 0..{count - 1}")
    return int(text)


def resolve_target(value: str, index: TopologyIndex, cables: Sequence[str],
                   field: str = "target") -> Target:
    """Resolve ``value`` (see the module docstring) on ``index``; ``cables`` lists the
    scenario's WAN cable names. Raises :class:`UserError` for anything that does not exist.
    """
    kind, sep, path = value.partition(":")
    if not sep or kind not in KINDS:
        raise UserError(f"{field}: got {short(value)}; expected KIND:PATH with KIND one of "
                        f"{', '.join(KINDS)} (e.g. rack:SITE/HALL/3)")
    if kind == "link":
        if path not in cables:
            raise UserError(f"{field}: unknown cable {short(path)}{did_you_mean(path, cables)}; "
                            f"cables of this scenario: {', '.join(cables) or 'none'}")
        return Target(value, kind, np.empty(0, np.int64), cable=path)
    parts = path.split("/")
    if len(parts) != _DEPTH[kind] or not all(parts):
        form = {"site": "SITE", "hall": "SITE/HALL", "rack": "SITE/HALL/R",
                "domain": "SITE/HALL/D", "tray": "SITE/HALL/R/T", "gpu": "SITE/HALL/R/G"}
        raise UserError(f"{field}: got {short(value)}; expected {kind}:{form[kind]}")
    sites = list(index.site_names)
    if parts[0] not in sites:
        raise UserError(f"{field}: {short(value)}: unknown site {short(parts[0])}"
                        f"{did_you_mean(parts[0], sites)}; sites: {', '.join(sites)}")
    site = sites.index(parts[0])
    if kind == "site":
        lo, hi = _span(index.gpu_site, site)
        return Target(value, kind, np.arange(lo, hi, dtype=np.int64))
    halls = [h.split("/", 1)[1] for h in index.hall_names if h.split("/", 1)[0] == parts[0]]
    if parts[1] not in halls:
        raise UserError(f"{field}: {short(value)}: site {parts[0]} has no hall "
                        f"{short(parts[1])}{did_you_mean(parts[1], halls)}; halls: "
                        f"{', '.join(halls)}")
    hall = index.hall_names.index(f"{parts[0]}/{parts[1]}")
    rack_lo, rack_hi = _span(index.rack_hall, hall)
    if kind == "hall":
        return Target(value, kind, _gpus_of_racks(index, rack_lo, rack_hi))
    if kind == "domain":
        domain_hall = index.rack_hall[index.domain_rack]
        dom_lo, dom_hi = _span(domain_hall, hall)
        d = dom_lo + _number(parts[2], "NVLink domain", dom_hi - dom_lo, field, value)
        lo, hi = _span(index.gpu_domain, d)
        return Target(value, kind, np.arange(lo, hi, dtype=np.int64))
    rack = rack_lo + _number(parts[2], "rack", rack_hi - rack_lo, field, value)
    rack_gpus = _gpus_of_racks(index, rack, rack + 1)
    if kind == "rack":
        return Target(value, kind, rack_gpus)
    if kind == "gpu":
        g = _number(parts[3], "GPU", rack_gpus.size, field, value)
        return Target(value, kind, rack_gpus[g:g + 1])
    trays = np.unique(index.gpu_tray[rack_gpus])
    t = _number(parts[3], "tray", trays.size, field, value)
    return Target(value, kind, rack_gpus[index.gpu_tray[rack_gpus] == trays[t]])


def _gpus_of_racks(index: TopologyIndex, first: int, end: int) -> np.ndarray:
    """GPU ids of racks ``[first, end)`` (GPU ids are contiguous by rack)."""
    lo = int(np.searchsorted(index.gpu_rack, first, "left"))
    hi = int(np.searchsorted(index.gpu_rack, end, "left"))
    return np.arange(lo, hi, dtype=np.int64)


def rack_target(index: TopologyIndex, rack: int) -> str:
    """The target text of global rack id ``rack`` (``rack:SITE/HALL/R``)."""
    hall = int(index.rack_hall[rack])
    first = int(np.searchsorted(index.rack_hall, hall, "left"))
    return f"rack:{index.hall_names[hall]}/{rack - first}"


def domain_target(index: TopologyIndex, domain: int) -> str:
    """The target text of global NVLink domain id ``domain`` (``domain:SITE/HALL/D``)."""
    domain_hall = index.rack_hall[index.domain_rack]
    hall = int(domain_hall[domain])
    first = int(np.searchsorted(domain_hall, hall, "left"))
    return f"domain:{index.hall_names[hall]}/{domain - first}"


def event_label(action: str, target: str) -> str:
    """The infrastructure log's label of ``action`` applied to the target text ``target``
    (``"drain rack:S/H/3"``, ``"restore rack:S/H/3"``).

    The log has no column for a target, so readers that pair a drain with its end, or a
    failure with its restore, take the target back out with :func:`label_target`.
    """
    return f"{action} {target}"


def label_target(label: str) -> str | None:
    """The target text named by a label of :func:`event_label`; ``None`` for any other
    label (a failure class such as ``gpu``, an operator's free-text reason)."""
    action, sep, rest = label.partition(" ")
    return rest if sep and action and is_target(rest) else None


def is_restore(label: str) -> bool:
    """Whether ``label`` is an operator's restore of a target (``restore rack:S/H/3``,
    planned, live, or the end of a timed cap): everything holding the target's GPUs out
    ends there, unlike the end of one timed failure or drain (``fail rack:S/H/3``,
    ``drain rack:S/H/3``), which ends that window only."""
    return label.startswith("restore ") and label_target(label) is not None


def is_target(text: str) -> bool:
    """Whether ``text`` has the form of a target (``KIND:PATH``, KIND one of :data:`KINDS`);
    it is not resolved, so it may name something a scenario does not have."""
    kind, colon, path = text.partition(":")
    return bool(colon) and kind in KINDS and bool(path)


def covers(outer: str, inner: str) -> bool:
    """Whether the target ``outer`` holds every GPU of the target ``inner`` (by their
    texts): the same target, or a site, hall or rack above it (``rack:S/H/3`` holds
    ``tray:S/H/3/1`` and ``gpu:S/H/3/7``). A domain holds only itself: its number does not
    say which racks it spans on every system."""
    if outer == inner:
        return True
    o_kind, _, o_path = outer.partition(":")
    i_kind, _, i_path = inner.partition(":")
    if o_kind not in ("site", "hall", "rack") or i_kind not in _DEPTH:
        return False
    depth = _DEPTH[o_kind]
    i_parts = i_path.split("/")
    return _DEPTH[i_kind] > depth and i_parts[:depth] == o_path.split("/")
