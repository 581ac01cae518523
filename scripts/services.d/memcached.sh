# memcached on 127.0.0.1:11211, for connect-memcached in the third-party conformance table (Debian's package).
start_memcached() {
  need_pkg memcached memcached
  if ! (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
    log "starting memcached"
    memcached -d -u "$(id -un)" -l 127.0.0.1 -p 11211 -m 64 >/dev/null 2>&1 || true
  fi
  wait_for memcached bash -c 'exec 3<>/dev/tcp/127.0.0.1/11211'
}
