"""How far the serving kernel was from published figures for configurations like a service's.

A planner reading a capacity sheet needs to know how much to trust it. The validation
table (``docs/validation.md``) compares the kernels with published measurements; its
held-out rows, grouped by family (dense or MoE, the GPU generation, the tensor-parallel
size), give the bias to expect for a configuration like a service's (the signed median
error: positive means the model predicted more output tokens/s than was published) and
the spread around it (10th and 90th percentiles). ``gpuemu validate`` prints the family's
figures beside each capacity line.

The figures below are copied from ``PYTHONPATH=. python tests/test_kernels_validation.py
--families``; ``tests/test_kernels_validation.py`` fails when they no longer match the
table (after a model term or a new round), and prints the entries to paste.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GENERATION", "SERVING_THROUGHPUT", "FamilyError", "serving_family",
           "serving_throughput_error"]

GENERATION: dict[str, str] = {
    "A100 SXM 80GB": "Ampere",
    "H100 SXM": "Hopper",
    "H800 SXM": "Hopper",
    "H200 SXM": "Hopper",
    "B200 (HGX)": "Blackwell",
    "B200 (GB200)": "Blackwell",
    "B300 (GB300)": "Blackwell",
}
"""The GPU generation of each catalog GPU (``GPUSpec.name``); GPUs not listed (a generic
or user-described GPU) have no validation family."""


def serving_family(is_moe: bool, generation: str, tp: int) -> str:
    """The family name of serving throughput on ``tp`` GPUs of ``generation``."""
    return f"serving throughput, {'MoE' if is_moe else 'dense'}, {generation}, TP{tp}"


@dataclass(frozen=True)
class FamilyError:
    """The held-out rows of one family: how many, how many within ±15 %, and the signed
    error's median, 10th and 90th percentiles (fractions: 0.1 is +10 %)."""

    rows: int
    within: int
    median: float
    p10: float
    p90: float

    def text(self) -> str:
        """One clause for the terminal: the signed error (model / published - 1)."""
        rows = "row" if self.rows == 1 else "rows"
        return (f"model vs published median {self.median:+.0%} (10th–90th percentile "
                f"{self.p10:+.0%} to {self.p90:+.0%}) over {self.rows} held-out {rows}")


SERVING_THROUGHPUT: dict[str, FamilyError] = {
      "serving throughput, MoE, Ampere, TP2": FamilyError(18, 10, -0.0671, -0.2366, 0.0328),
      "serving throughput, MoE, Ampere, TP4": FamilyError(18, 15, -0.0602, -0.1346, 0.1158),
      "serving throughput, MoE, Ampere, TP8": FamilyError(18, 16, -0.0024, -0.0660, 0.1480),
      "serving throughput, MoE, Blackwell, TP1": FamilyError(52, 36, 0.0835, -0.0480, 0.2256),
      "serving throughput, MoE, Blackwell, TP4": FamilyError(51, 27, 0.0224, -0.2987, 0.2235),
      "serving throughput, MoE, Blackwell, TP8": FamilyError(14, 2, -0.2699, -0.4056, 0.1847),
      "serving throughput, MoE, Hopper, TP1": FamilyError(18, 7, -0.1909, -0.2881, -0.0603),
      "serving throughput, MoE, Hopper, TP2": FamilyError(45, 35, -0.0630, -0.1786, 0.1303),
      "serving throughput, MoE, Hopper, TP4": FamilyError(72, 57, -0.0024, -0.1234, 0.1611),
      "serving throughput, MoE, Hopper, TP8": FamilyError(99, 52, 0.0778, -0.2543, 0.3735),
      "serving throughput, dense, Ampere, TP1": FamilyError(18, 13, -0.1277, -0.1795, -0.0507),
      "serving throughput, dense, Ampere, TP2": FamilyError(15, 12, 0.1119, -0.0060, 0.2016),
      "serving throughput, dense, Ampere, TP4": FamilyError(18, 9, 0.1265, -0.0193, 0.3297),
      "serving throughput, dense, Ampere, TP8": FamilyError(18, 12, 0.0987, -0.0452, 0.3976),
      "serving throughput, dense, Blackwell, TP1": FamilyError(45, 36, 0.0674, -0.0423, 0.1618),
      "serving throughput, dense, Blackwell, TP2": FamilyError(11, 3, 0.1810, 0.0879, 0.3693),
      "serving throughput, dense, Blackwell, TP4": FamilyError(36, 21, 0.1045, -0.0048, 0.2450),
      "serving throughput, dense, Blackwell, TP8": FamilyError(20, 14, 0.0461, -0.0351, 0.2968),
      "serving throughput, dense, Hopper, TP1": FamilyError(136, 86, -0.0605, -0.1990, 0.2280),
      "serving throughput, dense, Hopper, TP2": FamilyError(83, 68, 0.0450, -0.0448, 0.2071),
      "serving throughput, dense, Hopper, TP4": FamilyError(66, 49, 0.0700, -0.0296, 0.2515),
      "serving throughput, dense, Hopper, TP8": FamilyError(108, 87, 0.0271, -0.0561, 0.2159),
}  # fmt: skip
"""The held-out serving-throughput rows by family (see the module docstring)."""


def serving_throughput_error(is_moe: bool, gpu_name: str,
                             tp: int) -> tuple[str, FamilyError | None]:
    """(the family, its validation figures) of serving throughput like a service's; the
    figures are ``None`` when no held-out row is of that family (the family is named
    after the GPU itself when it is outside the catalog's generations)."""
    generation = GENERATION.get(gpu_name)
    family = serving_family(is_moe, generation or gpu_name, tp)
    return family, (None if generation is None else SERVING_THROUGHPUT.get(family))
