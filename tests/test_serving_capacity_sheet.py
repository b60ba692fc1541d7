"""The serving capacity sheet (``gpuemu validate``): weights, KV pool, sequences, decode
step and saturated request rate per service and rack system, from the same kernels as a
run and the validation table."""

from __future__ import annotations

import copy
import math
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
from emulator.serving_capacity import serving_capacity
from emulator.validation_bias import SERVING_THROUGHPUT, serving_throughput_error
from tests.conftest import SMALL_SITE, run_scenario
from tests.test_serving_reference import DURATION_S, SLOTS, replay
from tests.test_serving_reference import _scenario as reference_scenario
from workloads.models import get_model

MIB = 2**20


def _scenario(services: list[dict[str, Any]], halls: list[dict[str, Any]]) -> dict[str, Any]:
    site = copy.deepcopy(SMALL_SITE)
    site["halls"] = halls
    return {"name": "sheet", "seed": 1, "duration": "1h", "sites": [site],
            "tenants": {"svc": {"origin": "local", "inference": services}},
            "compute": {"backend": "numpy"}}


def _service(**changes: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {"name": "chat", "model": "llama3-70b", "replicas": 3,
                           "gpus_per_replica": 1, "rate": "2/s", "precision": "fp8",
                           "prompt_tokens": {"dist": "fixed", "value": 1000},
                           "output_tokens": {"dist": "fixed", "value": 250}}
    svc.update(changes)
    return svc


H100_HALL = {"name": "h", "system": "h100-hgx", "racks": 1}
GB200_HALL = {"name": "g", "system": "gb200-nvl72", "racks": 1}


def test_one_row_adds_up_from_the_memory_and_the_kernels() -> None:
    """70B FP8 on one H100 (81,559 MiB): weights, pool, sequences by hand; the rate is the
    replica's steady-state output over the mean output, times the replicas."""
    sim = build(validate_scenario(_scenario([_service()], [H100_HALL])))
    (row,) = serving_capacity(sim)
    m = get_model("llama3-70b")
    weights = m.params * 1.0
    pool = 0.9 * (81_559 * MIB - weights)
    per_seq = 1250 * 2.0 * m.layers * m.kv_heads * m.head_dim
    assert row.system == "h100-hgx" and row.replicas == 3 and row.gpus_per_replica == 1
    assert row.weight_bytes_per_gpu == pytest.approx(weights, rel=1e-12)
    assert row.kv_pool_bytes_per_replica == pytest.approx(pool, rel=1e-12)
    assert row.sequences_per_replica == math.floor(pool / per_seq) > 0
    assert row.mean_output_tokens == 250.0 and row.offered_requests_per_s == 2.0
    assert row.capacity_requests_per_s == pytest.approx(
        3 * row.output_tokens_per_s_per_replica / 250.0, rel=1e-12)
    assert row.load == pytest.approx(2.0 / row.capacity_requests_per_s, rel=1e-12)
    # the saturated replica emits its batch once per step plus the prefill it carries
    assert row.output_tokens_per_s_per_replica < row.sequences_per_replica / row.decode_step_s
    assert row.decode_step_s > 0
    assert "KV pool" in row.line() and f"{row.sequences_per_replica:,} sequences" in row.line()


def test_a_moe_replica_on_several_gpus_adds_up_with_its_replicated_weights() -> None:
    """Qwen3-235B FP8 on 8 H200 (attention data parallelism): each GPU holds its share of
    the experts and the non-expert weights whole, and the pool is what that leaves."""
    halls = [{"name": "h", "system": "h200-hgx", "racks": 1}]
    service = _service(model="qwen3-235b-a22b", gpus_per_replica=8, replicas=1)
    sim = build(validate_scenario(_scenario([service], halls)))
    (row,) = serving_capacity(sim)
    m = get_model("qwen3-235b-a22b")
    per_gpu = m.params / 8 + m.non_expert_params * 7 / 8
    assert row.weight_bytes_per_gpu == pytest.approx(per_gpu, rel=1e-12)
    hbm = sim.index.systems[0].gpu.hbm_bytes
    assert row.kv_pool_bytes_per_replica == pytest.approx(0.9 * 8 * (hbm - per_gpu), rel=1e-12)


def test_a_stated_share_and_a_cap_change_the_sequences() -> None:
    rows = [serving_capacity(build(validate_scenario(_scenario([svc], [H100_HALL]))))[0]
            for svc in (_service(), _service(kv_free_fraction=0.45), _service(max_batch=5))]
    base, half, capped = (r.sequences_per_replica for r in rows)
    assert half == pytest.approx(base / 2, abs=1) and capped == 5 < base
    assert rows[1].kv_pool_bytes_per_replica == pytest.approx(
        rows[0].kv_pool_bytes_per_replica / 2, rel=1e-12)
    assert rows[2].output_tokens_per_s_per_replica < rows[0].output_tokens_per_s_per_replica


def test_a_row_per_system_unless_the_service_names_one_and_no_fit_is_said() -> None:
    halls = [H100_HALL, GB200_HALL]
    free = serving_capacity(build(validate_scenario(_scenario([_service()], halls))))
    assert [r.system for r in free] == ["h100-hgx", "gb200-nvl72"]
    pinned = serving_capacity(build(validate_scenario(
        _scenario([_service(system="gb200-nvl72")], halls))))
    assert [r.system for r in pinned] == ["gb200-nvl72"]
    # 70B in bf16 (141 GB) on one GPU: no room on an H100, room on a GB200 GPU; the run
    # places it where it fits, the sheet says both
    big = _service(name="big", precision="bf16")
    h100, gb200 = serving_capacity(build(validate_scenario(_scenario([big], halls))))
    assert h100.sequences_per_replica == 0 and h100.capacity_requests_per_s == 0.0
    assert h100.load == math.inf and "does not fit" in h100.line()
    assert np.isnan(h100.decode_step_s) and h100.kv_pool_bytes_per_replica == 0.0
    assert gb200.sequences_per_replica > 0 and gb200.capacity_requests_per_s > 0


def test_the_sheet_matches_the_validated_kernel() -> None:
    """The per-replica figure is the one docs/validation.md checks: the kernel's
    steady-state throughput at the KV-bound batch."""
    sim = build(validate_scenario(_scenario([_service()], [H100_HALL])))
    (row,) = serving_capacity(sim)
    compute = sim.engine.serving.compute
    spec = next(sim.works[i].spec for i in range(len(sim.works.kinds()))
                if sim.works.kinds()[i] == "inference")
    statics = compute.service_statics([spec], [sim.index.systems[0]])
    fields = dict(statics.batch.__dict__)
    fields["batch"] = np.array([float(row.sequences_per_replica)])
    want = inf.replica_throughput(np, inf.InferenceBatch(**fields))[0]
    assert row.output_tokens_per_s_per_replica == pytest.approx(float(want), rel=1e-12)


def test_validate_prints_the_sheet(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario([_service()], [H100_HALL])), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("serving capacity"))
    assert lines[at + 1].lstrip().startswith("svc/chat on h100-hgx: 3 × 1 GPU(s) fp8")
    assert "req/s" in lines[at + 1] and "Traceback" not in result.output


