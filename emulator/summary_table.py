"""The final summary printed after a run: training, inference and site tables, and one line
each for WAN, residency and failures, read from ``summary.json``'s content only.

Times pick their unit by magnitude (:func:`emulator.units.time_unit`); SLO targets are shown
beside attainment, and unreachable requests count as misses.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from emulator.failure_metrics import failure_rows
from emulator.units import format_adaptive_duration, time_unit

__all__ = ["summary_table"]


def _fmt(v: float | None, scale: float = 1.0, unit: str = "") -> str:
    return "—" if v is None else f"{v * scale:,.3g}{unit}"


def _unit_of(values: list[float | None]) -> tuple[str, float]:
    """One time unit for a column: the one its largest value reads best in."""
    known = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return time_unit(max(known)) if known else ("s", 1.0)


def _in(v: float | None, size: float) -> str:
    return "—" if v is None else f"{v / size:,.3g}"


def _targets(req: dict[str, Any]) -> str:
    """``'30ms/30ms'`` (TTFT/TPOT objective), several joined by commas."""
    def short(v: float) -> str:
        return format_adaptive_duration(v).replace(" ", "")

    return ", ".join(f"{short(t['ttft_s'])}/{short(t['tpot_s'])}"
                     for t in req.get("slo_targets", [])) or "—"


def _training_table(summary: dict[str, Any]) -> Table:
    """Per tenant: jobs done, JCT and wait (each column in the unit its values pick)."""
    tenants = {k: v for k, v in summary["tenants"].items()
               if v["jobs"]["submitted"] or v["services"]}
    cols = {key: _unit_of([t[src][stat] for t in tenants.values()])
            for key, src, stat in (("jct_mean", "jct_s", "mean"), ("jct_p99", "jct_s", "p99"),
                                   ("wait_mean", "wait_s", "mean"),
                                   ("wait_p99", "wait_s", "p99"))}
    t = Table(title=f"{summary['scenario']}: training", header_style="bold")
    t.add_column("tenant", justify="right")
    t.add_column("done/sub", justify="right")
    for key, label in (("jct_mean", "JCT mean"), ("jct_p99", "JCT p99"),
                       ("wait_mean", "wait mean"), ("wait_p99", "wait p99")):
        t.add_column(f"{label} {cols[key][0]}", justify="right")
    t.add_column("GPU share", justify="right")
    for name, ten in tenants.items():
        t.add_row(name, f"{ten['jobs']['finished']}/{ten['jobs']['submitted']}",
                  _in(ten["jct_s"]["mean"], cols["jct_mean"][1]),
                  _in(ten["jct_s"]["p99"], cols["jct_p99"][1]),
                  _in(ten["wait_s"]["mean"], cols["wait_mean"][1]),
                  _in(ten["wait_s"]["p99"], cols["wait_p99"][1]),
                  f"{100 * ten['gpu_share']:.1f}%")
    jobs = summary["jobs"]
    if jobs["finished"] < jobs["submitted"]:
        left = jobs["submitted"] - jobs["finished"]
        t.caption = (f"JCT covers the {jobs['finished']:,} finished of {jobs['submitted']:,} "
                     f"training jobs; {left:,} left out ({jobs['rejected']:,} rejected, "
                     f"{jobs['truncated']:,} cut off at the horizon); waits cover the jobs "
                     "that started")
    return t


def _inference_table(served: dict[str, Any]) -> Table:
    """Per tenant: requests, TTFT/TPOT p50/p99, SLO attainment beside its target, and
    unreachable and unfinished requests (counted in attainment as misses)."""
    reqs = [v["requests"] for v in served.values()]
    ttft = _unit_of([r["ttft_s"][k] for r in reqs for k in ("p50", "p99")])
    tpot = _unit_of([r["tpot_s"][k] for r in reqs for k in ("p50", "p99")])
    r = Table(title="inference (SLO met counts unreachable and unfinished requests as misses)",
              header_style="bold")
    for col in ("tenant", "requests", f"TTFT p50 {ttft[0]}", f"TTFT p99 {ttft[0]}",
                f"TPOT p50 {tpot[0]}", f"TPOT p99 {tpot[0]}", "SLO TTFT/TPOT", "SLO met",
                "unreachable", "unfinished"):
        r.add_column(col, justify="right")
    for name, ten in served.items():
        req = ten["requests"]
        slo = req["slo_attainment"]
        lost = req.get("unreachable", 0)
        late = req.get("unfinished", 0)
        r.add_row(name, f"{req['count']:,}", _in(req["ttft_s"]["p50"], ttft[1]),
                  _in(req["ttft_s"]["p99"], ttft[1]), _in(req["tpot_s"]["p50"], tpot[1]),
                  _in(req["tpot_s"]["p99"], tpot[1]), _targets(req),
                  "—" if slo is None else f"{100 * slo:.2f}%",
                  Text(f"{lost:,}", style="bold red" if lost else ""),
                  Text(f"{late:,}", style="yellow" if late else ""))
    return r


def _event_lines(summary: dict[str, Any]) -> list[Text]:
    """One line each for the WAN, residency and failures, where the run had them."""
    lines = []
    wan = summary.get("wan")
    if wan is not None:
        cuts = "; ".join(f"{e['event'].replace('cable_', '')} {e['cable']} at "
                         f"{format_adaptive_duration(e['t_s'])}" for e in wan["events"])
        lost = wan.get("unreachable_requests", 0)
        lines.append(Text.assemble(
            ("WAN: ", "bold"), f"{cuts or 'no cable events'}; "
            f"{wan.get('rtt_changes', 0)} service reroute(s) (RTT changes); ",
            (f"{lost:,} unreachable request(s)", "bold red" if lost else "")))
    for tenant, res in sorted(summary.get("residency", {}).items()):
        bad = res.get("violations", 0)
        lines.append(Text.assemble(
            ("residency: ", "bold"), f"{tenant} in {res['country']}: "
            f"{res['placements']:,} placement(s), {res['gpu_hours']:,.0f} GPU-h, ",
            (f"{bad} violation(s)", "bold red" if bad else "green")))
    outages = summary.get("outages")
    if outages:
        lines.append(Text.assemble(
            ("outages: ", "bold"), f"{outages['gpus_down_events']:,} GPUs-down event(s) "
            f"({outages['gpus_taken_down']:,} GPUs taken down), "
            f"{outages['gpus_up_events']:,} back in service"))
    return lines


def summary_table(summary: dict[str, Any]) -> Group:
    """The final summary as rich tables: training, inference, sites, energy, then lines for
    the WAN, residency and failures where the run had them.

    JCT, waits and latencies are in the unit each column's values pick (s, min, h, d; ms
    for latencies); SLO attainment counts unreachable requests as misses.
    """
    tenants = summary["tenants"]
    parts: list[Any] = [_training_table(summary)]
    served = {k: v for k, v in tenants.items() if v["requests"]["count"]}
    if served:
        parts.append(_inference_table(served))
    s = Table(title="sites", header_style="bold")
    for col in ("site", "GPUs", "IT MWh", "facility MWh", "peak MW", "grid MW", "cap MW",
                "over cap h"):
        s.add_column(col, justify="right")
    for site in summary["sites"]:
        # peak MW in red above the grid connection; over-cap hours in red when non-zero.
        peak = Text(f"{site['peak_facility_mw']:.2f}",
                    style="" if site["peak_within_grid_connection"] else "bold red")
        cap = site.get("power_cap_mw")
        over_h = site.get("over_cap_s", 0.0) / 3600.0
        s.add_row(site["name"], f"{site['gpus']:,}", f"{site['it_energy_mwh']:,.1f}",
                  f"{site['facility_energy_mwh']:,.1f}", peak,
                  f"{site['grid_connection_mw']:.2f}",
                  "—" if cap is None else f"{cap:.2f}",
                  Text(f"{over_h:,.2f}", style="bold red" if over_h > 0 else ""))
    parts.append(s)
    with_energy = [site for site in summary["sites"] if site.get("energy")]
    if with_energy:
        e = Table(title="energy", header_style="bold")
        for col in ("site", "PUE", "renewable", "import MWh", "export MWh", "curtailed MWh",
                    "t CO2e", "cost", "water m3"):
            e.add_column(col, justify="right")
        for site in with_energy:
            en = site["energy"]
            cost = en.get("cost_usd")
            carbon, water = en.get("carbon_t"), en.get("water_m3")
            e.add_row(site["name"], f"{en.get('mean_pue', float('nan')):.2f}",
                      f"{100 * en.get('renewable_share', 0.0):.1f}%",
                      f"{en.get('grid_import_mwh', 0.0):,.1f}",
                      f"{en.get('grid_export_mwh', 0.0):,.1f}",
                      f"{en.get('curtailed_mwh', 0.0):,.1f}",
                      "n/a" if carbon is None else f"{carbon:,.1f}",
                      "n/a" if cost is None else f"${cost:,.0f}",
                      "n/a" if water is None else f"{water:,.1f}")
        parts.append(e)
        bare = [site["name"] for site in with_energy
                if site["energy"].get("energy_section") is False]
        if bare:
            parts.append(Text(f"{', '.join(bare)}: no energy section; all power from the grid, "
                              "cost and water not computed (n/a), carbon at the country's "
                              "grid intensity where known; totals leave them out"))
    if summary.get("failures"):
        f = Table(title="failures", header_style="bold")
        f.add_column("", justify="left")
        f.add_column("", justify="right")
        for label, value in failure_rows(summary["failures"]):
            f.add_row(label, value)
        parts.append(f)
    parts += _event_lines(summary)
    parts.append(Text(f"GPU allocation {100 * summary['gpu_allocation_util']:.1f}%  "
                      f"compute util {100 * summary['gpu_compute_util']:.1f}%  "
                      f"jobs rejected {summary['jobs']['rejected']}, "
                      f"training jobs cut off at the horizon {summary['jobs']['truncated']}"
                      + (f", inference services rejected {services['rejected']}"
                         if (services := summary.get("services")) and services["rejected"]
                         else "")))
    return Group(*parts)
