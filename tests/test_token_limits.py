"""Token counts are held to MAX_TOKENS (1e18): every distribution's parameters at
validation (one line, exit 2), every draw at sampling, so no count overflows int64."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import load_scenario
from tests.conftest import one_error_line, run_cli, small_scenario
from workloads.distributions import (
    MAX_TOKENS,
    ExponentialTokens,
    FixedTokens,
    LognormalTokens,
    UniformTokens,
)

STREAM = "tenants.lab.training.0.tokens"


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario(duration="1h")))
    return path


@pytest.mark.parametrize("override, expected", [
    (f"{STREAM}=1e19", f"{STREAM}: got 1e19; expected a value less than or equal to 1e18"),
    (f"{STREAM}=2e18", f"{STREAM}: got 2e18; expected a value less than or equal to 1e18"),
    (f"{STREAM}={{dist: uniform, low: 1e18, high: 1e20}}",
     f"{STREAM}.high: got 1e20; expected a value less than or equal to 1e18"),
    (f"{STREAM}={{dist: lognormal, median: 1e10, p90: 2e19}}",
     f"{STREAM}.p90: got 2e19; expected a value less than or equal to 1e18"),
    (f"{STREAM}={{dist: lognormal, median: 1e17, p90: 1e18, max: 1e19}}",
     f"{STREAM}.max: got 1e19; expected a value less than or equal to 1e18"),
    (f"{STREAM}={{dist: exponential, mean: 2e18}}",
     f"{STREAM}.mean: got 2e18; expected a value less than or equal to 1e18"),
    ("tenants.eu.inference.0.prompt_tokens={dist: fixed, value: 1e19}",
     "tenants.eu.inference.0.prompt_tokens.value: got 1e19; expected a value less than or "
     "equal to 1e18"),
])
def test_a_token_parameter_above_the_cap_is_one_line(tmp_path: Path, override: str,
                                                       expected: str) -> None:
    path = _file(tmp_path)
    with pytest.raises(UserError) as info:
        load_scenario(path, [override])
    assert str(info.value) == f"{path}: {expected}"


def test_the_cli_refuses_a_token_count_beyond_int64_with_exit_2(tmp_path: Path) -> None:
    """``tokens: 1e19`` once ended in an OverflowError traceback (exit 1)."""
    path = tmp_path / "s.yaml"
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"][0]["tokens"] = 1e19  # YAML writes it as 1.0e+19
    path.write_text(yaml.safe_dump(data))
    line = one_error_line(run_cli("validate", str(path)))
    assert line == (f"error: {path}: {STREAM}: got 1e19; expected a value less than or "
                    "equal to 1e18")
    line = one_error_line(run_cli("run", str(path), "--headless", "--out",
                                  str(tmp_path / "out"), "--set",
                                  f"{STREAM}={{dist: uniform, low: 1e18, high: 1e20}}"))
    assert line == (f"error: {path}: {STREAM}.high: got 1e20; expected a value less than "
                    "or equal to 1e18")


@pytest.mark.parametrize("dist", [
    FixedTokens(value=MAX_TOKENS),
    UniformTokens(low=1, high=MAX_TOKENS),
    LognormalTokens(median=1e17, p90=MAX_TOKENS),  # a fifth of the draws pass the cap
    ExponentialTokens(mean=MAX_TOKENS),  # numpy's own tail reaches int64's maximum
])
def test_draws_at_the_cap_stay_within_it(dist: object) -> None:
    draws = dist.sample(np.random.default_rng(3), 200_000)  # type: ignore[attr-defined]
    assert draws.dtype == np.int64
    assert draws.min() >= 1 and draws.max() <= int(MAX_TOKENS)
