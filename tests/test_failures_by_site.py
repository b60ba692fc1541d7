"""Failure availability per site: a multi-site run whose failures all hit one site gives
that site's availability over its own GPUs, next to the whole run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.api import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_failures_of_one_site_are_also_given_over_that_sites_gpus() -> None:
    result = run(EXAMPLES / "med_federation.yaml", until="1d", overrides=[
        "sites.0.failures={defaults: false, components: "
        "{gpu: {afr: 400, repair: 12h}}}"])
    failures = result.summary["failures"]
    whole = failures["by_class"]["gpu"]
    assert whole["failures"] > 0
    by_site = failures["by_site"]
    assert list(by_site) == ["bizerte-20mw"]  # the other site had none
    site = by_site["bizerte-20mw"]["gpu"]
    assert site["failures"] == whole["failures"]
    assert site["gpu_h_down"] == pytest.approx(whole["gpu_h_down"], rel=1e-12)
    # 8 racks of 72 GPUs at each of the two sites: down over half the GPUs
    site_gpus, all_gpus = 8 * 72, 16 * 72
    down_s = whole["gpu_h_down"] * 3600.0
    assert site["availability"] == pytest.approx(1 - down_s / (site_gpus * 86400.0))
    assert whole["availability"] == pytest.approx(1 - down_s / (all_gpus * 86400.0))
    assert site["availability"] < whole["availability"]


def test_a_single_site_run_has_no_by_site_key() -> None:
    result = run(EXAMPLES / "bizerte_20mw.yaml", until="6h", overrides=[
        "sites.0.failures={defaults: false, components: {gpu: {afr: 400, repair: 12h}}}"])
    failures = result.summary["failures"]
    assert failures["by_class"]["gpu"]["failures"] > 0
    assert "by_site" not in failures
