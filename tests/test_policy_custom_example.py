"""The custom-policy tutorial's own tests, run as part of the main suite."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_policy"


@pytest.fixture()
def tutorial(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in ("my_policy", "test_my_policy"):
        sys.modules.pop(name, None)
    return importlib.import_module("test_my_policy")


def test_small_jobs_wait_less_than_under_fifo(tutorial) -> None:  # type: ignore[no-untyped-def]
    tutorial.test_small_jobs_wait_less_than_under_fifo()


def test_every_job_ends_and_no_gpu_is_shared(tutorial) -> None:  # type: ignore[no-untyped-def]
    tutorial.test_every_job_ends_and_no_gpu_is_shared()
