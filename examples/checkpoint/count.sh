#!/bin/bash
# A counting program that checkpoints and resumes (docs/checkpoint.md).
#
# It prints "count N" for N = 1, 2, 3, … On USR1 (SLURM: walltime is near), TERM
# (berth session stop) or HUP (a lease hands its tenant sessions to its next job) it
# writes a checkpoint holding the last number it printed and exits 0. Started again with BERTH_RESUME_FROM set, it goes on from that number: the
# count never restarts at zero and never skips or repeats a number.
#
#   COUNT_INTERVAL  seconds between numbers (default 1)
set -u
: "${BERTH_CHECKPOINT_DIR:?run me as a berth session (or set BERTH_CHECKPOINT_DIR)}"

n=0
if [ -n "${BERTH_RESUME_FROM:-}" ] && [ -f "$BERTH_RESUME_FROM/state" ]; then
  n=$(cat "$BERTH_RESUME_FROM/state")
  echo "resuming after $n (from $(basename "$BERTH_RESUME_FROM"))"
fi

checkpoint() {
  local name tmp
  name=$(date -u +%Y%m%dT%H%M%S.%NZ) # names sort by time
  tmp="$BERTH_CHECKPOINT_DIR/.tmp-$name"  # a temporary name: not complete yet
  mkdir -p "$tmp" || return 1
  printf '%s\n' "$n" > "$tmp/state" && sync "$tmp/state" || return 1
  printf '{"count": %s}\n' "$n" > "$tmp/COMPLETE" && sync "$tmp/COMPLETE" || return 1
  mv "$tmp" "$BERTH_CHECKPOINT_DIR/$name" # complete: it now counts
  echo "checkpoint at $n ($name)"
}

# A signal only sets a flag; the loop acts on it between numbers, so a checkpoint always
# holds exactly the last number printed.
stop=
trap 'stop=USR1' USR1
trap 'stop=TERM' TERM
trap 'stop=HUP' HUP

while :; do
  next=$((n + 1))
  echo "count $next"
  n=$next
  [ -z "$stop" ] && { sleep "${COUNT_INTERVAL:-1}" & wait $!; } # wait returns at once on a signal
  if [ -n "$stop" ]; then
    echo "got $stop" 2>/dev/null # after HUP the terminal is gone
    checkpoint 2>/dev/null || exit 1
    exit 0
  fi
done
