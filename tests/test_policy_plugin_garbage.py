"""Plug-ins that answer garbage, fail to start or never settle: one line naming them.

A queue policy's decisions are checked before they are applied (a work id that is not an
integer, GPU ids that are not a 1-D list of integers), a placement plug-in's answer and
exceptions are blamed on the placement (not on the queue policy that asked it), either
plug-in's constructor failing is a :class:`UserError`, and a policy whose rounds at one
instant never stop changing things stops the run instead of hanging it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.build import build
from emulator.errors import UserError
from emulator.loader import validate_scenario
from emulator.placement.base import as_gpu_ids
from emulator.policies.base import PolicyError
from emulator.processes.rounds import gpu_ids, settle_bound, work_id_of

ROOT = Path(__file__).resolve().parent.parent

PLUGINS = '''
import time
from pathlib import Path

import numpy as np
from emulator.placement.base import PlacementPolicy
from emulator.placement.pack import PackPlacement
from emulator.policies.base import PreemptJob, QueuePolicy, StartJob


def _placed(view):
    """(job, GPU ids) for each queued job the scratch places, in queue order."""
    s = view.scratch()
    out = []
    for j in view.queue:
        g = s.place(j.request)
        if g is not None:
            out.append((j, g))
    return out


class StartWith(QueuePolicy):
    """Starts what fits, handing the engine ``how(work_id, gpus)``."""
    how = staticmethod(lambda w, g: (w, g))

    def decide(self, view):
        return [StartJob(*self.how(j.work_id, g)) for j, g in _placed(view)]


class NoneGpus(StartWith):
    how = staticmethod(lambda w, g: (w, None))


class TextGpus(StartWith):
    how = staticmethod(lambda w, g: (w, "ab"))


class FractionalGpus(StartWith):
    how = staticmethod(lambda w, g: (w, np.asarray(g, dtype=float) + 0.5))


class TextWorkId(StartWith):
    how = staticmethod(lambda w, g: (str(w), g))


class FractionalWorkId(StartWith):
    how = staticmethod(lambda w, g: (w + 0.5, g))


class BoolWorkId(StartWith):
    how = staticmethod(lambda w, g: (True, g))


class ValidVariants(StartWith):
    """Numpy work ids, whole floats and lists as GPU ids: all accepted as the ints."""
    how = staticmethod(lambda w, g: (np.int64(w), [float(x) for x in g]))


class PreemptsForever(QueuePolicy):
    """Preempts all running work and starts what fits, every round: never settles."""

    def decide(self, view):
        out = [PreemptJob(r.work_id, "x") for r in view.running]
        return out + [StartJob(j.work_id, g) for j, g in _placed(view)]


class SlowForever(PreemptsForever):
    """As above, 20 ms a round, and says (a marker file) when its first round ran."""

    def __init__(self, marker):
        self.marker = Path(marker)

    def decide(self, view):
        if not self.marker.exists():
            self.marker.write_text("deciding")
        time.sleep(0.02)
        return super().decide(view)


class InitFails(QueuePolicy):
    def __init__(self, **options):
        raise RuntimeError("init boom")

    def decide(self, view):
        return []


class PlaceRaises(PlacementPolicy):
    def place(self, request, scratch):
        raise RuntimeError("place boom")


class PlaceText(PlacementPolicy):
    def place(self, request, scratch):
        return "abc"


class PlaceInitFails(PackPlacement):
    def __init__(self):
        raise ValueError("nope")
'''

TRACE = "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n" + "".join(
    f"{i},2,{10 * i},1,a,100,1\n" for i in range(6))


@pytest.fixture()
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "garbage_plugins.py").write_text(PLUGINS)
    (tmp_path / "tr.csv").write_text(TRACE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("garbage_plugins", None)
    return tmp_path


def _scenario(folder: Path, queue: str = "fifo", placement: str = "pack",
              **options: object) -> dict:
    """8 GPUs on a generic hall replaying six 2-GPU, 100 s trace jobs."""
    return {
        "name": "garbage", "seed": 1, "duration": "1d",
        "sites": [{"name": "lab", "country": "US", "city": "Ann Arbor",
                   "location": {"lat": 42.28, "lon": -83.74}, "grid_connection": "1MW",
                   "cooling": "air",
                   "halls": [{"name": "gpus", "system": "generic", "gpus_per_node": 4,
                              "nodes": 2}]}],
        "tenants": {"t": {"traces": [{"kind": "tiresias", "path": str(folder / "tr.csv"),
                                      "model": "generic", "runtime": "as_given"}]}},
        "scheduler": {"queue": queue, "placement": placement, "options": options},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "1m", "stop_when_done": True},
    }


def _run(folder: Path, **kw: object):  # type: ignore[no-untyped-def]
    sim = build(validate_scenario(_scenario(folder, **kw)))  # type: ignore[arg-type]
    sim.run()
    return sim


@pytest.mark.parametrize("cls, message", [
    ("NoneGpus", r"started work 0 on gpus None; expected a 1-D list or array of integer "
                 r"GPU ids"),
    ("TextGpus", r"started work 0 on gpus 'ab'; expected a 1-D list"),
    ("FractionalGpus", r"started work 0 on gpus array\(\[0\.5, 1\.5\]\); expected"),
    ("TextWorkId", r"decided on work_id '0'; expected an integer work id"),
    ("FractionalWorkId", r"decided on work_id 0\.5; expected an integer work id"),
    ("BoolWorkId", r"decided on work_id True; expected an integer work id"),
])
def test_garbage_in_a_decision_names_the_policy_and_value(plugin_dir: Path, cls: str,
                                                          message: str) -> None:
    with pytest.raises(PolicyError, match=rf"^policy 'garbage_plugins:{cls}' {message}"):
        _run(plugin_dir, queue=f"garbage_plugins:{cls}")


def test_numpy_ids_whole_floats_and_lists_start_as_plain_ints(plugin_dir: Path) -> None:
    plain = _run(plugin_dir, queue="garbage_plugins:StartWith")
    variants = _run(plugin_dir, queue="garbage_plugins:ValidVariants")
    assert variants.log.digest() == plain.log.digest()


def test_id_checks_directly() -> None:
    assert work_id_of(np.int32(3), "p") == 3
    ids = gpu_ids(np.array([1.0, 2.0]), "p", 0)
    assert ids.dtype == np.int64 and ids.tolist() == [1, 2]
    for bad in (None, "ab", 3, [[1, 2]], [1.5], [float("nan")], [True, False], [1, "a"],
                {"a": 1}, b"\x00\x01", [1e300]):
        assert as_gpu_ids(bad) is None, bad
    assert as_gpu_ids([]) is not None  # an empty start is judged by the count check


def test_a_policy_that_never_settles_stops_the_run(plugin_dir: Path) -> None:
    with pytest.raises(PolicyError, match=r"^policy 'garbage_plugins:PreemptsForever' does "
                                          r"not settle at t=10 s: 1,0\d\d rounds in a row"):
        _run(plugin_dir, queue="garbage_plugins:PreemptsForever")
    assert settle_bound(0) == 1000 and settle_bound(50) == 1100


def test_constructor_failures_are_one_line_user_errors(plugin_dir: Path) -> None:
    with pytest.raises(UserError, match=r"^<scenario>: scheduler\.queue: policy "
                                        r"'garbage_plugins:InitFails' failed to start: "
                                        r"RuntimeError: init boom$"):
        _run(plugin_dir, queue="garbage_plugins:InitFails")
    with pytest.raises(UserError, match=r"^<scenario>: scheduler\.placement: placement "
                                        r"'garbage_plugins:PlaceInitFails' failed to start: "
                                        r"ValueError: nope$"):
        _run(plugin_dir, placement="garbage_plugins:PlaceInitFails")


@pytest.mark.parametrize("cls, message", [
    ("PlaceRaises", "raised RuntimeError: place boom"),
    ("PlaceText", r"returned 'abc' for 2 GPU\(s\); expected None or a 1-D array of integer "
                  r"GPU ids"),
])
def test_a_placement_plugin_is_blamed_for_its_own_failure(plugin_dir: Path, cls: str,
                                                           message: str) -> None:
    with pytest.raises(PolicyError, match=rf"^placement 'garbage_plugins:{cls}' {message}"):
        _run(plugin_dir, placement=f"garbage_plugins:{cls}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_step_that_does_not_end(plugin_dir: Path,
                                                 sig: signal.Signals) -> None:
    """Without the check between rounds the signal waits for the step, which here lasts
    until the settle guard (over 1,000 rounds of 20 ms: 20 s and more)."""
    marker = plugin_dir / "deciding"
    path = plugin_dir / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario(plugin_dir, queue="garbage_plugins:SlowForever",
                                             marker=str(marker))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                             "--out", str(plugin_dir / "out")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sent = time.monotonic()
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and sig.name in lines[0], stderr
    assert waited < 15, waited
    assert not (plugin_dir / "out").exists()


def test_cli_prints_a_garbage_decision_as_one_line(plugin_dir: Path) -> None:
    path = plugin_dir / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario(plugin_dir, queue="garbage_plugins:NoneGpus")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                           "--out", str(plugin_dir / "out")], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "gpus None" in lines[0], proc.stderr
