"""Validated tenant and workload configuration (the ``tenants:`` part of a scenario).

pydantic v2 models, frozen, ``extra="forbid"`` so a misspelt key is an error that names it.
Human units are accepted (``"30m"``, ``"6/d"``, ``"2s"``); values are SI after validation.

YAML shape::

    tenants:
      eu-inference:                 # the tenant's name is its key
        origin: marseille           # where its requests come from (a place name)
        inference:
          - name: chat-70b
            model: llama3-70b
            replicas: 32
            gpus_per_replica: 4     # tensor-parallel size of one replica
            rate: 20/s              # Poisson arrivals
            prompt_tokens: {dist: lognormal, median: 1020, p90: 2735}
            output_tokens: {dist: lognormal, median: 129, p90: 424}
            slo: {ttft: 2s, tpot: 100ms}
      research:
        training:
          - name: pretrain
            model: [llama3-70b, llama3-8b]
            rate: 8/d               # job arrivals, Poisson
            gpus: [72, 144, 288]
            tp: 8
            pp: 1
            tokens: {dist: lognormal, median: 5e9, p90: 2e10}
            global_batch_tokens: 4e6
            checkpoint_interval: 1h
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    BeforeValidator,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from emulator.errors import PATTERN_WORDS
from emulator.schema_base import Label, ScenarioModel, field_error
from emulator.units import Bytes, PerSecond, Seconds
from workloads.distributions import MAX_TOKENS, FixedTokens, LognormalTokens, TokenDistribution
from workloads.models import MODELS, InlineModel, UnknownModelError, get_model, model_from_dict
from workloads.spec import DEFAULT_PREFILL_STEP_TOKENS
from workloads.traces import check_sample
from workloads.traces.mapping import TraceReplayConfig

__all__ = [
    "AutoscaleConfig",
    "DatasetConfig",
    "InferenceServiceConfig",
    "ServingTraceConfig",
    "SloConfig",
    "TenantConfig",
    "TrainingJobConfig",
    "TrainingWorkloadConfig",
]

_PrecisionName = Literal["bf16", "fp8", "fp4"]
_PRECISIONS = get_args(_PrecisionName)


def _lower_case(value: object) -> object:
    """A precision name in any case (``FP8``, as vendors write it) as its lower-case key;
    anything else unchanged, so that an error shows what was written."""
    if isinstance(value, str) and value.lower() in _PRECISIONS:
        return value.lower()
    return value


Precision = Annotated[_PrecisionName, BeforeValidator(_lower_case)]


MAX_RATE_PER_S = 1e6
"""Highest arrival rate accepted (events/s): beyond it no run fits in memory."""
MAX_COUNT = 10_000_000
"""Largest replica, GPU or job count accepted."""
MAX_PRIORITY = 10**9
"""Largest priority magnitude accepted."""


class _Frozen(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite (see :mod:`emulator.schema_base`)."""


def _inline_model(value: object) -> object:
    """An inline model description (a mapping with ``name`` and dimensions) as an
    :class:`~workloads.models.InlineModel`; anything else as it is."""
    if not isinstance(value, dict):
        return value
    fields = dict(value)
    name = fields.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ValueError("an inline model needs a 'name' (and layers, hidden, heads, "
                         "kv_heads, params)")
    spec = model_from_dict(name, fields)
    catalog = next((n for n in MODELS if n.lower() == name.lower()), None)
    if catalog is not None and (catalog != name or MODELS[catalog] != spec):
        raise ValueError(f"model {name!r} is the catalog's {catalog!r} (names match in any "
                         "case); choose another name for the inline model")
    return InlineModel(spec)


