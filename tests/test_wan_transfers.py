"""Datasets staged over the WAN share link capacity with each other and with requests."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.errors import UserError
from emulator.tables import jobs_table
from tests.conftest import run_scenario, small_scenario

MEDUSA_SHARE_BPS = 24 * 20e12 * 0.05  # the bizerte preset: 24 pairs x 20 Tb/s x share 0.05


def _jobs(n: int, size: str, link: dict | None = None, service: dict | None = None) -> dict:
    data = small_scenario(duration="2h")
    data["tenants"]["lab"] = {"jobs": [
        {"name": f"j{i}", "model": "llama3-8b", "gpus": 8, "tp": 8, "tokens": 1e9,
         "dataset": {"size": size, "source": "marseille"}} for i in range(n)]}
    data["tenants"]["eu"]["inference"] = [service] if service else []
    if not service:
        data["tenants"].pop("eu")
    if link is not None:
        data["sites"][0]["wan"] = [dict({"name": "medusa", "to": "marseille",
                                         "length": "1050km", "fibre_pairs": 1,
                                         "rate_per_pair": "100Mbps", "share": 1.0}, **link)]
    return data


def _staging(sim) -> np.ndarray:
    jobs = jobs_table(sim.log, sim.works)
    return jobs["staging_s"][jobs["kind"] == "training"]


def test_one_transfer_runs_at_the_path_capacity() -> None:
    staged = _staging(run_scenario(_jobs(1, "100TB")))
    assert staged[0] == pytest.approx(100e12 * 8 / MEDUSA_SHARE_BPS, rel=1e-9)


def test_concurrent_transfers_share_the_path_equally() -> None:
    staged = _staging(run_scenario(_jobs(4, "100TB")))
    alone = 100e12 * 8 / MEDUSA_SHARE_BPS
    assert np.allclose(staged, 4 * alone, rtol=1e-9)  # processor sharing: all end together


def test_request_traffic_is_served_first() -> None:
    quiet = _staging(run_scenario(_jobs(1, "20GB", link={})))[0]
    service = {"name": "chat", "model": "llama3-8b", "replicas": 8, "rate": "300/s",
               "origin": "marseille", "prompt_tokens": {"dist": "fixed", "value": 4000},
               "output_tokens": {"dist": "fixed", "value": 100}}
    busy = _staging(run_scenario(_jobs(1, "20GB", link={}, service=service)))[0]
    # 300 req/s x (4,100 tokens x 4 B + 2 kB) x 8 = 44 Mb/s of the 100 Mb/s link.
    load_bps = 300 * (4100 * 4 + 2000) * 8
    assert quiet == pytest.approx(20e9 * 8 / 100e6, rel=1e-6)
    assert busy > quiet * 1.5
    assert busy == pytest.approx(20e9 * 8 / (100e6 - load_bps), rel=0.05)


def test_unknown_source_place_is_a_config_error() -> None:
    data = _jobs(1, "1TB")
    data["tenants"]["lab"]["jobs"][0]["dataset"]["source"] = "atlantis"
    with pytest.raises(UserError, match="atlantis"):
        run_scenario(data)


def _transit_graph():
    """Site A reaches marseille over a 100 Mb/s cable; site B reaches it only through
    tunis and A's gateway (10 Gb/s links), so both paths cross A's cable."""
    import networkx as nx

    g = nx.Graph()
    g.add_edge("A", "marseille", link="wan", latency_s=0.005, capacity_bps=100e6)
    g.add_edge("A", "tunis", link="wan", latency_s=0.001, capacity_bps=10e9)
    g.add_edge("B", "tunis", link="wan", latency_s=0.001, capacity_bps=10e9)
    return g


def test_transfers_of_different_paths_share_a_common_link() -> None:
    from emulator.transfers import TransferModel

    model = TransferModel(_transit_graph())
    model.start(1, "A", "marseille", 1e9, 0.0)
    model.start(2, "B", "marseille", 1e9, 0.0)
    rates = [t.rate_bps for ts in model.active.values() for t in ts]
    assert sum(rates) == pytest.approx(100e6)  # never more than the cable carries
    assert rates == pytest.approx([50e6, 50e6])


def test_request_traffic_of_another_path_is_served_first_on_a_common_link() -> None:
    from emulator.transfers import TransferModel

    model = TransferModel(_transit_graph())
    model.start(1, "A", "marseille", 1e9, 0.0)
    model.set_request_load({("B", "marseille"): 80e6}, 0.0)
    (transfer,) = model.active[("A", "marseille")]
    assert transfer.rate_bps == pytest.approx(20e6)
    model.start(2, "B", "tunis", 1e9, 0.0)  # B-tunis: 10 Gb/s less the requests crossing it
    (other,) = model.active[("B", "tunis")]
    assert other.rate_bps == pytest.approx(10e9 - 80e6)
