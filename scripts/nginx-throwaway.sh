#!/usr/bin/env bash
# Throwaway nginx load balancer in front of app instances on loopback: 127.0.0.1 only, a free
# port, round-robin over the given upstream ports, keep-alive to the upstreams.
#
# Usage (like scripts/pg-throwaway.sh and scripts/redis-throwaway.sh):
#   eval "$(bash scripts/nginx-throwaway.sh start 4001 4002)"
#       -> exports NGINX_URL=http://127.0.0.1:PORT
#          and NGINX_THROWAWAY_DIR=/tmp/nginx-throwaway.XXXXXX
#          (nginx.conf, nginx.pid, error.log and nginx's temp dirs all live in that dir)
#   bash scripts/nginx-throwaway.sh stop "$NGINX_THROWAWAY_DIR"
#       -> stops that nginx and deletes the dir
#   bash scripts/nginx-throwaway.sh check
#       -> exit 0 when nginx is installed (its version on stderr), 1 with a hint otherwise
#
# `start` prints only `export KEY=value` lines on stdout; progress and errors go to stderr.
# Unlike the PostgreSQL and Redis scripts this one never installs anything: it refuses when
# nginx is missing (Debian 12: `apt-get install -y --no-install-recommends nginx`; the
# `nginx-light` package there is only `nginx` plus the echo module). .ci/run installs it.
# Run as root (the workers then run as nobody) or as an ordinary user.
#
# Environment knobs (optional):
#   NGINX_BIN                the nginx binary (default: nginx on PATH, else /usr/sbin/nginx)
#   NGINX_THROWAWAY_PARENT   where the temp dir is made (default /tmp)
#   NGINX_THROWAWAY_WORKERS  nginx worker processes (default 1: exact round-robin, and on a
#                            small machine the balancer does not compete with the instances)
#   NGINX_THROWAWAY_WAIT     seconds to wait for the port to accept connections (default 10)

set -euo pipefail

WAIT_SECS="${NGINX_THROWAWAY_WAIT:-10}"
WORKERS="${NGINX_THROWAWAY_WORKERS:-1}"
MARKER=.nginx-throwaway

