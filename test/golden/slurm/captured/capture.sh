#!/bin/bash
# Re-capture the real SLURM output the parser tests read (see README.md here).
# Run as root on a machine where scripts/dev-cluster is up; jobs are submitted as the test
# user, all named golden-*, and every job still live at the end is cancelled.
# Takes 3-6 minutes (the walltime job needs SLURM's once-a-minute limit check).
set -u
OUT=$(cd "$(dirname "$0")" && pwd)
USER_NAME=${BERTH_GOLDEN_USER:-berthtest}
WORK=/home/$USER_NAME/golden
# Must match SQUEUE_FORMAT and SACCT_FIELDS in src/scheduler/slurm/parse.ts.
SQUEUE_FORMAT='@berth|%i|%A|%F|%K|%T|%r|%N|%D|%C|%S|%V|%e|%M|%l|%P|%u|%j'
SACCT_FIELDS='JobID,JobIDRaw,State,ExitCode,DerivedExitCode,Reason,Submit,Start,End,Elapsed,Timelimit,NodeList,NNodes,AllocCPUS,Partition,User,JobName'
IDS_FILE=$(mktemp)
cleanup() { # leave nothing running, even when interrupted
  while read -r id; do [ -n "$id" ] && scancel "$id" 2>/dev/null; done <"$IDS_FILE"
  rm -f "$IDS_FILE"
}
trap cleanup EXIT

as_user() { su - "$USER_NAME" -c "cd $WORK && $1"; }
submit() { # submit NAME SBATCH-ARGS... ; prints the job id
  local id
  id=$(as_user "sbatch --parsable $*" | tail -n 1)
  id=${id%%;*}
  echo "$id" >>"$IDS_FILE"
  echo "$id"
}
state_of() { squeue -h -j "$1" -o %T 2>/dev/null | head -n 1; }
wait_state() { # wait_state ID STATE SECONDS
  local i
  for ((i = 0; i < $3 * 2; i++)); do
    [ "$(state_of "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  echo "capture: job $1 did not reach $2 within $3 s" >&2
  return 1
}
wait_sacct() { # wait_sacct ID SECONDS: until accounting has a final state for the job
  local i s
  for ((i = 0; i < $2; i++)); do
    s=$(sacct -n -X -P -j "$1" -o State | head -n 1)
    case "$s" in PENDING | RUNNING | REQUEUED | SUSPENDED | COMPLETING | "") sleep 1 ;; *) return 0 ;; esac
  done
  echo "capture: job $1 has no final accounting state after $2 s" >&2
}
ids() { # comma-join job ids, leaving out the ones not submitted (null)
  local out="" id
  for id in "$@"; do [ "$id" != null ] && out="${out:+$out,}$id"; done
  echo "$out"
}
sq() { SLURM_TIME_FORMAT=%s squeue --noheader "--format=$SQUEUE_FORMAT" "$@"; }
sa() { SLURM_TIME_FORMAT=%s sacct --noheader --parsable2 "--format=$SACCT_FIELDS" "$@"; }

mkdir -p "$WORK" && chown "$USER_NAME:" "$WORK"
cat >"$WORK/het.sh" <<'EOF'
#!/bin/bash
#SBATCH --job-name=golden-het
#SBATCH --ntasks=1
#SBATCH hetjob
#SBATCH --ntasks=1
sleep 5
EOF
cat >"$WORK/steps.sh" <<'EOF'
#!/bin/bash
srun true
srun sleep 2
exit 0
EOF
chown "$USER_NAME:" "$WORK/het.sh" "$WORK/steps.sh"

# --- sbatch replies
TIMEOUT=$(submit "-J golden-timeout --time=0:01:00 --wrap 'sleep 300'")
as_user "sbatch --parsable -J golden-reply --wrap true" >"$OUT/sbatch-parsable.txt"
as_user "sbatch --parsable --clusters=berth -J golden-reply-cluster --wrap true" >"$OUT/sbatch-parsable-cluster.txt"
as_user "sbatch -J golden-reply-human --wrap true" >"$OUT/sbatch-human.txt"
as_user "sbatch --parsable -J golden-reply-bad --time=banana --wrap true" >"$OUT/sbatch-error.txt" 2>&1
{
  head -n 1 "$OUT/sbatch-parsable.txt"
  sed 's/;.*//' "$OUT/sbatch-parsable-cluster.txt"
  awk '{print $4}' "$OUT/sbatch-human.txt"
} >>"$IDS_FILE"

