"""Dense index arrays: field contents, agreement with the graph, scale."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topologies.config import SiteConfig
from topologies.graph import build_graph
from topologies.index import TIER_LEAF, TIER_NVLINK, TIER_SPINE, TIER_WAN, derive_index
from topologies.presets import resolve_site
from topologies.sizing import size_site


def _site(name: str = "bizerte-20mw", **over: object) -> SiteConfig:
    return resolve_site(name, over)


def _mixed(racks_per_pod: int = 2, oversubscription: float = 1.0,
           radix: int = 64, gb: int = 3, hgx: int = 5) -> SiteConfig:
    return _site(halls=[{"name": "gb", "system": "gb200-nvl72", "racks": gb},
                        {"name": "hgx", "system": "h100-hgx", "racks": hgx}],
                 fabric={"racks_per_pod": racks_per_pod, "oversubscription": oversubscription,
                         "leaf_radix": radix})


def _neighbour(graph: nx.Graph, node: object, kind: str) -> object:
    found = [n for n in graph[node] if graph.nodes[n]["kind"] == kind]
    assert len(found) == 1, (node, kind, found)
    return found[0]


def _assert_agrees(sites: list[SiteConfig]) -> None:
    graph = build_graph(sites)
    index = derive_index(sites)
    gid = nx.get_node_attributes(graph, "gid")
    gpus = [n for n, d in graph.nodes(data=True) if d["kind"] == "gpu"]
    assert len(gpus) == index.n_gpus
    for gpu in gpus:
        i = gid[gpu]
        tray = _neighbour(graph, gpu, "tray")
        rack = _neighbour(graph, tray, "rack")
        leaf = _neighbour(graph, gpu, "leaf")
        domain = _neighbour(graph, gpu, "nvswitch")
        assert gid[tray] == index.gpu_tray[i]
        assert gid[rack] == index.gpu_rack[i]
        assert gid[leaf] == index.gpu_leaf[i]
        assert gid[domain] == index.gpu_domain[i]
        assert gpu[1] == index.gpu_site[i]
        assert index.domain_rack[gid[domain]] == gid[rack]
        assert graph.nodes[leaf]["rail"] == graph.nodes[gpu]["position"]
    pods = {}
    for node, data in graph.nodes(data=True):
        if data["kind"] == "leaf":
            pods.setdefault((node[1], data["pod"]), set()).add(int(index.leaf_pod[data["gid"]]))
        if data["kind"] == "rack":
            site = sites[node[1]].name
            assert index.hall_names[index.rack_hall[data["gid"]]] == f"{site}/{data['hall']}"
            assert index.systems[index.rack_system[data["gid"]]].name == data["system"]
    # each graph pod maps to exactly one index pod, and distinct pods stay distinct
    assert all(len(v) == 1 for v in pods.values())
    assert len({next(iter(v)) for v in pods.values()}) == index.n_pods


def test_index_agrees_with_graph_for_a_mixed_site() -> None:
    _assert_agrees([_mixed()])


def test_index_agrees_with_graph_across_sites() -> None:
    _assert_agrees([_mixed(), _mixed(racks_per_pod=3, oversubscription=3, gb=2, hgx=1)])


@settings(max_examples=15, deadline=None)
@given(racks_per_pod=st.integers(1, 5), oversubscription=st.sampled_from([1.0, 1.5, 3.0]),
       radix=st.sampled_from([8, 16, 64]), gb=st.integers(1, 4), hgx=st.integers(1, 6))
def test_index_agrees_with_graph_property(racks_per_pod: int, oversubscription: float,
                                          radix: int, gb: int, hgx: int) -> None:
    _assert_agrees([_mixed(racks_per_pod, oversubscription, radix, gb, hgx)])


def test_bizerte_index_fields() -> None:
    site = _site()
    index = derive_index([site])
    assert index.n_gpus == 9216 and index.n_racks == 128 and index.n_domains == 128
    assert index.n_leaves == 288 and index.n_pods == 8
    assert index.site_names == ("bizerte-20mw",)
    assert index.hall_names == ("bizerte-20mw/hall-a", "bizerte-20mw/hall-b")
    for arr in (index.gpu_tray, index.gpu_rack, index.gpu_domain, index.gpu_leaf,
                index.gpu_pod, index.gpu_site):
        assert arr.dtype == np.int32 and arr.shape == (9216,)
    assert np.all(np.diff(index.gpu_tray) >= 0) and index.gpu_tray[-1] == 128 * 18 - 1
    assert np.all(index.domain_size == 72)
    assert np.array_equal(index.gpu_pod, index.leaf_pod[index.gpu_leaf])
    assert np.array_equal(index.gpu_rack // 16, index.gpu_pod)
    assert np.allclose(index.gpu_nvlink_bw, 0.9e12)
    assert np.allclose(index.gpu_nic_bw, 50e9)
    assert index.site_spine_bw_per_gpu == pytest.approx([50e9])
    latency = 1050e3 * 4.9e-9 + 0.5e-3
    assert index.tier_latency_s == pytest.approx([1e-6, 3e-6, 6e-6, 6e-6 + latency])
    assert index.wan_bw_per_gpu == pytest.approx(24e12 / 8 / 9216)


def test_slowest_tier_on_bizerte() -> None:
    index = derive_index([_site()])
    assert index.slowest_tier(np.arange(72)) == TIER_NVLINK
    assert index.slowest_tier(np.array([0, 72 * 15])) == TIER_LEAF
    assert index.slowest_tier(np.array([0, 72 * 16])) == TIER_SPINE


def test_two_sites_share_the_wan_and_oversubscription_cuts_spine_bandwidth() -> None:
    a = _site()
    b = _site("tetouan-386mw", fabric={"oversubscription": 2},
              halls=[{"name": "x", "system": "gb200-nvl72", "racks": 32}])
    index = derive_index([a, b])
    assert index.n_gpus == 9216 + 32 * 72
    assert index.gpu_site[9216] == 1 and index.gpu_rack[9216] == 128
    assert index.slowest_tier(np.array([0, 9216])) == TIER_WAN
    assert index.site_spine_bw_per_gpu == pytest.approx([50e9, 25e9])
    # bottleneck: Bizerte's Medusa share (24 Tb/s) over the smaller site's GPUs
    assert index.wan_bw_per_gpu == pytest.approx(24e12 / 8 / (32 * 72))
    wan = (1050e3 + 1734e3) * 4.9e-9 + 2 * 0.5e-3  # Bizerte-Marseille-Tetouan
    assert index.tier_latency_s[TIER_WAN] == pytest.approx(6e-6 + wan)


def test_site_without_wan_gets_a_small_positive_wan_bandwidth() -> None:
    index = derive_index([_site("hybrid-45kw")])
    assert index.wan_bw_per_gpu > 0
    assert index.tier_latency_s[TIER_WAN] == pytest.approx(6e-6)


def test_campus_of_3800_racks_builds() -> None:
    site = _site("morocco-500mw", halls=[{"name": "c", "system": "gb200-nvl72", "racks": 3800}])
    index = derive_index([site])
    assert index.n_gpus == 3800 * 72 == 273_600
    assert index.n_racks == 3800 and index.n_domains == 3800
    assert index.n_leaves == size_site(site).leaves
    assert int(index.gpu_leaf.max()) == index.n_leaves - 1
    assert np.bincount(index.gpu_leaf).max() <= 32


def test_empty_site_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one site"):
        derive_index([])
