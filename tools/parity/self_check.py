#!/usr/bin/python3
"""Checks of the PyTorch reference behind the parity fixtures (run with /usr/bin/python3):

  widths      the FFN width rules reproduce the published hidden sizes
  rope        the rotation convention on explicit numbers, and q·k depends only on m - n
  masks       causal, sliding and alternating masks; perturbing a token moves only the logits the
              mask allows (every family; Mistral 1-layer window; GPT-3's banded odd layer)
  moe         combine weights (Grok-1: top-2 probabilities as-is; Mixtral: sum to 1) and the
              balance loss (= 1 per layer for a uniform router)
  gradcheck   torch.autograd.gradcheck in float64: every family (fast mode), PaLM in full
  optimizer   every variant run through torch.optim in float64 equals a hand-written float64
              implementation of the update equations (groups, per-step weight decay, clipping)
  scope       one step: selective and uniform differ exactly on the 1-D tensors (by the decay)
  fixtures    in tests/fixtures/parity: none-selective == none-uniform bit for bit; decay moves
              the final norms; the files regenerate to the same bytes

    /usr/bin/python3 tools/parity/self_check.py [--quick]
"""

import argparse
import filecmp
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_parity as gp  # noqa: E402
import torch_model as tm  # noqa: E402


def family(name, dtype=torch.float32, **overrides):
    cfg = tm.load_model_config(HERE / "configs" / f"{name}.json")
    cfg.update(overrides)
    specs = tm.param_specs(cfg, gp.VOCAB)
    init = tm.init_params(specs, cfg, gp.family_seed(name))
    init = {k: v.to(dtype) for k, v in init.items()}
    batches = gp.draw_batches(gp.family_seed(name) + 1, gp.STEPS, gp.BATCH, cfg["block_size"],
                              gp.VOCAB)
    return cfg, specs, init, batches


def check_widths():
    def width(rule, ratio, mult, d):
        return tm.ffn_hidden({"ffn_rule": rule, "ffn_ratio": ratio, "ffn_multiple_of": mult,
                              "d_model": d})
    published = {
        "GPT-2 124M": (width("ratio", 4, 1, 768), 3072),
        "LLaMA 7B": (width("two_thirds", 4, 256, 4096), 11008),
        "PaLM 8B": (width("ratio", 4, 1, 4096), 16384),
        "Grok-1": (width("two_thirds", 8, 8, 6144), 32768),
        "Mistral 7B": (width("ratio", 3.5, 1, 4096), 14336),
    }
    for name, (got, want) in published.items():
        assert got == want, f"{name}: {got} != {want}"
    return ", ".join(f"{k} {v[0]}" for k, v in published.items())


def check_rope():
    HS, T, theta = 4, 3, 10000.0
    cos, sin = tm.rope_tables(T, HS, theta, torch.float64)
    # position 2: pair (0,1) turns by 2 rad, pair (2,3) by 2 * theta^(-2/4) = 0.02 rad
    x = torch.zeros(1, 1, T, HS, dtype=torch.float64)
    x[0, 0, 2] = torch.tensor([1.0, 0.0, 1.0, 0.0])
    y = tm.apply_rope(x, cos, sin)[0, 0, 2]
    want = torch.tensor([math.cos(2), math.sin(2), math.cos(0.02), math.sin(0.02)],
                        dtype=torch.float64)
    assert torch.allclose(y, want, atol=1e-15), (y, want)
    # q_m · k_n depends only on m - n
    g = torch.Generator().manual_seed(0)
    T, HS = 12, 8
    cos, sin = tm.rope_tables(T, HS, theta, torch.float64)
    q = torch.randn(HS, generator=g, dtype=torch.float64).expand(1, 1, T, HS)
    k = torch.randn(HS, generator=g, dtype=torch.float64).expand(1, 1, T, HS)
    rq, rk = tm.apply_rope(q, cos, sin)[0, 0], tm.apply_rope(k, cos, sin)[0, 0]
    dots = rq @ rk.t()
    for d in range(-3, 4):
        diag = torch.diagonal(dots, d)
        assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-12), d
    return "pairs (2i, 2i+1), angle t·θ^(-2i/HS); relative-position invariance holds"


