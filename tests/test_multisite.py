"""Several sites: routing by SLO and cost, residency, TTFT floor, cable cuts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.build import build
from emulator.errors import UserError
from emulator.loader import validate_scenario
from emulator.results import collect
from emulator.rng import RngStreams
from emulator.wan_events import WanEventsConfig, WanState, wan_schedule
from tests.conftest import run_scenario, small_scenario
from topologies.places import FIBRE_S_PER_M
from topologies.presets import resolve_site
from topologies.wan import origin_rtt_s, path_links, wan_graph

BIZERTE = {"preset": "bizerte-20mw",
           "halls": [{"name": "hall-a", "system": "gb200-nvl72", "racks": 2}]}
MOROCCO = {"preset": "morocco-40mw",
           "halls": [{"name": "phase1-a", "system": "gb200-nvl72", "racks": 2}]}
FT = {"name": "ft", "model": "llama3-8b", "rate": "30/d", "gpus": [8, 16], "tp": 8,
      "tokens": {"dist": "lognormal", "median": 5e8, "p90": 4e9}}


def federation(duration: str = "4h", **extra: Any) -> dict[str, Any]:
    data = small_scenario(duration=duration)
    data["start"] = "2025-09-22"
    data["sites"] = [BIZERTE, MOROCCO]
    data["tenants"]["ma-gov"] = {"residency": "MA", "origin": "casablanca", "training": [FT]}
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def cut_run() -> Any:
    return run_scenario(federation(wan_events={"cuts": [
        {"cable": "medusa", "at": "1h", "repair": "1h"}]}))


def test_service_routed_to_cheapest_site_within_slo(cut_run: Any) -> None:
    res = collect(cut_run).summary
    (route,) = res["routing"]
    assert route["origin"] == "marseille" and route["site"] == "bizerte-20mw"
    graph = wan_graph(cut_run.loaded.sites)
    assert route["rtt_ms"] == pytest.approx(origin_rtt_s(graph, "bizerte-20mw", "marseille") * 1e3)
    assert route["candidates"]["morocco-40mw"] > route["rtt_ms"]
    svc = next(w for w in cut_run.works if w.kind == "inference")
    assert set(cut_run.index.gpu_site[svc.segments[0][2]].tolist()) == {0}


def test_ttft_from_marseille_at_least_propagation_floor() -> None:
    sim = run_scenario(federation(duration="1h"))
    floor = 2 * 1050e3 * FIBRE_S_PER_M  # Bizerte-Marseille over Medusa, both ways
    ttft = np.concatenate([b.ttft_s for b in sim.log.requests])
    assert ttft.size > 1000 and float(ttft.min()) >= floor


def test_cut_raises_rtt_or_cuts_off_and_repair_restores(cut_run: Any) -> None:
    sites = cut_run.loaded.sites
    g = wan_graph(sites)
    before = origin_rtt_s(g, "morocco-40mw", "marseille")
    state = WanState(sites, g)
    assert state.apply("cut", "atlas-offshore")
    assert origin_rtt_s(g, "morocco-40mw", "marseille") > before  # rerouted over Medusa
    assert state.apply("cut", "medusa")
    assert math.isinf(origin_rtt_s(g, "bizerte-20mw", "marseille"))  # Medusa was its only cable
    assert math.isinf(origin_rtt_s(g, "morocco-40mw", "marseille"))  # Loukkos goes to Rota
    assert not state.apply("cut", "medusa")  # cut twice: needs two repairs
    assert not state.apply("repair", "medusa")
    assert state.apply("repair", "medusa") and state.apply("repair", "atlas-offshore")
    assert origin_rtt_s(g, "morocco-40mw", "marseille") == pytest.approx(before)
    summary = collect(cut_run).summary
    assert [e["event"] for e in summary["wan"]["events"]] == ["cable_cut", "cable_repair"]
    assert summary["wan"]["unreachable_requests"] > 0
    failed = np.concatenate([b.arrival_s[np.isnan(b.ttft_s)] for b in cut_run.log.requests])
    assert failed.min() >= 3600.0 - 120.0 and failed.max() < 7200.0 + 120.0  # one window slack
    assert summary["tenants"]["eu"]["requests"]["slo_attainment"] < 0.8


def test_random_cuts_are_seeded_and_unknown_cable_fails() -> None:
    sites = [resolve_site("bizerte-20mw"), resolve_site("morocco-40mw")]
    cfg = WanEventsConfig.model_validate({"random": {"rate": "1/2d", "repair": "6h"}})
    a = wan_schedule(cfg, sites, 30 * 86400.0, RngStreams(3))
    b = wan_schedule(cfg, sites, 30 * 86400.0, RngStreams(3))
    assert a == b and len(a) > 4
    assert {c for _, _, c in a} <= {"medusa", "atlas-offshore", "loukkos"}
    with pytest.raises(UserError, match="unknown cable 'peace'"):
        build(validate_scenario(federation(wan_events={"cuts": [{"cable": "peace", "at": 0}]})))


def test_residency_without_site_in_country_is_rejected() -> None:
    data = federation(duration="1h")
    data["tenants"]["fr-bank"] = {"residency": "FR", "training": [FT]}
    res = collect(run_scenario(data)).summary
    assert res["tenants"]["fr-bank"]["jobs"]["rejected"] == res["tenants"]["fr-bank"]["jobs"][
        "submitted"] > 0
    assert any("residency FR" in r for r in res["rejections"])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), codes=st.lists(st.sampled_from(["MA", "TN", None]),
                                                     min_size=2, max_size=3),
       racks=st.integers(1, 2))
def test_zero_residency_violations(seed: int, codes: list[str | None], racks: int) -> None:
    data = federation(duration="3h")
    data["seed"] = seed
    data["sites"] = [{**BIZERTE, "halls": [{**BIZERTE["halls"][0], "racks": racks}]}, MOROCCO]
    for i, code in enumerate(codes):
        data["tenants"][f"t{i}"] = {"residency": code, "training": [FT]}
    sim = run_scenario(data)
    report = collect(sim).summary.get("residency", {})
    country = np.array([s.country for s in sim.loaded.sites])
    for tenant, row in report.items():
        assert row["violations"] == 0
        for w in sim.works:
            if w.tenant == tenant:
                for _s, _e, gpus in w.segments or []:
                    assert set(country[sim.index.gpu_site[gpus]].tolist()) == {row["country"]}
    # The report counts every placement the tenant got (a seed may give it no job at all).
    ma_runs = sum(len(w.segments or []) for w in sim.works if w.tenant == "ma-gov")
    assert report["ma-gov"]["placements"] == ma_runs


def test_residency_tenant_is_placed_only_in_its_country() -> None:
    sim = run_scenario(federation(duration="6h"))
    row = collect(sim).summary["residency"]["ma-gov"]
    assert row["placements"] > 0 and row["violations"] == 0
    country = np.array([s.country for s in sim.loaded.sites])
    for w in sim.works:
        if w.tenant == "ma-gov":
            for _s, _e, gpus in w.segments or []:
                assert set(country[sim.index.gpu_site[gpus]].tolist()) == {"MA"}


def test_export_limit_per_site_in_one_dispatch() -> None:
    """Each site's export is held to its own limit: Bizerte's 20 MW grid connection (the
    default), Morocco's explicit 5 MW; Morocco's 20 MW wind block for 2 racks curtails."""
    morocco = {**MOROCCO, "energy": {"grid": {"export_limit": "5MW"}}}
    sim = run_scenario(federation(duration="1h", sites=[BIZERTE, morocco]))
    assert sim.ops is not None and sim.ops.energy is not None
    np.testing.assert_array_equal(sim.ops.energy.export_limit, [20e6, 5e6])
    for s in sim.log.energy:
        supply = s.renewable_w + s.import_w
        uses = s.demand_w + s.export_w + s.charge_w - s.discharge_w + s.curtailed_w
        np.testing.assert_allclose(supply, uses, rtol=1e-12, atol=1e-6)
        assert np.all(s.export_w <= np.array([20e6, 5e6]))
    sites = collect(sim).summary["sites"]
    assert [s["energy"]["export_limit_mw"] for s in sites] == [20.0, 5.0]
    assert sites[1]["energy"]["peak_export_mw"] == pytest.approx(5.0)
    assert sites[1]["energy"]["curtailed_mwh"] > 0
    assert [s["grid_connection_mw"] for s in sites] == [20.0, 40.0]
    assert all(s["power_cap_mw"] is None and s["over_cap_s"] == 0.0 for s in sites)


def test_works_of_one_kind_share_their_eligibility_mask() -> None:
    # A mask holds a bool per NVLink domain (3,712 on a two-site campus): one per job
    # cost 3.9 KB a job. Jobs with the same system, residency and route share one.
    sim = build(validate_scenario(federation(duration="1d")))
    training = [w for w in sim.works if w.kind == "training"]
    by_tenant: dict[str, set[int]] = {}
    for w in training:
        by_tenant.setdefault(w.tenant, set()).add(id(w.request.eligible))
    assert len(training) > 40
    assert all(len(ids) == 1 for ids in by_tenant.values()), by_tenant
    ma = next(w for w in training if w.tenant == "ma-gov").request.eligible
    dsite = sim.index.domain_site
    assert ma is not None and ma.any() and not ma[dsite == 0].any()  # Morocco only



def test_restore_of_a_cable_that_is_up_logs_no_repair(tmp_path: Any) -> None:
    """A planned restore of a cable that was never cut changes nothing: the summary lists
    no repair; a cut and its restore are both listed."""
    import yaml

    def wan_events(planned: list[dict[str, Any]]) -> list[str]:
        path = tmp_path / "events.yaml"
        path.write_text(yaml.safe_dump({"events": planned}))
        data = federation(duration="1h")
        data["events"] = str(path)
        summary = collect(run_scenario(data)).summary
        return [f"{e['event']} {e['cable']}" for e in summary["wan"]["events"]]

    assert wan_events([{"at": "10m", "target": "link:medusa", "action": "restore"}]) == []
    assert wan_events([{"at": "10m", "target": "link:medusa", "action": "fail"},
                       {"at": "20m", "target": "link:medusa", "action": "restore"}]) == [
        "cable_cut medusa", "cable_repair medusa"]


def test_wan_unreachable_counts_only_requests_cut_off_by_the_wan(tmp_path: Any) -> None:
    """Requests refused because the service's site failed are unreachable, but not the
    WAN's: the summary's WAN figure counts those that arrived while Medusa was cut (the
    cut left open at the end included)."""
    import yaml

    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump({"events": [
        {"at": "10m", "target": "site:bizerte-20mw", "action": "fail", "duration": "10m"}]}))
    data = federation(duration="1h", wan_events={"cuts": [{"cable": "medusa", "at": "40m"}]})
    data["events"] = str(path)
    sim = run_scenario(data)
    summary = collect(sim).summary
    svc = next(w for w in sim.works if w.kind == "inference")
    batches = [b for b in sim.log.requests if b.service == svc.work_id]
    arrival = np.concatenate([b.arrival_s for b in batches])
    refused = np.isnan(np.concatenate([b.ttft_s for b in batches]))
    cut = arrival >= 2400.0
    assert refused[cut].all() and refused[~cut].any()  # the site failure refused some too
    assert summary["wan"]["unreachable_requests"] == int(cut.sum())
    assert summary["requests"]["unreachable"] == int(refused.sum()) > int(cut.sum())


def test_route_counts_only_the_gpus_of_the_services_system() -> None:
    """A site whose GPUs of the service's system cannot hold it is not a candidate, however
    many GPUs of other systems it has: the service goes to the site that can run it (it
    was pinned to the nearer Bizerte, 72 GB200 GPUs beside 64 H100, and refused)."""
    data = federation(duration="10m")
    data["tenants"].pop("ma-gov")
    data["tenants"]["lab"]["training"] = []
    data["sites"] = [{"preset": "bizerte-20mw", "halls": [
        {"name": "a", "system": "gb200-nvl72", "racks": 1},
        {"name": "h", "system": "h100-hgx", "racks": 8}]}, MOROCCO]
    data["tenants"]["eu"]["inference"][0].update(replicas=80, system="gb200-nvl72")
    sim = run_scenario(data)
    (route,) = collect(sim).summary["routing"]
    assert route["site"] == "morocco-40mw"
    assert list(route["candidates"]) == ["morocco-40mw"]
    svc = next(w for w in sim.works if w.kind == "inference")
    assert svc.state == "truncated" and svc.segments


def test_route_skips_a_site_whose_racks_the_model_does_not_fit() -> None:
    """Llama 3 405B in bf16 on 8 GPUs does not fit an H100 server (811.8 GB of weights in
    684.2 GB): a nearer site of H100 racks only is no candidate; the service runs on the
    other site's GB200 racks (it was pinned to the H100 site and refused)."""
    data = federation(duration="10m")
    data["tenants"].pop("ma-gov")
    data["tenants"]["lab"]["training"] = []
    data["sites"] = [{"preset": "bizerte-20mw", "halls": [
        {"name": "h", "system": "h100-hgx", "racks": 2}]}, MOROCCO]
    data["tenants"]["eu"]["inference"][0].update(
        model="llama3-405b", precision="bf16", replicas=1, gpus_per_replica=8,
        rate="0.2/s", slo={"ttft": "5s", "tpot": "100ms"})
    sim = run_scenario(data)
    (route,) = collect(sim).summary["routing"]
    assert route["site"] == "morocco-40mw"
    assert list(route["candidates"]) == ["morocco-40mw"]
    svc = next(w for w in sim.works if w.kind == "inference")
    assert svc.segments and set(sim.index.gpu_site[svc.segments[0][2]].tolist()) == {1}


