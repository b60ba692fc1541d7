"""The HTML run report: built from a run folder only, every figure drawn or explained."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.outputs import verify
from emulator.report.assemble import BUILDERS, build_figures, report_files
from emulator.report.fig_cluster import GanttLayout, gantt_layout
from emulator.report.fig_latency import binned_percentiles
from emulator.report.figure import MAX_POINTS, bin_mean
from emulator.report.html import render_html
from emulator.report.rundata import RunData, load_run
from emulator.report.segments import Segments, job_segments, outages
from emulator.tables import infra_table
from tests.conftest import one_error_line, small_scenario
from tests.report_run import CUT_AT_S, UNTIL_S, gpuemu, make_run
from topologies.reliability import COMPONENTS

_PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report") / "run")


def test_run_report_is_self_contained_and_in_the_result_set(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    pngs = sorted(run_dir.glob("report-*.png"))
    assert len(pngs) == len(BUILDERS)  # this run records what every figure needs
    embedded = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    assert sorted(base64.b64decode(b) for b in embedded) == sorted(p.read_bytes() for p in pngs)
    # Offline: no reference to anything outside the file.
    assert not re.search(r"""(src|href)=['"](https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert verify(run_dir) == []  # report files are part of the checksummed set


def test_report_from_the_files_equals_the_one_written_with_the_run(run_dir: Path) -> None:
    """``run --report`` drew from the run's in-memory tables; ``report`` reads the folder:
    byte-identical files show the report depends on nothing but what the run wrote."""
    for name, content in report_files(load_run(run_dir)).items():
        assert (run_dir / name).read_bytes() == content, name


def test_every_figure_is_a_png_with_a_caption(run_dir: Path) -> None:
    figures = build_figures(load_run(run_dir))
    assert [f.slug for f in figures] == ["power", "cost", "racks", "queues", "latency",
                                         "jct", "gantt"]
    for f in figures:
        assert f.png is not None and f.png.startswith(_PNG), (f.slug, f.note)
        assert f.caption and not f.note


def test_gantt_segments_add_up_to_each_jobs_gpu_seconds(run_dir: Path) -> None:
    data = load_run(run_dir)
    seg = job_segments(data)
    jobs = data.columns("jobs", ["work_id", "gpu_s"])
    held = np.bincount(seg.work_id, weights=(seg.end_s - seg.start_s) * seg.gpus,
                       minlength=int(jobs["work_id"].max()) + 1)
    assert seg.size > 20 and np.all(seg.end_s >= seg.start_s)
    np.testing.assert_allclose(held[jobs["work_id"]], jobs["gpu_s"], rtol=1e-9, atol=1e-6)


def _no_bar_hides_another(seg: Segments, layout: GanttLayout) -> None:
    """Bars on one Gantt row never overlap in time."""
    for r in np.unique(layout.row).tolist():
        on = layout.keep[layout.row == r]
        order = on[np.argsort(seg.start_s[on], kind="stable")]
        assert np.all(seg.start_s[order][1:] >= seg.end_s[order][:-1]), r


def test_gantt_gives_work_sharing_a_domain_its_own_row(run_dir: Path) -> None:
    """Two services held domain 0 for the whole run while jobs came and went on it: each
    on a row (lane) of its own, none hidden behind another; on the real run too."""
    domain = np.array([0, 0, 0, 0, 1])
    start, end = np.array([0.0, 0.0, 10.0, 60.0, 0.0]), np.array([100.0, 100, 50, 90, 80])
    seg = Segments(work_id=np.arange(5), domain=domain, gpus=np.array([48, 8, 8, 16, 72]),
                   start_s=start, end_s=end)
    layout = gantt_layout(seg)
    assert layout.keep.tolist() == [0, 1, 2, 3, 4] and not layout.notes
    assert layout.domain_of_row.tolist() == [0, 0, 0, 1]
    assert len(set(layout.row[:2].tolist())) == 2  # the two services apart
    _no_bar_hides_another(seg, layout)
    real = job_segments(load_run(run_dir))
    real_layout = gantt_layout(real)
    assert not real_layout.notes  # a small run: every bar drawn
    assert set(np.flatnonzero(real.end_s > real.start_s).tolist()) <= set(
        real_layout.keep.tolist())
    _no_bar_hides_another(real, real_layout)


def test_gantt_rows_are_capped_and_the_caption_says_so() -> None:
    n = 40  # domains, each with three jobs at once
    domain = np.repeat(np.arange(n), 3)
    seg = Segments(work_id=np.arange(3 * n), domain=domain, gpus=np.full(3 * n, 8),
                   start_s=np.zeros(3 * n), end_s=np.repeat(np.arange(n, 0, -1.0), 3))
    layout = gantt_layout(seg, max_rows=10)
    assert layout.rows == 9 and set(layout.domain_of_row.tolist()) == {0, 1, 2}
    assert "the 3 busiest of 40 domains" in layout.notes[0]
    one = Segments(work_id=np.arange(20), domain=np.zeros(20, np.int64),
                   gpus=np.ones(20, np.int64), start_s=np.zeros(20), end_s=np.ones(20))
    lone = gantt_layout(one, max_rows=5)
    assert lone.rows == 5 and lone.keep.size == 5 and "5 of domain 0's 20 lanes" in lone.notes[0]


def test_open_cable_cut_runs_to_the_end_of_the_run(run_dir: Path) -> None:
    spans = outages(load_run(run_dir))
    assert [(o.kind, o.label) for o in spans] == [("cable", "medusa")]
    assert spans[0].start_s == pytest.approx(CUT_AT_S)
    assert spans[0].end_s == pytest.approx(UNTIL_S)


def test_outages_pair_gpu_failures_and_maintenance() -> None:
    infra = {"t_s": np.array([10.0, 20.0, 30.0, 40.0, 50.0]),
             "event": np.array(["gpus_down", "gpus_down", "gpus_up", "gpus_up",
                                "gpus_down"], dtype=object),
             "subject": np.full(5, -1), "value": np.array([72.0, 8.0, 72.0, 8.0, 4.0]),
             "label": np.array(["maintenance", "failure", "maintenance", "failure",
                                "failure"], dtype=object)}
    data = RunData(summary={"simulated_s": 100.0}, tables={"infra": infra})
    got = [(o.kind, o.label, o.start_s, o.end_s, o.value) for o in outages(data)]
    assert got == [("gpus", "maintenance", 10.0, 30.0, 72.0), ("gpus", "failure", 20.0, 40.0,
                                                                8.0),
                   ("gpus", "failure", 50.0, 100.0, 4.0)]


def _infra(rows: list[tuple[Any, ...]]) -> RunData:
    """A run of 100 s whose infra table holds ``rows`` (t, event, subject, value, label,
    and optionally the GPUs a row concerns: gpu_first, gpu_last)."""
    columns = list(zip(*rows, strict=True))
    names = ("t_s", "event", "subject", "value", "label", "gpu_first", "gpu_last")
    infra = {name: np.array(col, dtype=object if name in ("event", "label") else None)
             for name, col in zip(names, columns, strict=False)}
    return RunData(summary={"simulated_s": 100.0}, tables={"infra": infra})


def test_drains_close_when_their_target_is_restored() -> None:
    """A drain is logged as ``drain TARGET`` and its end as ``restore TARGET``: the window
    closes there (not at the end of the run), also when a whole hall is restored."""
    data = _infra([(10.0, "drain", -1, 72.0, "drain rack:s/h/0"),
                   (10.0, "drain", -1, 72.0, "drain rack:s/h/1"),
                   (20.0, "drain", -1, 4.0, "drain tray:s/h/2/1"),
                   (30.0, "undrain", -1, 72.0, "restore rack:s/h/1"),
                   (40.0, "undrain", -1, 72.0, "restore rack:s/h/0"),
                   (50.0, "undrain", -1, 4.0, "restore hall:s/h")])
    got = [(o.label, o.start_s, o.end_s) for o in outages(data)]
    assert got == [("maintenance: rack:s/h/0", 10.0, 40.0),
                   ("maintenance: rack:s/h/1", 10.0, 30.0),
                   ("maintenance: tray:s/h/2/1", 20.0, 50.0)]


def test_a_timed_drain_end_closes_its_own_window_only() -> None:
    """The end of a timed drain is logged under the drain's label: it closes that window,
    not a later window on the same rack nor a rack's window inside a hall's."""
    data = _infra([(10.0, "drain", -1, 72.0, "drain rack:s/h/0", 0, 71),
                   (20.0, "drain", -1, 144.0, "drain hall:s/h", 0, 143),
                   (30.0, "drain", -1, 72.0, "drain rack:s/h/0", 0, 71),
                   (30.0, "undrain", -1, 72.0, "drain rack:s/h/0", 0, 71),
                   (40.0, "undrain", -1, 144.0, "drain hall:s/h", 0, 143),
                   (60.0, "undrain", -1, 72.0, "drain rack:s/h/0", 0, 71)])
    got = [(o.label, o.start_s, o.end_s) for o in outages(data)]
    assert got == [("maintenance: rack:s/h/0", 10.0, 30.0),
                   ("maintenance: hall:s/h", 20.0, 40.0),
                   ("maintenance: rack:s/h/0", 30.0, 60.0)]


def test_a_run_shades_back_to_back_drains_as_the_rack_was_held(tmp_path: Path) -> None:
    """End to end: two timed drains of one rack back to back are shaded 2 h–6 h and
    6 h–10 h, as the rack stayed out of service (not ended at 6 h by the first's end)."""
    rows = [{"at": "2h", "target": "rack:bizerte-20mw/hall-a/0", "action": "drain",
             "duration": "4h"},
            {"at": "6h", "target": "rack:bizerte-20mw/hall-a/0", "action": "drain",
             "duration": "4h"}]
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": rows}))
    sim = build(validate_scenario(small_scenario(duration="12h")), events_file=events)
    sim.run()
    infra = {k: np.asarray(v) for k, v in infra_table(sim.log).items()}
    data = RunData(summary={"simulated_s": 12 * 3600.0}, tables={"infra": infra})
    got = [(o.label, o.start_s, o.end_s) for o in outages(data)]
    rack = "maintenance: rack:bizerte-20mw/hall-a/0"
    assert got == [(rack, 7200.0, 21600.0), (rack, 21600.0, 36000.0)]


def test_a_cable_cut_twice_is_shaded_until_its_last_repair() -> None:
    """Two cut windows of one cable back to back (the second cut logged before the first
    window's repair, at the same instant) or overlapping: the cable stays cut until the
    last repair, as the WAN keeps it, so the shading runs to that repair."""
    data = _infra([(10.0, "cable_cut", -1, np.nan, "medusa", -1, -1),
                   (30.0, "cable_cut", -1, np.nan, "medusa", -1, -1),
                   (30.0, "cable_repair", -1, np.nan, "medusa", -1, -1),
                   (50.0, "cable_repair", -1, np.nan, "medusa", -1, -1),
                   (60.0, "cable_cut", -1, np.nan, "medusa", -1, -1),
                   (70.0, "cable_repair", -1, np.nan, "medusa", -1, -1)])
    got = [(o.kind, o.label, o.start_s, o.end_s) for o in outages(data)]
    assert got == [("cable", "medusa", 10.0, 50.0), ("cable", "medusa", 60.0, 70.0)]


def test_only_failures_that_take_gpus_down_are_shaded_as_outages() -> None:
    """A software fault (restart) and a switch (scale-out) take no GPU out of service: no
    span, as the summary's ``outages`` counts them; an injected failure closes at the
    operator's restore of its target."""
    code = {name: COMPONENTS.index(name) for name in ("gpu", "switch", "software")}
    data = _infra([(5.0, "failure", code["software"], 1.0, "software"),
                   (10.0, "failure", code["switch"], 32.0, "switch"),
                   (15.0, "failure", code["gpu"], 1.0, "gpu"),
                   (20.0, "failure", -1, 72.0, "fail rack:s/h/0"),
                   (25.0, "repair", code["gpu"], 1.0, "gpu"),
                   (30.0, "repair", code["switch"], 32.0, "switch"),
                   (35.0, "repair", -1, 72.0, "restore rack:s/h/0")])
    got = [(o.kind, o.label, o.start_s, o.end_s, o.value) for o in outages(data)]
    assert got == [("gpus", "gpu", 15.0, 25.0, 1.0),
                   ("gpus", "rack:s/h/0", 20.0, 35.0, 72.0)]


def test_sampled_failures_end_at_a_restore_of_a_target_holding_their_gpus() -> None:
    """A sampled failure is keyed by its class; the log says which GPUs it struck
    (``gpu_first``/``gpu_last``), so an operator's restore of a rack holding them ends
    it, the repair it had due later closes nothing, a failure outside the rack runs on
    to its own repair, and repairs pair with their failures by GPU, not in log order."""
    gpu = COMPONENTS.index("gpu")
    rows = [(10.0, "failure", gpu, 1.0, "gpu", 5, 5),
            (12.0, "failure", gpu, 1.0, "gpu", 100, 100),
            (14.0, "failure", gpu, 1.0, "gpu", 150, 150),
            (30.0, "repair", -1, 1.0, "restore rack:s/h/0", 0, 71),
            (40.0, "repair", gpu, 1.0, "gpu", 150, 150),  # a spare: before the older one
            (60.0, "repair", gpu, 1.0, "gpu", 5, 5),  # due after the restore: nothing
            (70.0, "repair", gpu, 1.0, "gpu", 100, 100)]
    data = _infra(rows)
    got = [(o.label, o.start_s, o.end_s) for o in outages(data)]
    assert got == [("gpu", 10.0, 30.0), ("gpu", 12.0, 70.0), ("gpu", 14.0, 40.0)]


def test_the_end_of_a_timed_failure_is_no_restore_of_what_else_is_down() -> None:
    """A planned ``fail rack:…`` with a duration logs its own repair under the same
    label: it ends that failure, not a sampled failure inside the rack (still down
    until its repair); a ``restore`` of the rack would end both."""
    gpu = COMPONENTS.index("gpu")
    rows = [(10.0, "failure", gpu, 1.0, "gpu", 5, 5),
            (20.0, "failure", -1, 72.0, "fail rack:s/h/0", 0, 71),
            (30.0, "repair", -1, 72.0, "fail rack:s/h/0", 0, 71),
            (50.0, "repair", gpu, 1.0, "gpu", 5, 5)]
    data = _infra(rows)
    got = [(o.label, o.start_s, o.end_s) for o in outages(data)]
    assert got == [("gpu", 10.0, 50.0), ("rack:s/h/0", 20.0, 30.0)]


def test_binned_percentiles_are_exact_per_bin() -> None:
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 100, 5000)
    v = rng.lognormal(0, 1, 5000)
    v[rng.random(5000) < 0.05] = np.nan  # unreachable: left out
    edges = np.linspace(0, 100, 11)
    got = binned_percentiles(t, v, edges, (0.5, 0.99))
    for b in range(10):
        sel = (t >= edges[b]) & (t < edges[b + 1]) & ~np.isnan(v)
        np.testing.assert_allclose(got[:, b], np.percentile(v[sel], [50, 99]), rtol=1e-12)
    empty = binned_percentiles(t, v, np.array([0.0, 100.0, 200.0]))
    assert np.isnan(empty[:, 1]).all()


