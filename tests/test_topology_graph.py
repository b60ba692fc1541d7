"""Rack, fabric and site graph builders."""

from __future__ import annotations

import networkx as nx
import pytest

from topologies.catalog import GB200_NVL72, H100_HGX
from topologies.config import SiteConfig
from topologies.fabric import fabric_graph
from topologies.graph import build_graph, build_site_graph
from topologies.nodes import data_links, gateway_node, hw_node
from topologies.presets import resolve_site
from topologies.rack import RackIds, rack_graph
from topologies.sizing import size_site


def _kinds(graph: nx.Graph, kind: str) -> list:
    return [n for n, d in graph.nodes(data=True) if d.get("kind") == kind]


def _small_site(**fabric: object) -> SiteConfig:
    return resolve_site("bizerte-20mw", {
        "halls": [{"name": "gb", "system": "gb200-nvl72", "racks": 3},
                  {"name": "hgx", "system": "h100-hgx", "racks": 5}],
        "fabric": {"racks_per_pod": 2, **fabric},
    })


@pytest.fixture(scope="module")
def bizerte() -> nx.Graph:
    return build_site_graph(resolve_site("bizerte-20mw", {}), 0)


def test_gb200_rack_has_18_trays_of_4_gpus_and_one_nvlink_domain() -> None:
    g = rack_graph(GB200_NVL72)
    assert len(_kinds(g, "gpu")) == 72
    assert len(_kinds(g, "tray")) == 18
    assert len(_kinds(g, "cpu")) == 36
    switches = _kinds(g, "nvswitch")
    assert len(switches) == 1
    for tray in _kinds(g, "tray"):
        gpus = [n for n in g[tray] if g.nodes[n]["kind"] == "gpu"]
        assert len(gpus) == 4
        assert sorted(g.nodes[n]["position"] for n in gpus) == [0, 1, 2, 3]
    nvlink = [e for e in g.edges(data=True) if e[2]["link"] == "nvlink"]
    assert len(nvlink) == 72
    assert all(e[2]["bandwidth_bps"] == pytest.approx(7.2e12) for e in nvlink)


def test_h100_rack_has_one_nvlink_domain_per_node() -> None:
    g = rack_graph(H100_HGX, ids=RackIds(rack=2, tray=8, gpu=64, cpu=16, domain=8))
    switches = _kinds(g, "nvswitch")
    assert len(switches) == 4 and len(_kinds(g, "gpu")) == 32
    for sw in switches:
        gpus = [n for n in g[sw] if g.nodes[n]["kind"] == "gpu"]
        assert len({g.nodes[n]["tray"] for n in gpus}) == 1 and len(gpus) == 8
    assert g.has_node(hw_node("gpu", 0, 64)) and g.has_node(hw_node("rack", 0, 2))


def test_bizerte_counts(bizerte: nx.Graph) -> None:
    assert len(_kinds(bizerte, "gpu")) == 9216
    assert len(_kinds(bizerte, "rack")) == 128
    assert len(_kinds(bizerte, "tray")) == 128 * 18
    assert len(_kinds(bizerte, "nvswitch")) == 128  # one NVLink domain per NVL72 rack
    assert len(_kinds(bizerte, "leaf")) == 288
    assert len(_kinds(bizerte, "gateway")) == 1


def test_every_node_has_a_known_kind(bizerte: nx.Graph) -> None:
    kinds = {d["kind"] for _, d in bizerte.nodes(data=True)}
    assert kinds == {"gpu", "tray", "cpu", "nvswitch", "rack", "leaf", "spine", "gateway"}


def test_leaf_ports_cover_gpus_and_are_not_overbooked(bizerte: nx.Graph) -> None:
    site = resolve_site("bizerte-20mw", {})
    leaves = _kinds(bizerte, "leaf")
    assert len(leaves) * site.fabric.leaf_radix >= 9216
    for leaf in leaves:
        nic = sum(1 for n in bizerte[leaf] if bizerte.nodes[n]["kind"] == "gpu")
        up = sum(bizerte.edges[leaf, n]["links"] for n in bizerte[leaf]
                 if bizerte.nodes[n]["kind"] == "spine")
        assert 0 < nic <= 32 and up == 32
        assert nic + up <= site.fabric.leaf_radix


