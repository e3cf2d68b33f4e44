#!/usr/bin/python3
"""PyTorch baseline for bench/: the GPT-2, LLaMA, Mixtral and Grok-1 styles (and the modular task's
GPT-2-like model) as plain nn.Module code, trained with AdamW + grad clipping in fp32 at the
benchmark's shapes, under each thread setting of issue 5. For the MoE families the project's own
reference (tools/parity/torch_model.py) runs too, as settings ref-<setting> (--ref-settings). Run with
/usr/bin/python3 (Debian's python3-torch lives only there).

    /usr/bin/python3 bench/torch_bench.py --models build-bench/bench-models.json --out torch.json
        [--quick] [--settings 1t,2t,2t-passive,1t-ob2] [--families ...] [--shapes ...]
        [--pairs family:shape,...] [--no-ref]

The architectures come from --models, written by `wdlab_bench --models` (the presets resolved at
the benchmark's sizes), so both engines train the same shapes; each result records its parameter
count and whether it equals wdlab's.

Every (setting, family, shape) runs in its own subprocess (python3 torch_bench.py --child ...):
the thread environment (OMP_WAIT_POLICY, OPENBLAS_NUM_THREADS) must be set before torch is
imported, and ru_maxrss is then the configuration's own. Settings:
    1t          torch.set_num_threads(1), OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1
    2t          torch.set_num_threads(2), OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=2
    2t-passive  as 2t with OMP_WAIT_POLICY=PASSIVE
    1t-ob2      torch.set_num_threads(1), OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=2
("best" is the setting with the highest median tokens/s.) OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
are passed through unchanged and recorded.

One step: forward (logits, cross-entropy, MoE load-balancing loss), backward
(zero_grad(set_to_none=True) + loss.backward()), optimizer (clip_grad_norm_(1.0) + AdamW.step()),
each timed with perf_counter. AdamW: decoupled decay 0.1 on tensors with ndim >= 2 (selective),
none on biases and norm gains; lr 1e-3; betas / eps from the preset.
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

from atomic_write import write_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTINGS = {
    "1t": {"torch_threads": 1, "env": {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}},
    "2t": {"torch_threads": 2, "env": {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}},
    "2t-passive": {
        "torch_threads": 2,
        "env": {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    },
    "1t-ob2": {"torch_threads": 1, "env": {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}},
}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")

# Steps per shape: warm-up, then timed steps: max_steps, cut to what fits in budget_s (estimated
# from the last warm-up step) but never below min_steps.
# The budget only bites where a setting is pathologically slow (e.g. `2t` on a busy machine) or
# the shape is large.
STEPS = {
    "tiny": {"warmup": 5, "max_steps": 50, "min_steps": 10, "budget_s": 15.0},
    "small": {"warmup": 3, "max_steps": 20, "min_steps": 10, "budget_s": 15.0},
    "base": {"warmup": 1, "max_steps": 20, "min_steps": 5, "budget_s": 12.0},
    "large": {"warmup": 1, "max_steps": 20, "min_steps": 3, "budget_s": 20.0},
}
QUICK_STEPS = {
    "tiny": {"warmup": 3, "max_steps": 20, "min_steps": 10, "budget_s": 10.0},
    "small": {"warmup": 2, "max_steps": 20, "min_steps": 10, "budget_s": 10.0},
}
# The preset-run shapes of issue 15 (bench/README.md): tiny-sized steps.
STEPS["quickstart"] = STEPS["tiny"]
STEPS["modular"] = STEPS["tiny"]
QUICK_STEPS["quickstart"] = QUICK_STEPS["modular"] = QUICK_STEPS["tiny"]


# --------------------------------------------------------------------------------------------
# Models (child only: torch is imported there, after the environment is set).


def build_model(torch, spec):
    nn = torch.nn
    F = torch.nn.functional
    m = spec["model"]
    V, C, L = m["vocab_size"], m["d_model"], m["n_layer"]
    NH, NKV, HS = m["n_head"], m["n_kv_head_effective"], m["head_size"]
    H, maxT = m["ffn_hidden"], m["block_size"]
    bias, eps = m["bias"], m["norm_eps"]
    gated = m["activation"] != "gelu"
    gate_act = F.silu if m["activation"] == "swiglu" else (lambda u: F.gelu(u, approximate="tanh"))
    moe = m["moe"]["n_expert"] > 0
    sandwich = m.get("norm_placement") == "sandwich"  # Grok-1: norms after the sublayers too
    softcap = m.get("attn_softcap") or 0.0  # Grok-1: cap * tanh(scores / cap)
    emb_scale = math.sqrt(C) if m.get("embedding_scale") == "sqrt_d_model" else 1.0
    logit_scale = {"inv_sqrt_d_model": 1.0 / math.sqrt(C), "inv_sqrt_3": 1.0 / math.sqrt(3.0)}.get(
        m.get("logit_scale"), 1.0)

    class RMSNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight

    def norm():
        if m["norm"] == "layernorm":
            return nn.LayerNorm(C, eps=eps, elementwise_affine=True)  # with bias (GPT-2)
        return RMSNorm(C)

    def rope(x, cos, sin):
        # (B, h, T, HS): rotate consecutive pairs (2i, 2i+1), Meta's convention.
        x2 = x.reshape(*x.shape[:-1], HS // 2, 2)
        x0, x1 = x2[..., 0], x2[..., 1]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            if NKV == NH:  # nanoGPT: one fused projection
                self.c_attn = nn.Linear(C, 3 * NH * HS, bias=bias)
            else:  # mistral-src / HF Mixtral: separate q, k, v
                self.wq = nn.Linear(C, NH * HS, bias=bias)
                self.wk = nn.Linear(C, NKV * HS, bias=bias)
                self.wv = nn.Linear(C, NKV * HS, bias=bias)
            self.c_proj = nn.Linear(NH * HS, C, bias=bias)
            self.register_buffer(
                "mask", torch.tril(torch.ones(maxT, maxT, dtype=torch.bool)), persistent=False
            )

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            if NKV == NH:
                q, k, v = self.c_attn(x).split(NH * HS, dim=2)
            else:
                q, k, v = self.wq(x), self.wk(x), self.wv(x)
            q = q.view(B, T, NH, HS).transpose(1, 2)
            k = k.view(B, T, NKV, HS).transpose(1, 2)
            v = v.view(B, T, NKV, HS).transpose(1, 2)
            if cos is not None:
                q, k = rope(q, cos, sin), rope(k, cos, sin)
            if NKV != NH:
                k = k.repeat_interleave(NH // NKV, dim=1)
                v = v.repeat_interleave(NH // NKV, dim=1)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
            if softcap:
                att = softcap * torch.tanh(att / softcap)
            att = att.masked_fill(~self.mask[:T, :T], float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, NH * HS)
            return self.c_proj(y)

    class MLP(nn.Module):  # GPT-2: c_fc, GELU (tanh), c_proj
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(C, H, bias=bias)
            self.c_proj = nn.Linear(H, C, bias=bias)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))

    class SwiGLU(nn.Module):  # LLaMA: w2(silu(w1 x) * w3 x); GeGLU (Grok-1) with GELU (tanh)
        def __init__(self):
            super().__init__()
            self.w1 = nn.Linear(C, H, bias=bias)
            self.w3 = nn.Linear(C, H, bias=bias)
            self.w2 = nn.Linear(H, C, bias=bias)

        def forward(self, x):
            return self.w2(gate_act(self.w1(x)) * self.w3(x))

    class MoE(nn.Module):  # Mixtral: top-k on router logits, softmax over the k;
        # Grok-1 (softmax_topk): softmax over all experts, the top-k probabilities as weights
        def __init__(self):
            super().__init__()
            self.E, self.K = m["moe"]["n_expert"], m["moe"]["top_k"]
            self.aux_coef = m["moe"]["aux_loss_coef"]
            self.softmax_first = m["moe"].get("router") == "softmax_topk"
            self.gate = nn.Linear(C, self.E, bias=False)
            self.experts = nn.ModuleList([SwiGLU() for _ in range(self.E)])

        def forward(self, x):
            B, T, _ = x.shape
            x = x.view(-1, C)
            logits = self.gate(x)
            if self.softmax_first:
                weights, top_idx = torch.topk(F.softmax(logits, dim=-1), self.K, dim=-1)
            else:
                top_logits, top_idx = torch.topk(logits, self.K, dim=-1)
                weights = F.softmax(top_logits, dim=-1)
            out = torch.zeros_like(x)
            for e, expert in enumerate(self.experts):
                tok, slot = torch.where(top_idx == e)
                if tok.numel() == 0:
                    continue
                out.index_add_(0, tok, weights[tok, slot, None] * expert(x[tok]))
            if not self.aux_coef:
                return out.view(B, T, C), None
            # Switch-style load balancing: coef * E * sum_e f_e P_e (f_e not differentiated).
            probs = F.softmax(logits, dim=-1)
            f = torch.bincount(top_idx.flatten(), minlength=self.E).float() / top_idx.numel()
            aux = self.aux_coef * self.E * (f * probs.mean(0)).sum()
            return out.view(B, T, C), aux

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = norm(), Attention(), norm()
            if sandwich:
                self.ln_1_post, self.ln_2_post = norm(), norm()
            self.mlp = MoE() if moe else (SwiGLU() if gated else MLP())

        def forward(self, x, cos, sin):
            a = self.attn(self.ln_1(x), cos, sin)
            x = x + (self.ln_1_post(a) if sandwich else a)
            h = self.mlp(self.ln_2(x))
            aux = None
            if moe:
                h, aux = h
            return x + (self.ln_2_post(h) if sandwich else h), aux

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, C)
            self.wpe = nn.Embedding(maxT, C) if m["positions"] == "learned" else None
            self.h = nn.ModuleList([Block() for _ in range(L)])
            self.ln_f = norm()
            self.tied = m["tie_embeddings"]
            self.lm_head = None if self.tied else nn.Linear(C, V, bias=False)
            if m["positions"] == "rope":
                inv = 1.0 / (m["rope_theta"] ** (torch.arange(0, HS, 2).float() / HS))
                ang = torch.outer(torch.arange(maxT).float(), inv)  # (T, HS/2)
                self.register_buffer("cos", ang.cos(), persistent=False)
                self.register_buffer("sin", ang.sin(), persistent=False)
            else:
                self.cos = self.sin = None
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    std = 0.02 / math.sqrt(2 * L) if name.endswith(("c_proj.weight", "w2.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)
                elif name.endswith("weight"):  # norm gains
                    nn.init.ones_(p)
                else:
                    nn.init.zeros_(p)

        def forward(self, idx, targets):
            B, T = idx.shape
            x = self.wte(idx)
            if emb_scale != 1.0:
                x = x * emb_scale
            if self.wpe is not None:
                x = x + self.wpe(torch.arange(T))
            cos = self.cos[:T] if self.cos is not None else None
            sin = self.sin[:T] if self.sin is not None else None
            aux_total = 0.0
            for block in self.h:
                x, aux = block(x, cos, sin)
                if aux is not None:
                    aux_total = aux_total + aux
            x = self.ln_f(x)
            logits = x @ self.wte.weight.t() if self.tied else self.lm_head(x)
            if logit_scale != 1.0:
                logits = logits * logit_scale
            # Masked targets (-1: the modular task grades only the answer) count for nothing.
            loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
            return loss + aux_total

    return Model()


def machine_busy_s():
    """CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def run_child(args):
    spec = json.loads(args.spec)
    setting = SETTINGS[args.setting]
    import torch  # after the environment is set (by the parent)

    torch.set_num_threads(setting["torch_threads"])
    torch.manual_seed(1337)
    m = spec["model"]
    if args.impl == "ref":
        # The project's own reference (tools/parity/torch_model.py): functional, every expert on
        # every token of an MoE layer; it agrees with wdlab to float32 rounding.
        sys.path.insert(0, os.path.join(ROOT, "tools", "parity"))
        import torch_model as ref

        cfg = ref.parse_model_config({k: v for k, v in m.items() if k in ref.MODEL_KEYS})
        tensors = ref.init_params(ref.param_specs(cfg, m["vocab_size"]), cfg, seed=1)
        for t in tensors.values():
            t.requires_grad_(True)
        parameters = list(tensors.values())

        def model(idx, tgt):
            return ref.forward(cfg, tensors, idx, tgt)["loss"]
    else:
        net = build_model(torch, spec)
        parameters = list(net.parameters())
        model = net
    params = sum(p.numel() for p in parameters)
    decay = [p for p in parameters if p.dim() >= 2]
    no_decay = [p for p in parameters if p.dim() < 2]
    o = spec["optim"]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": o["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=o["lr"],
        betas=(o["beta1"], o["beta2"]),
        eps=o["eps"],
    )
    B, T, V = spec["B"], spec["T"], m["vocab_size"]
    plan = json.loads(args.steps)
    g = torch.Generator().manual_seed(1)

    graded = spec.get("graded_from", 0)

    def batch():
        idx, tgt = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
        tgt[:, :graded] = -1  # the modular task grades only the answer position
        return idx, tgt

    fwd, bwd, optim, step = [], [], [], []

    def one_step(record):
        idx, tgt = batch()
        t0 = time.perf_counter()
        loss = model(idx, tgt)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(parameters, o["grad_clip"])
        opt.step()
        t3 = time.perf_counter()
        if record:
            fwd.append(t1 - t0), bwd.append(t2 - t1), optim.append(t3 - t2), step.append(t3 - t0)
        return loss.item(), t3 - t0

    last = None
    for _ in range(plan["warmup"]):
        loss0, last = one_step(False)
    n = plan["max_steps"]
    if last is not None and plan["budget_s"] < 1e8:
        n = max(plan["min_steps"], min(plan["max_steps"], int(plan["budget_s"] / last)))
    busy0, cpu0, t_start = machine_busy_s(), time.process_time(), time.perf_counter()
    for _ in range(n):
        loss_last, _ = one_step(True)
    elapsed = time.perf_counter() - t_start
    busy1, cpu1 = machine_busy_s(), time.process_time()
    N = B * T
    tok_s = [N / t for t in step]
    ms = lambda v: 1e3 * statistics.median(v)  # noqa: E731
    res = {
        "family": spec["family"],
        "shape": spec["shape"],
        "setting": ("ref-" if args.impl == "ref" else "") + args.setting,
        "impl": args.impl,
        "torch_threads": torch.get_num_threads(),
        "env": {k: os.environ.get(k) for k in THREAD_VARS},
        "params": params,
        "params_match_wdlab": params == spec["params"],
        "warmup": plan["warmup"],
        "steps": n,
        "tok_s": {
            "median": statistics.median(tok_s),
            "min": min(tok_s),
            "max": max(tok_s),
            "mean": N * n / elapsed,
        },
        "ms": {"step": ms(step), "forward": ms(fwd), "backward": ms(bwd), "optimizer": ms(optim)},
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0,
        "cpu": {  # as wdlab_bench: others' share of the machine, our cores, tokens per CPU-second
            "others_share": min(1.0, max(0.0, (busy1 - busy0 - (cpu1 - cpu0)) / (elapsed * (os.cpu_count() or 1)))),
            "self_cores": (cpu1 - cpu0) / elapsed,
            "tok_per_cpu_s": N * n / max(cpu1 - cpu0, 1e-9),
        },
        "loss_last": loss_last,
    }
    print("RESULT " + json.dumps(res), flush=True)


