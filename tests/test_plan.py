"""Capacity search: the target grammar, the bisection, confidence, the command."""

from __future__ import annotations

import doctest
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import emulator.plan_target
from emulator.errors import UserError
from emulator.executor import SerialExecutor
from emulator.plan import Axis, Evaluation, Line, clopper_pearson, parse_range, run_plan
from emulator.plan_output import confidence
from emulator.plan_target import lookup, parse_target
from tests.conftest import one_error_line, run_cli, small_scenario

ROOT = Path(__file__).resolve().parent.parent

SUMMARY: dict[str, Any] = {
    "requests": {"slo_attainment": 0.95},
    "tenants": {"eu-inference": {"requests": {"slo_attainment": 0.991, "ttft_s": {"p99": 0.4}}},
                "research": {"requests": {"slo_attainment": None}}},
    "sites": [{"name": "bizerte-20mw", "peak_facility_mw": 18.5},
              {"name": "tetouan-386mw", "peak_facility_mw": 300.0}],
}


def test_doctests() -> None:
    assert doctest.testmod(emulator.plan_target).failed == 0


@pytest.mark.parametrize(("path", "value"), [
    ("tenants.eu-inference.slo_attainment", 0.991),          # one level further down
    ("tenants.eu-inference.requests.ttft_s.p99", 0.4),
    ("sites.bizerte.peak_mw", 18.5),                          # name prefix, alias
    ("sites.1.peak_facility_mw", 300.0),                      # list index
    ("tenants.research.slo_attainment", None),                # null
    ("sites.nowhere.peak_mw", None),
])
def test_lookup(path: str, value: float | None) -> None:
    assert lookup(SUMMARY, path) == value


def test_targets_hold_or_not() -> None:
    assert parse_target("tenants.eu-inference.slo_attainment >= 99%").holds(SUMMARY)
    assert not parse_target("tenants.eu-inference.slo_attainment >= 0.995").holds(SUMMARY)
    both = parse_target("sites.bizerte.peak_mw <= 20 and requests.slo_attainment > 0.9")
    assert both.holds(SUMMARY)
    assert not parse_target("sites.bizerte.peak_mw < 1.85e1").holds(SUMMARY)
    assert not parse_target("tenants.research.slo_attainment >= 0").holds(SUMMARY)  # null


@pytest.mark.parametrize(("text", "word"), [
    ("slo >= ", "PATH OP NUMBER"),
    ("slo => 0.9", "cannot read"),
    ("slo >= 0.9 or x < 1", "'and'"),
    ("__import__('os') >= 1", "cannot read"),
    ("slo >= 0.9 and", "'and'"),
    ("", "PATH OP NUMBER"),
    # a unit after the number was read as a missing 'and' (or silently dropped)
    ("tenants.eu.requests.ttft_s.p99 <= 500ms", "500 ms: a unit is not read"),
    ("sites.bizerte.peak_mw <= 20 MW and slo >= 0.9", "20 MW: a unit is not read"),
    ("tenants.eu.rate >= 500 req/s", "500 req/s: a unit is not read"),
    ("sites.bizerte.peak_mw <= 1e400", "not a finite number"),
    # a fraction compared with a percentage written without %: never (or always) met
    ("tenants.eu.slo_attainment >= 99", "is a fraction from 0 to 1, got 99;"),
    ("gpu_allocation_util <= 90", "is a fraction from 0 to 1"),
])
def test_bad_targets_are_one_line_errors(text: str, word: str) -> None:
    with pytest.raises(UserError, match=word) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_a_percent_may_be_spaced_and_a_word_after_a_number_is_not_a_unit() -> None:
    assert parse_target("tenants.eu.slo_attainment >= 99 %").comparisons[0].value == 0.99
    spaced = parse_target("requests.ttft_s.p99 <= 0.5 and sites.bizerte.peak_mw <= 20")
    assert [c.value for c in spaced.comparisons] == [0.5, 20.0]


def test_a_path_naming_nothing_is_reported() -> None:
    with pytest.raises(UserError, match="no figure 'slo'"):
        parse_target("tenants.eu-inference.slo >= 0.9").check_paths(SUMMARY)


