"""Plain-PyTorch reference of the seven model families, read from configs/README.md (model keys,
tensor names and layouts, RoPE convention) and the families' papers and reference code, written
independently of the C++ model. Used by gen_parity.py and self_check.py.

Shapes: B batch, T time, C d_model, V vocab, NH query heads, NKV key/value heads, HS head size,
H MLP hidden width, E experts, N = B*T tokens.

    cfg = load_model_config("tools/parity/configs/llama.json")  # bare model section or full config
    specs = param_specs(cfg, vocab_size=32)                        # [ParamSpec(name, shape, kind)]
    params = init_params(specs, cfg, seed=1)                       # {name: fp32 tensor}
    out = forward(cfg, params, tokens, targets)                   # loss, ce, z_loss, aux_loss
"""

import json
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Every key of the model section (configs/README.md) and its allowed values (a tuple of strings)
# or Python type(s).
NUMBER = (int, float)
MODEL_KEYS = {
    "family": ("gpt2", "gpt3", "llama", "palm", "grok1", "mistral", "mixtral", "custom"),
    "block_size": int,
    "n_layer": int,
    "d_model": int,
    "n_head": int,
    "n_kv_head": int,
    "head_dim": int,
    "ffn_rule": ("ratio", "two_thirds"),
    "ffn_ratio": NUMBER,
    "ffn_multiple_of": int,
    "activation": ("gelu", "swiglu", "geglu"),
    "norm": ("layernorm", "rmsnorm"),
    "norm_bias": bool,
    "norm_eps": NUMBER,
    "norm_placement": ("pre", "sandwich"),
    "block": ("sequential", "parallel"),
    "positions": ("learned", "rope"),
    "rope_theta": NUMBER,
    "bias": bool,
    "tie_embeddings": bool,
    "attention": ("dense", "sliding", "alternating"),
    "window": int,
    "attn_softcap": NUMBER,
    "embedding_scale": ("none", "sqrt_d_model"),
    "logit_scale": ("none", "inv_sqrt_d_model", "inv_sqrt_3"),
    "z_loss": NUMBER,
    "moe": dict,
    "dropout": NUMBER,
    "init_std": NUMBER,
    "embedding_init_std": NUMBER,
}
MOE_KEYS = {
    "n_expert": int,
    "top_k": int,
    "router": ("softmax_topk", "topk_softmax"),
    "aux_loss_coef": NUMBER,
}


class ConfigError(ValueError):
    pass


def _check_keys(section, schema, where):
    unknown = sorted(set(section) - set(schema))
    missing = sorted(set(schema) - set(section))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}")
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")
    for key, allowed in schema.items():
        value = section[key]
        if isinstance(allowed, tuple) and allowed and isinstance(allowed[0], str):
            if value not in allowed:
                raise ConfigError(f"{where}.{key}: '{value}' is not one of {', '.join(allowed)}")
        elif isinstance(value, bool) and allowed is not bool:
            raise ConfigError(f"{where}.{key}: expected {allowed}, got a bool")
        elif not isinstance(value, allowed):
            raise ConfigError(f"{where}.{key}: expected {allowed}, got {value!r}")


def parse_model_config(obj, where="config"):
    """Accepts a bare model section or a full resolved config with a "model" key."""
    model = obj["model"] if isinstance(obj.get("model"), dict) else obj
    where = f"{where}: model" if model is not obj else where
    _check_keys(model, MODEL_KEYS, where)
    _check_keys(model["moe"], MOE_KEYS, f"{where}.moe")
    cfg = dict(model)
    cfg["moe"] = dict(model["moe"])
    nh = cfg["n_head"]
    nkv = cfg["n_kv_head"] or nh
    if nh % nkv:
        raise ConfigError(f"{where}.n_kv_head: {nkv} does not divide n_head {nh}")
    if not cfg["head_dim"] and cfg["d_model"] % nh:
        raise ConfigError(f"{where}.n_head: {nh} does not divide d_model {cfg['d_model']}")
    if cfg["positions"] == "rope" and head_size(cfg) % 2:
        raise ConfigError(f"{where}.head_dim: RoPE needs an even head size")
    if cfg["dropout"] != 0:
        raise ConfigError(f"{where}.dropout: parity runs need 0, got {cfg['dropout']}")
    if cfg["block"] == "parallel" and cfg["norm_placement"] == "sandwich":
        raise ConfigError(f"{where}: a parallel block with sandwich norms is not defined")
    moe = cfg["moe"]
    if moe["n_expert"]:
        if not 1 <= moe["top_k"] <= moe["n_expert"]:
            raise ConfigError(f"{where}.moe.top_k: must be in 1..n_expert, got {moe['top_k']}")
        if cfg["activation"] == "gelu":
            raise ConfigError(f"{where}.activation: experts are gated units (swiglu or geglu)")
        if cfg["bias"]:
            raise ConfigError(f"{where}.bias: the expert tensors have no biases in the layout")
    return cfg