def _inline_models(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """Models described inline: ``model: {name: my-34b, layers: 48, hidden: 7168, heads: 56,
    kv_heads: 8, params: 34e9}`` defines a model that is not in the catalog (see
    :func:`workloads.models.model_from_dict` for the optional fields); a list may mix names
    and inline models. The description travels with the name (an
    :class:`~workloads.models.InlineModel`), and other references to the name in the same
    scenario resolve to it (:func:`emulator.scenario_models.resolve_models`)."""
    if isinstance(value, list):
        value = [_inline_model(v) for v in value]
        checked = handler([str(v) for v in value])
        return [v if isinstance(v, InlineModel) else c for v, c in zip(value, checked,
                                                                          strict=True)]
    value = _inline_model(value)
    checked = handler(str(value) if isinstance(value, InlineModel) else value)
    return value if isinstance(value, InlineModel) else checked


_MODEL_INPUT = str | dict[str, object]
"""What a ``model`` field accepts: a name, or an inline model mapping (for the schema)."""

_MODELS_INPUT = _MODEL_INPUT | list[_MODEL_INPUT]
"""What a training stream's ``model`` accepts: one model, or a list of names and mappings."""


class SloConfig(_Frozen):
    """Latency objectives of an inference service, in seconds."""

    ttft: Seconds = Field(default=2.0, gt=0, description="time to first token, incl. WAN")
    tpot: Seconds = Field(default=0.1, gt=0, description="time per output token")


class AutoscaleConfig(_Frozen):
    """Replica autoscaling of an inference service (a horizontal autoscaler on load).

    After each serving window the service wants ``ceil(busy sequences / (slots ×
    target_utilization))`` replicas, or ``ceil(prefill work arriving per second /
    target_utilization)`` if more (one prefill pipeline per replica), clipped to
    ``[min_replicas, max_replicas]``. New replicas are queued like any work (training may
    have to yield, by policy) and serve after
    ``scale_up_delay`` (weights loading, warm-up). The service's initial ``replicas``
    above ``min_replicas`` that get GPUs when it starts serve at once, as the base ones
    do; any that must wait for room pay the delay. A replica is removed only after the load
    has stayed below what one replica fewer could carry for ``scale_down_after``.
    """

    min_replicas: int = Field(ge=1, le=MAX_COUNT, description="fewest replicas the autoscaler "
                                                              "keeps")
    max_replicas: int = Field(ge=1, le=MAX_COUNT, description="most replicas the autoscaler asks "
                                                              "for")
    target_utilization: float = Field(
        default=0.7, gt=0, le=1, description="busy fraction of batch slots the autoscaler aims "
                                             "for, in (0, 1]")
    scale_up_delay: Seconds = Field(default=120.0, ge=0, description="time from starting a replica"
                                                                     " to its serving (model "
                                                                     "load), e.g. 2m")
    scale_down_after: Seconds = Field(
        default=600.0, ge=0, description="how long load must stay low before a replica is "
                                         "released, e.g. 10m")

    @model_validator(mode="after")
    def _ordered(self) -> AutoscaleConfig:
        if self.max_replicas < self.min_replicas:
            raise field_error(type(self), ("max_replicas",), self.max_replicas,
                              f"at least min_replicas ({self.min_replicas})")
        return self


class ServingTraceConfig(_Frozen):
    """Requests of an inference service replayed from a serving trace.

    Arrival times (``start + t · time_scale``) and prompt/output token counts come from
    the trace rows (Azure LLM inference 2023 CSV, or Mooncake JSONL). ``repeat`` tiles the
    trace over the whole run (a short sample then drives a week-long scenario).
    """

    kind: Literal["azure_llm", "mooncake"] = Field(description="trace format: azure_llm (Azure LLM"
                                                               " inference 2023 CSV) or mooncake "
                                                               "(JSONL)")
    path: str = Field(description="file path (relative: to the scenario's folder) or "
                                  "'sample:NAME' (azure_llm_conv, azure_llm_code, mooncake)")
    time_scale: float = Field(default=1.0, gt=0, description="trace seconds → sim seconds")
    limit: int | None = Field(default=None, gt=0, le=10**9,
                              description="keep the first N rows only")
    repeat: bool = Field(default=False, description="tile the trace over the whole run")
    absolute_time: bool = Field(
        default=False, description="keep the file's own time zero instead of rebasing to "
                                   "the first row (Azure: midnight of the first row's day)")
    offset: Seconds | None = Field(
        default=None, ge=0, description="trace time (s, file's own zero) replayed at the "
                                        "service's start; earlier rows are dropped")

    @field_validator("path")
    @classmethod
    def _sample_exists(cls, v: str) -> str:
        return check_sample(v)


def _typical(dist: object) -> float:
    """The token count a distribution gives on average (its clip taken into account)."""
    mean = float(dist.mean())  # type: ignore[attr-defined]
    return min(mean, dist.max) if isinstance(dist, LognormalTokens) else mean


def _shown_value(dist: object) -> object:
    return dist.value if isinstance(dist, FixedTokens) else dist


def _shown(dist: object, n: float) -> str:
    """A token field's value in an error: the count, or a distribution by its mean."""
    if isinstance(dist, FixedTokens):
        return f"{dist.value:,}"
    kind = getattr(dist, "dist", "distribution")
    return f"a {kind} distribution with mean {n:,.0f}" if n < 1e15 else \
        f"a {kind} distribution with mean {n:.3g}"


class InferenceServiceConfig(_Frozen):
    """One inference service of a tenant (``replicas``: the initial count).

    Requests arrive as a Poisson process at ``rate`` with sampled token counts, or, with
    ``trace``, exactly as in a serving trace (then ``rate`` and the token distributions are
    not used).
    """

    name: Label = Field(description="service name, unique within the tenant")
    model: str = Field(description="catalog model name (the catalog is in workloads/models.py; "
                                   "an unknown name's error lists it), or an inline model mapping")
    replicas: int = Field(gt=0, le=MAX_COUNT, description="initial number of replicas")

    _model_inline = field_validator("model", mode="wrap", json_schema_input_type=_MODEL_INPUT)(
        _inline_models)
    gpus_per_replica: int = Field(
        default=1, gt=0, le=MAX_COUNT, description="GPUs per replica (tensor-parallel within one "
                                                   "NVLink domain)")
    rate: PerSecond | None = Field(default=None, gt=0, le=MAX_RATE_PER_S,
                                   description="mean request arrival rate (Poisson)")
    trace: ServingTraceConfig | None = Field(default=None,
                                             description="replay arrivals from a trace")
    prompt_tokens: TokenDistribution = Field(
        default_factory=lambda: LognormalTokens(median=1020, p90=2735),
        description="distribution of prompt tokens per request, or a number: that many "
                    "every time (default lognormal, median 1020, p90 2735)")
    output_tokens: TokenDistribution = Field(
        default_factory=lambda: LognormalTokens(median=129, p90=424),
        description="distribution of output tokens per request, or a number: that many "
                    "every time (default lognormal, median 129, p90 424)")
    slo: SloConfig = Field(default_factory=SloConfig, description="latency objectives (TTFT, TPOT)")
    origin: str | None = Field(default=None, description="overrides the tenant's origin")
    precision: Precision = Field(default="fp8", description="numeric precision of the weights and "
                                                            "compute: bf16, fp8 or fp4")
    max_batch: int | None = Field(
        default=None, gt=0, le=MAX_COUNT, description="most sequences batched on one replica; "
                                                      "none: as many as fit in memory")
    start: Seconds = Field(default=0.0, ge=0, description="simulated time at which the service "
                                                          "starts, e.g. 1h")
    system: str | None = Field(default=None, description="restrict to one rack system")
    autoscale: AutoscaleConfig | None = Field(
        default=None, description="replica autoscaling; none: a fixed replica count")
    cold_start: Seconds | None = Field(
        default=None, ge=0, description="time from placing a replica that replaces one a "
        "hardware failure stopped to its serving (image pull, weights load), e.g. 2m; "
        "none: autoscale's scale_up_delay, or 2m without autoscale")
    chunked_prefill: bool = Field(default=True, description="prefill in chunks that ride "
                                  "along with decode steps (false: whole prompts per step, "
                                  "see prefill_with_decode)")
    prefill_with_decode: bool = Field(
        default=True, description="without chunked prefill: a step's prompts run whole in the "
        "same forward pass as the running batch's decode (TensorRT-LLM's in-flight batching); "
        "false: prefill steps run alone and pause decoding (vLLM's V0 scheduler)")
    prefill_step_tokens: int = Field(
        default=DEFAULT_PREFILL_STEP_TOKENS, gt=0, le=MAX_COUNT, description="without chunked "
        "prefill: the most prompt tokens one step takes (TensorRT-LLM's max_num_tokens, 8192 "
        "by default; vLLM's max_num_batched_tokens); a longer prompt runs alone")
    runtime: Literal["python", "cpp"] = Field(
        default="python", description="the serving runtime's scheduler: python (TensorRT-LLM's "
        "PyTorch flow, the default) or cpp (a compiled C++ scheduler running TensorRT "
        "engines); sets the host time per running request and step")
    kv_free_fraction: float = Field(
        default=0.9, gt=0, le=1, description="share of the GPU memory left free by the weights "
        "that the runtime gives the KV cache (TensorRT-LLM's free_gpu_memory_fraction; "
        "default 0.9)")

    @model_validator(mode="after")
    def _one_arrival_source(self) -> InferenceServiceConfig:
        if (self.rate is None) == (self.trace is None):
            raise ValueError("give exactly one of 'rate' (Poisson arrivals) or 'trace'")
        return self

    @model_validator(mode="after")
    def _tokens_within_context(self) -> InferenceServiceConfig:
        """A prompt (or an output, or both together) longer than the model's context, every
        time or on average, is refused at the token field: requests that long cannot be
        served. Only draws in a distribution's tail may pass the context. A trace's own
        token counts are not checked here; an unknown model is reported where it is looked
        up."""
        if self.trace is not None:
            return self
        try:
            context = get_model(self.model).context
        except UnknownModelError:
            return self
        limit = f"the context of {self.model} ({context:,} tokens)"
        prompt, output = _typical(self.prompt_tokens), _typical(self.output_tokens)
        for name, dist, n in (("prompt_tokens", self.prompt_tokens, prompt),
                              ("output_tokens", self.output_tokens, output)):
            if n > context:
                raise field_error(type(self), (name,), _shown_value(dist), (
                    f"at most {limit}" if isinstance(dist, FixedTokens) else
                    f"a mean within {limit}"), _shown(dist, n))
        if prompt + output > context:
            raise field_error(type(self), ("prompt_tokens",), _shown_value(self.prompt_tokens),
                              f"prompt and output together within {limit}",
                              f"{_shown(self.prompt_tokens, prompt)} with output_tokens "
                              f"{_shown(self.output_tokens, output)} ({prompt + output:,.0f} "
                              "in all)")
        return self

    @model_validator(mode="after")
    def _replicas_within_bounds(self) -> InferenceServiceConfig:
        a = self.autoscale
        if a is not None and not a.min_replicas <= self.replicas <= a.max_replicas:
            raise field_error(type(self), ("replicas",), self.replicas,
                              f"a count within autoscale's min_replicas..max_replicas "
                              f"({a.min_replicas}..{a.max_replicas})")
        return self


class DatasetConfig(_Frozen):
    """A training dataset copied to the job's site over the WAN before it computes."""

    size: Bytes = Field(gt=0, description="e.g. 20TB")
    source: str = Field(min_length=1, description="place it is copied from, e.g. marseille")


class _TrainingSettings(_Frozen):
    """Settings every training job has, whether listed explicitly or generated."""

    tp: int = Field(default=1, gt=0, le=MAX_COUNT,
                    description="tensor-parallel size (inside one NVLink domain)")
    pp: int = Field(default=1, gt=0, le=MAX_COUNT, description="pipeline-parallel stages")
    global_batch_tokens: float = Field(
        default=4e6, ge=1, le=MAX_TOKENS, description="tokens per optimizer step across all "
                                                      "data-parallel ranks")
    seq_len: int = Field(default=8192, gt=0, le=MAX_COUNT, description="sequence length, tokens")
    precision: Precision = Field(default="bf16", description="numeric precision of compute: bf16, "
                                                             "fp8 or fp4")
    checkpoint_interval: Seconds = Field(
        default=3600.0, gt=0, description="time between checkpoints, e.g. 1h (work since the last "
                                          "one is lost on preemption)")
    checkpoint_cost: Seconds = Field(default=60.0, ge=0, description="time one checkpoint stalls "
                                                                     "the job, e.g. 1m")
    priority: int = Field(
        default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="job priority (higher first, for"
                                                                  " policies that use it)")
    preemptible: bool = Field(default=True, description="whether policies may preempt the job")
    mfu: float | None = Field(default=None, gt=0, le=1, description="model FLOPs utilisation to "
                                                                    "assume, in (0, 1]; none: from"
                                                                    " the compute model")
    system: str | None = Field(default=None, description="run only on racks of this catalog "
                                                         "system; none: any")
    dataset: DatasetConfig | None = Field(
        default=None, description="staged over the WAN before the job computes")
    micro_batch: int = Field(default=1, gt=0, description="sequences per micro-batch")
    recompute: Literal["none", "selective", "full"] = Field(
        default="none", description="activation recomputation")
    virtual_stages: int | None = Field(
        default=None, gt=0, description="interleaved pipeline stages per rank (default: "
        "two layers per virtual stage, or 1 where that is faster)")
    ep: int = Field(default=1, gt=0, description="expert-parallel size (MoE models)")

    @model_validator(mode="after")
    def _interleaving_needs_stages(self) -> _TrainingSettings:
        """Interleaved (virtual) stages split pipeline stages: without ``pp > 1`` the
        setting would be accepted and ignored."""
        if self.virtual_stages is not None and self.virtual_stages > 1 and self.pp == 1:
            raise field_error(type(self), ("virtual_stages",), self.virtual_stages,
                              "1 or none without pipeline parallelism (pp 1); interleaving "
                              "needs pp > 1")
        return self


def _multiple_of(tp: int, pp: int) -> str:
    return f"a multiple of tp*pp = {tp * pp}" + (f" ({tp}*{pp})" if pp > 1 else "")


def _check_split(settings: _TrainingSettings, gpus: int,
                 gpus_loc: tuple[str | int, ...], modelled: bool = True) -> None:
    """Check that ``gpus`` GPUs split into the settings' parallel groups: ``ep`` divides
    the data-parallel size ``gpus/(tp·pp)``, the global batch holds at least one whole
    sequence per data-parallel rank (``modelled`` jobs, whose step time the compute model
    gives; a job with a run time as given has no steps), and with ``pp > 1`` each
    data-parallel rank gets at least ``pp`` micro-batches. ``gpus`` is already a multiple
    of ``tp·pp``; ``gpus_loc`` is where the count was given (named in the messages of a
    stream's sizes). Raises a one-line validation error."""
    dp = gpus // (settings.tp * settings.pp)
    of = "" if gpus_loc == ("gpus",) else f" for {'.'.join(map(str, gpus_loc))} = {gpus}"
    if dp % settings.ep:
        raise field_error(type(settings), ("ep",), settings.ep,
                          f"a divisor of the data-parallel size {dp} (gpus / (tp*pp)){of}")
    least = dp * settings.seq_len
    if modelled and settings.global_batch_tokens < least:
        raise field_error(
            type(settings), ("global_batch_tokens",), settings.global_batch_tokens,
            f"at least dp x seq_len = {dp} x {settings.seq_len} = {least:,} tokens (one whole "
            f"sequence per data-parallel rank; dp = gpus / (tp*pp)){of}",
            shown=f"{settings.global_batch_tokens:,.0f}")
    micro = settings.global_batch_tokens / (dp * settings.micro_batch * settings.seq_len)
    if settings.pp > 1 and micro < settings.pp:
        raise ValueError(
            f"global_batch_tokens ({settings.global_batch_tokens:g}) gives {micro:.3g} "
            f"micro-batches per data-parallel rank{of}; expected at least pp ({settings.pp}) "
            f"(dp {dp} x micro_batch {settings.micro_batch} x seq_len {settings.seq_len} "
            "tokens each)")


class TrainingJobConfig(_TrainingSettings):
    """One explicit training job (for deterministic scenarios and tests).

    Either ``tokens`` of work (run time from the compute model), or ``runtime``: the job runs
    exactly that long on whatever GPUs it gets (duration as given, as in trace replay; no
    compute, memory or communication model; ``model`` may be ``generic``). Preemption of
    such a job is lossless unless ``checkpoint_interval``/``checkpoint_cost`` are set.
    """

    name: Label = Field(description="job name, unique within the tenant")
    model: str = Field(description="catalog model name, 'generic' (with runtime), or an inline "
                                   "model mapping")
    submit: Seconds = Field(default=0.0, ge=0, description="simulated submission time, e.g. 3h")

    _model_inline = field_validator("model", mode="wrap", json_schema_input_type=_MODEL_INPUT)(
        _inline_models)
    gpus: int = Field(gt=0, le=MAX_COUNT, description="GPUs the job needs (a multiple of tp x pp)")
    tokens: float | None = Field(
        default=None, gt=0, le=MAX_TOKENS, description="training tokens of work (run time from the"
                                                       " compute model); give this or runtime")
    runtime: Seconds | None = Field(default=None, gt=0, description="duration as given")

    @model_validator(mode="after")
    def _parallelism_divides(self) -> TrainingJobConfig:
        if self.gpus % (self.tp * self.pp):
            raise field_error(type(self), ("gpus",), self.gpus, _multiple_of(self.tp, self.pp))
        if (self.tokens is None) == (self.runtime is None):
            raise ValueError("give exactly one of tokens (work for the compute model) or "
                             "runtime (duration as given)")
        if self.model == "generic" and self.runtime is None:
            raise ValueError("model 'generic' has no compute model; it needs a runtime")
        _check_split(self, self.gpus, ("gpus",), modelled=self.runtime is None)
        return self


class TrainingWorkloadConfig(_TrainingSettings):
    """A stream of training jobs: Poisson arrivals with sampled model, size and length."""

    name: Label = Field(description="stream name, unique within the tenant (job names derive from "
                                    "it)")
    model: str | list[str] = Field(description="catalog model name or a list to sample from "
                                               "(inline model mappings allowed)")
    model_weights: list[float] | None = Field(
        default=None, description="sampling weights of the models in the list; none: equal")

    _model_inline = field_validator("model", mode="wrap", json_schema_input_type=_MODELS_INPUT)(
        _inline_models)
    rate: PerSecond = Field(gt=0, le=MAX_RATE_PER_S,
                            description="mean job arrival rate (Poisson)")
    start: Seconds = Field(default=0.0, ge=0, description="simulated time at which arrivals begin,"
                                                          " e.g. 1d")
    max_jobs: int | None = Field(
        default=None, gt=0, le=MAX_COUNT, description="stop after this many jobs; none: arrivals "
                                                      "until the end of the run")
    gpus: list[int] = Field(min_length=1, description="GPU counts to sample each job's size "
                                                      "from (one count: every job's size)")
    gpus_weights: list[float] | None = Field(
        default=None, description="sampling weights of the GPU counts; none: equal")
    tokens: TokenDistribution = Field(
        description="distribution of training tokens per job, or a number: that many each")
    estimate_error: float = Field(
        default=0.0, ge=0, description="sd of the log of users' runtime-estimate error (each "
                                       "estimate is the run time times exp(sd * Z), Z standard "
                                       "normal)")

    @field_validator("model")
    @classmethod
    def _some_model(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("got []; expected a model name or a non-empty list of them")
        return v

    @field_validator("gpus", mode="before", json_schema_input_type=int | list[int])
    @classmethod
    def _one_size(cls, v: object) -> object:
        """``gpus: 8`` as the one-size list ``[8]``."""
        return [v] if isinstance(v, int | float | str) and not isinstance(v, bool) else v

    @field_validator("gpus")
    @classmethod
    def _positive_sizes(cls, v: list[int]) -> list[int]:
        for g in v:
            if not 0 < g <= MAX_COUNT:
                raise ValueError(f"GPU counts in 1..{MAX_COUNT:,}, got {g}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TrainingWorkloadConfig:
        for i, g in enumerate(self.gpus):
            if g % (self.tp * self.pp):
                raise field_error(type(self), ("gpus", i), g, _multiple_of(self.tp, self.pp))
            _check_split(self, g, ("gpus", i))
        models = [self.model] if isinstance(self.model, str) else self.model
        for name, weights, n, per in (
                ("model_weights", self.model_weights, len(models), "model"),
                ("gpus_weights", self.gpus_weights, len(self.gpus), "gpus entry")):
            if weights is not None and (
                    len(weights) != n or any(w < 0 for w in weights) or sum(weights) <= 0):
                raise field_error(type(self), (name,), weights,
                                  f"{n} non-negative weight(s) with a positive sum, one per "
                                  f"{per}")
        return self

    @property
    def models(self) -> list[str]:
        """The candidate model names."""
        return [self.model] if isinstance(self.model, str) else list(self.model)


RESIDENCY_PATTERN = r"^[A-Za-z]{2}$"
"""A residency is a two-letter country code, matched against the sites' ``country`` in any
case; anything else (a country's name, an empty text) could never match a site."""
PATTERN_WORDS[RESIDENCY_PATTERN] = "a two-letter ISO 3166-1 country code such as MA or TN"


class TenantConfig(_Frozen):
    """A tenant: who it is, where its users are, and its training and inference work."""

    origin: str = Field(default="local", description="place its inference requests come from")
    priority: int = Field(
        default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="tenant priority (higher first, "
                                                                  "for policies that use it)")
    share: float | None = Field(default=None, gt=0, description="fair-share weight")
    residency: str | None = Field(
        default=None, pattern=RESIDENCY_PATTERN,
        description="ISO 3166-1 alpha-2 code of the country its work must stay in (e.g. MA; "
                    "any case): only sites whose country it is may run its work")
    training: list[TrainingWorkloadConfig] = Field(
        default_factory=list, description="streams of generated training jobs")
    jobs: list[TrainingJobConfig] = Field(
        default_factory=list, description="explicit training jobs")
    inference: list[InferenceServiceConfig] = Field(
        default_factory=list, description="inference services")
    traces: list[TraceReplayConfig] = Field(
        default_factory=list, description="training traces (philly, alibaba) replayed as this "
                                          "tenant's jobs; see workloads.traces.mapping")

    @model_validator(mode="after")
    def _unique_names(self) -> TenantConfig:
        """Jobs, workloads and services are addressed by name (streams, ``--set``)."""
        for field, what in (("jobs", "job"), ("training", "training workload"),
                            ("inference", "inference service")):
            names = [item.name for item in getattr(self, field)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                first = names.index(dupes[0])
                i = names.index(dupes[0], first + 1)
                raise field_error(type(self), (field, i, "name"), dupes[0],
                                  f"each {what} of a tenant to have its own name (also "
                                  f"{field}.{first}.name)")
        return self