# --- live queue: running, pending for several reasons, an array with a pending range, het
RUN=$(submit "-J golden-run --wrap 'sleep 90'")
ARRAY=$(submit "-J golden-array --array=0-5%2 --wrap 'sleep 8'")
# Het components never share a node: on a one-node cluster the het job could never start.
HET=null
[ "$(sinfo -h -o %D | awk '{n += $1} END {print n + 0}')" -ge 2 ] && HET=$(submit "$WORK/het.sh")
HELD=$(submit "-J golden-held --hold --wrap true")
BEGIN=$(submit "-J golden-begin --begin=now+3600 --wrap true")
DEP=$(submit "-J golden-dep --dependency=afterok:$RUN --wrap true")
OK=$(submit "-J golden-ok --wrap 'echo ok'")
FAIL=$(submit "-J golden-fail3 --wrap 'exit 3'")
SIGKILL=$(submit "-J golden-sigkill --wrap 'kill -KILL \$\$'")
STEPS=$(submit "-J golden-steps $WORK/steps.sh")
wait_state "$RUN" RUNNING 30
sleep 2
sq >"$OUT/squeue-live.txt"
squeue --noheader "--format=$SQUEUE_FORMAT" >"$OUT/squeue-live-iso.txt"
sq --array >"$OUT/squeue-live-array.txt"
sa -j "$(ids "$ARRAY" "$RUN" "$HELD" "$HET")" >"$OUT/sacct-live.txt"
scontrol show job "$RUN" >"$OUT/scontrol-show-job.txt"
scontrol show job -o "$ARRAY" >"$OUT/scontrol-show-job-oneline.txt"
squeue --noheader -j 99999999 >"$OUT/squeue-invalid-job.txt" 2>&1
scontrol show config >"$OUT/scontrol-show-config.txt"

# --- cancelled (the dependent job then waits forever), suspended, requeued
as_user "scancel $RUN"
sleep 2
sq -j "$DEP,$RUN" --states=all >"$OUT/squeue-cancelled.txt"
SUSP=$(submit "-J golden-suspend --wrap 'sleep 120'")
wait_state "$SUSP" RUNNING 240 && scontrol suspend "$SUSP" && sleep 1
sq -j "$SUSP" >"$OUT/squeue-suspended.txt"
sa -X -j "$SUSP" >"$OUT/sacct-suspended.txt"
scontrol resume "$SUSP"
REQ=$(submit "-J golden-requeue --requeue --wrap 'sleep 120'")
wait_state "$REQ" RUNNING 240 && scontrol requeue "$REQ" && sleep 1
sq -j "$REQ" --states=all >"$OUT/squeue-requeued.txt"
sleep 3
sq -j "$REQ" --states=all >"$OUT/squeue-requeued-pending.txt"
sa -D -j "$REQ" >"$OUT/sacct-requeued.txt"

# --- wait for the finished states, then read them from squeue (MinJobAge) and sacct
for id in "$OK" "$FAIL" "$SIGKILL" "$STEPS" "$TIMEOUT"; do wait_sacct "$id" 240; done
for id in "$HET" "$ARRAY"; do [ "$id" != null ] && wait_sacct "$id" 240; done
as_user "scancel $SUSP $REQ $HELD $BEGIN $DEP"
sleep 3
FINISHED=$(ids "$OK" "$FAIL" "$SIGKILL" "$STEPS" "$TIMEOUT" "$RUN" "$ARRAY" "$HET" "$SUSP" "$HELD")
sq --states=all -j "$FINISHED" >"$OUT/squeue-finished.txt"
sa -X -j "$FINISHED" >"$OUT/sacct-finished.txt"
sacct --noheader --parsable2 "--format=$SACCT_FIELDS" -X -j "$FINISHED" >"$OUT/sacct-finished-iso.txt"
sa -j "$(ids "$STEPS" "$HET" "$ARRAY" "$OK")" >"$OUT/sacct-steps.txt"

cat >"$OUT/jobs.json" <<EOF
{
  "timeout": $TIMEOUT, "run": $RUN, "array": $ARRAY, "het": $HET, "held": $HELD,
  "begin": $BEGIN, "dep": $DEP, "ok": $OK, "fail3": $FAIL, "sigkill": $SIGKILL,
  "steps": $STEPS, "suspend": $SUSP, "requeue": $REQ,
  "nodes": $(sinfo -h -o %D | awk '{n += $1} END {print n + 0}'),
  "capturedAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "timeZone": "$(date +%Z)",
  "slurm": "$(sinfo --version)"
}
EOF

echo "capture: done, files in $OUT"
