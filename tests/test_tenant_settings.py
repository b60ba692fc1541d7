"""Tenant settings as a capacity planner writes them: residency codes, fair-share
entitlements of tenants without work, plan targets on figures a tenant can never have."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import validate_scenario
from emulator.plan_target import parse_target
from emulator.policies.fairshare import FairSharePolicy
from emulator.results import collect
from emulator.tables import jobs_table
from tests.conftest import one_error_line, run_cli, run_scenario, small_scenario


@pytest.mark.parametrize("code", ["Tunisia", "", "T1", "MAR"])
def test_residency_that_is_no_country_code_is_refused(code: str) -> None:
    data = small_scenario()
    data["tenants"]["lab"]["residency"] = code
    with pytest.raises(UserError) as err:
        validate_scenario(data)
    assert str(err.value).endswith(f"tenants.lab.residency: got {code!r}; expected a two-letter "
                              "ISO 3166-1 country code such as MA or TN")


@pytest.mark.parametrize("code", ["TN", "tn", "FR"])
def test_residency_country_codes_are_accepted(code: str) -> None:
    data = small_scenario()
    data["tenants"]["lab"]["residency"] = code
    loaded = validate_scenario(data)
    assert loaded.scenario.tenants["lab"].residency == code


def test_residency_name_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario()))
    line = one_error_line(run_cli("validate", str(path), "--set",
                                  "tenants.lab.residency=Tunisia"))
    assert line.endswith("tenants.lab.residency: got 'Tunisia'; expected a two-letter "
                         "ISO 3166-1 country code such as MA or TN")


def _fairshare_schedule(extra_tenants: dict[str, Any]) -> tuple[list[tuple[Any, ...]],
                                                                 dict[str, float]]:
    """Each job's (tenant, name, start, end, preemptions) of tenants lab and lab2 in a
    contended fair-share run, and their GPU-hours."""
    data = small_scenario(duration="1d")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["scheduler"] = {"queue": "fairshare", "placement": "pack"}
    data["tenants"]["lab"]["training"][0].update(rate="60/d", gpus=[8, 16, 32])
    data["tenants"]["lab"]["share"] = 3
    data["tenants"]["lab2"] = copy.deepcopy(data["tenants"]["lab"])
    data["tenants"]["lab2"]["share"] = 1
    data["tenants"].update(extra_tenants)
    sim = run_scenario(data)
    summary = collect(sim).summary
    jobs = jobs_table(sim.log, sim.works)
    rows = sorted(zip(*(jobs[k].tolist() for k in ("tenant", "name", "start_s", "end_s",
                                                     "preemptions")), strict=True))
    rows = [tuple(None if isinstance(x, float) and math.isnan(x) else x for x in r)
            for r in rows]  # a job that never started has no start time
    return ([r for r in rows if r[0] in ("lab", "lab2")],
            {t: v["gpu_hours"] for t, v in summary["tenants"].items() if t in ("lab", "lab2")})


def test_fairshare_tenant_without_work_changes_no_schedule() -> None:
    """A tenant with nothing to run (none configured, or all of it refused by residency)
    keeps no slice of the cluster: the other tenants' schedule is the same without it."""
    base = _fairshare_schedule({})
    assert base[1]["lab"] > 0 and base[1]["lab2"] > 0
    assert _fairshare_schedule({"idle": {}}) == base
    assert _fairshare_schedule({"nowhere": {"residency": "FR", "training": [
        {"name": "ft", "model": "llama3-8b", "rate": "20/d", "gpus": [8], "tp": 8,
         "tokens": 1e9}]}}) == base


def test_fairshare_quota_of_tenant_without_work_is_kept() -> None:
    """A quota is a reservation the scenario asked for: it stays with its tenant."""
    policy = FairSharePolicy(quotas={"idle": 0.5})
    view = SimpleNamespace(tenant_gpus={"a": 0, "idle": 0},
                           options={"tenants_without_work": ["idle"]})
    assert policy.entitled_tenants(view, ["a"]) == ["a", "idle"]
    assert FairSharePolicy().entitled_tenants(view, ["a"]) == ["a"]


@pytest.mark.parametrize(("target", "said"), [
    ("tenants.lab.slo_attainment >= 0.99", "tenant 'lab' has no inference service, so its "
     "slo_attainment is null in every run and the target can never be met; expected a "
     "tenant with an inference service (eu)"),
    ("tenants.lab.requests.ttft_s.p99 <= 1", "tenant 'lab' has no inference service"),
    ("tenants.eu.wait_incl_queued_s.mean <= 1800", "tenant 'eu' has no training work, so "
     "its wait_incl_queued_s is null in every run"),
])
def test_plan_target_a_tenant_can_never_have_is_refused_before_any_run(
        tmp_path: Path, target: str, said: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario()))
    proc = run_cli("plan", str(path), "--vary", "sites.0.halls.0.racks", "--range", "1..2",
                   "--target", target, "--seeds", "1", "--until", "10m", "--serial",
                   "--no-cache", "--out", str(tmp_path / "p"))
    line = one_error_line(proc)
    assert f"--target {target.split()[0]}: {said}" in line
    assert "cells" not in proc.stdout  # nothing ran


def test_plan_target_on_figures_a_tenant_has_still_runs() -> None:
    target = parse_target("tenants.eu.slo_attainment >= 0.9 and tenants.lab.jct_s.p99 <= 9 "
                          "and tenants.lab.requests.count == 0")
    target.check_names(["eu", "lab"], ["bizerte-20mw"],
                       {"eu": {"inference"}, "lab": {"training"}})
