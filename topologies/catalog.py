"""Hardware catalog: GPU and rack-system figures, each with its source.

All figures are SI: FLOP/s, bytes, bytes/s, watts. ``dense`` peaks (no sparsity) are used
everywhere; NVIDIA's headline tables double them with 2:4 sparsity.

Sources (see also ``docs/sources.md``):

* [GB200-UG] NVIDIA DGX GB200 user guide, hardware overview: 72 Blackwell GPUs + 36 Grace
  CPUs per rack, 18 x 1U compute trays (2 Grace + 4 Blackwell), 9 NVLink switch trays
  (https://docs.nvidia.com/dgx/dgxgb200-user-guide/hardware.html).
* [GB200-DS] NVIDIA GB200 NVL72 datasheet: per GPU FP4 10 / FP8 5 / BF16 2.5 / TF32 1.25
  PFLOP/s dense, 186 GB HBM3E at 8 TB/s, NVLink 5 at 1.8 TB/s per GPU (both directions),
  130 TB/s per rack; scale-out 4 x ConnectX-7 400 Gb/s per compute tray.
* [GB200-PWR] Rack power about 120 kW at full load (NVIDIA/Schneider Electric GB200 NVL72
  reference designs); compute tray up to 5.4 kW; GPU at 1,200 W.
* [H100-DS] NVIDIA H100 SXM datasheet: 989 TFLOP/s BF16 dense, 1,979 FP8, 80 GB HBM3 at
  3.35 TB/s, NVLink 900 GB/s, 700 W.
* [DGXH100] NVIDIA DGX H100 datasheet: 8 x H100 SXM, about 10.2 kW maximum system power,
  8 x ConnectX-7 400 Gb/s compute NICs.
* [A100-DS] NVIDIA A100 Tensor Core GPU datasheet (2021): A100 80GB SXM, 312 TFLOP/s BF16
  dense, 80 GB HBM2e at 2,039 GB/s, NVLink 600 GB/s, 400 W.
* [DGXA100] NVIDIA DGX A100 datasheet (2020): 8 x A100 SXM, 6.5 kW maximum system power
  (six 3 kW supplies, half redundant), 8 x 200 Gb/s compute NICs; air-cooled, 6U.
* [HOST] Host CPUs that run the serving runtime (``SystemSpec.host_cpu``): DGX H100/H200
  2 x Intel Xeon Platinum 8480C, DGX B200 2 x Xeon Platinum 8570 (x86) [DGXH100],
  [DGXB200]; GB200/GB300 NVL72 compute trays 2 NVIDIA Grace CPUs (Arm) [GB200-UG].
* [SMI] Memory as the driver reports it (``nvidia-smi``, total MiB; 1 MiB = 2^20 bytes),
  which is what a serving runtime sizes its KV cache from: the marketed "80 GB" of H100,
  H800 and A100 80GB is 80 GiB. H100 80GB HBM3 and H800 81,559 MiB; A100-SXM4-80GB
  81,920 MiB; H200 143,771 MiB; B200 183,359 MiB; GB200 189,471 MiB (public ``nvidia-smi``
  outputs, e.g. in GitHub issues of serving and training projects); GB300 278 GiB
  (driver inventory tables; no ``nvidia-smi`` output was found).
* [EST] Estimates (idle power, non-GPU overhead at idle): defaults meant to be overridden by
  ``gpuemu calibrate`` profiles or scenario overrides.
* [H200-DS] NVIDIA H200 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/h200/):
  H200 SXM 141 GB HBM3e at 4.8 TB/s, FP8 3,958 / BF16 1,979 TFLOP/s with sparsity (dense
  half), NVLink 900 GB/s, up to 700 W. DGX H200: 8 GPUs, about 10.2 kW maximum.
* [DGXB200] NVIDIA DGX B200 datasheet (https://www.nvidia.com/en-us/data-center/dgx-b200/):
  8 x B200, 1,440 GB GPU memory (180 GB each) at 64 TB/s (8 TB/s each), 72 PFLOP/s FP8 and
  144 PFLOP/s FP4 training/inference with sparsity (dense per GPU: FP8 4.5, FP4 9, BF16 2.25
  PFLOP/s), NVLink 5 at 1.8 TB/s per GPU, about 14.3 kW maximum, 8 x 400 Gb/s compute NICs;
  1,000 W per GPU (HGX B200).
* [H800] H800 SXM: the export variant of H100 SXM with the same tensor-core peaks, 80 GB
  HBM3 at 3.35 TB/s and NVLink cut to 400 GB/s per GPU (both directions); DeepSeek-V3
  Technical Report (arXiv:2412.19437) sec. 3.1: "NVLink bandwidth 160 GB/s" achieved,
  8 x 400 Gb/s InfiniBand per node.
* [NCCL] All-reduce bus bandwidth inside one NVLink domain at large messages, as
  nccl-tests ``all_reduce_perf`` reports it (``busbw``, bytes/s per GPU: the rate a ring
  all-reduce would move data at per GPU and direction): 8 x H100 SXM 460-480 GB/s, 8 x A100
  SXM4 230-250 GB/s (Alaya NeW, "NCCL-tests in practice", reference numbers,
  https://docs.alayanew.com/en/docs/tech-blog/2026-05-06-nccl-tests); GB200 NVL72, 8 GPUs
  on two trays over multi-node NVLink, 811 GB/s (lixueduan.com, "GB200 MNNVL nccl-test",
  https://www.lixueduan.com/posts/ai/13-gb200-mnnvl-nccl-test). H200 takes H100's (same
  NVLink 4 and NVSwitch); B200 (HGX) and GB300 take GB200's (same NVLink 5); H800 takes
  H100's scaled by its NVLink rate (400 of 900 GB/s) [EST].
* [GB300-DS] NVIDIA GB300 NVL72 product page (https://www.nvidia.com/en-us/data-center/gb300-nvl72/):
  72 Blackwell Ultra GPUs, FP4 1,440 / FP8 720 PFLOP/s per rack with sparsity (dense per
  GPU: FP4 15, FP8 5, BF16 2.5 PFLOP/s), up to 20 TB HBM3e per rack (288 GB per GPU) at
  8 TB/s per GPU, NVLink 5 at 1.8 TB/s per GPU, ConnectX-8 800 Gb/s per GPU. GPU TDP
  1,400 W and about 135 kW per rack at full load (OEM rack specifications; estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 2**20
"""Bytes per MiB (the driver reports memory in MiB)."""
GIB = 2**30
"""Bytes per GiB."""

__all__ = ["CATALOG", "GENERIC", "GpuSpec", "SystemSpec", "get_system"]


@dataclass(frozen=True)
class GpuSpec:
    """One GPU type.

    ``peak_flops`` maps a precision (``"bf16"``, ``"fp8"``, ``"fp4"``, ``"tf32"``) to the dense
    peak in FLOP/s; a precision the GPU lacks is absent (kernels then use the next wider one).
    ``nvlink_bw`` is bytes/s per GPU per direction; ``nic_bw`` is the scale-out NIC rate per
    GPU in bytes/s. ``allreduce_busbw`` is the bus bandwidth NCCL all-reduces reach inside
    one NVLink domain at large messages (bytes/s, nccl-tests ``busbw`` [NCCL]): measured
    per generation, it is not a fixed fraction of the link rate (NVLink SHARP reductions
    in the switch take H100 above its link rate, GB200 reaches 0.9 of its); 0 where none
    is known, read as the link rate (:meth:`allreduce_bw`).
    """

    name: str
    peak_flops: dict[str, float]
    hbm_bytes: float
    hbm_bw: float
    nvlink_bw: float
    nic_bw: float
    tdp_w: float
    idle_w: float
    sources: tuple[str, ...] = ()
    allreduce_busbw: float = 0.0

    def allreduce_bw(self) -> float:
        """Bus bandwidth of a large all-reduce inside the NVLink domain, bytes/s per GPU:
        ``allreduce_busbw``, or the link rate ``nvlink_bw`` where it is not known."""
        return self.allreduce_busbw if self.allreduce_busbw > 0.0 else self.nvlink_bw

    def compute_precision(self, precision: str) -> str:
        """The precision the tensor cores run at for ``precision``: itself, or the next
        wider one this GPU has (fp8 on an A100 runs in bf16)."""
        order = ["fp4", "fp8", "bf16", "tf32"]
        start = order.index(precision) if precision in order else order.index("bf16")
        for p in order[start:]:
            if p in self.peak_flops:
                return p
        raise KeyError(f"GPU {self.name} has no peak for precision {precision!r}")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``, falling back to the next wider precision
        (:meth:`compute_precision`)."""
        return self.peak_flops[self.compute_precision(precision)]