log() { printf 'nginx-throwaway: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# The nginx binary, or nothing. /usr/sbin is often missing from an ordinary user's PATH.
find_nginx() {
  if [[ -n "${NGINX_BIN:-}" ]]; then
    [[ -x "$NGINX_BIN" ]] && echo "$NGINX_BIN"
    return 0
  fi
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

require_nginx() {
  NGINX="$(find_nginx)"
  [[ -n "$NGINX" ]] ||
    die "nginx is not installed (Debian/Ubuntu: apt-get install -y --no-install-recommends nginx), or set NGINX_BIN"
}

port_is_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    return 1
  fi
  return 0
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

# nginx.conf for listen port $2 in dir $1, upstream ports from the rest.
write_conf() {
  local dir=$1 port=$2
  shift 2
  local user_line="" servers="" upstream
  if is_root; then
    # The master needs root for nothing here; the workers need no privileges at all.
    if getent group nogroup >/dev/null 2>&1; then
      user_line="user nobody nogroup;"
    else
      user_line="user nobody;"
    fi
  fi
  for upstream in "$@"; do
    # max_fails=0: never sideline an instance. Round-robin stays exact (the scale-out test
    # relies on requests alternating), and a broken instance shows up as errors, not hidden.
    servers+="    server 127.0.0.1:$upstream max_fails=0;"$'\n'
  done
  cat >"$dir/nginx.conf" <<EOF
# Written by scripts/nginx-throwaway.sh; deleted with this directory.
$user_line
worker_processes $WORKERS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
  # Each proxied request holds two connections: 512 concurrent clients. More would exceed an
  # ordinary user's usual limit of 1024 open files.
  worker_connections 1024;
}

http {
  # Every log line would cost the benchmark a write; errors still go to error.log.
  access_log off;
  server_tokens off;
  # Temp files stay in this dir (the defaults are under /var/lib/nginx).
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;

  # A client's X-Request-Id is passed on (the app keeps a well-formed one); without one, the
  # request gets nginx's own id, so the balancer and the instance agree on it.
  map \$http_x_request_id \$edge_request_id {
    "" \$request_id;
    default \$http_x_request_id;
  }

  upstream app {
$servers    # Idle keep-alive connections per worker to the instances: no TCP handshake per request.
    keepalive 64;
  }

  server {
    listen 127.0.0.1:$port;
    # The app enforces its own body limit (MAX_BODY_SIZE, 413 unread); nginx must not
    # answer for it with a different 413 page.
    client_max_body_size 0;
    client_body_buffer_size 128k;

    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Request-Id \$edge_request_id;
      # Stream both ways: no request body spooled before the app sees it (its 413 stays
      # unread), no response held back, nothing written to temp files.
      proxy_request_buffering off;
      proxy_buffering off;
      # The app's own timeouts (EXECUTION_TIMEOUT_MS) answer first.
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
EOF
}

cmd_check() {
  local nginx
  nginx="$(find_nginx)"
  if [[ -z "$nginx" ]]; then
    log "nginx is not installed (Debian/Ubuntu: apt-get install -y --no-install-recommends nginx), or set NGINX_BIN"
    exit 1
  fi
  "$nginx" -v 2>&1 | sed "s|^|nginx-throwaway: $nginx: |" >&2
}

cmd_start() {
  (($# > 0)) || die "usage: $0 start <upstream-port>..."
  local upstream
  for upstream in "$@"; do
    [[ "$upstream" =~ ^[0-9]+$ ]] && ((upstream > 0 && upstream < 65536)) ||
      die "not a port: $upstream"
  done
  require_nginx

  local parent="${NGINX_THROWAWAY_PARENT:-/tmp}"
  NGINX_DIR="$(mktemp -d "$parent/nginx-throwaway.XXXXXX")"
  local dir="$NGINX_DIR"
  # The workers (nobody, when started as root) must reach the temp dirs inside.
  chmod 0755 "$dir"
  touch "$dir/$MARKER"
  mkdir -p "$dir/tmp"
  trap 'if [[ $? -ne 0 ]]; then cleanup_dir "$NGINX_DIR"; fi' EXIT

  local port attempt started=0
  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    write_conf "$dir" "$port" "$@"
    log "starting nginx on 127.0.0.1:$port -> 127.0.0.1:{$(IFS=,; echo "$*")} (attempt $attempt)"
    # -e: the error log before nginx.conf is read (the default is under /var/log/nginx).
    # nginx binds the port before it daemonizes, so its exit status says whether that worked.
    if "$NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" >&2; then
      local deadline=$((SECONDS + WAIT_SECS))
      while ((SECONDS < deadline)); do
        if [[ -s "$dir/nginx.pid" ]] && ! port_is_free "$port"; then
          started=1
          break
        fi
        sleep 0.1
      done
    fi
    ((started)) && break
    log "nginx did not start on port $port; log:"
    sed 's/^/  | /' "$dir/error.log" >&2 || true
    stop_server "$dir"
  done
  ((started)) || die "could not start nginx (see log above)"
  echo "$port" >"$dir/port"

  trap - EXIT
  log "ready: http://127.0.0.1:$port (dir $dir)"
  printf 'export NGINX_URL=%q\n' "http://127.0.0.1:$port"
  printf 'export NGINX_THROWAWAY_DIR=%q\n' "$dir"
}

stop_server() {
  local dir=$1
  [[ -s "$dir/nginx.pid" ]] || return 0
  local pid
  pid="$(cat "$dir/nginx.pid")"
  # Only the master this dir's nginx wrote, and only while it still is an nginx.
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == nginx ]] || return 0
  # TERM is nginx's fast shutdown: the master stops its workers and removes the pid file.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup_dir() {
  local dir=$1
  [[ -n "$dir" && -d "$dir" ]] || return 0
  if [[ ! -e "$dir/$MARKER" ]]; then
    log "refusing to delete $dir: not an nginx-throwaway dir (no $MARKER)"
    return 1
  fi
  stop_server "$dir"
  rm -rf "$dir"
}

cmd_stop() {
  local dir="${1:-${NGINX_THROWAWAY_DIR:-}}"
  [[ -n "$dir" ]] || die "usage: $0 stop <dir>   (or set NGINX_THROWAWAY_DIR)"
  if [[ ! -d "$dir" ]]; then
    log "$dir does not exist; nothing to stop"
    return 0
  fi
  cleanup_dir "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  check) cmd_check ;;
  *)
    echo "usage: eval \"\$(bash $0 start <upstream-port>...)\"   |   bash $0 stop <dir>   |   bash $0 check" >&2
    exit 2
    ;;
esac
