"""Multi-head latent attention (MLA) in decode: the absorbed form's attention FLOPs.

DeepSeek-V3 caches one 576-element latent per layer and token, which the catalog encodes as
``kv_heads=1, head_dim=288`` so that the KV bytes come out right. A decode step's attention
computes far more than that shape suggests: every one of the 128 heads scores against the
latent and RoPE key and sums the latents (``ModelSpec.decode_attention_width``).
"""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.inference import InferenceBatch, _decode_parts, decode_step_time, prefill_time
from tests.conftest import service_statics
from tests.test_kernels_inference import svc
from workloads.models import MODELS, get_model, model_from_dict


def test_deepseek_decode_attention_width_is_the_absorbed_form() -> None:
    ds = get_model("deepseek-v3")
    # 4·w = 2·heads·(rank + rope) + 2·heads·rank, heads 128, rank 512, rope 64
    assert 4 * ds.decode_attention_width == 2 * 128 * (512 + 64) + 2 * 128 * 512
    assert ds.decode_attention_width == 69_632 > ds.attention_width == 36_864
    # the KV cache is unchanged: 576 elements per layer and token
    assert ds.kv_bytes_per_token(1.0) == 61 * 576
    others = [m for m in MODELS.values() if m.name != "deepseek-v3"]
    assert others and all(m.decode_attention_width == m.attention_width for m in others)


def test_decode_attention_uses_the_decode_width_and_prefill_does_not() -> None:
    base = {"attn_width": np.array([36_864.0]), "batch": np.array([256.0]),
            "mean_prompt": np.array([8192.0]), "mean_output": np.array([1024.0])}
    plain = svc(**base)
    wide = InferenceBatch(**{**plain.__dict__, "decode_attn_width": np.array([69_632.0])})
    attn_plain = _decode_parts(np, plain)[3]
    attn_wide = _decode_parts(np, wide)[3]
    assert attn_wide[0] == pytest.approx(attn_plain[0] * 69_632 / 36_864, rel=1e-12)
    assert decode_step_time(np, wide)[0] >= decode_step_time(np, plain)[0]
    # the weights, KV bytes and GEMMs of the step do not change
    for i in range(3):
        assert _decode_parts(np, wide)[i][0] == _decode_parts(np, plain)[i][0]
    # prefill keeps the cache-sized width
    prompts = np.array([512.0, 8192.0])
    np.testing.assert_array_equal(prefill_time(np, wide, prompts), prefill_time(np, plain, prompts))


def test_inline_models_may_describe_latent_attention() -> None:
    spec = model_from_dict("my-mla", {"layers": 10, "hidden": 2048, "heads": 16,
                                      "kv_heads": 1, "head_dim": 144, "params": 2e9,
                                      "latent_kv_rank": 256, "latent_rope_dim": 32})
    assert spec.decode_attention_width == 16 * (2 * 256 + 32) / 2
    odd = model_from_dict("odd", {"layers": 4, "hidden": 1536, "heads": 3, "kv_heads": 1,
                                  "params": 1e9, "latent_kv_rank": 64, "latent_rope_dim": 7})
    assert odd.decode_attention_width == 3 * 135 / 2  # not rounded down
    plain = model_from_dict("my-gqa", {"layers": 10, "hidden": 2048, "heads": 16,
                                       "kv_heads": 4, "params": 2e9})
    assert plain.decode_attention_width == plain.attention_width
    with pytest.raises(ValueError, match="latent_kv_rank"):
        model_from_dict("bad", {"layers": 10, "hidden": 2048, "heads": 16, "kv_heads": 1,
                                "params": 2e9, "latent_kv_rank": -1})


def test_the_emulator_gives_the_kernels_the_decode_width() -> None:
    statics = service_statics("deepseek-v3", "fp8", "h200-hgx", 8)
    assert float(statics.decode_attn_width[0]) == 69_632.0
    assert float(statics.attn_width[0]) == 36_864.0
