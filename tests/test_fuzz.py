"""Fuzz the command line: mutated shipped examples, ``--set`` overrides, corrupted traces.

Every case must end with exit 0, or exit 2 with exactly one ``error:`` line on stderr
(other stderr lines may only be ``warning:``/``note:`` lines about trace rows) and no
traceback, within a time limit and under a memory cap. Cases run in a long-lived worker
process (:mod:`tests.fuzz_worker`) whose address space is capped.

Budget: ``$GPUEMU_FUZZ_SECONDS`` seconds (default 60 under ``CI``, 20 otherwise); at least
one round of each kind always runs. ``$GPUEMU_FUZZ_REPORT`` names a JSON file that
receives the counts (cases by kind, outcomes).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from workloads.traces import sample_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
BUDGET_S = float(os.environ.get("GPUEMU_FUZZ_SECONDS") or (60 if os.environ.get("CI") else 20))
CASE_TIMEOUT_S = 120.0
MEMORY_GB = 6.0
FUZZ_FLAGS = ["--max-memory", "1GB"]  # the budget guard is part of what is tested

NASTY_TEXT = ["[/bold]x", "[red]x[/red]", "a\nb", "\x1b[31m", "1e400Tb/s", "7", "3 per s",
              "2025-13-45", "1e12d", "0.001m", "-1", "../../x", "{a: 1}", "[1, [2, [3]]]",
              "inf", ".nan", "1e30/s", "5/µs", "0/s", "x" * 5000, "1e-300/s", "9" * 400,
              "sample:philly", "sample:nope", "fifo", "nosuchmod:X", "os:path", "", " ",
              "é", "\u202e", "true", "null", "1e999999", "- a\n- b", "&a [*a]"]

scalars = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, 1, -1, 2**63, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=30),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(data: dict[str, Any], pick: int, op: str, value: Any) -> None:
    paths = _paths(data)
    path = paths[pick % len(paths)]
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if op == "replace":
        parent[key] = value
    elif op == "delete":
        del parent[key]
    elif op == "unknown-key" and isinstance(parent, dict):
        parent[f"{key}s"] = value
    elif op == "duplicate" and isinstance(parent[key], list) and parent[key]:
        parent[key].append(copy.deepcopy(parent[key][0]))
    elif op == "rename" and isinstance(parent, dict):
        parent[f"{key}x"] = parent.pop(key)
    else:
        parent[key] = value


class Worker:
    """The fuzz worker process; restarted after a crash or a hang."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz_worker", "--memory-gb", str(MEMORY_GB)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert self.proc.stdout is not None
        assert json.loads(self.proc.stdout.readline())["ready"]

    def run(self, args: list[str]) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"args": args}) + "\n")
        self.proc.stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(CASE_TIMEOUT_S)
        if not answer:
            self.stop()
            return {"code": "hang", "stdout": "", "stderr": ""}
        if not answer[0]:  # the worker died (e.g. killed at the memory cap)
            self.stop()
            return {"code": "died", "stdout": "", "stderr": ""}
        return json.loads(answer[0])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def worker():  # type: ignore[no-untyped-def]
    w = Worker()
    yield w
    w.stop()


COUNTS: Counter[str] = Counter()
FAILURES: list[str] = []
COLLECT = bool(os.environ.get("GPUEMU_FUZZ_COLLECT"))
"""Keep going after a bad case (and report all of them at the end) instead of shrinking
the first one."""


def _check(kind: str, result: dict[str, Any], args: list[str] | None = None) -> None:
    code = result["code"]
    text = result["stdout"] + result["stderr"]
    lines = [ln for ln in result["stderr"].splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    others = [ln for ln in lines if not ln.startswith(("error:", "warning:", "note:"))]
    outcome = {0: "exit 0", 2: "exit 2"}.get(code, f"bad: {code}")
    if code == 2 and (len(errors) != 1 or others):
        outcome = "bad: not one error line"
    if "Traceback" in text:
        outcome = "bad: traceback"
    COUNTS[f"{kind}: {outcome}"] += 1
    if outcome.startswith("bad") and COLLECT:
        FAILURES.append(f"{kind}: {outcome}: {args}\n{text[-2000:]}")
        return
    assert not outcome.startswith("bad"), f"{kind}: {outcome}\n{text[-3000:]}"


def _rounds(kind: str, share: float, test) -> None:  # type: ignore[no-untyped-def]
    """Call the hypothesis test ``test`` in rounds of 5 examples for ``share`` of the budget."""
    deadline = time.monotonic() + BUDGET_S * share
    round_ = 0
    while round_ == 0 or time.monotonic() < deadline:
        key = f"{kind}/{round_}/{os.environ.get('GPUEMU_FUZZ_SEED', '')}"
        seed(zlib.crc32(key.encode()))(test)()
        round_ += 1


FUZZ_SETTINGS = settings(max_examples=5, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck), print_blob=True)


