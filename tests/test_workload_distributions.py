"""Token-length samplers: statistics over large samples, fixed seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from emulator.schema_base import ScenarioModel
from workloads.distributions import (
    ExponentialTokens,
    FixedTokens,
    LognormalTokens,
    TokenDistribution,
    UniformTokens,
)

N = 200_000


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_lognormal_median_and_p90() -> None:
    d = LognormalTokens(median=1020, p90=2735)
    x = d.sample(rng(), N)
    # With 200k draws the sample quantiles' relative standard error is well under 1%.
    assert np.median(x) == pytest.approx(1020, rel=0.02)
    assert np.quantile(x, 0.9) == pytest.approx(2735, rel=0.02)
    assert x.mean() == pytest.approx(d.mean(), rel=0.02)
    assert x.dtype == np.int64 and x.min() >= 1


def test_lognormal_clipped_to_max() -> None:
    x = LognormalTokens(median=100, p90=1000, max=300).sample(rng(), 10_000)
    assert x.max() == 300 and x.min() >= 1


def test_geometric_mean() -> None:
    d = ExponentialTokens(mean=50)
    x = d.sample(rng(), N)
    # sd of a geometric with mean 50 is ~49.5: standard error of the mean ~0.11.
    assert x.mean() == pytest.approx(50, abs=0.5)
    assert x.min() >= 1


def test_uniform_bounds_and_mean() -> None:
    x = UniformTokens(low=10, high=20).sample(rng(), N)
    assert x.min() == 10 and x.max() == 20
    assert x.mean() == pytest.approx(15, abs=0.05)


def test_fixed() -> None:
    assert FixedTokens(value=64).sample(rng(), 5).tolist() == [64] * 5


def test_same_seed_same_draws() -> None:
    d = LognormalTokens(median=129, p90=424)
    assert np.array_equal(d.sample(rng(3), 100), d.sample(rng(3), 100))
    assert not np.array_equal(d.sample(rng(3), 100), d.sample(rng(4), 100))


# -- a bare count is shorthand for ``fixed`` -----------------------------------------------

class _Holder(ScenarioModel):
    """One distribution field, as the scenario's streams and services hold theirs."""

    tokens: TokenDistribution


@pytest.mark.parametrize("written, value", [
    (1e9, 1_000_000_000), (300, 300), ("1e9", 1_000_000_000), ("4096", 4096),
    ({"dist": "fixed", "value": "2e3"}, 2000), ({"dist": "fixed", "value": 512.0}, 512)])
def test_a_bare_count_or_numeric_text_means_that_many_every_time(written: object,
                                                                   value: int) -> None:
    d = _Holder.model_validate({"tokens": written}).tokens
    assert isinstance(d, FixedTokens) and d.value == value and isinstance(d.value, int)
    assert d.sample(rng(), 3).tolist() == [value] * 3


def test_uniform_bounds_accept_numeric_text() -> None:
    d = _Holder.model_validate({"tokens": {"dist": "uniform", "low": "1e3",
                                           "high": 2e3}}).tokens
    assert isinstance(d, UniformTokens) and (d.low, d.high) == (1000, 2000)


@pytest.mark.parametrize("written, expected", [
    ("many", "a token count, or a distribution: {dist: lognormal"),
    ([1, 2], "a token count, or a distribution: {dist: lognormal"),
    (2.5, "got a number with a fractional part"),
    (0, "greater than 0"),
    ({"dist": "fixed", "value": "x"}, "valid integer")])
def test_what_is_not_a_count_or_a_distribution_is_named(written: object,
                                                        expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Holder.model_validate({"tokens": written})
    assert expected in str(info.value)


def test_the_schema_offers_the_bare_count_beside_the_distributions() -> None:
    schema = _Holder.model_json_schema()["properties"]["tokens"]
    assert {"type": "number", "exclusiveMinimum": 0} in schema["anyOf"]
    assert any("oneOf" in option for option in schema["anyOf"])


def test_a_scenario_stream_with_a_bare_token_count_runs(tmp_path: Path) -> None:
    from emulator.loader import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(
        "name: bare\nseed: 1\nduration: 6h\nsites: [{preset: bizerte-20mw}]\n"
        "tenants:\n  a:\n    training:\n      - {name: t, model: llama3-8b, rate: 4/h, "
        "gpus: [8], tokens: 1e9}\n    inference:\n      - {name: c, model: llama3-8b, "
        "replicas: 1, gpus_per_replica: 1, rate: 1/s, prompt_tokens: 512, "
        "output_tokens: 128}\n")
    loaded = load_scenario(path)
    tenant = loaded.scenario.tenants["a"]
    assert tenant.training[0].tokens == FixedTokens(value=1_000_000_000)
    assert tenant.inference[0].prompt_tokens == FixedTokens(value=512)
    assert tenant.inference[0].output_tokens == FixedTokens(value=128)


@pytest.mark.parametrize("written, expected", [
    ({"median": 1020, "p90": 2735}, LognormalTokens(median=1020, p90=2735)),
    ({"median": 100, "p90": 1000, "max": 300}, LognormalTokens(median=100, p90=1000, max=300)),
    ({"low": 10, "high": "1e3"}, UniformTokens(low=10, high=1000)),
    ({"mean": 50}, ExponentialTokens(mean=50)),
    ({"value": 64}, FixedTokens(value=64))])
def test_a_mapping_without_dist_is_the_kind_its_keys_name(written: dict,
                                                          expected: object) -> None:
    assert _Holder.model_validate({"tokens": written}).tokens == expected


def test_a_mapping_that_names_no_kind_is_refused_with_the_shapes() -> None:
    with pytest.raises(ValidationError) as info:
        _Holder.model_validate({"tokens": {"meadian": 3}})
    assert "a token count, or a distribution: {dist: lognormal" in str(info.value)
