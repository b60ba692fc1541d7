"""The self-contained HTML page of a run report.

Every figure is embedded as a base64 ``data:`` URI, the style sheet is inline and nothing
is fetched from the network, so the file opens offline and can be mailed on its own.
Figures left out appear as a boxed note saying why. A small inline script, run when the
page has loaded, writes each image's decoded width into ``<pre id="image-check">``, so a
headless browser's dumped DOM shows whether every figure decoded.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

from emulator.report.figure import Figure
from emulator.report.rundata import RunData
from emulator.units import format_adaptive_duration

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:980px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em}
.meta{color:#555} table{border-collapse:collapse;font-size:.9em;margin:.6em 0}
td,th{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:right}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em} .omitted{border:1px dashed #c90;background:#fff8e6;
padding:.6em 1em;color:#6a4b00} nav a{margin-right:1em} #image-check{display:none}
"""

_CHECK = """
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img[data-figure]').forEach(function (img) {
    out.push(img.getAttribute('data-figure') + '=' +
             (img.complete && img.naturalWidth > 0 ? img.naturalWidth : 0));
  });
  document.getElementById('image-check').textContent = out.join(' ');
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _key_figures(summary: dict[str, Any]) -> str:
    rows = []
    for name, t in summary.get("tenants", {}).items():
        req = t.get("requests", {})
        jct = t.get("jct_s", {})
        wait = t.get("wait_s", {})
        targets = ", ".join(f"TTFT ≤ {format_adaptive_duration(x['ttft_s'])}, TPOT ≤ "
                            f"{format_adaptive_duration(x['tpot_s'])}"
                            for x in req.get("slo_targets", []))
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{t.get('jobs', {}).get('finished', 0)}/"
            f"{t.get('jobs', {}).get('submitted', 0)}</td>"
            f"<td>{_e(format_adaptive_duration(jct.get('p50')))}</td>"
            f"<td>{_e(format_adaptive_duration(wait.get('mean')))}</td>"
            f"<td>{req.get('count', 0):,}</td><td>{_e(_pct(req.get('slo_attainment')))}</td>"
            f"<td>{_e(targets or '—')}</td><td>{100 * t.get('gpu_share', 0.0):.1f}%</td></tr>")
    head = ("<tr><th>tenant</th><th>jobs done/sub</th><th>JCT p50</th><th>wait mean</th>"
            "<th>requests</th><th>SLO met (unreachable = miss)</th><th>SLO target</th>"
            "<th>GPU share</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _stopped_early(summary: dict[str, Any]) -> str:
    """What the meta line says when the run covers less than its scenario: a stop at
    ``--until``, an interrupted run kept with ``--keep-partial``, or every job ended
    before the planned end (``engine.stop_when_done``); empty otherwise."""
    run = summary.get("run", {})
    text = ""
    if run.get("until"):
        text += f" · stopped early at --until {_e(run['until'])}"
    if run.get("partial"):
        text += (f" · <strong>partial</strong>: interrupted by "
                 f"{_e(run.get('interrupted_by') or 'a signal')}, results up to "
                 f"{_e(format_adaptive_duration(run.get('reached_s')))} simulated")
    early = summary.get("ended_early")
    if isinstance(early, dict):
        text += (f" · ended early: {_e(early.get('reason', ''))}, planned "
                 f"{_e(format_adaptive_duration(early.get('planned_s')))}")
    return text


def render_html(data: RunData, figures: Sequence[Figure]) -> str:
    """The report page for ``data`` with ``figures`` (embedded) in order."""
    s = data.summary
    title = f"gpuemu report — {data.name}"
    meta = (f"seed {_e(s.get('seed', '?'))} · starts {_e(data.start.isoformat())} · "
            f"{_e(format_adaptive_duration(data.horizon_s))} simulated · "
            f"{s.get('total_gpus', 0):,} GPUs · GPU allocation "
            f"{100 * s.get('gpu_allocation_util', 0.0):.1f}% · policy "
            f"{_e(s.get('scheduler', {}).get('queue', '?'))}/"
            f"{_e(s.get('scheduler', {}).get('placement', '?'))}")
    meta += _stopped_early(s)
    nav = " ".join(f'<a href="#{_e(f.slug)}">{_e(f.title)}</a>' for f in figures)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class='meta'>{meta}</p><nav>{nav}</nav>",
             "<h2>Tenants</h2>", _key_figures(s)]
    for f in figures:
        parts.append(f"<h2 id='{_e(f.slug)}'>{_e(f.title)}</h2>")
        if f.png is None:
            parts.append(f"<p class='omitted' data-omitted='{_e(f.slug)}'>Not drawn: "
                         f"{_e(f.note)}.</p>")
            continue
        b64 = base64.b64encode(f.png).decode("ascii")
        parts.append(f"<figure><img data-figure='{_e(f.slug)}' alt='{_e(f.title)}' "
                     f"src='data:image/png;base64,{b64}'>"
                     f"<figcaption>{_e(f.caption)}</figcaption></figure>")
    parts.append(f"<pre id='image-check'></pre><script>{_CHECK}</script></body></html>")
    return "\n".join(parts)
