#!/usr/bin/python3
"""Sweep-level benchmark of bench/ (issue 15): a whole sweep by `wdlab sweep` against the same runs
done by a PyTorch loop on the same cores, wall time from launch to the last result file, start-up,
data set-up, evaluation and writing included. Run with /usr/bin/python3 (Debian's python3-torch).

    /usr/bin/python3 bench/torch_sweep.py --wdlab build-bench/wdlab --bench build-bench/bench/wdlab_bench \\
        --spec bench/issue15-sweep.json --work build-bench/bench-out/sweep --out sweep.json
        [--torch-results torch.json] [--modes seq,pair]

1. `wdlab sweep SPEC` into a fresh directory (its default: one single-threaded run per core), timed.
2. For every run, `wdlab_bench --dump-run` writes the batches that run trained and evaluated on
   and its model and optimizer (not timed: PyTorch gets its data for free, which favours it).
3. The PyTorch loop (`--child`, one process per run: `import torch`, model, training with the
   run's schedule, clipping and decay, a metrics row every log_every steps with the loss, the
   learning rate, the gradient norm and the decayed / non-decayed weight norms, an evaluation on
   the same validation batches every eval_every steps with every tensor's norm, summary.json),
   in two ways, each timed:
     seq   one run after the other, each process with 2 threads (the 2-core PyTorch setting
           that was fastest at the quickstart shape in --torch-results, else 2t-passive);
     pair  two single-threaded processes side by side (a pool of two, like xargs -P 2).
4. A wdlab run of the first run's config with 1 step, with and without the sweep's data cache:
   the per-run fixed cost (start-up, data set-up, model, two evaluations, writing).
"""

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time

from atomic_write import write_atomic

HERE = os.path.dirname(os.path.abspath(__file__))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")
TORCH_ENV = {
    "1t": (1, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}),
    "2t": (2, {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}),
    "2t-passive": (2, {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
    "1t-ob2": (1, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}),
}


# --------------------------------------------------------------------------------------------
# Child: one run in PyTorch.


