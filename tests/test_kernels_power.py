"""Power kernels: linear GPU model, cap curve, rack bincount, facility PUE."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cupy_kernels.power import (
    CAP_EXPONENT,
    cap_throughput_factor,
    facility_power,
    gpu_power,
    rack_power,
)
from topologies.catalog import B200_GB200, CATALOG, GB200_NVL72, H100_SXM


def test_gpu_power_is_linear_between_idle_and_tdp() -> None:
    u = np.array([0.0, 0.25, 1.0, -0.5, 1.5])
    p = gpu_power(np, u, 200.0, 1200.0)
    np.testing.assert_allclose(p, [200.0, 450.0, 1200.0, 200.0, 1200.0])


def test_gpu_power_cap_clips() -> None:
    p = gpu_power(
        np, np.array([0.1, 0.5, 1.0]), 200.0, 1200.0, cap_w=np.array([1000.0, 600.0, 1000.0])
    )
    np.testing.assert_allclose(p, [300.0, 600.0, 1000.0])


def test_cap_factor_limits_and_reference_point() -> None:
    f = cap_throughput_factor(np, np.array([700.0, 800.0, 90.0, 50.0, 600.0]), 90.0, 700.0)
    assert f[0] == f[1] == 1.0 and f[2] == f[3] == 0.0
    assert f[4] == pytest.approx((510 / 610) ** CAP_EXPONENT)
    assert 0.90 < f[4] < 0.93  # H100 at 600 W keeps ~91% of its throughput
    linear = cap_throughput_factor(np, 600.0, 90.0, 700.0, exponent=1.0)
    assert linear == pytest.approx(510 / 610)


@given(cap=st.floats(0.0, 2000.0), cap2=st.floats(0.0, 2000.0))
def test_cap_factor_is_monotone_and_concave(cap: float, cap2: float) -> None:
    idle, tdp = B200_GB200.idle_w, B200_GB200.tdp_w
    f = cap_throughput_factor(np, cap, idle, tdp)
    assert 0.0 <= f <= 1.0
    frac = min(max((cap - idle) / (tdp - idle), 0.0), 1.0)
    assert f >= frac - 1e-12  # concave: loses less throughput than power
    lo, hi = sorted((cap, cap2))
    assert cap_throughput_factor(np, lo, idle, tdp) <= cap_throughput_factor(np, hi, idle, tdp)


def test_rack_power_sums_gpus_and_interpolates_overhead() -> None:
    gpu_w = np.array([100.0, 200.0, 300.0, 400.0, 50.0])
    gpu_rack = np.array([0, 0, 2, 2, 2])
    p = rack_power(np, gpu_w, gpu_rack, 3, 1000.0, 3000.0, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(p, [300.0 + 1000.0, 0.0 + 2000.0, 750.0 + 3000.0])


def test_rack_power_per_rack_overheads() -> None:
    p = rack_power(
        np, np.ones(2), np.array([0, 1]), 2, np.array([10.0, 20.0]), np.array([30.0, 60.0]), 0.5
    )
    np.testing.assert_allclose(p, [21.0, 41.0])


def test_rack_power_rejects_unknown_rack() -> None:
    with pytest.raises(ValueError, match="n_racks"):
        rack_power(np, np.ones(2), np.array([0, 3]), 2, 0.0, 0.0, 0.0)


def test_idle_nvl72_rack() -> None:
    sysm = GB200_NVL72
    n = sysm.gpus_per_rack
    w = gpu_power(np, np.zeros(n), sysm.gpu.idle_w, sysm.gpu.tdp_w)
    p = rack_power(
        np,
        w,
        np.zeros(n, dtype=np.int64),
        1,
        sysm.rack_overhead_idle_w,
        sysm.rack_overhead_full_w,
        0.0,
    )
    assert p[0] == pytest.approx(sysm.rack_idle_w)


def test_facility_power() -> None:
    np.testing.assert_allclose(facility_power(np, np.array([1e6, 2e6]), 1.1), [1.1e6, 2.2e6])
    assert facility_power(np, 20e6, np.array([1.05, 1.3]))[1] == pytest.approx(26e6)


def test_h100_catalog_figures_flow_through() -> None:
    assert gpu_power(np, 1.0, H100_SXM.idle_w, H100_SXM.tdp_w) == H100_SXM.tdp_w


def test_cap_below_vendor_minimum_acts_as_the_minimum() -> None:
    from cupy_kernels.power import MIN_CAP_FRACTION

    tdp, idle = 700.0, 90.0
    floor = MIN_CAP_FRACTION * tdp  # 200 W on H100 SXM
    caps = np.array([50.0, 150.0, floor, 400.0, 700.0])
    f = cap_throughput_factor(np, caps, idle, tdp, min_cap_w=floor)
    at_min = float(cap_throughput_factor(np, floor, idle, tdp))
    assert f[0] == f[1] == f[2] == pytest.approx(at_min)
    assert at_min > 0.0
    assert np.all(f >= at_min) and np.all(np.diff(f) >= 0) and f[-1] == 1.0


def test_lightly_loaded_hall_has_a_higher_effective_pue() -> None:
    from cupy_kernels.power import FIXED_FACILITY_FRACTION as F

    design = 10e6
    it = np.array([10e6, 5e6, 1e6])
    fac = facility_power(np, it, 1.08, design_it_w=design)
    assert fac[0] == pytest.approx(10e6 * 1.08)  # full load: the configured PUE
    eff = fac / it
    assert eff[2] == pytest.approx(1.08 - F + F * 10)  # 10% load: 1.35 with F = 3%
    assert eff[0] < eff[1] < eff[2]
    assert facility_power(np, it, 1.08)[2] == pytest.approx(1.08e6)  # no design: plain PUE


def test_engine_draws_a_fraction_of_the_nameplate_overhead_and_sizes_by_the_nameplate() -> None:
    """The engine's racks draw NODE_OVERHEAD_DRAW of the catalog's non-GPU power (a busy
    DGX H100 node: 7.75 kW, 76% of its 10.2 kW rating), while the facility's design power,
    which hall sizing and the fixed PUE part use, stays at the nameplate."""
    from cupy_kernels.power import NODE_OVERHEAD_DRAW
    from emulator.build import build
    from emulator.compute import ComputeModel
    from emulator.loader import validate_scenario
    from tests.conftest import small_scenario

    assert abs(NODE_OVERHEAD_DRAW - 0.468) < 5e-4
    sim = build(validate_scenario(small_scenario(duration="1h")))
    compute: ComputeModel = sim.engine.compute
    idx = sim.index
    util = np.ones(idx.n_gpus)
    racks, _it, _fac = compute.power(util, np.ones(len(idx.site_names)),
                                     np.zeros(len(idx.site_names)))
    systems = [idx.systems[s] for s in idx.rack_system]
    drawn = [s.gpus_per_rack * s.gpu.tdp_w + NODE_OVERHEAD_DRAW * s.rack_overhead_full_w
             for s in systems]
    np.testing.assert_allclose(racks, drawn)
    assert all(r < s.rack_full_w for r, s in zip(racks, systems, strict=True))
    fabric = float(np.sum(sim.engine.settings.site_fabric_w))
    assert fabric > 0  # the design power is the IT nameplate: racks and switches
    np.testing.assert_allclose(
        float(np.sum(compute._site_design_w)), sum(s.rack_full_w for s in systems) + fabric)
    idle, _it, _fac = compute.power(np.zeros(idx.n_gpus), np.ones(len(idx.site_names)),
                                    np.zeros(len(idx.site_names)))
    np.testing.assert_allclose(idle, [s.gpus_per_rack * s.gpu.idle_w
                                      + NODE_OVERHEAD_DRAW * s.rack_overhead_idle_w
                                      for s in systems])
    h100 = CATALOG["h100-hgx"]
    node = 8 * h100.gpu.tdp_w + NODE_OVERHEAD_DRAW * h100.rack_overhead_full_w / h100.trays_per_rack
    assert node == pytest.approx(0.76 * 10.2e3)


def test_decode_power_util_weights_compute_streaming_and_host_waits() -> None:
    from cupy_kernels.power import MEMORY_BOUND_UTIL, decode_power_util

    # (step, GPU, compute) s: all compute; all streaming; half the step waiting for the host
    u = decode_power_util(np, np.array([1.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0]),
                          np.array([1.0, 0.0, 0.5]))
    np.testing.assert_allclose(u, [1.0, MEMORY_BOUND_UTIL, 0.25 + MEMORY_BOUND_UTIL * 0.25])


def test_pue_below_the_fixed_part_still_orders_facility_power() -> None:
    """A hall declared at PUE 1.01 or 1.02 (below 1 + the 3 % fixed part) draws less than
    one at 1.03 at every load, and exactly its declared PUE at the nameplate."""
    import numpy as np

    from cupy_kernels.power import facility_power

    design = 4e6
    for it in (1e6, 4e6):
        by_pue = [float(facility_power(np, np.array([it]), np.array([p]), design)[0])
                  for p in (1.01, 1.02, 1.03, 1.05)]
        assert by_pue == sorted(by_pue) and len(set(by_pue)) == 4, (it, by_pue)
    at_nameplate = facility_power(np, np.array([design]), np.array([1.01]), design)[0]
    assert abs(float(at_nameplate) - 1.01 * design) < 1e-6
