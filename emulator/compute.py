"""Bridge from jobs, services and allocations to the batched kernels in :mod:`cupy_kernels`.

Builds kernel input arrays from specs (model dimensions from :mod:`workloads.models`,
GPU peaks from the hardware catalog, link speeds of the allocation's slowest tier from
the topology index) and brings results back to the host. Kernels are called once per
scheduling round for all jobs started in it, once per serving window for all services,
and once per sampling tick for all GPUs — never per event (DESIGN principle 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cupy_kernels import DEFAULT_DECODE_BW_EFF, DEFAULT_PREFILL_EFF
from cupy_kernels import training as _training_kernel
from cupy_kernels.backend import Backend
from cupy_kernels.inference import (
    PREFILL_EFF as PREFILL_EFF_BY_PRECISION,
)
from cupy_kernels.inference import (
    STEP_OVERHEAD_S,
    InferenceBatch,
    decode_split,
    decode_step_time,
    max_batch,
    prefill_parts,
    prefill_time,
    seq_overhead_s,
)
from cupy_kernels.power import gpu_power
from cupy_kernels.training import (
    PRECISION_CODES,
    RECOMPUTE_CODES,
    TrainingBatch,
    training_step_time,
)
from cupy_kernels.training import STREAM_EFF as TRAINING_STREAM_EFF
from emulator.compute_power import RackPower
from emulator.prefill_memo import PrefillMemo
from topologies.catalog import GpuSpec, SystemSpec
from topologies.index import TIER_LEAF, TIER_NVLINK, TIER_SPINE, TIER_WAN, TopologyIndex
from workloads.models import get_model
from workloads.spec import InferenceServiceSpec, TrainingJobSpec

__all__ = ["ComputeModel", "ServiceStatics", "TrainingEstimate"]

DP_OVERLAP = 0.8
"""Fraction of the data-parallel gradient all-reduce hidden under the backward pass
(bucketed overlap in PyTorch DDP/Megatron); the value ``docs/validation.md`` was checked
with. Exposed communication is the rest."""

PREFILL_EFF = DEFAULT_PREFILL_EFF
"""Fraction of dense peak reached in fp8 prefill; per precision in
:data:`cupy_kernels.inference.PREFILL_EFF` (calibrated in ``docs/validation.md``)."""

DECODE_BW_EFF = DEFAULT_DECODE_BW_EFF
"""Fraction of HBM bandwidth reached by decode; see ``docs/validation.md``."""

_WEIGHT_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}

TRAIN_ATTN_PRECISION = "bf16"
"""Precision of the attention core in training: Transformer Engine keeps it in 16 bits
under fp8/fp4 recipes unless fp8 attention is switched on (see ``docs/kernels.md``)."""


def _gemm_precision(gpu: GpuSpec, precision: str) -> str:
    """Precision whose efficiency (training's ``EFF_MAX``, serving's ``PREFILL_EFF``) work
    of ``precision`` reaches on ``gpu``: the one its GEMMs run at
    (:meth:`GpuSpec.compute_precision`), as its peak is (fp8 on an A100: bf16 GEMMs);
    tf32 (a GPU with neither bf16 nor narrower) counts as bf16."""
    used = gpu.compute_precision(precision)
    return used if used in PRECISION_CODES else "bf16"


_TRAIN_WIDER: tuple[str, ...] = ("fp4", "fp8", "bf16")
"""Training precisions from the narrowest to the widest."""


def _train_gemm_precision(gpu: GpuSpec, precision: str, mfu: float | None) -> str:
    """Precision a training job of ``precision`` runs its weight GEMMs at on ``gpu``.

    The fastest, by fitted rate ``peak · EFF_MAX`` (FLOP/s), of the precision's own GEMM
    precision (:func:`_gemm_precision`) and the wider ones: asking for a narrower format
    never slows a job. The per-precision efficiencies are fitted on different GPU
    generations (fp8 on H100, fp4 on GB200; ``docs/validation.md``), so on a B200 or GB200
    the fp4 rate (``2 · 0.2554`` of the fp8 peak) comes out 2 % below the fp8 rate
    (``0.5218``); an fp4 job there runs at the fp8 rate instead. Published NVFP4 training
    is 1.3-1.46x MXFP8 on the same GB200 configuration; the held-out rows put the miss on
    the fp4 constant, not the fp8 one (``docs/kernels.md``). With ``mfu`` imposed (a fraction of the
    requested precision's peak) the requested precision is kept; ``None`` or NaN is no
    ``mfu`` (the kernel then uses its efficiency model, as for a NaN ``mfu`` column)."""
    own = _gemm_precision(gpu, precision)
    if (mfu is not None and not math.isnan(mfu)) or precision not in _TRAIN_WIDER:
        return own
    eff = _training_kernel.EFF_MAX
    options = [_gemm_precision(gpu, p) for p in _TRAIN_WIDER[_TRAIN_WIDER.index(precision):]]
    return max(options, key=lambda p: gpu.peak(p) * eff[PRECISION_CODES[p]])


def _kv_precision(precision: str) -> str:
    """KV-cache (and attention-core) precision of a service: fp8 under fp8/fp4 weights."""
    return "fp8" if precision in ("fp8", "fp4") else "bf16"


@dataclass(frozen=True)
class TrainingEstimate:
    """Step time, compute utilisation and total duration (s) for a batch of jobs."""

    step_s: np.ndarray
    util: np.ndarray
    duration_s: np.ndarray
    tier: np.ndarray


@dataclass(frozen=True)
class ServiceStatics:
    """Per-service constants of the inference kernels (one row per service)."""

    batch: InferenceBatch
    slots: np.ndarray  # concurrent sequences per replica (KV-cache and max_batch bound)
    # one service's row of ``batch`` (views), made the first time a window asks for it
    rows: dict[int, InferenceBatch] = field(default_factory=dict, compare=False, repr=False)
    # one service's prefill figures by prompt length, filled as windows ask for them
    prefill: dict[int, PrefillMemo] = field(default_factory=dict, compare=False, repr=False)


def _duration(step_s: np.ndarray, steps: np.ndarray, interval: np.ndarray,
              cost: np.ndarray) -> np.ndarray:
    """Run time incl. checkpoint saves: steps·step plus one save per full interval."""
    compute = steps * step_s
    return compute + np.floor(compute / interval) * cost


class ComputeModel(RackPower):
    """Kernel calls for the engine, on the scenario's backend."""

    def __init__(self, backend: Backend, index: TopologyIndex,
                 fused_kernels: bool = False,
                 site_design_w: Sequence[float] | np.ndarray | None = None) -> None:
        """``site_design_w``: each site's nameplate IT power (W), the design figure the
        facility's load-independent part is taken on: all IT equipment on the UPS, racks at
        ``rack_full_w`` and the fabric's switches (``SiteSizing.it_full_w``, the figure
        ``gpuemu topology`` prints). ``None``: the racks' nameplate alone (a model built
        without its sites' fabric)."""
        self.backend = backend
        self.index = index
        xp = backend.xp
        self._xp = xp
        self._init_power(backend, index, site_design_w)
        # Opt-in on cupy: one fused CUDA kernel per formula. Off by default until measured on
        # a GPU (tests/test_kernels_gpu.py compares them with the reference kernels).
        self._decode_step_time: Callable[[Any, InferenceBatch], Any] = decode_step_time
        self._gpu_power: Callable[..., Any] = gpu_power
        if backend.name == "cupy" and fused_kernels:
            from cupy_kernels.fused import decode_step_time_fused, gpu_power_fused
            self._decode_step_time, self._gpu_power = decode_step_time_fused, gpu_power_fused

    def _column(self, values: Sequence[float]) -> object:
        """A float64 kernel input column on the backend's device."""
        return self.backend.asarray(np.asarray(values, dtype=float))

    # -- systems -----------------------------------------------------------------------
    def system_of_gpu(self, gpu: int) -> SystemSpec:
        """The rack system GPU ``gpu`` belongs to."""
        return self.index.systems[int(self.index.rack_system[self.index.gpu_rack[gpu]])]

    def _tier_arrays(self, tiers: np.ndarray, first_gpu: np.ndarray,
                     spine_scale: float = 1.0) -> tuple[np.ndarray, ...]:
        idx = self.index
        site = idx.gpu_site[first_gpu]
        bw = np.where(tiers == TIER_NVLINK, idx.gpu_nvlink_bw[first_gpu],
                      np.where(tiers == TIER_LEAF, idx.gpu_nic_bw[first_gpu],
                               np.where(tiers == TIER_SPINE,
                                        idx.site_spine_bw_per_gpu[site] * spine_scale,
                                        idx.wan_bw_per_gpu)))
        alpha = idx.tier_latency_s[np.clip(tiers, 0, TIER_WAN)]
        return bw.astype(float), alpha.astype(float)

    # -- training ----------------------------------------------------------------------
    def training(self, specs: Sequence[TrainingJobSpec], systems: Sequence[SystemSpec],
                 tiers: np.ndarray, first_gpu: np.ndarray,
                 spine_scale: float = 1.0) -> TrainingEstimate:
        """Step time, utilisation and duration for jobs on the given systems and tiers.

        ``spine_scale`` (0..1] is the fraction of the sites' cross-pod (spine) bandwidth
        left: below 1 after spine switch failures (it slows only spine-tier jobs).
        Duration-as-given jobs (``spec.runtime_s`` set, trace replay) bypass the kernels:
        they run exactly ``runtime_s`` s (or their ``runtime_by_gpu`` entry for the system's
        GPU type: a throughput table) as one step at full utilisation.
        """
        given = np.array([s.runtime_s is not None for s in specs], dtype=bool)
        if not given.any():
            return self._modelled(specs, systems, tiers, first_gpu, spine_scale)
        runtime = np.array([s.runtime_on(sy.gpu.name) if s.runtime_s is not None else np.nan
                            for s, sy in zip(specs, systems, strict=True)], dtype=float)
        step, util, duration = runtime.copy(), np.ones(len(specs)), runtime.copy()
        rest = np.flatnonzero(~given)
        if rest.size:
            est = self._modelled([specs[i] for i in rest], [systems[i] for i in rest],
                                 np.asarray(tiers)[rest], np.asarray(first_gpu)[rest],
                                 spine_scale)
            step[rest], util[rest], duration[rest] = est.step_s, est.util, est.duration_s
        return TrainingEstimate(step, util, duration, np.asarray(tiers))

    def _modelled(self, specs: Sequence[TrainingJobSpec], systems: Sequence[SystemSpec],
                  tiers: np.ndarray, first_gpu: np.ndarray,
                  spine_scale: float = 1.0) -> TrainingEstimate:
        """The kernels' step time, utilisation and duration (jobs with a compute model)."""
        n = len(specs)
        models = [get_model(s.model) for s in specs]
        b = self.backend
        dp_bw, dp_alpha = self._tier_arrays(tiers, first_gpu, spine_scale)
        nvlink = np.array([sy.gpu.nvlink_bw for sy in systems], dtype=float)
        col = self._column
        gemm = [_train_gemm_precision(sy.gpu, s.precision, s.mfu)
                for s, sy in zip(specs, systems, strict=True)]
        batch = TrainingBatch(
            params=col([m.params for m in models]),
            active_params=col([m.active_params for m in models]),
            layers=col([m.layers for m in models]),
            hidden=col([m.hidden for m in models]),
            tokens_per_step=col([s.tokens_per_step for s in specs]),
            seq_len=col([s.seq_len for s in specs]),
            n_gpus=col([s.n_gpus for s in specs]),
            tp=col([s.tp for s in specs]),
            pp=col([s.pp for s in specs]),
            dp=col([s.dp for s in specs]),
            peak_flops=col([sy.gpu.peak(p) for p, sy in zip(gemm, systems, strict=True)]),
            mfu=col([s.mfu if s.mfu is not None else math.nan for s in specs]),
            precision_code=col([PRECISION_CODES[p] for p in gemm]),
            nvlink_bw=col(nvlink),
            dp_bw=col(dp_bw),
            dp_alpha=col(dp_alpha),
            tp_alpha=col(np.full(n, float(self.index.tier_latency_s[TIER_NVLINK]))),
            grad_bytes=col(np.full(n, 2.0)),
            dp_overlap=col(np.full(n, DP_OVERLAP)),
            attn_width=col([m.attention_width for m in models]),
            expert_params=col([m.expert_params for m in models]),
            active_experts=col([m.active_experts for m in models]),
            moe_layers=col([(m.moe_layers or m.layers) if m.is_moe else 0 for m in models]),
            micro_batch=col([s.micro_batch for s in specs]),
            recompute_code=col([RECOMPUTE_CODES[s.recompute] for s in specs]),
            ep=col([s.ep for s in specs]),
            attn_peak_flops=col([sy.gpu.peak(TRAIN_ATTN_PRECISION) for sy in systems]),
            attn_precision_code=col(np.full(n, PRECISION_CODES[TRAIN_ATTN_PRECISION])),
            experts=col([m.experts for m in models]),
            ffn_hidden=col([m.ffn_hidden for m in models]),
            hbm_bw=col([sy.gpu.hbm_bw for sy in systems]),
            stream_eff=col(np.full(n, TRAINING_STREAM_EFF)),
            local_layers=col([m.local_layers for m in models]),
            attn_window=col([m.attention_window for m in models]),
            virtual_stages=col([  # NaN: the kernel chooses (default where it pays)
                math.nan if s.virtual_stages is None else float(s.virtual_stages)
                for s in specs]),
        )
        times = training_step_time(b.xp, batch)
        step = b.to_host(times.step_s)
        util = b.to_host(times.util)
        steps = np.array([s.steps for s in specs], dtype=float)
        interval = np.array([s.checkpoint_interval_s for s in specs], dtype=float)
        cost = np.array([s.checkpoint_cost_s for s in specs], dtype=float)
        return TrainingEstimate(step, util, _duration(step, steps, interval, cost), tiers)

    # -- inference ---------------------------------------------------------------------
    def service_statics(self, specs: Sequence[InferenceServiceSpec],
                        systems: Sequence[SystemSpec]) -> ServiceStatics:
        """Kernel inputs that stay fixed while a service runs, and its batch slots."""
        b = self.backend
        models = [get_model(s.model) for s in specs]
        col = self._column
        n = len(specs)
        batch = InferenceBatch(
            params=col([m.params for m in models]),
            active_params=col([m.active_params for m in models]),
            layers=col([m.layers for m in models]),
            kv_heads=col([m.kv_heads for m in models]),
            head_dim=col([m.head_dim for m in models]),
            weight_bytes_per_param=col([_WEIGHT_BYTES[s.precision] for s in specs]),
            kv_bytes_per_elem=col([1.0 if _kv_precision(s.precision) == "fp8" else 2.0
                                   for s in specs]),
            gpus_per_replica=col([s.gpus_per_replica for s in specs]),
            peak_flops=col([sy.gpu.peak(s.precision) for s, sy in zip(specs, systems,
                                                                       strict=True)]),
            hbm_bw=col([sy.gpu.hbm_bw for sy in systems]),
            hbm_bytes=col([sy.gpu.hbm_bytes for sy in systems]),
            prefill_eff=col([PREFILL_EFF_BY_PRECISION[_gemm_precision(sy.gpu, s.precision)]
                             for s, sy in zip(specs, systems, strict=True)]),
            decode_bw_eff=col(np.full(n, DECODE_BW_EFF)),
            mean_prompt=col([s.prompt_tokens.mean() for s in specs]),
            mean_output=col([s.output_tokens.mean() for s in specs]),
            batch=col(np.ones(n)),
            allreduce_bw=col([sy.gpu.allreduce_bw() for sy in systems]),
            tp_alpha=col(np.full(n, float(self.index.tier_latency_s[TIER_NVLINK]))),
            hidden=col([m.hidden for m in models]),
            attn_width=col([m.attention_width for m in models]),
            step_overhead_s=col(np.full(n, STEP_OVERHEAD_S)),
            expert_params=col([m.expert_params for m in models]),
            experts=col([m.experts for m in models]),
            active_experts=col([m.active_experts for m in models]),
            attn_peak_flops=col([sy.gpu.peak(_kv_precision(s.precision))
                                 for s, sy in zip(specs, systems, strict=True)]),
            seq_overhead_s=col(seq_overhead_s(
                [s.gpus_per_replica for s in specs], [m.is_moe for m in models],
                [sy.host_cpu for sy in systems], [s.runtime for s in specs])),
            local_layers=col([m.local_layers for m in models]),
            attn_window=col([m.attention_window for m in models]),
            kv_free_fraction=col([s.kv_free_fraction for s in specs]),
            decode_attn_width=col([m.decode_attention_width for m in models]),
            # MoE services run attention data parallelism (``seq_overhead_s`` above): each
            # GPU holds the non-expert weights whole
            replicated_params=col([m.non_expert_params if m.is_moe else 0.0
                                   for m in models]),
        )
        kv_slots = np.floor(b.to_host(max_batch(b.xp, batch))).astype(np.int64)
        caps = np.array([s.max_batch if s.max_batch is not None else np.iinfo(np.int64).max
                         for s in specs], dtype=np.int64)
        return ServiceStatics(batch=batch, slots=np.minimum(kv_slots, caps))

    def decode_step(self, statics: ServiceStatics, batch_per_replica: np.ndarray) -> np.ndarray:
        """Seconds per decode step for each service at its current batch size."""
        b = self.backend
        fields = dict(statics.batch.__dict__)
        fields["batch"] = b.asarray(np.asarray(batch_per_replica, dtype=float))
        return b.to_host(self._decode_step_time(b.xp, InferenceBatch(**fields)))

    def _row(self, statics: ServiceStatics, row: int) -> InferenceBatch:
        made = statics.rows.get(row)
        if made is None:
            made = statics.rows[row] = InferenceBatch(
                **{k: (v[row:row + 1] if v is not None else None)
                   for k, v in statics.batch.__dict__.items()})
        return made

    def prefill(self, statics: ServiceStatics, row: int, prompts: np.ndarray) -> np.ndarray:
        """Prefill seconds for each prompt of service ``row`` alone (one kernel call)."""
        b = self.backend
        return b.to_host(prefill_time(b.xp, self._row(statics, row),
                                      b.asarray(prompts.astype(float))))

    def prefill_parts(self, statics: ServiceStatics, row: int,
                      prompts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(work s, fixed s) of each prompt of service ``row`` in a batched prefill.

        See :func:`cupy_kernels.inference.prefill_parts`: ``work`` occupies the replica's
        prefill capacity, ``fixed`` only delays that request's first token.
        """
        memo = statics.prefill.get(row)
        if memo is None:
            b, batch = self.backend, self._row(statics, row)

            def kernel(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                work, fixed = prefill_parts(b.xp, batch, b.asarray(lengths))
                return b.to_host(work), b.to_host(fixed)

            memo = statics.prefill[row] = PrefillMemo(kernel)
        return memo.parts(prompts)

    def decode_split(self, statics: ServiceStatics, batch_per_replica: np.ndarray,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(GPU s, host s, compute s) of each service's decode step at its batch size
        (:func:`cupy_kernels.inference.decode_split`; the step is ``max(GPU, host)``)."""
        b = self.backend
        fields = dict(statics.batch.__dict__)
        fields["batch"] = b.asarray(np.asarray(batch_per_replica, dtype=float))
        gpu, host, compute = decode_split(b.xp, InferenceBatch(**fields))
        return b.to_host(gpu), b.to_host(host), b.to_host(compute)

    def decode_table(self, statics: ServiceStatics, row: int,
                     batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(GPU s, host s) of service ``row``'s decode step at each of ``batches``
        sequences per replica (one kernel call; the table of
        :class:`emulator.serving_decode.StepTable`)."""
        b, size = self.backend, len(batches)
        fields = {k: (b.xp.repeat(v, size) if v is not None else None)
                  for k, v in self._row(statics, row).__dict__.items()}
        fields["batch"] = b.asarray(np.asarray(batches, dtype=float))
        gpu, host, _ = decode_split(b.xp, InferenceBatch(**fields))
        return (np.broadcast_to(b.to_host(gpu), size).copy(),
                np.broadcast_to(b.to_host(host), size).copy())
