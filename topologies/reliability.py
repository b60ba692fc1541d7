"""Hardware reliability catalog: failure classes, their blast radius and default rates.

A *failure class* is a kind of component that fails as one unit and takes a known set of
GPUs with it (its *blast radius*). Rates are per unit per year (annualised failure rate,
AFR; a mean time between failures ``MTBF = 1 / AFR`` years for an exponential process).

Classes and the unit each one is counted per (:data:`UNITS`):

=================  =========================================================================
``gpu``            one GPU (faulty GPU, SRAM, GPU system processor, thermal interface,
                   silent data corruption)
``hbm``            one GPU (its HBM stack)
``tray``           one compute tray / host (all its GPUs: 4 on GB200, 8 on HGX): host
                   maintenance, SSD, power supply, chassis, IO board, CPU, system memory
``nvlink_switch``  one NVLink domain (a failed NVLink switch tray takes the domain down)
``nic``            one GPU: a rail-optimised tray has one scale-out NIC per GPU; the GPU
                   loses its scale-out network but stays in service: work inside one
                   NVLink domain keeps running on it, work spanning domains stops
``switch``         one leaf switch (with its cables): every GPU behind it loses scale-out,
                   with the same effect as a NIC failure on each of them
``rack``           one rack: power shelf, coolant distribution unit (CDU) or rack cooling
``pdu``            ``racks_per_feed`` racks of a hall sharing a power feed / PDU
``software``       one GPU's job: a software or transient fault (bug, NCCL watchdog
                   timeout) restarts the job holding it; no hardware goes down
``spine``          one spine switch of a site: every leaf spreads its uplinks over all the
                   spines, so traffic re-routes over the others and no GPU loses its
                   network; the site's cross-pod bandwidth falls by one switch's share
                   (``1/S`` with ``S`` spine switches) until the repair, and training
                   spanning pods slows down accordingly
=================  =========================================================================

Sources:

* [LLAMA3] A. Grattafiori et al., "The Llama 3 Herd of Models", arXiv:2407.21783 (2024),
  sec. 3.3.4 and Table 5: 466 job interruptions in a 54-day snapshot of Llama 3 405B
  pre-training on 16,384 H100 GPUs (Grand Teton servers, 8 GPUs + 2 CPUs each); 47
  planned, 419 unexpected, with root causes by count: faulty GPU 148, GPU HBM3 memory 72,
  software bug 54, network switch/cable 35, host maintenance 32, GPU SRAM memory 19, GPU
  system processor 17, NIC 7, NCCL watchdog timeouts 7, silent data corruption 6, GPU
  thermal interface + sensor 6, SSD 3, power supply 3, server chassis 2, IO expansion
  board 2, dependency 2, CPU 2, system memory 2 (the counts sum to 419; the table's
  percentage for faulty GPU, 30.1 %, does not match 148/419 = 35.3 %, so the counts are
  used). "Higher than 90 % effective training time" is reported for the same run. The
  cluster is 24K GPUs, of which up to 16K ran the pre-training.
* [ASSUMPTION] Figures marked so have no published source known to this catalog: GB200
  NVL72 NVLink switch trays, rack power shelves and CDUs, power feeds, repair and detection
  times. They are defaults meant to be overridden by an operator's own fleet data.

The per-class defaults below are *fitted* to [LLAMA3] Table 5: each class's count divided
by the exposure (16,384 GPU × 54 d, or 2,048 hosts × 54 d for ``tray``). Reproducing the
419 count from them is therefore a consistency check, not a validation (see
``docs/validation.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BANDWIDTH_LOSS",
    "COMPONENTS",
    "HARDWARE_LOSS",
    "LLAMA3_COUNTS",
    "LLAMA3_DAYS",
    "LLAMA3_GPUS",
    "LLAMA3_UNEXPECTED",
    "POWER_LOSS",
    "SCALE_OUT_LOSS",
    "UNITS",
    "ComponentDefaults",
    "defaults_for",
    "effect_of",
]

SECONDS_PER_YEAR = 365.25 * 86400.0

COMPONENTS = ("gpu", "hbm", "tray", "nvlink_switch", "nic", "switch", "rack", "pdu",
              "software", "spine")
"""Every failure class, in the fixed order used for class codes in the event log."""

UNITS = {"gpu": "gpu", "hbm": "gpu", "tray": "tray", "nvlink_switch": "domain", "nic": "gpu",
         "switch": "leaf", "rack": "rack", "pdu": "feed", "software": "gpu", "spine": "spine"}
"""The unit each class's rate is counted per (and whose GPUs it takes down)."""

