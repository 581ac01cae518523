# A local 3-master Redis Cluster on loopback (ports 7000-7002 by default, SESS_TEST_REDIS_CLUSTER_PORTS
# overrides), for the store-redis tests. Sourced by scripts/services.sh; idempotent.
start_cluster() {
  local ports=(${SESS_TEST_REDIS_CLUSTER_PORTS:-7000 7001 7002})
  local base="${TMPDIR:-/tmp}/sess-redis-cluster"
  need_pkg redis-server redis-server
  if redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    log "redis cluster is up"
    return 0
  fi
  for p in "${ports[@]}"; do
    if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
      rm -rf "$base/$p" && mkdir -p "$base/$p"
      redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$base/$p/nodes.conf" \
        --dir "$base/$p" --save "" --appendonly no --daemonize yes --logfile "$base/$p/redis.log" >/dev/null
    fi
  done
  for p in "${ports[@]}"; do wait_for "redis cluster node $p" redis-cli -p "$p" ping || return 1; done
  local nodes=()
  for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
  if ! redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q 'cluster_slots_assigned:16384'; then
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null 2>&1 || { log "redis cluster create failed"; return 1; }
  fi
  wait_for "redis cluster" bash -c "redis-cli -p ${ports[0]} cluster info | grep -q cluster_state:ok"
}