def test_long_series_are_binned_to_a_bounded_size() -> None:
    t = np.arange(100_000, dtype=float)
    v = np.sin(t / 1000.0) + 2
    bt, bv = bin_mean(t, v, horizon_s=100_000.0)
    assert bt.size <= MAX_POINTS and np.all(np.diff(bt) > 0)
    assert bv.mean() == pytest.approx(v.mean(), rel=1e-3)
    short_t, short_v = bin_mean(t[:10], v[:10], 10.0)  # short: drawn as they are
    assert np.array_equal(short_t, t[:10]) and np.array_equal(short_v, v[:10])


def test_figures_the_run_cannot_support_say_why(run_dir: Path) -> None:
    """Without an energy model, request rows or rack samples: notes, not made-up plots."""
    full = load_run(run_dir)
    summary = json.loads(json.dumps(full.summary))
    for site in summary["sites"]:
        site.pop("energy", None)
    tables = {n: full.columns(n) for n in ("jobs", "events", "placements", "timeseries")}
    data = RunData(summary=summary, start=full.start, tables=tables)
    by = {f.slug: f for f in build_figures(data)}
    assert by["power"].png is not None and "no energy section" in by["power"].caption
    assert by["cost"].png is None and "no site has an energy section" in by["cost"].note
    assert by["racks"].png is None and "rack_series" in by["racks"].note
    assert by["latency"].png is None and "output.requests: false" in by["latency"].note
    assert by["gantt"].png is not None and by["jct"].png is not None
    html = render_html(data, list(by.values()))
    assert html.count("class='omitted'") == 3 and "Not drawn: the run kept no per-rack" in html


