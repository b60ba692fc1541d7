"""The work items the engine schedules: training jobs and inference services.

Plain frozen dataclasses in SI units, produced by the generators in :mod:`workloads`
from a scenario's tenants (or from trace readers) and consumed by the engine. They carry
no behaviour and no random state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotation only: workloads.config imports this module
    from workloads.config import AutoscaleConfig
    from workloads.requests import RequestArrays

__all__ = ["DEFAULT_COLD_START_S", "DEFAULT_PREFILL_STEP_TOKENS", "InferenceServiceSpec",
           "TrainingJobSpec"]


@dataclass(frozen=True, slots=True)
class TrainingJobSpec:
    """One training (or fine-tuning) job, gang-scheduled on ``n_gpus`` GPUs.

    ``n_gpus == tp * pp * dp``. ``tokens`` is the total number of training tokens and
    ``tokens_per_step`` the global batch in tokens, so ``steps = ceil(tokens / tokens_per_step)``.
    ``checkpoint_interval_s`` is the compute time between checkpoints (s) and
    ``checkpoint_cost_s`` the time one checkpoint save takes (s), written after each
    interval; a stop loses the compute since the last completed save plus any save under
    way. A duration-as-given job (``runtime_s``) counts no saves in its run time: its
    checkpoints fall every ``checkpoint_interval_s`` of it and ``checkpoint_cost_s`` is only
    its restore after a stop. ``mfu`` overrides the kernel's efficiency model when set.
    ``est_duration_s`` is the user's runtime estimate (used by backfill and shortest-job
    policies); ``None`` lets the engine estimate it from the model.
    ``dataset_bytes`` from ``dataset_source`` (a place) are copied to the job's site over the
    WAN before it computes (0: no staging).
    ``estimate_error`` is the sd of the log of the multiplicative error on that estimate
    (0: exact); the composition root draws the factor from a named stream.
    ``micro_batch`` (sequences), ``recompute`` (none/selective/full), ``virtual_stages``
    (``None``: the kernel's default) and ``ep`` (expert-parallel size) feed the step-time
    kernel.
    ``runtime_s`` set means *duration as given* (trace replay as in the Tiresias and Gavel
    simulators): the job runs exactly ``runtime_s`` seconds on whatever GPUs it gets, with no
    compute, communication, checkpoint or memory model (``model`` may then be ``"generic"``,
    which is not in the model catalog). A ``checkpoint_interval_s`` of ``inf`` makes
    preemption lossless. ``runtime_by_gpu`` (``(GPU type name, s)`` pairs, from a
    per-job-type throughput table) makes that duration depend on the GPU type the job runs
    on; ``runtime_s`` applies on types it does not list.
    """

    job_id: int
    tenant: str
    name: str
    model: str
    submit_s: float
    n_gpus: int
    tp: int
    pp: int
    dp: int
    tokens: float
    tokens_per_step: float
    seq_len: int
    precision: str
    checkpoint_interval_s: float
    checkpoint_cost_s: float
    priority: int = 0
    preemptible: bool = True
    gpu_system: str | None = None
    mfu: float | None = None
    est_duration_s: float | None = None
    estimate_error: float = 0.0
    dataset_bytes: float = 0.0
    dataset_source: str | None = None
    micro_batch: int = 1
    recompute: str = "none"
    virtual_stages: int | None = None
    ep: int = 1
    runtime_s: float | None = None
    runtime_by_gpu: tuple[tuple[str, float], ...] = ()

    def runtime_on(self, gpu_name: str) -> float | None:
        """The as-given duration (s) on GPUs named ``gpu_name`` (``None``: modelled)."""
        for name, seconds in self.runtime_by_gpu:
            if name == gpu_name:
                return seconds
        return self.runtime_s

    @property
    def steps(self) -> int:
        """Optimizer steps needed to consume ``tokens``."""
        return max(1, -(-int(self.tokens) // int(self.tokens_per_step)))


DEFAULT_PREFILL_STEP_TOKENS = 8192
"""The most prompt tokens one unchunked step takes unless a service says otherwise
(TensorRT-LLM's default ``max_num_tokens``): prompts waiting beyond it go to the next step,
every prompt of a step gets its first token when the step ends, and a longer prompt runs
alone in one step."""


DEFAULT_COLD_START_S = 120.0
"""Cold start (s) of a serving replica placed anew without autoscaling: image pull,
runtime start and weights load before it serves. The autoscaler's default
``scale_up_delay`` (2 min); a 70B model's image pull (30-60 s when not cached) plus its
weights load from node-local NVMe (30-60 s) take about that, and minutes more when the
weights come from object storage (140 GB at 1 GB/s: 140 s) — kunwar.page, "The model
cold-start problem and pre-cached weights", section 52.1; BentoML, "Cold-starting LLMs on
Kubernetes in under 30 seconds" (2025-04-11) reports minutes without its optimisations."""


@dataclass(frozen=True)
class InferenceServiceSpec:
    """A long-running inference service: ``replicas`` model copies of ``gpus_per_replica`` each.

    Requests arrive as a Poisson process at ``rate_per_s`` or, when ``trace`` is set, at the
    trace's times with its token counts (``rate_per_s`` and the token distributions then
    hold the trace's mean rate and means, for capacity estimates), from the place
    ``origin``; prompt and output lengths follow the token distributions (see
    :mod:`workloads.distributions`). ``max_batch`` caps concurrent sequences per replica
    (``None``: limited by KV-cache memory only). SLOs are on time to first token and time
    per output token, in seconds. ``chunked_prefill``: prompts are split into chunks that
    ride along with decode steps (vLLM/TensorRT-LLM default) rather than run whole, each
    step taking at most ``prefill_step_tokens`` prompt tokens of the prompts waiting when it
    begins; those whole prompts run in the same forward pass as the running batch's decode
    when ``prefill_with_decode`` (TensorRT-LLM's in-flight batching), else in prefill steps
    that pause decoding (vLLM's V0 scheduler). ``runtime`` is the serving runtime's scheduler
    (``"python"`` or ``"cpp"``), which sets its host time per running request;
    ``kv_free_fraction`` the share of the memory left by the weights that holds the KV
    cache (0..1). ``cold_start_s``: seconds a replica placed to replace one a failure
    stopped takes to serve (``None``: see :attr:`replacement_delay_s`).
    """

    service_id: int
    tenant: str
    name: str
    model: str
    start_s: float
    replicas: int
    gpus_per_replica: int
    rate_per_s: float
    prompt_tokens: TokenDistribution
    output_tokens: TokenDistribution
    slo_ttft_s: float
    slo_tpot_s: float
    origin: str
    precision: str = "fp8"
    max_batch: int | None = None
    priority: int = 100
    gpu_system: str | None = None
    autoscale: AutoscaleConfig | None = None
    trace: RequestArrays | None = None
    chunked_prefill: bool = True
    prefill_with_decode: bool = True
    prefill_step_tokens: int = DEFAULT_PREFILL_STEP_TOKENS
    runtime: str = "python"
    kv_free_fraction: float = 0.9
    cold_start_s: float | None = None

    @property
    def replacement_delay_s(self) -> float:
        """Seconds from placing a replica that replaces one a failure stopped to its
        serving: ``cold_start_s``, else the autoscaler's scale-up delay, else
        :data:`DEFAULT_COLD_START_S`."""
        if self.cold_start_s is not None:
            return self.cold_start_s
        if self.autoscale is not None:
            return float(self.autoscale.scale_up_delay)
        return DEFAULT_COLD_START_S

    @property
    def n_gpus(self) -> int:
        """GPUs the service's initial replicas hold."""
        return self.replicas * self.gpus_per_replica

    @property
    def base_replicas(self) -> int:
        """Replicas held for the service's whole life (``min_replicas`` when autoscaled)."""
        return self.autoscale.min_replicas if self.autoscale is not None else self.replicas


from workloads.distributions import TokenDistribution  # noqa: E402  (forward reference above)
