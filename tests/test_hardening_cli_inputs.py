"""Bad input to the command line and the files it reads: one line naming the field, the
value and what was expected, exit 2, never a traceback.

One test per input that once produced a traceback, a message naming the wrong field, or a
silently wrong result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import load_scenario
from tests.conftest import one_error_line, run_cli, small_scenario


def _scenario(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data or small_scenario()))
    return path


@pytest.mark.parametrize("override,field", [
    ("sites.0.fabric.leaf_radix=1000000000000000000000000000000", "fabric.leaf_radix"),
    ("sites.0.fabric.racks_per_pod=1000000000000000000000000000000", "fabric.racks_per_pod"),
    ("sites.0.fabric.oversubscription=1e308", "fabric.oversubscription"),
    ("sites.0.failures.racks_per_feed=1000000000000000000000000000000",
     "failures.racks_per_feed"),
])
def test_huge_fabric_and_feed_sizes_are_refused_by_the_schema(tmp_path: Path, override: str,
                                                               field: str) -> None:
    """These once passed the schema and overflowed (OverflowError) while the site was built."""
    with pytest.raises(UserError) as info:
        load_scenario(_scenario(tmp_path), [override])
    assert field in str(info.value) and "less than or equal to 100000" in str(info.value)


@pytest.mark.parametrize("where,needle", [("folder", "is a folder"),
                                          ("under a file", "is a file")])
def test_dashboard_svg_place_is_checked_before_the_run(tmp_path: Path, where: str,
                                                       needle: str) -> None:
    """An unwritable --dashboard-svg once ended a finished run with a traceback (exit 1)."""
    (tmp_path / "notes.txt").write_text("x")
    svg = tmp_path if where == "folder" else tmp_path / "notes.txt" / "d.svg"
    out = tmp_path / "out"
    line = one_error_line(run_cli("run", "examples/tiresias_60.yaml", "--headless",
                                  "--dashboard-svg", str(svg), "--out", str(out)))
    assert line.startswith("error: --dashboard-svg:") and needle in line
    assert not out.exists()  # refused before anything ran


@pytest.mark.parametrize("content,needle", [
    (None, "is not a file"),                                   # a folder
    (b"\x7fELF\x02\x01\x01\x00\xd0\xff", "not UTF-8 text"),   # a binary file
    (b"t_s,power_w\n0,1\nx,2\n", "line 3: got 'x,2'"),         # a cell not a number
    (b"t_s,power_w\n0,1,3\n60,1\n", "line 2: 3 values"),       # a row of another width
    (b"t_s,power_w\n0,nan\n60,inf\n", "not finite"),           # NaN power: NaN energy
])
def test_solar_csv_problems_are_one_line_naming_the_file(tmp_path: Path, content: bytes | None,
                                                          needle: str) -> None:
    """A folder once raised IsADirectoryError; a binary file, a bad cell or a ragged row gave
    numpy's message without the file; NaN power ran and wrote NaN energy figures."""
    if content is None:
        csv = tmp_path / "pv"
        csv.mkdir()
    else:
        csv = tmp_path / "pv.csv"
        csv.write_bytes(content)
    data = small_scenario(duration="1h")
    data["sites"][0]["energy"] = {"solar": {"capacity": "1MW", "csv": str(csv)}}
    line = one_error_line(run_cli("validate", str(_scenario(tmp_path, data))))
    assert "solar.csv" in line and str(csv) in line and needle in line


def test_solar_csv_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    from emulator.energy.solar import csv_series
    from topologies.energy import SolarConfig

    csv = tmp_path / "pv.csv"
    csv.write_text("t_s,power_w\n# measured\n0,10\n\n60,20 # peak\n", encoding="utf-8")
    out = csv_series(SolarConfig(capacity=1e6, csv=str(csv)), np.array([0.0, 30.0]))
    assert out.tolist() == [10.0, 15.0]


@pytest.mark.parametrize("rows,needle", [
    ("0,0\n60,-50000\n", "line 3, column power_w: got -50000; expected -20000 to 1.5e+06 W"),
    ("0,9e11\n60,0\n", "line 2, column power_w: got 9e+11; expected -20000 to 1.5e+06 W"),
])
def test_solar_csv_power_beyond_the_plant_is_one_line(tmp_path: Path, rows: str,
                                                       needle: str) -> None:
    """A large negative (a sign or unit mistake) or a power far above the plant's rating
    (kW written as W) once ran, as an import or a plant 600,000 times larger."""
    csv = tmp_path / "pv.csv"
    csv.write_text("t_s,power_w\n" + rows, encoding="utf-8")
    data = small_scenario(duration="1h")
    data["sites"][0]["energy"] = {"solar": {"capacity": "1.2MW", "ac_capacity": "1MW",
                                            "csv": str(csv)}}
    line = one_error_line(run_cli("validate", str(_scenario(tmp_path, data))))
    assert "solar.csv" in line and str(csv) in line and needle in line


