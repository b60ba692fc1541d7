"""Readers for public GPU-cluster and LLM-serving traces, and their mapping onto workloads.

Small real samples ship in ``data/`` (each folder has a README with source, licence and
row counts); :func:`sample_path` finds them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "SAMPLES", "check_sample", "sample_path"]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Folder of the shipped trace samples."""

SAMPLES: dict[str, str] = {
    "philly": "philly_pollux/philly_jobs_2017-09-25_to_10-01.csv",
    "alibaba": "alibaba_gpu_v2023/openb_pod_list_default_creation_lt_10886400.csv",
    "alibaba_nodes": "alibaba_gpu_v2023/openb_node_list_gpu_node.csv",
    "azure_llm_code": "azure_llm_2023/AzureLLMInferenceTrace_code_before_1830.csv",
    "azure_llm_conv": "azure_llm_2023/AzureLLMInferenceTrace_conv_before_1830.csv",
    "mooncake": "mooncake_conversation/conversation_trace_first_600s.jsonl",
    "tiresias_60": "tiresias_60/60_job.csv",
    "gavel_throughputs": "gavel/simulation_throughputs_isolated.json",
    "gavel_100": "gavel/generated_100_jobs_seed0.trace",
}
"""Shipped sample files by short name, relative to :data:`DATA_DIR`."""


def sample_path(name: str) -> Path:
    """Path of the shipped sample ``name`` (a key of :data:`SAMPLES`)."""
    try:
        return DATA_DIR / SAMPLES[name]
    except KeyError:
        raise KeyError(f"unknown trace sample {name!r}; known: {', '.join(sorted(SAMPLES))}"
                       ) from None


def check_sample(path: str) -> str:
    """``path`` (a trace file path or ``"sample:NAME"``) unchanged; ``ValueError`` (one line
    with the value and the known names) when ``NAME`` is no shipped sample."""
    if path.startswith("sample:") and path[len("sample:"):] not in SAMPLES:
        raise ValueError(f"got {path!r}; expected a known trace sample after 'sample:' "
                         f"({', '.join(sorted(SAMPLES))}) or a file path")
    return path
