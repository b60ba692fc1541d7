"""Which work can ever run on a cluster, and on which hardware: checked once before a run.

A job or service is infeasible when no NVLink domain can hold its tensor-parallel group,
no site has enough GPUs in such groups, or its model does not fit any eligible system
(training state per GPU, or one serving replica with room for a KV cache). Feasible work
of a model that fits only some systems of a mixed cluster is kept off the others. Jobs of
one shape share the answer, so each shape is checked once.
"""

from __future__ import annotations

import numpy as np

from cupy_kernels.inference import replica_weight_bytes
from emulator.errors import UserError
from emulator.placement.base import PlacementRequest
from emulator.serving import ServingModel
from emulator.work import Work
from topologies.catalog import SystemSpec
from topologies.index import TopologyIndex
from workloads.models import get_model
from workloads.spec import InferenceServiceSpec, TrainingJobSpec

__all__ = ["TRAINING_STATE_BYTES_PER_PARAM", "check_feasibility", "service_fitting_domains",
           "split_problem"]

TRAINING_STATE_BYTES_PER_PARAM = 16.0
"""Mixed-precision Adam: bf16 weights and gradients + fp32 master weights and two moments
(2 + 2 + 12 bytes per parameter), assumed fully sharded over the job's GPUs (ZeRO-3/FSDP):
the lower bound on memory a job must have to be admissible."""


def check_feasibility(works: list[Work], index: TopologyIndex, serving: ServingModel,
                      infeasible: dict[int, str]) -> None:
    """Add the reason of each work item that can never run to ``infeasible`` (work id →
    reason) and narrow the placement of work whose model fits only some systems.

    Work already in ``infeasible`` (no site in its residency country) is skipped; an
    inference service that can never run is a configuration error (:class:`UserError`).
    """
    checked: dict[tuple[object, ...], str | None] = {}
    narrowed: dict[tuple[object, ...], np.ndarray | None] = {}
    for w in works:  # jobs of one shape share the answer: check each shape once
        if w.work_id in infeasible:
            continue
        key = _shape_key(w)
        if key not in checked:
            checked[key] = _infeasible(w, index, serving)
        if checked[key] is None:
            if key not in narrowed:
                narrowed[key] = _fitting_domains(w, index, serving)
            if narrowed[key] is not None:  # keep it off hardware its model does not fit
                w.request = PlacementRequest(w.n_gpus, w.group_size, narrowed[key])
                w.view = None
        if checked[key] is not None:
            if w.kind == "inference":  # a configured service that can never run: an error
                raise UserError(f"tenants.{w.tenant}.inference.{w.name}: {checked[key]}")
            infeasible[w.work_id] = checked[key]


def service_fitting_domains(works: list[Work], index: TopologyIndex,
                            serving: ServingModel) -> dict[int, np.ndarray]:
    """Work id → the NVLink domains one replica of that inference service fits (room for
    a KV cache), for the services whose model fits only some of their eligible systems
    (and some at all, and splits over its replica's GPUs): routing picks among the sites
    with such racks. The others are left out: every eligible domain fits, or none does and
    :func:`check_feasibility` says why."""
    out: dict[int, np.ndarray] = {}
    for w in works:
        if w.kind != "inference" or _split_problem(w.spec) is not None:
            continue
        fitting = _fitting_domains(w, index, serving)
        if fitting is not None and fitting.any():
            out[w.work_id] = fitting
    return out


def _systems_in(index: TopologyIndex, eligible: np.ndarray | None) -> list[int]:
    systems = index.rack_system[index.domain_rack]
    if eligible is not None:
        systems = systems[eligible]
    return sorted(set(systems.tolist()))


def _shape_key(work: Work) -> tuple[object, ...]:
    """What feasibility depends on: size, group (a job's tensor-parallel size), eligibility,
    model/precision, and whether a job's duration is given."""
    spec = work.spec
    eligible = work.request.eligible
    key: tuple[object, ...] = (work.kind, work.n_gpus, work.group_size, spec.model,
                               spec.precision, None if eligible is None else eligible.tobytes())
    if isinstance(spec, InferenceServiceSpec):  # KV-cache fit depends on lengths and batch
        key += (spec.prompt_tokens.mean(), spec.output_tokens.mean(), spec.max_batch)
    else:  # a job run for its given duration has no memory model and no head split
        key += (spec.runtime_s is not None, spec.pp, spec.ep, spec.virtual_stages)
    return key


def _fits(spec: TrainingJobSpec | InferenceServiceSpec, system: SystemSpec,
          serving: ServingModel) -> bool:
    """Whether one replica (service) or one share of training state (job) fits ``system``."""
    if isinstance(spec, InferenceServiceSpec):
        return serving.slots_for(spec, system) >= 1
    if spec.runtime_s is not None:  # duration as given: no memory model (trace replay)
        return True
    need = get_model(spec.model).params * TRAINING_STATE_BYTES_PER_PARAM / spec.n_gpus
    return need <= system.gpu.hbm_bytes


