"""Energy: solar supply, grid, tariffs, carbon, cooling (PUE/WUE), battery, accounting.

Configuration lives with the site (:mod:`topologies.energy`); :mod:`emulator.energy.model`
precomputes the series once per run and dispatches each sampling interval;
:mod:`emulator.energy.accounting` turns the log's energy samples into results.
"""

from emulator.energy.model import EnergyModel, EnergySample, build_energy_model

__all__ = ["EnergyModel", "EnergySample", "build_energy_model"]
