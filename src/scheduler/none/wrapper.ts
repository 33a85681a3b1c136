/**
 * The job wrapper of the `none` scheduler: static bash (no user values in it; the job dir
 * and the submit directory arrive as "$1" and "$2"), started detached as
 * `setsid nohup bash -c WRAPPER berth-none DIR CWD`. It:
 *
 *   - writes its pid (= process group = session id) to `pid`;
 *   - waits for dependencies (`deps`: lines `afterok|afterany|afternotok <id>`), polling the
 *     `done` file of each; an unmet one ends the job with `done` = `dependency`;
 *   - runs `job.sh` once, or once per index of `array` with at most `throttle` at a time
 *     (default: the number of CPUs), each under `timeout` (`time` seconds, 0 = none) in its
 *     own process group (`set -m`), recording `<P>started`, `<P>pgid`, `<P>ended` and
 *     `<P>exit` (`exit N`, `signal N` or `timeout`), where P is '' or `<id>_<index>.`;
 *   - on TERM (cancel) stops launching, TERMs the running tasks, and finally writes `ended`
 *     and `done` (`ok`, `notok`, `cancelled`, `dependency`).
 * A death by signal is told from `exit 128+N` by bash's job status ("Killed" vs
 * "Exit 137"), as in transport/remote.ts.
 */

export const WRAPPER = `d=$1; cwd=$2; id=\${d##*/}
cd -- "$d" || exit 1
echo $$ > pid.tmp && mv -f pid.tmp pid
now() { date +%s%3N; }
put() { printf '%s\\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }
stop=
halt() {
  stop=1
  for f in *pgid; do [ -f "$f" ] && kill -TERM -- "-$(cat "$f")" 2>/dev/null; done
}
trap halt TERM INT
finish() { put ended "$(now)"; put 'done' "$1"; exit 0; }
limit=$(cat time 2>/dev/null); [ -n "$limit" ] || limit=0
if [ -s deps ]; then
  put waiting "$(now)"
  unmet=
  while read -r kind dep; do
    while [ ! -f "../$dep/done" ] && [ -z "$stop" ]; do
      if [ ! -d "../$dep" ]; then break; fi
      sleep 1 & wait $!
    done
    r=$(cat "../$dep/done" 2>/dev/null)
    case $kind in
      afterok) [ "$r" = ok ] || unmet=1 ;;
      afternotok) [ -n "$r" ] && [ "$r" != ok ] || unmet=1 ;;
      afterany) [ -n "$r" ] || unmet=1 ;;
    esac
  done < deps
  rm -f waiting
  [ -n "$stop" ] && finish cancelled
  [ -n "$unmet" ] && finish dependency
fi
task() {
  trap true TERM INT
  set -m
  s=
  trap '[ -n "$s" ] || s=$(jobs -l)' CHLD
  t0=$(now)
  put "$1started" "$t0"
  if [ -n "$2" ]; then export SLURM_ARRAY_TASK_ID=$2 BERTH_ARRAY_TASK_ID=$2 BERTH_ARRAY_OFFSET=0; fi
  export BERTH_JOB_ID=$id BERTH_JOB_DIR=$d
  cd -- "$cwd" 2>/dev/null || cd || exit 1
  timeout -k 10 "$limit" "$d/job.sh" > "$d/$1stdout" 2> "$d/$1stderr" < /dev/null &
  p=$!
  put "$d/$1pgid" "$p"
  while :; do wait "$p"; rc=$?; kill -0 "$p" 2>/dev/null || break; done
  t1=$(now)
  cd -- "$d" || exit 1
  st=\${s#*" $p "}
  sig=
  if [ "$rc" -gt 128 ]; then
    case $st in *[!0-9]"$rc "*|*[!0-9]"$rc") ;; *) sig=$((rc - 128)) ;; esac
  fi
  if [ "$limit" != 0 ] && { [ "$rc" = 124 ] && [ -z "$sig" ] || [ "$sig" = 9 ]; } &&
     [ $(( (t1 - t0) / 1000 )) -ge "$limit" ]; then
    r=timeout
  elif [ -n "$sig" ]; then r="signal $sig"
  else r="exit $rc"
  fi
  put "$1ended" "$t1"
  put "$1exit" "$r"
}
if [ -f array ]; then
  max=$(cat throttle 2>/dev/null)
  [ -n "$max" ] || max=$(nproc 2>/dev/null) || max=1
  while read -r i; do
    [ -n "$stop" ] && break
    while [ "$(jobs -pr | wc -l)" -ge "$max" ] && [ -z "$stop" ]; do wait -n; done
    [ -n "$stop" ] && break
    task "\${id}_$i." "$i" &
  done < array
else
  task "" "" &
fi
while [ -n "$(jobs -pr)" ]; do wait; done
r=ok
for f in exit *.exit; do
  [ -f "$f" ] || continue
  [ "$(cat "$f")" = "exit 0" ] || r=notok
done
[ -f array ] && [ "$(ls -- *.exit 2>/dev/null | wc -l)" -lt "$(wc -l < array)" ] && r=notok
[ -n "$stop" ] && r=cancelled
finish "$r"
`;
