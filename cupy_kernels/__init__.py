"""Vectorised step-time, latency and power kernels, written once against ``xp``.

``select_backend`` picks numpy or cupy once; every kernel takes that module as its first
argument and works on whole batches (all running jobs, all services, all GPUs or racks).
Formulas and units: ``docs/kernels.md``; calibration against published figures:
``docs/validation.md``.
"""

from cupy_kernels.backend import Backend, BackendUnavailable, select_backend
from cupy_kernels.collectives import (
    allreduce_time,
    p2p_time,
    ring_allreduce_time,
    tree_allreduce_time,
)
from cupy_kernels.inference import (
    DEFAULT_DECODE_BW_EFF,
    DEFAULT_PREFILL_EFF,
    InferenceBatch,
    decode_step_time,
    kv_bytes_per_token,
    max_batch,
    prefill_time,
    replica_throughput,
)
from cupy_kernels.power import (
    CAP_EXPONENT,
    cap_throughput_factor,
    facility_power,
    gpu_power,
    rack_power,
)
from cupy_kernels.training import (
    PRECISION_CODES,
    TrainingBatch,
    TrainingTimes,
    default_efficiency,
    training_step_time,
)

__all__ = [
    "CAP_EXPONENT",
    "DEFAULT_DECODE_BW_EFF",
    "DEFAULT_PREFILL_EFF",
    "PRECISION_CODES",
    "Backend",
    "BackendUnavailable",
    "InferenceBatch",
    "TrainingBatch",
    "TrainingTimes",
    "allreduce_time",
    "cap_throughput_factor",
    "decode_step_time",
    "default_efficiency",
    "facility_power",
    "gpu_power",
    "kv_bytes_per_token",
    "max_batch",
    "p2p_time",
    "prefill_time",
    "rack_power",
    "replica_throughput",
    "ring_allreduce_time",
    "select_backend",
    "training_step_time",
    "tree_allreduce_time",
]
