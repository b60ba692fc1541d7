"""Input mistakes that were accepted, misreported or ended in a traceback: each is one
escaped line and exit status 2 (or a note, where the input is legitimate but partly unused).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.conftest import one_error_line, run_cli, small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _file(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data or small_scenario()))
    return path


_cli = run_cli


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    line = one_error_line(proc)
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize("command", [
    ["plan", "--vary", "sites.0.halls.0.racks", "--range", "1..2", "--target",
     "tenants.eu.slo_attainment >= 0.99"],
    ["sweep", "--set", "sites.0.halls.0.racks=1,2"],
    ["compare", "--policies", "fifo"],
])
@pytest.mark.parametrize("seeds", ["0", "-2"])
def test_seeds_below_one_are_refused(tmp_path: Path, command: list[str], seeds: str) -> None:
    path = _file(tmp_path)
    line = _one_error_line(_cli(command[0], str(path), *command[1:], "--seeds", seeds,
                                "--serial", "--out", str(tmp_path / "out")))
    assert line == f"error: --seeds: got {seeds}; expected at least 1"


def test_an_output_folder_under_a_file_is_refused_before_the_run(tmp_path: Path) -> None:
    path = _file(tmp_path)
    (tmp_path / "f").write_text("")
    line = _one_error_line(_cli("run", str(path), "--headless", "--until", "1m", "--out",
                                str(tmp_path / "f" / "out")))
    assert "is a file; expected a folder there" in line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", [
    ["run", "--headless", "--until", "1m"],
    ["compare", "--policies", "fifo", "--seeds", "1", "--serial"],
    ["sweep", "--set", "sites.0.halls.0.racks=1,2", "--serial"],
    ["plan", "--vary", "sites.0.halls.0.racks", "--range", "1..2", "--target",
     "tenants.eu.slo_attainment >= 0.9", "--seeds", "1", "--serial"],
])
def test_an_unwritable_output_folder_is_refused_before_the_run(
        tmp_path: Path, command: list[str]) -> None:
    # /proc takes no new folder, even for root (whom permission bits let through)
    path = _file(tmp_path)
    proc = _cli(command[0], str(path), *command[1:], "--out", "/proc/gpuemu-results")
    line = _one_error_line(proc)
    assert line.startswith("error: output folder '/proc/gpuemu-results': cannot create a "
                           "folder in '/proc' (")
    assert "cells" not in proc.stdout and "simulated" not in proc.stdout  # nothing ran


def test_an_unwritable_output_dir_setting_is_refused(tmp_path: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    path = _file(tmp_path)
    line = _one_error_line(_cli("run", str(path), "--headless", "--until", "1m", "--set",
                                "output.dir=/proc/gpuemu-x"))
    assert "cannot create a folder in '/proc'" in line


def test_export_to_an_unwritable_file_is_one_line(tmp_path: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    path = _file(tmp_path)
    out = tmp_path / "run"
    assert _cli("run", str(path), "--headless", "--until", "10m", "--out",
                str(out)).returncode == 0
    line = _one_error_line(_cli("export", str(out), "--perfetto", "--out",
                                "/proc/gpuemu-x/trace.json"))
    assert "--out: cannot write /proc/gpuemu-x/trace.json" in line
    line = _one_error_line(_cli("report", str(out), "--out", "/proc/gpuemu-x"))
    assert "--out: cannot write to /proc/gpuemu-x" in line


def test_an_out_path_under_a_file_names_the_file(tmp_path: Path) -> None:
    """A folder above --out that is a file: the line names it (it said "File exists")."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text('{"scenario": "x", "simulated_s": 60}')
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    for command, out in (("export", blocker / "trace.json"),
                         ("export", blocker / "sub" / "trace.json"),
                         ("report", blocker / "rep")):
        extra = ["--perfetto"] if command == "export" else []
        line = _one_error_line(_cli(command, str(run), *extra, "--out", str(out)))
        assert line == (f"error: --out: {out}: {blocker} is a file; expected a path in a "
                        "folder"), line
    assert blocker.read_text() == ""