@dataclass(frozen=True)
class SystemSpec:
    """A rack-level system: how GPUs are packaged into trays, NVLink domains and racks.

    ``rack_overhead_full_w``/``rack_overhead_idle_w`` are the rack's nameplate non-GPU power
    (CPUs, NVLink switch trays, NICs, fans/pumps, power conversion) at full load and at
    idle, in W: provisioning figures from the vendors' maximum system power. The engine
    draws ``NODE_OVERHEAD_DRAW`` of them (``cupy_kernels/power.py``).
    ``cooling`` is ``"liquid"`` (direct-to-chip) or ``"air"``. ``host_cpu`` is the
    family of the host CPUs that run the serving runtime (``"x86"``: the Xeon hosts of
    DGX/HGX nodes; ``"grace"``: NVIDIA Grace in GB200/GB300 trays), which sets how fast its
    per-request host work runs (``cupy_kernels.inference.HOST_FACTOR``).
    """

    name: str
    gpu: GpuSpec
    gpus_per_tray: int
    cpus_per_tray: int
    trays_per_rack: int
    nvlink_domain_gpus: int
    switch_trays_per_rack: int
    rack_overhead_full_w: float
    rack_overhead_idle_w: float
    cooling: str
    sources: tuple[str, ...] = field(default=())
    host_cpu: str = "x86"

    @property
    def gpus_per_rack(self) -> int:
        """GPUs in one rack."""
        return self.gpus_per_tray * self.trays_per_rack

    @property
    def rack_full_w(self) -> float:
        """Nameplate rack power with every GPU at TDP, in W (what halls are sized by)."""
        return self.gpus_per_rack * self.gpu.tdp_w + self.rack_overhead_full_w

    @property
    def rack_idle_w(self) -> float:
        """Nameplate rack power with every GPU idle, in W."""
        return self.gpus_per_rack * self.gpu.idle_w + self.rack_overhead_idle_w


