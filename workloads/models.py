"""LLM catalog: the architectures training jobs and inference services name.

Each :class:`ModelSpec` holds the public architecture figures the kernels need: parameter
counts (total and, for mixture-of-experts models, active per token), depth and widths, and the
attention shape that sizes the KV cache. Figures come from the model papers / model cards
listed in ``sources``; the derived quantities (KV bytes per token, weight bytes, FLOP per
token) are methods, so nothing is stored twice.

Use :func:`get_model` to look a model up by name; an unknown name raises
:class:`UnknownModelError` listing the known ones. A model a scenario describes inline is
an :class:`InlineModel`: its name, carrying its description, so that it belongs to that
scenario and not to the process.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = [
    "BYTES_PER_ELEMENT",
    "MODELS",
    "InlineModel",
    "ModelSpec",
    "UnknownModelError",
    "get_model",
    "model_from_dict",
    "model_names",
    "register_model",
]

BYTES_PER_ELEMENT: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0,
                                       "fp4": 0.5}
"""Storage size of one weight / KV element, in bytes, by precision name."""


class UnknownModelError(KeyError, ValueError):
    """A model name that is not in the catalog.

    A ``KeyError`` (it is a failed lookup) and a ``ValueError`` (so pydantic validators can
    let it through as a validation error). ``str()`` gives the plain one-line message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one decoder-only transformer LLM.

    ``moe_layers`` (MoE only) is how many layers carry routed experts (``None``: all).
    ``local_layers`` of the layers attend over at most the last ``attention_window`` tokens
    (local or chunked attention: Llama 4's chunked layers); 0 (default) means every layer
    attends over the whole context.

    ``params`` is the total parameter count and ``active_params`` the parameters used per
    token (equal for dense models; for MoE only ``active_experts`` of ``experts`` run).
    ``hidden`` is the model width, ``ffn_hidden`` the feed-forward width (per expert for
    MoE), ``heads`` the query heads and ``kv_heads`` the key/value heads (grouped-query
    attention), each ``head_dim`` wide. ``vocab`` is the tokenizer size and ``context`` the
    longest supported sequence, in tokens. ``sources`` cites where the figures come from.

    ``latent_kv_rank`` and ``latent_rope_dim`` (multi-head latent attention, MLA; 0 for
    every other model) are the width of the compressed KV latent every head shares and of
    its decoupled RoPE key: they set what a decode step's attention computes
    (:attr:`decode_attention_width`).
    """

    name: str
    params: float
    active_params: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn_hidden: int
    vocab: int
    experts: int = 1
    active_experts: int = 1
    context: int = 8192
    sources: tuple[str, ...] = ()
    moe_layers: int | None = None
    local_layers: int = 0
    attention_window: int = 0
    latent_kv_rank: int = 0
    latent_rope_dim: int = 0

    def __post_init__(self) -> None:
        if self.active_params > self.params:
            raise ValueError(f"{self.name}: active_params ({self.active_params:g}) exceeds "
                             f"params ({self.params:g})")
        if self.head_dim < 1:
            raise ValueError(f"{self.name}: head_dim ({self.head_dim}) must be >= 1 "
                             f"(hidden {self.hidden} / heads {self.heads} by default)")
        if self.heads % self.kv_heads:
            raise ValueError(f"{self.name}: heads ({self.heads}) must be a multiple of "
                             f"kv_heads ({self.kv_heads})")
        if not 1 <= self.active_experts <= self.experts:
            raise ValueError(f"{self.name}: need 1 <= active_experts ({self.active_experts}) "
                             f"<= experts ({self.experts})")
        if self.moe_layers is not None and not 0 <= self.moe_layers <= self.layers:
            raise ValueError(f"{self.name}: need 0 <= moe_layers ({self.moe_layers}) "
                             f"<= layers ({self.layers})")
        if not 0 <= self.local_layers <= self.layers:
            raise ValueError(f"{self.name}: need 0 <= local_layers ({self.local_layers}) "
                             f"<= layers ({self.layers})")
        if self.attention_window < 0 or (self.local_layers and not self.attention_window):
            raise ValueError(f"{self.name}: attention_window ({self.attention_window}) must "
                             "be > 0 tokens when local_layers is set")
        if self.latent_kv_rank < 0 or self.latent_rope_dim < 0:
            raise ValueError(f"{self.name}: latent_kv_rank ({self.latent_kv_rank}) and "
                             f"latent_rope_dim ({self.latent_rope_dim}) must be >= 0")

    @property
    def is_moe(self) -> bool:
        """Whether the model is a mixture of experts."""
        return self.experts > 1

    def tensor_parallel_problem(self, tp: int, field: str = "gpus_per_replica",
                                kv_copies: bool = True) -> str | None:
        """Why ``tp`` GPUs cannot split this model's attention in tensor parallel, or
        ``None`` when they can (``field`` names the setting in the message).

        Each GPU takes ``heads / tp`` query heads, so ``tp`` must divide ``heads``; the
        key/value heads are split the same way, or, where the runtime copies them
        (``kv_copies``: serving, vLLM's QKV projection) and ``tp`` exceeds them, each is
        copied to ``tp / kv_heads`` GPUs. Sources: vLLM,
        ``ModelConfig.verify_with_parallel_config`` ("Total number of attention heads must
        be divisible by tensor parallel size"); Megatron-Core's attention divides both
        ``num_attention_heads`` and ``num_query_groups`` by the TP size (training:
        ``kv_copies=False``). Latent attention (one latent per token for all heads) is
        held to the query heads only.
        """
        def splits(n: int) -> bool:
            if self.heads % n:
                return False
            if self.latent_kv_rank or self.kv_heads % n == 0:
                return True
            return kv_copies and n % self.kv_heads == 0

        if tp <= 1 or splits(tp):
            return None
        sizes = [str(n) for n in range(1, self.heads + 1) if splits(n)]
        what = (f"{self.heads} attention heads" if self.heads % tp
                else f"{self.kv_heads} key/value heads")
        listed = f"{', '.join(sizes[:-1])} or {sizes[-1]}" if len(sizes) > 1 else sizes[0]
        return (f"{field} {tp} cannot split {self.name}'s {what} evenly; expected a "
                f"tensor-parallel size of {listed}")

    def training_split_problem(self, pp: int, ep: int,
                               virtual_stages: int | None = None) -> str | None:
        """Why a training job cannot split this model into ``pp`` pipeline stages (of
        ``virtual_stages`` interleaved chunks each) and ``ep`` expert-parallel ranks, or
        ``None`` when it can.

        Every stage chunk needs at least one layer (``pp·virtual_stages <= layers``;
        uneven splits are allowed, as Llama 3 405B's 126 layers on 16 stages), and the
        routed experts of a layer are dealt out whole to the ``ep`` ranks, so ``ep``
        divides ``experts`` (Megatron-Core: ``num_moe_experts % expert_model_parallel_size
        == 0``); a dense model has no experts to split (``ep`` 1).
        """
        chunks = pp * (virtual_stages or 1)
        if chunks > self.layers:
            what = (f"pp {pp}" if virtual_stages is None or virtual_stages == 1
                    else f"pp {pp} x virtual_stages {virtual_stages} = {chunks}")
            return (f"{what} exceeds {self.name}'s {self.layers} layers; expected at "
                    "least one layer per pipeline stage")
        if ep > 1 and not self.is_moe:
            return f"ep {ep} needs a mixture-of-experts model; {self.name} is dense (ep 1)"
        if self.experts % ep:
            sizes = [str(n) for n in range(1, self.experts + 1) if self.experts % n == 0]
            listed = f"{', '.join(sizes[:-1])} or {sizes[-1]}"
            return (f"ep {ep} cannot split {self.name}'s {self.experts} experts evenly; "
                    f"expected an expert-parallel size of {listed}")
        return None

    @property
    def expert_params(self) -> float:
        """Parameters in routed experts: ``moe_layers · experts · 3 · hidden · ffn_hidden``.

        Gated (SwiGLU) experts have three ``hidden × ffn_hidden`` matrices. Capped at 98% of
        ``params`` (attention and embeddings stay dense); 0 for dense models.
        """
        if not self.is_moe:
            return 0.0
        layers = self.layers if self.moe_layers is None else self.moe_layers
        return min(layers * self.experts * 3.0 * self.hidden * self.ffn_hidden,
                   0.98 * self.params)

    @property
    def non_expert_params(self) -> float:
        """Parameters outside the routed experts (attention, dense and shared MLPs,
        embeddings): what every GPU of a replica holds whole when a MoE model is served
        with attention data parallelism (``params`` for dense models)."""
        return self.params - self.expert_params

    @property
    def attention_width(self) -> int:
        """Width of the query projection, ``heads · head_dim`` (attention FLOPs scale with it)."""
        return self.heads * self.head_dim

    @property
    def decode_attention_width(self) -> float:
        """Width ``w`` of a decode step's attention core: it computes ``4·w`` FLOP per layer
        and cached token (scores ``2·w``, weighted values ``2·w``), in elements.

        ``attention_width`` for ordinary (grouped-query) attention. With multi-head latent
        attention the runtimes decode in the absorbed form (DeepSeek-V3 report, sec. 2.1.1;
        FlashMLA): every head scores the query against the shared latent and RoPE key
        (``rank + rope`` wide) and sums the latents (``rank`` wide), so
        ``4·w = 2·heads·(rank + rope) + 2·heads·rank``, ``w = heads·(2·rank + rope)/2``
        (DeepSeek-V3: 69,632, against 36,864 from the cache-sized ``head_dim``).
        """
        if self.latent_kv_rank:
            return self.heads * (2 * self.latent_kv_rank + self.latent_rope_dim) / 2
        return float(self.attention_width)

    def kv_bytes_per_token(self, bytes_per_element: float = 2.0) -> float:
        """KV-cache bytes one token occupies: ``2 · layers · kv_heads · head_dim · bytes``.

        The factor 2 is one key and one value vector per layer. Default: bf16 (2 bytes).
        """
        return 2.0 * self.layers * self.kv_heads * self.head_dim * bytes_per_element

    def weight_bytes(self, bytes_per_param: float = 2.0) -> float:
        """Bytes to hold all ``params`` weights at ``bytes_per_param`` (default bf16)."""
        return self.params * bytes_per_param

    def forward_flops_per_token(self) -> float:
        """FLOP of one forward pass per token, ``2 · active_params`` (attention excluded)."""
        return 2.0 * self.active_params

    def train_flops_per_token(self) -> float:
        """FLOP to train on one token (forward + backward), ``6 · active_params``."""
        return 6.0 * self.active_params


_LLAMA2_PAPER = "Touvron et al., Llama 2, arXiv:2307.09288, Table 1 and model cards"
_QWEN3 = "Qwen Team, Qwen3 Technical Report, arXiv:2505.09388, Table 2; Hugging Face config.json"
_LLAMA3_PAPER = "Llama Team, The Llama 3 Herd of Models, arXiv:2407.21783, Table 3"
_LLAMA32_CARD = "meta-llama/Llama-3.2 model card and config.json (Hugging Face)"
_LLAMA4_SCOUT = ("meta-llama/Llama-4-Scout-17B-16E model card (17B active, 109B total, 16 experts, "
                 "10M context) and config.json text_config (48 layers, hidden 5120, 40 heads, "
                 "8 KV heads of 128, expert width 8192, vocab 202,048)")
_LLAMA4_MAVERICK = ("meta-llama/Llama-4-Maverick-17B-128E model card (17B active, 400B total, 128 "
                    "experts, 1M context) and config.json text_config (as Scout; "
                    "interleave_moe_layer_step 2: 24 MoE layers, dense width 16,384)")

_CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="llama3.2-1b", params=1.24e9, active_params=1.24e9, layers=16, hidden=2048,
        heads=32, kv_heads=8, head_dim=64, ffn_hidden=8192, vocab=128256, context=131072,
        sources=(_LLAMA32_CARD,)),
    ModelSpec(
        name="llama3.2-3b", params=3.21e9, active_params=3.21e9, layers=28, hidden=3072,
        heads=24, kv_heads=8, head_dim=128, ffn_hidden=8192, vocab=128256, context=131072,
        sources=(_LLAMA32_CARD,)),
    ModelSpec(
        name="llama3-8b", params=8.03e9, active_params=8.03e9, layers=32, hidden=4096,
        heads=32, kv_heads=8, head_dim=128, ffn_hidden=14336, vocab=128256, context=131072,
        sources=(_LLAMA3_PAPER, "meta-llama/Llama-3.1-8B model card")),
    ModelSpec(
        name="llama3-70b", params=70.6e9, active_params=70.6e9, layers=80, hidden=8192,
        heads=64, kv_heads=8, head_dim=128, ffn_hidden=28672, vocab=128256, context=131072,
        sources=(_LLAMA3_PAPER, "meta-llama/Llama-3.1-70B model card")),
    ModelSpec(
        name="llama3-405b", params=405.9e9, active_params=405.9e9, layers=126, hidden=16384,
        heads=128, kv_heads=8, head_dim=128, ffn_hidden=53248, vocab=128256, context=131072,
        sources=(_LLAMA3_PAPER, "meta-llama/Llama-3.1-405B model card")),
    ModelSpec(
        name="llama2-7b", params=6.74e9, active_params=6.74e9, layers=32, hidden=4096,
        heads=32, kv_heads=32, head_dim=128, ffn_hidden=11008, vocab=32000, context=4096,
        sources=(_LLAMA2_PAPER,)),
    ModelSpec(
        name="llama2-70b", params=69.0e9, active_params=69.0e9, layers=80, hidden=8192,
        heads=64, kv_heads=8, head_dim=128, ffn_hidden=28672, vocab=32000, context=4096,
        sources=(_LLAMA2_PAPER,)),
    ModelSpec(
        name="qwen3-30b-a3b", params=30.5e9, active_params=3.3e9, layers=48, hidden=2048,
        heads=32, kv_heads=4, head_dim=128, ffn_hidden=768, vocab=151936, experts=128,
        active_experts=8, context=32768, sources=(_QWEN3,)),
    ModelSpec(
        name="qwen3-235b-a22b", params=235e9, active_params=22e9, layers=94, hidden=4096,
        heads=64, kv_heads=4, head_dim=128, ffn_hidden=1536, vocab=151936, experts=128,
        active_experts=8, context=32768, sources=(_QWEN3,)),
    ModelSpec(
        name="mixtral-8x7b", params=46.7e9, active_params=12.9e9, layers=32, hidden=4096,
        heads=32, kv_heads=8, head_dim=128, ffn_hidden=14336, vocab=32000, experts=8,
        active_experts=2, context=32768,
        sources=("Jiang et al., Mixtral of Experts, arXiv:2401.04088, Table 1",)),
    # DeepSeek-V3 uses multi-head latent attention (MLA): per layer and token it caches one
    # compressed latent of kv_lora_rank 512 plus a 64-wide decoupled RoPE key, 576 elements
    # shared by all 128 heads. It has no real "kv_heads"; kv_heads=1, head_dim=288 is an
    # APPROXIMATION chosen so that 2·kv_heads·head_dim = 576 and kv_bytes_per_token() gives
    # MLA's cache size. The real attention head width is 128 (+64 RoPE); latent_kv_rank and
    # latent_rope_dim give what a decode step's attention computes over it. ffn_hidden is the
    # routed-expert width (the first 3 layers are dense with 18,432); 256 routed experts,
    # 8 active per token (plus 1 shared expert, not counted here).
    ModelSpec(
        name="deepseek-v3", params=671e9, active_params=37e9, layers=61, hidden=7168,
        heads=128, kv_heads=1, head_dim=288, ffn_hidden=2048, vocab=129280, experts=256,
        active_experts=8, context=131072, moe_layers=58, latent_kv_rank=512,
        latent_rope_dim=64,
        sources=("DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv:2412.19437",
                 "deepseek-ai/DeepSeek-V3 config.json (kv_lora_rank 512, qk_rope_head_dim 64)")),
    # Llama 4: 17B active parameters per token; every layer's MoE block routes each token to
    # one of the routed experts and also runs a shared expert (counted in active_params,
    # outside expert_params). Scout's 48 layers all carry experts; Maverick alternates dense
    # (16,384-wide) and MoE layers (moe_layers 24). ffn_hidden is the routed-expert width.
    # Three layers in four use chunked attention over 8,192-token chunks (config
    # attention_chunk_size 8192, no_rope_layer_interval 4: every 4th layer is global), so
    # local_layers 36 with a window of 8,192 tokens.
    ModelSpec(
        name="llama4-scout", params=109e9, active_params=17e9, layers=48, hidden=5120,
        heads=40, kv_heads=8, head_dim=128, ffn_hidden=8192, vocab=202048, experts=16,
        active_experts=1, context=10_000_000, local_layers=36, attention_window=8192,
        sources=(_LLAMA4_SCOUT,)),
    ModelSpec(
        name="llama4-maverick", params=400e9, active_params=17e9, layers=48, hidden=5120,
        heads=40, kv_heads=8, head_dim=128, ffn_hidden=8192, vocab=202048, experts=128,
        active_experts=1, context=1_000_000, moe_layers=24, local_layers=36,
        attention_window=8192, sources=(_LLAMA4_MAVERICK,)),
)

MODELS: dict[str, ModelSpec] = {m.name: m for m in _CATALOG}
"""The catalog, by name (in catalog order), plus models registered with
:func:`register_model`."""


class InlineModel(str):
    """The name of a model a scenario describes inline, carrying that description (``spec``).

    It is the name wherever a name is used (tables, keys, comparisons) and resolves to its
    own description in :func:`get_model`, so an inline model belongs to its scenario, not
    to the process: a notebook cell run again with a changed model, or the points of a
    ``--set`` grid over a model's dimensions, each use their own description under the
    same name.
    """

    spec: ModelSpec

    def __new__(cls, spec: ModelSpec) -> InlineModel:
        self = super().__new__(cls, spec.name)
        self.spec = spec
        return self

    def __reduce__(self) -> tuple[type[InlineModel], tuple[ModelSpec]]:
        return (InlineModel, (self.spec,))  # to dask workers and the cell cache with its spec

    def __deepcopy__(self, memo: dict[int, object]) -> InlineModel:
        return self  # immutable

_INLINE_KEYS = ("layers", "hidden", "heads", "kv_heads", "params")


_COUNT_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_PARAM_KEYS = ("params", "active_params")


def _inline_number(name: str, key: str, value: object) -> float:
    """One field of an inline model as a number: parameter counts may end in K, M, B or T
    (``32B``) and be fractional; every other field is a whole count. Raises
    ``ValueError`` naming the model, the field and the value."""
    hint = " (parameter counts may end in K, M, B or T, e.g. 32B)" if key in _PARAM_KEYS else ""
    number: float | None = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):  # numpy's too
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        scale = _COUNT_SUFFIX.get(text[-1:].lower(), 0.0) if key in _PARAM_KEYS else 0.0
        try:
            number = float(text[:-1]) * scale if scale else float(text)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise ValueError(f"model {name!r}: {key}: got {value!r}; expected a number{hint}")
    if key not in _PARAM_KEYS and not number.is_integer():
        raise ValueError(f"model {name!r}: {key}: got {value!r}; expected a whole number")
    return number


def model_from_dict(name: str, fields: dict[str, object]) -> ModelSpec:
    """A :class:`ModelSpec` from an inline description (a scenario's own model).

    Required: ``layers``, ``hidden``, ``heads``, ``kv_heads``, ``params`` (parameter counts
    may be written ``32B``; the other fields are whole counts). Optional:
    ``active_params`` (default ``params``), ``head_dim`` (``hidden/heads``),
    ``ffn_hidden`` (``3.5·hidden``), ``vocab`` (128,256), ``experts``/``active_experts``
    (1), ``context`` (8,192), ``moe_layers``, ``local_layers``/``attention_window`` (0),
    ``latent_kv_rank``/``latent_rope_dim`` (0: no latent attention). Raises ``ValueError``
    naming the field.
    """
    missing = [k for k in _INLINE_KEYS if k not in fields]
    if missing:
        raise ValueError(f"model {name!r}: missing {', '.join(missing)} "
                         f"(an inline model needs {', '.join(_INLINE_KEYS)})")
    known = set(_INLINE_KEYS) | {"active_params", "head_dim", "ffn_hidden", "vocab",
                                 "experts", "active_experts", "context", "moe_layers",
                                 "local_layers", "attention_window", "latent_kv_rank",
                                 "latent_rope_dim"}
    extra = sorted(set(fields) - known)
    if extra:
        raise ValueError(f"model {name!r}: unknown field {extra[0]!r}; "
                         f"expected some of {', '.join(sorted(known))}")
    f = {k: _inline_number(name, k, v) for k, v in fields.items()}
    hidden, heads = int(f["hidden"]), int(f["heads"])
    for k in ("layers", "hidden", "heads", "kv_heads", "params"):
        if f[k] <= 0:
            raise ValueError(f"model {name!r}: {k} = {f[k]:g}, expected > 0")
    return ModelSpec(
        name=name, params=f["params"], active_params=f.get("active_params", f["params"]),
        layers=int(f["layers"]), hidden=hidden, heads=heads, kv_heads=int(f["kv_heads"]),
        head_dim=int(f.get("head_dim", hidden // heads)),
        ffn_hidden=int(f.get("ffn_hidden", 3.5 * hidden)), vocab=int(f.get("vocab", 128256)),
        experts=int(f.get("experts", 1)), active_experts=int(f.get("active_experts", 1)),
        context=int(f.get("context", 8192)),
        moe_layers=int(f["moe_layers"]) if "moe_layers" in f else None,
        local_layers=int(f.get("local_layers", 0)),
        attention_window=int(f.get("attention_window", 0)),
        latent_kv_rank=int(f.get("latent_kv_rank", 0)),
        latent_rope_dim=int(f.get("latent_rope_dim", 0)),
        sources=("described inline in the scenario",))


def register_model(spec: ModelSpec) -> None:
    """Make ``spec`` known to :func:`get_model` by name in every scenario of this process
    (a plug-in's model; a scenario's inline models are :class:`InlineModel` instead).

    Registering the same definition twice is a no-op; a different definition under a
    catalog or already-registered name raises ``ValueError``.
    """
    have = MODELS.get(spec.name)
    if have is not None and have != spec:
        raise ValueError(f"model {spec.name!r} is already defined differently; "
                         "choose another name for the inline model")
    MODELS[spec.name] = spec


def model_names() -> list[str]:
    """Known model names, sorted."""
    return sorted(MODELS)


def get_model(name: str) -> ModelSpec:
    """The description of ``name``: its own for an :class:`InlineModel`, else the catalog
    entry; raises :class:`UnknownModelError` if there is none."""
    if isinstance(name, InlineModel):
        return name.spec
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; known models: {', '.join(model_names())}") from None
