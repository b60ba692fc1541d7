"""The KV pool (round 10): a serving replica's KV cache is the runtime's share of the memory
the weights leave free, on the memory the driver reports; a service may state the share
(``kv_free_fraction``) and a bad value is one clear error, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import cupy_kernels.inference as inf
from emulator.build import build
from emulator.cli import app
from emulator.loader import validate_scenario
from tests.conftest import SMALL_SITE
from workloads.models import get_model


def _scenario(fraction: float | None, model: str = "llama3-70b") -> dict[str, Any]:
    """One TP1 FP8 service of ``model`` on an H100 hall; ``fraction`` None: the default."""
    svc: dict[str, Any] = {"name": "s", "model": model, "replicas": 1, "gpus_per_replica": 1,
                           "rate": "1/s", "precision": "fp8",
                           "prompt_tokens": {"dist": "fixed", "value": 1000},
                           "output_tokens": {"dist": "fixed", "value": 1000}}
    if fraction is not None:
        svc["kv_free_fraction"] = fraction
    return {"name": "kv", "seed": 1, "duration": "1h",
            "sites": [dict(SMALL_SITE, halls=[{"name": "h", "system": "h100-hgx",
                                               "racks": 1}])],
            "tenants": {"svc": {"origin": "local", "inference": [svc]}},
            "compute": {"backend": "numpy"}}


def _slots(fraction: float | None) -> int:
    """KV-bound sequences per replica that the engine gives the service."""
    sim = build(validate_scenario(_scenario(fraction)))
    spec = next(w.spec for w in sim.works if w.kind == "inference")
    statics = sim.engine.serving.compute.service_statics([spec], [sim.index.systems[0]])
    return int(statics.slots[0])


def test_the_engine_sizes_the_pool_from_free_memory_and_the_stated_share() -> None:
    """Llama 3 70B FP8 on one H100 (81,559 MiB): the pool is ``f·(hbm - weights)``."""
    m = get_model("llama3-70b")
    hbm = 81_559 * 2**20
    per_seq = 2000 * 2.0 * m.layers * m.kv_heads * m.head_dim * 1.0  # fp8 KV
    for f in (None, 0.5, 0.95):
        share = inf.DEFAULT_KV_FREE_FRACTION if f is None else f
        assert _slots(f) == int(np.floor(share * (hbm - m.params * 1.0) / per_seq)), f
    assert _slots(0.5) < _slots(None) < _slots(0.95)


@pytest.mark.parametrize("bad", [0, 1.5, -0.1])
def test_a_bad_share_is_one_clear_error_and_exit_2(bad: float, tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(_scenario(bad)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(scenario), "--headless", "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "kv_free_fraction" in lines[0] and str(bad) in lines[0]
    assert not out.exists()
