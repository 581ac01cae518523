# FerretDB v1.24.2 (MongoDB wire protocol, SQLite backend) on 127.0.0.1:27017, for the store-mongo
# tests: there is no MongoDB server package for these machines. Built from tools/ferretdb with the Go
# module proxy into .cache/ferretdb (rebuilt only when its sources change), started on a fresh
# temporary SQLite directory. Sourced by scripts/services.sh; idempotent.
mongo_answers() { bash -c 'exec 3<>/dev/tcp/127.0.0.1/27017' 2>/dev/null; }

start_mongo() {
  local src="$root/tools/ferretdb" out="$root/.cache/ferretdb"
  # The binary is built even when a FerretDB already answers: the fault tests start servers of their own from it.
  export PATH="$PATH:/usr/local/go/bin"
  if ! command -v go >/dev/null 2>&1; then log "go is not installed: cannot build FerretDB"; return 1; fi
  local stamp
  stamp="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)-$(go env GOVERSION)"
  if [ ! -x "$out/ferretdb" ] || [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building FerretDB (first time takes a minute or two)"
    mkdir -p "$out"
    if ! (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$out/ferretdb" .) >"$out/build.log" 2>&1; then
      log "FerretDB build failed:"; tail -n 20 "$out/build.log" >&2
      if mongo_answers; then log "a FerretDB answers on 27017: the fault tests' own FerretDB is missing"; return 0; fi
      return 1
    fi
    echo "$stamp" > "$out/stamp"
  fi
  if mongo_answers; then wait_for "ferretdb 27017" mongo_answers; return; fi
  local data
  data="$(mktemp -d "${TMPDIR:-/tmp}/sess-ferretdb.XXXXXX")"
  log "starting ferretdb (data in $data)"
  nohup "$out/ferretdb" -listen 127.0.0.1:27017 -dir "$data" >"$data.log" 2>&1 </dev/null &
  disown || true
  wait_for "ferretdb 27017" mongo_answers
}
