#!/usr/bin/env bash
# The PostgreSQL log side by side with the embedded SQLite one, in one run:
#  1. ingest: wrk posting NDJSON batches of 100 events to one collector on each log;
#  2. processing: N events drained to an unlimited reference target by 1, then by 2
#     processor processes (--role processor) sharing the PostgreSQL log.
# Usage: scripts/bench-postgres.sh [EVENTFLOW_BINARY]
#  Processing is measured twice: with a target answering at once (CPU-bound on a small
#  machine) and with one answering after TARGET_LATENCY_MS, as a remote API does.
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), DRAIN_EVENTS (200000),
# TARGET_LATENCY_MS (100), PROCESSOR_ARGS (more flags for the processors, e.g. --deliver-partitions 1).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-64}
drain_events=${DRAIN_EVENTS:-200000}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
pg_dir=$(mktemp -d /tmp/eventflow-postgres.XXXXXX)
trap 'scripts/postgres.sh stop "$pg_dir"; cleanup' EXIT
base_url=$(scripts/postgres.sh start "$pg_dir")
database_url() { # a fresh database per measurement
  psql -q "$base_url" -c "CREATE DATABASE $1" >/dev/null
  echo "${base_url/\/eventflow\?/\/$1?}"
}

start_serve() { # PORT ARGS… → pid in $started
  local port=$1; shift
  "$binary" serve --port "$port" --log-level warning "$@" &
  started=$!
  pids+=($started)
  wait_http "http://127.0.0.1:$port/healthz"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.txt"; }
p99() { awk '$1 == "99%" {print $2}' "$work/$1.txt"; }

echo "== ingest: wrk -t2 -c$connections -d${seconds}s, NDJSON batches of 100 events, one collector, $(nproc) cores"
sqlite_port=$(free_port)
start_serve "$sqlite_port" --data-dir "$work/sqlite" --no-delivery
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s scripts/wrk/ndjson-100.lua "http://127.0.0.1:$sqlite_port/v1/streams/events/events" > "$work/sqlite.txt"
kill "$started"; wait "$started" 2>/dev/null || true
pg_port=$(free_port)
start_serve "$pg_port" --postgres-url "$(database_url ingest)" --role collector
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s scripts/wrk/ndjson-100.lua "http://127.0.0.1:$pg_port/v1/streams/events/events" > "$work/postgres.txt"
committed=$(curl -s "http://127.0.0.1:$pg_port/v1/streams" | python3 -c 'import json,sys; print([s["head_offset"] for s in json.load(sys.stdin)["streams"] if s["name"]=="events"][0])')
kill "$started"; wait "$started" 2>/dev/null || true
printf '  %-28s %10s events/s   p99 %s\n' "sqlite (embedded)" "$(python3 -c "print(f'{$(rps sqlite)*100:,.0f}')")" "$(p99 sqlite)"
printf '  %-28s %10s events/s   p99 %s   (%s events committed)\n' "postgres (--role collector)" "$(python3 -c "print(f'{$(rps postgres)*100:,.0f}')")" "$(p99 postgres)" "$committed"

start_target() { # ARGS… → port in $target_port
  target_port=$(free_port)
  "$binary" target --port "$target_port" --log-level warning "$@" &
  pids+=($!)
  wait_http "http://127.0.0.1:$target_port/ledger"
}

# drain RUN PROCESSES: loads DRAIN_EVENTS into a fresh database, then starts PROCESSES
# processors at once and prints the seconds until the deliver backlog is empty.
drain() {
  local url port
  url=$(database_url "drain$1")
  port=$(free_port)
  start_serve "$port" --postgres-url "$url" --role collector
  local collector=$started
  python3 - "$port" "$drain_events" "$1" <<'LOAD'
import json, sys, urllib.request
port, total, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sent = 0
while sent < total:
    n = min(1000, total - sent)
    body = "\n".join(json.dumps({"id": f"d{run}-{sent + i}", "name": "drain", "timestamp": 1763900000}) for i in range(n)).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/streams/events/events", data=body, headers={"Content-Type": "application/x-ndjson"})
    assert urllib.request.urlopen(request).status == 202
    sent += n
LOAD
  local started_at processors=() ports=()
  started_at=$(date +%s.%N)
  # All processors start together, so they split the partitions from their first claim.
  for _ in $(seq 1 "$2"); do
    local p; p=$(free_port)
    "$binary" serve --port "$p" --log-level warning --postgres-url "$url" --role processor --target-url "http://127.0.0.1:$target_port/deliver" \
      --target-batch 100 --target-concurrency 16 ${PROCESSOR_ARGS:-} &
    processors+=($!); pids+=($!); ports+=("$p")
  done
  for p in "${ports[@]}"; do wait_http "http://127.0.0.1:$p/healthz"; done
  until curl -s "http://127.0.0.1:$port/metrics" | awk '/^eventflow_log_backlog_events\{.*processor="deliver[["]/ {found=1; if ($2 != 0) busy=1} END {exit !(found && !busy)}'; do sleep 0.1; done
  python3 -c "print(f'{$(date +%s.%N) - $started_at:.2f}')"
  for pid in "${processors[@]}" "$collector"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
}

# compare LABEL: drains with 1, then 2 processors, into the target running now.
compare() {
  local one two
  one=$(drain "${1}1" 1)
  two=$(drain "${1}2" 2)
  printf '  %-28s %8s s   %10s events/s\n' "1 processor" "$one" "$(python3 -c "print(f'{$drain_events/$one:,.0f}')")"
  printf '  %-28s %8s s   %10s events/s   (ratio 2/1: %s)\n' "2 processors" "$two" "$(python3 -c "print(f'{$drain_events/$two:,.0f}')")" "$(python3 -c "print(f'{$one/$two:.2f}')")"
}

latency=${TARGET_LATENCY_MS:-100}
echo "== processing: $drain_events events delivered (batches of 100, 16 requests in flight per process), from the start of the processors to an empty backlog"
echo "-- unlimited target answering at once (processors, target and PostgreSQL share $(nproc) cores)"
start_target
compare fast
echo "-- unlimited target answering after ${latency} ms (±50 %), as a remote API does"
start_target --latency-ms "$latency"
compare slow
