"""The plots of ``gpuemu compare`` and what names them: one JCT CDF and one time series per
grid point.

With a ``--set`` grid, every plot says which point it shows, in its title and its file
name, by the keys that vary across the grid only, each shortened to the end of its path
that tells it from the others (``tenants.emea-research.training.0.checkpoint_interval``
→ ``checkpoint_interval``): ``timeseries_2_checkpoint_interval=1h_spares=0.png`` (only
the values, ``timeseries_2_1h_0.png``, where the keys would make the name long), titled
``… (checkpoint_interval=1h, spares=0)``. ``compare.md`` and ``compare.json`` list the
files of each point (:func:`plot_index`) with the full keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.compare import CompareResult
from emulator.outputs import Writer
from emulator.sweep import GridPoint

__all__ = ["PLOTS", "PointPlots", "plot_files", "plot_index", "plots_markdown", "short_keys"]

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._=+-]+")
_MAX_SLUG = 48
"""Characters of a point's caption kept in a file name (the index keeps names unique)."""

PLOTS = ("jct_cdf", "timeseries")
"""The plots of each point, by file-name stem."""


@dataclass(frozen=True)
class PointPlots:
    """One grid point's plots: its caption (short keys) and its files' names."""

    point: GridPoint
    caption: str
    files: dict[str, str]
    """Plot kind (``jct_cdf``, ``timeseries``) → file name."""


def _tail(key: str, parts: int) -> str:
    return ".".join(key.split(".")[-parts:])


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key → its shortest end that no other key ends with (``spares``,
    ``eu.inference.0.rate`` beside ``lab.inference.0.rate``); an end that starts with a
    list index takes the field before it too (``training.0``, not ``0``)."""
    short = {}
    for key in keys:
        depth = key.count(".") + 1
        parts = 1
        while parts < depth and (
                _tail(key, parts).split(".")[0].isdigit()
                or any(_tail(other, parts) == _tail(key, parts)
                       for other in keys if other != key)):
            parts += 1
        short[key] = _tail(key, parts)
    return short


def _caption(point: GridPoint, names: dict[str, str]) -> str:
    return ", ".join(f"{names[k]}={v}" for k, v in point.values.items())


def _safe(text: str) -> str:
    """``text`` with each run of characters unsafe in a file name as one ``-``, none at
    either end unless ``text`` has it there (``7/d`` → ``7-d``, ``'[8, 16]'`` → ``8-16``,
    ``-1`` stays)."""
    return "-".join(part for part in _NAME_CHARS.split(text) if part)


def _slugs(points: Sequence[GridPoint], names: dict[str, str]) -> list[str]:
    """Each point in a file name: ``key=value`` pairs joined by ``_``; only the values
    (for every point alike) when a point's pairs are longer than :data:`_MAX_SLUG`, cut
    there when even they are."""
    pairs = ["_".join(f"{_safe(names[k])}={_safe(v)}" for k, v in pt.values.items())
             for pt in points]
    if max(map(len, pairs), default=0) <= _MAX_SLUG:
        return pairs
    return ["_".join(_safe(v) for v in pt.values.values())[:_MAX_SLUG].rstrip("-_.")
            for pt in points]


def plot_index(result: CompareResult) -> list[PointPlots]:
    """The plots of every grid point, in grid order: ``jct_cdf.png`` and
    ``timeseries.png`` with one point, else ``KIND_<i>_<caption>.png``."""
    if len(result.points) == 1:
        return [PointPlots(result.points[0], "", {k: f"{k}.png" for k in PLOTS})]
    keys = list(dict.fromkeys(k for pt in result.points for k in pt.values))
    names = short_keys(keys)
    out = []
    for i, (point, slug) in enumerate(zip(result.points, _slugs(result.points, names),
                                          strict=True)):
        stem = f"_{i}_{slug}" if slug else f"_{i}"
        out.append(PointPlots(point, _caption(point, names),
                              {k: f"{k}{stem}.png" for k in PLOTS}))
    return out


def _links(entry: PointPlots) -> str:
    return ", ".join(f"[{name}]({name})" for name in entry.files.values())


def plots_markdown(index: list[PointPlots]) -> str:
    """The Markdown section that says which grid point each plot shows."""
    if len(index) == 1:
        return f"## Plots\n\n{_links(index[0])}: all seeds (JCTs pooled, time series mean).\n"
    lines = ["## Plots", "", "One JCT CDF and one time series per grid point:", ""]
    lines += [f"- {entry.caption}: {_links(entry)}" for entry in index]
    keys = dict.fromkeys(k for entry in index for k in entry.point.values)
    names = short_keys(list(keys))
    lines += ["", "Keys: " + "; ".join(f"`{names[k]}` = `{k}`" for k in keys) + "."]
    return "\n".join(lines) + "\n"


def _jcts(result: CompareResult, label: str) -> dict[str, np.ndarray]:
    runs = [r for r in result.runs if r.point == label]
    return {p: np.concatenate([r.jct_s for r in runs if r.policy == p] or [np.empty(0)])
            for p in result.policies}


def _series(result: CompareResult, label: str) -> dict[str, tuple[Any, Any, Any]]:
    """Policy → (t_s, mean busy fraction, mean queue length) over the seeds' runs."""
    series = {}
    for p in result.policies:
        mine = [r for r in result.runs if r.point == label and r.policy == p and r.t_s.size]
        if mine:
            n = min(r.t_s.size for r in mine)
            series[p] = (mine[0].t_s[:n],
                         np.mean([r.busy_frac[:n] for r in mine], axis=0),
                         np.mean([r.queued[:n] for r in mine], axis=0))
    return series


def plot_files(result: CompareResult, index: list[PointPlots]) -> dict[str, Writer]:
    """File name → writer of every plot in ``index``."""
    from emulator.plots import plot_jct_cdf, plot_timeseries

    files: dict[str, Writer] = {}
    for entry in index:
        label = entry.point.label
        where = f"\n({entry.caption})" if entry.caption else ""
        jcts, series = _jcts(result, label), _series(result, label)
        files[entry.files["jct_cdf"]] = (
            lambda p, j=jcts, t=where: plot_jct_cdf(j, p, f"JCT of finished training jobs{t}"))
        files[entry.files["timeseries"]] = (
            lambda p, s=series, t=where: plot_timeseries(
                s, p, f"GPU allocation and queue, mean over seeds{t}"))
    return files