B200_GB200 = GpuSpec(
    name="B200 (GB200)",
    peak_flops={"fp4": 10e15, "fp8": 5e15, "bf16": 2.5e15, "tf32": 1.25e15},
    hbm_bytes=189_471 * MIB,  # 186 GB marketed [GB200-DS]; driver total [SMI]
    hbm_bw=8e12,
    nvlink_bw=0.9e12,  # 1.8 TB/s per GPU counts both directions [GB200-DS]
    nic_bw=400e9 / 8,  # one ConnectX-7 400 Gb/s per GPU [GB200-DS]
    tdp_w=1200.0,  # [GB200-PWR]
    idle_w=200.0,  # [EST]
    allreduce_busbw=811e9,  # 8 GPUs over multi-node NVLink [NCCL]
    sources=("SMI", "NCCL", "GB200-DS", "GB200-PWR", "EST: idle power"),
)

H100_SXM = GpuSpec(
    name="H100 SXM",
    peak_flops={"fp8": 1979e12, "bf16": 989e12, "tf32": 494e12},
    hbm_bytes=81_559 * MIB,  # 80 GB marketed [H100-DS]; driver total [SMI]
    hbm_bw=3.35e12,
    nvlink_bw=450e9,  # 900 GB/s counts both directions [H100-DS]
    nic_bw=400e9 / 8,  # [DGXH100]
    tdp_w=700.0,
    idle_w=90.0,  # [EST]
    allreduce_busbw=470e9,  # 460-480 GB/s on 8 GPUs [NCCL]
    sources=("SMI", "NCCL", "H100-DS", "DGXH100", "EST: idle power"),
)