def test_each_line_says_how_far_its_family_was_from_published_figures() -> None:
    """Dense 70B on one H100 and MoE Mixtral on 2 and 8: each line names its validation
    family and carries that family's held-out figures; a family without a held-out row
    (dense on 16 GB200s) says so."""
    halls = [{**H100_HALL, "racks": 2}, GB200_HALL]
    hopper = {"system": "h100-hgx"}
    services = [_service(**hopper),
                _service(name="moe", model="mixtral-8x7b", gpus_per_replica=2, **hopper),
                _service(name="moe8", model="mixtral-8x7b", gpus_per_replica=8, **hopper),
                _service(name="odd", gpus_per_replica=16, system="gb200-nvl72")]
    dense, moe, moe8, odd = serving_capacity(build(validate_scenario(
        _scenario(services, halls))))
    assert dense.family == "serving throughput, dense, Hopper, TP1"
    assert moe.family == "serving throughput, MoE, Hopper, TP2"
    assert moe8.family == "serving throughput, MoE, Hopper, TP8"
    for row in (dense, moe, moe8):
        figures = SERVING_THROUGHPUT[row.family]
        assert row.validation == figures
        assert (f"median {figures.median:+.0%}" in row.line()
                and f"over {figures.rows} held-out rows" in row.line())
    assert odd.validation is None and "TP16): no held-out row" in odd.line()


