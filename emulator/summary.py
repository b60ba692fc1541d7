"""The run summary: per-tenant and per-site figures, computed from the event log only.

Job completion time (JCT) and queue wait: mean, p50, p99 over finished (JCT) or started
(wait) jobs; ``still_queued`` counts jobs that never started before the horizon and
``wait_incl_queued_s`` includes them with their wait so far (a lower bound);
``queued_at_end`` counts every job waiting in the queue at the horizon, those that had run
and were preempted or interrupted too (under a preemptive policy a queue can be full of
them while ``still_queued`` is 0).
Inference: TTFT and TPOT p50/p99 and SLO attainment (a request meets its SLO when both its
TTFT, WAN round trip included, and its TPOT are within the service's
objectives). ``unreachable`` counts requests that had no way to be served: their origin
cut off from the site (a cable cut), or no replica of the service up (not placed yet, or
every one failed); ``unfinished`` those not done when the run ended (still queued, in prefill or
decoding); the TTFT percentiles leave out the requests without a first token, the TPOT
ones those not done, and SLO attainment counts both counts as misses (attainment = met /
all requests). ``slo_targets`` lists the tenant's
distinct (TTFT, TPOT) objectives in s.
GPU utilisation is time-weighted: allocated GPU-seconds over available GPU-seconds, and
the mean compute utilisation of the samples. Energy integrates the
sampled power, each sample holding until the next (or the horizon), in MWh.

Per site, two different limits are reported side by side: ``grid_connection_mw`` (the
site's ``grid_connection``, its design envelope: ``peak_within_grid_connection`` says
whether the peak facility power stayed within it) and ``power_cap_mw`` (the peak value of
the power cap configured under ``energy.power_cap``, ``None`` without one; ``over_cap_s``
counts the seconds the facility was above it). ``peak_import_mw`` is the peak grid import
(the facility power itself where the run has no energy model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emulator.energy.accounting import cap_figures
from emulator.eventlog import EventLog, Infra
from emulator.outage_count import gpus_taken_down
from emulator.request_stats import RequestStats
from emulator.tables import jobs_table, request_stats_by_service, requests_table
from emulator.work import Work
from topologies.reliability import COMPONENTS, effect_of

__all__ = ["build_summary", "stats"]

_J_PER_MWH = 3.6e9


JCT_COVERS = ("finished training jobs only (jct_s.n of jobs.submitted): rejected jobs and "
              "jobs cut off at the horizon have no completion time; wait_s covers the jobs "
              "that started, wait_incl_queued_s also those still queued")
"""What the JCT and wait statistics of a summary are taken over (stated in every summary)."""


def stats(values: np.ndarray) -> dict[str, float | None]:
    """Mean, p50 and p99 of ``values`` ignoring NaN; ``None`` where there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"mean": None, "p50": None, "p99": None, "n": 0}
    return {"mean": float(v.mean()), "p50": float(np.percentile(v, 50)),
            "p99": float(np.percentile(v, 99)), "n": int(v.size)}


