"""Bundled site presets: every one loads, validates, cites sources and fits its power cap."""

from __future__ import annotations

import pytest

from topologies.config import SiteConfig
from topologies.describe import describe_site, site_power_budget_ok
from topologies.presets import deep_merge, list_presets, load_preset, resolve_site

REQUIRED = {"bizerte-20mw", "morocco-40mw", "morocco-500mw", "tetouan-386mw",
            "legacy-air-8kw", "hybrid-45kw", "dense-250kw"}


def test_bizerte_is_listed_first_and_all_required_presets_exist() -> None:
    names = list_presets()
    assert names[0] == "bizerte-20mw"
    assert set(names) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_preset_validates_cites_sources_and_fits_grid(name: str) -> None:
    raw = load_preset(name)
    site = resolve_site(name, {})
    assert isinstance(site, SiteConfig)
    assert site.name == raw["name"] == name
    assert len(site.sources) >= 2
    assert site_power_budget_ok(site), describe_site(site)


def test_hall_type_presets_have_the_advertised_density() -> None:
    legacy = describe_site(resolve_site("legacy-air-8kw", {}))
    hybrid = describe_site(resolve_site("hybrid-45kw", {}))
    assert legacy.cooling == "air" and hybrid.cooling == "hybrid"
    assert legacy.halls[0].rack_full_w == pytest.approx(6.5e3)  # one DGX A100 per rack
    assert 40e3 <= hybrid.halls[0].rack_full_w <= 50e3
    dense = describe_site(resolve_site("dense-250kw", {}))
    assert 200e3 <= dense.halls[0].rack_full_w <= 250e3  # two NVL72 domains per rack
    assert dense.nvlink_domains == 2 * dense.racks and dense.cooling == "liquid"


def test_morocco_500mw_is_the_large_campus() -> None:
    summary = describe_site(resolve_site("morocco-500mw", {}))
    assert 3_500 <= summary.racks <= 3_800
    assert summary.gpus == summary.racks * 72


def test_deep_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"fabric": {"leaf_radix": 64, "racks_per_pod": 16}, "halls": [1, 2], "pue": 1.2}
    over = {"fabric": {"racks_per_pod": 8}, "halls": [3]}
    merged = deep_merge(base, over)
    assert merged == {"fabric": {"leaf_radix": 64, "racks_per_pod": 8}, "halls": [3],
                      "pue": 1.2}
    assert base["fabric"]["racks_per_pod"] == 16  # inputs untouched


def test_resolve_site_applies_overrides() -> None:
    site = resolve_site("bizerte-20mw", {
        "pue": 1.1,
        "fabric": {"oversubscription": 2},
        "halls": [{"name": "only", "system": "h100-hgx", "racks": 3}],
    })
    assert site.pue == 1.1
    assert site.fabric.oversubscription == 2.0
    assert site.fabric.leaf_radix == 64  # kept from the preset
    assert [h.name for h in site.halls] == ["only"]  # list replaced wholesale
    assert site.wan[0].name == "medusa"


def test_resolve_site_without_preset_takes_overrides_only() -> None:
    raw = load_preset("hybrid-45kw")
    assert resolve_site(None, raw) == resolve_site("hybrid-45kw", {})


def test_load_preset_returns_a_fresh_dict() -> None:
    first = load_preset("bizerte-20mw")
    first["pue"] = 9
    assert load_preset("bizerte-20mw")["pue"] == 1.2


def test_a_loaded_preset_is_the_callers_to_change() -> None:
    """Presets are parsed once per process; each caller still gets its own copy."""
    first = load_preset("bizerte-20mw")
    first["halls"][0]["racks"] = -1
    first["name"] = "changed"
    again = load_preset("bizerte-20mw")
    assert again["name"] != "changed" and again["halls"][0]["racks"] != -1
