"""Token-length distributions for prompts and outputs, as validated config objects.

Each distribution is a frozen pydantic model that is also the sampler: ``sample(rng, n)``
returns ``n`` positive integer token counts from the caller's own ``numpy.random.Generator``
(no global random state). ``mean()`` is the analytic mean, used for capacity estimates.

* ``fixed``: always ``value``.
* ``lognormal``: given by ``median`` and ``p90`` (how the Azure LLM trace is usually
  summarised: conversation prompts median 1,020 / p90 2,735 tokens), clipped to ``[1, max]``
  (``max`` is at most, and by default, :data:`MAX_TOKENS`).
* ``exponential``: geometric on {1, 2, …} with the given ``mean``: the discrete analogue of an
  exponential, used to build M/M/c services.
* ``uniform``: integers in ``[low, high]``.

Every parameter is at most :data:`MAX_TOKENS` (1e18; a larger one is a one-line error) and
every draw is at most that too (a lognormal's or an exponential's tail is clipped to it), so
no count overflows int64.

A bare number where a distribution is expected (``tokens: 1e9``) is shorthand for ``fixed``
with that value; YAML 1.1 reads ``1e9`` as text, so numeric text counts as a number too. A
mapping without ``dist`` is the kind its keys name (``{median: 1020, p90: 2735}``:
lognormal).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from emulator.schema_base import ScenarioModel, field_error

__all__ = [
    "MAX_TOKENS",
    "ExponentialTokens",
    "FixedTokens",
    "LognormalTokens",
    "TokenDistribution",
    "UniformTokens",
]

_Z90 = 1.2815515655446004  # standard normal quantile at 0.90

MAX_TOKENS = 1e18
"""Largest token count accepted (a job's total, or a distribution's parameter). Every
distribution's parameters are held to it and every draw is clipped to it, so a count
stays far inside int64 (about 9.2e18)."""
_MAX_DRAW = int(MAX_TOKENS)


class _Dist(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite, no booleans as numbers."""


def _integral(value: Any) -> Any:
    """A whole number written as a float or as numeric text (``1e9``, which YAML 1.1 reads
    as text) as an int; anything else unchanged, for the field's own check."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
    if isinstance(number, float) and not isinstance(value, bool) and number.is_integer():
        return int(number)
    return value


_Count = Annotated[int, BeforeValidator(_integral)]


class FixedTokens(_Dist):
    """Every request has exactly ``value`` tokens."""

    dist: Literal["fixed"] = Field(default="fixed", description="distribution kind: fixed")
    value: _Count = Field(gt=0, le=MAX_TOKENS, description="the token count of every request")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` copies of ``value`` (the generator is not advanced)."""
        return np.full(n, self.value, dtype=np.int64)

    def mean(self) -> float:
        """``value``."""
        return float(self.value)


class LognormalTokens(_Dist):
    """Lognormal token counts with the given median and 90th percentile."""

    dist: Literal["lognormal"] = Field(
        default="lognormal", description="distribution kind: lognormal")
    median: float = Field(gt=0, le=MAX_TOKENS, description="median token count")
    p90: float = Field(gt=0, le=MAX_TOKENS,
                       description="90th-percentile token count (>= median)")
    max: float = Field(default=MAX_TOKENS, gt=0, le=MAX_TOKENS,
                       description="largest token count drawn (draws above it are clipped to "
                                   "it)")

    @model_validator(mode="after")
    def _p90_above_median(self) -> LognormalTokens:
        if self.p90 < self.median:
            raise field_error(type(self), ("p90",), self.p90,
                              f"at least the median ({self.median:g})")
        return self

    @property
    def sigma(self) -> float:
        """Shape parameter of the underlying normal."""
        return math.log(self.p90 / self.median) / _Z90

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws, rounded and clipped to ``[1, max]``."""
        x = rng.lognormal(math.log(self.median), self.sigma, size=n)
        return np.clip(np.rint(x), 1, self.max).astype(np.int64)

    def mean(self) -> float:
        """Mean of the unclipped lognormal."""
        return self.median * math.exp(self.sigma**2 / 2.0)


class ExponentialTokens(_Dist):
    """Geometric token counts on {1, 2, …} with mean ``mean`` (discrete exponential)."""

    dist: Literal["exponential"] = Field(
        default="exponential", description="distribution kind: exponential (geometric on 1, 2, "
                                           "...)")
    mean_tokens: float = Field(gt=1.0, le=MAX_TOKENS, alias="mean",
                               description="mean token count (> 1), written as 'mean'; draws "
                                           "above 1e18 are clipped to it")

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              populate_by_name=True)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` geometric draws with success probability ``1/mean``, clipped to
        :data:`MAX_TOKENS` (with a mean near it the tail would pass int64)."""
        draws = rng.geometric(1.0 / self.mean_tokens, size=n).astype(np.int64)
        return np.clip(draws, 1, _MAX_DRAW)

    def mean(self) -> float:
        """``mean``."""
        return float(self.mean_tokens)


class UniformTokens(_Dist):
    """Integers uniform in ``[low, high]``."""

    dist: Literal["uniform"] = Field(default="uniform", description="distribution kind: uniform")
    low: _Count = Field(gt=0, le=MAX_TOKENS, description="smallest token count")
    high: _Count = Field(gt=0, le=MAX_TOKENS, description="largest token count (>= low)")

    @model_validator(mode="after")
    def _ordered(self) -> UniformTokens:
        if self.high < self.low:
            raise field_error(type(self), ("high",), self.high, f"at least low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform integer draws."""
        return rng.integers(self.low, self.high + 1, size=n, dtype=np.int64)

    def mean(self) -> float:
        """``(low + high) / 2``."""
        return (self.low + self.high) / 2.0


_Distribution = Annotated[
    FixedTokens | LognormalTokens | ExponentialTokens | UniformTokens,
    Field(discriminator="dist"),
]

_SHAPES = ("a token count, or a distribution: {dist: lognormal, median: M, p90: P}, "
           "{dist: fixed, value: N}, {dist: exponential, mean: M} or "
           "{dist: uniform, low: L, high: H}")


_KIND_BY_KEYS = (("lognormal", {"median", "p90"}), ("uniform", {"low", "high"}),
                 ("exponential", {"mean"}), ("fixed", {"value"}))
"""The distribution a mapping without ``dist`` means, by the keys it gives."""


def _count_as_fixed(value: Any) -> Any:
    """A bare token count (a number, or numeric text as YAML 1.1 reads ``1e9``) as
    ``{dist: fixed, value: N}``, and a mapping without ``dist`` as the kind whose keys it
    gives (``{median, p90}``: lognormal); anything else that is not a distribution gets
    one message naming the accepted shapes."""
    if isinstance(value, dict) and "dist" not in value:
        for kind, keys in _KIND_BY_KEYS:
            if keys <= set(value):
                return {"dist": kind, **value}
        raise ValueError(_SHAPES)
    if isinstance(value, bool | list | tuple):
        raise ValueError(_SHAPES)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(_SHAPES) from None
    if isinstance(value, int | float):
        return {"dist": "fixed", "value": _integral(value)}
    return value


TokenDistribution = Annotated[
    _Distribution,
    BeforeValidator(_count_as_fixed,
                    json_schema_input_type=Annotated[float, Field(gt=0)] | _Distribution),
]
"""A token-length distribution, or a bare count as shorthand for ``fixed``."""