A100_SXM = GpuSpec(
    name="A100 SXM 80GB",
    peak_flops={"bf16": 312e12, "tf32": 156e12},  # no fp8: kernels fall back to bf16
    hbm_bytes=81_920 * MIB,  # 80 GB marketed [A100-DS]; driver total [SMI]
    hbm_bw=2.039e12,
    nvlink_bw=300e9,  # 600 GB/s counts both directions [A100-DS]
    nic_bw=200e9 / 8,  # [DGXA100]
    tdp_w=400.0,
    idle_w=60.0,  # [EST]
    allreduce_busbw=240e9,  # 230-250 GB/s on 8 GPUs [NCCL]
    sources=("SMI", "NCCL", "A100-DS", "DGXA100", "EST: idle power"),
)

GB200_NVL72 = SystemSpec(
    name="gb200-nvl72",
    gpu=B200_GB200,
    gpus_per_tray=4,
    cpus_per_tray=2,
    trays_per_rack=18,
    nvlink_domain_gpus=72,
    switch_trays_per_rack=9,
    # 120 kW at full load [GB200-PWR] minus 72 GPUs x 1,200 W = 33.6 kW of non-GPU load.
    rack_overhead_full_w=120e3 - 72 * 1200.0,
    rack_overhead_idle_w=0.5 * (120e3 - 72 * 1200.0),  # [EST]
    cooling="liquid",
    sources=("GB200-UG", "GB200-DS", "GB200-PWR"),
    host_cpu="grace",  # 2 Grace CPUs per compute tray [GB200-UG]
)

H100_HGX = SystemSpec(
    name="h100-hgx",
    gpu=H100_SXM,
    gpus_per_tray=8,  # one HGX baseboard per 8U node: the "tray" is the node
    cpus_per_tray=2,
    trays_per_rack=4,  # four DGX H100 nodes per rack: about 41 kW, the 40-50 kW hall type
    nvlink_domain_gpus=8,
    switch_trays_per_rack=0,
    # 10.2 kW per node at full load [DGXH100] minus 8 x 700 W = 4.6 kW per node.
    rack_overhead_full_w=4 * (10.2e3 - 8 * 700.0),
    rack_overhead_idle_w=4 * 0.5 * (10.2e3 - 8 * 700.0),  # [EST]
    cooling="air",
    sources=("H100-DS", "DGXH100"),
)

DGX_A100 = SystemSpec(
    name="dgx-a100",
    gpu=A100_SXM,
    gpus_per_tray=8,  # the 6U DGX A100 is the "tray"
    cpus_per_tray=2,
    trays_per_rack=1,  # one system per rack: ~6.5 kW, the legacy air-cooled density
    nvlink_domain_gpus=8,
    switch_trays_per_rack=0,
    # 6.5 kW at full load [DGXA100] minus 8 x 400 W = 3.3 kW of non-GPU load.
    rack_overhead_full_w=6.5e3 - 8 * 400.0,
    rack_overhead_idle_w=0.5 * (6.5e3 - 8 * 400.0),  # [EST]
    cooling="air",
    sources=("A100-DS", "DGXA100"),
)

