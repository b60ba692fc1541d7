"""Site summary and power budget."""

from __future__ import annotations

import pytest

from topologies.describe import describe_site, site_power_budget_ok
from topologies.presets import resolve_site


def test_bizerte_summary_numbers() -> None:
    s = describe_site(resolve_site("bizerte-20mw", {}))
    assert (s.racks, s.gpus, s.trays, s.cpus) == (128, 9216, 2304, 4608)
    assert s.gpus_by_system == {"gb200-nvl72": 9216}
    assert (s.nvlink_domains, s.pods, s.leaves, s.spines) == (128, 8, 288, 144)
    assert s.racks_full_w == pytest.approx(128 * 120e3)
    assert s.fabric_w == pytest.approx((288 + 144) * 1500.0)
    assert s.it_mw == pytest.approx(16.008)
    assert s.facility_mw == pytest.approx(16.008 * 1.2)
    assert s.facility_full_w <= 20e6
    assert s.headroom_w == pytest.approx(20e6 - s.facility_full_w)
    (medusa,) = s.wan
    assert medusa.length_m == 1050e3
    assert medusa.one_way_latency_s == pytest.approx(5.645e-3)
    assert medusa.capacity_bps == pytest.approx(24e12)


def test_bizerte_fits_20mw_at_full_utilisation() -> None:
    assert site_power_budget_ok(resolve_site("bizerte-20mw", {}))


def test_oversized_site_fails_the_budget() -> None:
    site = resolve_site("bizerte-20mw", {"halls": [
        {"name": "big", "system": "gb200-nvl72", "racks": 160}]})
    summary = describe_site(site)
    assert not site_power_budget_ok(site)
    assert summary.headroom_w < 0 and not summary.within_budget


def test_repackaged_hall_scales_overhead_per_tray() -> None:
    site = resolve_site("legacy-air-8kw", {"halls": [
        {"name": "legacy-1", "system": "h100-hgx", "racks": 64, "trays_per_rack": 1}]})
    s = describe_site(site)
    assert s.halls[0].system == "h100-hgx/1-per-rack"
    assert s.gpus == 64 * 8 and s.nvlink_domains == 64
    assert s.racks_full_w == pytest.approx(64 * 10.2e3)


def test_mixed_site_counts_gpus_by_system() -> None:
    s = describe_site(resolve_site("bizerte-20mw", {"halls": [
        {"name": "a", "system": "gb200-nvl72", "racks": 2},
        {"name": "b", "system": "h100-hgx", "racks": 3}]}))
    assert s.gpus_by_system == {"gb200-nvl72": 144, "h100-hgx": 96}
    assert s.nvlink_domains == 2 + 12
