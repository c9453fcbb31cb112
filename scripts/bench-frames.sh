#!/usr/bin/env bash
# Frames counted per second by unique-users: wrk posts NDJSON batches of 100 frames of
# ~2 KB for BENCH_SECONDS, then the script waits until the processor has counted every
# committed frame. Reports the ingest rate, the end-to-end counting rate (frames over
# the time from the first request until the last frame was counted) and checks that
# counted + late-dropped frames equal the committed frames.
# Usage: scripts/bench-frames.sh [EVENTFLOW_BINARY]
# Environment: BENCH_SECONDS (20), BENCH_CONNECTIONS (16), BENCH_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-16}
threads=${BENCH_THREADS:-2}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

port=$(free_port)
"$binary" serve --port "$port" --data-dir "$work/data" --log-level warning --no-delivery &
pid=$!
pids+=($pid)
wait_http "http://127.0.0.1:$port/healthz"

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
head_offset() { curl -s "http://127.0.0.1:$port/v1/streams" | python3 -c 'import json,sys; print([s["head_offset"] for s in json.load(sys.stdin)["streams"] if s["name"]=="frames"][0])'; }

echo "wrk -t$threads -c$connections -d${seconds}s, NDJSON batches of 100 frames of ~2 KB, $(nproc) cores"
started=$(date +%s.%N)
wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s scripts/wrk/frames-ndjson.lua "http://127.0.0.1:$port/v1/streams/frames/events" > "$work/wrk.txt"
ingest_ended=$(date +%s.%N)
# Requests wrk left in flight still commit after it exits: wait until the head stays put.
committed=$(head_offset)
while sleep 0.3; do
  now=$(head_offset)
  [ "$now" -eq "$committed" ] && break
  committed=$now
done
for _ in $(seq 1 1200); do
  counted=$(metric 'eventflow_processor_events_total{processor="unique-users"}')
  [ "${counted%.*}" -ge "$committed" ] && break
  sleep 0.05
done
counted_at=$(date +%s.%N)
peak_rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
sed -n '/Latency Distribution/,/Requests\/sec/p' "$work/wrk.txt"
curl -s "http://127.0.0.1:$port/v1/unique-users?window=1m&limit=100000" > "$work/results.json"
python3 - "$work/results.json" "$committed" "$started" "$ingest_ended" "$counted_at" "$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")" "$peak_rss_kib" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
committed, started, ingest_ended, counted_at, rps, rss = int(sys.argv[2]), *map(float, sys.argv[3:8])
frames = sum(r["frames"] for r in results)
late = sum(r["late_dropped"] for r in results)
print("summary")
print(f"  frames committed                 {committed:>12,}")
print(f"  ingest rate (wrk)                {rps * 100:>12,.0f} frames/s")
print(f"  counted end to end               {committed / (counted_at - started):>12,.0f} frames/s  ({counted_at - ingest_ended:.1f} s after the load stopped)")
print(f"  counted + late dropped           {frames + late:>12,}  ({'equal to' if frames + late == committed else 'DIFFERENT FROM'} committed; {late:,} late)")
print(f"  windows                          {len(results):>12,}  (max users in one: {max((r['users'] for r in results), default=0):,})")
print(f"  peak resident memory             {rss / 1024:>12,.0f} MiB")
PY
