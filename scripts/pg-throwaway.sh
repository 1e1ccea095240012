#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests (fsync off, trust auth, 127.0.0.1 only).
#
# Usage (preferred, works from any shell and never leaks `set -e`/`exit` into it):
#   eval "$(bash scripts/pg-throwaway.sh start)"
#       -> exports DATABASE_URL=postgres://postgres@127.0.0.1:PORT/orders_test
#          and PG_THROWAWAY_DIR=/tmp/pg-throwaway.XXXXXX
#   bash scripts/pg-throwaway.sh stop "$PG_THROWAWAY_DIR"
#       -> stops that cluster (pg_ctl stop -m fast) and deletes the dir
#   bash scripts/pg-throwaway.sh stop-server "$PG_THROWAWAY_DIR"
#   bash scripts/pg-throwaway.sh start-server "$PG_THROWAWAY_DIR"
#       -> stop (pg_ctl stop -m fast) / start again the same cluster on the same
#          port, keeping its data: an outage for the fault test (test/fault/)
#
# `source scripts/pg-throwaway.sh start` also works (it runs the script in a
# child bash and evals its output, so your shell's options are untouched).
#
# `start` prints only `export KEY=value` lines on stdout; all progress and
# errors go to stderr. If /usr/lib/postgresql/15/bin/initdb is missing,
# PostgreSQL 15 is installed with apt-get (Debian 12: the contrib modules are
# part of `postgresql-15`; there is no separate postgresql-contrib-15 package).
# Run as root (initdb/postgres themselves run as the `postgres` user via
# runuser) or as an ordinary user (then they run as that user).
#
# Environment knobs (all optional):
#   PG_THROWAWAY_PARENT  where the temp dir is made (default /tmp; it must be
#                        traversable by the postgres user)
#   PG_THROWAWAY_DB      database to create (default orders_test)
#   PG_THROWAWAY_WAIT    seconds to wait for pg_isready (default 30)

# --- sourced: delegate to a child bash and eval its exports ------------------
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  if [[ "${1:-}" == "start" ]]; then
    __pg_throwaway_out="$(bash "${BASH_SOURCE[0]}" "$@")" &&
      eval "$__pg_throwaway_out"
    __pg_throwaway_rc=$?
    unset __pg_throwaway_out
    return "$__pg_throwaway_rc"
  else
    bash "${BASH_SOURCE[0]}" "$@"
    return $?
  fi
fi

set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
DB_NAME="${PG_THROWAWAY_DB:-orders_test}"
WAIT_SECS="${PG_THROWAWAY_WAIT:-30}"
MARKER=.pg-throwaway