def check_masks():
    m = tm.attention_mask(6, 2)
    assert m[5].tolist() == [False, False, False, True, True, True]  # i-W..i
    assert tm.attention_mask(6, None)[5].all() and not tm.attention_mask(6, None)[0, 1]
    g3 = tm.load_model_config(HERE / "configs" / "gpt3.json")
    assert [tm.layer_window(g3, l) for l in range(4)] == [None, 4, None, 4]

    def moved(cfg, init, tok, j):
        with torch.no_grad():
            a = tm.forward(cfg, init, tok, tok)["logits"]
            t2 = tok.clone()
            t2[:, j] = (t2[:, j] + 1) % gp.VOCAB
            b = tm.forward(cfg, init, t2, tok)["logits"]
        return [(a[:, i] != b[:, i]).any().item() for i in range(tok.shape[1])]

    for name in gp.FAMILIES:  # causal: nothing before the perturbed position moves
        cfg, _, init, batches = family(name)
        mv = moved(cfg, init, batches[0][0], 7)
        assert not any(mv[:7]) and all(mv[7:8]), (name, mv)
    # Mistral, one layer: a token is seen by itself and the next W positions only.
    cfg, _, init, batches = family("mistral", n_layer=1)
    W = cfg["window"]
    mv = moved(cfg, init, batches[0][0], 3)
    assert mv == [3 <= i <= 3 + W for i in range(16)], mv
    # GPT-3: silence layer 0's attention (zero c_proj); layer 1 is banded, GPT-2's is dense.
    for name, banded in (("gpt3", True), ("gpt2", False)):
        cfg, _, init, batches = family(name)
        init = dict(init)
        init["transformer.h.0.attn.c_proj.weight"] = torch.zeros_like(
            init["transformer.h.0.attn.c_proj.weight"])
        init["transformer.h.0.attn.c_proj.bias"] = torch.zeros_like(
            init["transformer.h.0.attn.c_proj.bias"])
        mv = moved(cfg, init, batches[0][0], 3)
        want = [3 <= i <= 3 + cfg["window"] if banded else i >= 3 for i in range(16)]
        assert mv == want, (name, mv)
    return "causal in all 7 families; Mistral window i-W..i; GPT-3 odd layer banded, even dense"


def check_moe():
    out = []
    for name, sums_to_one in (("grok1", False), ("mixtral", True)):
        cfg, specs, init, batches = family(name, dtype=torch.float64)
        p = dict(init)
        pre = "transformer.h.0.moe"
        for e in range(1, cfg["moe"]["n_expert"]):  # every expert = expert 0
            for w in ("c_fc", "c_proj"):
                p[f"{pre}.experts.{e}.{w}.weight"] = p[f"{pre}.experts.0.{w}.weight"]
        x = torch.randn(2, 16, cfg["d_model"], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(1))
        y, aux = tm.moe(cfg, x, p, pre, {})
        H = tm.ffn_hidden(cfg)
        f = tm.gated(cfg, x @ p[f"{pre}.experts.0.c_fc.weight"].t(), H) @ \
            p[f"{pre}.experts.0.c_proj.weight"].t()
        logits = x.reshape(-1, cfg["d_model"]) @ p[f"{pre}.router.weight"].t()
        top2 = torch.softmax(logits, -1).topk(2, -1).values.sum(-1)
        weight_sum = torch.ones_like(top2) if sums_to_one else top2
        assert torch.allclose(y, f * weight_sum.view(2, 16, 1), atol=1e-12), name
        if not sums_to_one:
            assert (top2 < 1 - 1e-3).all()
        # A uniform router: P_e = 1/E, so E * sum_e f_e P_e = sum_e f_e = 1 per layer.
        p[f"{pre}.router.weight"] = torch.zeros_like(p[f"{pre}.router.weight"])
        _, aux = tm.moe(cfg, x, p, pre, {})
        assert abs(float(aux) - 1.0) < 1e-12, float(aux)
        out.append(f"{name} weights {'sum to 1' if sums_to_one else '= top-2 probabilities'}")
    return "; ".join(out) + "; balance loss 1 for a uniform router"


def check_gradcheck(quick):
    out = []
    for name in gp.FAMILIES:
        cfg, specs, init, batches = family(name, dtype=torch.float64)
        names = [s.name for s in specs]
        tokens, targets = batches[0]

        def f(*ts):
            return tm.forward(cfg, dict(zip(names, ts)), tokens, targets)["loss"]

        inputs = tuple(init[n].clone().requires_grad_(True) for n in names)
        full = name == "palm" and not quick
        t0 = time.time()
        assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5,
                                        fast_mode=not full), name
        out.append(f"{name}{' (full)' if full else ''} {time.time() - t0:.0f}s")
    return ", ".join(out)


def reference_run(cfg, specs, init, batches, o, steps):
    """The update equations (lib/optim/optimizer.h) written out by hand, float64: clip the loss gradient, then per tensor
    none / coupled (g += λw) / decoupled (w -= s_t λ w) Adam, or SGD with momentum."""
    w = {s.name: init[s.name].clone() for s in specs}
    m = {n: torch.zeros_like(t) for n, t in w.items()}
    v = {n: torch.zeros_like(t) for n, t in w.items()}
    lam, b1, b2, eps = o["weight_decay"], o["beta1"], o["beta2"], o["eps"]
    for step in range(steps):
        t = step + 1
        lr = gp.lr_at(step, o, steps)
        params = {n: x.clone().requires_grad_(True) for n, x in w.items()}
        tm.forward(cfg, params, *batches[step])["loss"].backward()
        g = {n: params[n].grad for n in w}
        norm = math.sqrt(sum(float((x * x).sum()) for x in g.values()))
        scale = o["grad_clip"] / (norm + 1e-6)
        if scale < 1:
            g = {n: x * scale for n, x in g.items()}
        for s in specs:
            n, gi = s.name, g[s.name]
            decayed = gp.decays(s, o["decay_scope"])
            if o["decay_mode"] == "coupled" and decayed:
                gi = gi + lam * w[n]
            if o["name"] == "sgd":
                m[n] = gi.clone() if t == 1 else o["momentum"] * m[n] + gi
                w[n] = w[n] - lr * m[n]
                continue
            m[n] = b1 * m[n] + (1 - b1) * gi
            v[n] = b2 * v[n] + (1 - b2) * gi * gi
            if o["decay_mode"] == "decoupled" and decayed:
                s_t = {"lr": lr, "schedule": lr / o["lr"],
                       "lr_squared": lr * lr}[o["decay_scaling"]]
                w[n] = w[n] - s_t * lam * w[n]
            mhat = m[n] / (1 - b1 ** t)
            vhat = v[n] / (1 - b2 ** t)
            w[n] = w[n] - lr * mhat / (vhat.sqrt() + eps)
    return w


