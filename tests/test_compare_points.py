"""With a ``--set`` grid, compare's plots name their point (in the title and the file
name) and compare.md and compare.json list each point's plots."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure

from emulator.compare_output import write_compare
from emulator.compare_plots import plot_index, short_keys
from emulator.outputs import verify
from emulator.plots import fit_title
from tests.test_compare_cells import two_seed_result

INTERVAL = "tenants.emea-research.training.0.checkpoint_interval"
SPARES = "sites.0.failures.spares"


def test_grid_plots_name_their_point(tmp_path: Path) -> None:
    result = two_seed_result([f"{INTERVAL}=10m,1h", f"{SPARES}=0,36"])
    out = tmp_path / "cmp"
    names = sorted(p.name for p in write_compare(out, result) if p.suffix == ".png")
    assert "timeseries_2_checkpoint_interval=1h_spares=0.png" in names
    assert "jct_cdf_1_checkpoint_interval=10m_spares=36.png" in names and len(names) == 8
    assert verify(out) == []
    md = (out / "compare.md").read_text()
    assert ("- checkpoint_interval=1h, spares=0: [jct_cdf_2_checkpoint_interval=1h_spares=0"
            ".png](jct_cdf_2_checkpoint_interval=1h_spares=0.png), [timeseries_2_") in md
    assert f"`spares` = `{SPARES}`" in md
    grid = json.loads((out / "compare.json").read_text())["grid"]
    assert grid[2]["caption"] == "checkpoint_interval=1h, spares=0"
    assert grid[2]["plots"]["timeseries"] == "timeseries_2_checkpoint_interval=1h_spares=0.png"
    assert grid[2]["values"] == {INTERVAL: "1h", SPARES: "0"}


def test_file_names_stay_safe_and_short() -> None:
    result = two_seed_result(["tenants.eu.inference.0.rate=7/d,'[8, 16]'",
                      "tenants.lab.inference.0.rate=1/s,2/s"])
    names = [n for entry in plot_index(result) for n in entry.files.values()]
    assert all(len(n) <= 80 and "/" not in n and " " not in n for n in names)
    # key=value pairs would be long here: only the values, for every point alike
    assert names[:4] == ["jct_cdf_0_7-d_1-s.png", "timeseries_0_7-d_1-s.png",
                         "jct_cdf_1_7-d_2-s.png", "timeseries_1_7-d_2-s.png"]
    assert "jct_cdf_2_8-16_1-s.png" in names


def test_short_keys_tell_keys_apart() -> None:
    assert short_keys([INTERVAL, SPARES]) == {INTERVAL: "checkpoint_interval",
                                              SPARES: "spares"}
    assert short_keys(["a.x.rate", "b.x.rate", "c.jobs.0"]) == {
        "a.x.rate": "a.x.rate", "b.x.rate": "b.x.rate", "c.jobs.0": "jobs.0"}


def test_a_long_title_fits_its_figure() -> None:
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    ax.set_ylabel("fraction of finished jobs")
    text = fit_title(fig, ax, "GPU allocation and queue, mean over seeds\n("
                     + ", ".join(f"{INTERVAL}{i}=10m" for i in range(3)) + ")")
    box = text.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.get_figwidth() * fig.dpi
    assert box.y1 <= fig.get_figheight() * fig.dpi
