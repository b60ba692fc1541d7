"""Bad plug-in policies get one clear error naming the policy (library and CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.build import build
from emulator.errors import UserError
from emulator.loader import validate_scenario
from emulator.policies.base import PolicyError
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent

PLUGINS = '''
import numpy as np
from emulator.policies.base import QueuePolicy, StartJob


class ReturnsDict(QueuePolicy):
    name = "returns-dict"

    def decide(self, view):
        return {"start": [j.work_id for j in view.queue]}


class Unnamed:
    """Not a QueuePolicy subclass and no name: errors use its reference."""

    def decide(self, view):
        return ["start everything"]


class OverAllocates(QueuePolicy):
    name = "over-allocates"

    def decide(self, view):
        # Every queued job on the same first GPUs: the second one double-books them.
        return [StartJob(j.work_id, np.arange(j.n_gpus)) for j in view.queue]


class WrongCount(QueuePolicy):
    name = "wrong-count"

    def decide(self, view):
        return [StartJob(j.work_id, np.arange(1)) for j in view.queue[:1] if j.n_gpus > 1]
'''


@pytest.fixture()
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bad_plugins.py").write_text(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("bad_plugins", None)
    return tmp_path


def _scenario(queue: str) -> dict:
    data = small_scenario(duration="6h", scheduler={"queue": queue})
    data["tenants"]["lab"]["training"][0].update({"rate": "200/d", "gpus": [16, 72]})
    return data


def _run(queue: str) -> None:
    sim = build(validate_scenario(_scenario(queue)))
    sim.run()


def test_missing_class_names_module_class_and_policy(plugin_dir: Path) -> None:
    with pytest.raises(UserError, match=r"module 'bad_plugins' has no class 'Nope' "
                                        r"\(policy 'bad_plugins:Nope'\)"):
        _run("bad_plugins:Nope")


def test_missing_module_is_named(plugin_dir: Path) -> None:
    with pytest.raises(UserError, match="cannot import module 'no_such_module'"):
        _run("no_such_module:Policy")


def test_wrong_return_type_names_the_policy(plugin_dir: Path) -> None:
    with pytest.raises(PolicyError, match="policy 'returns-dict' returned dict; expected a "
                                          "list of decisions"):
        _run("bad_plugins:ReturnsDict")


def test_wrong_decision_type_names_an_unnamed_plugin_by_reference(plugin_dir: Path) -> None:
    with pytest.raises(PolicyError, match="policy 'bad_plugins:Unnamed' returned str"):
        _run("bad_plugins:Unnamed")


def test_over_allocation_names_the_policy(plugin_dir: Path) -> None:
    with pytest.raises(PolicyError, match="policy 'over-allocates'"):
        _run("bad_plugins:OverAllocates")


def test_wrong_gpu_count_names_the_policy(plugin_dir: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy 'wrong-count' gave work \d+ 1 GPUs; it "
                                          r"needs exactly \d+"):
        _run("bad_plugins:WrongCount")


def test_rejected_options_name_the_policy(plugin_dir: Path) -> None:
    data = _scenario("bad_plugins:ReturnsDict")
    data["scheduler"]["options"] = {"speed": 3}
    with pytest.raises(UserError, match="unknown option 'speed' for queue policy "
                                        "'returns-dict'; expected none"):
        build(validate_scenario(data))


def test_cli_prints_a_policy_error_as_one_line_and_exits_2(plugin_dir: Path) -> None:
    path = plugin_dir / "scenario.yaml"
    path.write_text(yaml.safe_dump(_scenario("bad_plugins:OverAllocates")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                           "--out", str(plugin_dir / "out")], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "policy 'over-allocates'" in lines[0], proc.stderr
    assert not (plugin_dir / "out").exists(), "no results are written for a failed run"
