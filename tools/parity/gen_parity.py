#!/usr/bin/python3
"""PyTorch parity fixtures for the C++ model and optimizer: for every family config, the initial
weights (init.safetensors) and 20 training steps of every weight-decay variant (fixture.json).

    /usr/bin/python3 tools/parity/gen_parity.py            # all 7 families -> tests/fixtures/parity
    /usr/bin/python3 tools/parity/gen_parity.py --config run/config.json --out /tmp/parity

Run it with Debian's /usr/bin/python3 (python3-torch 1.13, python3-numpy): another python3 on
PATH may lack torch. The output is deterministic: rerunning writes the same bytes.

Training (per variant, from the same initial weights, fp32, one thread):
  lr_t       warmup then cosine to min_lr, as lib/optim/lr_schedule.cpp, set on every group per step
  groups     decay group (selective: tensors with ndim >= 2; uniform: all) with weight decay λ,
             no-decay group with weight_decay = 0
  none       torch.optim.Adam, weight_decay 0 everywhere
  coupled    torch.optim.Adam(weight_decay=λ) on the decay group (λ·w added to the gradient)
  decoupled  torch.optim.AdamW, the decay group's weight_decay set every step to s_t·λ / lr_t so
             that AdamW's shrink lr_t·weight_decay equals s_t·λ (s_t = lr_t, lr_t/lr_peak, lr_t²)
  adamc      AdamC (Defazio 2025, arXiv:2506.02285): the decay group split in two, the normalized
             layers (every linear layer but the output head, the paper's rule) with
             weight_decay λ·lr_t/lr_peak (a shrink of λ·lr_t²/lr_peak), the rest with λ (lr_t·λ)
  sgd        torch.optim.SGD(momentum=0.9, weight_decay=λ on the decay group: coupled)
  clipping   torch.nn.utils.clip_grad_norm_(all params, 1.0) on the loss gradient, before the step
"""

import argparse
import json
import math
import struct
import sys
import zlib
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import torch_model as tm  # noqa: E402

FAMILIES = ["gpt2", "gpt3", "llama", "palm", "grok1", "mistral", "mixtral"]
VOCAB, BATCH, STEPS = 32, 2, 20

# Shared optimizer settings, with the key names of the run config's "optim" section.
OPTIM = {
    "name": "adam",
    "lr": 1e-2,
    "min_lr": 1e-3,
    "schedule": "cosine",
    "warmup_steps": 3,
    "beta1": 0.9,
    "beta2": 0.95,
    "eps": 1e-8,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "decay_mode": "none",
    "decay_scaling": "lr",
    "decay_scope": "selective",
    "grad_clip": 1.0,
}


def variants():
    """(name, optim settings). λ is chosen per mode so that the decay visibly acts in 20 steps: at
    the peak lr the decoupled ones shrink by s_t·λ = 5e-3 (lr), 1e-2 (schedule), 3e-3 (lr²),
    5e-3 (adamc, whose normalized layers then shrink less than the rest as lr_t falls)."""
    out = []
    for scope in ("selective", "uniform"):
        arms = [
            ("adam_none", {"decay_mode": "none", "weight_decay": 0.0}),
            ("adam_coupled", {"decay_mode": "coupled", "weight_decay": 0.05}),
            ("adamw_lr", {"decay_mode": "decoupled", "decay_scaling": "lr", "weight_decay": 0.5}),
            ("adamw_schedule",
             {"decay_mode": "decoupled", "decay_scaling": "schedule", "weight_decay": 0.01}),
            ("adamw_lr_squared",
             {"decay_mode": "decoupled", "decay_scaling": "lr_squared", "weight_decay": 30.0}),
            ("adamc", {"decay_mode": "decoupled", "decay_scaling": "adamc", "weight_decay": 0.5}),
        ]
        for name, o in arms:
            out.append((f"{name}_{scope}", dict(OPTIM, **o, decay_scope=scope)))
    out.append(("sgd_coupled_selective",
                dict(OPTIM, name="sgd", lr=0.05, min_lr=0.005, decay_mode="coupled",
                     weight_decay=0.1)))
    return out


