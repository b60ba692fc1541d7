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
    "serving throughput, MoE, Ampere, TP2": FamilyError(18, 10, -0.0853, -0.2452, 0.0103),
    "serving throughput, MoE, Ampere, TP4": FamilyError(18, 16, -0.0630, -0.1433, 0.1016),
    "serving throughput, MoE, Ampere, TP8": FamilyError(18, 15, 0.0445, -0.0534, 0.1860),
    "serving throughput, MoE, Blackwell, TP1": FamilyError(52, 34, 0.0966, -0.0488, 0.2586),
    "serving throughput, MoE, Blackwell, TP4": FamilyError(51, 13, 0.1606, -0.2551, 0.4932),
    "serving throughput, MoE, Blackwell, TP8": FamilyError(14, 4, -0.0814, -0.2905, 0.5010),
    "serving throughput, MoE, Hopper, TP1": FamilyError(18, 7, -0.1700, -0.2876, -0.0378),
    "serving throughput, MoE, Hopper, TP2": FamilyError(45, 34, -0.0684, -0.1878, 0.1315),
    "serving throughput, MoE, Hopper, TP4": FamilyError(72, 57, 0.0344, -0.0794, 0.2112),
    "serving throughput, MoE, Hopper, TP8": FamilyError(99, 32, 0.1741, -0.1659, 0.5224),
    "serving throughput, dense, Ampere, TP1": FamilyError(18, 9, -0.1516, -0.1943, -0.0766),
    "serving throughput, dense, Ampere, TP2": FamilyError(15, 13, 0.0821, -0.0293, 0.1708),
    "serving throughput, dense, Ampere, TP4": FamilyError(18, 10, 0.1213, -0.0282, 0.3220),
    "serving throughput, dense, Ampere, TP8": FamilyError(18, 9, 0.1443, -0.0132, 0.4296),
    "serving throughput, dense, Blackwell, TP1": FamilyError(45, 35, 0.0692, -0.0542, 0.1858),
    "serving throughput, dense, Blackwell, TP2": FamilyError(11, 4, 0.1928, 0.1001, 0.3640),
    "serving throughput, dense, Blackwell, TP4": FamilyError(36, 19, 0.1301, 0.0323, 0.2976),
    "serving throughput, dense, Blackwell, TP8": FamilyError(20, 14, 0.0786, -0.0080, 0.3490),
    "serving throughput, dense, Hopper, TP1": FamilyError(136, 83, -0.0635, -0.2100, 0.2118),
    "serving throughput, dense, Hopper, TP2": FamilyError(83, 70, 0.0365, -0.0383, 0.1887),
    "serving throughput, dense, Hopper, TP4": FamilyError(66, 49, 0.0664, -0.0358, 0.2429),
    "serving throughput, dense, Hopper, TP8": FamilyError(108, 89, 0.0298, -0.0519, 0.2158),
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
