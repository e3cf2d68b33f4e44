# Sourced by the CLI tests that compare a resumed run with an uninterrupted one.
# without_timings FILE: metrics.jsonl (or tensor_norms.jsonl) without the keys that measure time
# (tokens_per_s, time_s), which are all that may differ between the two.
without_timings() {
  sed -e 's/,"tokens_per_s":[^,}]*//' -e 's/,"time_s":[^,}]*//' "$1"
}
