"""Per-tenant GPU-hours by site and the report's per-tenant energy cost with several sites:
a tenant is charged the cost of the sites it used, not a blend of all of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.report.fig_energy import _tenant_shares
from emulator.results import collect
from tests.conftest import run_scenario
from tests.test_multisite import federation


@pytest.fixture(scope="module")
def two_sites() -> Any:
    data = federation(duration="6h")
    data["scheduler"] = {"queue": "fairshare", "placement": "pack"}  # preemptions too
    return run_scenario(data)


def test_gpu_hours_by_site_add_up_to_each_tenants_gpu_hours(two_sites: Any) -> None:
    summary = collect(two_sites).summary
    names = [s["name"] for s in summary["sites"]]
    for row in summary["tenants"].values():
        split = row["gpu_hours_by_site"]
        assert list(split) == names
        assert sum(split.values()) == pytest.approx(row["gpu_hours"], rel=1e-12, abs=1e-9)
    gov = summary["tenants"]["ma-gov"]["gpu_hours_by_site"]
    assert gov["bizerte-20mw"] == 0.0 and gov["morocco-40mw"] > 0  # residency MA
    # from the GPU segments each work held
    country = np.array([s.country for s in two_sites.loaded.sites])
    held = {n: 0.0 for n in names}
    for w in two_sites.works:
        if w.tenant == "ma-gov":
            for start, end, gpus in w.segments or []:
                for site in two_sites.index.gpu_site[gpus].tolist():
                    held[names[site]] += (end - start) / 3600.0
    assert set(country[[names.index(n) for n, h in held.items() if h > 0]]) == {"MA"}
    assert gov["morocco-40mw"] == pytest.approx(held["morocco-40mw"], rel=1e-9)


def test_single_site_summary_has_no_split(small_run: Any) -> None:
    summary = collect(small_run).summary
    assert all("gpu_hours_by_site" not in t for t in summary["tenants"].values())


def test_tenant_cost_is_each_sites_cost_by_gpu_hours_held_there() -> None:
    """Site A costs $100 over 10 GPU-h (all tenant x), site B $600 over 30 GPU-h (10 x,
    20 y): x pays 100 + 600 × 10/30 = 300, y 600 × 20/30 = 400 (a blend, $700 over
    40 GPU-h, would charge each 350)."""
    tenants = {"x": {"gpu_hours": 20.0, "gpu_hours_by_site": {"A": 10.0, "B": 10.0}},
               "y": {"gpu_hours": 20.0, "gpu_hours_by_site": {"A": 0.0, "B": 20.0}},
               "idle": {"gpu_hours": 0.0, "gpu_hours_by_site": {"A": 0.0, "B": 0.0}}}
    net = {"A": 100.0, "B": 600.0}
    shares, by_site = _tenant_shares(tenants, net, {t: v["gpu_hours"]
                                                    for t, v in tenants.items()})
    assert by_site
    assert shares == pytest.approx({"x": 100.0 + 200.0, "y": 400.0})
    assert sum(shares.values()) == pytest.approx(sum(net.values()))


def test_tenant_cost_of_a_site_without_gpu_hours_is_shared_by_all_hours() -> None:
    tenants = {"x": {"gpu_hours": 30.0, "gpu_hours_by_site": {"A": 30.0, "B": 0.0}},
               "y": {"gpu_hours": 10.0, "gpu_hours_by_site": {"A": 10.0, "B": 0.0}}}
    shares, _ = _tenant_shares(tenants, {"A": 40.0, "B": 8.0}, {"x": 30.0, "y": 10.0})
    assert shares == pytest.approx({"x": 30.0 + 6.0, "y": 10.0 + 2.0})


def test_summary_without_split_keeps_the_blend() -> None:
    tenants = {"x": {"gpu_hours": 30.0}, "y": {"gpu_hours": 10.0}}
    shares, by_site = _tenant_shares(tenants, {"A": 40.0, "B": 8.0}, {"x": 30.0, "y": 10.0})
    assert not by_site
    assert shares == pytest.approx({"x": 36.0, "y": 12.0})


def test_residency_with_a_system_its_country_lacks_says_so() -> None:
    """Morocco has a site but no H100 racks: the rejection names that, not a missing site
    (it said 'no site of this scenario is in MA (sites are in ['MA', 'TN'])')."""
    data = federation(duration="2h")
    data["sites"][0] = {**data["sites"][0], "halls": [
        {"name": "hall-a", "system": "h100-hgx", "racks": 2}]}
    data["tenants"]["ma-gov"]["training"][0] = {
        **data["tenants"]["ma-gov"]["training"][0], "system": "h100-hgx", "rate": "60/d"}
    summary = collect(run_scenario(data)).summary
    assert summary["tenants"]["ma-gov"]["jobs"]["rejected"] > 0
    assert summary["rejections"] == [
        "residency MA: no h100-hgx racks at its site(s) in MA (morocco-40mw)"]
