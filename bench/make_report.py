#!/usr/bin/env python3
"""Merges wdlab_bench's and torch_bench.py's JSON into bench/results.json and bench/RESULTS.md
(both written atomically). Called by bench/run.sh; standard library only.

    python3 bench/make_report.py --wdlab W.json --torch T.json --out-dir bench [--quick]
"""

import argparse
import datetime
import json
import os
import subprocess

from atomic_write import write_atomic

FAMILY_TITLES = {
    "gpt2": "GPT-2 style",
    "llama": "LLaMA style",
    "mixtral": "Mixtral style (MoE)",
    "grok1": "Grok-1 style (MoE)",
    "modular": "Modular arithmetic (the grokking task, configs/modular.json)",
}
SHAPE_ORDER = ["tiny", "small", "base", "large", "quickstart", "modular"]
SETTING_ORDER = ["1t", "2t", "2t-passive", "1t-ob2"]
# Issue 15: the configurations of its table (run.sh --issue15) must reach wdlab best >= 2x PyTorch
# best; the whole sweep >= 3x the PyTorch loop; tiny >= 70 % of the 1-thread sgemm peak; the
# per-run fixed cost < 5 % of a main-job run.
ISSUE15_PAIRS = ["gpt2:tiny", "llama:tiny", "mixtral:tiny", "grok1:tiny", "mixtral:small",
                 "grok1:small", "gpt2:quickstart", "llama:quickstart", "modular:modular"]
ISSUE15_RATIO, ISSUE15_SWEEP, ISSUE15_TINY_PEAK, ISSUE15_FIXED = 2.0, 3.0, 0.70, 0.05


def target_of(fam, shape):
    """The wdlab / PyTorch target of a row: issue 15's where it applies, else issue 5's."""
    if f"{fam}:{shape}" in ISSUE15_PAIRS:
        return ISSUE15_RATIO
    if fam in ("gpt2", "llama") and shape in RATIO_TARGET:
        return RATIO_TARGET[shape]
    return None
# Issue 5's "must reach": wdlab / PyTorch best, for the GPT-2 and LLaMA styles.
RATIO_TARGET = {"tiny": 2.0, "small": 1.5, "base": 1.25, "large": 1.1}
PEAK_TARGET = {"base": 0.50, "large": 0.60}  # of the two-thread sgemm peak
RSS_TARGET = {"base": 1.3, "large": 1.3}  # peak RSS / analytic


def tok(x):
    if x is None:
        return "–"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k"
    if x >= 1e3:
        return f"{x / 1e3:.2f}k"
    return f"{x:.0f}"


def tok_range(t):
    if not t:
        return "–"
    return f"{tok(t['median'])} ({tok(t['min'])}–{tok(t['max'])})"


def ratio_str(r, target):
    """Two decimals, three when two would round onto the target from the wrong side."""
    if target is not None and f"{r:.2f}" == f"{target:.2f}" and r < target:
        return f"{r:.3f}"
    return f"{r:.2f}"


def mb(x):
    return f"{x / 1e6:.0f}" if x is not None else "–"