def test_report_command_writes_elsewhere_or_into_the_set(run_dir: Path,
                                                         tmp_path: Path) -> None:
    done = gpuemu("report", str(run_dir), "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "report.html").is_file()
    assert len(list((tmp_path / "r").glob("report-*.png"))) == len(BUILDERS)
    assert "wrote" in done.stdout
    again = gpuemu("report", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert verify(run_dir) == []


def _contents(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()}


def test_report_refuses_to_write_into_another_runs_result_set(run_dir: Path,
                                                              tmp_path: Path) -> None:
    """``--out`` naming another run's folder (or a folder inside one) would mix two runs'
    reports and break that set's manifest: one line, exit 2, nothing touched. ``--out``
    naming RUN_DIR itself adds to its set, manifest included."""
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    before = _contents(other)
    for out in (other, other / "sub"):
        line = one_error_line(gpuemu("report", str(run_dir), "--out", str(out)))
        assert "--out" in line and "result set" in line, line
    assert _contents(other) == before and verify(other) == []
    line = one_error_line(gpuemu("export", str(run_dir), "--perfetto", "--out",
                                 str(other / "t.json")))
    assert "--out" in line and _contents(other) == before
    same = gpuemu("report", str(run_dir), "--out", str(run_dir))
    assert same.returncode == 0, same.stderr
    assert verify(run_dir) == []


def test_report_on_a_damaged_result_set_names_the_missing_file(run_dir: Path,
                                                              tmp_path: Path) -> None:
    """A table the manifest lists is gone: the set is damaged (not a run without that
    table), and nothing is written."""
    copy = tmp_path / "damaged"
    shutil.copytree(run_dir, copy)
    (copy / "events.parquet").unlink()
    before = _contents(copy)
    for command in (("report",), ("export", "--perfetto")):
        line = one_error_line(gpuemu(command[0], str(copy), *command[1:]))
        assert "events.parquet" in line and "damaged" in line, line
    assert _contents(copy) == before


def test_a_figure_left_out_takes_its_earlier_png_away(run_dir: Path, tmp_path: Path) -> None:
    """A run without per-rack samples gets no heat map: the PNG of an earlier report leaves
    the folder and its manifest, and an --out folder's earlier copy goes too."""
    copy = tmp_path / "norack"
    shutil.copytree(run_dir, copy)
    (copy / "rack_util.parquet").unlink()
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["rack_util.parquet"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert (copy / "report-racks.png").is_file() and verify(copy) == []
    done = gpuemu("report", str(copy))
    assert done.returncode == 0 and "left out: racks" in done.stdout, done.stderr
    assert not (copy / "report-racks.png").exists() and verify(copy) == []
    elsewhere = tmp_path / "r"
    shutil.copytree(run_dir, elsewhere, ignore=lambda _d, names: [
        n for n in names if not n.startswith("report")])
    assert (elsewhere / "report-racks.png").is_file()
    assert gpuemu("report", str(copy), "--out", str(elsewhere)).returncode == 0
    assert not (elsewhere / "report-racks.png").exists()


@pytest.mark.parametrize("make, expected", [
    (lambda p: p, "not a folder"),
    (lambda p: (p.mkdir(), p)[1], "no summary.json"),
    (lambda p: (p.mkdir(), (p / "summary.json").write_text("[1"), p)[2], "cannot be read"),
])
def test_report_on_a_bad_folder_is_one_line(tmp_path: Path, make, expected: str) -> None:
    folder = make(tmp_path / "x")
    done = gpuemu("report", str(folder))
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_run_folder_reader_takes_datetimes_and_nulls(tmp_path: Path) -> None:
    """Time columns stored as timestamps read back as seconds from the scenario start;
    nulls in numeric columns (an unreachable request's TTFT) read as NaN."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    start = dt.datetime(2025, 9, 22, tzinfo=dt.UTC)
    stamps = [start + dt.timedelta(seconds=s) for s in (0.0, 90.5, 86400.0)]
    pq.write_table(pa.table({"arrival_s": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                             "ttft_s": pa.array([0.1, None, 0.3], pa.float64()),
                             "n": pa.array([1, None, 3], pa.int64())}),
                   tmp_path / "requests.parquet")
    (tmp_path / "summary.json").write_text(json.dumps({"simulated_s": 86400.0}))
    (tmp_path / "scenario.resolved.yaml").write_text("# header\nstart: 2025-09-22\n")
    data = load_run(tmp_path)
    assert data.start == start
    cols = data.columns("requests")
    np.testing.assert_allclose(cols["arrival_s"], [0.0, 90.5, 86400.0])
    assert np.isnan(cols["ttft_s"][1]) and np.isnan(cols["n"][1]) and cols["n"][2] == 3
    assert data.rows("requests") == 3 and data.columns("energy") == {}