def lr_at(o, step):
    """lib/optim/lr_schedule.h: linear warmup, then cosine from lr to min_lr at the last update."""
    warmup, peak = o["warmup_steps"], o["lr"]
    if step < warmup:
        return peak * (step + 1) / warmup
    if o.get("schedule", "cosine") == "constant":
        return peak
    span = max(1, o["lr_total"] - warmup - 1)
    progress = min(1.0, max(0.0, (step - warmup) / span))
    return o["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - o["min_lr"])


def run_child(args):
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    import numpy as np
    import torch

    sys.path.insert(0, HERE)
    from torch_bench import build_model

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    with open(args.spec) as f:
        spec = json.load(f)
    B, T, steps = spec["B"], spec["T"], spec["steps"]
    raw = torch.from_numpy(np.fromfile(args.data, dtype=np.int32).astype(np.int64))
    raw = raw.view(-1, 2, B, T)
    train, evals = raw[:steps], raw[steps:]
    model = build_model(torch, spec)
    o = spec["optim"]
    named = list(model.named_parameters())
    if o["decay_scope"] == "uniform":
        exempt_gains = any(r.get("kind") == "norm_gain" and r.get("decay") is False
                           for rules in o.get("decay_rules", []) for r in rules)
        decayed = [p for n, p in named if not (exempt_gains and p.dim() == 1 and "ln" in n)]
    else:  # selective: matrices and embeddings
        decayed = [p for _, p in named if p.dim() >= 2]
    ids = {id(p) for p in decayed}
    rest = [p for _, p in named if id(p) not in ids]
    mode, lam = o["decay_mode"], o["weight_decay"]
    groups = [{"params": decayed, "weight_decay": lam if mode != "none" else 0.0},
              {"params": rest, "weight_decay": 0.0}]
    betas = (o["beta1"], o["beta2"])
    if mode == "coupled":  # L2 in the gradient, as Adam's weight_decay
        opt = torch.optim.Adam(groups, lr=o["lr"], betas=betas, eps=o["eps"])
    else:
        opt = torch.optim.AdamW(groups, lr=o["lr"], betas=betas, eps=o["eps"])
    params = [p for _, p in named]

    os.makedirs(args.out, exist_ok=True)
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w")
    norms_file = open(os.path.join(args.out, "tensor_norms.jsonl"), "w")
    t_start = time.perf_counter()

    def group_norm(ps):
        return math.sqrt(sum(float(p.detach().pow(2).sum()) for p in ps))

    def evaluate(step):
        model.eval()
        with torch.no_grad():
            val = sum(float(model(evals[i, 0], evals[i, 1])) for i in range(len(evals))) / len(evals)
        model.train()
        row = {"step": step, "tokens": step * B * T, "val_loss": val,
               "time_s": time.perf_counter() - t_start}
        metrics.write(json.dumps(row) + "\n")
        norms = {n: float(p.detach().norm()) for n, p in named}
        norms_file.write(json.dumps({"step": step, "norms": norms}) + "\n")
        return val

    val = best = evaluate(0)
    loss = None
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(o, step - 1)
        idx, tgt = train[step - 1, 0], train[step - 1, 1]
        loss = model(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, o["grad_clip"]) if o["grad_clip"] > 0 else None
        opt.step()
        if step % spec["log_every"] == 0 or step == steps:
            metrics.write(json.dumps({
                "step": step, "tokens": step * B * T, "train_loss": float(loss),
                "lr": lr_at(o, step - 1), "grad_norm": float(grad_norm) if grad_norm is not None else None,
                "norm_decay": group_norm(decayed), "norm_no_decay": group_norm(rest),
                "time_s": time.perf_counter() - t_start}) + "\n")
        if step % spec["eval_every"] == 0 or step == steps:
            val = evaluate(step)
            best = min(best, val)
    metrics.close()
    norms_file.close()
    wall = time.perf_counter() - t_start
    summary = {"status": "finished", "steps": steps, "final_train_loss": float(loss),
               "final_val_loss": val, "best_val_loss": best,
               "norm_decay": group_norm(decayed), "norm_no_decay": group_norm(rest),
               "wall_seconds": wall, "tokens_per_s": steps * B * T / wall,
               "params": sum(p.numel() for p in params), "threads": threads}
    write_atomic(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Parent.


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn):
    c0, t0 = children_cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, children_cpu() - c0


def run_pool(commands, env, width, log_dir):
    """Runs the commands, at most `width` at once; raises if one fails."""
    pending, running, failed = list(enumerate(commands)), [], []
    while pending or running:
        while pending and len(running) < width:
            i, cmd = pending.pop(0)
            log = open(os.path.join(log_dir, f"{i:03d}.log"), "w")
            running.append((i, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        pid, status = os.wait()
        for item in running:
            if item[1].pid == pid:
                running.remove(item)
                item[2].close()
                item[1].returncode = os.waitstatus_to_exitcode(status)
                if item[1].returncode != 0:
                    failed.append(item[0])
    if failed:
        raise SystemExit(f"torch_sweep: PyTorch runs {failed} failed (logs in {log_dir})")


def best_two_core_setting(path):
    """The 2-core PyTorch setting that was fastest at the quickstart shape (gpt2 and llama summed)."""
    try:
        with open(path) as f:
            T = json.load(f)
    except (OSError, ValueError):
        return None
    score = {}
    for r in T.get("results", []):
        if r.get("shape") == "quickstart" and r.get("setting") in ("2t", "2t-passive", "1t-ob2") and "tok_s" in r:
            score[r["setting"]] = score.get(r["setting"], 0.0) + r["tok_s"]["median"]
    return max(score, key=score.get) if score else None


def run_parent(args):
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = {"spec": args.spec, "cores": os.cpu_count()}
    base_env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS and k != "WDLAB_DATA_CACHE"}

    # 1. wdlab sweep (fresh directory: the data set-up is inside the timing).
    wd_dir = os.path.join(work, "wdlab")
    print("sweep: wdlab sweep ...", file=sys.stderr, flush=True)
    wall, cpu = timed(lambda: subprocess.run(
        [args.wdlab, "sweep", args.spec, "--out", wd_dir], env=base_env, check=True,
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "wdlab-sweep.log"), "w")))
    runs = sorted(d for d in os.listdir(wd_dir) if os.path.isfile(os.path.join(wd_dir, d, "summary.json")))
    run_walls = []
    for d in runs:
        with open(os.path.join(wd_dir, d, "summary.json")) as f:
            run_walls.append(json.load(f)["wall_seconds"])
    out["wdlab"] = {"command": f"wdlab sweep {args.spec}", "runs": len(runs), "wall_s": wall, "cpu_s": cpu,
                    "run_wall_seconds": run_walls}
    print(f"sweep: wdlab {len(runs)} runs in {wall:.1f} s (CPU {cpu:.1f} s)", file=sys.stderr, flush=True)

    # 2. The batches of every run, for PyTorch (not timed).
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    for d in runs:
        subprocess.run([args.bench, "--dump-run", os.path.join(wd_dir, d), "--out", os.path.join(data_dir, d)],
                       env=base_env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(data_dir, runs[0] + ".json")) as f:
        spec0 = json.load(f)

    # 3. PyTorch, both ways.
    seq_setting = best_two_core_setting(args.torch_results) or "2t-passive"
    out["torch"] = {}
    for mode in args.modes.split(","):
        setting = seq_setting if mode == "seq" else "1t"
        width = 1 if mode == "seq" else 2
        env = dict(base_env)
        env.update(TORCH_ENV[setting][1])
        t_dir = os.path.join(work, f"torch-{mode}")
        os.makedirs(t_dir)
        cmds = [[sys.executable, os.path.abspath(__file__), "--child", "--spec", os.path.join(data_dir, d + ".json"),
                 "--data", os.path.join(data_dir, d + ".bin"), "--out", os.path.join(t_dir, d)] for d in runs]
        print(f"sweep: PyTorch {mode} ({width} process{'es' if width > 1 else ''} at a time, {setting}) ...",
              file=sys.stderr, flush=True)
        wall_t, cpu_t = timed(lambda: run_pool(cmds, env, width, t_dir))
        params, walls = set(), []
        for d in runs:
            with open(os.path.join(t_dir, d, "summary.json")) as f:
                s = json.load(f)
            params.add(s["params"])
            walls.append(s["wall_seconds"])
        out["torch"][mode] = {"setting": setting, "processes_at_once": width, "wall_s": wall_t, "cpu_s": cpu_t,
                              "run_wall_seconds": walls, "params": sorted(params)}
        print(f"sweep: PyTorch {mode} in {wall_t:.1f} s (CPU {cpu_t:.1f} s)", file=sys.stderr, flush=True)
    # Same models: the parameter counts of both sides, per preset.
    wd_params = set()
    for d in runs:
        with open(os.path.join(data_dir, d + ".json")) as f:
            wd_params.add(json.load(f)["params"])
    out["params_match"] = all(set(t["params"]) == wd_params for t in out["torch"].values())
    best = min(out["torch"], key=lambda k: out["torch"][k]["wall_s"]) if out["torch"] else None
    out["torch_best_mode"] = best
    out["ratio"] = out["torch"][best]["wall_s"] / wall if best else None

    # 4. Per-run fixed cost: the first run's config with 1 step, with and without the cache.
    with open(os.path.join(wd_dir, runs[0], "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(wd_dir, "sweep.json")) as f:
        planned = json.load(f)["runs"][0]
    overrides = [o for o in planned["overrides"] if not o.startswith("train.steps=")] + ["train.steps=1"]
    fixed = {}
    for label, cache in (("cached", os.path.join(wd_dir, ".cache", "data")), ("uncached", None)):
        env = dict(base_env)
        if cache:
            env["WDLAB_DATA_CACHE"] = cache
        samples = []
        for rep in range(3):
            d = os.path.join(work, f"fixed-{label}-{rep}")
            w, c = timed(lambda: subprocess.run(
                [args.wdlab, "run", "--preset", cfg["preset"], "--scale", cfg["scale"], "--out", d, "--force",
                 "--threads", "1", *overrides], env=env, check=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            samples.append({"wall_s": w, "cpu_s": c})
        fixed[label] = {"wall_s": sorted(s["wall_s"] for s in samples)[1],
                        "cpu_s": sorted(s["cpu_s"] for s in samples)[1]}
    mean_run = sum(run_walls) / len(run_walls)
    out["fixed_cost"] = {
        "what": "wdlab run of the sweep's first config with train.steps=1 (start-up, data set-up, model, "
                "the step-0 and final evaluations, all result files), median of 3",
        "runs": fixed, "main_run_wall_s": mean_run,
        "share_cached": fixed["cached"]["wall_s"] / mean_run,
        "share_uncached": fixed["uncached"]["wall_s"] / mean_run}
    print(f"sweep: fixed cost {fixed['cached']['wall_s']:.2f} s with the cache, "
          f"{fixed['uncached']['wall_s']:.2f} s without ({100 * out['fixed_cost']['share_cached']:.1f} % / "
          f"{100 * out['fixed_cost']['share_uncached']:.1f} % of a {mean_run:.1f} s run)", file=sys.stderr)
    write_atomic(args.out, json.dumps(out, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wdlab")
    ap.add_argument("--bench")
    ap.add_argument("--spec", default=os.path.join(HERE, "issue15-sweep.json"))
    ap.add_argument("--work")
    ap.add_argument("--out")
    ap.add_argument("--torch-results", default="")
    ap.add_argument("--modes", default="seq,pair")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args)
    else:
        for k in ("wdlab", "bench", "work", "out"):
            if not getattr(args, k):
                ap.error(f"--{k} is required")
        run_parent(args)


if __name__ == "__main__":
    main()
