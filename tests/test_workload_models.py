"""The LLM catalog: published figures, derived quantities, lookup errors."""

from __future__ import annotations

import pytest

from workloads.models import (
    MODELS,
    ModelSpec,
    UnknownModelError,
    get_model,
    model_from_dict,
    model_names,
)


@pytest.mark.parametrize(
    ("name", "layers", "hidden", "heads", "params", "ffn"),
    [
        ("llama3-8b", 32, 4096, 32, 8.03e9, 14336),
        ("llama3-70b", 80, 8192, 64, 70.6e9, 28672),
        ("llama3-405b", 126, 16384, 128, 405.9e9, 53248),
    ],
)
def test_llama3_figures_match_the_paper(name: str, layers: int, hidden: int, heads: int,
                                        params: float, ffn: int) -> None:
    m = get_model(name)
    assert (m.layers, m.hidden, m.heads, m.kv_heads, m.ffn_hidden) == (layers, hidden, heads,
                                                                       8, ffn)
    assert m.params == params and m.active_params == params
    assert m.vocab == 128256
    assert m.head_dim * m.heads == m.hidden
    assert not m.is_moe
    assert m.sources


def test_mixtral_is_moe_with_fewer_active_params() -> None:
    m = get_model("mixtral-8x7b")
    assert m.is_moe and (m.experts, m.active_experts) == (8, 2)
    assert (m.params, m.active_params) == (46.7e9, 12.9e9)
    assert (m.layers, m.hidden, m.heads, m.kv_heads) == (32, 4096, 32, 8)


def test_deepseek_v3_kv_cache_matches_mla_latent() -> None:
    m = get_model("deepseek-v3")
    assert (m.params, m.active_params, m.layers) == (671e9, 37e9, 61)
    # MLA caches kv_lora_rank 512 + rope 64 = 576 elements per layer and token.
    assert m.kv_bytes_per_token(1.0) == 61 * 576


def test_kv_bytes_per_token_llama3_70b_bf16() -> None:
    assert get_model("llama3-70b").kv_bytes_per_token() == 2 * 80 * 8 * 128 * 2 == 327_680
    assert get_model("llama3-70b").kv_bytes_per_token(1.0) == 163_840


def test_flops_and_weight_bytes() -> None:
    m = get_model("llama3-8b")
    assert m.train_flops_per_token() == pytest.approx(6 * 8.03e9)
    assert m.forward_flops_per_token() == pytest.approx(2 * 8.03e9)
    assert m.weight_bytes(1.0) == pytest.approx(8.03e9)
    moe = get_model("mixtral-8x7b")
    assert moe.train_flops_per_token() == pytest.approx(6 * 12.9e9)


def test_unknown_model_error_lists_known_names() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model("gpt-9")
    message = str(info.value)
    assert "'gpt-9'" in message and "llama3-70b" in message and "\n" not in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_catalog_is_consistent() -> None:
    assert model_names() == sorted(MODELS)
    assert {"llama3-8b", "llama3-70b", "llama3-405b", "mixtral-8x7b"} <= set(MODELS)
    for name, m in MODELS.items():
        assert name == m.name
        assert 0 < m.active_params <= m.params
        assert m.heads % m.kv_heads == 0


def test_inconsistent_spec_is_rejected() -> None:
    with pytest.raises(ValueError, match="active_params"):
        ModelSpec(name="bad", params=1e9, active_params=2e9, layers=1, hidden=64, heads=1,
                  kv_heads=1, head_dim=64, ffn_hidden=256, vocab=100)


def test_more_moe_layers_than_layers_is_rejected() -> None:
    moe = {"name": "m", "params": 47e9, "active_params": 13e9, "layers": 32, "hidden": 4096,
           "heads": 32, "kv_heads": 8, "head_dim": 128, "ffn_hidden": 14336, "vocab": 32000,
           "experts": 8, "active_experts": 2}
    assert ModelSpec(**moe, moe_layers=32).expert_params > 0
    with pytest.raises(ValueError, match=r"m: need 0 <= moe_layers \(40\) <= layers \(32\)"):
        ModelSpec(**moe, moe_layers=40)


def test_a_model_with_zero_wide_heads_is_rejected() -> None:
    """More heads than hidden units gave head_dim 0 (hidden // heads): a KV cache of 0
    bytes per token, and a divide by zero in the serving kernels."""
    fields = {"params": 1e9, "layers": 4, "hidden": 16, "heads": 32, "kv_heads": 32}
    with pytest.raises(ValueError, match=r"odd: head_dim \(0\) must be >= 1 \(hidden 16 / "
                                         r"heads 32 by default\)"):
        model_from_dict("odd", fields)
    assert model_from_dict("odd", fields | {"head_dim": 8}).head_dim == 8