def test_origin_in_a_sites_city_is_routed_from_that_site() -> None:
    """Users in a site's city (Nouaceur, any case) are at that site: 0 RTT to it, and its
    round trip to the other sites; a single-site run accepted it while a two-site run
    refused it ('unknown place') for the site whose city it is not."""
    data = federation(duration="10m")
    data["tenants"].pop("ma-gov")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"][0]["origin"] = "nouaceur"
    sim = run_scenario(data)
    (route,) = collect(sim).summary["routing"]
    graph = wan_graph(sim.loaded.sites)
    assert route["candidates"]["morocco-40mw"] == 0.0
    assert route["candidates"]["bizerte-20mw"] == pytest.approx(
        origin_rtt_s(graph, "bizerte-20mw", "morocco-40mw") * 1e3)


def test_unknown_origin_lists_the_places_it_could_be() -> None:
    data = federation(duration="10m")
    data["tenants"]["eu"]["inference"][0]["origin"] = "casablanca"
    with pytest.raises(UserError, match=r"origin: unknown place 'casablanca'; .*\(marseille, "
                                        r"rota\), a site's city \(Bizerte, Nouaceur\)"):
        build(validate_scenario(data))


def test_unknown_tenant_origin_names_the_tenants_field() -> None:
    """An origin set on the tenant (and inherited by its service) is reported at
    ``tenants.T.origin``, the field the file has; one set on the service at its own."""
    data = federation(duration="10m")
    data["tenants"]["eu"]["origin"] = "casablanca"
    for svc in data["tenants"]["eu"]["inference"]:
        svc.pop("origin", None)
    with pytest.raises(UserError, match=r": tenants\.eu\.origin: unknown place 'casablanca'"):
        build(validate_scenario(data))
    data["tenants"]["eu"]["inference"][0]["origin"] = "casablanca"
    name = data["tenants"]["eu"]["inference"][0]["name"]
    with pytest.raises(UserError, match=rf": tenants\.eu\.inference\.{name}\.origin: unknown"):
        build(validate_scenario(data))