def test_a_misspelt_figure_gets_a_hint_and_the_keys_one_level_down() -> None:
    with pytest.raises(UserError) as info:
        parse_target("tenants.eu-inference.slo_atainment >= 0.9").check_paths(SUMMARY)
    text = str(info.value)
    assert "(did you mean 'slo_attainment'?)" in text
    assert "expected one of requests (or, one level down, slo_attainment, ttft_s)" in text
    with pytest.raises(UserError, match=r"did you mean 'peak_mw'\?"):
        parse_target("sites.bizerte.peak_mx <= 20").check_paths(SUMMARY)


def test_a_misspelt_figure_stops_the_plan_after_its_first_run(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    executor = SerialExecutor()
    with pytest.raises(UserError, match="no figure 'peak_mx'"):
        run_plan(path, [Axis("sites.0.halls.0.racks", 1, 8)],
                 parse_target("sites.bizerte.peak_mx <= 0.3"), 3, executor)
    assert executor.ran == 1  # not the first round's three seeds


def test_a_vary_path_naming_nothing_is_reported_under_vary(tmp_path: Path) -> None:
    """An axis out of range was once reported as a --set error, an option not given."""
    executor = SerialExecutor()
    with pytest.raises(UserError) as info:
        run_plan(_scenario(tmp_path), [Axis("sites.9.halls.0.racks", 1, 8)],
                 parse_target("sites.bizerte.peak_mw <= 0.3"), 1, executor)
    assert str(info.value).startswith("--vary sites.9.halls.0.racks: index 9 out of range")
    assert executor.ran == 0


def test_parse_range() -> None:
    assert parse_range("8..128", "x") == Axis("x", 8, 128)
    for bad in ("8-128", "9..8", "a..b", "8.."):
        with pytest.raises(UserError, match=r"LO\.\.HI"):
            parse_range(bad, "x")


def test_clopper_pearson() -> None:
    low, high = clopper_pearson(3, 3, level=0.90)
    assert low == pytest.approx(0.05 ** (1 / 3)) and high == 1.0
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = clopper_pearson(5, 10)  # standard table value 0.187..0.813
    assert low == pytest.approx(0.1871, abs=1e-4) and high == pytest.approx(0.8129, abs=1e-4)


def _search(lo: int, hi: int, meets: Any, maximize: bool = False, points: int = 1) -> Line:
    """Drive a :class:`Line` with a synthetic ``meets(value) -> bool``."""
    line = Line({}, Axis("x", lo, hi), maximize)
    while not line.done:
        for v in line.wanted(points):
            ok = bool(meets(v))
            line.evaluations[v] = Evaluation({"x": v}, [0], [ok], {"f": [float(v)]})
        line.record()
    return line


@pytest.mark.parametrize("threshold", [1, 2, 17, 63, 64])
def test_bisection_finds_the_smallest_value(threshold: int) -> None:
    line = _search(1, 64, lambda v: v >= threshold)
    assert line.answer == threshold
    assert len(line.evaluations) <= math.ceil(math.log2(63)) + 2


@pytest.mark.parametrize("threshold", [1, 30, 64])
def test_bisection_finds_the_largest_value(threshold: int) -> None:
    line = _search(1, 64, lambda v: v <= threshold, maximize=True)
    assert line.answer == threshold


@pytest.mark.parametrize("points", [2, 3, 7, 40])
@pytest.mark.parametrize("threshold", [1, 2, 17, 40, 63, 64])
def test_several_points_per_round_find_the_same_answer(points: int, threshold: int) -> None:
    rounds = 0
    line = Line({}, Axis("x", 1, 64), False)
    while not line.done:
        rounds += 1
        for v in line.wanted(points):
            line.evaluations[v] = Evaluation({"x": v}, [0], [v >= threshold], {"f": [v]})
        line.record()
    assert line.answer == threshold
    assert rounds <= 1 + math.ceil(math.log(63, points + 1)) + 1
    top = _search(1, 64, lambda v: v <= threshold, maximize=True, points=points)
    assert top.answer == threshold


def test_bisection_without_an_answer_and_single_values() -> None:
    assert _search(1, 64, lambda v: False).answer is None
    assert _search(1, 64, lambda v: False, maximize=True).answer is None
    assert _search(5, 5, lambda v: True).answer == 5
    assert _search(5, 5, lambda v: False).answer is None
    assert len(_search(1, 64, lambda v: False).evaluations) == 2


def test_contradictions_are_reported() -> None:
    target = parse_target("f >= 10")
    line = _search(1, 64, lambda v: v >= 20 and v != 48)  # 48 breaks monotonicity
    line.evaluations[48] = Evaluation({"x": 48}, [0], [False], {"f": [5.0]})
    line.evaluations[40] = Evaluation({"x": 40}, [0], [True], {"f": [40.0]})
    assert line.contradictions(target) == ["the target is met at x=40 but missed at 48"]
    assert _search(1, 64, lambda v: v >= 20).contradictions(target) == []


def test_a_comparison_that_turns_false_as_the_value_grows_is_reported() -> None:
    target = parse_target("f >= 10 and g <= 100")
    line = Line({}, Axis("x", 1, 64), maximize=False)
    for v in (1, 20, 40, 64):  # f = v grows (good), g = 3v grows past 100 (bad)
        f, g = float(v), 3.0 * v
        line.evaluations[v] = Evaluation({"x": v}, [0], [f >= 10 and g <= 100],
                                         {"f": [f], "g": [g]})
    notes = line.contradictions(target)
    assert "the target is met at x=20 but missed at 40" in notes
    assert "g is met at x=20 but missed at 40" in notes
    assert not any(n.startswith("f ") for n in notes)


def _scenario(folder: Path) -> Path:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"][0].update({"rate": "400/d", "gpus": [8, 16, 72]})
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_plan_matches_direct_runs(tmp_path: Path) -> None:
    from emulator import api

    path = _scenario(tmp_path)
    target = parse_target("sites.bizerte.peak_mw <= 0.3")
    result = run_plan(path, [Axis("sites.0.halls.0.racks", 1, 8)], target, 2,
                      SerialExecutor(), maximize=True)
    line = result.lines[0]
    assert line.answer is not None and 1 <= line.answer < 8
    def all_seeds_meet(racks: int) -> bool:
        return all(target.holds(api.run(path, [f"sites.0.halls.0.racks={racks}"],
                                        seed=s).summary) for s in result.seeds)

    assert all_seeds_meet(line.answer)
    assert not all_seeds_meet(line.answer + 1)
    assert result.runs == 2 * len(line.evaluations)


def test_plan_grid_searches_one_line_per_outer_value(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    target = parse_target("sites.bizerte.peak_mw <= 0.2")
    result = run_plan(path, [Axis("tenants.eu.inference.0.replicas", 1, 2),
                             Axis("sites.0.halls.0.racks", 1, 4)], target, 1,
                      SerialExecutor(), maximize=True)
    assert [ln.fixed for ln in result.lines] == [{"tenants.eu.inference.0.replicas": 1},
                                                 {"tenants.eu.inference.0.replicas": 2}]
    assert all(ln.done for ln in result.lines)
    # each line's confidence statement names its outer value (they were identical)
    said = [confidence(ln) for ln in result.lines]
    for ln, text in zip(result.lines, said, strict=True):
        assert f"tenants.eu.inference.0.replicas={ln.fixed['tenants.eu.inference.0.replicas']}" \
            in text
    assert said[0] != said[1]


def test_cli_plan_writes_table_json_and_plot(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "emulator", "plan", str(path), "--vary",
         "sites.0.halls.0.racks", "--range", "1..4", "--target",
         "tenants.eu.slo_attainment >= 0.99", "--seeds", "2", "--serial", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "all 2 seeds meet the target at sites.0.halls.0.racks=1" in proc.stdout
    plan = json.loads((out / "plan.json").read_text())
    assert plan["answers"][0]["sites.0.halls.0.racks"] == 1
    assert (out / "plan.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "plan.csv").read_text().startswith("sites.0.halls.0.racks,seed,met,")
    bad = subprocess.run(
        [sys.executable, "-m", "emulator", "plan", str(path), "--vary", "a.b", "--range",
         "1..4", "--target", "x >= 1; rm -rf /", "--serial"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "--target" in bad.stderr


@pytest.mark.parametrize(("path", "needle"), [
    ("tenants.eu-inference.ttft_s", "group of figures (p99), not a number; expected a path "
                                    "to one of them, e.g. tenants.eu-inference.ttft_s.p99"),
    ("tenants.eu-inference", "e.g. tenants.eu-inference.requests"),
    ("tenants.eu-inference.requests", "e.g. tenants.eu-inference.requests.slo_attainment"),
    ("sites", "names a list of 2 item(s)"),
    ("sites.bizerte.name", "names 'bizerte-20mw', not a number"),
])
def test_a_path_naming_a_group_is_reported(path: str, needle: str) -> None:
    with pytest.raises(UserError) as info:
        parse_target(f"{path} <= 0.5").check_paths(SUMMARY)
    assert str(info.value).startswith(f"--target {path}: ") and needle in str(info.value)


def test_a_null_figure_passes_the_path_check() -> None:
    parse_target("tenants.research.slo_attainment >= 0.9").check_paths(SUMMARY)


def test_a_plan_refuses_a_seed_override_or_axis(tmp_path: Path) -> None:
    """The seeds of a plan come from --seeds: a seed set or varied would be dropped."""
    path = _scenario(tmp_path)
    common = ["--target", "sites.bizerte.peak_mw <= 1", "--seeds", "1", "--until", "10m",
              "--serial", "--no-cache", "--out", str(tmp_path / "p")]
    line = one_error_line(run_cli("plan", str(path), "--vary", "sites.0.halls.0.racks",
                                  "--range", "1..2", "--set", "seed=7", *common))
    assert line.startswith("error: --set seed: the seeds of a plan come from --seeds")
    line = one_error_line(run_cli("plan", str(path), "--vary", "seed", "--range", "1..5",
                                  *common))
    assert line.startswith("error: --vary seed: the seeds of a plan come from --seeds")


@pytest.mark.parametrize(("path", "value"), [
    ("tenants.eu.slo_attainment", 0.991),        # a tenant (mapping key) by a unique prefix
    ("tenants.res.requests.slo_attainment", None),
])
def test_a_tenant_is_found_by_a_unique_prefix(path: str, value: float | None) -> None:
    assert lookup(SUMMARY, path) == value
    parse_target(f"{path} >= 0.9").check_paths(SUMMARY)


def test_target_names_are_checked_before_any_run(tmp_path: Path) -> None:
    """A tenant or site the scenario does not have (or an ambiguous prefix) is one line
    before the first cell runs."""
    target = parse_target("tenants.e.slo_attainment >= 0.9")
    with pytest.raises(UserError, match="prefix of more than one tenant \\(eu, eu2\\)"):
        target.check_names(["eu", "eu2", "lab"], ["bizerte-20mw"])
    path = _scenario(tmp_path)
    proc = run_cli("plan", str(path), "--vary", "sites.0.halls.0.racks", "--range", "1..2",
                   "--target", "tenants.asia.slo_attainment >= 0.9", "--seeds", "1",
                   "--until", "10m", "--serial", "--no-cache", "--out", str(tmp_path / "p"))
    line = one_error_line(proc)
    assert "--target tenants.asia.slo_attainment: 'asia' names no tenant; expected one of " \
           "eu, lab" in line
    assert "cells" not in proc.stdout  # nothing ran


def test_a_quoted_seed_is_the_scenario_seed(tmp_path: Path) -> None:
    """``seed: "42"`` validates as 42 (as run reads it); sweep and plan start from it."""
    from emulator.plan import _first_point
    from emulator.sweep_study import sweep_cells

    data = small_scenario(seed="42")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    _, seeds, cells = sweep_cells(path, ["sites.0.halls.0.racks=1,2"], 2)
    assert seeds == [42, 43] and [c.data["seed"] for c in cells] == [42, 43, 42, 43]
    assert _first_point(path, data, [Axis("sites.0.halls.0.racks", 1, 2)], [],
                        parse_target("sites.0.peak_mw <= 1"), 2) == [42, 43]


def test_the_answer_table_keeps_the_figures_when_the_first_line_has_no_answer() -> None:
    """A grid whose first line has no answer: the table's columns came from that row
    alone, so the other lines' seeds_meeting and target figures were not shown."""
    from emulator.cli_plan import table_columns
    from emulator.plan import PlanResult
    from emulator.plan_output import answer_rows

    target = parse_target("f >= 10")
    lines = []
    for outer, meets in ((1, lambda v: False), (2, lambda v: v >= 3)):
        line = _search(1, 8, meets)
        line.fixed = {"y": outer}
        lines.append(line)
    result = PlanResult("s.yaml", [Axis("y", 1, 2), Axis("x", 1, 8)], target, [0], False,
                        lines, 0)
    rows = answer_rows(result)
    assert rows[0]["x"] is None and rows[1]["x"] == 3
    assert table_columns(rows) == ["y", "x", "seeds_meeting", "f", "next_value_meets",
                                   "evaluated", "confidence"]
