#!/usr/bin/env bash
# A run that fails on a full disk, where its log.txt cannot be written either: the sweep shows
# the run's own error (kept in memory), not an empty log. The full disk is a 64 kB tmpfs in a
# private mount namespace (unshare); where there is none the test is skipped (exit 77).
# Usage: sweep_full_disk.sh path/to/wdlab
set -u
if [[ ${WDLAB_MOUNT_NAMESPACE:-} != 1 ]]; then
  unshare --user --map-root-user --mount true 2>/dev/null ||
    { echo "sweep_full_disk: skipped: no user and mount namespaces"; exit 77; }
  WDLAB_MOUNT_NAMESPACE=1 exec unshare --user --map-root-user --mount bash "$0" "$@"
fi
source "$(dirname "$0")/sweep_common.sh" "$1"
mkdir disk
mount -t tmpfs -o size=64k tmpfs disk || { echo "sweep_full_disk: skipped: no tmpfs"; exit 77; }
trap 'umount "$tmp/disk"; rm -rf "$tmp"' EXIT
# Full but for one 4 kB page: room for sweep.json, none for the run or its log.
head -c $((64 * 1024 - 4096)) /dev/zero >disk/filler
cat >one.json <<JSON
{"base": {"preset": "gpt2", "scale": "tiny",
          "overrides": {"train.steps": 2, "train.eval_batches": 1, "data.train_tokens": 4096,
                        "data.val_tokens": 1024}}}
JSON
"$wdlab" sweep one.json --out disk/results --jobs 1 >sweep.log 2>&1
rc=$?
[[ $rc -eq 1 ]] || { cat sweep.log; fail "a sweep whose run failed exited $rc, expected 1"; }
grep -q "FAILED (exit code 1): error: .*No space left on device (log.txt not written: No space left on device)" \
  sweep.log || { cat sweep.log; fail "the sweep does not show the run's own error"; }
echo "sweep_full_disk: ok"