def test_requests_from_a_sites_city_load_the_links_from_that_site() -> None:
    """Requests from Nouaceur (Morocco's site city) served at Bizerte cross the WAN from
    the Morocco site; their traffic was keyed by the city, which is no WAN node, so it
    loaded no link and dataset transfers kept the whole path."""
    data = federation(duration="20m")
    data["tenants"].pop("ma-gov")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["residency"] = "TN"
    data["tenants"]["eu"]["inference"][0]["origin"] = "Nouaceur"
    sim = run_scenario(data)
    loads = sim.engine.serving.wan_load_bps(600.0)
    assert set(loads) == {("bizerte-20mw", "morocco-40mw")} and min(loads.values()) > 0
    assert path_links(wan_graph(sim.loaded.sites), "bizerte-20mw", "morocco-40mw")


def test_a_failure_under_a_residency_service_is_no_new_placement(tmp_path: Any) -> None:
    """A residency tenant's service of 4 one-GPU replicas, placed first in its country's
    hall, loses the replica on that hall's first GPU to a failure at 1 h: its base work
    goes on at once on the 3 spared GPUs (a run of the log, no new placement) and the
    replacement is placed anew. The report counts 2 placements, not 3, and the GPU-hours
    of all three runs."""
    import yaml

    data = federation(duration="3h")
    data["tenants"]["ma-gov"] = {
        "residency": "MA", "origin": "local",
        "inference": [{"name": "gov-chat", "model": "llama3-8b", "replicas": 4,
                       "gpus_per_replica": 1, "rate": "2/s"}]}
    data["tenants"].pop("lab", None)
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": [
        {"at": "1h", "target": "gpu:morocco-40mw/phase1-a/0/0", "action": "fail"}]}))
    sim = build(validate_scenario(data), events_file=events)
    sim.engine.start()
    sim.env.run(until=3 * 3600.0)
    sim.engine.finish()
    base = next(w for w in sim.works if w.kind == "inference" and w.tenant == "ma-gov")
    assert base.interruptions == 1, "the failed GPU was one of the service's"
    row = collect(sim).summary["residency"]["ma-gov"]
    assert row["placements"] == 2  # the service's start and its replacement
    assert row["violations"] == 0
    assert row["gpu_hours"] == pytest.approx(4 * 1 + 3 * 2 + 1 * 2, rel=1e-6)
