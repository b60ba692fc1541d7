"""Energy figures: site power against its cap with renewables and grid flows; energy cost.

Power comes from the energy table (sites with an ``energy`` section: facility demand,
the power cap, renewable generation, grid import and export, curtailment, all in W per
sample). A run without an energy model still has facility power in the timeseries
table: the figure then shows it against the grid connection, and says that solar,
import and export were not modelled. Cost comes from the summary's per-site energy
figures (PPA take-or-pay, imports, export revenue, US$); per tenant it is shared out by
GPU-hours held, the only per-tenant measure of use a run records: with several sites,
each site's cost by the GPU-hours held at that site.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.report.figure import Figure, bin_mean, new_figure, omitted, png, time_axis
from emulator.report.rundata import RunData

__all__ = ["cost_figure", "power_figure"]

_MAX_SITES = 6
_FLOWS = (("demand_w", "facility demand", "black", "-"),
          ("renewable_w", "renewable (solar/wind)", "goldenrod", "-"),
          ("import_w", "grid import", "tab:red", "-"),
          ("export_w", "grid export", "tab:green", "-"),
          ("curtailed_w", "curtailed", "tab:gray", ":"))


def power_figure(data: RunData) -> Figure:
    """Facility power per site against its cap, with renewables, import, export, curtailment."""
    slug, title = "power", "Site power against cap"
    sites = [s["name"] for s in data.summary.get("sites", [])]
    if not sites:
        return omitted(slug, title, "the summary lists no sites")
    energy = data.columns("energy", ["t_s", "site", "cap_w", *(f for f, *_ in _FLOWS)])
    scale, xlabel = time_axis(data)
    shown = sites[:_MAX_SITES]
    fig = new_figure(9.0, 2.6 * len(shown) + 0.6)
    axes = fig.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    no_energy: list[str] = []
    for ax, site in zip(axes, shown, strict=True):
        row = next(s for s in data.summary["sites"] if s["name"] == site)
        grid_w = float(row.get("grid_connection_mw", float("nan"))) * 1e6
        sel = energy["site"] == site if energy else np.zeros(0, dtype=bool)
        if energy and sel.any():
            t = energy["t_s"][sel]
            for name, label, colour, style in _FLOWS:
                bt, v = bin_mean(t, energy[name][sel], data.horizon_s)
                ax.plot(bt / scale, v / 1e6, color=colour, ls=style, lw=1.2, label=label)
            cap = energy["cap_w"][sel]
            if np.isfinite(cap).any():
                bt, v = bin_mean(t, np.where(np.isfinite(cap), cap, np.nan), data.horizon_s)
                ax.step(bt / scale, v / 1e6, where="post", color="tab:purple", lw=1.5,
                        label="power cap")
        else:
            no_energy.append(site)
            ts = data.columns("timeseries", ["t_s", "site", "facility_w"])
            if ts:
                s = ts["site"] == site
                bt, v = bin_mean(ts["t_s"][s], ts["facility_w"][s], data.horizon_s)
                ax.plot(bt / scale, v / 1e6, color="black", lw=1.2, label="facility power")
        if np.isfinite(grid_w):
            ax.axhline(grid_w / 1e6, color="tab:purple", ls="--", lw=1.0,
                       label="grid connection")
        ax.set_ylabel("MW")
        ax.set_title(site, fontsize="medium", loc="left")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small", loc="upper right", ncol=3)
    axes[-1].set_xlabel(xlabel)
    caption = ("Interval means (W → MW) per site; the purple step is the configured power "
               "cap, the dashed line the grid connection.")
    if no_energy:
        caption += (f" {', '.join(no_energy)}: no energy section, so solar, import, export "
                    "and curtailment were not modelled; facility power is shown alone.")
    if len(sites) > len(shown):
        caption += f" First {len(shown)} of {len(sites)} sites shown."
    return Figure(slug, title, caption, png(fig))


def _cost_parts(site: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """A site's (PPA, imports, battery's starting charge drawn, export revenue), US$; the
    starting-charge part is 0 in summaries written before it was booked."""
    e = site.get("energy") or {}
    keys = ("cost_ppa_usd", "cost_import_usd", "export_revenue_usd")
    if not all(k in e for k in keys):
        return None
    return (float(e["cost_ppa_usd"]), float(e["cost_import_usd"]),
            float(e.get("cost_initial_charge_usd") or 0.0), float(e["export_revenue_usd"]))


def _tenant_shares(tenants: dict[str, Any], net: dict[str, float], hours: dict[str, float]
                   ) -> tuple[dict[str, float], bool]:
    """``({tenant: US$}, by site)``: each costed site's net cost shared out by the GPU-hours
    each tenant held there (``gpu_hours_by_site``, several sites); a site where no GPU-hour
    was held, or a summary without the split, by the GPU-hours held anywhere."""
    total_h = sum(hours.values())
    split = {t: v.get("gpu_hours_by_site") for t, v in tenants.items()}
    by_site = len(net) > 0 and all(isinstance(m, dict) for m in split.values())
    shares = dict.fromkeys(hours, 0.0)
    rest = 0.0
    for site, cost in net.items():
        held = {t: float(m.get(site, 0.0)) for t, m in split.items()} if by_site else {}
        site_h = sum(held.values())
        if site_h > 0:
            for t, h in held.items():
                shares[t] += cost * h / site_h
        else:
            rest += cost
    for t, h in hours.items():
        shares[t] += rest * h / total_h
    return {t: v for t, v in shares.items() if hours[t] > 0}, by_site


def cost_figure(data: RunData) -> Figure:
    """Energy cost by part per site, then shared out per tenant, and per GPU-hour."""
    slug, title = "cost", "Energy cost breakdown"
    sites = data.summary.get("sites", [])
    parts = {s["name"]: _cost_parts(s) for s in sites}
    parts = {k: v for k, v in parts.items() if v is not None}
    if not parts:
        why = ("no site has an energy section (prices, PPA and grid flows are not modelled)"
               if not any(s.get("energy") for s in sites) else
               "the summary has no cost parts (written by an older version of gpuemu)")
        return omitted(slug, title, why)
    names = list(parts)
    ppa = np.array([parts[n][0] for n in names])
    imp = np.array([parts[n][1] for n in names])
    initial = np.array([parts[n][2] for n in names])
    exp = np.array([parts[n][3] for n in names])
    net = ppa + imp + initial - exp
    fig = new_figure(9.0, 3.8)
    ax_site, ax_tenant = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    x = np.arange(len(names))
    ax_site.bar(x, ppa, color="goldenrod", label="PPA (take-or-pay)")
    ax_site.bar(x, imp, bottom=ppa, color="tab:red", label="grid imports")
    if np.any(initial != 0):
        ax_site.bar(x, initial, bottom=ppa + imp, color="tab:purple",
                    label="battery's starting charge drawn")
    ax_site.bar(x, -exp, color="tab:green", label="export revenue")
    ax_site.scatter(x, net, color="black", marker="D", zorder=3, label="net cost")
    ax_site.axhline(0, color="black", lw=0.8)
    top = float(max((ppa + imp + np.maximum(initial, 0.0)).max(), net.max(), 0.0))
    bottom = float(min((-exp).min(), (ppa + imp + np.minimum(initial, 0.0)).min(), 0.0))
    pad = 0.12 * max(top - bottom, 1.0)
    ax_site.set_ylim(bottom - (pad if bottom < 0 else 0.0), top + pad)
    ax_site.set_xticks(x, names, fontsize="small")
    ax_site.set_ylabel("US$")
    ax_site.set_title("per site", fontsize="medium", loc="left")
    ax_site.legend(fontsize="x-small")
    ax_site.grid(True, axis="y", alpha=0.3)
    tenants = data.summary.get("tenants", {})
    hours = {t: float(v.get("gpu_hours", 0.0)) for t, v in tenants.items()}
    total_h = sum(hours.values())
    total = float(net.sum())
    caption = (f"Net energy cost US${total:,.0f} = PPA US${ppa.sum():,.0f} + imports "
               f"US${imp.sum():,.0f}"
               + (f" + battery's starting charge drawn US${initial.sum():,.0f}"
                  if np.any(initial != 0) else "")
               + f" − export revenue US${exp.sum():,.0f}.")
    uncosted = [s["name"] for s in sites if s["name"] not in parts]
    if uncosted:
        caption += (f" Not costed: {', '.join(uncosted)} (no energy section, so no prices "
                    "were given).")
    if total_h > 0:
        shares, by_site = _tenant_shares(tenants, dict(zip(names, net.tolist(), strict=True)),
                                         hours)
        ax_tenant.barh(list(shares), list(shares.values()), color="tab:blue")
        ax_tenant.set_xlabel("US$ (shared by GPU-hours held)")
        ax_tenant.set_title("per tenant", fontsize="medium", loc="left")
        ax_tenant.grid(True, axis="x", alpha=0.3)
        caption += (f" Per GPU-hour held: US${total / total_h:,.3f} ({total_h:,.0f} GPU-h); "
                    + ("tenants are charged each site's net cost in proportion to the "
                       "GPU-hours they held there" if by_site else
                       "tenants are charged in proportion to the GPU-hours they held")
                    + " (idle GPUs' energy is shared the same way).")
    else:
        ax_tenant.set_axis_off()
        caption += " No GPU-hours were held, so there is no per-tenant or per-GPU-hour cost."
    return Figure(slug, title, caption, png(fig))
