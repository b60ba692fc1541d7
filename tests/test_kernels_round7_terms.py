"""Model terms of validation round 7: local (chunked) attention and the serving host's CPU."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import cupy_kernels.inference as inf
from cupy_kernels.inference import (
    InferenceBatch,
    decode_step_time,
    max_batch,
    prefill_time,
    replica_throughput,
)
from tests.conftest import service_statics
from tests.test_kernels_inference import svc
from workloads.models import get_model, model_from_dict

W = 8192.0
LOCAL = {"local_layers": 60.0, "attn_window": W}  # 60 of the 80 layers of svc() local


def test_local_layers_hold_and_read_only_their_window() -> None:
    """A sequence of ``4W`` tokens holds ``(20·4W + 60·W)/(80·4W)`` of the full cache."""
    ctx = np.array([W / 2, W, 4 * W])
    frac = inf._kv_layer_fraction(np, svc(3, **LOCAL), ctx)
    assert frac.tolist() == [1.0, 1.0, pytest.approx((20 + 60 / 4) / 80, rel=1e-12)]
    assert inf._kv_layer_fraction(np, svc(3), ctx).tolist() == [1.0, 1.0, 1.0]
    # a window of 0 means no local attention, whatever local_layers says
    assert inf._kv_layer_fraction(np, svc(1, local_layers=60.0, attn_window=0.0),
                                  np.array([4 * W]))[0] == 1.0


def test_long_sequences_fit_more_and_decode_faster_with_local_layers() -> None:
    long = {"mean_prompt": 3 * W, "mean_output": W, "gpus_per_replica": 8.0}
    full, local = svc(**long), svc(**long, **LOCAL)
    ratio = max_batch(np, local)[0] / max_batch(np, full)[0]
    assert ratio == pytest.approx(1 / ((20 + 60 / 4) / 80), rel=0.02)  # floor() aside
    b = {"batch": 64.0}
    assert decode_step_time(np, svc(**long, **LOCAL, **b))[0] < decode_step_time(
        np, svc(**long, **b))[0]
    # short sequences: identical to the model without the term
    short = {"mean_prompt": 1000.0, "mean_output": 1000.0, "batch": 64.0}
    assert decode_step_time(np, svc(**short, **LOCAL))[0] == decode_step_time(
        np, svc(**short))[0]
    assert replica_throughput(np, svc(**short, **LOCAL))[0] == replica_throughput(
        np, svc(**short))[0]


def test_prefill_attention_pairs_of_a_local_layer() -> None:
    """A prompt of ``2W``: a local layer attends over ``2·2W·W - W²`` of ``(2W)²`` pairs."""
    got = inf._prefill_pair_fraction(np, svc(1, **LOCAL), np.array([2 * W]))[0]
    assert got == pytest.approx((20 + 60 * 3 / 4) / 80, rel=1e-12)
    attn = {"attn_width": 8192.0}
    p = np.array([4 * W])
    assert prefill_time(np, svc(**attn, **LOCAL), p)[0] < prefill_time(np, svc(**attn), p)[0]
    p = np.array([W])
    assert prefill_time(np, svc(**attn, **LOCAL), p)[0] == prefill_time(np, svc(**attn), p)[0]


def test_no_local_layers_changes_nothing_bit_for_bit() -> None:
    """Rows of models without local attention (0 local layers) give the results they gave
    before the term existed (``None``)."""
    base = dict(svc(4, mean_prompt=np.array([100.0, 9000.0, 30000.0, 500.0]),
                    batch=np.array([1.0, 7.0, 64.0, 300.0]), attn_width=8192.0).__dict__)
    without = InferenceBatch(**base)
    zero = InferenceBatch(**{**base, "local_layers": np.zeros(4), "attn_window": np.zeros(4)})
    for f in (decode_step_time, max_batch, replica_throughput, inf.chunked_prefill_time):
        assert np.array_equal(f(np, zero), f(np, without)), f.__name__
    p = np.array([10.0, 5000.0, 9000.0, 40000.0])
    assert np.array_equal(prefill_time(np, zero, p), prefill_time(np, without, p))


def test_catalog_llama4_and_inline_local_attention() -> None:
    scout = get_model("llama4-scout")
    assert (scout.local_layers, scout.attention_window) == (36, 8192)
    assert get_model("llama4-maverick").moe_layers == 24
    m = model_from_dict("mine", {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8,
                                 "params": 8e9, "local_layers": 16, "attention_window": 4096})
    assert (m.local_layers, m.attention_window) == (16, 4096)
    with pytest.raises(ValueError, match="local_layers"):
        replace(scout, local_layers=49)
    with pytest.raises(ValueError, match="attention_window"):
        replace(scout, attention_window=0)


def _host_s(runtime: str | None, system: str = "b200-hgx",
            model: str = "llama3-8b") -> float:
    """Host seconds per running sequence and step of a one-GPU service of ``model`` on
    ``system``, with the service's ``runtime`` (``None``: left to its default)."""
    precision = "fp4" if model.startswith("qwen3") else "fp8"
    changes = {} if runtime is None else {"runtime": runtime}
    return float(service_statics(model, precision, system, 1, **changes).seq_overhead_s[0])


