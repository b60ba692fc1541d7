"""Trace files as found in the wild: BOMs, stray bytes, absurd values, absolute times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import small_scenario
from workloads.traces import sample_path
from workloads.traces.common import TraceFormatError
from workloads.traces.mapping import TraceReplayConfig, replay_trace
from workloads.traces.philly import read_philly

ROOT = Path(__file__).resolve().parent.parent


def cfg(kind: str, path: Path | str, **kw: object) -> TraceReplayConfig:
    return TraceReplayConfig.model_validate({"kind": kind, "path": str(path), "tenant": "lab",
                                             "model": "llama3-8b", **kw})


def _head(sample: str, rows: int) -> list[str]:
    return sample_path(sample).read_text(encoding="utf-8").splitlines()[:rows + 1]


def test_bom_and_one_bad_byte_cost_one_row(tmp_path: Path) -> None:
    lines = _head("philly", 20)
    f = tmp_path / "p.csv"
    body = "\n".join(lines).encode()
    third = body.index(b"\n", body.index(b"\n", body.index(b"\n") + 1) + 1)
    f.write_bytes(b"\xef\xbb\xbf" + body[:third + 1] + b"\xff" + body[third + 1:] + b"\n")
    t = read_philly(f)
    assert len(t.jobs) == 19 and len(t.issues) == 1
    assert t.issues[0].line == 4 and "UTF-8" in t.issues[0].message


def test_overlong_field_is_a_row_issue(tmp_path: Path) -> None:
    lines = _head("philly", 5)
    lines.insert(2, "2017-09-25 00:11:57,68.0,1,68.0," + "x" * 200_000)
    f = tmp_path / "p.csv"
    f.write_text("\n".join(lines) + "\n")
    t = read_philly(f)
    assert len(t.jobs) == 5 and len(t.issues) == 1


@pytest.mark.parametrize("kind,sample,bad_row", [
    ("philly", "philly", "2017-09-25 00:11:57,68.0,1e30,68.0,11cb48"),
    ("azure_llm", "azure_llm_conv", "2023-11-16 18:15:50.9951690,1e30,109"),
    ("alibaba", "alibaba", "pod-x,1000,1024,1e30,1000,,LS,Running,5,60,5"),
    ("mooncake", "mooncake", json.dumps({"timestamp": 5, "input_length": 10**30,
                                         "output_length": 3})),
    ("tiresias", "tiresias_60", "9,1e30,60,100,vgg19,50,3"),
])
def test_absurd_values_are_row_issues(tmp_path: Path, kind: str, sample: str,
                                      bad_row: str) -> None:
    lines = _head(sample, 30)
    lines.insert(3 if kind != "mooncake" else 2, bad_row)
    f = tmp_path / ("t.jsonl" if kind == "mooncake" else "t.csv")
    f.write_text("\n".join(lines) + "\n")
    r = replay_trace(cfg(kind, f))
    malformed = [i for i in r.issues if i.kind == "malformed"]
    assert len(malformed) == 1 and "above" in malformed[0].message


@pytest.mark.parametrize("kind,text", [
    ("philly", "timestamp,duration,num_gpus,gpu_time,cluster\nnot-a-date,1,1,1,a\n"),
    ("alibaba", ",".join(("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli",
                          "gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time",
                          "scheduled_time")) + "\np,1,1,-1,1000,,LS,Running,0,5,0\n"),
    ("azure_llm", "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,3,4\n"),
    ("mooncake", "{not json}\n"),
])
def test_no_valid_rows_names_the_first_reasons(tmp_path: Path, kind: str, text: str) -> None:
    f = tmp_path / "t.txt"
    f.write_text(text)
    with pytest.raises(TraceFormatError, match=r"no valid .*first problems: line \d"):
        replay_trace(cfg(kind, f))


TIRESIAS_HEADER = "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n"


def _gavel_cfg(path: Path | str, **kw: object) -> TraceReplayConfig:
    return cfg("gavel", path, model="generic", runtime="as_given",
               throughputs="sample:gavel_throughputs", **kw)


def _gavel_lines(rows: int) -> list[bytes]:
    return [ln for ln in sample_path("gavel_100").read_bytes().split(b"\n") if ln][:rows]


@pytest.mark.parametrize("kind,text", [
    ("tiresias", TIRESIAS_HEADER),
    ("tiresias", TIRESIAS_HEADER + "0,x,0,1,a,100,1\n"),
    ("gavel", ""),
])
def test_tiresias_and_gavel_without_a_valid_row_are_errors(tmp_path: Path, kind: str,
                                                           text: str) -> None:
    f = tmp_path / "t.txt"
    f.write_text(text)
    config = _gavel_cfg(f) if kind == "gavel" else cfg(kind, f, model="generic",
                                                        runtime="as_given")
    with pytest.raises(TraceFormatError, match=r"no valid job (rows|lines); "
                                               r"(first problems: line 2|the file has no)"):
        replay_trace(config)


def test_tiresias_offset_drops_earlier_rows_and_replays_from_it(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text(TIRESIAS_HEADER + "".join(f"{i},2,{10 * i + 5},1,a,100,1\n"
                                           for i in range(4)))
    own = replay_trace(cfg("tiresias", f, model="generic", runtime="as_given"))
    assert [j.submit_s for j in own.jobs] == [5, 15, 25, 35]  # the file's own zero
    same = replay_trace(cfg("tiresias", f, model="generic", runtime="as_given",
                            absolute_time=True))
    assert [j.submit_s for j in same.jobs] == [5, 15, 25, 35]
    r = replay_trace(cfg("tiresias", f, model="generic", runtime="as_given", offset=15.0))
    assert [j.submit_s for j in r.jobs] == [0, 10, 20]
    assert [j.job_id for j in r.jobs] == [0, 1, 2]
    assert [(i.kind, i.count) for i in r.issues] == [("dropped", 1)]
    with pytest.raises(TraceFormatError, match="no row is at or after offset 100 s"):
        replay_trace(cfg("tiresias", f, model="generic", runtime="as_given", offset=100.0))


def test_gavel_offset_drops_earlier_lines_and_replays_from_it() -> None:
    own = replay_trace(_gavel_cfg("sample:gavel_100", limit=10))
    arrivals = sorted(j.submit_s for j in own.jobs)
    cut = arrivals[3]
    r = replay_trace(_gavel_cfg("sample:gavel_100", limit=10, offset=cut))
    assert sorted(j.submit_s for j in r.jobs) == [a - cut for a in arrivals if a >= cut]
    dropped = sum(i.count for i in r.issues if i.kind == "dropped")
    assert dropped == sum(a < cut for a in arrivals) > 0


def test_one_bad_gavel_line_costs_that_line(tmp_path: Path) -> None:
    lines = _gavel_lines(20)
    lines[3] = lines[3][:5] + b"\xff" + lines[3][5:]  # line 4: not UTF-8
    fields = lines[5].split(b"\t")
    fields[0] = b"NoSuchModel (batch size 1)"  # line 6: not in the throughput table
    lines[5] = b"\t".join(fields)
    f = tmp_path / "g.trace"
    f.write_bytes(b"\n".join(lines) + b"\n")
    r = replay_trace(_gavel_cfg(f))
    assert len(r.jobs) == 18
    bad = [(i.line, i.message) for i in r.issues if i.kind == "malformed"]
    assert [line for line, _ in bad] == [4, 6]
    assert "UTF-8" in bad[0][1] and "no job type 'NoSuchModel (batch size 1)'" in bad[1][1]


def test_alibaba_cpu_only_file_is_an_error(tmp_path: Path) -> None:
    lines = [*_head("alibaba", 0), "p,1000,1024,0,0,,LS,Running,0,50,0"]
    f = tmp_path / "a.csv"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError, match=r"no pod becomes a job.*CPU-only"):
        replay_trace(cfg("alibaba", f))


def _shifted_alibaba(tmp_path: Path, shift: float, rows: int = 40) -> Path:
    lines = _head("alibaba", rows)
    out = [lines[0]]
    for line in lines[1:]:
        f = line.split(",")
        for i in (8, 9, 10):
            if f[i]:
                f[i] = str(float(f[i]) + shift)
        out.append(",".join(f))
    path = tmp_path / "late.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def test_alibaba_times_rebased_to_the_first_pod(tmp_path: Path) -> None:
    late = _shifted_alibaba(tmp_path, 126 * 86400.0)
    (tmp_path / "zero").mkdir()
    base = replay_trace(cfg("alibaba", _shifted_alibaba(tmp_path / "zero", 0.0)))
    r = replay_trace(cfg("alibaba", late))
    assert [j.submit_s for j in r.jobs] == [j.submit_s for j in base.jobs]
    kept = replay_trace(cfg("alibaba", late, absolute_time=True))
    assert min(j.submit_s for j in kept.jobs) >= 126 * 86400.0
    offset = replay_trace(cfg("alibaba", late, offset=126 * 86400.0 + 1.0))
    assert len(offset.jobs) < len(r.jobs)
    assert any(i.kind == "dropped" for i in offset.issues)


def test_mooncake_rebased_to_first_request(tmp_path: Path) -> None:
    rows = [json.dumps({"timestamp": 10**9 + 1000 * k, "input_length": 100,
                        "output_length": 10}) for k in range(5)]
    f = tmp_path / "m.jsonl"
    f.write_text("\n".join(rows) + "\n")
    r = replay_trace(cfg("mooncake", f))
    assert r.requests is not None and list(r.requests.times_s) == [0, 1, 2, 3, 4]
    a = replay_trace(cfg("mooncake", f, absolute_time=True))
    assert a.requests is not None and a.requests.times_s[0] == 10**6


def test_scheduled_time_outside_the_pod_life_is_reported(tmp_path: Path) -> None:
    lines = [*_head("alibaba", 5), "p,1000,1024,1,1000,,LS,Running,100,200,300"]
    f = tmp_path / "a.csv"
    f.write_text("\n".join(lines) + "\n")
    r = replay_trace(cfg("alibaba", f))
    assert any("scheduled_time" in i.message for i in r.issues if i.kind == "malformed")


def test_counts_reach_summary_and_stderr(tmp_path: Path) -> None:
    data = small_scenario(duration="6h")
    data["tenants"]["lab"] = {"traces": [{"kind": "alibaba", "path": "sample:alibaba",
                                          "model": "llama3-8b", "limit": 200}]}
    data["output"] = {"requests": False}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "o" / "summary.json").read_text())["run"]["trace_rows"]
    assert rows["skipped"]["CPU-only pod (num_gpu 0)"] > 0
    assert sum(rows["dropped"].values()) > 0  # pods created after the 6 h horizon
    assert "row(s) skipped: CPU-only pod" in proc.stderr
