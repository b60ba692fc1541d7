"""Serving capacity sheet: what one replica of each inference service holds and emits.

For a planner checking a tenant mix before a run (``gpuemu validate`` prints it): per
inference service and rack system it may run on, the weights per GPU, the KV pool per
replica (the runtime's share ``kv_free_fraction`` of the memory the weights leave free, on
the memory the driver reports), the sequences of the service's mean prompt + output length
that fit (at most its ``max_batch``), the decode step at that batch, and the replica's output
tokens/s in steady state at that batch (:func:`cupy_kernels.inference.replica_throughput`,
the figure ``docs/validation.md`` checks against published offline throughput, where prompts
ride the decode steps in chunks or whole; when prefill steps run alone and pause decoding
(``prefill_with_decode: false``), a replica at a full batch admits about one
prompt per step as one sequence retires, so each request costs it its prefill, work and
fixed part, plus its share of the decode steps, ``(output - 1) · step(slots) / slots``
(the first token comes with the prefill): the
capacity the token-level reference reaches, ``tests/test_serving_reference.py``).

A replica also has one prefill pipeline, which a prompt riding the decode steps (chunked, or
whole with the decode) holds for its own work plus its share of the steps it rides
(:class:`emulator.serving_prefill.PrefillRule`): at most ``1 / mean hold`` requests/s, the
hold taken at the decode step of the batch that rate keeps decoding (its TPOT stretched by
the prefill share of the GPU, :func:`emulator.serving_runtime.time_per_token`), as a run's serving
model has it (:func:`prefill_bound`). Long prompts with short outputs, or small models whose
decode step is short against their prefill, bind there before the decode batch is full.

From these: the requests/s the service's initial replicas serve when saturated (the lower of
the two bounds), and the offered rate as a share of it. The per-window serving model of a
run saturates within a few per cent of this figure (measured: Llama-3-8B TP1 FP8 on GB200
with Azure conversation prompts, -1.6%; 8,000-token prompts and 50-token outputs, +0.2%;
Llama-3-70B TP2 FP8 with Azure conversation prompts, -2.0%). Each line ends with how far
the kernel's throughput was from published figures for configurations like it (the
held-out validation rows of its family: dense or MoE, GPU generation, tensor-parallel
size; :mod:`emulator.validation_bias`), so a planner knows how much margin to keep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cupy_kernels._arrays import f64
from cupy_kernels.inference import (
    InferenceBatch,
    kv_pool_bytes,
    replica_throughput,
    replica_weight_bytes,
)
from emulator.compute import ComputeModel, ServiceStatics
from emulator.serving_carry import MAX_PREFILL_SHARE
from emulator.serving_prefill import PrefillRule, prefill_chunks
from emulator.serving_runtime import time_per_token
from emulator.validation_bias import FamilyError, serving_throughput_error
from topologies.catalog import SystemSpec
from workloads.models import get_model
from workloads.spec import InferenceServiceSpec

if TYPE_CHECKING:
    from emulator.build import Simulation

__all__ = ["PROMPT_SAMPLE", "ServiceCapacity", "prefill_bound", "serving_capacity"]

PROMPT_SAMPLE = 4096
"""Prompts (drawn with a fixed seed, or a replayed trace's, evenly spaced) over which the
prefill pipeline's mean hold is taken."""


@dataclass(frozen=True)
class ServiceCapacity:
    """One service on one rack system, at saturation (see the module docstring).

    Sizes in bytes, times in s, rates per s; ``sequences_per_replica`` 0 means the weights
    (or one sequence) do not fit, and every rate is then 0.
    """

    tenant: str
    service: str
    system: str
    replicas: int
    gpus_per_replica: int
    precision: str
    weight_bytes_per_gpu: float
    kv_pool_bytes_per_replica: float
    sequences_per_replica: int
    decode_step_s: float
    output_tokens_per_s_per_replica: float
    mean_output_tokens: float
    offered_requests_per_s: float
    autoscale: tuple[int, int] | None = None  # (min, max) replicas when autoscaled
    # requests/s one replica's prefill pipeline admits at saturation (inf: prefill steps
    # run alone, whose cost the output tokens/s already carry)
    prefill_requests_per_s_per_replica: float = math.inf
    family: str = ""  # its validation family (dense or MoE, GPU generation, TP size)
    validation: FamilyError | None = None  # the family's held-out rows (None: none)

    @property
    def decode_requests_per_s_per_replica(self) -> float:
        """Requests/s one replica's full decode batch completes (output tokens/s over the
        mean output)."""
        return self.output_tokens_per_s_per_replica / self.mean_output_tokens

    @property
    def prefill_binds(self) -> bool:
        """Whether the prefill pipeline, not the decode batch, sets the capacity."""
        return self.prefill_requests_per_s_per_replica < self.decode_requests_per_s_per_replica

    @property
    def capacity_requests_per_s(self) -> float:
        """Requests/s the service's initial ``replicas`` complete when saturated: the lower
        of the decode batch's and the prefill pipeline's rates."""
        return self.replicas * min(self.decode_requests_per_s_per_replica,
                                   self.prefill_requests_per_s_per_replica)

    @property
    def load(self) -> float:
        """Offered rate as a share of :attr:`capacity_requests_per_s` (inf: no capacity)."""
        cap = self.capacity_requests_per_s
        return self.offered_requests_per_s / cap if cap > 0 else math.inf

    def line(self) -> str:
        """One line for the terminal."""
        scaled = (f" (autoscaled {self.autoscale[0]}–{self.autoscale[1]})"
                  if self.autoscale is not None else "")
        head = (f"{self.tenant}/{self.service} on {self.system}: {self.replicas}{scaled} × "
                f"{self.gpus_per_replica} GPU(s) {self.precision}; weights "
                f"{self.weight_bytes_per_gpu / 1e9:,.1f} GB per GPU")
        if self.sequences_per_replica == 0:
            return head + "; does not fit (no room for one sequence's KV cache)"
        return (f"{head}; KV pool {self.kv_pool_bytes_per_replica / 1e9:,.1f} GB per replica "
                f"→ {self.sequences_per_replica:,} sequences; decode step "
                f"{self.decode_step_s * 1e3:,.1f} ms; {self.output_tokens_per_s_per_replica:,.0f} "
                f"output tokens/s per replica{self._prefill_text()} → "
                f"{self.capacity_requests_per_s:,.1f} req/s; "
                f"offered {self.offered_requests_per_s:,.3g} req/s ({self.load:.1%}); "
                f"{self._validation_text()}")

    def _prefill_text(self) -> str:
        """The prefill pipeline's rate, when it is the bound."""
        if not self.prefill_binds:
            return ""
        return (f", prefill-bound at {self.prefill_requests_per_s_per_replica:,.1f} req/s "
                f"per replica (decode {self.decode_requests_per_s_per_replica:,.1f})")

    def _validation_text(self) -> str:
        """How far the kernel was from published figures like this line's."""
        family = self.family.removeprefix("serving throughput, ")
        if self.validation is None:
            return f"validation ({family}): no held-out row (docs/validation.md)"
        return f"validation ({family}): {self.validation.text()}"


def _candidates(spec: InferenceServiceSpec,
                systems: list[SystemSpec]) -> list[SystemSpec]:
    """The systems ``spec`` may run on: its stated one, else every one in the scenario."""
    return [s for s in systems if spec.gpu_system in (None, s.name)]


def _prompt_sample(spec: InferenceServiceSpec) -> np.ndarray:
    """Prompt lengths (tokens) standing for the service's: a replayed trace's, evenly
    spaced, or :data:`PROMPT_SAMPLE` drawn from its distribution with a fixed seed."""
    if spec.trace is not None and spec.trace.prompt_tokens.size:
        prompts = spec.trace.prompt_tokens
        step = max(prompts.size // PROMPT_SAMPLE, 1)
        return np.asarray(prompts[::step], dtype=np.float64)
    return np.asarray(spec.prompt_tokens.sample(np.random.default_rng(0), PROMPT_SAMPLE),
                      dtype=np.float64)


def prefill_bound(compute: ComputeModel, statics: ServiceStatics, row: int,
                  spec: InferenceServiceSpec, slots: int, max_iterations: int = 200
                  ) -> float:
    """Requests/s one replica's prefill pipeline admits at saturation (``inf`` when
    prefill steps run alone: :attr:`ServiceCapacity.output_tokens_per_s_per_replica`
    carries their cost).

    The terms are the run's serving model's: a prompt holds the pipeline
    ``work + chunks · step`` (:meth:`PrefillRule.times`, the work from
    :meth:`ComputeModel.prefill_parts`, the chunks from :func:`prefill_chunks`), ``step``
    the decode step (s) at the batch ``b`` decoding; the pipeline busy all the time admits
    ``λ = 1 / mean hold``, whose prefill takes a share ``ρ = λ · mean work`` of the GPU
    (at most :data:`~emulator.serving_carry.MAX_PREFILL_SHARE`), so a sequence decodes at
    ``time_per_token(G(b), H(b), ρ)`` and ``b = λ · (mean output - 1) · TPOT`` (at most the
    replica's ``slots``, at least 1). ``b`` is found by iterating from ``slots``: the
    right side grows with ``b``, so the iteration falls to the largest batch that holds.
    """
    prompts = _prompt_sample(spec)
    chunks = prefill_chunks(prompts, spec.chunked_prefill, spec.prefill_with_decode,
                            spec.prefill_step_tokens)
    if chunks is None or slots < 1 or not prompts.size:
        return math.inf
    work, fixed = compute.prefill_parts(statics, row, prompts)
    rule = PrefillRule(work, fixed, chunks, prompts, spec.prefill_step_tokens,
                       joins_next_step=(not spec.chunked_prefill
                                        and spec.prefill_with_decode))
    mean_work = float(np.mean(work))
    output = max(float(spec.output_tokens.mean()) - 1.0, 0.0)  # decode steps per request
    batch, rate = float(slots), math.inf
    for _ in range(max_iterations):
        gpu, host = compute.decode_table(statics, row, np.array([batch]))
        step = max(float(gpu[0]), float(host[0]))
        rate = 1.0 / float(np.mean(rule.times(step).hold_s))
        share = min(rate * mean_work, MAX_PREFILL_SHARE)
        tpot = time_per_token(float(gpu[0]), float(host[0]), share)
        nxt = min(max(rate * output * tpot, 1.0), float(slots))
        if abs(nxt - batch) <= 1e-9 * batch:
            break
        batch = nxt
    return rate


def serving_capacity(sim: Simulation) -> list[ServiceCapacity]:
    """The capacity sheet of every inference service of built simulation ``sim``, one row
    per (service, rack system it may run on), in service order."""
    compute = sim.engine.serving.compute
    xp = compute.backend.xp
    systems = list(sim.index.systems)
    kinds = sim.works.kinds()  # no object is made for a training job
    specs = [sim.works[int(i)].spec for i in np.flatnonzero(kinds == "inference")]
    rows: list[ServiceCapacity] = []
    for spec in specs:
        assert isinstance(spec, InferenceServiceSpec)
        on = _candidates(spec, systems)
        if not on:
            continue
        statics = compute.service_statics([spec] * len(on), on)
        slots = np.asarray(statics.slots, dtype=np.int64)
        fields = dict(statics.batch.__dict__)
        fields["batch"] = compute.backend.asarray(np.maximum(slots, 1).astype(float))
        b = InferenceBatch(**fields)
        host = compute.backend.to_host
        tput = host(replica_throughput(xp, b))
        step = compute.decode_step(statics, np.maximum(slots, 1))
        if not (spec.chunked_prefill or spec.prefill_with_decode):  # prefill steps pause
            # decoding (module docstring)
            output = float(spec.output_tokens.mean())
            steps = max(output - 1.0, 0.0)  # the first token comes with the prefill
            prompt = np.array([max(float(spec.prompt_tokens.mean()), 1.0)])
            for i in range(len(on)):
                work, fixed = compute.prefill_parts(statics, i, prompt)
                per_request = (float(work[0] + fixed[0])
                               + steps * float(step[i]) / max(int(slots[i]), 1))
                tput[i] = output / per_request
        tp = host(f64(xp, b.gpus_per_replica))
        weights = host(replica_weight_bytes(xp, b))  # with data-parallel attention's copies
        pool = np.maximum(host(kv_pool_bytes(xp, b)), 0.0)
        # scenario-described models are registered by now, as the compute model reads them
        moe = bool(get_model(spec.model).is_moe)
        for i, system in enumerate(on):
            fits = int(slots[i]) > 0
            prefill = (prefill_bound(compute, statics, i, spec, int(slots[i])) if fits
                       else math.inf)
            family, figures = serving_throughput_error(moe, system.gpu.name,
                                                       spec.gpus_per_replica)
            rows.append(ServiceCapacity(
                tenant=spec.tenant, service=spec.name, system=system.name,
                replicas=spec.replicas, gpus_per_replica=spec.gpus_per_replica,
                precision=spec.precision, weight_bytes_per_gpu=float(weights[i] / tp[i]),
                kv_pool_bytes_per_replica=float(pool[i]),
                sequences_per_replica=int(slots[i]),
                decode_step_s=float(step[i]) if fits else math.nan,
                output_tokens_per_s_per_replica=float(tput[i]) if fits else 0.0,
                mean_output_tokens=float(spec.output_tokens.mean()),
                offered_requests_per_s=float(spec.rate_per_s),
                autoscale=(None if spec.autoscale is None else
                           (spec.autoscale.min_replicas, spec.autoscale.max_replicas)),
                prefill_requests_per_s_per_replica=prefill,
                family=family, validation=figures))
    return rows
