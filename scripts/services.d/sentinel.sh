# A Redis master on 6380 watched by one Sentinel on 26379 (master name "sessmaster"), for the
# store-redis Sentinel tests. Sourced by scripts/services.sh; idempotent.
start_sentinel() {
  local base="${TMPDIR:-/tmp}/sess-redis-sentinel"
  need_pkg redis-server redis-server
  mkdir -p "$base"
  if ! redis-cli -p 6380 ping >/dev/null 2>&1; then
    redis-server --port 6380 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --dir "$base" --logfile "$base/master.log" >/dev/null
  fi
  wait_for "redis (sentinel master) 6380" redis-cli -p 6380 ping || return 1
  if ! redis-cli -p 26379 ping >/dev/null 2>&1; then
    printf 'port 26379\nbind 127.0.0.1\ndir %s\nsentinel monitor sessmaster 127.0.0.1 6380 1\nsentinel down-after-milliseconds sessmaster 2000\n' "$base" > "$base/sentinel.conf"
    redis-server "$base/sentinel.conf" --sentinel --daemonize yes --logfile "$base/sentinel.log" >/dev/null
  fi
  wait_for "redis sentinel 26379" bash -c "redis-cli -p 26379 sentinel get-master-addr-by-name sessmaster | grep -q 6380"
}
