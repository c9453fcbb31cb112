#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port, for tests and local scale-out runs.
# Usage: scripts/postgres.sh start DIR   initdb in DIR, start it, print its URL (also in DIR/url)
#        scripts/postgres.sh stop DIR    stop the server by its PID and remove DIR
# Installs Debian's postgresql package when it is missing.
set -euo pipefail
action=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# initdb and postgres refuse to run as root: run them as the package's postgres user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
  if [ -z "$(bin_dir)" ]; then
    echo "installing postgresql…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  bin=$(bin_dir)
  [ -n "$bin" ] || { echo "error: PostgreSQL is not installed and could not be installed (apt-get install -y postgresql)" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  as_owner "$bin/initdb" -D "$dir/data" -U eventflow --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { echo "error: initdb failed; see $dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=500 -c shared_buffers=256MB" start >/dev/null ||
    { echo "error: PostgreSQL did not start; see $dir/server.log" >&2; exit 1; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U eventflow eventflow
  url="postgres://eventflow@127.0.0.1:$port/eventflow?sslmode=disable"
  echo "$url" >"$dir/url"
  echo "$url"
  ;;
stop)
  bin=$(bin_dir)
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -1 "$dir/data/postmaster.pid")
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: postgres.sh start|stop DIR" >&2
  exit 2
  ;;
esac