# --- Planning entries: H200, B200 (HGX), H800, GB300 NVL72 --------------------------------
H200_SXM = GpuSpec(
    name="H200 SXM",
    peak_flops={"fp8": 1979e12, "bf16": 989e12, "tf32": 494e12},  # same die as H100 [H200-DS]
    hbm_bytes=143_771 * MIB,  # 141 GB marketed [H200-DS]; driver total [SMI]
    hbm_bw=4.8e12,
    nvlink_bw=450e9,
    nic_bw=400e9 / 8,
    tdp_w=700.0,
    idle_w=90.0,  # [EST]
    allreduce_busbw=470e9,  # as H100: same NVLink 4 and NVSwitch [NCCL]
    sources=("SMI", "NCCL", "H200-DS", "EST: idle power"),
)

B200_HGX = GpuSpec(
    name="B200 (HGX)",
    peak_flops={"fp4": 9e15, "fp8": 4.5e15, "bf16": 2.25e15, "tf32": 1.1e15},
    hbm_bytes=183_359 * MIB,  # 180 GB marketed [DGXB200]; driver total [SMI]
    hbm_bw=8e12,
    nvlink_bw=0.9e12,
    nic_bw=400e9 / 8,
    tdp_w=1000.0,
    idle_w=150.0,  # [EST]
    allreduce_busbw=811e9,  # as GB200: same NVLink 5 [NCCL]
    sources=("SMI", "NCCL", "DGXB200", "EST: idle power"),
)

H800_SXM = GpuSpec(
    name="H800 SXM",
    peak_flops={"fp8": 1979e12, "bf16": 989e12, "tf32": 494e12},
    hbm_bytes=81_559 * MIB,  # as H100 [SMI]
    hbm_bw=3.35e12,
    nvlink_bw=200e9,  # 400 GB/s counts both directions [H800]
    nic_bw=400e9 / 8,
    tdp_w=700.0,
    idle_w=90.0,  # [EST]
    allreduce_busbw=470e9 * 400 / 900,  # H100's, scaled by the NVLink rate [NCCL] [EST]
    sources=("SMI", "NCCL", "H800", "H100-DS", "EST: idle power"),
)

B300_GB300 = GpuSpec(
    name="B300 (GB300)",
    peak_flops={"fp4": 15e15, "fp8": 5e15, "bf16": 2.5e15, "tf32": 1.25e15},
    hbm_bytes=278 * GIB,  # 288 GB marketed [GB300-DS]; driver total [SMI]
    hbm_bw=8e12,
    nvlink_bw=0.9e12,
    nic_bw=800e9 / 8,
    tdp_w=1400.0,  # [GB300-DS] estimate
    idle_w=200.0,  # [EST]
    allreduce_busbw=811e9,  # as GB200: same NVLink 5 [NCCL]
    sources=("SMI", "NCCL", "GB300-DS", "EST: idle power and TDP"),
)

H200_HGX = SystemSpec(
    name="h200-hgx",
    gpu=H200_SXM,
    gpus_per_tray=8,
    cpus_per_tray=2,
    trays_per_rack=4,
    nvlink_domain_gpus=8,
    switch_trays_per_rack=0,
    rack_overhead_full_w=4 * (10.2e3 - 8 * 700.0),  # DGX H200 10.2 kW [H200-DS]
    rack_overhead_idle_w=4 * 0.5 * (10.2e3 - 8 * 700.0),  # [EST]
    cooling="air",
    sources=("H200-DS",),
)

B200_HGX_SYSTEM = SystemSpec(
    name="b200-hgx",
    gpu=B200_HGX,
    gpus_per_tray=8,
    cpus_per_tray=2,
    trays_per_rack=4,  # four 10U DGX B200 per rack: about 57 kW
    nvlink_domain_gpus=8,
    switch_trays_per_rack=0,
    rack_overhead_full_w=4 * (14.3e3 - 8 * 1000.0),  # DGX B200 14.3 kW [DGXB200]
    rack_overhead_idle_w=4 * 0.5 * (14.3e3 - 8 * 1000.0),  # [EST]
    cooling="air",
    sources=("DGXB200",),
)

