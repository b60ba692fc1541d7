"""Target strings resolve to the right GPUs (checked against the index arrays), and a
target that does not exist is one clear error naming the field, value and what exists."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.errors import UserError
from emulator.targets import domain_target, rack_target, resolve_target
from topologies.index import derive_index
from topologies.presets import resolve_site

SITE = resolve_site("bizerte-20mw", {"halls": [
    {"name": "hall-a", "system": "gb200-nvl72", "racks": 3},
    {"name": "hall-b", "system": "h100-hgx", "racks": 2}]})
INDEX = derive_index([SITE])
CABLES = ("medusa",)


def gpus(text: str) -> np.ndarray:
    return resolve_target(text, INDEX, CABLES).gpus


def test_each_level_resolves_to_its_gpus() -> None:
    idx = INDEX
    name = SITE.name
    assert gpus(f"site:{name}").size == idx.n_gpus
    hall_b = gpus(f"hall:{name}/hall-b")
    assert np.all(idx.rack_hall[idx.gpu_rack[hall_b]] == 1)
    assert hall_b.size == int(np.count_nonzero(idx.rack_hall[idx.gpu_rack] == 1))
    rack = gpus(f"rack:{name}/hall-b/1")  # the second rack of hall-b: global rack 3 + 1
    assert np.all(idx.gpu_rack[rack] == 4) and rack.size == np.count_nonzero(idx.gpu_rack == 4)
    dom = gpus(f"domain:{name}/hall-a/2")
    assert np.all(idx.gpu_domain[dom] == 2) and dom.size == 72
    tray = gpus(f"tray:{name}/hall-a/1/3")
    assert tray.size == np.count_nonzero(idx.gpu_tray == idx.gpu_tray[tray[0]])
    assert np.all(idx.gpu_rack[tray] == 1)
    assert np.all(idx.gpu_tray[tray] == idx.gpu_tray[gpus(f"rack:{name}/hall-a/1")][0] + 3)
    gpu = gpus(f"gpu:{name}/hall-a/2/5")
    assert gpu.tolist() == [2 * 72 + 5]
    link = resolve_target("link:medusa", INDEX, CABLES)
    assert link.cable == "medusa" and link.gpus.size == 0


def test_hgx_hall_domains_are_smaller_than_racks() -> None:
    rack = gpus(f"rack:{SITE.name}/hall-b/0")
    dom = gpus(f"domain:{SITE.name}/hall-b/0")
    assert 0 < dom.size < rack.size and np.isin(dom, rack).all()


def test_rack_and_domain_names_round_trip() -> None:
    for r in range(INDEX.n_racks):
        assert np.all(INDEX.gpu_rack[gpus(rack_target(INDEX, r))] == r)
    for d in range(INDEX.n_domains):
        assert np.all(INDEX.gpu_domain[gpus(domain_target(INDEX, d))] == d)


@pytest.mark.parametrize(("text", "needles"), [
    ("rack:bizerte-20mw/hall-a/3", ["rack '3' does not exist", "expected 0..2"]),
    ("rack:bizerte/hall-a/0", ["unknown site 'bizerte'", "bizerte-20mw"]),
    ("rack:bizerte-20mw/hall-c/0", ["no hall 'hall-c'", "hall-a, hall-b"]),
    ("rack:bizerte-20mw/hall-a", ["expected rack:SITE/HALL/R"]),
    ("shelf:bizerte-20mw/1", ["expected KIND:PATH", "rack"]),
    ("link:marsa", ["unknown cable 'marsa'", "medusa"]),
    ("gpu:bizerte-20mw/hall-a/0/72", ["GPU '72' does not exist", "0..71"]),
    ("domain:bizerte-20mw/hall-a/-1", ["NVLink domain '-1' does not exist"]),
    ("rack:bizerte-20mw/hall-a/²", ["rack '²' does not exist"]),  # a digit, not a number
])
def test_unknown_targets_are_one_clear_line(text: str, needles: list[str]) -> None:
    with pytest.raises(UserError) as err:
        resolve_target(text, INDEX, CABLES, field="events.4.target")
    message = str(err.value)
    assert message.startswith("events.4.target: ") and "\n" not in message
    for needle in needles:
        assert needle in message, message
