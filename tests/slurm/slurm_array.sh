#!/usr/bin/env bash
# A sweep as a Slurm job array on a single-node Slurm that this test installs (Debian's
# slurmctld slurmd slurm-client munge, if missing) and starts by hand (no systemd), as a
# `wdlab slurm` array of 3 tasks with parallelism 2. The sweep is the smoke sweep's subset: every
# preset and grid point (28 runs), with 4 steps and an order-2 synthetic language; building the
# default order-3 language is ~1.5 core-seconds of each smoke run's ~1.7, so the subset does the
# same scheduling, locking and merging work for a tenth of the CPU.
# Checks: every run finished exactly once; `wdlab report` of the shared directory gives the
# summary.csv of a local `wdlab sweep` (timings aside); resubmitting the script does no work.
# The array may take as long as it needs while runs keep finishing; it fails when no run has
# finished for 120 s (a stall), printing the queue, the jobs, their processes and lock holders.
# Cancels what is left, kills the job processes Slurm still lists, and stops the daemons by their
# pid files. Needs root: skipped (77) otherwise, except under CI=true, where that is a failure.
# WDLAB_SLURM_TIMINGS=1 also times the full smoke sweep (configs/sweeps/smoke.json unchanged)
# as a 1- and a 4-task array; WDLAB_SLURM_PRESET=gpt2 keeps one preset (4 runs).
# Usage: slurm_array.sh path/to/wdlab path/to/configs/sweeps/smoke.json
set -u
wdlab=$(readlink -f "$1")
smoke=$(readlink -f "$2")
t_start=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - t_start) / 1000000000 ))s"; }
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root to install and start a single-node Slurm (slurmctld, slurmd, munged)"
  [[ ${CI:-} == true ]] && { echo "FAIL: CI must run this test as root"; exit 1; }
  exit 77
fi
fail() {
  echo "FAIL: $*"
  exit 1
}

