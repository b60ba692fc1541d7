"""Site config validation: units, defaults and errors that name the field and the value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from topologies.config import FabricConfig, HallConfig, SiteConfig, WanLinkConfig
from topologies.presets import UnknownPresetError, resolve_site


def _site(**changes: object) -> dict:
    base = {
        "name": "t", "country": "TN", "city": "Bizerte",
        "location": {"lat": 37.27, "lon": 9.87}, "grid_connection": "20MW",
        "cooling": "liquid",
        "halls": [{"name": "a", "system": "gb200-nvl72", "racks": 2}],
    }
    base.update(changes)
    return base


def test_units_are_parsed_to_si() -> None:
    site = SiteConfig.model_validate(_site(wan=[{
        "name": "medusa", "to": "Marseille", "length": "1050km", "fibre_pairs": 24,
        "rate_per_pair": "20Tbps", "overhead": "0.5ms"}]))
    assert site.grid_connection == 20e6
    link = site.wan[0]
    assert link.length == 1.05e6
    assert link.rate_per_pair == 20e12
    assert link.overhead == pytest.approx(5e-4)
    assert link.to == "marseille"
    assert link.capacity_bps == 24 * 20e12


def test_defaults() -> None:
    site = SiteConfig.model_validate(_site())
    assert site.pue == 1.2
    assert site.fabric.leaf_radix == 64
    assert site.fabric.oversubscription == 1.0
    assert site.fabric.racks_per_pod == 16
    assert site.fabric.nic_bandwidth is None
    assert (site.fabric.nvlink_latency, site.fabric.leaf_latency,
            site.fabric.spine_latency) == pytest.approx((1e-6, 3e-6, 6e-6))


def test_leaf_uplink_ratio_is_an_alias_of_oversubscription() -> None:
    assert FabricConfig.model_validate({"leaf_uplink_ratio": 3}).oversubscription == 3.0


def test_configs_are_frozen() -> None:
    site = SiteConfig.model_validate(_site())
    with pytest.raises(ValidationError):
        site.pue = 1.5  # type: ignore[misc]


@pytest.mark.parametrize("racks", [0, -3])
def test_non_positive_racks_name_field_and_value(racks: int) -> None:
    with pytest.raises(ValidationError) as err:
        resolve_site("bizerte-20mw", {"halls": [
            {"name": "a", "system": "gb200-nvl72", "racks": racks}]})
    text = str(err.value)
    assert "halls.0.racks" in text
    assert f"input_value={racks}" in text


def test_unknown_system_names_field_and_value() -> None:
    with pytest.raises(ValidationError) as err:
        HallConfig(name="a", system="tpu-v9", racks=1)
    text = str(err.value)
    assert "system" in text and "tpu-v9" in text and "gb200-nvl72" in text


def test_unknown_preset_lists_known_presets() -> None:
    with pytest.raises(UnknownPresetError) as err:
        resolve_site("atlantis-1gw", {})
    message = str(err.value)
    assert "atlantis-1gw" in message and "bizerte-20mw" in message
    assert "\n" not in message
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(("field", "value"), [
    ("pue", 0.9), ("pue", 1.0), ("cooling", "oil"), ("country", "tunisia"),
    ("grid_connection", "20 parsecs"), ("grid_connection", -5),
])
def test_bad_site_values_name_field_and_value(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        SiteConfig.model_validate(_site(**{field: value}))
    text = str(err.value)
    assert field in text and str(value) in text


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        SiteConfig.model_validate(_site(megawatts=20))
    assert "megawatts" in str(err.value)


def test_unknown_wan_place_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        WanLinkConfig(name="x", to="atlantis", length=1, fibre_pairs=1, rate_per_pair=1)
    assert "atlantis" in str(err.value) and "marseille" in str(err.value)


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_wan_share_is_a_fraction(share: float) -> None:
    with pytest.raises(ValidationError, match="share"):
        WanLinkConfig(name="x", to="marseille", length=1, fibre_pairs=1, rate_per_pair=1,
                      share=share)


def test_fabric_rejects_out_of_order_latencies_and_low_oversubscription() -> None:
    with pytest.raises(ValidationError, match="leaf_latency"):
        FabricConfig(leaf_latency="10us", spine_latency="6us")
    with pytest.raises(ValidationError, match="oversubscription"):
        FabricConfig(oversubscription=0.5)


def test_duplicate_hall_names_are_rejected() -> None:
    hall = {"name": "a", "system": "gb200-nvl72", "racks": 1}
    with pytest.raises(ValidationError, match="each hall of a site to have its own name"):
        SiteConfig.model_validate(_site(halls=[hall, hall]))
