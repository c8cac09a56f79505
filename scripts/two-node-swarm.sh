#!/usr/bin/env bash
# A real two-node Docker Swarm on one machine: this machine's engine is the manager (node 1), and a
# second engine, in a network namespace and UTS namespace of its own, is the worker (node 2). The
# two reach each other over a veth pair, so the overlay network between them is real VXLAN.
#
#   scripts/two-node-swarm.sh up        make node 2, init the swarm on node 1, join node 2, load the image
#   scripts/two-node-swarm.sh status    what is made, and Swarm's view of the nodes
#   scripts/two-node-swarm.sh fail      node 2 loses power: every process of it killed at once (SIGKILL)
#   scripts/two-node-swarm.sh restore   node 2 boots again: its engine starts and rejoins the swarm
#   scripts/two-node-swarm.sh down      remove everything up made, and nothing else
#
# Needs root, a running Docker engine that is not in a swarm yet, iproute2, nsenter and unshare
# (util-linux), and the kernel's veth and vxlan. Settings (environment):
#   XCON_NODE_NAME    node 2's hostname, and the name of its namespace and directories (xcon-node2)
#   XCON_NODE_NET     the /30 of the veth pair, as its first three octets (198.18.213: node 1 is .1,
#                     node 2 is .2); 198.18.0.0/15 is reserved for benchmarking networks (RFC 2544)
#   XCON_IMAGE        the image loaded on node 2 (xcon:latest; scripts/build-image.sh makes it)
# The nodes are labelled xcon.node=1 and xcon.node=2 for placement (docker-stack.two-node.yml),
# and node 2 xcon.engine=unix://…/docker.sock: xcon --stack reaches its containers through it.
set -euo pipefail

name=${XCON_NODE_NAME:-xcon-node2}
net=${XCON_NODE_NET:-198.18.213}
image=${XCON_IMAGE:-xcon:latest}
host_addr=$net.1
node_addr=$net.2
run_dir=/run/$name                  # socket, pid file, exec root, and what up made
data_dir=/var/lib/$name             # node 2's images, containers and volumes
sock=unix://$run_dir/docker.sock
host_if=${name:0:10}-h              # interface names are at most 15 characters
node_if=${name:0:10}-n
made=$run_dir/made                  # one line per thing up made, read by down

die () { echo "two-node-swarm: $*" >&2; exit 1; }
say () { echo "two-node-swarm: $*"; }
node2 () { docker -H "$sock" "$@"; }
was_made () { [ -f "$made" ] && grep -qx "$1" "$made"; }

# Whether the kernel makes a link of this type: made, then removed at once (built-in modules are
# not always listed in /sys/module).
kernel_has () {
  ip link add xcon-probe $2 >/dev/null 2>&1 || { modprobe "$1" 2>/dev/null && ip link add xcon-probe $2 >/dev/null 2>&1; } || return 1
  ip link del xcon-probe
}

