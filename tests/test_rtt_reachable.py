"""An RTT change to unreachable (a cable cut leaving a service's origin no route to its
site) is written explicitly: ``reachable`` false beside a null RTT, in ``infra.parquet``
and in the Perfetto trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from emulator.arrow_columns import arrow_column
from emulator.report.perfetto import build_trace
from emulator.report.rundata import load_run
from tests.conftest import small_scenario
from tests.test_cli import gpuemu


def test_a_cut_without_a_route_is_written_as_not_reachable(tmp_path: Path) -> None:
    (tmp_path / "ev.yaml").write_text(yaml.safe_dump({"events": [
        {"at": "1h", "target": "link:medusa", "action": "fail", "duration": "1h"}]}))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario(duration="3h", events="ev.yaml")))
    out = tmp_path / "out"
    done = gpuemu("run", str(scenario), "--headless", "--out", str(out))
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out / "infra.parquet")
    assert table.schema.field("reachable").type == pa.bool_()
    rows = table.to_pylist()
    rtt = [r for r in rows if r["event"] == "rtt"]
    assert [(r["t_s"], r["reachable"], r["value"] is None) for r in rtt] == [
        (3600.0, False, True), (7200.0, True, False)]  # cut off at the cut, back at repair
    assert {r["reachable"] for r in rows if r["event"] != "rtt"} == {None}
    instants = [e for e in build_trace(load_run(out))["traceEvents"]
                if e["name"].startswith("rtt service")]
    assert [(e["args"]["reachable"], e["args"]["rtt_ms"] is None) for e in instants] == [
        (False, True), (True, False)]


def test_a_masked_boolean_column_is_a_nullable_boolean() -> None:
    col = np.ma.MaskedArray([True, False, True], mask=[False, False, True])
    assert arrow_column(col).to_pylist() == [True, False, None]
