#!/usr/bin/env bash
# Throwaway redis-server for tests: 127.0.0.1 only, a free port, no persistence.
#
# Usage (like scripts/pg-throwaway.sh):
#   eval "$(bash scripts/redis-throwaway.sh start)"
#       -> exports REDIS_URL=redis://127.0.0.1:PORT
#          and REDIS_THROWAWAY_DIR=/tmp/redis-throwaway.XXXXXX
#   bash scripts/redis-throwaway.sh stop "$REDIS_THROWAWAY_DIR"
#       -> shuts that server down and deletes the dir
#
# `start` prints only `export KEY=value` lines on stdout; progress and errors go to stderr.
# redis-server is installed with apt-get (package redis-server) only when it is missing.
#
# Environment knobs (optional):
#   REDIS_THROWAWAY_PARENT  where the temp dir is made (default /tmp)
#   REDIS_THROWAWAY_WAIT    seconds to wait for PING (default 15)

set -euo pipefail

WAIT_SECS="${REDIS_THROWAWAY_WAIT:-15}"
MARKER=.redis-throwaway

log() { printf 'redis-throwaway: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_redis_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  log "redis-server not found; installing redis-server with apt-get"
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: cannot install redis-server"
    sudo=(sudo)
  fi
  # apt output goes to stderr so stdout stays eval-able.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends redis-server >&2
  command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
}

pick_port() {
  local p=""
  if command -v node >/dev/null 2>&1; then
    p="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null || true)"
  elif command -v python3 >/dev/null 2>&1; then
    p="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()' 2>/dev/null || true)"
  fi
  [[ "$p" =~ ^[0-9]+$ ]] || die "no free TCP port found"
  echo "$p"
}

cmd_start() {
  ensure_redis_installed
  local parent="${REDIS_THROWAWAY_PARENT:-/tmp}"
  REDIS_DIR="$(mktemp -d "$parent/redis-throwaway.XXXXXX")"
  local dir="$REDIS_DIR"
  touch "$dir/$MARKER"
  trap 'if [[ $? -ne 0 ]]; then cleanup_dir "$REDIS_DIR"; fi' EXIT

  local port attempt started=0
  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    log "starting redis-server on 127.0.0.1:$port (attempt $attempt)"
    # No RDB snapshots, no AOF: nothing is written to disk.
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --save '' --appendonly no --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2 || true
    local deadline=$((SECONDS + WAIT_SECS))
    while ((SECONDS < deadline)); do
      if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == PONG ]]; then
        started=1
        break
      fi
      sleep 0.2
    done
    ((started)) && break
    log "redis-server did not answer on port $port; log:"
    sed 's/^/  | /' "$dir/redis.log" >&2 || true
    stop_server "$dir"
  done
  ((started)) || die "could not start redis-server (see log above)"
  echo "$port" >"$dir/port"

  trap - EXIT
  log "ready: redis://127.0.0.1:$port (dir $dir)"
  printf 'export REDIS_URL=%q\n' "redis://127.0.0.1:$port"
  printf 'export REDIS_THROWAWAY_DIR=%q\n' "$dir"
}

stop_server() {
  local dir=$1
  [[ -f "$dir/redis.pid" ]] || return 0
  local pid
  pid="$(cat "$dir/redis.pid")"
  if [[ -f "$dir/port" ]]; then
    redis-cli -h 127.0.0.1 -p "$(cat "$dir/port")" shutdown nosave >/dev/null 2>&1 || true
  fi
  # Only the pid this script's server wrote; wait for it to go, then insist.
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
}

cleanup_dir() {
  local dir=$1
  [[ -n "$dir" && -d "$dir" ]] || return 0
  if [[ ! -e "$dir/$MARKER" ]]; then
    log "refusing to delete $dir: not a redis-throwaway dir (no $MARKER)"
    return 1
  fi
  stop_server "$dir"
  rm -rf "$dir"
}

cmd_stop() {
  local dir="${1:-${REDIS_THROWAWAY_DIR:-}}"
  [[ -n "$dir" ]] || die "usage: $0 stop <dir>   (or set REDIS_THROWAWAY_DIR)"
  if [[ ! -d "$dir" ]]; then
    log "$dir does not exist; nothing to stop"
    return 0
  fi
  cleanup_dir "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  *)
    echo "usage: eval \"\$(bash $0 start)\"   |   bash $0 stop <dir>" >&2
    exit 2
    ;;
esac