def test_solar_csv_night_standby_draw_reads_as_zero(tmp_path: Path) -> None:
    """Measured night values slightly below 0 (inverter standby) are the plant's own load,
    not power the site buys: read as 0 W; values a little over the rating are kept."""
    from emulator.energy.solar import csv_series
    from topologies.energy import SolarConfig

    csv = tmp_path / "pv.csv"
    csv.write_text("t_s,power_w\n0,-20000\n60,-300\n120,1100000\n180,0\n", encoding="utf-8")
    cfg = SolarConfig(capacity=1.2e6, ac_capacity=1e6, csv=str(csv))
    out = csv_series(cfg, np.array([0.0, 60.0, 120.0, 150.0]))
    assert out.tolist() == [0.0, 0.0, 1.1e6, 5.5e5]
    csv.write_text("t_s,fraction\n0,-0.01\n60,0.5\n120,-0.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 4, column fraction: got -0\.5; expected "
                                         r"-0\.0166667 to 1\.25 of capacity"):
        csv_series(cfg, np.array([0.0]))


def test_huge_generic_node_is_refused_even_under_force() -> None:
    """``--force`` skips the size estimate: 1e30 GPUs per node then raised numpy's
    'Maximum allowed size exceeded' while the GPUs were numbered."""
    line = one_error_line(run_cli("validate", "examples/tiresias_60.yaml", "--force", "--set",
                                  "sites.0.halls.0.gpus_per_node=" + "1" + "0" * 30))
    assert "sites.0.halls.0.gpus_per_node" in line and "100000" in line


def test_a_scenario_file_of_many_megabytes_is_refused_at_once(tmp_path: Path) -> None:
    """A 25 MB scenario once kept ``validate`` parsing for minutes."""
    from emulator.loader import MAX_SCENARIO_BYTES

    big = tmp_path / "big.yaml"
    line = "k: " + "x" * 95 + "\n"
    big.write_text("name: big\n" + "# " + line * (MAX_SCENARIO_BYTES // len(line) + 1))
    line = one_error_line(run_cli("validate", str(big)))
    assert str(big) in line and "MB; expected a scenario file of at most 4.0 MB" in line


def test_yaml_errors_and_values_are_the_same_with_the_fast_parser(tmp_path: Path) -> None:
    from emulator.loader import parse_yaml

    text = "a: &x [1, 2.5, 'b', null, 2025-03-20]\nb: *x\nc: {d: yes, e: 0x10}\n"
    assert parse_yaml(text, "t") == yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(UserError, match=r"t: invalid YAML at line 3, column 1: key 'a' appears"):
        parse_yaml("a: 1\nb: 2\na: 3\n", "t")


@pytest.mark.parametrize("value", ["x", "-5m", "nan"])
def test_reset_interval_error_names_the_option(value: str) -> None:
    """The line once said only 'scheduler.options: policy ... rejected its options: got
    'x'', not which option."""
    line = one_error_line(run_cli("validate", "examples/gavel_heterogeneous.yaml", "--set",
                                  f"scheduler.options.reset_interval={value}"))
    assert f"scheduler.options.reset_interval: got '{value}'" in line


def test_gavel_throughput_table_errors_name_the_throughputs_field(tmp_path: Path) -> None:
    """A missing or broken throughput table was reported as '...traces.0.path', the field
    of the trace itself, which was fine."""
    bad = tmp_path / "thr.json"
    bad.write_text("{bad", encoding="utf-8")
    for value in (str(tmp_path / "none.json"), str(bad)):
        line = one_error_line(run_cli("validate", "examples/gavel_heterogeneous.yaml", "--set",
                                      f"tenants.gavel.traces.0.throughputs={value}"))
        assert "tenants.gavel.traces.0.throughputs:" in line and value in line


def test_a_cut_short_parquet_file_is_named_by_report_and_export(tmp_path: Path) -> None:
    """A truncated table gave pyarrow's 'Parquet magic bytes not found' without saying
    which of the run's files it was."""
    out = tmp_path / "run"
    assert run_cli("run", "examples/tiresias_60.yaml", "--headless", "--out",
                   str(out)).returncode == 0
    jobs = out / "jobs.parquet"
    jobs.write_bytes(jobs.read_bytes()[: jobs.stat().st_size // 2])
    for args in (("report", str(out), "--out", str(tmp_path / "rep")),
                 ("export", str(out), "--perfetto", "--out", str(tmp_path / "t.json"))):
        line = one_error_line(run_cli(*args))
        assert f"RUN_DIR {out}: jobs.parquet: " in line and "intact output" in line


def test_a_swept_value_listed_twice_is_refused() -> None:
    """``--set seed=1,1`` ran the point twice: sweep showed two identical rows, compare
    'mean over 1 seed' of two runs."""
    from emulator.sweep import expand_grid

    with pytest.raises(UserError, match=r"--set 'scheduler.placement': lists 'pack' twice"):
        expand_grid(["scheduler.placement=pack,spread,pack"])
    assert len(expand_grid(["scheduler.placement=pack,spread"])) == 2
    line = one_error_line(run_cli("sweep", "examples/tiresias_60.yaml", "--serial", "--set",
                                  "scheduler.placement=pack,pack", "--out",
                                  "/nonexistent-never-made"))
    assert "lists 'pack' twice" in line