def load_model_config(path):
    with open(path) as f:
        return parse_model_config(json.load(f), where=str(path))


# ---------------------------------------------------------------------------------------------
# Derived sizes


def ceil_to(x, multiple):
    return -(-x // multiple) * multiple


def ffn_hidden(cfg):
    """configs/README.md: ratio: ceil_to(round(r*d), m);
    two_thirds: ceil_to(floor(2*floor(r*d)/3), m).
    round() is half away from zero (as C++ std::round), not Python's half-to-even."""
    d, r, m = cfg["d_model"], cfg["ffn_ratio"], max(1, cfg["ffn_multiple_of"])
    if cfg["ffn_rule"] == "ratio":
        return ceil_to(int(math.floor(r * d + 0.5)), m)
    return ceil_to((2 * int(math.floor(r * d))) // 3, m)


def n_kv(cfg):
    return cfg["n_kv_head"] or cfg["n_head"]


def head_size(cfg):
    return cfg["head_dim"] or cfg["d_model"] // cfg["n_head"]


def layer_window(cfg, layer):
    """Window W of a layer (query i sees keys i-W..i), or None for dense causal attention."""
    if cfg["attention"] == "sliding":
        return cfg["window"]
    if cfg["attention"] == "alternating" and layer % 2 == 1:
        return cfg["window"]
    return None


# ---------------------------------------------------------------------------------------------
# Parameter table


@dataclass
class ParamSpec:
    name: str
    shape: tuple
    kind: str  # configs/README.md: embedding, matrix, bias, norm_gain, norm_bias, router, expert


def param_specs(cfg, vocab_size):
    C, V = cfg["d_model"], vocab_size
    NH, NKV, HS, H = cfg["n_head"], n_kv(cfg), head_size(cfg), ffn_hidden(cfg)
    gated = cfg["activation"] != "gelu"
    specs = []

    def add(name, shape, kind):
        specs.append(ParamSpec(name, tuple(shape), kind))

    def norm(prefix):
        add(prefix + ".weight", (C,), "norm_gain")
        if cfg["norm"] == "layernorm" and cfg["norm_bias"]:
            add(prefix + ".bias", (C,), "norm_bias")

    def linear(prefix, out_features, in_features):
        add(prefix + ".weight", (out_features, in_features), "matrix")
        if cfg["bias"]:
            add(prefix + ".bias", (out_features,), "bias")

    add("transformer.wte.weight", (V, C), "embedding")
    if cfg["positions"] == "learned":
        add("transformer.wpe.weight", (cfg["block_size"], C), "embedding")
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}"
        norm(p + ".ln_1")
        if cfg["norm_placement"] == "sandwich":
            norm(p + ".ln_1_post")
        linear(p + ".attn.c_attn", (NH + 2 * NKV) * HS, C)
        linear(p + ".attn.c_proj", C, NH * HS)
        if cfg["block"] == "sequential":
            norm(p + ".ln_2")
            if cfg["norm_placement"] == "sandwich":
                norm(p + ".ln_2_post")
        E = cfg["moe"]["n_expert"]
        if E:
            add(p + ".moe.router.weight", (E, C), "router")
            for e in range(E):
                add(f"{p}.moe.experts.{e}.c_fc.weight", (2 * H, C), "expert")
                add(f"{p}.moe.experts.{e}.c_proj.weight", (C, H), "expert")
        else:
            linear(p + ".mlp.c_fc", 2 * H if gated else H, C)
            linear(p + ".mlp.c_proj", C, H)
    norm("transformer.ln_f")
    if not cfg["tie_embeddings"]:
        add("lm_head.weight", (V, C), "matrix")
    return specs


def init_params(specs, cfg, seed):
    """Seeded fp32 initialisation, drawn in table order from one generator:
    embedding N(0, embedding_init_std or init_std); matrix/router/expert N(0, init_std);
    bias/norm_bias N(0, 0.1*init_std); norm_gain 1 + N(0, 0.1). (Any init works: the C++ side
    loads these weights; the non-trivial biases and gains make every tensor matter at step 0.)"""
    g = torch.Generator().manual_seed(seed)
    std = cfg["init_std"]
    emb_std = cfg["embedding_init_std"] or std
    params = {}
    for s in specs:
        z = torch.randn(s.shape, generator=g, dtype=torch.float32)
        if s.kind == "embedding":
            w = z * emb_std
        elif s.kind in ("matrix", "router", "expert"):
            w = z * std
        elif s.kind in ("bias", "norm_bias"):
            w = z * (0.1 * std)
        else:  # norm_gain
            w = 1.0 + 0.1 * z
        params[s.name] = w.contiguous()
    return params


# ---------------------------------------------------------------------------------------------
# Layers


def norm(cfg, x, params, prefix):
    w = params[prefix + ".weight"]
    eps = cfg["norm_eps"]
    if cfg["norm"] == "layernorm":
        # (x - mean) / sqrt(biased var + eps) * w + b
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        y = (x - mean) * torch.rsqrt(var + eps) * w
        b = params.get(prefix + ".bias")
        return y if b is None else y + b
    # RMSNorm: x / sqrt(mean(x^2) + eps) * w (the gain used directly, no "1 +")
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def linear(cfg, x, params, prefix):
    y = x @ params[prefix + ".weight"].t()
    b = params.get(prefix + ".bias")
    return y if b is None else y + b


def rope_tables(T, HS, theta, dtype):
    """cos, sin of shape (T, HS/2): angle(t, i) = t * theta^(-2i/HS), computed in float64 and
    rounded to the working dtype."""
    i = torch.arange(HS // 2, dtype=torch.float64)
    inv_freq = theta ** (-2.0 * i / HS)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def apply_rope(x, cos, sin):
    """x (B, heads, T, HS): rotate consecutive channel pairs (2i, 2i+1) by angle(t, i)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).flatten(-2)


def attention_mask(T, window):
    """allowed[i, j]: causal, and within the window (j >= i - W) when there is one."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j >= i - window)
    return allowed


def attention(cfg, x, params, prefix, layer):
    B, T, C = x.shape
    NH, NKV, HS = cfg["n_head"], n_kv(cfg), head_size(cfg)
    qkv = linear(cfg, x, params, prefix + ".c_attn")  # (B, T, (NH + 2 NKV) HS)
    q = qkv[..., : NH * HS].view(B, T, NH, HS).transpose(1, 2)  # (B, NH, T, HS)
    k = qkv[..., NH * HS : (NH + NKV) * HS].view(B, T, NKV, HS).transpose(1, 2)
    v = qkv[..., (NH + NKV) * HS :].view(B, T, NKV, HS).transpose(1, 2)
    if cfg["positions"] == "rope":
        cos, sin = rope_tables(T, HS, cfg["rope_theta"], x.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    # Grouped queries: query head h reads key/value head h // (NH / NKV).
    k = k.repeat_interleave(NH // NKV, dim=1)
    v = v.repeat_interleave(NH // NKV, dim=1)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))  # (B, NH, T, T)
    cap = cfg["attn_softcap"]
    if cap:
        scores = cap * torch.tanh(scores / cap)
    allowed = attention_mask(T, layer_window(cfg, layer))
    scores = scores.masked_fill(~allowed, float("-inf"))
    att = torch.softmax(scores, dim=-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, NH * HS)  # heads side by side, head-major
    return linear(cfg, y, params, prefix + ".c_proj")


def gated(cfg, u, H):
    """u (..., 2H) = [gate; up] -> act(gate) * up."""
    gate, up = u[..., :H], u[..., H:]
    act = F.silu(gate) if cfg["activation"] == "swiglu" else F.gelu(gate, approximate="tanh")
    return act * up


def mlp(cfg, x, params, prefix):
    u = linear(cfg, x, params, prefix + ".c_fc")
    H = ffn_hidden(cfg)
    h = F.gelu(u, approximate="tanh") if cfg["activation"] == "gelu" else gated(cfg, u, H)
    return linear(cfg, h, params, prefix + ".c_proj")


def moe(cfg, x, params, prefix, stats):
    """Mixture of experts on (B, T, C). softmax_topk (Grok-1): p = softmax(router logits over all
    E), the top-k of p, weights p as they are (not renormalised). topk_softmax (Mixtral): the
    top-k router logits, weights softmax over those k. Output sum_k weight * expert(x).
    Load-balancing loss of this layer: E * sum_e f_e * P_e, f_e = share of the N*k routing slots
    given to e (no gradient), P_e = mean over tokens of softmax(router logits)_e."""
    B, T, C = x.shape
    m = cfg["moe"]
    E, K, H = m["n_expert"], m["top_k"], ffn_hidden(cfg)
    xf = x.reshape(B * T, C)
    logits = xf @ params[prefix + ".router.weight"].t()  # (N, E)
    probs = torch.softmax(logits, dim=-1)
    if m["router"] == "softmax_topk":
        ranked = probs
        weights, idx = probs.topk(K, dim=-1)
    else:
        ranked = logits
        top_logits, idx = logits.topk(K, dim=-1)
        weights = torch.softmax(top_logits, dim=-1)
    stats.setdefault("routes", []).append(idx.detach())
    if K < E:  # how close the k-th choice came to the (k+1)-th (a near tie could flip routing)
        srt = ranked.detach().sort(dim=-1, descending=True).values
        stats["router_margin"] = min(stats.get("router_margin", math.inf),
                                     float((srt[:, K - 1] - srt[:, K]).min()))
    # Every expert on every token (N is tiny), then pick.
    outs = []
    for e in range(E):
        u = xf @ params[f"{prefix}.experts.{e}.c_fc.weight"].t()
        outs.append(gated(cfg, u, H) @ params[f"{prefix}.experts.{e}.c_proj.weight"].t())
    y_all = torch.stack(outs, dim=0)  # (E, N, C)
    rows = torch.arange(B * T)
    y = torch.zeros_like(xf)
    for s in range(K):
        y = y + weights[:, s : s + 1] * y_all[idx[:, s], rows]
    counts = torch.bincount(idx.reshape(-1), minlength=E).to(x.dtype)
    f = (counts / (B * T * K)).detach()
    aux = E * (f * probs.mean(dim=0)).sum()
    return y.view(B, T, C), aux


def forward(cfg, params, tokens, targets, stats=None):
    """tokens, targets (B, T) int64. Returns the objective and its parts (0-dim tensors):
    loss = ce + z_loss * mean(logZ^2) + aux_loss_coef * (sum over layers of the balance loss)."""
    stats = {} if stats is None else stats
    B, T = tokens.shape
    C = cfg["d_model"]
    wte = params["transformer.wte.weight"]
    x = wte[tokens]
    if cfg["embedding_scale"] == "sqrt_d_model":
        x = x * math.sqrt(C)
    if cfg["positions"] == "learned":
        x = x + params["transformer.wpe.weight"][:T]
    aux_total = x.new_zeros(())
    sandwich = cfg["norm_placement"] == "sandwich"
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}"

        def ffn(h):
            if cfg["moe"]["n_expert"]:
                y, aux = moe(cfg, h, params, p + ".moe", stats)
                return y, aux
            return mlp(cfg, h, params, p + ".mlp"), None

        if cfg["block"] == "parallel":
            h = norm(cfg, x, params, p + ".ln_1")
            a = attention(cfg, h, params, p + ".attn", l)
            f, aux = ffn(h)
            x = x + a + f
        else:
            a = attention(cfg, norm(cfg, x, params, p + ".ln_1"), params, p + ".attn", l)
            if sandwich:
                a = norm(cfg, a, params, p + ".ln_1_post")
            x = x + a
            f, aux = ffn(norm(cfg, x, params, p + ".ln_2"))
            if sandwich:
                f = norm(cfg, f, params, p + ".ln_2_post")
            x = x + f
        if aux is not None:
            aux_total = aux_total + aux
    x = norm(cfg, x, params, "transformer.ln_f")
    head = wte if cfg["tie_embeddings"] else params["lm_head.weight"]
    logits = x @ head.t()  # (B, T, V)
    if cfg["logit_scale"] == "inv_sqrt_d_model":
        logits = logits * (1.0 / math.sqrt(C))
    elif cfg["logit_scale"] == "inv_sqrt_3":
        logits = logits * (1.0 / math.sqrt(3.0))
    lse = torch.logsumexp(logits, dim=-1)  # log Z, (B, T)
    ce = (lse - logits.gather(-1, targets[..., None]).squeeze(-1)).mean()
    z = cfg["z_loss"] * (lse * lse).mean()
    aux = cfg["moe"]["aux_loss_coef"] * aux_total
    return {"loss": ce + z + aux, "ce": ce, "z_loss": z, "aux_loss": aux, "logits": logits}
