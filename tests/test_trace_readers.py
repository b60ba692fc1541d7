"""Trace readers on the shipped samples (counts from their READMEs) and on broken files."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from workloads.traces import DATA_DIR, SAMPLES, sample_path
from workloads.traces.alibaba import read_alibaba_nodes, read_alibaba_pods
from workloads.traces.azure_llm import parse_azure_timestamp, read_azure_llm
from workloads.traces.common import TraceFormatError, TraceNotFoundError
from workloads.traces.mooncake import MOONCAKE_BLOCK_TOKENS, read_mooncake
from workloads.traces.philly import read_philly


def test_every_sample_ships_with_a_readme() -> None:
    for rel in SAMPLES.values():
        assert (DATA_DIR / rel).is_file()
        assert (DATA_DIR / rel).parent.joinpath("README.md").is_file()
    assert (DATA_DIR / "mooncake_conversation" / "LICENSE-APACHE").is_file()


def test_philly_sample() -> None:
    t = read_philly(sample_path("philly"))
    assert len(t.jobs) == 4909 and t.issues == ()
    assert t.start == datetime(2017, 9, 25, 0, 1, 57)
    gpus = Counter(j.num_gpus for j in t.jobs)
    assert gpus == {1: 4490, 2: 137, 4: 146, 8: 121, 16: 12, 32: 3}
    assert len({j.cluster for j in t.jobs}) == 12
    assert np.median([j.duration_s for j in t.jobs]) == 79
    assert max(j.duration_s for j in t.jobs) == 2_601_226
    # Last submission 2017-10-01 23:59:48 is 604,671 s after the first.
    assert t.jobs[-1].submit_s == 604_671
    assert [j.submit_s for j in t.jobs] == sorted(j.submit_s for j in t.jobs)


@pytest.mark.parametrize(("name", "rows", "prompt_mean", "output_mean", "span_s"), [
    ("azure_llm_code", 1966, 1978, 30, 675.95),   # 18:17:03.98 .. 18:28:19.93
    ("azure_llm_conv", 4204, 1180, 252, 853.18),  # 18:15:46.68 .. 18:29:59.86
])
def test_azure_samples(name: str, rows: int, prompt_mean: float, output_mean: float,
                       span_s: float) -> None:
    t = read_azure_llm(sample_path(name))
    assert len(t.requests) == rows and t.issues == ()
    assert t.requests.prompt_tokens.mean() == pytest.approx(prompt_mean, abs=0.5)
    assert t.requests.output_tokens.mean() == pytest.approx(output_mean, abs=0.5)
    assert t.requests.times_s[0] == 0.0
    assert t.requests.times_s[-1] == pytest.approx(span_s, abs=0.01)
    assert t.start is not None and t.start.date() == datetime(2023, 11, 16).date()


def test_azure_timestamp_keeps_seven_digits() -> None:
    when, frac = parse_azure_timestamp("2023-11-16 18:17:03.9799601")
    assert when == datetime(2023, 11, 16, 18, 17, 3)
    assert frac == pytest.approx(0.9799601, abs=1e-12)


def test_mooncake_sample() -> None:
    t = read_mooncake(sample_path("mooncake"))
    assert len(t.requests) == 1750 and t.issues == ()
    assert t.requests.times_s[0] == 0.0 and t.requests.times_s[-1] == 597.0
    assert t.requests.prompt_tokens.mean() == pytest.approx(13992, abs=1)
    assert t.requests.output_tokens.mean() == pytest.approx(354, abs=1)
    blocks = -(-t.requests.prompt_tokens // MOONCAKE_BLOCK_TOKENS)
    assert [len(h) for h in t.hash_ids] == blocks.tolist()


def test_alibaba_pod_sample() -> None:
    t = read_alibaba_pods(sample_path("alibaba"))
    assert len(t.pods) == 2406 and t.issues == ()
    assert Counter(p.num_gpu for p in t.pods) == {0: 377, 1: 2005, 2: 3, 4: 2, 8: 19}
    assert sum(p.num_gpu == 1 and p.gpu_milli < 1000 for p in t.pods) == 823
    assert Counter(p.phase for p in t.pods) == {"Running": 1304, "Failed": 858,
                                                "Pending": 189, "Succeeded": 55}
    assert sum(p.scheduled_s is None for p in t.pods) == 189
    assert all(p.gpu_spec == () for p in t.pods)
    assert max(p.creation_s for p in t.pods) == 10_886_384


def test_alibaba_node_sample() -> None:
    t = read_alibaba_nodes(sample_path("alibaba_nodes"))
    assert len(t.nodes) == 1213 and t.issues == ()
    assert sum(n.gpus for n in t.nodes) == 6212
    assert Counter(n.model for n in t.nodes)["T4"] == 404


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_philly_malformed_rows_reported_with_line(tmp_path: Path) -> None:
    f = write(tmp_path / "p.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n"
              "2017-09-25 00:00:10,100.0,2,200.0,vc1\n"
              "2017-09-25 00:00:20,abc,2,200.0,vc1\n"    # line 3: bad duration
              "not a date,10,1,10,vc1\n"                 # line 4
              "2017-09-25 00:00:30,10,0,0,vc1\n"         # line 5: zero GPUs
              "2017-09-25 00:00:40,10,1\n"               # line 6: too few fields
              "\n"
              "2017-09-25 00:00:05,50,1,50,vc2\n")       # line 8: valid, earliest
    t = read_philly(f)
    assert [i.line for i in t.issues] == [3, 4, 5, 6]
    assert all(i.file == str(f) for i in t.issues)
    assert "duration" in t.issues[0].message and "num_gpus" in t.issues[2].message
    assert [(j.line, j.submit_s) for j in t.jobs] == [(8, 0.0), (2, 5.0)]
    assert str(t.issues[0]).startswith(f"{f}:3: ")


def test_azure_malformed_rows(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
              "2023-11-16 18:00:00.5000000,10,5\n"
              "2023-11-16 18:00:01.x,10,5\n"
              "2023-11-16 18:00:02.0000000,-3,5\n"
              "2023-11-16 18:00:03.0000000,10,1.5\n"
              "2023-11-16 18:00:00.2500000,7,0\n")
    t = read_azure_llm(f)
    assert [i.line for i in t.issues] == [3, 4, 5]
    assert t.requests.times_s.tolist() == [0.0, 0.25]
    assert t.requests.prompt_tokens.tolist() == [7, 10]
    assert t.lines.tolist() == [6, 2]


def test_mooncake_malformed_lines(tmp_path: Path) -> None:
    f = write(tmp_path / "m.jsonl",
              '{"timestamp": 3000, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]}\n'
              '{"timestamp": 1000, "input_length": 10, "output_length": 2}\n'
              '{"timestamp": "x", "input_length": 10, "output_length": 2}\n'
              '{not json\n'
              '\n'
              '[1, 2]\n'
              '{"timestamp": 5, "input_length": 10, "output_length": 2, "hash_ids": "a"}\n')
    t = read_mooncake(f)
    assert [i.line for i in t.issues] == [3, 4, 6, 7]
    assert t.requests.times_s.tolist() == [1.0, 3.0]
    assert t.hash_ids == ((), (1, 2))


def test_alibaba_malformed_rows(tmp_path: Path) -> None:
    header = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
              "creation_time,deletion_time,scheduled_time\n")
    f = write(tmp_path / "pods.csv", header +
              "pod-a,1000,1024,1,500,V100|T4,LS,Running,10,100,20\n"
              "pod-b,1000,1024,1,1500,,LS,Running,10,100,20\n"   # gpu_milli > 1000
              "pod-c,1000,1024,2,1000,,BE,Failed,50,40,\n"       # deleted before created
              "pod-d,1000,1024,one,1000,,BE,Failed,50,60,\n"     # bad num_gpu
              "pod-e,1000,1024,8,1000,,BE,Pending,5,60,\n")
    t = read_alibaba_pods(f)
    assert [i.line for i in t.issues] == [3, 4, 5]
    assert [p.name for p in t.pods] == ["pod-e", "pod-a"]
    assert t.pods[1].gpu_spec == ("V100", "T4") and t.pods[1].run_s == 80
    assert t.pods[0].scheduled_s is None and t.pods[0].run_s == 55


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    for reader in (read_philly, read_azure_llm, read_mooncake, read_alibaba_pods,
                   read_alibaba_nodes):
        with pytest.raises(FileNotFoundError, match=r"nope\.csv") as info:
            reader(missing)
        assert isinstance(info.value, TraceNotFoundError)


def test_wrong_or_empty_header_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="missing column"):
        read_philly(write(tmp_path / "x.csv", "a,b,c\n1,2,3\n"))
    with pytest.raises(TraceFormatError, match="empty"):
        read_azure_llm(write(tmp_path / "e.csv", ""))