HARDWARE_LOSS = frozenset(c for c in COMPONENTS if c != "software")
"""Classes whose failure needs a repair (``software`` only restarts the job)."""

SCALE_OUT_LOSS = frozenset({"nic", "switch"})
"""Classes whose failure cuts GPUs off the scale-out network without taking them out of
service (single-domain work goes on; work spanning NVLink domains stops)."""

POWER_LOSS = frozenset({"tray", "rack", "pdu"})
"""Classes whose failed unit draws no power until it is back in service (its GPUs, and
their share of the rack's non-GPU power, draw 0 W; see ``docs/energy.md``). A
``rack`` failure (power shelf, CDU or rack cooling) shuts the rack down: the rack's
power shelves feed its trays through one busbar, and a GB200 NVL72 rack, whose GPUs,
CPUs, NICs and NVLink switch ASICs are liquid-cooled ([DGX-GB200-UG]), cannot run
without its coolant loop (the rack is shut down rather than throttled). A
``pdu`` failure removes the feed's racks' power. A ``tray`` failure (host, CPU, memory,
SSD, PSU, board) is drained and powered off for its repair or spare swap (assumption:
it is powered off from the failure on, not only once a technician arrives). Every
other class leaves its GPUs in a powered tray at their idle draw: a GPU or HBM fault
(the GPU off the bus, its tray still powered), an NVLink switch tray (the domain's
compute trays stay powered)."""

BANDWIDTH_LOSS = frozenset({"spine"})
"""Classes whose failure costs a site cross-pod bandwidth and takes no GPU's network away
(training spanning pods slows down; nothing stops while one spine switch is left)."""


def effect_of(name: str) -> str:
    """What a failure of class (or cause label) ``name`` does to its GPUs: ``"restart"``
    (a software fault: holders restart, nothing is lost), ``"scale_out"`` (they lose only
    their scale-out network), ``"bandwidth"`` (a spine switch: the site's cross-pod
    bandwidth shrinks) or ``"down"`` (out of service until repaired; also any label that
    is not a class, e.g. an operator's injection)."""
    if name == "software":
        return "restart"
    if name in BANDWIDTH_LOSS:
        return "bandwidth"
    return "scale_out" if name in SCALE_OUT_LOSS else "down"

LLAMA3_GPUS = 16_384
LLAMA3_DAYS = 54.0
LLAMA3_UNEXPECTED = 419
LLAMA3_GPUS_PER_HOST = 8

LLAMA3_COUNTS: dict[str, int] = {
    "gpu": 148 + 19 + 17 + 6 + 6,  # faulty GPU, SRAM, system processor, SDC, thermal/sensor
    "hbm": 72,
    "software": 54 + 7 + 2,  # software bug, NCCL watchdog timeouts, dependency
    "switch": 35,  # network switch/cable
    "tray": 32 + 3 + 3 + 2 + 2 + 2 + 2,  # host maint., SSD, PSU, chassis, IO board, CPU, mem
    "nic": 7,
}
"""[LLAMA3] Table 5 unexpected interruptions grouped into this catalog's classes."""

_GPU_YEARS = LLAMA3_GPUS * LLAMA3_DAYS / 365.25
_HOST_YEARS = _GPU_YEARS / LLAMA3_GPUS_PER_HOST