packages=(slurmctld slurmd slurm-client munge jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || fail "cannot install ${missing[*]}"
  echo "installed ${missing[*]} in $(elapsed)"
fi

tmp=$(mktemp -d /tmp/wdlab-slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_CONF=$tmp/slurm.conf  # a private cluster: /etc/slurm is left alone
jobs=()
started_munged=0
cleanup() {
  local stepds=()
  if ((${#jobs[@]})); then
    stepds=($(job_stepds))
    scancel "${jobs[@]}" 2>/dev/null
    # scancel only asks, and a task needs slurmd and slurmctld to finish: wait for the jobs to
    # leave the queue, then kill what Slurm still lists, before stopping the daemons. Stopping
    # them first would leave the tasks' sweeps (or their slurmstepd) running after this
    # directory is gone.
    queue_empty 60 || { kill -KILL $(job_pids) 2>/dev/null; queue_empty 30; }
  fi
  # By pid file, never by name: other Slurm or munge daemons on this machine are not ours.
  local files=("$tmp/slurmd.pid" "$tmp/slurmctld.pid")
  ((started_munged)) && files+=(/run/munge/munged.pid)
  for f in "${files[@]}"; do
    [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null
  done
  for f in "${files[@]}"; do
    for _ in $(seq 1 50); do
      [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null || break
      sleep 0.1
    done
  done
  # A slurmstepd whose slurmd is gone may wait for it: ours, by the pids noted above.
  local p
  for p in "${stepds[@]}"; do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == slurmstepd ]] && kill -KILL "$p"
  done
  rm -rf "$tmp"
}
queue_empty() {
  local _
  for _ in $(seq 1 $(($1 * 5))); do
    [[ -z $(squeue -h -j "$(IFS=,; echo "${jobs[*]}")" 2>/dev/null) ]] && return 0
    sleep 0.2
  done
  return 1
}
# The slurmstepd processes running our jobs' steps: the parents of the processes listed.
job_stepds() {
  local p parent
  for p in $(job_pids); do
    parent=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
    [[ -n $parent && $(cat "/proc/$parent/comm" 2>/dev/null) == slurmstepd ]] && echo "$parent"
  done | sort -u
}
# The processes of our jobs that slurmd tracks (proctrack/pgid), one pid per line.
job_pids() {
  local id
  for id in "${jobs[@]}"; do
    scontrol listpids "$id" 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }'
  done | sort -u
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # so that the EXIT trap runs

# munged: reuse a running one, else start it (as the munge user, as its package expects).
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  [[ -s /etc/munge/munge.key ]] || fail "/etc/munge/munge.key is missing (munge's postinst makes it)"
  su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start"
  started_munged=1
  munge -n | unmunge >/dev/null || fail "munge does not work"
fi

host=$(hostname -s)
mkdir -p "$tmp/ctld" "$tmp/spool"
cat >"$SLURM_CONF" <<CONF
ClusterName=wdlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$tmp/ctld
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
$(slurmd -C | grep '^NodeName') NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -c || fail "slurmctld did not start"
/usr/sbin/slurmd || fail "slurmd did not start"
for _ in $(seq 1 60); do
  [[ $(sinfo -h -o %T 2>/dev/null) == idle ]] && break
  sleep 0.5
done
[[ $(sinfo -h -o %T) == idle ]] || { cat "$tmp/slurmctld.log" "$tmp/slurmd.log"; fail "the node is not idle"; }
echo "slurm up in $(elapsed)"

# submit SCRIPT: sets $submitted to the array's job id and notes it for the cleanup (not in a
# $(...) subshell, whose note would be lost). wait_for ID SECONDS DIR: until it leaves the queue.
submitted=""
submit() {
  submitted=$(sbatch --parsable "$1") || fail "sbatch $1 failed"
  submitted=${submitted%%;*}
  jobs+=("$submitted")
}
# Bounded by progress, not by a guess at this machine's speed (it is often shared): the job may
# run as long as its runs in DIR keep logging (metrics.jsonl grows or a summary.json appears)
# at least every SECONDS.
wait_for() {
  local last="" now idle_since=$SECONDS
  while [[ -n $(squeue -h -j "$1" 2>/dev/null) ]]; do
    now=$(find "$3" \( -name summary.json -o -name metrics.jsonl \) -printf '%s\n' 2>/dev/null |
      awk '{ n += 1; s += $1 } END { print n + 0, s + 0 }')
    if [[ $now != "$last" ]]; then
      last=$now
      idle_since=$SECONDS
    elif ((SECONDS - idle_since > $2)); then
      diagnose "$1" "$3"
      fail "job $1: no progress for $2 s (files, bytes of metrics and summaries: $now)"
    fi
    sleep 1
  done
}
# What a stalled job is doing: its tasks, their processes, who holds the sweep's locks.
diagnose() {
  echo "--- squeue"; squeue
  echo "--- scontrol show job $1"; scontrol show job "$1"
  echo "--- processes"
  local pids
  pids=$(job_pids)
  [[ -n $pids ]] && ps -o pid,ppid,pgid,stat,etime,time,args -p "$(echo $pids | tr ' ' ,)"
  echo "--- lock holders (/proc/locks by inode)"
  local f
  for f in "$2"/.locks/*.lock; do
    [[ -e $f ]] || continue
    echo "$f: $(grep ":$(stat -c %i "$f") " /proc/locks | awk '{ print $4, $5, $6 }' | tr '\n' ';')"
  done
  echo "--- task logs"; tail -n 5 "$2"/slurm/*.out
  echo "--- slurmd.log"; tail -n 30 "$tmp/slurmd.log"
}

# The smoke sweep's subset (every preset x 4 grid points): 4 steps, an order-2 language.
jq --arg preset "${WDLAB_SLURM_PRESET:-all}" '.base.preset = $preset |
    .base.overrides["train.steps"] = 4 | .base.overrides["train.eval_every"] = 2 |
    .base.overrides["data.synthetic.order"] = 2' "$smoke" >"$tmp/smoke.json"
cd "$tmp"
"$wdlab" -q sweep smoke.json --out local --jobs 2 --threads 1 || fail "the local sweep failed"
"$wdlab" -q report local >/dev/null || fail "the local report failed"
echo "local sweep done in $(elapsed)"

"$wdlab" slurm smoke.json --shards 3 --array-parallelism 2 --cpus-per-task 1 --out shared \
  --partition debug --script job.sbatch || fail "wdlab slurm failed"
grep -q '^#SBATCH --array=0-2%2$' job.sbatch || { cat job.sbatch; fail "not a 3-task array with parallelism 2"; }
submit job.sbatch
first=$submitted
wait_for "$first" 120 shared
echo "array $first done in $(elapsed)"
runs=$(jq '.runs | length' shared/sweep.json)
[[ $(ls shared/slurm/"${first}"_*.out | wc -l) -eq 3 ]] || fail "expected 3 task logs"
for name in $(jq -r '.runs[].name' shared/sweep.json); do
  jq -e '.status == "finished" or .status == "diverged"' "shared/$name/summary.json" >/dev/null ||
    { cat shared/slurm/*.out; fail "$name did not finish"; }
  n=$(cat shared/slurm/"${first}"_*.out | grep -c "\] $name: \(finished\|diverged\)")
  [[ $n -eq 1 ]] || { cat shared/slurm/*.out; fail "$name ran $n times"; }
done
"$wdlab" -q report shared >/dev/null || fail "the report of the shared directory failed"
# summary.csv without its timing columns (wall time, tokens/s).
untimed() {
  /usr/bin/python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, h in enumerate(rows[0]) if not any(t in h for t in ("time", "seconds", "tokens_per_s"))]
for r in rows:
    print(",".join(r[i] for i in keep))
PY
}
cmp -s <(untimed local/summary.csv) <(untimed shared/summary.csv) ||
  { diff <(untimed local/summary.csv) <(untimed shared/summary.csv) | head; fail "summary.csv differs from the local sweep's"; }

before=$(find shared -name summary.json -printf '%p %i %T@\n' | sort)
submit job.sbatch
second=$submitted
wait_for "$second" 120 shared
after=$(find shared -name summary.json -printf '%p %i %T@\n' | sort)
[[ "$before" == "$after" ]] || fail "resubmitting touched finished runs"
for f in shared/slurm/"${second}"_*.out; do
  grep -q "runs, \([0-9]*\) done already, 0 to run" "$f" || { cat "$f"; fail "$f: resubmitting did work"; }
done
echo "resubmission did no work ($(elapsed))"

if [[ ${WDLAB_SLURM_TIMINGS:-0} == 1 ]]; then
  # The node's cores split among the tasks that fit at once: 1 task runs 2 runs at a time.
  for n in 1 4; do
    cpus=$(($(nproc) / n > 1 ? $(nproc) / n : 1))
    "$wdlab" -q slurm "$smoke" --shards "$n" --array-parallelism "$n" --cpus-per-task "$cpus" \
      --out "full$n" --script "full$n.sbatch" || fail "wdlab slurm failed"
    t0=$(date +%s%N)
    submit "full$n.sbatch"
    id=$submitted
    wait_for "$id" 300 "full$n"
    echo "full smoke sweep as a $n-task array (--cpus-per-task $cpus): $(( ($(date +%s%N) - t0) / 1000000 )) ms wall, load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
fi
echo "slurm_array: ok ($runs runs; $(elapsed) in all)"
