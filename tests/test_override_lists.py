"""``--set`` reaches list elements, also those a site preset supplies, and list values."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.errors import UserError
from emulator.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BIZERTE = ROOT / "examples" / "bizerte_20mw.yaml"  # its halls come from the preset


def test_an_element_of_a_preset_list() -> None:
    loaded = load_scenario(BIZERTE, ["sites.0.halls.1.racks=8"])
    assert [(h.name, h.racks) for h in loaded.sites[0].halls] == [("hall-a", 64), ("hall-b", 8)]
    by_name = load_scenario(BIZERTE, ["sites.bizerte-20mw.halls.hall-a.racks=2"])
    assert [h.racks for h in by_name.sites[0].halls] == [2, 64]


def test_list_values_in_flow_syntax() -> None:
    loaded = load_scenario(BIZERTE, [
        "sites.0.halls=[{name: a, system: gb200-nvl72, racks: 3}]",
        "tenants.research.training.0.gpus=[72, 144]",
        "tenants.research.training.0.gpus_weights=[1, 1]"])
    assert [(h.name, h.racks) for h in loaded.sites[0].halls] == [("a", 3)]
    assert list(loaded.scenario.tenants["research"].training[0].gpus) == [72, 144]


def test_bad_list_paths_name_the_problem() -> None:
    with pytest.raises(UserError, match="index 5 out of range"):
        load_scenario(BIZERTE, ["sites.0.halls.5.racks=8"])
    with pytest.raises(UserError, match="no item named 'hall-z'"):
        load_scenario(BIZERTE, ["sites.0.halls.hall-z.racks=8"])
    with pytest.raises(UserError, match="racks"):
        load_scenario(BIZERTE, ["sites.0.halls.1.racks=0"])
