"""Azure files replayed in one scenario keep their relative timing (shared rebasing)."""

from __future__ import annotations

import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from tests.conftest import small_scenario
from workloads.traces import sample_path
from workloads.traces.azure_llm import read_azure_llm


def _services(duration: str = "2h", **trace: object) -> dict[str, float]:
    data = small_scenario(duration=duration)
    data["tenants"]["eu"]["inference"] = [
        {"name": name, "model": "llama3-8b", "replicas": 2, "gpus_per_replica": 1,
         "trace": {"kind": "azure_llm", "path": f"sample:azure_llm_{name}", **trace}}
        for name in ("code", "conv")]
    works = build(validate_scenario(data)).works
    return {w.spec.name: float(w.spec.trace.times_s[0]) for w in works
            if w.kind == "inference"}


def test_code_and_conv_files_keep_their_offset() -> None:
    code = read_azure_llm(sample_path("azure_llm_code")).start
    conv = read_azure_llm(sample_path("azure_llm_conv")).start
    assert code is not None and conv is not None
    first = _services()
    # The conversation file starts first: it opens the run; the code file follows by the
    # gap between their first requests, as in the trace.
    assert first["conv"] == pytest.approx(0.0, abs=1e-9)
    assert first["code"] == pytest.approx((code - conv).total_seconds(), abs=1e-6)
    assert (code - conv).total_seconds() > 60


def test_an_explicit_origin_is_left_alone() -> None:
    first = _services(absolute_time=False, offset=None)  # defaults: shared rebasing
    assert first["code"] > 0
    own = _services("1d", offset=0)  # each from its own midnight: keeps the time of day
    code = read_azure_llm(sample_path("azure_llm_code")).start
    assert code is not None
    midnight = code.replace(hour=0, minute=0, second=0, microsecond=0)
    assert own["code"] == pytest.approx((code - midnight).total_seconds(), abs=1e-6)


def test_a_trace_entirely_past_the_horizon_is_one_line_error() -> None:
    from emulator.errors import UserError

    with pytest.raises(UserError, match="arrives before the scenario's duration"):
        _services("1h", offset=0)