def test_a_dashboard_svg_path_that_takes_no_file_is_one_line_before_the_run(
        tmp_path: Path) -> None:
    """A folder, or a path under a file, given to --dashboard-svg: one line, exit 2, before
    the run (it was a traceback after the whole run); a missing folder is made."""
    path = _file(tmp_path)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    for svg, message in ((tmp_path, f"{tmp_path} is a folder; expected a file name"),
                         (blocker / "x.svg", f"{blocker} is a file; expected a path")):
        proc = _cli("run", str(path), "--headless", "--until", "1m", "--out",
                    str(tmp_path / "run"), "--dashboard-svg", str(svg))
        assert _one_error_line(proc).startswith(f"error: --dashboard-svg: {svg}"), proc.stderr
        assert message in proc.stderr
        assert not (tmp_path / "run").exists()  # refused before the run
    svg = tmp_path / "new" / "frame.svg"
    proc = _cli("run", str(path), "--headless", "--until", "1m", "--out",
                str(tmp_path / "run"), "--dashboard-svg", str(svg))
    assert proc.returncode == 0, proc.stderr
    assert svg.read_text(encoding="utf-8").startswith("<svg")


def _invalid(data: dict) -> str:
    """The one-line message validating ``data`` gives."""
    with pytest.raises(UserError) as info:
        validate_scenario(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def _service(**fields: object) -> dict:
    data = small_scenario()
    data["tenants"]["eu"]["inference"][0].update(fields)
    return data


@pytest.mark.parametrize(("fields", "message"), [
    ({"prompt_tokens": 2_000_000},
     "tenants.eu.inference.0.prompt_tokens: got 2,000,000; expected at most the context of "
     "llama3-8b (131,072 tokens)"),
    ({"prompt_tokens": {"dist": "lognormal", "median": 1000, "p90": 1e9}},
     "tenants.eu.inference.0.prompt_tokens: got a lognormal distribution with mean 1e+18; "
     "expected a mean within the context of llama3-8b (131,072 tokens)"),
    ({"prompt_tokens": 130_000, "output_tokens": 5000},
     "tenants.eu.inference.0.prompt_tokens: got 130,000 with output_tokens 5,000 (135,000 in "
     "all); expected prompt and output together within the context of llama3-8b (131,072 "
     "tokens)"),
    ({"output_tokens": {"dist": "uniform", "low": 100_000, "high": 200_000}},
     "tenants.eu.inference.0.output_tokens: got a uniform distribution with mean 150,000; "
     "expected a mean within the context of llama3-8b"),
])
def test_tokens_beyond_the_model_context_are_refused(fields: dict, message: str) -> None:
    assert _invalid(_service(**fields)).startswith(f"<scenario>: {message}")


def test_a_tail_beyond_the_context_is_accepted() -> None:
    validate_scenario(_service(prompt_tokens={"dist": "lognormal", "median": 2000,
                                              "p90": 50_000}))
    validate_scenario(_service(prompt_tokens=131_000, output_tokens=72))


def test_a_peak_above_the_grid_connection_is_warned(tmp_path: Path) -> None:
    path = _file(tmp_path)
    over = _cli("run", str(path), "--headless", "--until", "1h", "--out", str(tmp_path / "a"),
                "--set", "sites.0.grid_connection=0.1MW")
    assert over.returncode == 0, over.stderr
    assert ("warning: site bizerte-20mw: peak facility power 0.144 MW was above its "
            "grid_connection of 0.1 MW") in over.stderr
    within = _cli("run", str(path), "--headless", "--until", "1h", "--out", str(tmp_path / "b"))
    assert within.returncode == 0 and "grid_connection" not in within.stderr
    checked = _cli("validate", str(path), "--set", "sites.0.grid_connection=0.1MW")
    assert checked.returncode == 0, checked.stderr
    assert ("note: sites.0 (bizerte-20mw): facility power at full load 608.40 kW is above "
            "its grid_connection of 100.00 kW") in checked.stderr


def _scheduler(queue: str, options: dict) -> dict:
    data = small_scenario()
    data["scheduler"] = {"queue": queue, "placement": "pack", "options": options}
    return data


def _build_error(data: dict) -> str:
    """The one-line message building ``data`` gives (policy options are read there), after
    the ``<scenario>: `` that names a mapping given without a file."""
    from emulator.build import build

    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    message = str(info.value)
    assert "\n" not in message and message.startswith("<scenario>: ")
    return message.removeprefix("<scenario>: ")


@pytest.mark.parametrize(("options", "message"), [
    ({"quotas": {"lba": 0.5}, "hard": ["lba"]},
     "scheduler.options.quotas: got tenant 'lba'; expected one of eu, lab; did you mean "
     "'lab'?"),
    ({"weights": {"lab_": 5}},
     "scheduler.options.weights: got tenant 'lab_'; expected one of eu, lab; did you mean "
     "'lab'?"),
    ({"quotas": {"lab": 0.5}, "hard": 1},
     "scheduler.options.hard: got 1; expected true, false or a list of tenants"),
])
def test_fairshare_options_name_real_tenants(options: dict, message: str) -> None:
    assert _build_error(_scheduler("fairshare", options)) == message


@pytest.mark.parametrize(("queue", "option", "value"), [
    ("priority", "preempt", "false"), ("priority", "work_conserving", "no"),
    ("las", "preempt", "false"), ("srtf", "preempt", 0), ("sjf", "work_conserving", "false"),
    ("fairshare", "reclaim", "false"),
])
def test_switch_options_take_true_or_false_only(queue: str, option: str, value: object) -> None:
    assert _build_error(_scheduler(queue, {option: value})) == (
        f"scheduler.options.{option}: got {value!r}; expected true or false")


@pytest.mark.parametrize(("queue", "option", "value", "expected"), [
    ("backfill", "max_scan", "abc", "a whole number"),
    ("backfill", "max_scan", 2.5, "a whole number"),
    ("backfill", "max_scan", True, "a whole number"),
    ("srtf", "min_ratio", "abc", "a number"),
    ("dlas-gpu", "starvation_knob", "abc", "a number"),
    ("fairshare", "quotas", "abc", "a mapping of tenants to numbers, e.g. {research: 0.5}"),
    ("fairshare", "weights", ["lab"], "a mapping of tenants to numbers, e.g. {research: 0.5}"),
])
def test_numeric_options_of_the_wrong_type_name_the_option(queue: str, option: str,
                                                           value: object,
                                                           expected: str) -> None:
    """Text where a number belongs once surfaced Python's own words ("'<' not supported
    between instances of 'str' and 'int'", "could not convert string to float") without
    the option's name; 2.5 or true as backfill's max_scan were taken as 2 and 1."""
    assert _build_error(_scheduler(queue, {option: value})) == (
        f"scheduler.options.{option}: got {value!r}; expected {expected}")


@pytest.mark.parametrize("weight", [math.inf, -1.0, 0.0])
def test_fairshare_weights_must_be_positive_and_finite(weight: float) -> None:
    """An infinite weight was accepted and made every entitlement NaN or 0 (one tenant
    took the whole cluster); a non-positive one was refused without naming its tenant."""
    assert _build_error(_scheduler("fairshare", {"weights": {"lab": weight}})) == (
        f"scheduler.options.weights.lab: got {weight:g}; expected a positive finite number")


@pytest.mark.parametrize(("queue", "options", "message"), [
    ("las", {"thresholds": ["1h", "soon"]},
     "scheduler.options.thresholds.1: got 'soon'; expected a duration such as '7d'"),
    ("dlas-gpu", {"thresholds": [True]},
     "scheduler.options.thresholds.0: got True; expected a duration such as '7d'"),
    ("dlas-gpu", {"thresholds": "abc"},
     "scheduler.options.thresholds: got 'abc'; expected a duration such as '7d'"),
    ("las", {"thresholds": {"a": 1}},
     "scheduler.options.thresholds: got {'a': 1}; expected a list of durations, e.g. "
     "[1h, 16h]"),
    ("max-min-fairness", {"reset_interval": "inf"},
     "scheduler.options.reset_interval: got 'inf'; expected a duration such as '7d'"),
])
def test_duration_options_name_the_option(queue: str, options: dict, message: str) -> None:
    """A threshold or interval that is not a duration was reported as "policy 'las'
    rejected its options: got 'soon'; …", without saying which option held it."""
    assert _build_error(_scheduler(queue, options)) == message


def test_a_tenant_mapping_option_names_the_entry_that_is_not_a_number() -> None:
    assert _build_error(_scheduler("fairshare", {"quotas": {"lab": "half"}})) == (
        "scheduler.options.quotas.lab: got 'half'; expected a number")


def test_numeric_options_still_take_numbers() -> None:
    from emulator.policies.registry import make_queue_policy

    assert make_queue_policy("backfill", {"max_scan": 1e3}).max_scan == 1000
    assert make_queue_policy("srtf", {"min_ratio": 2}).min_ratio == 2.0
    assert make_queue_policy("fairshare", {"quotas": {"lab": 1}}).quotas == {"lab": 1.0}


def test_switch_options_still_take_booleans() -> None:
    from emulator.policies.registry import make_queue_policy

    assert make_queue_policy("priority", {"preempt": False}).preempt is False
    assert make_queue_policy("fairshare", {"reclaim": True}).reclaim is True


@pytest.mark.parametrize(("queue", "option", "message"), [
    ("las", "bogus", "unknown option 'bogus' for queue policy 'las'; expected one of "
                     "preempt, thresholds"),
    ("las", "premept", "unknown option 'premept' for queue policy 'las'; expected one of "
                       "preempt, thresholds; did you mean 'preempt'?"),
    ("fairshare", "quota", "unknown option 'quota' for queue policy 'fairshare'; expected "
                           "one of hard, quotas, reclaim, weights; did you mean 'quotas'?"),
    ("fifo", "bogus", "unknown option 'bogus' for queue policy 'fifo'; expected none (it "
                      "takes no options)"),
])
def test_an_unknown_option_names_the_options_a_policy_takes(queue: str, option: str,
                                                            message: str) -> None:
    assert _build_error(_scheduler(queue, {option: 1})) == f"scheduler.options: {message}"


def _power_cap(cap: dict) -> dict:
    data = small_scenario()
    data["sites"][0]["energy"] = {"power_cap": cap}
    return data


@pytest.mark.parametrize(("cap", "message"), [
    ({"mode": "renewable", "value": "1MW"},
     "sites.0.energy.power_cap.value: got 1.00 MW; expected no value in mode 'renewable'"),
    ({"mode": "constant", "value": "1MW", "grid_allowance": "2MW"},
     "sites.0.energy.power_cap.grid_allowance: got 2.00 MW; expected none in mode 'constant'"),
])
def test_a_power_cap_field_its_mode_ignores_is_refused(cap: dict, message: str) -> None:
    assert _invalid(_power_cap(cap)).startswith(f"<scenario>: {message}")


def test_a_power_cap_below_one_rack_is_warned(tmp_path: Path) -> None:
    path = _file(tmp_path, _power_cap({"mode": "constant", "value": 500}))
    proc = _cli("run", str(path), "--headless", "--until", "10m", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert ("warning: sites.0.energy.power_cap.value: 500 W is below the full power of one "
            "rack (120.00 kW; the site draws 608.40 kW at full load)") in proc.stderr
    fine = _cli("validate", str(_file(tmp_path, _power_cap({"mode": "constant",
                                                              "value": "500kW"}))))
    assert fine.returncode == 0 and "power_cap" not in fine.stderr


def test_power_switches_with_nothing_to_act_on_are_warned(tmp_path: Path) -> None:
    """Solar deferral without a solar plant and carbon-aware placement on one site did
    nothing, silently."""
    data = small_scenario()
    data["sites"][0]["energy"] = {"solar": None}
    data["power"] = {"defer_preemptible": True, "carbon_aware": True}
    proc = _cli("validate", str(_file(tmp_path, data)))
    assert proc.returncode == 0, proc.stderr
    assert ("warning: power.defer_preemptible: no site has a solar plant (energy.solar), so "
            "every hour counts as a solar hour and no training is deferred") in proc.stderr
    assert ("warning: power.carbon_aware: placement is carbon-aware across several sites "
            "with an energy model, but the scenario has 1 site") in proc.stderr
    data["sites"][0].pop("energy")  # the preset's, with its solar plant
    data["power"] = {"defer_preemptible": True}
    fine = _cli("validate", str(_file(tmp_path, data)))
    assert fine.returncode == 0 and "power." not in fine.stderr


def test_planned_events_after_the_end_are_noted(tmp_path: Path) -> None:
    path = _file(tmp_path, small_scenario(duration="1d"))
    events = tmp_path / "events.csv"
    events.write_text("at,target,action,duration,value\n"
                      "5d,rack:bizerte-20mw/hall-a/0,drain,5h,\n"
                      "6d,rack:bizerte-20mw/hall-a/1,drain,5h,\n"
                      "1h,rack:bizerte-20mw/hall-a/2,drain,1h,\n")
    proc = _cli("run", str(path), "--headless", "--out", str(tmp_path / "o"), "--events",
                str(events))
    assert proc.returncode == 0, proc.stderr
    assert (f"note: events {events}: 2 planned event(s) at or after the end of the run (1 d) "
            "are not applied (the first at 5 d)") in proc.stderr


def test_planned_events_after_until_are_noted_and_not_applied(tmp_path: Path) -> None:
    """With --until, the end of the run is the stop: an event exactly there, or later
    (but before the duration), is not applied and gets a note, as after the duration."""
    import pandas as pd

    path = _file(tmp_path, small_scenario(duration="1d"))
    events = tmp_path / "events.csv"
    events.write_text("at,target,action,duration,value\n"
                      "10m,rack:bizerte-20mw/hall-a/2,drain,5m,\n"
                      "30m,rack:bizerte-20mw/hall-a/0,drain,5h,\n"
                      "2h,rack:bizerte-20mw/hall-a/1,drain,5h,\n")
    out = tmp_path / "o"
    proc = _cli("run", str(path), "--headless", "--until", "30m", "--out", str(out),
                "--events", str(events))
    assert proc.returncode == 0, proc.stderr
    assert (f"note: events {events}: 2 planned event(s) at or after the end of the run "
            "(30 min, --until) are not applied (the first at 30 min)") in proc.stderr
    infra = pd.read_parquet(out / "infra.parquet")
    drains = infra[infra["event"].astype(str).str.contains("drain")]
    assert len(drains) and (drains["t_s"] < 1800).all()


def test_cable_cuts_after_the_end_are_noted(tmp_path: Path) -> None:
    path = _file(tmp_path, small_scenario(duration="1d"))
    proc = _cli("validate", str(path), "--set", "wan_events={cuts: [{cable: medusa, at: 5d}]}")
    assert proc.returncode == 0, proc.stderr
    assert ("note: wan_events.cuts.0: the cut of medusa at 5 d is at or after the end of the "
            "run (1 d); not applied") in proc.stderr


@pytest.mark.parametrize(("override", "message"), [
    ("tenants.lab.training.0.gpus=[8, 12]",
     "tenants.lab.training.0.gpus.1: got 12; expected a multiple of tp*pp = 8"),
    ("tenants.lab.jobs=[{name: j, model: llama3-8b, gpus: 12, tp: 8, tokens: 1e9}]",
     "tenants.lab.jobs.0.gpus: got 12; expected a multiple of tp*pp = 8"),
    ("tenants.lab.jobs=[{name: j, model: llama3-8b, gpus: 16, tp: 8, ep: 3, tokens: 1e9}]",
     "tenants.lab.jobs.0.ep: got 3; expected a divisor of the data-parallel size 2"),
    ("tenants.lab.training.0.model_weights=[1]",
     "tenants.lab.training.0.model_weights: got [1.0]; expected 2 non-negative weight(s) with "
     "a positive sum, one per model"),
    ("tenants.lab.training.0.gpus_weights=[1, -1, 1, 1]",
     "tenants.lab.training.0.gpus_weights: got [1.0, -1.0, 1.0, 1.0]; expected 4"),
    ("sites.0.halls=[{name: a, system: gb200-nvl72, racks: 1}, "
     "{name: a, system: gb200-nvl72, racks: 1}]",
     "sites.0.halls.1.name: got 'a'; expected each hall of a site to have its own name (also "
     "halls.0.name)"),
    ("tenants.eu.inference.0.replicas=40; tenants.eu.inference.0.autoscale={min_replicas: 2, "
     "max_replicas: 16}",
     "tenants.eu.inference.0.replicas: got 40; expected a count within autoscale's "
     "min_replicas..max_replicas (2..16)"),
    ("tenants.eu.inference.0.autoscale={min_replicas: 20, max_replicas: 16}",
     "tenants.eu.inference.0.autoscale.max_replicas: got 16; expected at least min_replicas "
     "(20)"),
    ("tenants.eu.inference.0.prompt_tokens={median: 500, p90: 100}",
     "tenants.eu.inference.0.prompt_tokens.p90: got 100.0; expected at least the "
     "median (500)"),
])
def test_checks_across_fields_name_the_field_and_its_value(tmp_path: Path, override: str,
                                                           message: str) -> None:
    from emulator.loader import load_scenario

    with pytest.raises(UserError) as info:
        load_scenario(_file(tmp_path), override.split("; "))
    text = str(info.value)
    assert f": {message}" in text and "{" not in text.partition(": got")[0]


def test_cable_cuts_after_until_are_noted(tmp_path: Path) -> None:
    """A cut within the duration that --until stops before gets a note, as one after the
    duration does."""
    path = _file(tmp_path, small_scenario(duration="1d"))
    proc = _cli("run", str(path), "--headless", "--until", "30m", "--out", str(tmp_path / "o"),
                "--set", "wan_events={cuts: [{cable: medusa, at: 2h}, {cable: medusa, at: 10m, "
                "repair: 5m}]}")
    assert proc.returncode == 0, proc.stderr
    assert ("note: wan_events: 1 cable cut(s) at or after the end of the run (30 min, --until) "
            "are not applied (the first: medusa at 2 h)") in proc.stderr


def test_an_integer_beyond_any_float_as_a_numeric_option_is_one_line() -> None:
    """float() of a 401-digit integer raises OverflowError: the option's line comes
    instead."""
    assert _build_error(_scheduler("srtf", {"min_ratio": 10 ** 400})) == (
        "scheduler.options.min_ratio: got <an integer of about 401 digits>; expected a "
        "number")


def _unrunnable(**jobs_and_streams: object) -> dict:
    """A 1-rack (72-GPU) scenario; its lab stream draws some 144-GPU jobs."""
    data = small_scenario(duration="6h")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"]["lab"].update(jobs_and_streams)
    return data


def test_validate_names_each_explicit_job_that_can_never_run(tmp_path: Path) -> None:
    """validate once said "N generated training job(s) can never fit" for explicit jobs and
    split problems alike, with one example reason, and exited 0."""
    data = _unrunnable(jobs=[
        {"name": "big", "model": "llama3-8b", "gpus": 144, "tp": 8, "tokens": 1e8},
        {"name": "odd", "model": "llama3-8b", "gpus": 12, "tp": 3, "tokens": 1e8}])
    proc = _cli("validate", str(_file(tmp_path, data)))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [
        "error: tenants.lab.jobs.big: training job 'big' can never run: too large for this "
        "cluster (needs 144 GPUs in groups of 8; the largest site offers 72)",
        "error: tenants.lab.jobs.odd: training job 'odd' can never run: its parallel sizes "
        "cannot split its model (tp 3 cannot split llama3-8b's 32 attention heads evenly; "
        "expected a tensor-parallel size of 1, 2, 4 or 8)"]
    assert "generated" not in " ".join(errors) and "valid —" not in proc.stdout
    # the stream's too-large draws stay a warning naming the stream
    assert ("warning: tenants.lab.training.ft: 3 of 10 generated job(s) of training stream "
            "'ft' will be rejected: too large for this cluster (needs 144 GPUs") in proc.stderr


def test_validate_refuses_a_stream_that_cannot_split_its_model(tmp_path: Path) -> None:
    data = _unrunnable()
    data["tenants"]["lab"]["training"][0].update({"model": "llama3-70b", "tp": 16,
                                                  "gpus": [16, 32]})
    line = _one_error_line(_cli("validate", str(_file(tmp_path, data))))
    assert line.startswith("error: tenants.lab.training.ft: 10 of 10 generated job(s) of "
                           "training stream 'ft' will be rejected: its parallel sizes cannot "
                           "split its model (tp 16 cannot split llama3-70b's 8 key/value heads")


def test_validate_warns_of_stream_draws_too_large_and_stays_valid(tmp_path: Path) -> None:
    proc = _cli("validate", str(_file(tmp_path, _unrunnable())))
    assert proc.returncode == 0, proc.stderr
    assert "valid —" in proc.stdout and "can never fit" not in proc.stderr
    assert "tenants.lab.training.ft: 3 of 10 generated job(s)" in proc.stderr
