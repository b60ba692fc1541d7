"""Sampling recomputes only the racks whose GPUs changed, with the same figures.

The core notes the racks of every utilisation change (``Core.set_util``); the power model
then recomputes those racks alone, summing their GPUs in the order a full pass does. Every
sample of a run must equal, bit for bit, a full recomputation from the GPUs' utilisation.
"""

from __future__ import annotations

import numpy as np

from cupy_kernels.power import rack_power
from emulator.build import build
from emulator.eventlog import Sample
from emulator.loader import validate_scenario
from tests.conftest import small_scenario


def test_every_sample_equals_a_full_recomputation() -> None:
    data = small_scenario(duration="12h")
    data["tenants"]["lab"]["training"][0]["rate"] = "200/d"  # starts and ends every tick
    sim = build(validate_scenario(data))
    core, compute = sim.engine.core, sim.engine.compute
    seen: list[int] = []

    def check(sample: Sample) -> None:
        util = core.gpu_util.copy()
        idx = sim.index
        gpu_w = compute._gpu_power(np, util, compute._gpu_idle, compute._gpu_tdp)
        rack_util = np.bincount(idx.gpu_rack, weights=util, minlength=idx.n_racks)
        rack_util = rack_util / np.maximum(np.bincount(idx.gpu_rack, minlength=idx.n_racks), 1)
        full = rack_power(np, gpu_w, idx.gpu_rack, idx.n_racks, compute._rack_idle,
                          compute._rack_full, rack_util)
        assert np.array_equal(compute._rack_w, full)  # bit for bit, every rack
        assert np.array_equal(sample.rack_util, rack_util.astype(np.float32))
        assert not core.rack_dirty.any()
        seen.append(int(np.count_nonzero(util)))

    sim.log.subscribe(check)
    sim.run()
    assert len(seen) > 50 and max(seen) > 0 and len(set(seen)) > 5  # it did change


def test_racks_left_alone_are_not_recomputed() -> None:
    sim = build(validate_scenario(small_scenario(duration="1h")))
    core, compute = sim.engine.core, sim.engine.compute
    pue, fabric = np.ones(1), np.zeros(1)
    compute.power(core.gpu_util, pue, fabric, core.rack_dirty)  # fills the cache
    before = compute._rack_w.copy()
    core.gpu_util[:72] = 1.0  # written past set_util: invisible to the cache, on purpose
    compute.power(core.gpu_util, pue, fabric, core.rack_dirty)
    assert np.array_equal(compute._rack_w, before)
    core.set_util(np.arange(72), 1.0)  # the same change, noted: rack 0 is recomputed
    compute.power(core.gpu_util, pue, fabric, core.rack_dirty)
    assert compute._rack_w[0] > before[0] and np.array_equal(compute._rack_w[1:], before[1:])