def _energy(log: EventLog, horizon_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(IT J, facility J, peak facility W per site, time-weighted mean compute util)."""
    n_sites = len(log.sites)
    if not log.samples:
        z = np.zeros(n_sites)
        return z, z, z, 0.0
    t = np.array([s.t for s in log.samples])
    dt = np.diff(np.append(t, horizon_s))
    dt = np.clip(dt, 0.0, None)
    it = np.array([s.it_w for s in log.samples])
    fac = np.array([s.facility_w for s in log.samples])
    util = np.array([s.mean_util for s in log.samples])
    total = dt.sum()
    mean_util = float((util * dt).sum() / total) if total > 0 else 0.0
    return (it * dt[:, None]).sum(0), (fac * dt[:, None]).sum(0), fac.max(0), mean_util


def _caps(log: EventLog, peak_facility_w: np.ndarray
          ) -> tuple[list[float | None], np.ndarray, np.ndarray]:
    """(power cap peak W or ``None``, seconds over the cap, peak import W) per site."""
    if log.energy:
        return cap_figures(log.energy)
    n_sites = len(log.sites)
    return [None] * n_sites, np.zeros(n_sites), np.asarray(peak_facility_w, dtype=float)


def _request_figures(log: EventLog, works: Sequence[Work]
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Request figures per tenant and overall: exact from rows when the log keeps them,
    else from the log's aggregated statistics (percentiles within 1%)."""
    def figures(count: int, ttft: dict[str, Any], tpot: dict[str, Any],
                met: float | None, unreachable: int, unfinished: int,
                targets: list[dict[str, float]]) -> dict[str, Any]:
        return {"count": count, "ttft_s": ttft, "tpot_s": tpot, "slo_attainment": met,
                "unreachable": unreachable, "unfinished": unfinished, "slo_targets": targets}

    targets = _slo_targets(log, works)
    if log.keep_requests:
        reqs = requests_table(log, works)
        cut = np.isnan(reqs["wait_s"])  # origin cut off
        late = np.isnan(reqs["e2e_s"]) & ~cut  # not done by the end of the run
        per: dict[str, dict[str, Any]] = {}
        for tenant in log.tenants:
            r = reqs["tenant"] == tenant
            n = int(r.sum())
            per[tenant] = figures(n, stats(reqs["ttft_s"][r]), stats(reqs["tpot_s"][r]),
                                  float(reqs["slo_met"][r].mean()) if n else None,
                                  int(cut[r].sum()), int(late[r].sum()),
                                  targets.get(tenant, []))
        n = int(reqs["ttft_s"].size)
        return per, figures(n, stats(reqs["ttft_s"]), stats(reqs["tpot_s"]),
                            float(reqs["slo_met"].mean()) if n else None, int(cut.sum()),
                            int(late.sum()),
                            sorted({tuple(x.items()): x for v in targets.values()
                                    for x in v}.values(), key=_target_key))
    by_service = request_stats_by_service(log)
    totals = {t: RequestStats() for t in log.tenants}
    overall = RequestStats()
    for service, st in sorted(by_service.items()):
        totals[works[service].tenant].merge(st)
        overall.merge(st)

    def of(st: RequestStats, target: list[dict[str, float]]) -> dict[str, Any]:
        return figures(st.count, st.stats("ttft_s"), st.stats("tpot_s"),
                       st.slo_met / st.count if st.count else None, st.unreachable,
                       st.count - st.unreachable - st.counted["e2e_s"], target)

    every = sorted({tuple(x.items()): x for v in targets.values() for x in v}.values(),
                   key=_target_key)
    return ({t: of(st, targets.get(t, [])) for t, st in totals.items()}, of(overall, every))


def _target_key(target: dict[str, float]) -> tuple[float, float]:
    return target["ttft_s"], target["tpot_s"]


def _slo_targets(log: EventLog, works: Sequence[Work]) -> dict[str, list[dict[str, float]]]:
    """Distinct (TTFT, TPOT) objectives (s) of each tenant's services, from the log."""
    out: dict[str, dict[tuple[float, float], dict[str, float]]] = {}
    for service, (ttft, tpot) in sorted(log.slo.items()):
        out.setdefault(works[service].tenant, {})[(ttft, tpot)] = {"ttft_s": ttft,
                                                                  "tpot_s": tpot}
    return {t: sorted(v.values(), key=_target_key) for t, v in out.items()}


def build_summary(log: EventLog, works: Sequence[Work], horizon_s: float, total_gpus: int,
                  grid_connection_w: Sequence[float],
                  site_gpus: Sequence[int]) -> dict[str, Any]:
    """Summary dictionary (JSON-ready) of one run."""
    jobs = jobs_table(log, works)
    req_tenant, req_all = _request_figures(log, works)
    gpu_s = jobs["gpu_s"]
    # Jobs still queued at the horizon have no wait yet; counting horizon - submit for them
    # gives a lower bound that does not hide an overloaded queue (wait_s leaves them out).
    never_started = np.isnan(jobs["start_s"]) & (jobs["state"] == "truncated")
    queued_at_end = (jobs["state"] == "truncated") & (jobs["info"] == "queued")
    wait_lower_bound = np.where(never_started, horizon_s - jobs["submit_s"], jobs["wait_s"])
    available = total_gpus * horizon_s
    it_j, fac_j, peak_w, mean_util = _energy(log, horizon_s)
    cap_peak, over_cap_s, peak_import = _caps(log, peak_w)
    tenants: dict[str, Any] = {}
    for tenant in log.tenants:
        sel = jobs["tenant"] == tenant
        train = sel & (jobs["kind"] == "training")
        states = jobs["state"][train]
        tenants[tenant] = {
            "jobs": {"submitted": int(train.sum()),
                     "finished": int((states == "finished").sum()),
                     "rejected": int((states == "rejected").sum()),
                     "truncated": int((states == "truncated").sum())},
            "services": int((sel & (jobs["kind"] == "inference")).sum()),
            "services_rejected": int((sel & (jobs["kind"] == "inference")
                                      & (jobs["state"] == "rejected")).sum()),
            "jct_s": stats(jobs["jct_s"][train]),
            "wait_s": stats(jobs["wait_s"][train]),
            "still_queued": int((train & never_started).sum()),
            "queued_at_end": int((train & queued_at_end).sum()),
            "wait_incl_queued_s": stats(wait_lower_bound[train]),
            "gpu_hours": float(gpu_s[sel].sum() / 3600.0),
            "gpu_share": float(gpu_s[sel].sum() / available) if available else 0.0,
            "requests": req_tenant[tenant],
        }
    train_all = jobs["kind"] == "training"
    sites = []
    for i, name in enumerate(log.sites):
        sites.append({
            "name": name,
            "gpus": int(site_gpus[i]),
            "it_energy_mwh": float(it_j[i] / _J_PER_MWH),
            "facility_energy_mwh": float(fac_j[i] / _J_PER_MWH),
            "peak_facility_mw": float(peak_w[i] / 1e6),
            "peak_import_mw": float(peak_import[i] / 1e6),
            "grid_connection_mw": float(grid_connection_w[i] / 1e6),
            "peak_within_grid_connection": bool(peak_w[i] <= grid_connection_w[i]),
            "power_cap_mw": None if cap_peak[i] is None else cap_peak[i] / 1e6,
            "over_cap_s": float(over_cap_s[i]),
        })
    return {
        "simulated_s": float(horizon_s),
        "total_gpus": int(total_gpus),
        "gpu_allocation_util": float(gpu_s.sum() / available) if available else 0.0,
        "gpu_compute_util": mean_util,
        "jobs": {"submitted": int(train_all.sum()),
                 "finished": int((jobs["state"][train_all] == "finished").sum()),
                 "rejected": int((jobs["state"][train_all] == "rejected").sum()),
                 "truncated": int((jobs["state"][train_all] == "truncated").sum())},
        "services": {"total": int((jobs["kind"] == "inference").sum()),
                     "rejected": int(((jobs["kind"] == "inference")
                                      & (jobs["state"] == "rejected")).sum())},
        "jct_s": stats(jobs["jct_s"][train_all]),
        "jct_covers": JCT_COVERS,
        "wait_s": stats(jobs["wait_s"][train_all]),
        "still_queued": int((train_all & never_started).sum()),
        "queued_at_end": int((train_all & queued_at_end).sum()),
        "wait_incl_queued_s": stats(wait_lower_bound[train_all]),
        "requests": req_all,
        "energy": {"it_mwh": float(it_j.sum() / _J_PER_MWH),
                   "facility_mwh": float(fac_j.sum() / _J_PER_MWH)},
        "sites": sites,
        "tenants": tenants,
        "rejections": sorted({str(x) for x in jobs["info"][jobs["state"] == "rejected"]}),
        **_outages(log),
    }


def _outages(log: EventLog) -> dict[str, Any]:
    """``outages``: GPUs taken out of service and brought back, whatever the cause (failures,
    disruptions, planned events), when the run had any, else nothing: ``gpus_down_events``
    and ``gpus_up_events`` count the log's rows (a failure or disruption taking GPUs out,
    a repair or restore), ``gpus_taken_down`` the distinct GPU-outage intervals (a GPU
    going from in service to out of service counts once, however many failures then hold
    it: :mod:`emulator.outage_count`). (The failure model's own figures, GPU-hours down per
    class, are ``failures``, added by :func:`emulator.results.collect`.)"""
    kinds = np.asarray(log.infra_kind, dtype=np.int64)
    subject = np.asarray(log.infra_subject, dtype=np.int64)
    # only failures that take GPUs out of service (not a software fault, a NIC, leaf or
    # spine switch; an injection of no class, code -1, does)
    spared = [c for c, name in enumerate(COMPONENTS) if effect_of(name) != "down"]
    down = (kinds == Infra.GPUS_DOWN) | ((kinds == Infra.FAILURE) & ~np.isin(subject, spared))
    if not down.any():
        return {}
    return {"outages": {"gpus_down_events": int(down.sum()),
                         "gpus_up_events": int(((kinds == Infra.GPUS_UP) | (
                             (kinds == Infra.REPAIR) & ~np.isin(subject, spared))).sum()),
                         "gpus_taken_down": gpus_taken_down(log)}}
