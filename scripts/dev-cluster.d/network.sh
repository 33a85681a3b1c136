# shellcheck shell=bash
# Compute nodes as network namespaces: a bridge $BRIDGE with $CTL_ADDR/24 in the root
# namespace (the controller and the ssh "login node" live there), and one namespace
# berth-nI per node with a veth pair onto the bridge and the address $NET_PREFIX.(10+I).
# Processes inside a node namespace see the same filesystem, users and cgroups as the root
# namespace; only the network (and, for slurmd, the hostname) differs.

NET_PREFIX=${BERTH_CLUSTER_NET_PREFIX:-10.200.0}
BRIDGE=berthbr0
CTL_ADDR=$NET_PREFIX.1
HOSTS_BEGIN="# BEGIN berth dev-cluster (managed by scripts/dev-cluster; do not edit)"
HOSTS_END="# END berth dev-cluster"

node_name() { echo "n$1"; }
node_addr() { echo "$NET_PREFIX.$((10 + $1))"; }
node_netns() { echo "berth-n$1"; }
node_veth() { echo "berthv$1"; } # host side; the node side is eth0 inside the namespace

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip -4 addr show dev "$BRIDGE" | grep -q "inet $CTL_ADDR/24" || ip addr add "$CTL_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

ensure_node_netns() {
  local i=$1 ns veth
  ns=$(node_netns "$i")
  veth=$(node_veth "$i")
  [[ -e /run/netns/$ns ]] || ip netns add "$ns"
  ip link show "$veth" >/dev/null 2>&1 || ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" addr replace "$(node_addr "$i")/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
}

# Kill whatever still runs inside a node's namespace (slurmstepd, job processes, tmux
# servers started by jobs), then delete it; its veth pair goes with it.
remove_node_netns() {
  local ns=$1 pids
  if [[ -e /run/netns/$ns ]]; then
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    if [[ -n ${pids// /} ]]; then
      log "killing processes left in $ns: $pids"
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
  fi
  ip link del "berthv${ns#berth-n}" 2>/dev/null || true
}

existing_node_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^berth-n[0-9]+$' || true; }

# /etc/hosts: node names for every namespace (they share this file). Rewritten in place
# (not renamed over), because /etc/hosts can be a bind mount.
set_hosts_block() {
  local block=$1 tmp
  tmp=$(mktemp)
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts >"$tmp"
  [[ -z $block ]] || printf '%s\n%s\n%s\n' "$HOSTS_BEGIN" "$block" "$HOSTS_END" >>"$tmp"
  cmp -s "$tmp" /etc/hosts || cat "$tmp" >/etc/hosts
  rm -f "$tmp"
}

up_network() {
  local n=$1 i block="$CTL_ADDR berth-ctl"
  ensure_bridge
  for ((i = 1; i <= n; i++)); do
    ensure_node_netns "$i"
    block+=$'\n'"$(node_addr "$i") $(node_name "$i")"
  done
  set_hosts_block "$block"
}

# remove_extra_nodes N: namespaces of nodes above N (after `up --nodes` shrank).
remove_extra_nodes() {
  local n=$1 ns
  for ns in $(existing_node_netns); do
    ((${ns#berth-n} > n)) && remove_node_netns "$ns"
  done
  return 0
}

down_network() {
  local ns
  for ns in $(existing_node_netns); do remove_node_netns "$ns"; done
  ip link del "$BRIDGE" 2>/dev/null || true
  set_hosts_block ""
}