def test_fuzz_scenarios(worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Shipped examples with 1-3 random edits, validated (or, for small ones, run briefly)."""
    tmp = tmp_path_factory.mktemp("fuzz-scenarios")

    @FUZZ_SETTINGS
    @given(example=st.sampled_from(EXAMPLES),
           edits=st.lists(st.tuples(st.integers(0, 10**6),
                                    st.sampled_from(["replace", "replace", "delete",
                                                     "unknown-key", "duplicate", "rename"]),
                                    values), min_size=1, max_size=3),
           run=st.booleans())
    def case(example: Path, edits: list[tuple[int, str, Any]], run: bool) -> None:
        data = yaml.safe_load(example.read_text())
        for pick, op, value in edits:
            _mutate(data, pick, op, value)
        path = tmp / example.name
        try:
            text = yaml.safe_dump(data, allow_unicode=True)
        except (yaml.YAMLError, ValueError, RecursionError):
            text = json.dumps(data, default=str)
        path.write_text(text, encoding="utf-8")
        if run and example.name in ("med_federation.yaml", "philly_replay.yaml"):
            args = ["run", str(path), "--until", "1h", "--headless", "--out",
                    str(tmp / "out"), *FUZZ_FLAGS]
        else:
            args = ["validate", str(path), *FUZZ_FLAGS]
        _check("scenario", worker.run(args), [*args, text[:2000]])

    _rounds("scenario", 0.45, case)


KEYS = ["seed", "name", "duration", "start", "sites.0.halls.0.racks",
        "sites.0.halls.0.trays_per_rack", "sites.0.halls.0.system", "sites.0.grid_connection",
        "sites.0.pue", "sites.0.fabric.nic_bandwidth", "sites.0.halls", "tenants",
        "scheduler.queue", "scheduler.placement", "scheduler.options", "engine.sample_interval",
        "engine.serving_window", "output.dir", "compute.backend", "compute.profile",
        "tenants.eu-inference.inference.0.rate", "tenants.eu-inference.inference.0.replicas",
        "tenants.eu-inference.inference.0.replicass", "tenants.eu-inference.origin",
        "tenants.eu-inference.inference.0.prompt_tokens.median",
        "tenants.research.training.0.rate", "tenants.research.training.0.gpus",
        "tenants.research.training.0.tokens", "tenants.philly.traces.0.path",
        "tenants.philly.traces.0.limit", "tenants.philly.traces.0.time_scale",
        "power", "wan_events", "nosuchkey", "sites.9.pue", "tenants.nobody.priority"]


def test_fuzz_overrides(worker: Worker) -> None:
    """Shipped examples with 1-3 ``--set KEY=VALUE`` overrides of nasty text."""

    @FUZZ_SETTINGS
    @given(example=st.sampled_from(EXAMPLES),
           sets=st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=20)),
                                   st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40),
                                             st.integers().map(str))),
                         min_size=1, max_size=3))
    def case(example: Path, sets: list[tuple[str, str]]) -> None:
        args = ["validate", str(example), *FUZZ_FLAGS]
        for key, value in sets:
            args += ["--set", f"{key}={value}"]
        _check("override", worker.run(args), args)

    _rounds("override", 0.25, case)


TRACES = {"philly": ("philly", "training"), "alibaba": ("alibaba", "training"),
          "azure_llm_conv": ("azure_llm", "serving"), "mooncake": ("mooncake", "serving")}


def _trace_scenario(kind: str, role: str, path: Path) -> dict[str, Any]:
    tenant: dict[str, Any]
    if role == "training":
        tenant = {"traces": [{"kind": kind, "path": str(path), "model": "llama3-8b"}]}
    else:
        tenant = {"inference": [{"name": "chat", "model": "llama3-8b", "replicas": 2,
                                 "trace": {"kind": kind, "path": str(path)}}]}
    return {"name": "fuzz-trace", "duration": "1d", "seed": 1,
            "sites": [{"preset": "bizerte-20mw",
                       "halls": [{"name": "h", "system": "gb200-nvl72", "racks": 2}]}],
            "tenants": {"t": tenant}, "compute": {"backend": "numpy"}}


def test_fuzz_traces(worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The shipped trace samples (first 40 rows) with random byte edits, validated."""
    tmp = tmp_path_factory.mktemp("fuzz-traces")
    heads = {name: b"".join(sample_path(name).read_bytes().splitlines(keepends=True)[:41])
             for name in TRACES}
    edits = st.tuples(st.sampled_from(["replace", "insert", "delete", "number", "long"]),
                      st.integers(0, 10**6), st.binary(min_size=1, max_size=8))

    @FUZZ_SETTINGS
    @given(name=st.sampled_from(sorted(TRACES)), ops=st.lists(edits, min_size=1, max_size=6),
           bom=st.booleans())
    def case(name: str, ops: list[tuple[str, int, bytes]], bom: bool) -> None:
        data = bytearray(heads[name])
        for op, at, blob in ops:
            i = at % (len(data) + 1)
            if op == "replace":
                data[i:i + len(blob)] = blob
            elif op == "insert":
                data[i:i] = blob
            elif op == "delete":
                del data[i:i + len(blob)]
            elif op == "number":
                data[i:i] = b"1e30"
            else:
                data[i:i] = b"x" * 200_000
        if bom:
            data[0:0] = b"\xef\xbb\xbf"
        kind, role = TRACES[name]
        trace = tmp / f"{name}.{'jsonl' if kind == 'mooncake' else 'csv'}"
        trace.write_bytes(bytes(data))
        scenario = tmp / "s.yaml"
        scenario.write_text(yaml.safe_dump(_trace_scenario(kind, role, trace)))
        _check("trace", worker.run(["validate", str(scenario), *FUZZ_FLAGS]),
               [name, repr(bytes(data[:3000]))])

    _rounds("trace", 0.30, case)


def test_fuzz_found_nothing() -> None:
    """With ``$GPUEMU_FUZZ_COLLECT`` set, every bad case found above fails here."""
    assert not FAILURES, f"{len(FAILURES)} bad case(s):\n" + "\n\n".join(FAILURES[:10])


def teardown_module() -> None:
    """Print the counts (``pytest -s`` shows them) and write them where asked."""
    print("\nfuzz counts:", json.dumps(dict(sorted(COUNTS.items())), indent=1))
    report = os.environ.get("GPUEMU_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"counts": dict(sorted(COUNTS.items())),
                                            "failures": FAILURES}, indent=1) + "\n")