def test_rail_property_gpu_position_p_sits_on_a_rail_p_leaf(bizerte: nx.Graph) -> None:
    for gpu in _kinds(bizerte, "gpu"):
        leaves = [n for n in bizerte[gpu] if bizerte.nodes[n]["kind"] == "leaf"]
        assert len(leaves) == 1
        assert bizerte.nodes[leaves[0]]["rail"] == bizerte.nodes[gpu]["position"]


def test_leaf_serves_one_pod_and_one_rail(bizerte: nx.Graph) -> None:
    for leaf in _kinds(bizerte, "leaf"):
        gpus = [n for n in bizerte[leaf] if bizerte.nodes[n]["kind"] == "gpu"]
        racks = {bizerte.nodes[n]["rack"] for n in gpus}
        assert {r // 16 for r in racks} == {bizerte.nodes[leaf]["pod"]}


def test_oversubscription_shrinks_uplinks_and_spines() -> None:
    flat = size_site(_small_site())
    over = size_site(_small_site(oversubscription=3))
    assert (flat.leaf_down, flat.leaf_up) == (32, 32)
    assert (over.leaf_down, over.leaf_up) == (48, 16)
    assert over.spines < flat.spines


def test_path_latencies_add_up_to_tier_latencies() -> None:
    site = _small_site()
    g = data_links(build_site_graph(site, 0))
    fab = site.fabric

    def lat(a: int, b: int) -> float:
        return nx.shortest_path_length(g, hw_node("gpu", 0, a), hw_node("gpu", 0, b),
                                       weight="latency_s")

    assert lat(0, 1) == pytest.approx(fab.nvlink_latency)  # same rack
    assert lat(0, 72) == pytest.approx(fab.leaf_latency)  # next rack, same pod and rail
    assert lat(1, 72) == pytest.approx(fab.leaf_latency + fab.nvlink_latency)  # via NVLink
    # GPU 0 (rack 0) and GPU 144 (rack 2, pod 1): different pods, same rail.
    assert lat(0, 144) == pytest.approx(fab.spine_latency)


def test_site_graph_is_connected_without_containment_edges() -> None:
    g = build_site_graph(_small_site(), 0)
    assert nx.is_connected(data_links(g).subgraph(
        n for n, d in g.nodes(data=True) if d["kind"] not in ("tray", "cpu", "rack")))


def test_fabric_can_be_built_alone() -> None:
    site = _small_site()
    g = fabric_graph(site)
    assert len(_kinds(g, "gpu")) == size_site(site).gpus


def test_build_graph_numbers_nodes_across_sites() -> None:
    a, b = _small_site(), resolve_site("hybrid-45kw", {"halls": [
        {"name": "h", "system": "h100-hgx", "racks": 2}]})
    g = build_graph([a, b])
    n_a = size_site(a).gpus
    assert g.nodes[hw_node("gpu", 1, 0)]["gid"] == n_a
    assert g.nodes[hw_node("gpu", 0, n_a - 1)]["gid"] == n_a - 1
    gids = sorted(d["gid"] for _, d in g.nodes(data=True) if d["kind"] == "gpu")
    assert gids == list(range(n_a + size_site(b).gpus))
    assert g.has_node(gateway_node(1))
    assert g.has_node(("place", "marseille"))


def test_sizing_matches_the_dgx_superpod_scalable_unit() -> None:
    # 64 eight-GPU nodes (16 racks x 4) at 1:1 on 64-port switches: 16 leaves, 8 spines.
    site = resolve_site("hybrid-45kw", {"halls": [
        {"name": "su", "system": "h100-hgx", "racks": 16}]})
    sz = size_site(site)
    assert (sz.gpus, sz.pods, sz.leaves, sz.spines) == (512, 1, 16, 8)
    g = build_site_graph(site, 0)
    spines = _kinds(g, "spine")
    assert len(spines) == 8 and all(g.nodes[s]["switches"] == 1 for s in spines)
    for leaf in _kinds(g, "leaf"):
        assert [g.edges[leaf, s]["links"] for s in spines] == [4] * 8