# --------------------------------------------------------------------------------------------
# Parent.


def run_parent(args):
    with open(args.models) as f:
        models = json.load(f)
    families = args.families.split(",") if args.families else None
    shapes = args.shapes.split(",") if args.shapes else None
    pairs = args.pairs.split(",") if args.pairs else None
    settings = args.settings.split(",")
    for s in settings:
        if s not in SETTINGS:
            sys.exit(f"torch_bench: unknown setting {s} ({', '.join(SETTINGS)})")
    steps_table = QUICK_STEPS if args.quick else STEPS
    import platform

    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.__version__); print(torch.__config__.show())"],
        capture_output=True,
        text=True,
    )
    version, _, config = probe.stdout.partition("\n")
    out = {
        "torch_version": version.strip(),
        "torch_config": config.strip(),
        "python": platform.python_version(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "settings": {k: SETTINGS[k] for k in settings},
        "results": [],
    }
    t_begin = time.time()
    if pairs:  # the order given
        by_pair = {f"{m['family']}:{m['shape']}": m for m in models}
        models = [by_pair[p] for p in pairs if p in by_pair]
    for spec in models:
        if not pairs and families and spec["family"] not in families:
            continue
        if not pairs and shapes and spec["shape"] not in shapes:
            continue
        plan = dict(steps_table.get(spec["shape"], STEPS[spec["shape"]]))
        if args.steps:
            plan.update(max_steps=args.steps, min_steps=args.steps, budget_s=1e9)
        # MoE families also run the project's reference implementation (tools/parity/).
        impls = ["bench"] + (["ref"] if spec["model"]["moe"]["n_expert"] > 0 and args.ref else [])
        ref_settings = [s for s in args.ref_settings.split(",") if s in settings]
        for impl, setting in [(i, s) for i in impls for s in (settings if i == "bench" else ref_settings)]:
            env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
            env.update(SETTINGS[setting]["env"])
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--setting", setting,
                   "--impl", impl, "--spec", json.dumps(spec), "--steps", json.dumps(plan)]
            label = f"torch {spec['family']} {spec['shape']} {'ref-' if impl == 'ref' else ''}{setting}"
            print(f"{label}: ", end="", file=sys.stderr, flush=True)
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            except subprocess.TimeoutExpired:
                p = subprocess.CompletedProcess(cmd, -1, "", "timed out after 1800 s")
            res = None
            for line in p.stdout.splitlines():
                if line.startswith("RESULT "):
                    res = json.loads(line[7:])
            if p.returncode != 0 or res is None:
                res = {"family": spec["family"], "shape": spec["shape"],
                       "setting": ("ref-" if impl == "ref" else "") + setting, "impl": impl,
                       "error": f"exit {p.returncode}: {p.stderr.strip()[-500:]}"}
                print(res["error"], file=sys.stderr)
            else:
                t = res["tok_s"]
                print(f"{t['median']:.0f} tok/s ({t['min']:.0f}-{t['max']:.0f}), {res['steps']} steps,"
                      f" params {'==' if res['params_match_wdlab'] else '!='} wdlab",
                      file=sys.stderr)
            out["results"].append(res)
    out["elapsed_s"] = time.time() - t_begin
    write_atomic(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="wdlab_bench --models output")
    ap.add_argument("--out", default="torch_results.json")
    ap.add_argument("--quick", action="store_true", help="tiny and small only, fewer steps")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--families")
    ap.add_argument("--shapes")
    ap.add_argument("--pairs", help="family:shape,... (replaces --families and --shapes)")
    ap.add_argument("--no-ref", dest="ref", action="store_false",
                    help="MoE families: skip the tools/parity reference implementation")
    ap.add_argument("--ref-settings", default="1t,2t-passive",
                    help="the settings the reference implementation runs under (of --settings)")
    ap.add_argument("--impl", default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--setting", help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--steps", help="child: step plan (JSON); parent: fixed timed steps")
    args = ap.parse_args()
    if args.child:
        run_child(args)
    else:
        if args.steps is not None:
            args.steps = int(args.steps)
        if not args.models:
            ap.error("--models is required")
        run_parent(args)


if __name__ == "__main__":
    main()
