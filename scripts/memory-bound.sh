#!/usr/bin/env bash
# Peak resident memory of `eventflow serve` holding large events it cannot deliver: REQUESTS
# requests of three 1 MiB events from 8 clients, with the target down (delivery retries),
# then the whole stream read back through the read API. Prints the process's peak (VmHWM).
# Usage: scripts/memory-bound.sh [BINARY]   Environment: REQUESTS (default 1000), PORT (default 19300)
set -euo pipefail
binary=${1:-.build/release/eventflow}
requests=${REQUESTS:-1000}
port=${PORT:-19300}
work=$(mktemp -d /tmp/eventflow-memory.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
head -c $((1 << 20)) /dev/zero | tr '\0' x > "$work/filler"
"$binary" serve --port "$port" --data-dir "$work/data" --target-url http://127.0.0.1:1/deliver --retry-max-ms 1000 > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "localhost:$port/readyz" > /dev/null && break; sleep 0.1; done
echo "idle: $(grep VmRSS /proc/$pid/status)"
send() {
  for event in 0 1 2; do
    printf '{"id":"big-%s-%s","name":"n","timestamp":1,"body":"' "$1" "$event"
    cat "$work/filler"
    printf '"}\n'
  done | curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/x-ndjson' --data-binary @- "localhost:$port/v1/streams/events/events"
}
export -f send
export work port
seq "$requests" | xargs -P 8 -I{} bash -c 'send {}' | sort | uniq -c | sed 's/^/answers: /'
echo "after ingest: $(grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' \t\n' ' ')"
from=0
while true; do
  next=$(curl -s "localhost:$port/v1/streams/events/events?from=$from&limit=10000" | grep -o '"next_offset":[0-9]*' | cut -d: -f2)
  [ -n "$next" ] && [ "$next" != "$from" ] || break
  from=$next
done
sleep 10
echo "after reading $from events back and 10 s of retries: $(grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' \t\n' ' ')"
