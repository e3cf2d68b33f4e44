#!/usr/bin/env bash
# The rotational-equilibrium reproduction in seconds: configs/sweeps/rotational.json with 60 steps,
# an order-2 language and small data, then its report. Checks that every evaluation after step 0
# logs each tensor's update (tensor_norms.jsonl), that the report has the rotational section, its
# verdict line, its tables, rotational.csv and the plot (rendered to PNG when rsvg-convert is
# installed), and that the same sweep with a cosine schedule gets no such section.
# Usage: rotational.sh path/to/wdlab path/to/configs/sweeps/rotational.json
set -eu
wdlab=$1
spec=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

short=(train.steps=60 train.log_every=10 train.eval_every=10 train.eval_batches=1
       data.train_tokens=40000 data.synthetic.order=2)
"$wdlab" sweep "$spec" "${short[@]}" --jobs 2 --out r >sweep.log 2>&1 || { cat sweep.log; exit 1; }
"$wdlab" report r >report.log 2>&1 || { cat report.log; exit 1; }
runs=$(find r -name summary.json | wc -l)
[[ $runs -eq 24 ]] || { echo "expected 24 runs (8 configurations x 3 seeds), found $runs"; exit 1; }
for t in r/*/tensor_norms.jsonl; do
  rows=$(grep -c '"norms"' "$t")
  for key in update_rel update_rms update_cos; do
    [[ $(grep -c "\"$key\"" "$t") -eq $((rows - 1)) ]] ||
      { echo "$t: not every evaluation after step 0 has $key"; exit 1; }
  done
done
grep -q '^## Rotational equilibrium: relative update and norm per tensor' r/summary.md ||
  { echo "summary.md has no rotational section"; exit 1; }
grep -Eq '^\*\*Rotational equilibrium: (reproduced|partly reproduced|not reproduced) at this scale\.\*\*' \
  r/summary.md || { echo "summary.md has no verdict line"; exit 1; }
for table in '^\*\*Equilibrium relative update per step, per tensor\*\*' '^\*\*Every configuration\*\*' \
             '^\*\*Exponents against lr and λ\*\*' '^\| output head \|' '^\| \*\*spread across tensors'; do
  grep -Eq "$table" r/summary.md || { echo "summary.md lacks $table"; exit 1; }
done
grep -q 'Rotational equilibrium:' report.log || { echo "wdlab report did not print the verdict"; exit 1; }
# 8 configurations x 10 decayed tensors, and the header
[[ $(wc -l <r/rotational.csv) -eq 81 ]] || { echo "rotational.csv: expected 81 lines"; exit 1; }
svg=r/plots/rotational_update_rel.svg
[[ -s $svg ]] || { echo "no $svg"; exit 1; }
# 8 panels x 2 kinds (embedding, matrix)
series=$(grep -o 'class="series"' $svg | wc -l)
[[ $series -eq 16 ]] || { echo "$svg: expected 16 series, found $series"; exit 1; }
if command -v rsvg-convert >/dev/null; then
  rsvg-convert $svg -o rotational.png
  [[ -s rotational.png ]] || { echo "rsvg-convert produced nothing"; exit 1; }
fi

# The equilibrium is one of a constant lr: a cosine schedule gets no section and no verdict.
"$wdlab" sweep "$spec" "${short[@]}" train.steps=30 train.log_every=5 train.eval_every=5 \
  optim.schedule=cosine --jobs 2 --out c \
  >sweep_c.log 2>&1 || { cat sweep_c.log; exit 1; }
"$wdlab" report c >report_c.log 2>&1 || { cat report_c.log; exit 1; }
! grep -Eq '^## Rotational equilibrium|\*\*Rotational equilibrium:' c/summary.md report_c.log ||
  { echo "a cosine-schedule sweep got a rotational section"; exit 1; }
[[ ! -e c/rotational.csv && ! -e c/plots/rotational_update_rel.svg ]] ||
  { echo "a cosine-schedule sweep got rotational files"; exit 1; }
echo "rotational sweep (24 short runs) and report: ok"
