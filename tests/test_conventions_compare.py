"""What ``gpuemu compare`` prints: TTFT p99 and fairness columns, adaptive time units,
``--until``, a warning when policies produced identical schedules, the seeds default, and
full-width tables when stdout is not a terminal."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from emulator.compare import DEFAULT_SEEDS, CompareResult, RunMetrics, run_compare, with_policy
from emulator.compare_metrics import fairness, schedule_digest
from emulator.compare_output import column_format, identical_schedules, print_tables
from emulator.results import collect
from emulator.sweep import GridPoint
from tests.conftest import run_scenario, small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _jobs(tenants: list[str], gpu_s: list[float], kind: str = "training") -> dict:
    n = len(tenants)
    return {"kind": np.array([kind] * n, dtype=object),
            "tenant": np.array(tenants, dtype=object), "gpu_s": np.array(gpu_s)}


def test_jain_index_of_normalised_shares() -> None:
    jain, ratio = fairness(_jobs(["a", "b"], [50.0, 50.0]), {})
    assert jain == pytest.approx(1.0) and ratio == pytest.approx({"a": 1.0, "b": 1.0})
    jain, ratio = fairness(_jobs(["a", "b", "c"], [90.0, 0.0, 0.0]), {})
    assert jain == pytest.approx(1 / 3) and ratio["a"] == pytest.approx(3.0)
    # a tenant with three times the weight is owed three quarters: 75/25 is fair
    jain, ratio = fairness(_jobs(["a", "b", "a"], [50.0, 25.0, 25.0]), {"a": 3.0, "b": None})
    assert jain == pytest.approx(1.0) and ratio == pytest.approx({"a": 1.0, "b": 1.0})
    # 50/50 against quotas of 75/25: x = (2/3, 2), J = (8/3)^2 / (2 * 40/9) = 0.8
    jain, ratio = fairness(_jobs(["a", "b"], [50.0, 50.0]), {"a": 3.0, "b": 1.0})
    assert jain == pytest.approx(0.8) and ratio == pytest.approx({"a": 2 / 3, "b": 2.0})


def test_fairness_ignores_inference_and_needs_training() -> None:
    assert fairness(_jobs(["a"], [10.0], kind="inference"), {}) == (None, {})
    assert fairness(_jobs(["a", "b"], [0.0, 0.0]), {}) == (None, {})


def test_schedule_digest_sees_any_moved_job() -> None:
    jobs = {"work_id": np.arange(3), "start_s": np.array([0.0, 5.0, np.nan]),
            "end_s": np.array([4.0, 9.0, np.nan]), "preemptions": np.zeros(3, np.int64),
            "state": np.array(["finished", "finished", "queued"], dtype=object)}
    same = {k: v.copy() for k, v in jobs.items()}
    assert schedule_digest(jobs) == schedule_digest(same)
    same["start_s"][1] = 5.5
    assert schedule_digest(jobs) != schedule_digest(same)


@pytest.mark.parametrize(("metric", "values", "header", "cell"), [
    ("jct_mean_s", [378.0, 690.0], "mean JCT (min)", "6.3"),  # column top 11.5 min
    ("jct_mean_s", [7.2e3, 1.8e4], "mean JCT (h)", "2.00"),
    ("jct_p99_s", [3.0e5], "p99 JCT (d)", "3.47"),
    ("wait_mean_s", [0.0, 0.0], "mean wait (s)", "0.00"),
    ("ttft_p99_s", [0.0596, 0.021], "p99 TTFT (ms)", "59.6"),
    ("fairness", [0.8125], "fairness (Jain)", "0.812"),
])
def test_time_columns_pick_one_unit_each(metric: str, values: list[float], header: str,
                                         cell: str) -> None:
    head, scale, fmt = column_format(metric, values)
    assert head == header
    assert fmt.format(values[0] * scale) == cell


def _result(digests: dict[str, list[str]], metrics: dict | None = None) -> CompareResult:
    runs = [RunMetrics("base", policy, seed, metrics or {"overall": {"finished": 1.0}},
                       np.empty(0), np.empty(0), np.empty(0), np.empty(0), 0.1, [], d)
            for policy, ds in digests.items() for seed, d in enumerate(ds)]
    return CompareResult("s.yaml", list(digests), [0, 1], [GridPoint(())], runs)


def test_identical_schedules_are_found_per_seed() -> None:
    result = _result({"fifo": ["x", "y"], "las": ["x", "y"], "srtf": ["x", "z"]})
    assert identical_schedules(result) == [("base", ["fifo", "las"])]
    assert identical_schedules(_result({"fifo": ["x", "y"], "las": ["x", "z"]})) == []


def test_tables_are_full_width_when_not_a_terminal() -> None:
    metrics = {"overall": {"jct_mean_s": 4000.0, "jct_p99_s": 9000.0, "wait_mean_s": 60.0,
                           "util": 0.5, "slo": 0.99, "ttft_p99_s": 0.2, "fairness": 0.9,
                           "energy_mwh": 12.0, "lost_gpu_h": 3.0, "finished": 40.0}}
    result = _result({"a-rather-long-policy-name": ["x", "y"], "fifo": ["x", "z"]}, metrics)
    out = io.StringIO()
    console = Console(file=out, width=80)  # what a pipe gets by default
    assert not console.is_terminal
    print_tables(result, console)
    lines = out.getvalue().splitlines()
    assert max(len(ln) for ln in lines) > 120  # not squeezed into 80 columns
    assert sum("a-rather-long-policy-name" in ln for ln in lines) == 1  # one row, unwrapped
    assert "…" not in out.getvalue()
    assert console.width == 80  # the console is left as it was


def test_ttft_p99_and_share_come_from_the_run(tmp_path: Path) -> None:
    data = small_scenario(duration="3h")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_compare(path, ["fifo"], 1)
    metrics = result.runs[0].metrics
    alone = collect(run_scenario(with_policy(data, "fifo", 7)), include_requests=False)
    assert metrics["overall"]["ttft_p99_s"] == pytest.approx(
        alone.summary["requests"]["ttft_s"]["p99"])
    assert metrics["eu"]["ttft_p99_s"] == pytest.approx(
        alone.summary["tenants"]["eu"]["requests"]["ttft_s"]["p99"])
    assert metrics["lab"]["ttft_p99_s"] is None  # no inference
    assert metrics["overall"]["fairness"] == pytest.approx(1.0)  # one training tenant
    assert metrics["lab"]["share_vs_quota"] == pytest.approx(1.0)
    assert "fairness" not in metrics["lab"]


def _two_jobs(tmp_path: Path) -> Path:
    """One rack, two explicit jobs (at 10 min and at 3 h), no queueing at all."""
    data = small_scenario(duration="6h")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"] = {"lab": {"jobs": [
        {"name": "early", "model": "generic", "gpus": 8, "runtime": "30m", "submit": "10m"},
        {"name": "late", "model": "generic", "gpus": 8, "runtime": "30m", "submit": "3h"}]}}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_until_stops_every_run(tmp_path: Path) -> None:
    path = _two_jobs(tmp_path)
    full = run_compare(path, ["fifo"], 1)
    early = run_compare(path, ["fifo"], 1, until_s=2 * 3600.0)
    assert full.runs[0].metrics["overall"]["finished"] == 2
    assert early.runs[0].metrics["overall"]["finished"] == 1


def test_cli_compare_until_and_identical_warning(tmp_path: Path) -> None:
    path = _two_jobs(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "emulator", "compare", str(path),
                           "--policies", "fifo,las", "--seeds", "2", "--until", "2h",
                           "--out", str(tmp_path / "cmp")], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "fifo, las produced identical schedules" in warnings[0]
    assert "note: 2 seeds: 95% intervals are wide" in proc.stderr
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["identical_schedules"] == [{"point": "base", "policies": ["fifo", "las"]}]
    finished = [r["mean"] for r in saved["aggregates"]
                if r["scope"] == "overall" and r["metric"] == "finished"]
    assert finished == [1.0, 1.0]  # the 3 h job is past --until 2h
    bad = subprocess.run([sys.executable, "-m", "emulator", "compare", str(path),
                          "--until", "soon"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --until")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_five_seeds_by_default_and_said_in_help() -> None:
    assert DEFAULT_SEEDS == 5
    proc = subprocess.run([sys.executable, "-m", "emulator", "compare", "--help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    text = " ".join(proc.stdout.split())
    assert "5 by default" in text and "[default: 5]" in text
    assert "--until" in text


def test_print_full_width_widens_only_pipes() -> None:
    from rich.table import Table

    from emulator.wide_console import print_full_width

    table = Table(*[f"column number {i}" for i in range(12)])
    table.add_row(*[f"value {i:>8}" for i in range(12)])
    piped = io.StringIO()
    print_full_width(Console(file=piped, width=80), table)
    assert min(len(ln) for ln in piped.getvalue().splitlines()) > 200
    assert "…" not in piped.getvalue() and "column number 11" in piped.getvalue()
    terminal = io.StringIO()
    print_full_width(Console(file=terminal, width=80, force_terminal=True), table)
    assert max(len(ln) for ln in _plain(terminal.getvalue())) <= 80  # a terminal keeps its width


def _plain(text: str) -> list[str]:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()


def test_entitlements_follow_the_policy_quotas_and_weights() -> None:
    """Fairness once divided by the tenants' share weights even where fairshare's quotas
    or weights, which the policy itself shares GPUs by, said otherwise."""
    from emulator.compare_metrics import entitlements
    from emulator.policies.fairshare import FairSharePolicy
    from emulator.policies.fifo import FifoPolicy

    shares = {"a": None, "b": None, "eu": None}
    assert entitlements(FifoPolicy(), ["a", "b", "eu"], shares) == (shares, "share")
    assert entitlements(FairSharePolicy(), ["a", "b"], shares)[1] == "share"
    # a quota of 0.5 for a; b and eu (inference) split the other half by share
    w, basis = entitlements(FairSharePolicy(quotas={"a": 0.5}), ["a", "b", "eu"], shares)
    assert basis == "quotas" and w == pytest.approx({"a": 0.5, "b": 0.25, "eu": 0.25})
    # 50/50 training GPU-seconds against 0.5/0.25: a got 0.75 of its due, b 1.5 times
    jain, ratio = fairness(_jobs(["a", "b"], [50.0, 50.0]), w)
    assert ratio == pytest.approx({"a": 0.75, "b": 1.5}) and jain == pytest.approx(0.9)
    w, basis = entitlements(FairSharePolicy(weights={"b": 3.0}), ["a", "b"], shares)
    assert basis == "weights" and w == pytest.approx({"a": 0.25, "b": 0.75})
    w, basis = entitlements(FairSharePolicy(quotas={"a": 1.0}), ["a", "b"], shares)
    assert basis == "quotas" and w == pytest.approx({"a": 1.0, "b": 0.0})
    # b is entitled to nothing: no ratio, and left out of the index
    assert fairness(_jobs(["a", "b"], [50.0, 50.0]), w) == (pytest.approx(1.0),
                                                            {"a": pytest.approx(0.5)})


def test_compare_measures_fairshare_against_its_quotas(tmp_path: Path) -> None:
    data = small_scenario(duration="3h")
    data["tenants"]["lab2"] = copy.deepcopy(data["tenants"]["lab"])
    data["scheduler"] = {"queue": "fairshare", "placement": "pack",
                         "options": {"quotas": {"lab": 0.6, "lab2": 0.2}}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_compare(path, ["fairshare", "fifo"], 1)
    fair, fifo = result.runs
    assert (fair.entitlement, fifo.entitlement) == ("quotas", "share")
    for run, due in ((fair, {"lab": 0.75, "lab2": 0.25}), (fifo, {"lab": 0.5, "lab2": 0.5})):
        m = run.metrics
        held = np.array([m["lab"]["share_vs_quota"] * due["lab"],
                         m["lab2"]["share_vs_quota"] * due["lab2"]])
        assert held.sum() == pytest.approx(1.0)  # the ratios undo to training shares
    from emulator.compare_output import entitlement_note

    note = entitlement_note(result)
    assert note is not None and "fairshare: its quotas" in note
    assert "fifo: the tenants' share weights" in note


def test_entitlements_leave_out_tenants_whose_work_never_runs() -> None:
    """A tenant every job of which is rejected gets no part of what fairshare's quotas
    leave (the policy keeps none for it: ``tenants_without_work``); compare once still
    split the rest with it, halving the others' due."""
    from emulator.compare_metrics import entitlements
    from emulator.policies.fairshare import FairSharePolicy

    shares = {"a": None, "b": None, "c": None}
    policy = FairSharePolicy(quotas={"a": 0.5})
    w, basis = entitlements(policy, ["a", "b", "c"], shares, idle=frozenset({"c"}))
    assert basis == "quotas" and w == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})
    # the policy's own split among the tenants it serves
    assert policy.entitlements(["a", "b"], 1, {"a": 1.0, "b": 1.0}) == pytest.approx(
        {"a": 0.5, "b": 0.5})
    # c (its jobs rejected: no GPU-seconds) has no ratio and is left out of the index
    jain, ratio = fairness(_jobs(["a", "b", "c"], [50.0, 50.0, 0.0]), w)
    assert ratio == pytest.approx({"a": 1.0, "b": 1.0}) and jain == pytest.approx(1.0)
    # a quota holder with nothing to run keeps its quota, as in the policy
    w, _ = entitlements(policy, ["a", "b", "c"], shares, idle=frozenset({"a", "c"}))
    assert w == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})


def test_compare_fairness_leaves_out_a_tenant_whose_jobs_are_all_rejected() -> None:
    data = small_scenario(duration="3h")
    del data["tenants"]["eu"]  # training tenants only: the quota's rest goes to lab2
    data["tenants"]["lab2"] = copy.deepcopy(data["tenants"]["lab"])
    data["tenants"]["big"] = {"jobs": [{"name": "huge", "model": "llama3-8b", "gpus": 576,
                                        "tp": 8, "tokens": 1e10,
                                        "global_batch_tokens": 1e6}]}
    data["scheduler"] = {"queue": "fairshare", "placement": "pack",
                         "options": {"quotas": {"lab": 0.5}}}
    sim = run_scenario(data)
    from emulator.compare import run_metrics

    m = run_metrics(sim)
    assert m.entitlement == "quotas"
    assert m.metrics["big"].get("share_vs_quota") is None
    # lab and lab2 are each entitled to half (as the policy shares): the ratios undo to
    # training shares that sum to 1
    held = m.metrics["lab"]["share_vs_quota"] * 0.5 + m.metrics["lab2"]["share_vs_quota"] * 0.5
    assert held == pytest.approx(1.0)