preflight () {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, a second dockerd)"
  for c in ip nsenter unshare dockerd docker; do command -v $c >/dev/null || die "needs the $c command"; done
  docker info >/dev/null 2>&1 || die "the Docker engine does not answer (start dockerd first)"
  kernel_has veth "type veth peer name xcon-probe-p" || die "the kernel cannot make a veth pair (ip link add type veth failed)"
  kernel_has vxlan "type vxlan id 4242 dstport 0" || die "the kernel has no vxlan, which Swarm's overlay networks need (ip link add type vxlan failed)"
  [[ $name =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "XCON_NODE_NAME=$name: lower-case letters, digits and -, at most 31"
  [[ $net =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "XCON_NODE_NET=$net: the first three octets of an IPv4 /30, such as 198.18.213"
}

# Starts node 2's engine in its namespaces (again, after fail). `ip netns exec` would remount
# /sys and hide the cgroup mounts ("Devices cgroup isn't mounted"), so nsenter joins only the
# network namespace, and unshare gives it a hostname of its own (Swarm names nodes by hostname).
start_engine () {
  mkdir -p "$run_dir" "$data_dir"
  nsenter --net=/var/run/netns/"$name" unshare --uts -- sh -c "hostname $name && exec dockerd \
      --data-root $data_dir --exec-root $run_dir/exec --pidfile $run_dir/dockerd.pid \
      -H $sock --cgroup-parent $name" >>"$run_dir/dockerd.log" 2>&1 </dev/null &
  disown
  for _ in $(seq 60); do node2 info >/dev/null 2>&1 && return 0; sleep 1; done
  die "node 2's engine did not answer within 60 s; see $run_dir/dockerd.log"
}

up () {
  preflight
  [ -e "$run_dir" ] && die "$run_dir exists: node 2 is made already (status, or down first)"
  [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ] ||
    die "this Docker engine is in a swarm already, which up would not touch: docker swarm leave it first, or use another engine"
  # Reached through a gateway (or not at all) is free; on a link of this machine, or local, is taken.
  local route; route=$(ip route get "$host_addr" 2>/dev/null || true)
  [ -n "$route" ] && ! grep -q ' via ' <<<"$route" && die "$host_addr is on a network of this machine already ($route): choose another XCON_NODE_NET"
  ip -o addr | grep -q " $net\." && die "addresses in $net.0/24 are already on this machine: choose another XCON_NODE_NET"
  docker image inspect "$image" >/dev/null 2>&1 || die "no image $image here: scripts/build-image.sh builds it"

  mkdir -p "$run_dir"; : >"$made"
  ip netns add "$name"; echo netns >>"$made"
  ip link add "$host_if" type veth peer name "$node_if"; echo veth >>"$made"
  ip link set "$node_if" netns "$name"
  ip addr add "$host_addr/30" dev "$host_if"; ip link set "$host_if" up
  ip -n "$name" addr add "$node_addr/30" dev "$node_if"
  ip -n "$name" link set "$node_if" up; ip -n "$name" link set lo up
  say "namespace $name, veth $host_if ($host_addr) <-> $node_if ($node_addr)"

  echo engine >>"$made"; start_engine
  say "engine of $name: $sock (pid $(cat "$run_dir/dockerd.pid"), log $run_dir/dockerd.log)"

  docker swarm init --advertise-addr "$host_addr" --listen-addr "$host_addr:2377" >/dev/null; echo swarm >>"$made"
  node2 swarm join --token "$(docker swarm join-token -q worker)" --advertise-addr "$node_addr" --listen-addr "$node_addr:2377" "$host_addr:2377" >/dev/null
  local manager worker
  manager=$(docker info --format '{{.Swarm.NodeID}}'); worker=$(node2 info --format '{{.Swarm.NodeID}}')
  echo "worker $worker" >>"$made"
  docker node update --label-add xcon.node=1 "$manager" >/dev/null
  docker node update --label-add xcon.node=2 --label-add "xcon.engine=$sock" "$worker" >/dev/null
  say "swarm: node 1 $(docker node inspect -f '{{.Description.Hostname}}' "$manager") (manager, xcon.node=1), node 2 $name (worker, xcon.node=2)"

  # No registry here: the image travels as a tar stream.
  docker save "$image" | node2 load -q >/dev/null
  say "image $image loaded on $name"
  say "ready: docker stack deploy -c docker-compose.yml -c docker-stack.two-node.yml STACK"
}

# Every process of node 2 at once, as a power cut: its containers (in cgroups under $name) and
# its engine, containerd and shims (in its network namespace).
kill_node () {
  local pids
  pids=$( { cat /sys/fs/cgroup/pids/"$name"/*/cgroup.procs 2>/dev/null || true; ip netns pids "$name" 2>/dev/null || true; } | sort -u)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  for _ in $(seq 50); do
    [ -z "$(ip netns pids "$name" 2>/dev/null)" ] && return 0; sleep 0.1
  done
}

fail () {
  [ -f "$made" ] || die "node 2 is not made (up first)"
  node2 info >/dev/null 2>&1 || die "node 2 ($name) is already down"
  kill_node; rm -f "$run_dir/docker.sock"
  say "$name lost power: every process of it killed"
}

restore () {
  [ -f "$made" ] || die "node 2 is not made (up first)"
  node2 info >/dev/null 2>&1 && die "node 2 ($name) is already up"
  kill_node
  start_engine
  say "$name booted: engine up (pid $(cat "$run_dir/dockerd.pid")), rejoining the swarm"
}

status () {
  if [ ! -f "$made" ]; then say "not made"; return 0; fi
  say "namespace $name, veth $host_if ($host_addr) <-> $node_if ($node_addr); made: $(tr '\n' ' ' <"$made")"
  if node2 info >/dev/null 2>&1; then say "engine of $name: up, $sock"; else say "engine of $name: down"; fi
  docker node ls 2>/dev/null || true
}

# Removes what up made, read from $made, and nothing it did not make: a stack still deployed is
# refused rather than removed with the swarm.
down () {
  [ "$(id -u)" = 0 ] || die "needs root"
  if [ ! -e "$run_dir" ]; then say "nothing to remove"; return 0; fi
  if was_made swarm && [ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; then
    local services
    services=$(docker service ls -q 2>/dev/null | wc -l)
    [ "$services" = 0 ] || die "$services service(s) still run on the swarm (docker stack ls): remove the stack first (xcon --stack NAME down, or docker stack rm NAME)"
  fi
  node2 swarm leave --force >/dev/null 2>&1 || true
  kill_node
  local worker
  worker=$(sed -n 's/^worker //p' "$made" 2>/dev/null || true)
  [ -n "$worker" ] && { docker node rm --force "$worker" >/dev/null 2>&1 || true; }
  if was_made swarm; then docker swarm leave --force >/dev/null 2>&1 || true; say "left the swarm made by up"; fi
  # The killed engine's mounts (container layers, shm, network namespaces) are in this machine's
  # mount namespace: unmount them, deepest first, before removing its directories.
  awk -v a="$data_dir" -v b="$run_dir" '$5 ~ "^(" a "|" b ")(/|$)" { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip netns del "$name" 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
  for c in /sys/fs/cgroup/*/"$name"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  rm -rf "$data_dir" "$run_dir"
  say "removed $name: namespace, veth, engine, its directories and its node"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  fail) fail ;;
  restore) restore ;;
  *) echo "usage: $0 up|status|fail|restore|down" >&2; exit 2 ;;
esac
