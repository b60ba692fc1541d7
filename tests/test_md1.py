"""Statistical test: a one-replica service with fixed lengths is M/D/1 (Pollaczek-Khinchine).

One replica of one sequence (``max_batch: 1``), Poisson arrivals, a 1-token prompt and a
fixed 400-token output: every request takes the same service time ``S``, so the mean wait
in queue is Pollaczek-Khinchine's ``W = ρ·S / (2(1 - ρ))`` for M/D/1 (half that of M/M/1).
``S`` is read from the run itself (the mean of ``e2e - wait``; its spread is checked to be
under 1%), so the test checks the queue, not the kernels.

Tolerance: at ρ = 0.7 over 24 simulated hours (~25,000 requests, first hour dropped) the
mean wait of each seed must be within 12% of P-K, and the mean over the three seeds within
6%. Measured deviations are recorded in ``MEASURED``; the runs are seeded, so the test is
deterministic. The M/M/c case (Erlang C) is ``tests/test_erlang_c.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from tests.conftest import SMALL_SITE

RHO = 0.7
OUTPUT = 400
SEEDS = (11, 12, 13)
MEASURED: dict[int, float] = {}


def _scenario(rate: float, seed: int) -> dict:
    return {
        "name": "md1", "seed": seed, "duration": "24h",
        "sites": [dict(SMALL_SITE, halls=[{"name": "h", "system": "gb200-nvl72", "racks": 1}])],
        "tenants": {"svc": {"origin": "local", "inference": [{
            "name": "md1", "model": "llama3-8b", "replicas": 1, "gpus_per_replica": 1,
            "max_batch": 1, "rate": f"{rate!r}/s", "precision": "fp8",
            "prompt_tokens": {"dist": "fixed", "value": 1},
            "output_tokens": {"dist": "fixed", "value": OUTPUT}}]}},
        "compute": {"backend": "numpy"},
        "engine": {"serving_window": "5m", "sample_interval": "1h"},
    }


def _run(rate: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sim = build(validate_scenario(_scenario(rate, seed)))
    sim.run()
    reqs = sim.log.requests
    arrival = np.concatenate([b.arrival_s for b in reqs])
    wait = np.concatenate([b.wait_s for b in reqs])
    service = np.concatenate([b.e2e_s - b.wait_s for b in reqs])
    return arrival, wait, service


def pk_deviation(seed: int) -> float:
    """Simulated mean wait / Pollaczek-Khinchine's - 1 for one seed."""
    _, _, probe = _run(0.01, seed)
    s = float(np.nanmedian(probe))
    lam = RHO / s
    arrival, wait, service = _run(lam, seed)
    ok = (arrival > 3600.0) & ~np.isnan(service)
    assert ok.sum() > 20_000
    assert np.std(service[ok]) / np.mean(service[ok]) < 0.01  # deterministic service
    rho = lam * float(service[ok].mean())
    expected = rho * float(service[ok].mean()) / (2.0 * (1.0 - rho))
    return float(wait[ok].mean()) / expected - 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_md1_mean_wait_matches_pollaczek_khinchine(seed: int) -> None:
    dev = pk_deviation(seed)
    MEASURED[seed] = dev
    assert abs(dev) < 0.12, dev


def test_md1_mean_over_seeds() -> None:
    devs = [MEASURED[s] if s in MEASURED else pk_deviation(s) for s in SEEDS]
    assert abs(float(np.mean(devs))) < 0.06, devs


if __name__ == "__main__":
    print({s: f"{pk_deviation(s):+.1%}" for s in SEEDS})
