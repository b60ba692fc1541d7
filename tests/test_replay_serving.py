"""Serving traces (Azure LLM 2023, Mooncake) drive an inference service's requests."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.build import build
from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.conftest import run_scenario, small_scenario
from workloads.traces.azure_llm import read_azure_llm
from workloads.traces.mapping import resolve_trace_path


def _traced(trace: dict, duration: str = "10m") -> dict:
    data = small_scenario(duration=duration)
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "conv", "model": "llama3-70b", "replicas": 8, "gpus_per_replica": 2,
        "precision": "fp8", "trace": trace, "slo": {"ttft": "2s", "tpot": "100ms"}}]
    return data


def test_azure_trace_requests_are_replayed_exactly() -> None:
    sim = run_scenario(_traced({"kind": "azure_llm", "path": "sample:azure_llm_conv"}))
    trace = read_azure_llm(resolve_trace_path("sample:azure_llm_conv")).requests
    arrivals = np.concatenate([b.arrival_s for b in sim.log.requests])
    prompts = np.concatenate([b.prompt_tokens for b in sim.log.requests])
    keep = trace.times_s < 600.0
    assert arrivals.size == int(keep.sum()) > 1000
    assert np.allclose(arrivals, trace.times_s[keep])
    assert np.array_equal(prompts, trace.prompt_tokens[keep])


def test_repeat_tiles_a_short_trace_over_the_run() -> None:
    sim = run_scenario(_traced({"kind": "mooncake", "path": "sample:mooncake",
                                "repeat": True}, duration="40m"))
    arrivals = np.concatenate([b.arrival_s for b in sim.log.requests])
    # The Mooncake sample spans 597 s with 1,750 requests: four copies fit in 40 minutes.
    assert 4 * 1750 <= arrivals.size <= 5 * 1750
    assert arrivals.max() > 2000 and np.all(np.diff(arrivals) >= 0)


def test_rate_and_trace_are_exclusive_and_bad_paths_are_named(tmp_path) -> None:
    data = _traced({"kind": "azure_llm", "path": "sample:azure_llm_conv"})
    data["tenants"]["eu"]["inference"][0]["rate"] = "2/s"
    with pytest.raises(UserError, match=r"exactly one of 'rate'"):
        validate_scenario(data)
    missing = _traced({"kind": "azure_llm", "path": str(tmp_path / "nope.csv")})
    with pytest.raises(UserError, match=r"nope\.csv"):
        build(validate_scenario(missing))


def test_an_unknown_sample_is_one_line_naming_the_path() -> None:
    # was a KeyError traceback from the size estimate of gpuemu run
    data = _traced({"kind": "azure_llm", "path": "sample:nope"})
    with pytest.raises(UserError, match=r"inference\.0\.trace\.path: got 'sample:nope'; "
                                        r"expected a known trace sample"):
        validate_scenario(data)
