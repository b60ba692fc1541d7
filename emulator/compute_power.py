"""Rack, IT and facility power of the cluster from its GPUs' utilisation.

A mixin of :class:`emulator.compute.ComputeModel` (kept apart so each file has one
concern): the per-GPU and per-rack figures the power kernels need, set up once, and
:meth:`RackPower.power`, which turns per-GPU utilisation into rack watts, IT watts per
site (plus the fabric's switches) and facility watts per site (through the PUE and the
facility's load-independent part), recomputing on the numpy backend only the racks whose
GPUs changed since the last call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cupy_kernels.backend import Backend
from cupy_kernels.power import NODE_OVERHEAD_DRAW, facility_power, rack_power
from topologies.index import TopologyIndex

__all__ = ["RackPower"]


class RackPower:
    """Power of :class:`emulator.compute.ComputeModel`'s cluster (W)."""

    # provided by ComputeModel
    backend: Backend
    index: TopologyIndex
    _xp: Any
    _gpu_power: Callable[..., Any]

    def _init_power(self, backend: Backend, index: TopologyIndex,
                    site_design_w: Sequence[float] | np.ndarray | None) -> None:
        """The per-GPU and per-rack figures of the power kernels (see
        :meth:`ComputeModel.__init__` for ``site_design_w``)."""
        self._gpu_rack = backend.asarray(index.gpu_rack)
        sys_idle = np.array([s.gpu.idle_w for s in index.systems])
        sys_tdp = np.array([s.gpu.tdp_w for s in index.systems])
        gpu_system = index.rack_system[index.gpu_rack]
        self._gpu_idle = backend.asarray(sys_idle[gpu_system])
        self._gpu_tdp = backend.asarray(sys_tdp[gpu_system])
        # the non-GPU power racks draw: a fraction of the nameplate overheads (see
        # NODE_OVERHEAD_DRAW); the design power below keeps the nameplate
        self._rack_idle = backend.asarray(NODE_OVERHEAD_DRAW * np.array(
            [s.rack_overhead_idle_w for s in index.systems])[index.rack_system])
        self._rack_full = backend.asarray(NODE_OVERHEAD_DRAW * np.array(
            [s.rack_overhead_full_w for s in index.systems])[index.rack_system])
        self._rack_gpus = np.bincount(index.gpu_rack, minlength=index.n_racks).astype(float)
        rack_full = (np.array([s.rack_full_w for s in index.systems])[index.rack_system]
                     if index.n_racks else np.zeros(0))
        racks_design = np.bincount(index.rack_site, weights=rack_full,
                                   minlength=len(index.site_names))
        if site_design_w is not None:
            design = np.asarray(site_design_w, dtype=float)
            if design.shape != racks_design.shape:
                raise ValueError(f"site_design_w: got {design.size} values; expected one "
                                 f"per site ({racks_design.size})")
            racks_design = design
        self._site_design_w = backend.asarray(racks_design)
        self._rack_gpus_dev = backend.asarray(np.maximum(self._rack_gpus, 1.0))
        # Per-rack figures of the last power() call, kept so that a call naming the racks
        # whose GPUs changed recomputes only those (host arrays; numpy backend only).
        self._rack_w: np.ndarray | None = None
        self.rack_util_last: np.ndarray | None = None
        """Mean GPU utilisation per rack (0..1) at the last :meth:`power` call that passed
        ``dirty`` (host)."""
        self._rack_first = np.searchsorted(index.gpu_rack, np.arange(index.n_racks))
        self._racks_contiguous = bool(np.all(np.diff(index.gpu_rack) >= 0))

    def gpu_overhead_w(self) -> np.ndarray:
        """Per GPU (host, W): the drawn rack overhead that follows that GPU's utilisation
        from 0 to 1, ``(overhead full − overhead idle) / GPUs in its rack`` (the rack's
        overhead is interpolated by its GPUs' mean utilisation in :meth:`power`)."""
        b = self.backend
        slope = ((b.to_host(self._rack_full) - b.to_host(self._rack_idle))
                 / np.maximum(self._rack_gpus, 1.0))
        return np.asarray(slope, dtype=float)[self.index.gpu_rack]

    def _racks_of(self, xp: Any, util: Any, gpu_w: Any, rack_of: Any, n: int,
                  rack_gpus: Any, energised: Any) -> tuple[Any, Any]:
        """(rack W, rack mean utilisation) of the GPUs given (``rack_of``: their racks).

        ``energised`` (1.0/0.0 per GPU given, or ``None``: all powered) removes the draw
        of GPUs without power and their share of their rack's non-GPU power: a rack's
        overhead is split evenly over its GPUs' trays, so with a fraction ``e`` of its
        GPUs powered it draws ``e·idle + (full − idle)·util`` (``util`` counting unpowered
        GPUs as idle), 0 W for a rack without power."""
        if energised is None:
            rack_util = xp.bincount(rack_of, weights=util, minlength=n) / rack_gpus
            return rack_power(xp, gpu_w, rack_of, n, self._rack_idle, self._rack_full,
                              rack_util), rack_util
        util = util * energised
        gpu_w = gpu_w * energised
        rack_util = xp.bincount(rack_of, weights=util, minlength=n) / rack_gpus
        powered = xp.bincount(rack_of, weights=energised, minlength=n) / rack_gpus
        idle = self._rack_idle * powered
        full = self._rack_full - self._rack_idle * (1.0 - powered)
        return rack_power(xp, gpu_w, rack_of, n, idle, full, rack_util), rack_util

    def _racks_changed(self, gpu_util: np.ndarray, dirty: np.ndarray,
                       energised: np.ndarray | None) -> np.ndarray:
        """Recompute the cached per-rack power and utilisation of the racks in ``dirty``
        (their GPUs summed in the same order as a full pass) and clear it; all racks' W."""
        assert self._rack_w is not None and self.rack_util_last is not None
        changed = np.flatnonzero(dirty)
        if changed.size:
            first = self._rack_first[changed]
            counts = self._rack_gpus[changed].astype(np.int64)
            # the GPU ids of the changed racks, rack by rack, ascending
            offsets = np.repeat(first - np.cumsum(counts) + counts, counts)
            gpus = offsets + np.arange(int(counts.sum()))
            util = gpu_util[gpus]
            gpu_w = self._gpu_power(np, util, self._gpu_idle[gpus], self._gpu_tdp[gpus])
            racks, rack_util = self._racks_of(
                np, util, gpu_w, self._gpu_rack[gpus], self.index.n_racks,
                self._rack_gpus_dev, None if energised is None else energised[gpus])
            self._rack_w[changed] = racks[changed]
            self.rack_util_last[changed] = rack_util[changed]
            dirty[changed] = False
        return self._rack_w.copy()

    def power(self, gpu_util: np.ndarray, pue: np.ndarray, fabric_w: np.ndarray,
              dirty: np.ndarray | None = None, energised: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rack W, IT W per site, facility W per site) for per-GPU utilisation ``gpu_util``.

        ``dirty``, a boolean mask over racks, names the racks whose GPUs' utilisation
        changed since the last call that passed it: on the numpy backend only those racks
        are recomputed (the same arithmetic per rack, so the same figures; a sample then
        costs what changed, not the size of the cluster), and the mask is cleared.
        ``None`` recomputes every rack and leaves the kept figures alone (any
        ``gpu_util`` may then be passed). ``energised`` (per GPU, 1.0 powered, 0.0
        without power: :attr:`Core.energised`) takes the GPUs of failed racks, feeds and
        trays and their share of the rack overhead out of the draw; ``None``: every GPU
        has power (a change of it must mark its racks in ``dirty``).
        """
        b, xp = self.backend, self._xp
        if (dirty is not None and self._rack_w is not None and xp is np
                and self._racks_contiguous):
            racks_host = self._racks_changed(gpu_util, dirty, energised)
        else:
            util = b.asarray(gpu_util)
            gpu_w = self._gpu_power(xp, util, self._gpu_idle, self._gpu_tdp)
            racks, rack_util = self._racks_of(
                xp, util, gpu_w, self._gpu_rack, self.index.n_racks, self._rack_gpus_dev,
                None if energised is None else b.asarray(energised))
            racks_host = b.to_host(racks)
            if dirty is not None:  # the caller keeps the mask: keep the figures with it
                self._rack_w = racks_host.copy()
                self.rack_util_last = b.to_host(rack_util)
                dirty[:] = False
        it = np.bincount(self.index.rack_site, weights=racks_host,
                         minlength=len(self.index.site_names)) + fabric_w
        fac = b.to_host(facility_power(xp, b.asarray(it), b.asarray(pue), self._site_design_w))
        return racks_host, it, fac
