"""Whole prompts with the decode (``prefill_with_decode``): the default without chunked prefill.

TensorRT-LLM's in-flight batching runs a step's whole prompts in the same forward pass as
the running batch's decode, up to ``max_num_tokens``; vLLM's V0 scheduler ran prefill steps
alone, pausing decoding. The emulator takes the first as chunks of the step's budget
(``emulator.serving_prefill.prefill_chunks``); the token-level reference runs it step by
step. The agreement between them is tested in ``tests/test_serving_reference.py`` and its
neighbours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.serving_capacity import serving_capacity
from emulator.serving_prefill import prefill_chunks
from tests.conftest import run_scenario
from tests.serving_reference import simulate
from tests.test_cli import _assert_user_error, gpuemu
from tests.test_serving_reference import (
    DURATION_S,
    SLOTS,
    _capacity_req_per_s,
    _scenario,
    replay,
)
from workloads.config import InferenceServiceConfig


def test_whole_prompts_fill_a_step_but_for_a_prompt_s_residual() -> None:
    """Prompts of 1,000 tokens fill an 8,192-token step to within half a prompt on average
    (``E[p²] / 2E[p]`` = 500): each holds 1,000 / 7,692 of a step. Prompts as long as the
    budget run one per step; chunked prefill fills its 2,048-token budget to the token;
    prefill steps that run alone are not chunks at all."""
    prompts = np.full(8, 1000.0)
    assert prefill_chunks(prompts, False, True, 8192) == pytest.approx(prompts / 7692.0)
    assert prefill_chunks(np.full(3, 8192.0), False, True, 8192) == pytest.approx(np.ones(3))
    mixed = np.array([500.0, 1500.0])  # E[p²]/E[p] = 1,250: 625 short of 4,096
    assert prefill_chunks(mixed, False, True, 4096) == pytest.approx(mixed / 3471.0)
    assert prefill_chunks(prompts, True, False, 8192) == pytest.approx(prompts / 2048.0)
    assert prefill_chunks(prompts, False, False, 8192) is None


def test_the_reference_runs_whole_prompts_with_the_decode() -> None:
    """A first prompt prefills alone (0 to 6 ms: its work and the fixed part; its first
    token), then decodes (6 to 16 ms). Two prompts arriving at 8 ms join the next
    iteration whole, with its decode (the first sequence gains a token in it), and both
    get their first token when it ends: 10 ms of decode and 12 ms of their prefill work
    later. Run alone, that
    iteration decodes nothing and pays the fixed part instead of the decode step."""
    arrivals = np.array([0.0, 0.008, 0.008])
    prompts = np.array([100, 300, 300])
    outputs = np.array([10, 2, 2])
    decode = np.array([0.0, 0.01, 0.012, 0.014])
    work, fixed = np.array([0.002, 0.006, 0.006]), np.full(3, 0.004)
    mixed = simulate(arrivals, prompts, outputs, 3, decode, work, fixed, False, 2048,
                     step_tokens=8192, with_decode=True)
    alone = simulate(arrivals, prompts, outputs, 3, decode, work, fixed, False, 2048,
                     step_tokens=8192)
    assert mixed.ttft_s == pytest.approx([0.006, 0.016 + 0.01 + 0.012 - 0.008,
                                          0.016 + 0.01 + 0.012 - 0.008])
    assert alone.ttft_s == pytest.approx([0.006, 0.016 + 0.012 + 0.004 - 0.008,
                                          0.016 + 0.012 + 0.004 - 0.008])
    # the first sequence (9 decode steps after the token its prefill emits) emits a token
    # in the mixed iteration (7 left after it: one step of three sequences, the two-token
    # requests' only decode step, then six alone), none in the prefill-only one (8 left)
    assert mixed.finish_s[0] == pytest.approx(0.038 + 0.014 + 6 * 0.01)
    assert alone.finish_s[0] == pytest.approx(0.032 + 0.014 + 7 * 0.01)
    assert mixed.finish_s[1:] == pytest.approx([0.052, 0.052])


def test_a_service_with_whole_prompts_in_the_decode_is_rated_as_chunked() -> None:
    """The capacity sheet rates whole prompts with the decode at the kernel's throughput
    (prompts ride the decode steps, as chunks do), above prefill steps that pause it."""
    with_decode = serving_capacity(run_scenario(_scenario(1.0, False, with_decode=True)))[0]
    chunked = serving_capacity(run_scenario(_scenario(1.0, True)))[0]
    alone = serving_capacity(run_scenario(_scenario(1.0, False)))[0]
    assert with_decode.output_tokens_per_s_per_replica == pytest.approx(
        chunked.output_tokens_per_s_per_replica)
    assert alone.output_tokens_per_s_per_replica < 0.95 * chunked.output_tokens_per_s_per_replica


def test_prefill_with_decode_defaults_on_and_a_bad_value_exits_2(tmp_path: Path) -> None:
    data = _scenario(1.0, False)
    service = data["tenants"]["eu"]["inference"][0]
    service.pop("prefill_with_decode")
    assert InferenceServiceConfig.model_validate(service).prefill_with_decode is True
    service["prefill_with_decode"] = "sometimes"
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    _assert_user_error(gpuemu("validate", str(path)),
                       "tenants.eu.inference.0.prefill_with_decode", "sometimes")


@pytest.mark.parametrize("step_tokens", [16, 512])
def test_prompts_longer_than_the_budget_run_alone_in_one_step(step_tokens: int) -> None:
    """With a step budget below most prompts (median 600 tokens), each prompt runs alone in
    one step with the decode, in the emulator as in the reference: mean TTFT and TPOT at
    half the capacity agree within 5 % (measured: +0.6 % and +0.0 % at 16 tokens, +2.1 %
    and +0.0 % at 512). When such a prompt was spread over ``ceil(prompt / budget)`` steps
    the emulator's mean TTFT was 332 s against the reference's 0.014 s at 16 tokens (at
    0.3 of capacity) and 67 % long at 512."""
    rate = 0.5 * _capacity_req_per_s(chunked=False, with_decode=True)
    data = _scenario(rate, False, with_decode=True)
    data["tenants"]["eu"]["inference"][0]["prefill_step_tokens"] = step_tokens
    sim = run_scenario(data)
    cols, ref = replay(sim, SLOTS, False)
    done = np.isfinite(cols["e2e_s"]) & (ref.finish_s <= DURATION_S)
    ttft = float(cols["ttft_s"][done].mean()) / float(ref.ttft_s[done].mean()) - 1.0
    tpot = float(cols["tpot_s"][done].mean()) / float(ref.tpot_s[done].mean()) - 1.0
    assert abs(ttft) <= 0.05, f"TTFT mean {ttft:+.1%}"
    assert abs(tpot) <= 0.05, f"TPOT mean {tpot:+.1%}"
