"""What failed hardware draws: a failed rack, feed or tray draws 0 W until it is back
(``topologies.reliability.POWER_LOSS``); a failed GPU stays at its idle draw."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cupy_kernels.power import NODE_OVERHEAD_DRAW
from emulator.build import Simulation, build
from emulator.loader import validate_scenario
from emulator.results import collect
from tests.conftest import small_scenario
from topologies.catalog import CATALOG

AT, FOR = 3600.0, 7200.0  # failure at 1 h, repaired 2 h later
RACK = 3  # the last of the 4 racks: the quiet scenario's work is packed onto rack 0
GB200 = CATALOG["gb200-nvl72"]
RACK_IDLE_W = 72 * GB200.gpu.idle_w + NODE_OVERHEAD_DRAW * GB200.rack_overhead_idle_w


def _quiet(**changes: Any) -> dict[str, Any]:
    """4 racks, 4 h, one serving replica and (almost) no training."""
    data = small_scenario(duration="4h", **changes)
    data["tenants"]["lab"]["training"][0]["rate"] = "0.001/d"
    data["tenants"]["eu"]["inference"][0]["replicas"] = 1
    return data


def _run(data: dict[str, Any], failures: list[tuple[float, str, slice, float]]
         ) -> Simulation:
    """Run ``data``, injecting each (time s, class, slice of rack 3's GPUs, repair s)."""
    sim = build(validate_scenario(data))
    rack = np.flatnonzero(sim.index.gpu_rack == RACK)

    def hook(s: Simulation) -> None:
        for at, cause, part, repair in failures:
            if s.env.now == at:
                s.engine.failures.inject(rack[part], cause, repair)

    sim.run(on_progress=hook, step_s=600.0)
    return sim


def _it(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    t = np.array([s.t for s in sim.log.samples])
    return t, np.array([s.it_w[0] for s in sim.log.samples])


@pytest.fixture(scope="module")
def base() -> Simulation:
    return _run(_quiet(), [])


@pytest.mark.parametrize("cause", ["rack", "pdu"])
def test_a_failed_rack_draws_nothing_for_its_downtime(base: Simulation, cause: str) -> None:
    """A rack whose power shelf, CDU or feed failed draws 0 W: IT power falls by the
    rack's whole idle draw (GPUs and non-GPU power: 22.26 kW for a GB200 NVL72) from the
    failure to the repair, and IT and facility energy fall by that times the downtime
    (facility: × PUE less its fixed part, which the site pays whatever the load)."""
    sim = _run(_quiet(), [(AT, cause, slice(None), FOR)])
    t, it = _it(sim)
    _t, it0 = _it(base)
    down = (t >= AT) & (t < AT + FOR)
    assert down.sum() == 12
    np.testing.assert_allclose((it0 - it)[down], RACK_IDLE_W, rtol=1e-9)
    np.testing.assert_array_equal(it[~down], it0[~down])
    site, site0 = collect(sim).summary["sites"][0], collect(base).summary["sites"][0]
    lost_mwh = RACK_IDLE_W * FOR / 3.6e9
    assert site0["it_energy_mwh"] - site["it_energy_mwh"] == pytest.approx(lost_mwh, rel=1e-6)
    pue = np.array([e.pue[0] for e in sim.log.energy])
    dt = np.array([e.dt_s for e in sim.log.energy])
    fac_drop = float((RACK_IDLE_W * (pue - 0.03) * dt)[down].sum()) / 3.6e9
    assert site0["facility_energy_mwh"] - site["facility_energy_mwh"] == pytest.approx(
        fac_drop, rel=1e-6)
    assert sim.engine.core.energised is None  # all powered again after the repair


def test_a_failed_tray_draws_nothing_and_a_failed_gpu_its_idle_power(base: Simulation
                                                                      ) -> None:
    """A tray drained and powered off for repair draws nothing: its 4 GPUs and its share
    (1/18) of the rack's non-GPU power; a GPU off the bus in a powered tray keeps its
    idle draw (IT power unchanged)."""
    tray = _run(_quiet(), [(AT, "tray", slice(0, 4), FOR)])
    gpu = _run(_quiet(), [(AT, "gpu", slice(0, 1), FOR)])
    t, it = _it(tray)
    _t, it0 = _it(base)
    down = (t >= AT) & (t < AT + FOR)
    np.testing.assert_allclose((it0 - it)[down], RACK_IDLE_W / 18, rtol=1e-9)
    np.testing.assert_array_equal(_it(gpu)[1], it0)


def test_overlapping_failures_power_a_rack_when_the_last_is_repaired(base: Simulation
                                                                     ) -> None:
    """A tray failed inside a rack that then fails: the rack's repair powers all but the
    tray, whose own repair powers it back."""
    sim = _run(_quiet(), [(AT, "tray", slice(0, 4), 2 * FOR),  # back at 5 h: after the end
                          (AT + 1800.0, "rack", slice(None), 3600.0)])
    t, it = _it(sim)
    _t, it0 = _it(base)
    drop = it0 - it
    rack = (t >= AT + 1800.0) & (t < AT + 5400.0)
    tray_only = (t >= AT) & ~rack
    np.testing.assert_allclose(drop[rack], RACK_IDLE_W, rtol=1e-9)
    np.testing.assert_allclose(drop[tray_only], RACK_IDLE_W / 18, rtol=1e-9)
    assert sim.engine.core.n_unpowered == 4


def test_an_operator_restore_powers_the_rack_again() -> None:
    """A planned restore of a failed rack gives it power back with its GPUs."""
    data = _quiet()
    sim = build(validate_scenario(data))
    rack = np.flatnonzero(sim.index.gpu_rack == RACK)

    def hook(s: Simulation) -> None:
        if s.env.now == AT:
            s.engine.failures.inject(rack, "rack", None)
        if s.env.now == AT + 1200.0:
            s.engine.failures.restore(rack, "restore")
    sim.run(on_progress=hook, step_s=600.0)
    assert sim.engine.core.energised is None
    assert sim.engine.core.cluster.down[rack].sum() == 0


def test_the_mask_gives_the_same_figures_incrementally_and_in_full() -> None:
    """With GPUs unpowered, recomputing only the changed racks gives what a full pass
    gives; an all-powered mask gives exactly the unmasked figures."""
    sim = build(validate_scenario(small_scenario(duration="1h")))
    compute, idx = sim.engine.compute, sim.index
    rng = np.random.default_rng(3)
    util = rng.random(idx.n_gpus)
    n_sites = len(idx.site_names)
    pue, fabric = np.full(n_sites, 1.1), np.zeros(n_sites)
    on = np.ones(idx.n_gpus)
    full = compute.power(util, pue, fabric)
    for a, b in zip(full, compute.power(util, pue, fabric, energised=on), strict=True):
        np.testing.assert_array_equal(a, b)
    dirty = np.ones(idx.n_racks, dtype=bool)
    compute.power(util, pue, fabric, dirty)  # fills the kept figures
    energised = on.copy()
    energised[idx.gpu_rack == 1] = 0.0
    energised[np.flatnonzero(idx.gpu_rack == 2)[:4]] = 0.0
    dirty[[1, 2]] = True
    incremental = compute.power(util, pue, fabric, dirty, energised)
    whole = compute.power(util, pue, fabric, None, energised)
    for a, b in zip(incremental, whole, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    racks = whole[0]
    assert racks[1] == 0.0
    assert racks[2] < full[0][2] and racks[0] == full[0][0]