def _replica_weight_bytes(spec: InferenceServiceSpec, system: SystemSpec,
                          serving: ServingModel) -> float:
    """Bytes of weights one replica of ``spec`` stores on ``system`` (what the serving
    kernels count against its memory)."""
    backend = serving.compute.backend
    batch = serving.compute.service_statics([spec], [system]).batch
    return float(backend.to_host(replica_weight_bytes(backend.xp, batch))[0])


def _fitting_domains(work: Work, index: TopologyIndex,
                     serving: ServingModel) -> np.ndarray | None:
    """Eligible domains narrowed to the systems the model fits (mixed halls); ``None``: no
    narrowing needed."""
    systems = _systems_in(index, work.request.eligible)
    ok = [i for i in systems if _fits(work.spec, index.systems[i], serving)]
    if len(ok) == len(systems):
        return None
    domain_ok = np.isin(index.rack_system[index.domain_rack], ok)
    if work.request.eligible is not None:
        domain_ok &= work.request.eligible
    domain_ok.setflags(write=False)
    return domain_ok


def split_problem(spec: TrainingJobSpec | InferenceServiceSpec) -> str | None:
    """Why the work's parallel sizes cannot split its model, or ``None`` (the reason
    :func:`check_feasibility` gives for such work, word for word)."""
    return _split_problem(spec)


def _split_problem(spec: TrainingJobSpec | InferenceServiceSpec) -> str | None:
    """Why the work's parallel sizes cannot split its model, or ``None``.

    A dense replica splits its attention heads over its GPUs (MoE models are served with
    attention data parallelism: each GPU runs whole attention, so they are not held to
    it); a training job splits them over its ``tp`` GPUs, key/value heads included
    (Megatron-Core), its layers over its ``pp`` stages and its experts over its ``ep``
    ranks (:meth:`~workloads.models.ModelSpec.training_split_problem`), unless its
    duration is given (trace replay: no model)."""
    if isinstance(spec, InferenceServiceSpec):
        model = get_model(spec.model)
        return None if model.is_moe else model.tensor_parallel_problem(spec.gpus_per_replica)
    if spec.runtime_s is not None:
        return None
    model = get_model(spec.model)
    return (model.tensor_parallel_problem(spec.tp, "tp", kv_copies=False)
            or model.training_split_problem(spec.pp, spec.ep, spec.virtual_stages))


def _infeasible(work: Work, index: TopologyIndex, serving: ServingModel) -> str | None:
    """Why ``work`` can never run on this cluster, or ``None`` if it could."""
    eligible = work.request.eligible
    dom = np.ones(index.n_domains, bool) if eligible is None else eligible
    g = work.group_size
    if not dom.any():
        return "no GPU of the required system in this scenario"
    if g > int(index.domain_size[dom].max()):
        return (f"a tensor-parallel group of {g} GPUs cannot fit in an NVLink domain "
                f"(largest has {int(index.domain_size[dom].max())})")
    usable = np.where(dom, (index.domain_size // g) * g, 0)
    domain_site = index.gpu_site[np.searchsorted(index.gpu_domain, np.arange(index.n_domains))]
    per_site = np.bincount(domain_site, weights=usable, minlength=len(index.site_names))
    if work.n_gpus > per_site.max():
        return (f"needs {work.n_gpus} GPUs in groups of {g}; the largest site offers "
                f"{int(per_site.max())}")
    systems = [index.systems[i] for i in _systems_in(index, eligible)]
    spec = work.spec
    problem = _split_problem(spec)
    if problem is not None:
        return problem
    if not any(_fits(spec, system, serving) for system in systems):
        if isinstance(spec, InferenceServiceSpec):
            big = max(systems, key=lambda system: system.gpu.hbm_bytes)
            weights = _replica_weight_bytes(spec, big, serving)
            held = spec.gpus_per_replica * big.gpu.hbm_bytes
            why = ("" if weights > held else
                   ", leaving too little for the KV cache of one request")
            return (f"model {spec.model} ({spec.precision}) does not fit in "
                    f"{spec.gpus_per_replica} GPU(s) per replica with room for a KV cache: "
                    f"its weights take {weights / 1e9:.1f} GB of the {held / 1e9:.1f} GB of "
                    f"{spec.gpus_per_replica} {big.gpu.name}{why}")
        need = get_model(spec.model).params * TRAINING_STATE_BYTES_PER_PARAM / spec.n_gpus
        big = max(systems, key=lambda system: system.gpu.hbm_bytes).gpu
        return (f"model {spec.model} needs {need / 1e9:.0f} GB of training state per GPU "
                f"on {spec.n_gpus} GPUs; a GPU here has at most {big.hbm_bytes / 1e9:.1f} GB "
                f"({big.name}); more GPUs are needed")
    return None
