"""WAN links: propagation latency, capacity, rerouting after cable cuts."""

from __future__ import annotations

import math

import pytest

from topologies.graph import build_graph
from topologies.nodes import gateway_node, place_node
from topologies.places import FIBRE_S_PER_M, PLACES, great_circle_m
from topologies.presets import resolve_site
from topologies.wan import cut_cable, one_way_latency_s, origin_rtt_s, path_capacity_bps, wan_graph


def test_bizerte_to_marseille_is_at_least_propagation() -> None:
    g = wan_graph([resolve_site("bizerte-20mw", {})])
    latency = one_way_latency_s(g, "bizerte-20mw", "marseille")
    assert latency >= 1050e3 * 4.9e-9
    assert latency == pytest.approx(1050e3 * FIBRE_S_PER_M + 0.5e-3)  # ≈ 5.6 ms
    assert origin_rtt_s(g, "bizerte-20mw", "marseille") == pytest.approx(2 * latency)
    edge = g.edges[gateway_node(0), place_node("marseille")]
    assert edge["length_m"] == 1050e3
    assert edge["capacity_bps"] == pytest.approx(24 * 20e12 * 0.05)


def test_parallel_cables_share_an_edge_and_can_be_cut_one_by_one() -> None:
    g = wan_graph([resolve_site("tetouan-386mw", {})])
    edge = g.edges[gateway_node(0), place_node("marseille")]
    assert edge["name"] == "atlas-offshore+medusa"
    assert edge["capacity_bps"] == pytest.approx(24 * 20e12 * 0.1 + 320e9)
    atlas = 1734e3 * FIBRE_S_PER_M + 0.5e-3
    assert one_way_latency_s(g, "tetouan-386mw", "marseille") == pytest.approx(atlas)
    assert cut_cable(g, "atlas-offshore") == 1
    medusa = 1750e3 * FIBRE_S_PER_M + 0.5e-3
    assert one_way_latency_s(g, "tetouan-386mw", "marseille") == pytest.approx(medusa)
    assert path_capacity_bps(g, "tetouan-386mw", "marseille") == pytest.approx(48e12)
    assert cut_cable(g, "medusa") == 1
    assert one_way_latency_s(g, "tetouan-386mw", "marseille") == math.inf


def test_cable_cut_reroutes_then_disconnects() -> None:
    morocco = resolve_site("morocco-40mw", {})
    g = wan_graph([resolve_site("bizerte-20mw", {}), morocco])
    direct = one_way_latency_s(g, "bizerte-20mw", "morocco-40mw")
    assert direct == pytest.approx(
        one_way_latency_s(g, "bizerte-20mw", "marseille")
        + one_way_latency_s(g, "morocco-40mw", "marseille"))
    g.remove_edge(gateway_node(1), place_node("marseille"))  # both Morocco cables cut
    assert one_way_latency_s(g, "morocco-40mw", "marseille") == math.inf
    assert one_way_latency_s(g, "morocco-40mw", "rota") < math.inf
    assert path_capacity_bps(g, "bizerte-20mw", "morocco-40mw") == 0.0


def test_unknown_names_raise_key_error() -> None:
    g = wan_graph([resolve_site("bizerte-20mw", {})])
    with pytest.raises(KeyError, match="atlantis"):
        one_way_latency_s(g, "bizerte-20mw", "atlantis")


def test_wan_latency_ignores_datacenter_links() -> None:
    g = build_graph([resolve_site("bizerte-20mw", {"halls": [
        {"name": "a", "system": "gb200-nvl72", "racks": 1}]})])
    assert one_way_latency_s(g, "bizerte-20mw", "marseille") == pytest.approx(5.645e-3)


def test_cable_is_longer_than_the_great_circle() -> None:
    bz, mrs = PLACES["bizerte"], PLACES["marseille"]
    assert 700e3 < great_circle_m(bz.lat, bz.lon, mrs.lat, mrs.lon) < 1050e3
