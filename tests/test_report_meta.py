"""The report's meta line says when the run covers less than its scenario."""

from __future__ import annotations

import re
from typing import Any

from emulator.report.html import render_html
from emulator.report.rundata import RunData


def _meta(summary: dict[str, Any]) -> str:
    page = render_html(RunData(summary={"scenario": "s", "simulated_s": 12096.0,
                                        **summary}), [])
    found = re.search(r"<p class='meta'>(.*?)</p>", page)
    assert found is not None
    return found.group(1)


def test_a_partial_run_says_it_was_interrupted() -> None:
    meta = _meta({"run": {"partial": True, "interrupted_by": "SIGINT",
                          "reached_s": 12096.0}})
    assert "<strong>partial</strong>: interrupted by SIGINT, results up to 3.36 h" in meta


def test_a_run_ended_when_every_job_ended_says_so() -> None:
    meta = _meta({"ended_early": {"at_s": 4806.0, "planned_s": 86400.0,
                                  "reason": "every job ended (engine.stop_when_done)"}})
    assert "ended early: every job ended (engine.stop_when_done), planned 1 d" in meta


def test_a_whole_run_and_an_until_stop() -> None:
    assert "partial" not in _meta({}) and "early" not in _meta({})
    assert "stopped early at --until 1.4d" in _meta({"run": {"until": "1.4d"}})