def check_optimizer(quick):
    out = []
    steps = 5 if quick else gp.STEPS
    for name in ("gpt2", "mixtral"):  # biases + norms + tied; bias-free + MoE + untied
        cfg, specs, init, batches = family(name, dtype=torch.float64)
        worst = 0.0
        for vname, o in gp.variants():
            _, final = gp.train(cfg, specs, init, batches, o, steps=steps, dtype=torch.float64)
            ref = reference_run(cfg, specs, init, batches, o, steps)
            for s in specs:
                scale = max(1.0, float(ref[s.name].abs().max()))
                worst = max(worst, float((final[s.name] - ref[s.name]).abs().max()) / scale)
        assert worst < 1e-9, (name, worst)
        out.append(f"{name}: {len(gp.variants())} variants x {steps} steps, max diff {worst:.1e}")
    return "; ".join(out)


def check_scope():
    out = []
    for name in gp.FAMILIES:
        cfg, specs, init, batches = family(name)
        one_d = [s.name for s in specs if len(s.shape) < 2]
        for mode, extra in (("coupled", {"weight_decay": 0.05}),
                            ("decoupled", {"decay_scaling": "lr", "weight_decay": 0.5})):
            o = dict(gp.OPTIM, decay_mode=mode, **extra)
            _, sel = gp.train(cfg, specs, init, batches, dict(o, decay_scope="selective"), steps=1)
            _, uni = gp.train(cfg, specs, init, batches, dict(o, decay_scope="uniform"), steps=1)
            for s in specs:
                same = torch.equal(sel[s.name], uni[s.name])
                assert same == (len(s.shape) >= 2), (name, mode, s.name)
            if mode == "decoupled":  # the difference is the shrink s_t λ w, nothing else
                shrink = gp.decay_per_step(o, gp.lr_at(0, o, 1))
                for n in one_d:
                    assert torch.allclose(sel[n] - uni[n], shrink * init[n], atol=1e-6), n
        out.append(f"{name} ({len(one_d)} 1-D)")
    return "after one step only 1-D tensors differ: " + ", ".join(out)


def check_fixtures(quick):
    import json
    root = gp.REPO / "tests" / "fixtures" / "parity"
    lines = []
    for name in gp.FAMILIES:
        fx = json.loads((root / name / "fixture.json").read_text())
        var = {v["name"]: v for v in fx["variants"]}
        a, b = var["adam_none_selective"], var["adam_none_uniform"]
        assert a["loss"] == b["loss"] and a["final_norms"] == b["final_norms"], name
        base = a["final_norms"]
        effects = []
        for v in ("adam_coupled", "adamw_lr", "adamw_schedule", "adamw_lr_squared"):
            for scope in ("selective", "uniform"):
                n = var[f"{v}_{scope}"]["final_norms"]
                rel = max(abs(n[k] - base[k]) / base[k] for k in base)
                assert rel > 1e-3, (name, v, scope, rel)
            effects.append(f"{v} {rel:.1%}")
        lines.append(f"{name}: max |Δnorm| vs none (uniform) " + ", ".join(effects))
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            gp.main(["--out", tmp])
            for name in gp.FAMILIES:
                for f in ("init.safetensors", "fixture.json"):
                    assert filecmp.cmp(root / name / f, Path(tmp) / name / f, shallow=False), \
                        f"{name}/{f} does not regenerate to the same bytes"
        lines.append("regenerated: identical bytes")
    return "\n    ".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fast-mode gradcheck only, 5 optimizer steps, no regeneration")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    checks = [("widths", check_widths), ("rope", check_rope), ("masks", check_masks),
              ("moe", check_moe), ("gradcheck", lambda: check_gradcheck(args.quick)),
              ("optimizer", lambda: check_optimizer(args.quick)), ("scope", check_scope),
              ("fixtures", lambda: check_fixtures(args.quick))]
    failed = 0
    for name, fn in checks:
        try:
            print(f"ok    {name}: {fn()}", flush=True)
        except Exception as e:  # AssertionError, torch's GradcheckError, ...
            failed += 1
            print(f"FAIL  {name}: {e!r}", flush=True)
    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
