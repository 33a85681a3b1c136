#!/bin/bash
# berth lease demo: the hold script (persistent).
# Resubmitted from this very file: keep it at /home/u/berth/leases/demo/hold.sh
# berth: directives from the job spec (later lines win over earlier ones)
#SBATCH --job-name=berth-lease-demo
#SBATCH --cpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --output=/home/u/berth/leases/demo/job-%j.out
#SBATCH --signal=B:USR1@600

lease_dir=/home/u/berth/leases/demo
sbatch_bin=/usr/bin/sbatch
squeue_bin=/usr/bin/squeue
socket=berth-lease-${SLURM_JOB_ID}
successor= wanted= handed_over= body_pid= sleep_pid=

# one line per event: <epoch> <job> <event> [detail]; berth reads it (lease refresh)
note() { printf '%(%s)T %s %s\n' -1 "$SLURM_JOB_ID" "$*" >> "$lease_dir/chain"; }
# Before the walltime SLURM sends USR1 (--signal=B:USR1@LEAD); set first, so none is lost.
on_usr1() {
  [ -z "$successor" ] || return 0
  wanted=1
  [ -z "$sleep_pid" ] || kill "$sleep_pid" 2>/dev/null
}
trap on_usr1 USR1
note start "${SLURMD_NODENAME:-$(hostname)}"

# Submit the successor (the hold loop calls this once USR1 came, until it worked).
resubmit() {
  local out rc id
  if [ -e "$lease_dir/released" ]; then
    wanted=
    note resubmit-skipped released
    return
  fi
  out=$("$sbatch_bin" --parsable --export="ALL,BERTH_LEASE_PREV=$SLURM_JOB_ID" "$lease_dir/hold.sh" 2>&1)
  rc=$?
  id=${out##*$'\n'}
  id=${id%%;*}
  if [ "$rc" = 0 ] && [[ $id =~ ^[0-9]+$ ]]; then
    successor=$id wanted=
    note resubmit-ok "$id"
  else
    wanted=retry
    note resubmit-failed "rc=$rc ${out//[$'\n\r']/ }"
  fi
}

# Once the successor runs, its tmux server takes the tenants over.
handover() {
  [ -n "$successor" ] && [ -z "$handed_over" ] || return 0
  [ "$("$squeue_bin" -h -j "$successor" -o %T 2>/dev/null)" = RUNNING ] || return 0
  declare -F stop_tenants >/dev/null && stop_tenants
  handed_over=1
  note handover "$successor"
}

on_term() {
  note end
  [ -z "$body_pid" ] || kill "$body_pid" 2>/dev/null
  exit 143
}
trap on_term TERM INT

# The hold: sleep in the background and wait, so traps run at once.
while :; do
  pause=60
  [ -z "$wanted" ] || [ -n "$successor" ] || resubmit # retried every loop until it works
  handover
  [ -z "$successor" ] || [ -n "$handed_over" ] || pause=5
  sleep "$pause" &
  sleep_pid=$!
  [ "$wanted" != 1 ] || kill "$sleep_pid" 2>/dev/null
  wait "$sleep_pid"
  kill "$sleep_pid" 2>/dev/null
done
