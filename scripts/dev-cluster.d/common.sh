# shellcheck shell=bash
# Helpers shared by scripts/dev-cluster and the files beside this one: logging, pid files,
# writing generated files only when their content changes, and Debian packages.

log() { printf '[dev-cluster] %s\n' "$*" >&2; }
die() { printf '[dev-cluster] error: %s\n' "$*" >&2; exit 1; }

require_root() {
  [[ $(id -u) -eq 0 ]] || die "'$1' needs root (it installs packages, creates a user, namespaces and daemons)"
}

# write_file DEST MODE [OWNER]: stdin -> DEST, rewritten only when the content differs, so
# that a config's checksum (and whether a daemon must restart) only moves on a real change.
write_file() {
  local dest=$1 mode=$2 owner=${3:-root:root} tmp
  tmp=$(mktemp "${dest}.XXXXXX")
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$dest"
  fi
  chmod "$mode" "$dest"
  chown "$owner" "$dest"
}

# stamp FILE...: a short checksum of the files' contents, stored when a daemon starts so a
# later `up` knows whether the running daemon still matches its config.
stamp() { cat "$@" | sha256sum | cut -c1-16; }

# proc_running PID: alive and not a zombie (PID 1 on these machines reaps orphans only every
# couple of seconds, and `kill -0` succeeds on a zombie).
proc_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# pid_alive PIDFILE NAME: the pid in PIDFILE is a live process whose command name is NAME
# (guards against a stale pid file whose number was reused by something else).
pid_alive() {
  local file=$1 name=$2 pid comm
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] && proc_running "$pid"
}

# needs_start NAME PIDFILE COMM STAMP: true when the daemon is not running, or was started
# from other config contents (then it is stopped here first).
needs_start() {
  local name=$1 pidfile=$2 comm=$3 want=$4
  if pid_alive "$pidfile" "$comm"; then
    if [[ $(cat "$RUN_DIR/$name.stamp" 2>/dev/null) == "$want" ]]; then
      return 1
    fi
    log "$name: config changed, restarting"
    stop_pidfile "$pidfile" "$comm" "$name"
  fi
  return 0
}

# stop_pidfile PIDFILE COMM LABEL: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pidfile() {
  local file=$1 comm=$2 label=$3 pid i
  if pid_alive "$file" "$comm"; then
    pid=$(tr -dc '0-9' <"$file")
    log "stopping $label (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      proc_running "$pid" || break
      sleep 0.1
    done
    if proc_running "$pid"; then
      log "$label did not stop after 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

# launch NAME COMMAND...: start a daemon that forks into the background. Its stdin, stdout
# and stderr must not be ours (a caller reading our output through a pipe would wait for the
# daemon to exit), and neither may the lock on fd 9 (it would hold the lock forever).
launch() {
  local name=$1
  shift
  "$@" </dev/null >>"$LOG_DIR/$name.out" 2>&1 9>&- || die "$name failed to start (exit $?); see $LOG_DIR/$name.out"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${secs}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# JSON string literal: escapes backslash and quote; other control characters become spaces.
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=$(printf '%s' "$s" | tr '\000-\037' ' ')
  printf '"%s"' "$s"
}

package_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# ensure_packages PKG...: apt-get install the missing ones (one `apt-get update` first).
# While installing, a policy-rc.d that says "no" keeps the packages' maintainer scripts from
# starting the system's own sshd/munge/slurm daemons; this script runs its own.
ensure_packages() {
  local missing=() p added_policy=0
  for p in "$@"; do package_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local t0=$SECONDS
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  } >"$LOG_DIR/apt.log" 2>&1 || rc=$?
  ((added_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get failed (exit $rc); see $LOG_DIR/apt.log"
  log "installed in $((SECONDS - t0)) s"
}
