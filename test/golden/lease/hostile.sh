#!/bin/bash
# berth lease demo: the hold script (one job).
# Kept at /scratch/a $(dir) `x`;y/leases/demo/hold.sh
# berth: directives from the job spec (later lines win over earlier ones)
#SBATCH --job-name=berth-lease-demo
#SBATCH --cpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --output='/scratch/a $(dir) `x`;y/leases/demo/job-%j.out'

lease_dir='/scratch/a $(dir) `x`;y/leases/demo'
sbatch_bin=/usr/bin/sbatch
squeue_bin=/usr/bin/squeue
socket=berth-lease-${SLURM_JOB_ID}
successor= wanted= handed_over= body_pid= sleep_pid=

# one line per event: <epoch> <job> <event> [detail]; berth reads it (lease refresh)
note() { printf '%(%s)T %s %s\n' -1 "$SLURM_JOB_ID" "$*" >> "$lease_dir/chain"; }
note start "${SLURMD_NODENAME:-$(hostname)}"

on_term() {
  note end
  [ -z "$body_pid" ] || kill "$body_pid" 2>/dev/null
  exit 143
}
trap on_term TERM INT

# The hold body given with --hold-body, run by its own bash: the job ends when it does.
hold_body='printf '\''%s\n'\'' '\''$(touch pwned)'\'' "it'\''s"; exit 0'
bash -c "$hold_body" &
body_pid=$!
while kill -0 "$body_pid" 2>/dev/null; do
  pause=60
  sleep "$pause" &
  sleep_pid=$!
  wait -n "$body_pid" "$sleep_pid"
  kill "$sleep_pid" 2>/dev/null
done
wait "$body_pid"
rc=$?
note body-exit "$rc"
exit "$rc"
