"""Regression: carbon-aware placement reads the simulated clock at each decision."""

from __future__ import annotations

import numpy as np

from emulator.build import build
from emulator.loader import load_scenario
from tests.conftest import ROOT


def test_carbon_aware_placement_sees_the_current_time() -> None:
    loaded = load_scenario(ROOT / "examples" / "med_federation.yaml", ["duration=1d"])
    sim = build(loaded)
    assert sim.ops is not None and sim.ops.energy is not None
    seen: list[float] = []
    energy = sim.ops.energy
    original = energy.marginal_carbon

    def spy(t: float) -> np.ndarray:
        seen.append(t)
        return original(t)

    energy.marginal_carbon = spy  # type: ignore[method-assign]
    sim.run(until=12 * 3600.0)
    assert seen, "carbon-aware placement was never asked"
    assert max(seen) > 0.0, "placement only ever saw the carbon intensity of t = 0"


def test_a_site_of_unknown_carbon_is_not_taken_for_a_clean_one() -> None:
    """A site without an energy section in a country without a default grid intensity
    once had marginal carbon 0, so carbon-aware placement sent work there first, before a
    site whose grid intensity is known (Morocco's 605 g/kWh at night)."""
    loaded = load_scenario(ROOT / "examples" / "med_federation.yaml", [
        "duration=1d", "sites.0.country=FR", "sites.0.energy=null",
        "sites.1.energy.ppa.firm=0MW"])
    sim = build(loaded)
    assert sim.ops is not None and sim.ops.energy is not None
    night = sim.ops.energy.marginal_carbon(0.0)
    assert night[0] == np.inf and night[1] == 605.0
    sim.run(until=600.0)
    assert sim.ops.energy.marginal_carbon(600.0)[0] == np.inf
