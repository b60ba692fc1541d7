"""Shared fixtures: small, fast scenarios built from the real presets."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from emulator.build import Simulation, build
from emulator.errors import MAX_LINE
from emulator.loader import validate_scenario

# CI runs property tests on a fixed example sequence (reproducible gate); local runs explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent

SMALL_SITE = {"preset": "bizerte-20mw",
              "halls": [{"name": "hall-a", "system": "gb200-nvl72", "racks": 4}]}


def small_scenario(**changes: Any) -> dict[str, Any]:
    """A 2-day, 4-rack (288-GPU) Bizerte scenario with training and inference tenants."""
    data: dict[str, Any] = {
        "name": "small",
        "seed": 7,
        "duration": "2d",
        "sites": [copy.deepcopy(SMALL_SITE)],
        "tenants": {
            "eu": {"origin": "marseille", "inference": [{
                "name": "chat", "model": "llama3-8b", "replicas": 4, "gpus_per_replica": 1,
                "rate": "2/s", "slo": {"ttft": "500ms", "tpot": "30ms"}}]},
            "lab": {"training": [{
                "name": "ft", "model": ["llama3-8b", "llama3-70b"], "rate": "40/d",
                "gpus": [8, 16, 72, 144], "tp": 8,
                "tokens": {"dist": "lognormal", "median": 5e8, "p90": 4e9},
                "global_batch_tokens": 1e6, "checkpoint_interval": "30m"}]},
        },
        "scheduler": {"queue": "backfill", "placement": "pack"},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "10m", "serving_window": "2m"},
    }
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return data


def service_statics(model: str, precision: str, system: str, gpus_per_replica: int,
                    **changes: Any) -> Any:
    """The kernel inputs (``InferenceBatch``) the emulator builds for one service of
    ``model`` on one rack of ``system`` (1000-token prompts and outputs, numpy backend;
    ``changes`` are more fields of the service)."""
    service = {"name": "s", "model": model, "replicas": 1,
               "gpus_per_replica": gpus_per_replica, "rate": "1/s", "precision": precision,
               "prompt_tokens": {"dist": "fixed", "value": 1000},
               "output_tokens": {"dist": "fixed", "value": 1000}, **changes}
    scenario = {
        "name": "statics", "seed": 1, "duration": "1h",
        "sites": [dict(SMALL_SITE, halls=[{"name": "h", "system": system, "racks": 1}])],
        "tenants": {"svc": {"origin": "local", "inference": [service]}},
        "compute": {"backend": "numpy"},
    }
    sim = build(validate_scenario(scenario))
    spec = next(w.spec for w in sim.works if w.kind == "inference")
    return sim.engine.serving.compute.service_statics([spec], [sim.index.systems[0]]).batch


TWO_SYSTEMS = [{"name": "hall-a", "system": "gb200-nvl72", "racks": 1},
               {"name": "hall-b", "system": "h100-hgx", "racks": 1}]
"""Halls of a site with one GB200 and one H100 rack (a service's own rack system and
another)."""


def isolate_on_own_system(sim: Simulation, service: Any) -> Any:
    """Take every GPU of ``service``'s rack system but its own out of service (so a
    replica it adds can only wait, or go to another system); returns that system."""
    import numpy as np

    compute = sim.engine.serving.compute
    assert service.gpus is not None
    system = compute.system_of_gpu(int(service.gpus[0]))
    same = [g for g in range(sim.index.n_gpus) if compute.system_of_gpu(g) is system]
    sim.engine.core.disrupt(np.setdiff1d(same, service.gpus), "maintenance")
    return system


def run_scenario(data: dict[str, Any]) -> Simulation:
    """Validate, build and run ``data`` to its horizon."""
    sim = build(validate_scenario(data), keep_segments=True)
    sim.run()
    return sim


def run_with_events(data: dict[str, Any], folder: Path, events: list[dict] | None = None
                    ) -> Simulation:
    """Build and run ``data`` to its horizon with ``events`` (planned operations, written
    as an events file in ``folder``; none when ``None``)."""
    import yaml

    path = None
    if events is not None:
        path = folder / "events.yaml"
        path.write_text(yaml.safe_dump({"events": events}))
    sim = build(validate_scenario(data), events_file=path)
    sim.run()
    return sim


@pytest.fixture(scope="session")
def small_run() -> Simulation:
    """One finished run of :func:`small_scenario`, shared by read-only tests."""
    return run_scenario(small_scenario())


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m emulator ARGS`` from the project folder (its output captured)."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a command that failed on bad input (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert len(lines[0]) <= MAX_LINE + 10
    return lines[0]