H800_HGX = SystemSpec(
    name="h800-hgx",
    gpu=H800_SXM,
    gpus_per_tray=8,
    cpus_per_tray=2,
    trays_per_rack=4,
    nvlink_domain_gpus=8,
    switch_trays_per_rack=0,
    rack_overhead_full_w=4 * (10.2e3 - 8 * 700.0),  # as DGX H100 [DGXH100]
    rack_overhead_idle_w=4 * 0.5 * (10.2e3 - 8 * 700.0),  # [EST]
    cooling="air",
    sources=("H800", "DGXH100"),
)

GB300_NVL72 = SystemSpec(
    name="gb300-nvl72",
    gpu=B300_GB300,
    gpus_per_tray=4,
    cpus_per_tray=2,
    trays_per_rack=18,
    nvlink_domain_gpus=72,
    switch_trays_per_rack=9,
    rack_overhead_full_w=135e3 - 72 * 1400.0,  # [GB300-DS] estimate
    rack_overhead_idle_w=0.5 * (135e3 - 72 * 1400.0),  # [EST]
    cooling="liquid",
    sources=("GB300-DS",),
    host_cpu="grace",  # Grace CPUs in the compute trays, as GB200 [GB300-DS]
)

PLANNING_SYSTEMS: tuple[SystemSpec, ...] = (H200_HGX, B200_HGX_SYSTEM, H800_HGX, GB300_NVL72)
"""Systems added for capacity planning and validation against published results."""
# --- end of planning entries ----------------------------------------------------------------

CATALOG: dict[str, SystemSpec] = {
    s.name: s for s in (GB200_NVL72, H100_HGX, DGX_A100, *PLANNING_SYSTEMS)}

# -- generic GPUs (trace replay) ---------------------------------------------------------
# A placeholder GPU and node for replaying traces whose jobs run for their recorded duration
# (``runtime: as_given``), as the Tiresias and Gavel simulators do: there is no compute,
# memory or communication model behind it, so its figures are nominal [EST], not a product's.
# Halls of it set ``gpus_per_node`` and ``nodes`` (see ``HallConfig``); the node is the tray
# and the rack, and its GPUs share one NVLink domain unless the hall sets ``nvlink: false``.
# Memory is unbounded (``inf``) so that no trace job is ever refused for its model size.

GENERIC_GPU = GpuSpec(
    name="generic GPU",
    peak_flops={"bf16": 100e12},  # nominal [EST]: unused by as-given runtimes
    hbm_bytes=float("inf"),  # memory-free: traces replayed as given carry no model state
    hbm_bw=1e12,  # nominal [EST]
    nvlink_bw=100e9,  # nominal [EST]
    nic_bw=100e9 / 8,  # nominal [EST]
    tdp_w=300.0,  # nominal [EST]
    idle_w=50.0,  # nominal [EST]
    sources=("EST: nominal placeholder for duration-as-given trace replay",),
)

GENERIC = SystemSpec(
    name="generic",
    gpu=GENERIC_GPU,
    gpus_per_tray=1,  # a hall's gpus_per_node replaces this (topologies.sizing)
    cpus_per_tray=2,  # nominal [EST]
    trays_per_rack=1,
    nvlink_domain_gpus=1,
    switch_trays_per_rack=0,
    rack_overhead_full_w=0.0,  # no node overhead is modelled [EST]
    rack_overhead_idle_w=0.0,
    cooling="air",
    sources=("EST: nominal placeholder for duration-as-given trace replay",),
)

CATALOG[GENERIC.name] = GENERIC


def get_system(name: str) -> SystemSpec:
    """The catalog system called ``name``; ``KeyError`` with the known names otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown system {name!r}; expected one of: {known}") from None
