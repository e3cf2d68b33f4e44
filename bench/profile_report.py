#!/usr/bin/python3
"""Groups `perf report --sort dso,symbol` flat profiles into what the time is spent on and prints
(or writes, atomically) a Markdown table with one column per profile. Used by bench/profile.sh.

    profile_report.py [--title TEXT] [--out FILE] "LABEL=perf-report.txt" ...
"""
import argparse
import re
import sys

from atomic_write import write_atomic

# (row, test on (dso, symbol)); the first match wins, so specific rows come first.
GEMM_KERNEL = "sgemm: micro-kernels (OpenBLAS)"
GEMM_OTHER = "sgemm: packing, C scaling, drivers (OpenBLAS)"
MEMSET = "memset: C = 0 of beta-0 sgemm calls, zero fills of buffers that are added into"
ROWS = [
    (GEMM_KERNEL, lambda dso, sym: "openblas" in dso and "kernel" in sym),
    (GEMM_OTHER, lambda dso, sym: "openblas" in dso),
    (MEMSET, lambda dso, sym: "memset" in sym),
    ("memcpy / memmove", lambda dso, sym: "memmove" in sym or "memcpy" in sym),
    ("libm tanh (attention soft-cap, double)", lambda dso, sym: sym in ("__tanh", "__expm1_fma", "__expm1")),
    ("libm, other (exp and log of the loss, sin/cos)", lambda dso, sym: dso.startswith("libm")),
    ("data set-up (synthetic language)", lambda dso, sym: "SyntheticLanguage" in sym or "power_step" in sym),
    ("optimizer: clip_grad_norm, Adam(W)", lambda dso, sym: "clip_grad_norm" in sym or "adam_update" in sym),
    ("kernel (page faults, scheduling)", lambda dso, sym: dso == "[kernel.kallsyms]"),
]
ELEMENTWISE = re.compile(r"wdlab::(?:\(anonymous namespace\)::)?(\w+)")


def classify(dso, sym):
    for row, test in ROWS:
        if test(dso, sym):
            return row
    m = ELEMENTWISE.match(sym)
    if m and dso.startswith("wdlab"):
        return "wdlab: " + m.group(1)
    return "other"


def parse(path):
    """{row: share %}, [(share %, dso, symbol)] from perf's flat --stdio report."""
    rows, symbols = {}, []
    # "  32.26%  libopenblasp-r0.3.21.so  [.] sgemm_kernel_SKYLAKEX   -   -": perf pads the
    # symbol column and may add empty columns after it.
    line_re = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+?)(?:\s{2,}.*)?$")
    with open(path) as f:
        for line in f:
            m = line_re.match(line)
            if not m:
                continue
            share, dso, sym = float(m.group(1)), m.group(2), m.group(3)
            row = classify(dso, sym)
            rows[row] = rows.get(row, 0.0) + share
            symbols.append((share, dso, sym))
    if not symbols:
        sys.exit(f"profile_report: no samples in {path} (did perf record run?)")
    return rows, symbols


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="")
    ap.add_argument("--out")
    ap.add_argument("profiles", nargs="+", help="LABEL=perf-report.txt")
    a = ap.parse_args()
    labels, data = [], []
    for spec in a.profiles:
        label, sep, path = spec.rpartition("=")
        if not sep:
            sys.exit(f"profile_report: expected LABEL=FILE, got {spec!r}")
        labels.append(label)
        data.append(parse(path))

    order = [r for r, _ in ROWS]
    extra = sorted({r for rows, _ in data for r in rows if r not in order},
                   key=lambda r: -max(rows.get(r, 0.0) for rows, _ in data))
    # A row is shown when any profile gives it 0.3 % or more (the sgemm and memset rows always).
    shown = [r for r in order + extra
             if r in (GEMM_KERNEL, GEMM_OTHER, MEMSET)
             or max(rows.get(r, 0.0) for rows, _ in data) >= 0.3]
    out = ["# Where the time goes", ""]
    if a.title:
        out += [f"`bench/profile.sh`: {a.title}.", ""]
    out += [
        "Share of the process's CPU samples (`perf record -F 999`, flat: a function's own time, not"
        " its callees'). `wdlab: X` rows are the engine's element-wise passes (norms, softmax,"
        " activations, residuals, RoPE, the loss). The data came from a filled data cache, as a"
        " sweep's runs get them.",
        "",
        "| what | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    gemm = [rows.get(GEMM_KERNEL, 0.0) + rows.get(GEMM_OTHER, 0.0) for rows, _ in data]
    out.append("| **sgemm, all** | " + " | ".join(f"**{g:.1f} %**" for g in gemm) + " |")
    for r in shown:
        vals = [rows.get(r, 0.0) for rows, _ in data]
        out.append(f"| {r} | " + " | ".join(f"{v:.1f} %" if v > 0 else "–" for v in vals) + " |")
    rest = [100.0 - sum(rows.get(r, 0.0) for r in shown) for rows, _ in data]
    out.append("| rows below 0.3 % | " + " | ".join(f"{v:.1f} %" for v in rest) + " |")
    out += ["", "## Largest symbols", ""]
    for label, (_, symbols) in zip(labels, data):
        out += [f"**{label}**", "", "| share | library | symbol |", "|---|---|---|"]
        for share, dso, sym in sorted(symbols, reverse=True)[:15]:
            out.append(f"| {share:.1f} % | {dso} | `{sym}` |")
        out.append("")
    text = "\n".join(out) + "\n"
    if a.out:
        write_atomic(a.out, text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
