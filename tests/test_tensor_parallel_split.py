"""A dense replica's GPUs must split its attention heads evenly: an impossible
tensor-parallel size is a configuration error naming the field, the value and the sizes
that work; MoE services (attention data parallelism) are not held to it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from tests.conftest import run_scenario, small_scenario
from workloads.models import get_model

ROOT = Path(__file__).resolve().parent.parent


def test_the_sizes_that_split_llama3_70b() -> None:
    m = get_model("llama3-70b")  # 64 query heads, 8 key/value heads
    assert [tp for tp in range(1, 129) if m.tensor_parallel_problem(tp) is None] == [
        1, 2, 4, 8, 16, 32, 64]
    problem = m.tensor_parallel_problem(3)
    assert problem == ("gpus_per_replica 3 cannot split llama3-70b's 64 attention heads "
                       "evenly; expected a tensor-parallel size of 1, 2, 4, 8, 16, 32 or 64")


def test_key_value_heads_split_or_are_copied_a_whole_number_of_times() -> None:
    m = dataclasses.replace(get_model("llama3-70b"), name="m40", heads=40, kv_heads=8)
    assert m.tensor_parallel_problem(8) is None  # 1 KV head each
    assert m.tensor_parallel_problem(40) is None  # each KV head on 5 GPUs
    problem = m.tensor_parallel_problem(5)  # 40 query heads split, 8 KV heads cannot be
    assert problem is not None and "8 key/value heads" in problem
    assert "1, 2, 4, 8 or 40" in problem


def _service(model: str, gpus: int) -> dict:
    data = small_scenario(duration="1h")
    data["tenants"]["eu"]["inference"][0].update({"model": model, "gpus_per_replica": gpus,
                                                  "replicas": 2})
    return data


def test_a_dense_service_on_three_gpus_is_a_configuration_error() -> None:
    with pytest.raises(UserError) as info:
        run_scenario(_service("llama3-8b", 3))
    message = str(info.value)
    assert message.startswith("<scenario>: tenants.eu.inference.chat: gpus_per_replica 3 "
                              "cannot split llama3-8b's 32 attention heads")
    assert "\n" not in message


def test_valid_and_moe_sizes_still_run() -> None:
    run_scenario(_service("llama3-8b", 16))  # 32 heads over 16 GPUs; 8 KV heads twice each
    run_scenario(_service("mixtral-8x7b", 3))  # attention data parallel: heads not split


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "tp3.yaml"
    path.write_text(yaml.safe_dump(_service("llama3-70b", 3)))
    proc = subprocess.run([sys.executable, "-m", "emulator", "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: {path}: tenants.eu.inference.chat: gpus_per_replica 3 cannot split "
                     "llama3-70b's 64 attention heads evenly; expected a tensor-parallel "
                     "size of 1, 2, 4, 8, 16, 32 or 64"]


def test_training_splits_key_value_heads_too_and_rejects_the_job() -> None:
    m = get_model("llama3-70b")  # Megatron-Core: 8 query groups over the TP size
    assert m.tensor_parallel_problem(8, "tp", kv_copies=False) is None
    problem = m.tensor_parallel_problem(16, "tp", kv_copies=False)
    assert problem == ("tp 16 cannot split llama3-70b's 8 key/value heads evenly; expected "
                       "a tensor-parallel size of 1, 2, 4 or 8")
    data = small_scenario(duration="6h")
    data["tenants"]["lab"] = {"jobs": [{"name": "j", "model": "llama3-8b", "gpus": 12,
                                        "tp": 3, "tokens": 1e8}]}
    sim = run_scenario(data)
    (work,) = [w for w in sim.works if w.kind == "training"]
    assert work.state == "rejected"
    assert "tp 3 cannot split llama3-8b's 32 attention heads" in " ".join(sim.log.reasons)


def test_latent_attention_is_held_to_its_query_heads_only() -> None:
    m = get_model("deepseek-v3")  # one latent per token (cached as one head) for 128 heads
    assert m.latent_kv_rank > 0 and m.kv_heads == 1
    assert m.tensor_parallel_problem(8, "tp", kv_copies=False) is None
    assert m.tensor_parallel_problem(3, "tp", kv_copies=False) is not None


def test_a_replayed_job_with_its_duration_given_is_not_held_to_a_split() -> None:
    data = small_scenario(duration="6h")
    data["tenants"]["lab"] = {"jobs": [{"name": "j", "model": "generic", "gpus": 3, "tp": 3,
                                        "runtime": "1h"}]}
    sim = run_scenario(data)
    (work,) = [w for w in sim.works if w.kind == "training"]
    assert work.state == "finished"


def test_training_split_of_layers_and_experts() -> None:
    """Pipeline stages need a layer each (uneven splits allowed); ``ep`` deals out whole
    experts, and a dense model has none to split."""
    llama, mixtral = get_model("llama3-8b"), get_model("mixtral-8x7b")
    assert get_model("llama3-405b").training_split_problem(16, 1) is None  # 126 layers
    assert llama.training_split_problem(32, 1) is None
    assert llama.training_split_problem(64, 1) == (
        "pp 64 exceeds llama3-8b's 32 layers; expected at least one layer per pipeline stage")
    assert llama.training_split_problem(8, 1, 5) == (
        "pp 8 x virtual_stages 5 = 40 exceeds llama3-8b's 32 layers; expected at least one "
        "layer per pipeline stage")
    assert llama.training_split_problem(1, 2) == (
        "ep 2 needs a mixture-of-experts model; llama3-8b is dense (ep 1)")
    assert mixtral.training_split_problem(1, 8) is None
    assert mixtral.training_split_problem(1, 3) == (
        "ep 3 cannot split mixtral-8x7b's 8 experts evenly; expected an expert-parallel "
        "size of 1, 2, 4 or 8")


def test_a_job_whose_experts_do_not_split_is_rejected() -> None:
    data = small_scenario(duration="6h")
    data["tenants"]["lab"] = {"jobs": [
        {"name": "ok", "model": "mixtral-8x7b", "gpus": 16, "ep": 4, "tokens": 1e8},
        {"name": "bad", "model": "mixtral-8x7b", "gpus": 24, "ep": 3, "tokens": 1e8}]}
    sim = run_scenario(data)
    states = {w.name: w.state for w in sim.works if w.kind == "training"}
    assert states == {"ok": "finished", "bad": "rejected"}
    assert "ep 3 cannot split mixtral-8x7b's 8 experts" in " ".join(sim.log.reasons)