@dataclass(frozen=True)
class ComponentDefaults:
    """Default figures of one failure class (rates per unit per year, times in s).

    ``afr_per_gpu`` is used instead of ``afr`` where the class's unit size varies (leaf
    switches, NVLink domains): the unit's rate is then ``afr_per_gpu × its GPUs``, so a
    job's exposure does not depend on how many GPUs the fabric puts behind one switch.
    """

    afr: float = 0.0
    afr_per_gpu: float = 0.0
    detection_s: float = 300.0  # [ASSUMPTION] 5 min to detect and attribute a fault
    repair_s: float = 3 * 86400.0  # [ASSUMPTION] 3 days: RMA/swap of the failed part
    source: str = "ASSUMPTION"


_HOUR = 3600.0
_DAY = 86400.0

_H100_CLASS = {
    "gpu": ComponentDefaults(afr=LLAMA3_COUNTS["gpu"] / _GPU_YEARS, source="LLAMA3"),
    "hbm": ComponentDefaults(afr=LLAMA3_COUNTS["hbm"] / _GPU_YEARS, source="LLAMA3"),
    "tray": ComponentDefaults(afr=LLAMA3_COUNTS["tray"] / _HOST_YEARS, repair_s=_DAY,
                              source="LLAMA3"),
    "nic": ComponentDefaults(afr=LLAMA3_COUNTS["nic"] / _GPU_YEARS, repair_s=4 * _HOUR,
                             source="LLAMA3"),
    "switch": ComponentDefaults(afr_per_gpu=LLAMA3_COUNTS["switch"] / _GPU_YEARS,
                                repair_s=4 * _HOUR, source="LLAMA3"),
    # A software fault is found by the collective's watchdog: PyTorch's default NCCL
    # timeout is 10 min [ASSUMPTION as the detection delay]; nothing to repair.
    "software": ComponentDefaults(afr=LLAMA3_COUNTS["software"] / _GPU_YEARS,
                                  detection_s=600.0, repair_s=0.0, source="LLAMA3"),
    # [ASSUMPTION] A spine is the same switch model as a leaf and fails as often as one
    # full leaf does under the [LLAMA3] fit: the per-GPU leaf rate × 32 downlinks (a
    # 64-port leaf's half). [LLAMA3] attributes no interruption to a spine: traffic
    # re-routes, so a spine failure slows jobs rather than stopping them.
    "spine": ComponentDefaults(afr=32 * LLAMA3_COUNTS["switch"] / _GPU_YEARS,
                               repair_s=4 * _HOUR),
    # No rack-, feed- or NVLink-switch-level cause appears in [LLAMA3] Table 5.
    "nvlink_switch": ComponentDefaults(),
    "rack": ComponentDefaults(repair_s=8 * _HOUR),
    "pdu": ComponentDefaults(repair_s=12 * _HOUR),
}

_NVL72_EXTRA = {
    # [ASSUMPTION] 2 % AFR per NVLink switch tray, 9 trays per 72-GPU domain.
    "nvlink_switch": ComponentDefaults(afr_per_gpu=9 * 0.02 / 72, repair_s=8 * _HOUR),
    # [ASSUMPTION] 5 % per rack-year for power shelf + CDU + rack cooling together.
    "rack": ComponentDefaults(afr=0.05, repair_s=8 * _HOUR),
    # [ASSUMPTION] 2 % per feed-year.
    "pdu": ComponentDefaults(afr=0.02, repair_s=12 * _HOUR),
}


def defaults_for(system: str) -> dict[str, ComponentDefaults]:
    """Default figures per failure class for catalog system ``system``.

    Every GPU system takes the [LLAMA3]-fitted per-GPU and per-host rates (an
    [ASSUMPTION] beyond H100: no comparable breakdown is published for the others);
    rack-scale NVL72 systems add NVLink switch trays, rack and feed failures
    ([ASSUMPTION]); the ``generic`` trace-replay system has no failures by default.
    """
    base = system.split("/")[0]
    if base == "generic":
        return {c: ComponentDefaults() for c in COMPONENTS}
    out = dict(_H100_CLASS)
    if base.endswith("nvl72"):
        out.update(_NVL72_EXTRA)
    return out