def lr_at(step, o, total):
    """lib/optim/lr_schedule.cpp: linear warmup from lr/warmup, then cosine from lr (first step
    after warmup) to min_lr (step total - 1)."""
    peak, warmup = o["lr"], o["warmup_steps"]
    if step < warmup:
        return peak * (step + 1) / warmup
    if o["schedule"] == "constant":
        return peak
    span = max(1, total - warmup - 1)
    progress = min(max((step - warmup) / span, 0.0), 1.0)
    return o["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - o["min_lr"])


def decay_per_step(o, lr):
    """What the step does about decay (lib/optim/optimizer.h StepDecay): decoupled s_t·λ,
    coupled lr_t·λ, none 0."""
    lam = o["weight_decay"]
    if o["decay_mode"] == "none":
        return 0.0
    if o["decay_mode"] == "coupled":
        return lr * lam
    s = {"lr": lr, "schedule": lr / o["lr"], "lr_squared": lr * lr,
         "adamc": lr * lr / o["lr"]}[o["decay_scaling"]]
    return s * lam


def decays(spec, scope):
    return scope == "uniform" or len(spec.shape) >= 2


def normalized_layer(spec):
    """AdamC's "normalized layers" by the paper's practical rule for LLMs: every linear layer
    (its weight and bias; routers and experts included) except the output layer. Embedding
    tables (the output layer too when tied) and the norms' own gains and biases are not."""
    return spec.kind in ("matrix", "router", "expert", "bias") and spec.name != "lm_head.weight"


def make_optimizer(o, decay_params, other_params, lr_decay_params=()):
    """Groups: the decay group, the no-decay group, and (adamc) the decayed tensors that keep
    lr_t scaling, in that order (empty groups left out)."""
    lam = o["weight_decay"] if o["decay_mode"] == "coupled" else 0.0
    groups = [g for g in ({"params": decay_params, "weight_decay": lam},
                          {"params": other_params, "weight_decay": 0.0},
                          {"params": list(lr_decay_params), "weight_decay": o["weight_decay"]})
              if g["params"]]
    if o["name"] == "sgd":
        assert o["decay_mode"] in ("none", "coupled"), "SGD fixtures use torch.optim.SGD (coupled)"
        return torch.optim.SGD(groups, lr=o["lr"], momentum=o["momentum"], dampening=0.0)
    betas = (o["beta1"], o["beta2"])
    if o["decay_mode"] == "decoupled":
        return torch.optim.AdamW(groups, lr=o["lr"], betas=betas, eps=o["eps"])
    return torch.optim.Adam(groups, lr=o["lr"], betas=betas, eps=o["eps"])


def train(cfg, specs, init, batches, o, steps=STEPS, dtype=torch.float32, trace=None):
    """Trains from `init` for `steps` steps; returns the per-step record and the final weights.
    trace (a list) receives each step's forward stats (MoE routes and margins)."""
    params = {s.name: init[s.name].to(dtype).clone().requires_grad_(True) for s in specs}
    ordered = [params[s.name] for s in specs]
    adamc = o["decay_mode"] == "decoupled" and o["decay_scaling"] == "adamc"
    decay_params = [params[s.name] for s in specs
                    if decays(s, o["decay_scope"]) and (not adamc or normalized_layer(s))]
    lr_decay_params = [params[s.name] for s in specs
                       if adamc and decays(s, o["decay_scope"]) and not normalized_layer(s)]
    other_params = [params[s.name] for s in specs if not decays(s, o["decay_scope"])]
    opt = make_optimizer(o, decay_params, other_params, lr_decay_params)
    decay_group = opt.param_groups[0] if decay_params else None  # make_optimizer's first group
    rec = {k: [] for k in ("lr", "decay", "loss", "ce", "z_loss", "aux_loss", "grad_norm")}
    if cfg["moe"]["n_expert"]:
        rec["router_margin"] = []
    for step in range(steps):
        lr = lr_at(step, o, steps)
        shrink = decay_per_step(o, lr)
        for g in opt.param_groups:
            g["lr"] = lr
        if o["decay_mode"] == "decoupled" and decay_group is not None:
            # AdamW shrinks by lr_t * weight_decay: make that s_t * λ.
            lr_scaled = o["decay_scaling"] == "lr"
            decay_group["weight_decay"] = o["weight_decay"] if lr_scaled else shrink / lr
        tokens, targets = batches[step]
        opt.zero_grad(set_to_none=True)
        stats = {}
        out = tm.forward(cfg, params, tokens, targets, stats)
        out["loss"].backward()
        gn = torch.nn.utils.clip_grad_norm_(ordered, o["grad_clip"])
        opt.step()
        rec["lr"].append(lr)
        rec["decay"].append(shrink)
        for k in ("loss", "ce", "z_loss", "aux_loss"):
            rec[k].append(float(out[k]))
        rec["grad_norm"].append(float(gn))
        if "router_margin" in rec:
            rec["router_margin"].append(stats["router_margin"])
        if trace is not None:
            trace.append(stats)
    with torch.no_grad():
        final = tm.forward(cfg, params, *batches[0])
    rec["final_loss_batch0"] = float(final["loss"])
    return rec, {n: p.detach() for n, p in params.items()}


def draw_batches(seed, n, B, T, V):
    """Token sequences of a noisy first-order chain: next = perm[cur] with probability 3/4, else
    uniform; tokens = seq[:-1], targets = seq[1:]. Learnable, so the loss falls in 20 steps."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(V, generator=g)
    out = []
    for _ in range(n):
        seq = torch.empty(B, T + 1, dtype=torch.int64)
        seq[:, 0] = torch.randint(V, (B,), generator=g)
        for t in range(T):
            follow = torch.rand(B, generator=g) < 0.75
            rand = torch.randint(V, (B,), generator=g)
            seq[:, t + 1] = torch.where(follow, perm[seq[:, t]], rand)
        out.append((seq[:, :-1].contiguous(), seq[:, 1:].contiguous()))
    return out


def two_digits(x):
    return float(f"{x:.2g}")


def family_seed(family):
    return zlib.crc32(family.encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------------------------------------
# Output


def save_safetensors(path, tensors, metadata):
    """huggingface/safetensors' layout as its Python writer makes it: tensors sorted by name (all
    F32), compact JSON with "__metadata__" first, padded with spaces to a multiple of 8."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, pos = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [pos, pos + len(data)]}
        blobs.append(data)
        pos += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def dumps(obj, indent=0):
    """JSON with objects one key per line and lists of scalars on one line (small, diffable)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in obj):
            return json.dumps(list(obj), allow_nan=False)
        return "[\n" + ",\n".join(inner + dumps(x, indent + 1) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def generate(cfg, out_dir, source):
    family = cfg["family"]
    seed = family_seed(family)
    specs = tm.param_specs(cfg, VOCAB)
    init = tm.init_params(specs, cfg, seed)
    T = cfg["block_size"]
    batches = draw_batches(seed + 1, STEPS, BATCH, T, VOCAB)

    fixture = {
        "format": "wdlab-parity-1",
        "family": family,
        "generator": "tools/parity/gen_parity.py",
        "config_source": source,
        "torch_version": torch.__version__,
        "seed": seed,
        "vocab_size": VOCAB,
        "batch_size": BATCH,
        "seq_len": T,
        "steps": STEPS,
        "derived": {"ffn_hidden": tm.ffn_hidden(cfg), "head_dim": tm.head_size(cfg),
                    "n_kv_head": tm.n_kv(cfg)},
        "config": {"model": cfg},
        "params": [{"name": s.name, "shape": list(s.shape), "kind": s.kind,
                    "decayed_if_selective": decays(s, "selective"),
                    "init_norm": float(init[s.name].double().norm())} for s in specs],
        "batches": [{"tokens": tok.tolist(), "targets": tgt.tolist()} for tok, tgt in batches],
        "variants": [],
    }
    with torch.no_grad():
        out0 = tm.forward(cfg, init, *batches[0])
    fixture["initial"] = {k: float(out0[k]) for k in ("loss", "ce", "z_loss", "aux_loss")}
    for name, o in variants():
        trace32, trace64 = [], []
        rec, final = train(cfg, specs, init, batches, o, trace=trace32)
        rec["final_norms"] = {s.name: float(final[s.name].double().norm()) for s in specs}
        # The same run in float64: how far fp32 rounding alone moves the numbers (a scale for the
        # C++ side's tolerances) and whether it changes any routing decision.
        rec64, final64 = train(cfg, specs, init, batches, o, dtype=torch.float64, trace=trace64)
        rec["fp32_vs_fp64"] = {
            "loss_abs_diff": [two_digits(abs(a - b)) for a, b in zip(rec["loss"], rec64["loss"])],
            "final_norm_rel_diff": {
                s.name: two_digits(abs(rec["final_norms"][s.name] - float(final64[s.name].norm()))
                                   / float(final64[s.name].norm())) for s in specs},
        }
        if cfg["moe"]["n_expert"]:
            rec["fp32_vs_fp64"]["same_routing"] = all(
                all(torch.equal(r32, r64) for r32, r64 in zip(s32["routes"], s64["routes"]))
                for s32, s64 in zip(trace32, trace64))
        fixture["variants"].append({"name": name, "optim": o, **rec})

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"format": "pt", "family": family, "generator": "tools/parity/gen_parity.py",
            "seed": str(seed), "vocab_size": str(VOCAB)}
    save_safetensors(out_dir / "init.safetensors", init, meta)
    (out_dir / "fixture.json").write_text(dumps(fixture) + "\n")
    return fixture


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", action="append", type=Path, default=[],
                    help="a model config (bare model section or full resolved config); repeatable. "
                         "Default: tools/parity/configs/<family>.json for every family")
    ap.add_argument("--family", action="append", default=[], choices=FAMILIES,
                    help="only these families of tools/parity/configs (repeatable)")
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "parity",
                    help="output root; each family goes to OUT/<family>/")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    paths = args.config or [HERE / "configs" / f"{f}.json" for f in (args.family or FAMILIES)]
    for path in paths:
        try:
            cfg = tm.load_model_config(path)
        except (OSError, ValueError) as e:  # ConfigError, unreadable file, bad JSON
            sys.exit(f"gen_parity.py: {e}")
        try:
            source = str(path.resolve().relative_to(REPO))
        except ValueError:
            source = str(path)
        fx = generate(cfg, args.out / cfg["family"], source)
        size = sum(p.stat().st_size for p in (args.out / cfg["family"]).iterdir())
        first = fx["variants"][0]
        print(f"{cfg['family']:8s} {len(fx['params']):3d} tensors  loss {first['loss'][0]:.4f} -> "
              f"{first['loss'][-1]:.4f}  {size / 1024:.0f} KiB  -> {args.out / cfg['family']}")


if __name__ == "__main__":
    main()
