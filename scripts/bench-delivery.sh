#!/usr/bin/env bash
# Delivery throughput, end to end: events ingested over HTTP, delivered by `deliver`
# to the reference target, rate computed from the target's ledger.
# Usage: scripts/bench-delivery.sh [EVENTFLOW_BINARY]
# Environment: EVENTS (200000), TARGET_ARGS (target flags, e.g. "--rate 1000 --burst 200"),
#              SERVE_ARGS (extra serve flags, e.g. "--target-batch 50").
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
events=${EVENTS:-200000}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

target_port=$(free_port)
serve_port=$(free_port)
# shellcheck disable=SC2086
"$binary" target --port "$target_port" --log-level warning ${TARGET_ARGS:-} &
pids+=($!)
# shellcheck disable=SC2086
"$binary" serve --port "$serve_port" --data-dir "$work/data" --log-level warning \
  --target-url "http://127.0.0.1:$target_port/deliver" ${SERVE_ARGS:-} &
pids+=($!)
wait_http "http://127.0.0.1:$target_port/healthz"
wait_http "http://127.0.0.1:$serve_port/healthz"

echo "delivering $events events; target: ${TARGET_ARGS:-unlimited}; serve: ${SERVE_ARGS:-defaults}"
python3 - "$serve_port" "$target_port" "$events" <<'PY'
import http.client, json, sys, threading, time
serve_port, target_port, events = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
batches = [list(range(start, min(start + 100, events))) for start in range(0, events, 100)]
def load(part):
    connection = http.client.HTTPConnection("127.0.0.1", serve_port)
    for batch in part:
        body = "\n".join('{"id":"d-%d","name":"bench","timestamp":1763900000,"body":{"n":%d}}' % (i, i) for i in batch)
        connection.request("POST", "/v1/streams/events/events", body, {"Content-Type": "application/x-ndjson"})
        response = connection.getresponse(); response.read()
        assert response.status == 202, response.status
threads = [threading.Thread(target=load, args=(batches[i::8],)) for i in range(8)]
started = time.time()
for t in threads: t.start()
for t in threads: t.join()
print(f"ingested {events} events in {time.time() - started:.1f} s")
def summary():
    connection = http.client.HTTPConnection("127.0.0.1", target_port)
    connection.request("GET", "/ledger/summary"); return json.loads(connection.getresponse().read())
deadline = time.time() + 600
while summary()["unique"] < events and time.time() < deadline:
    time.sleep(0.2)
s = summary()
connection = http.client.HTTPConnection("127.0.0.1", target_port)
connection.request("GET", "/ledger")
times = sorted(json.loads(line)["first_delivered_at_ms"] for line in connection.getresponse().read().decode().splitlines() if line)
span = (times[-1] - times[0]) / 1000
print(f"target summary: {json.dumps(s, sort_keys=True)}")
print(f"delivered {len(times)} events in {span:.2f} s: {len(times) / span:,.0f} events/s")
PY
echo "eventflow metrics:"
curl -s "http://127.0.0.1:$serve_port/metrics" | grep -E '^eventflow_delivery_attempts_total|^eventflow_delivered_events_total|^process_resident_memory_bytes'
