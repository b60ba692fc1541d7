"""Bad input to the command line and the files it reads: one line naming the field, the
value and what was expected, exit 2, never a traceback.

One test per input that once produced a traceback, a message naming the wrong field, or a
silently wrong result.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import load_scenario
from tests.conftest import one_error_line, run_cli, small_scenario


def _scenario(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data or small_scenario()))
    return path


@pytest.mark.parametrize("override,field", [
    ("sites.0.fabric.leaf_radix=1000000000000000000000000000000", "fabric.leaf_radix"),
    ("sites.0.fabric.racks_per_pod=1000000000000000000000000000000", "fabric.racks_per_pod"),
    ("sites.0.fabric.oversubscription=1e308", "fabric.oversubscription"),
    ("sites.0.failures.racks_per_feed=1000000000000000000000000000000",
     "failures.racks_per_feed"),
])
def test_huge_fabric_and_feed_sizes_are_refused_by_the_schema(tmp_path: Path, override: str,
                                                               field: str) -> None:
    """These once passed the schema and overflowed (OverflowError) while the site was built."""
    with pytest.raises(UserError) as info:
        load_scenario(_scenario(tmp_path), [override])
    assert field in str(info.value) and "less than or equal to 100000" in str(info.value)


@pytest.mark.parametrize("where,needle", [("folder", "is a folder"),
                                          ("missing", "does not exist")])
def test_dashboard_svg_place_is_checked_before_the_run(tmp_path: Path, where: str,
                                                       needle: str) -> None:
    """An unwritable --dashboard-svg once ended a finished run with a traceback (exit 1)."""
    svg = tmp_path if where == "folder" else tmp_path / "no-such-folder" / "d.svg"
    out = tmp_path / "out"
    line = one_error_line(run_cli("run", "examples/tiresias_60.yaml", "--headless",
                                  "--dashboard-svg", str(svg), "--out", str(out)))
    assert line.startswith("error: --dashboard-svg:") and needle in line
    assert not out.exists()  # refused before anything ran