def test_grace_hosts_run_the_serving_runtime_slower() -> None:
    x86 = _host_s(None, "b200-hgx", "qwen3-30b-a3b")
    grace = _host_s(None, "gb200-nvl72", "qwen3-30b-a3b")
    assert x86 == inf.SEQ_STEP_OVERHEAD_S
    assert grace == pytest.approx(inf.SEQ_STEP_OVERHEAD_S * inf.HOST_FACTOR["grace"],
                                  rel=1e-12)
    assert inf.HOST_FACTOR["grace"] > 1.0 == inf.HOST_FACTOR["x86"]


def test_training_attention_of_local_layers() -> None:
    """Training at ``4W`` tokens: the attention term shrinks by the local layers' share of
    causal pairs; at ``W`` tokens nothing changes (bit for bit), nor without local layers."""
    from cupy_kernels.local_attention import causal_pair_fraction
    from cupy_kernels.training import training_step_time
    from tests.test_kernels_training import batch

    def compute(seq: float, **extra: np.ndarray) -> float:
        b = batch(attn_width=np.array([8192.0]), seq_len=np.array([seq]),
                  tokens_per_step=np.array([64 * seq]), **extra)
        return float(training_step_time(np, b).compute_s[0])

    local = {"local_layers": np.array([24.0]), "attn_window": np.array([W])}  # of 32
    none = {"local_layers": np.array([0.0]), "attn_window": np.array([0.0])}
    assert compute(W, **local) == compute(W)
    assert compute(4 * W, **none) == compute(4 * W)
    assert compute(4 * W, **local) < compute(4 * W)
    frac = causal_pair_fraction(np, 80.0, 60.0, W, 4 * W)
    assert float(frac) == pytest.approx((20 + 60 * (2 * 4 * W * W - W * W) / (16 * W * W)) / 80)


def test_a_compiled_runtime_spends_less_host_time_per_request() -> None:
    assert _host_s(None) == _host_s("python") == inf.SEQ_STEP_OVERHEAD_S
    assert _host_s("cpp") == pytest.approx(
        inf.SEQ_STEP_OVERHEAD_S * inf.RUNTIME_HOST_FACTOR["cpp"], rel=1e-12)
    assert _host_s("cpp", "gb200-nvl72") == pytest.approx(
        inf.SEQ_STEP_OVERHEAD_S * inf.RUNTIME_HOST_FACTOR["cpp"] * inf.HOST_FACTOR["grace"],
        rel=1e-12)
    assert 0.0 < inf.RUNTIME_HOST_FACTOR["cpp"] < 1.0 == inf.RUNTIME_HOST_FACTOR["python"]


def test_an_unknown_runtime_is_one_clear_error() -> None:
    with pytest.raises(Exception) as err:
        _host_s("java")
    assert "runtime" in str(err.value) and "java" in str(err.value)