def test_a_gpu_outside_the_catalogs_generations_has_no_family_figures() -> None:
    family, figures = serving_throughput_error(False, "my accelerator", 1)
    assert figures is None and family == "serving throughput, dense, my accelerator, TP1"
    assert serving_throughput_error(True, "H200 SXM", 8) == (
        "serving throughput, MoE, Hopper, TP8", SERVING_THROUGHPUT[
            "serving throughput, MoE, Hopper, TP8"])


def test_an_unchunked_service_is_rated_at_what_the_reference_delivers() -> None:
    """Without chunked prefill the sheet rates a replica at its prefill plus its share of
    the decode steps per request (prefill steps pause decoding), below the chunked figure.
    Driven at 1.5 times that rate, the token-level reference delivers it (measured: sheet
    4,366 output tokens/s, reference 4,369 over the run's second half, +0.1 %; the chunked
    rating of the same replica, which the sheet gave it before, is 9.3 % higher)."""
    unchunked = serving_capacity(run_scenario(reference_scenario(1.0, False)))[0]
    chunked = serving_capacity(run_scenario(reference_scenario(1.0, True)))[0]
    rated = unchunked.output_tokens_per_s_per_replica
    assert rated < 0.95 * chunked.output_tokens_per_s_per_replica
    sim = run_scenario(reference_scenario(1.5 * unchunked.capacity_requests_per_s, False))
    cols, ref = replay(sim, SLOTS, False)
    late = (ref.finish_s >= DURATION_S / 2) & (ref.finish_s < DURATION_S)
    delivered = float(cols["output_tokens"][late].sum()) / (DURATION_S / 2)
    assert delivered == pytest.approx(rated, rel=0.03)


_AZURE_CONVERSATION = ({"dist": "lognormal", "median": 1020, "p90": 2735},
                       {"dist": "lognormal", "median": 129, "p90": 424})


@pytest.mark.parametrize("prompt, output", [
    (_AZURE_CONVERSATION[0], _AZURE_CONVERSATION[1]),
    ({"dist": "fixed", "value": 8000}, {"dist": "fixed", "value": 50}),
], ids=["azure-conversation", "8k-prompts-50-outputs"])
def test_a_prefill_bound_service_is_rated_at_what_a_saturated_run_delivers(
        prompt: dict[str, Any], output: dict[str, Any]) -> None:
    """Llama-3-8B TP1 FP8 on GB200: one replica's prefill pipeline (chunks riding the
    decode steps) binds before its decode batch is full, and the sheet says so. Driven at
    twice the sheet's rate, the run delivers it (requests finishing in the second half;
    measured over 20 min: 63.8 against 64.7 req/s, -1.5%, and 13.1 against 13.1; the
    sheet said 77.6 and 17.9 before it counted the pipeline, 18% and 27% over)."""
    svc = _service(model="llama3-8b", replicas=1, rate="1/s", prompt_tokens=prompt,
                   output_tokens=output)
    data = _scenario([svc], [GB200_HALL])
    (row,) = serving_capacity(build(validate_scenario(data)))
    assert row.prefill_binds and "prefill-bound" in row.line()
    assert row.capacity_requests_per_s < 0.9 * row.decode_requests_per_s_per_replica
    data["duration"] = "10m"
    data["tenants"]["svc"]["inference"][0]["rate"] = f"{2.0 * row.capacity_requests_per_s}/s"
    sim = run_scenario(data)
    arrival = np.concatenate([b.arrival_s for b in sim.log.requests])
    done = arrival + np.concatenate([b.e2e_s for b in sim.log.requests])
    delivered = float(((done >= 300.0) & (done < 600.0)).sum()) / 300.0
    assert delivered == pytest.approx(row.capacity_requests_per_s, rel=0.05)