log() { printf 'pg-throwaway: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run a command as the cluster owner (postgres when we are root, else ourselves).
as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_postgres_installed() {
  if [[ -x "$PG_BIN/initdb" ]]; then
    return 0
  fi
  log "PostgreSQL 15 not found; installing postgresql-15 with apt-get"
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null || die "not root and no sudo: cannot install postgresql-15"
    sudo=(sudo)
  fi
  # apt output goes to stderr so stdout stays eval-able.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends postgresql-15 >&2
  [[ -x "$PG_BIN/initdb" ]] || die "postgresql-15 installed but $PG_BIN/initdb still missing"
}

ensure_postgres_user() {
  is_root || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    log "creating system user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql \
      --shell /bin/bash postgres
  fi
}

port_is_free() {
  # Something answering on the port (or a leftover socket file) => not free.
  local port=$1
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    return 1
  fi
  return 0
}

# Ask the kernel for a free port (node or python); fall back to scanning.
pick_port() {
  local p=""
  if command -v node >/dev/null 2>&1; then
    p="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null || true)"
  elif command -v python3 >/dev/null 2>&1; then
    p="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()' 2>/dev/null || true)"
  fi
  if [[ "$p" =~ ^[0-9]+$ ]] && port_is_free "$p"; then
    echo "$p"
    return 0
  fi
  for ((p = 54329; p < 54429; p++)); do
    if port_is_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  die "no free TCP port found"
}

cmd_start() {
  ensure_postgres_installed
  ensure_postgres_user

  local parent="${PG_THROWAWAY_PARENT:-/tmp}"
  # Global (not local) so the EXIT trap below can still see it.
  PG_DIR="$(mktemp -d "$parent/pg-throwaway.XXXXXX")"
  local dir="$PG_DIR"
  chmod 0755 "$dir"
  touch "$dir/$MARKER"
  mkdir -p "$dir/data" "$dir/sock"
  if is_root; then
    chown -R postgres:postgres "$dir"
  fi
  chmod 0700 "$dir/data"
  # postgres can't read root's cwd (e.g. /root); avoid "could not change directory" noise.
  cd "$dir"

  # On failure from here on, clean up what we made.
  trap 'if [[ $? -ne 0 ]]; then cleanup_dir "$PG_DIR"; fi' EXIT

  # initdb: prefer C.UTF-8, fall back to C if that locale is unavailable.
  local locale
  for locale in C.UTF-8 C; do
    if as_pg "$PG_BIN/initdb" -D "$dir/data" --auth=trust --username=postgres \
      -E UTF8 --locale="$locale" --no-instructions >"$dir/initdb.log" 2>&1; then
      log "initdb ok (locale $locale)"
      break
    fi
    log "initdb with locale $locale failed:"
    sed 's/^/  | /' "$dir/initdb.log" >&2
    [[ "$locale" == C ]] && die "initdb failed"
    as_pg rm -rf "$dir/data"
    as_pg mkdir -m 0700 "$dir/data"
  done

  # Start on a free port; retry a few times in case the port got taken in between.
  local port attempt started=0
  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    log "starting postgres on 127.0.0.1:$port (attempt $attempt)"
    if start_postgres "$dir" "$port"; then
      started=1
      break
    fi
    log "postgres did not become ready on port $port; log:"
    sed 's/^/  | /' "$dir/postgres.log" >&2 || true
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
  done
  ((started)) || die "could not start postgres (see log above)"
  # start-server brings the cluster back on this same port.
  echo "$port" >"$dir/port"

  "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME" >&2 ||
    die "createdb $DB_NAME failed"

  trap - EXIT
  log "ready: postgres://postgres@127.0.0.1:$port/$DB_NAME (dir $dir)"
  printf 'export DATABASE_URL=%q\n' "postgres://postgres@127.0.0.1:$port/$DB_NAME"
  printf 'export PG_THROWAWAY_DIR=%q\n' "$dir"
}

# Start the cluster in $1 on port $2 and wait until it accepts connections.
start_postgres() {
  local dir=$1 port=$2
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -W \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir/sock' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || true
  local deadline=$((SECONDS + WAIT_SECS))
  while ((SECONDS < deadline)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
      return 0
    fi
    # Postmaster died (e.g. port clash)? Stop waiting.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      sleep 0.5
      as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 1
    fi
    sleep 0.2
  done
  return 1
}

# The throwaway dir named by $1 (or PG_THROWAWAY_DIR), checked to be one this script made.
throwaway_dir() {
  local dir="${1:-${PG_THROWAWAY_DIR:-}}"
  [[ -n "$dir" ]] || die "usage: $0 ${FUNCNAME[1]#cmd_} <dir>   (or set PG_THROWAWAY_DIR)"
  [[ -e "$dir/$MARKER" && -f "$dir/port" ]] || die "$dir is not a running pg-throwaway dir"
  echo "$dir"
}

cmd_stop_server() {
  local dir
  dir="$(throwaway_dir "${1:-}")"
  cd /
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" stop -m fast -w -t 30 >&2 || die "pg_ctl stop failed"
  log "stopped the server of $dir (data kept; start-server brings it back)"
}

cmd_start_server() {
  local dir port
  dir="$(throwaway_dir "${1:-}")"
  port="$(cat "$dir/port")"
  cd "$dir"
  start_postgres "$dir" "$port" || {
    sed 's/^/  | /' "$dir/postgres.log" >&2 || true
    die "could not start postgres again on port $port"
  }
  log "started the server of $dir again on 127.0.0.1:$port"
}

cleanup_dir() {
  local dir=$1
  [[ -n "$dir" && -d "$dir" ]] || return 0
  # Only ever delete directories this script created.
  if [[ ! -e "$dir/$MARKER" ]]; then
    log "refusing to delete $dir: not a pg-throwaway dir (no $MARKER)"
    return 1
  fi
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    (cd / && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" stop -m fast -t 30 >&2) ||
      (cd / && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate -t 10 >&2) ||
      log "warning: could not stop postgres in $dir"
  fi
  rm -rf "$dir"
}

cmd_stop() {
  local dir="${1:-${PG_THROWAWAY_DIR:-}}"
  [[ -n "$dir" ]] || die "usage: $0 stop <dir>   (or set PG_THROWAWAY_DIR)"
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
  stop-server) shift; cmd_stop_server "$@" ;;
  start-server) shift; cmd_start_server "$@" ;;
  *)
    echo "usage: eval \"\$(bash $0 start)\"   |   bash $0 stop|stop-server|start-server <dir>" >&2
    exit 2
    ;;
esac
