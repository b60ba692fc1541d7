"""Reader for the Alibaba GPU cluster trace v2023 ("openb", FGD, USENIX ATC'23).

Pod list header ``name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
creation_time,deletion_time,scheduled_time`` (times in seconds since trace start;
``scheduled_time`` empty for pods never scheduled) and node list header
``sn,cpu_milli,memory_mib,gpu,model``. See ``data/alibaba_gpu_v2023/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workloads.traces.common import (
    MAX_TRACE_GPUS,
    TraceIssue,
    check_path,
    csv_rows,
    parse_float,
    parse_int,
)

__all__ = [
    "ALIBABA_NODE_COLUMNS",
    "ALIBABA_POD_COLUMNS",
    "AlibabaNode",
    "AlibabaNodeList",
    "AlibabaPod",
    "AlibabaPodTrace",
    "read_alibaba_nodes",
    "read_alibaba_pods",
]

ALIBABA_POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec",
                       "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")
ALIBABA_NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
_MAX_RESOURCE = 10**12  # milli-cores or MiB beyond any machine: a corrupt row


@dataclass(frozen=True)
class AlibabaPod:
    """One pod. ``num_gpu`` GPUs, each ``gpu_milli``/1000 of a GPU (< 1000 only when it
    shares one GPU); ``gpu_spec`` the allowed GPU models (empty: any); times in seconds since
    trace start, ``scheduled_s`` ``None`` if never scheduled."""

    line: int
    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: tuple[str, ...]
    qos: str
    phase: str
    creation_s: float
    deletion_s: float
    scheduled_s: float | None

    @property
    def run_s(self) -> float:
        """Seconds from scheduling (or creation, if unscheduled) to deletion. For pods still
        ``Running``/``Pending`` at the snapshot this is a lower bound."""
        begin = self.creation_s if self.scheduled_s is None else self.scheduled_s
        return self.deletion_s - begin


@dataclass(frozen=True)
class AlibabaPodTrace:
    """Valid pods sorted by ``(creation_s, line)`` and the skipped rows."""

    path: Path
    pods: tuple[AlibabaPod, ...]
    issues: tuple[TraceIssue, ...]


@dataclass(frozen=True)
class AlibabaNode:
    """One GPU node: id, CPU milli-cores, memory (MiB), GPU count and GPU model."""

    line: int
    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    model: str


@dataclass(frozen=True)
class AlibabaNodeList:
    """Valid nodes in file order and the skipped rows."""

    path: Path
    nodes: tuple[AlibabaNode, ...]
    issues: tuple[TraceIssue, ...]


def _pod(line: int, row: dict[str, str]) -> AlibabaPod:
    if not row["name"]:
        raise ValueError("name: empty")
    num_gpu = parse_int(row["num_gpu"], "num_gpu", maximum=MAX_TRACE_GPUS)
    gpu_milli = parse_int(row["gpu_milli"], "gpu_milli", maximum=10**6)
    if gpu_milli > 1000:
        raise ValueError(f"gpu_milli: {gpu_milli} exceeds 1000")
    creation = parse_float(row["creation_time"], "creation_time")
    deletion = parse_float(row["deletion_time"], "deletion_time")
    if deletion < creation:
        raise ValueError(f"deletion_time ({deletion:g}) is before creation_time ({creation:g})")
    sched_text = row["scheduled_time"]
    scheduled = parse_float(sched_text, "scheduled_time") if sched_text else None
    if scheduled is not None and not creation <= scheduled <= deletion:
        raise ValueError(f"scheduled_time ({scheduled:g}) is outside creation_time "
                         f"({creation:g}) .. deletion_time ({deletion:g})")
    spec = tuple(s for s in row["gpu_spec"].split("|") if s)
    return AlibabaPod(line, row["name"],
                      parse_int(row["cpu_milli"], "cpu_milli", maximum=_MAX_RESOURCE),
                      parse_int(row["memory_mib"], "memory_mib", maximum=_MAX_RESOURCE),
                      num_gpu, gpu_milli, spec,
                      row["qos"], row["pod_phase"], creation, deletion, scheduled)


def read_alibaba_pods(path: str | Path) -> AlibabaPodTrace:
    """Read an openb pod-list CSV; malformed rows are skipped and listed in ``issues``."""
    p = check_path(path, "Alibaba pod list")
    pods: list[AlibabaPod] = []
    issues: list[TraceIssue] = []
    for line, row in csv_rows(p, ALIBABA_POD_COLUMNS, "Alibaba pod list"):
        try:
            if isinstance(row, str):
                raise ValueError(row)
            pods.append(_pod(line, row))
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
    pods.sort(key=lambda pod: (pod.creation_s, pod.line))
    return AlibabaPodTrace(p, tuple(pods), tuple(issues))


def read_alibaba_nodes(path: str | Path) -> AlibabaNodeList:
    """Read an openb GPU node-list CSV; malformed rows are skipped and listed in ``issues``."""
    p = check_path(path, "Alibaba node list")
    nodes: list[AlibabaNode] = []
    issues: list[TraceIssue] = []
    for line, row in csv_rows(p, ALIBABA_NODE_COLUMNS, "Alibaba node list"):
        try:
            if isinstance(row, str):
                raise ValueError(row)
            if not row["sn"] or not row["model"]:
                raise ValueError("sn and model must not be empty")
            nodes.append(AlibabaNode(
                line, row["sn"], parse_int(row["cpu_milli"], "cpu_milli", maximum=_MAX_RESOURCE),
                parse_int(row["memory_mib"], "memory_mib", maximum=_MAX_RESOURCE),
                parse_int(row["gpu"], "gpu", maximum=MAX_TRACE_GPUS), row["model"]))
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
    return AlibabaNodeList(p, tuple(nodes), tuple(issues))
