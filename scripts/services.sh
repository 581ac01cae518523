#!/usr/bin/env bash
# Start every service the tests need that is not already answering, then wait until each answers.
# Idempotent. Usage: scripts/services.sh [redis] [pg] [mysql] ... (default: all)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(redis pg mysql cluster sentinel mongo memcached)
failed=0

log() { echo "services: $*" >&2; }

wait_for() { # name, command...
  local name="$1"; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then log "$name is up"; return 0; fi
    sleep 0.5
  done
  log "$name did not answer in 30 s"; failed=1; return 1
}

need_pkg() { # binary, debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null 2>&1 || log "could not install $2"
}

start_redis() {
  need_pkg redis-server redis-server
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  fi
  wait_for redis redis-cli -h 127.0.0.1 -p 6379 ping
}

start_pg() {
  need_pkg pg_ctlcluster postgresql
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    log "starting postgresql"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >/dev/null 2>&1 || true
  fi
  wait_for postgresql pg_isready -h 127.0.0.1 -p 5432 || return
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1 || log "could not create database test"
  fi
}

start_mysql() {
  need_pkg mariadbd mariadb-server
  if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
    log "starting mariadb"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  fi
  wait_for mariadb mysqladmin -h 127.0.0.1 -uroot ping || return
  mysql -h 127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1 || log "could not create database test"
}

for s in "${wanted[@]}"; do
  case "$s" in
    redis) start_redis ;;
    pg) start_pg ;;
    mysql) start_mysql ;;
    *) if [ -f "$root/scripts/services.d/$s.sh" ]; then source "$root/scripts/services.d/$s.sh"; "start_$s" || failed=1; else log "unknown service $s"; failed=1; fi ;;
  esac
done
exit $failed
