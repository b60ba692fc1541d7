"""Training settings for the step-time terms: micro-batch, recomputation, interleaving, EP."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import yaml
from pydantic import ValidationError

from emulator import api
from tests.conftest import run_scenario, small_scenario
from workloads.config import TrainingJobConfig, TrainingWorkloadConfig

BASE = {"name": "j", "model": "llama3-70b", "gpus": 64, "tp": 8, "pp": 4, "tokens": 1e9,
        "seq_len": 8192}


def test_fewer_micro_batches_than_stages_is_rejected() -> None:
    # dp 2: 4 sequences per step give 2 micro-batches per rank < pp 4
    with pytest.raises(ValidationError, match=r"micro-batches per data-parallel rank"):
        TrainingJobConfig.model_validate(BASE | {"global_batch_tokens": 4 * 8192})
    TrainingJobConfig.model_validate(BASE | {"global_batch_tokens": 8 * 8192})


def test_ep_must_divide_data_parallel_size() -> None:
    with pytest.raises(ValidationError, match="ep"):
        TrainingJobConfig.model_validate(BASE | {"ep": 3, "global_batch_tokens": 1e6})


STREAM = {"name": "s", "model": "mixtral-8x7b", "rate": "4/d", "tokens": 1e9}


def test_stream_sizes_are_held_to_the_same_split_as_a_job() -> None:
    """Every GPU count of a stream must split as an explicit job's would: ``ep`` divides
    its data-parallel size, and with ``pp > 1`` each rank gets ``pp`` micro-batches."""
    with pytest.raises(ValidationError, match=r"ep\n.*got 3; expected a divisor of the "
                       r"data-parallel size 16 \(gpus / \(tp\*pp\)\) for gpus.1 = 16"):
        TrainingWorkloadConfig.model_validate(STREAM | {"gpus": [24, 16], "ep": 3})
    TrainingWorkloadConfig.model_validate(STREAM | {"gpus": [24, 48], "ep": 3})
    with pytest.raises(ValidationError, match=r"gives 3.81 micro-batches per data-parallel "
                       r"rank for gpus.1 = 512; expected at least pp \(4\)"):
        TrainingWorkloadConfig.model_validate(STREAM | {"gpus": [16, 512], "pp": 4})
    TrainingWorkloadConfig.model_validate(STREAM | {"gpus": [16, 256], "pp": 4})


def _job_seconds(**settings: object) -> float:
    data = small_scenario(duration="2d")
    data["tenants"]["eu"]["inference"] = []
    data["tenants"]["lab"] = {"jobs": [{
        "name": "pre", "model": "llama3-8b", "gpus": 8, "tp": 8, "tokens": 2e9,
        "seq_len": 8192, "global_batch_tokens": 64 * 8192, **settings}]}
    sim = run_scenario(data)
    job = next(w for w in sim.works if w.kind == "training")
    return float(job.segments[0][1] - job.segments[0][0]) if job.segments else 0.0


def test_full_recomputation_slows_a_job() -> None:
    plain, full = _job_seconds(), _job_seconds(recompute="full")
    assert full > 1.2 * plain


@pytest.mark.parametrize("config", [TrainingJobConfig, TrainingWorkloadConfig])
def test_interleaving_without_pipeline_stages_is_rejected(config: type) -> None:
    """``virtual_stages`` only splits pipeline stages: with pp 1 it was accepted and had
    no effect on the step time."""
    fields = (BASE | {"gpus": 16, "tp": 8, "pp": 1} if config is TrainingJobConfig
              else STREAM | {"gpus": [16], "model": "llama3-8b"})
    with pytest.raises(ValidationError, match=r"virtual_stages\n.*got 4; expected 1 or none "
                       r"without pipeline parallelism \(pp 1\)"):
        config.model_validate(fields | {"virtual_stages": 4})
    config.model_validate(fields | {"virtual_stages": 1})
    config.model_validate(fields | {"virtual_stages": 4, "pp": 2})


def test_default_interleaving_never_slows_a_job_against_none() -> None:
    """llama3-8b on 128 GB200, TP1 PP2, 4M-token batch: the default interleaving (8
    virtual stages) took 7,177 s against 7,104 s with ``virtual_stages: 1``."""
    def jct(extra: dict[str, object]) -> float:
        job = {"name": "j", "model": "llama3-8b", "gpus": 128, "tp": 1, "pp": 2,
               "global_batch_tokens": 4194304, "tokens": 2e9, "checkpoint_cost": 0, **extra}
        data = {"name": "vp", "seed": 1, "duration": "2d",
                "sites": [{"preset": "bizerte-20mw"}],
                "tenants": {"t": {"jobs": [job]}}, "compute": {"backend": "numpy"}}
        return float(api.run(data).jobs["jct_s"].iloc[0])

    assert jct({}) <= jct({"virtual_stages": 1}) * (1 + 1e-12)


def test_global_batch_below_one_sequence_per_rank_is_rejected() -> None:
    """A global batch smaller than one sequence per data-parallel rank was accepted and
    the kernel ran partial sequences; it is refused, naming the minimum."""
    job = {"name": "j", "model": "llama3-70b", "gpus": 1024, "tp": 8, "tokens": 1e10}
    with pytest.raises(ValidationError, match=r"global_batch_tokens\n.*got 400,000; expected "
                       r"at least dp x seq_len = 128 x 8192 = 1,048,576 tokens"):
        TrainingJobConfig.model_validate(job | {"global_batch_tokens": 4e5})
    TrainingJobConfig.model_validate(job | {"global_batch_tokens": 128 * 8192})
    # a job whose run time is given has no steps: its batch is not checked
    TrainingJobConfig.model_validate({k: v for k, v in job.items() if k != "tokens"}
                                     | {"runtime": 3600, "global_batch_tokens": 4e5})
    with pytest.raises(ValidationError, match=r"global_batch_tokens\n.*got 1,000,000; "
                       r"expected at least dp x seq_len = 512 x 8192 = 4,194,304 tokens .* "
                       r"for gpus.1 = 4096"):
        TrainingWorkloadConfig.model_validate(
            STREAM | {"model": "llama3-70b", "gpus": [64, 4096], "tp": 8,
                      "global_batch_tokens": 1e6})


def test_global_batch_error_is_one_line_and_exit_2(tmp_path: pathlib.Path) -> None:
    """``gpuemu validate`` and ``run`` refuse such a scenario with one line and exit 2."""
    data = {"name": "gb", "seed": 1, "duration": "1d", "sites": [{"preset": "bizerte-20mw"}],
            "tenants": {"t": {"jobs": [{"name": "j", "model": "llama3-70b", "gpus": 1024,
                                        "tp": 8, "global_batch_tokens": 4e5,
                                        "tokens": 1e10}]}},
            "compute": {"backend": "numpy"}}
    path = tmp_path / "gb.yaml"
    path.write_text(yaml.safe_dump(data))
    root = pathlib.Path(__file__).resolve().parents[1]
    for args in (["validate", str(path)],
                 ["run", str(path), "--headless", "--out", str(path.parent / "out")]):
        done = subprocess.run([sys.executable, "-m", "emulator", *args], cwd=root,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 2
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "global_batch_tokens: got 400,000" in lines[0]