def git_state(root):
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "lib", "bench"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes in lib/ or bench/" if dirty else "")
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wdlab", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--elapsed", type=float, default=None, help="wall time of run.sh (s)")
    ap.add_argument("--sweep", default="", help="torch_sweep.py's output (sweep level), if run")
    ap.add_argument("--mode", default="", help="how run.sh was called (for the title line)")
    args = ap.parse_args()
    with open(args.wdlab) as f:
        W = json.load(f)
    T = {"results": []}
    if os.path.exists(args.torch):
        with open(args.torch) as f:
            T = json.load(f)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    S = {}
    if args.sweep and os.path.exists(args.sweep):
        with open(args.sweep) as f:
            S = json.load(f)

    runs = {(r["family"], r["shape"], r["threads"]): r for r in W["runs"]}
    torch_runs = {(r["family"], r["shape"], r["setting"]): r for r in T["results"]}
    sweeps = {(s["family"], s["shape"]): s for s in W.get("sweep", [])}
    families = list(dict.fromkeys(r["family"] for r in W["runs"]))
    shapes = [s for s in SHAPE_ORDER if any(r["shape"] == s for r in W["runs"])]
    threads = sorted({r["threads"] for r in W["runs"]})
    peaks = {int(k): v["peak_gflops"] for k, v in W["sgemm"].items()}

    comparison = []
    for fam in families:
        for shape in shapes:
            wd = {t: runs.get((fam, shape, t)) for t in threads}
            wd_ok = {t: r for t, r in wd.items() if r and "tok_s" in r}
            th_ok = {k[2]: r for k, r in torch_runs.items() if k[:2] == (fam, shape) and "tok_s" in r}
            wd_best_t = max(wd_ok, key=lambda t: wd_ok[t]["tok_s"]["median"]) if wd_ok else None
            th_best_s = max(th_ok, key=lambda s: th_ok[s]["tok_s"]["median"]) if th_ok else None
            c = {"family": fam, "shape": shape,
                 "wdlab_best_threads": wd_best_t,
                 "wdlab_best_tok_s": wd_ok[wd_best_t]["tok_s"]["median"] if wd_best_t else None,
                 "torch_best_setting": th_best_s,
                 "torch_best_tok_s": th_ok[th_best_s]["tok_s"]["median"] if th_best_s else None}
            c["ratio"] = (c["wdlab_best_tok_s"] / c["torch_best_tok_s"]
                          if c["wdlab_best_tok_s"] and c["torch_best_tok_s"] else None)
            comparison.append(c)
    cmp = {(c["family"], c["shape"]): c for c in comparison}

    now = datetime.datetime.now().astimezone()
    m = W["machine"]
    L = []
    L.append("# wdlab benchmark results\n")
    mode = args.mode or (" --quick" if args.quick else "")
    what = {"": "full run", " --quick": "quick: tiny and small only, fewer steps",
            " --issue15": "issue 15's table: the single-run shapes below and the sweep level"}.get(mode, "a subset")
    # RESULTS.md may live below bench/ (--issue15 writes bench/issue15/): link bench/README.md from there.
    readme_link = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md"),
                                  os.path.abspath(args.out_dir))
    L.append(f"`bench/run.sh{mode}` on {now:%Y-%m-%d %H:%M %Z}"
             f" ({what}); "
             f"method and formulas: [README.md]({readme_link}); raw data: [results.json](results.json).\n")
    L.append("## Machine\n")
    L.append(f"- CPU: {m['cpu']}, {m['cores']} cores, {m['mem_total_kb'] / 2**20:.0f} GiB")
    L.append(f"- OpenBLAS: `{m['openblas_config']}`, core `{m['openblas_corename']}`")
    env = m["env"]
    L.append("- OPENBLAS_CORETYPE = " + (f"`{env['OPENBLAS_CORETYPE']}`" if env.get("OPENBLAS_CORETYPE") else "unset")
             + ", OPENBLAS_L2_SIZE = " + (f"`{env['OPENBLAS_L2_SIZE']}`" if env.get("OPENBLAS_L2_SIZE") else "unset")
             + " (left as found)")
    L.append(f"- PyTorch {T.get('torch_version', 'not run')} (Python {T.get('python', '?')}), BLAS: "
             + ("OpenBLAS via libblas.so.3 (`BLAS_INFO=generic`)" if "BLAS_INFO=generic" in T.get("torch_config", "") else "see results.json"))
    L.append(f"- wdlab: {git_state(root)}")
    L.append(f"- Load average at start / end of the wdlab runs: {m['loadavg_start']} / {m.get('loadavg_end', '?')}. "
             "The cores are shared: the *others* column below is the share of the machine's CPU time "
             "other processes used during each run's timed steps (0 % = machine to ourselves; "
             "anything above a few % makes that row slower than the engine is).")
    total = args.elapsed if args.elapsed else W.get("elapsed_s", 0) + T.get("elapsed_s", 0)
    L.append(f"- Wall time: {total / 60:.1f} min (wdlab {W.get('elapsed_s', 0) / 60:.1f}, PyTorch {T.get('elapsed_s', 0) / 60:.1f})\n")

    def median_share(rs):
        v = sorted(r["cpu"]["others_share"] for r in rs if "cpu" in r)
        return v[len(v) // 2] if v else 0.0

    w_share, t_share = median_share(W["runs"]), median_share(T["results"])
    if max(w_share, t_share) > 0.10:
        L.append(f"> **The machine was shared during this run**: other processes used a median "
                 f"{100 * w_share:.0f} % of its CPU time during wdlab's timed steps and "
                 f"{100 * t_share:.0f} % during PyTorch's (*others* columns; 50 % = one of the two "
                 f"cores). Rows with a high *others* are slower than the engine can be, two-thread "
                 f"settings most of all (PyTorch's `2t` spins against the neighbour); the "
                 f"single-thread tokens-per-CPU-second table is the contention-robust comparison. "
                 f"Re-run on a quiet machine for numbers of record.\n")

    L.append("## sgemm (cblas_sgemm through wdlab::gemm, same run)\n")
    hdr = "| M × N × K | op | " + " | ".join(f"{t} thread{'s' if t > 1 else ''} GFLOP/s" for t in threads) + " |"
    L.append(hdr)
    L.append("|---|---|" + "---|" * len(threads))
    shapes_by_t = {int(k): v["shapes"] for k, v in W["sgemm"].items()}
    for i, g in enumerate(shapes_by_t[threads[0]]):
        cells = [f"{shapes_by_t[t][i]['gflops']:.1f}" for t in threads]
        L.append(f"| {g['M']} × {g['N']} × {g['K']} | {g['op']} | " + " | ".join(cells) + " |")
    L.append("| **peak** (max of the above) | | " + " | ".join(f"**{peaks[t]:.1f}**" for t in threads) + " |\n")

    L.append("## Training throughput, wdlab vs PyTorch (tokens/s, median (min–max))\n")
    L.append("PyTorch settings: `1t` torch 1 thread + OpenBLAS 1; `2t` 2 + 2; `2t-passive` 2 + 2 with "
             "OMP_WAIT_POLICY=PASSIVE; `1t-ob2` torch 1 + OpenBLAS 2. *ratio* = wdlab best / PyTorch "
             "best (both medians); *target* is issue 5's minimum (GPT-2 and LLaMA styles).\n")
    for fam in families:
        L.append(f"### {FAMILY_TITLES.get(fam, fam)}\n")
        has_ref = any(k[0] == fam and k[2].startswith("ref-") for k in torch_runs)
        L.append("| shape (B, T, layers, d, heads) | params | " +
                 " | ".join(f"wdlab {t}T" for t in threads) + " | " +
                 " | ".join(f"torch {s}" for s in SETTING_ORDER) +
                 (" | torch reference (tools/parity), best" if has_ref else "") +
                 " | torch best | ratio | target |")
        L.append("|---|---|" + "---|" * (len(threads) + len(SETTING_ORDER) + 3 + has_ref))
        for shape in shapes:
            r0 = next((runs[(fam, shape, t)] for t in threads if "model" in runs.get((fam, shape, t), {})), None)
            if r0 is None:
                continue
            label = f"{shape} ({r0['B']}, {r0['T']}, {r0['L']}, {r0['C']}, {r0['NH']})"
            cells = [label, f"{r0['params'] / 1e6:.2f}M"]
            for t in threads:
                r = runs.get((fam, shape, t), {})
                cells.append(tok_range(r.get("tok_s")) if "tok_s" in r else "failed")
            for s in SETTING_ORDER:
                r = torch_runs.get((fam, shape, s))
                cells.append("–" if r is None else (tok_range(r.get("tok_s")) if "tok_s" in r else "failed"))
            if has_ref:
                refs = {k[2]: r for k, r in torch_runs.items()
                        if k[:2] == (fam, shape) and k[2].startswith("ref-") and "tok_s" in r}
                best_ref = max(refs, key=lambda k: refs[k]["tok_s"]["median"]) if refs else None
                cells.append(f"{tok_range(refs[best_ref]['tok_s'])} ({best_ref[4:]})" if best_ref else "–")
            c = cmp[(fam, shape)]
            need = target_of(fam, shape)
            cells.append(f"{tok(c['torch_best_tok_s'])} ({c['torch_best_setting']})" if c["torch_best_setting"] else "–")
            if c["ratio"] is None:
                cells.append("–")
            elif need is None:
                cells.append(f"{ratio_str(c['ratio'], None)}×")
            elif c["ratio"] >= need:
                cells.append(f"**{ratio_str(c['ratio'], need)}×**")
            else:
                cells.append(f"{ratio_str(c['ratio'], need)}× ✗")
            cells.append(f"≥ {need}×" if need else "(none)")
            L.append("| " + " | ".join(cells) + " |")
        L.append("")
        for shape in shapes:
            r0 = next((runs[(fam, shape, t)] for t in threads if "model" in runs.get((fam, shape, t), {})), None)
            if r0:
                L.append(f"- {shape}: {r0['model']['describe']}")
        L.append("")
        L.append("| shape | threads | fwd ms | bwd ms | opt ms | step ms | GFLOP/s | % of peak | % of own-shape sgemm | peak RSS MB | analytic MB | RSS / analytic | others |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for shape in shapes:
            for t in threads:
                r = runs.get((fam, shape, t))
                if not r or "tok_s" not in r:
                    continue
                ms = r["ms"]
                rss, ana = r["rss"]["peak"], r["memory"]["total_bytes"]
                own = r.get("shape_sgemm_gflops") or 0
                L.append(f"| {shape} | {t} | {ms['forward']:.1f} | {ms['backward']:.1f} | {ms['optimizer']:.1f} | "
                         f"{ms['step']:.1f} | {r['gflops']:.1f} | {100 * r['fraction_of_peak']:.0f} % | "
                         f"{100 * r['gflops'] / own:.0f} % | {mb(rss)} | {mb(ana)} | {rss / ana:.2f} | "
                         f"{100 * r['cpu']['others_share']:.0f} % |" if own else
                         f"| {shape} | {t} | {ms['forward']:.1f} | {ms['backward']:.1f} | {ms['optimizer']:.1f} | "
                         f"{ms['step']:.1f} | {r['gflops']:.1f} | {100 * r['fraction_of_peak']:.0f} % | – | "
                         f"{mb(rss)} | {mb(ana)} | {rss / ana:.2f} | {100 * r['cpu']['others_share']:.0f} % |")
        torch_ms = [(shape, s, torch_runs[(fam, shape, s)]) for shape in shapes for s in SETTING_ORDER
                    if "ms" in torch_runs.get((fam, shape, s), {})]
        if torch_ms:
            L.append("\nPyTorch, same split (median ms) and peak RSS:\n")
            L.append("| shape | setting | steps | fwd ms | bwd ms | opt ms | step ms | peak RSS MB |")
            L.append("|---|---|---|---|---|---|---|---|")
            for shape, s, r in torch_ms:
                ms = r["ms"]
                L.append(f"| {shape} | {s} | {r['warmup']}+{r['steps']} | {ms['forward']:.1f} | {ms['backward']:.1f} | "
                         f"{ms['optimizer']:.1f} | {ms['step']:.1f} | {mb(r['peak_rss'])} |")
        L.append("")

    L.append("## Single thread, tokens per CPU-second\n")
    L.append("Tokens / CPU time of the process (all its threads) over the timed steps, for wdlab at 1 thread "
             "and PyTorch `1t`. With one thread this is close to the throughput on an idle machine even "
             "when neighbours take turns on the cores (what it does not remove: their cache and memory-bandwidth "
             "pressure), so it is the fairer comparison when *others* is high.\n")
    L.append("| family | shape | wdlab 1T tok/CPU-s | PyTorch 1t tok/CPU-s | ratio | wdlab others | PyTorch others |")
    L.append("|---|---|---|---|---|---|---|")
    for fam in families:
        for shape in shapes:
            w = runs.get((fam, shape, 1))
            t = torch_runs.get((fam, shape, "1t"))
            if not w or "cpu" not in w:
                continue
            wc = w["cpu"]["tok_per_cpu_s"]
            tc = t["cpu"]["tok_per_cpu_s"] if t and "cpu" in t else None
            ratio = f"{wc / tc:.2f}×" if tc else "–"
            t_others = f"{100 * t['cpu']['others_share']:.0f} %" if tc else "–"
            L.append(f"| {fam} | {shape} | {tok(wc)} | {tok(tc)} | {ratio} | "
                     f"{100 * w['cpu']['others_share']:.0f} % | {t_others} |")
    L.append("")

    if sweeps:
        L.append("## Sweep throughput: two single-threaded runs side by side vs one two-threaded run\n")
        L.append("Aggregate = tokens of both runs / (last end − first start) of their timed steps, "
                 "which start together; the 2-thread figure is the same mean (tokens / timed time) of "
                 "the 2-thread run above.\n")
        L.append("| family | shape | steps | 2 × 1T aggregate tok/s | each 1T (median) | 1 × 2T tok/s | side by side / 2T | faster |")
        L.append("|---|---|---|---|---|---|---|---|")
        for fam in families:
            for shape in shapes:
                s = sweeps.get((fam, shape))
                if not s:
                    continue
                if "error" in s:
                    L.append(f"| {fam} | {shape} | {s['steps']} | failed | | | | |")
                    continue
                ratio = s.get("side_by_side_over_two_thread")
                L.append(f"| {fam} | {shape} | {s['steps']} | {tok(s['aggregate_tok_s'])} | "
                         f"{' + '.join(tok(x) for x in s['each_median_tok_s'])} | {tok(s.get('two_thread_tok_s'))} | "
                         f"{ratio:.2f} | {'2 × 1T' if ratio and ratio > 1 else '1 × 2T'} |" if ratio else
                         f"| {fam} | {shape} | {s['steps']} | {tok(s['aggregate_tok_s'])} | | – | – | |")
        L.append("")

    if S:
        L.append("## Sweep level: `wdlab sweep` against a PyTorch loop (issue 15)\n")
        L.append(f"The runs of `{S['spec']}` ({S['wdlab']['runs']} runs, a fixed subset of the quickstart with "
                 "its full step count: bench/README.md), from launch to the last result file: process "
                 "start-up, data set-up, training, every evaluation and the result files. PyTorch trains the "
                 "same models on the same batches (dumped by wdlab beforehand, outside the timing: PyTorch "
                 "gets its data for free), one process per run.\n")
        L.append("| what | processes at once × threads | wall s | CPU s | mean per-run wall s | wall / wdlab |")
        L.append("|---|---|---|---|---|---|")
        w = S["wdlab"]
        L.append(f"| `wdlab sweep` (its default) | 2 × 1 | {w['wall_s']:.1f} | {w['cpu_s']:.1f} | "
                 f"{sum(w['run_wall_seconds']) / len(w['run_wall_seconds']):.2f} | 1.00 |")
        for mode, t in S["torch"].items():
            desc = "one after the other" if mode == "seq" else "two side by side"
            L.append(f"| PyTorch, {desc} (`{t['setting']}`) | {t['processes_at_once']} × "
                     f"{2 if t['setting'].startswith('2t') else 1} | {t['wall_s']:.1f} | {t['cpu_s']:.1f} | "
                     f"{sum(t['run_wall_seconds']) / len(t['run_wall_seconds']):.2f} | {t['wall_s'] / w['wall_s']:.2f} |")
        L.append("")
        L.append(f"- Parameter counts equal on both sides: {'yes' if S.get('params_match') else '**no**'}.")
        if S.get("ratio"):
            L.append(f"- PyTorch's faster way: {S['torch_best_mode']}; sweep-level ratio (PyTorch best wall / "
                     f"wdlab wall) = **{S['ratio']:.2f}×** (issue 15 target ≥ {ISSUE15_SWEEP}×).")
        fc = S.get("fixed_cost")
        if fc:
            c, u = fc["runs"]["cached"], fc["runs"]["uncached"]
            L.append(f"- Per-run fixed cost ({fc['what']}): {c['wall_s']:.2f} s wall / {c['cpu_s']:.2f} CPU s "
                     f"with the sweep's data cache, {u['wall_s']:.2f} s / {u['cpu_s']:.2f} CPU s without it; "
                     f"{100 * fc['share_cached']:.1f} % (cached) and {100 * fc['share_uncached']:.1f} % "
                     f"(uncached) of a main-job run's {fc['main_run_wall_s']:.1f} s (target < {100 * ISSUE15_FIXED:.0f} %).")
        L.append("")

    issue15 = [p for p in ISSUE15_PAIRS if tuple(p.split(":")) in cmp]
    if issue15 or S:
        L.append("## Issue 15 targets in this run\n")
        for p in issue15:
            c = cmp[tuple(p.split(":"))]
            if c["ratio"] is not None:
                L.append(f"- {p.replace(':', ' ')}: wdlab / PyTorch best = {c['ratio']:.2f}× (target ≥ {ISSUE15_RATIO}×): "
                         + ("met" if c["ratio"] >= ISSUE15_RATIO else f"**not met** (gap {ISSUE15_RATIO / c['ratio']:.2f}×)"))
        for fam in families:
            for shape in ("tiny", "quickstart"):
                r = runs.get((fam, shape, 1))
                if r and "tok_s" in r and fam in ("gpt2", "llama"):
                    f = r["gflops"] / peaks[1]
                    L.append(f"- {fam} {shape}, 1 thread: {100 * f:.0f} % of the 1-thread sgemm peak "
                             f"(target ≥ {100 * ISSUE15_TINY_PEAK:.0f} %): " + ("met" if f >= ISSUE15_TINY_PEAK else "**not met**"))
        if S and S.get("ratio"):
            L.append(f"- sweep level: {S['ratio']:.2f}× (target ≥ {ISSUE15_SWEEP}×): "
                     + ("met" if S["ratio"] >= ISSUE15_SWEEP else "**not met**"))
        if S and S.get("fixed_cost"):
            share = S["fixed_cost"]["share_cached"]
            L.append(f"- per-run fixed cost in a sweep: {100 * share:.1f} % (target < {100 * ISSUE15_FIXED:.0f} %): "
                     + ("met" if share < ISSUE15_FIXED else "**not met**"))
        L.append("")

    if any(s in RATIO_TARGET for s in shapes):
        L.append("## Issue 5 targets in this run\n")
    for fam in [f for f in families if f in ("gpt2", "llama")]:
        for shape in [s for s in shapes if s in RATIO_TARGET]:
            c = cmp[(fam, shape)]
            if c["ratio"] is not None:
                need = RATIO_TARGET[shape]
                L.append(f"- {fam} {shape}: wdlab / PyTorch best = {c['ratio']:.2f}× (target ≥ {need}×): "
                         + ("met" if c["ratio"] >= need else f"**not met** (gap {need / c['ratio']:.2f}×)"))
    for fam in families:
        for shape in shapes:
            r = runs.get((fam, shape, 2))
            if r and "tok_s" in r and shape in PEAK_TARGET:
                f = r["gflops"] / peaks[2]
                L.append(f"- {fam} {shape}, 2 threads: {100 * f:.0f} % of the 2-thread sgemm peak "
                         f"(target ≥ {100 * PEAK_TARGET[shape]:.0f} %): " + ("met" if f >= PEAK_TARGET[shape] else "**not met**"))
            for t in threads:
                r = runs.get((fam, shape, t))
                if r and "tok_s" in r and shape in RSS_TARGET:
                    q = r["rss"]["peak"] / r["memory"]["total_bytes"]
                    L.append(f"- {fam} {shape}, {t}T: peak RSS / analytic = {q:.2f} (target ≤ {RSS_TARGET[shape]}): "
                             + ("met" if q <= RSS_TARGET[shape] else "**not met**"))
    if args.quick:
        L.append("- base and large (where the sgemm-fraction and RSS targets apply) are not part of a quick run.")
    L.append("")

    L.append("## Steps used\n")
    seen = {}
    for r in W["runs"]:
        if "steps" in r:
            seen.setdefault(("wdlab", r["shape"]), f"{r['warmup']} warm-up + {r['steps']} timed")
    for s in W.get("sweep", []):
        seen.setdefault(("wdlab side by side", s["shape"]), f"{s['steps']} timed each")
    for r in T["results"]:
        if "steps" in r:
            key = ("PyTorch", r["shape"])
            desc = f"{r['warmup']} warm-up + {r['steps']} timed"
            seen[key] = desc if seen.get(key, desc) == desc else "varies (see table above)"
    for (who, shape), desc in sorted(seen.items(), key=lambda kv: (kv[0][0], SHAPE_ORDER.index(kv[0][1]))):
        L.append(f"- {who}, {shape}: {desc}")
    L.append("")

    md = "\n".join(L)
    out = {"generated": now.isoformat(), "quick": args.quick, "mode": mode.strip(), "machine": m,
           "git": git_state(root), "comparison": comparison, "wdlab": W, "torch": T, "sweep_level": S}
    os.makedirs(args.out_dir, exist_ok=True)
    write_atomic(os.path.join(args.out_dir, "results.json"), json.dumps(out, indent=1) + "\n")
    write_atomic(os.path.join(args.out_dir, "RESULTS.md"), md)
    print(md)


if __name__ == "__main__":
    main()
