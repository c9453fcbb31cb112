#!/usr/bin/env bash
# The domains processor at scale: loads DOMAINS distinct domains (NDJSON batches of 100,
# as fast as the system takes them), waits until every event is counted, reports the
# database size and the server's memory, then measures GET /domains/{domain} latency
# (wrk, 4 connections, random domains) while ingesting about 20,000 events/s.
# Usage: scripts/bench-domains.sh [EVENTFLOW_BINARY]
# Environment: DOMAINS (10000000), LOOKUP_SECONDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
export DOMAINS=${DOMAINS:-10000000}
lookup_seconds=${LOOKUP_SECONDS:-20}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

port=$(free_port)
"$binary" serve --port "$port" --data-dir "$work/data" --log-level warning --no-delivery &
pid=$!
pids+=($pid)
wait_http "http://127.0.0.1:$port/healthz"
url="http://127.0.0.1:$port"
counted() { curl -s "$url/metrics" | awk '$1 == "eventflow_processor_events_total{processor=\"domains\"}" {print int($2)}'; }
head_offset() { curl -s "$url/v1/streams" | python3 -c 'import json,sys; print([s["head_offset"] for s in json.load(sys.stdin)["streams"] if s["name"]=="domains"][0])'; }

echo "loading $DOMAINS distinct domains (NDJSON batches of 100, wrk -t2 -c16)"
started=$(date +%s)
requests=$((DOMAINS / 100))
PACE_MS=0 wrk -t2 -c16 -d3600s -s scripts/wrk/domains-ndjson.lua "$url/v1/streams/domains/events" > "$work/load.txt" &
load_pid=$!
pids+=($load_pid)
while [ "$(head_offset)" -lt "$DOMAINS" ]; do sleep 1; done
kill "$load_pid"; wait "$load_pid" 2>/dev/null || true
loaded=$(date +%s)
committed=$(head_offset)
while [ "$(counted)" -lt "$committed" ]; do sleep 1; done
processed=$(date +%s)
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
echo "  $committed events committed in $((loaded - started)) s; all counted after $((processed - started)) s"
echo "  database $(du -sh "$work/data" | cut -f1) on disk; server RSS $((rss_kib / 1024)) MiB now, peak $((hwm_kib / 1024)) MiB"
echo "  distinct domains stored: $(sqlite3 "$work/data/eventflow.sqlite" 'SELECT COUNT(*) FROM domain_counts' 2>/dev/null || echo '(sqlite3 not installed)')"

echo "lookups for ${lookup_seconds} s while ingesting about 20,000 events/s (4 connections × 100 events every 17 ms plus latency)"
PACE_MS=17 wrk -t1 -c4 -d"$((lookup_seconds + 2))s" -s scripts/wrk/domains-ndjson.lua "$url/v1/streams/domains/events" > "$work/ingest.txt" &
ingest_pid=$!
pids+=($ingest_pid)
sleep 1
wrk -t1 -c4 -d"${lookup_seconds}s" --latency -s scripts/wrk/domain-lookup.lua "$url" > "$work/lookup.txt"
wait "$ingest_pid" || true
sed -n '/Latency Distribution/,/Requests\/sec/p' "$work/lookup.txt"
echo "  ingest meanwhile: $(awk '/^Requests\/sec:/ {printf "%.0f", $2 * 100}' "$work/ingest.txt") events/s"
