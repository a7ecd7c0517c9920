#!/usr/bin/env bash
# The scale-out set-up on one machine: a private Redis Cluster of 6 nodes
# (3 masters, 3 replicas, each on a free loopback port with its own data
# folder, removed on exit) and three s6-position instances on it in paper
# mode, sharing the symbols in three shards (S6_SHARDS=3, S6_SHARD=0..2) on
# ports ${PORT:-8086}..+2; shard 0's holder replays the demo prices.  It
# prints the command that adds a standby for a shard.  Ctrl-C stops
# everything.  docs/operations.md, "Redis Cluster" and "Sharded instances".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${S6_BUILD_DIR:-build}
port=${PORT:-8086}
scratch=$(mktemp -d -t s6-run-cluster.XXXXXX)
pids=()

# A loopback port nobody listens on, whose cluster bus port (+10000) is
# free too.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
       ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "run-cluster: no free loopback port found" >&2
  return 1
}

stop_all() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$scratch"
}

# One node on a free port (another if it could not bind: a port can be
# taken between the probe and the bind); its address into node_addr.
node_addr=""
start_node() {
  local i=$1 p
  mkdir -p "$scratch/node$i"
  for _ in 1 2 3; do
    p=$(free_port)
    redis-server --port "$p" --bind 127.0.0.1 --dir "$scratch/node$i" \
      --save "" --appendonly no --daemonize no --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      >"$scratch/node$i/redis.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
      if redis-cli -p "$p" ping 2>/dev/null | grep -q PONG; then
        pids+=("$pid")
        node_addr="127.0.0.1:$p"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "run-cluster: node $i did not start:" >&2
  cat "$scratch/node$i/redis.log" >&2
  return 1
}

start_cluster() {
  local nodes=()
  for i in 1 2 3 4 5 6; do
    start_node "$i" || return 1
    nodes+=("$node_addr")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 \
    --cluster-yes >"$scratch/create.log" 2>&1 || {
    echo "run-cluster: redis-cli --cluster create failed:" >&2
    cat "$scratch/create.log" >&2
    return 1
  }
  local first=${nodes[0]#*:}
  for _ in $(seq 1 100); do
    redis-cli -p "$first" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
  export S6_REDIS_URL="redis+cluster://${nodes[0]},${nodes[1]},${nodes[2]}/"
  echo "run-cluster: Redis Cluster up: ${nodes[*]} (data in $scratch)" >&2
}

./.ci/install-deps
cmake -S . -B "$build"
cmake --build "$build" -j"$(nproc)" --target s6-position

trap stop_all EXIT
trap 'exit 130' INT TERM
start_cluster
services=()
for k in 0 1 2; do
  PORT=$((port + k)) S6_SHARDS=3 S6_SHARD=$k S6_INSTANCE_ID=s6-$k \
    "$build/s6-position" "$@" &
  pids+=($!)
  services+=($!)
done
echo "run-cluster: shards 0, 1, 2 on http://localhost:$port..$((port + 2));" \
     "a standby for shard 1:" >&2
echo "  PORT=$((port + 3)) S6_SHARDS=3 S6_SHARD=1 S6_INSTANCE_ID=s6-1b" \
     "S6_REDIS_URL=$S6_REDIS_URL $build/s6-position" >&2
echo "run-cluster: Ctrl-C stops all" >&2
# Until every instance is gone: killing one shows a standby taking over.
wait "${services[@]}" || true
