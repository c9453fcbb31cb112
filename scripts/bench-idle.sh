#!/usr/bin/env bash
# CPU of an idle Eventflow (every processor and delivery on, no traffic), as a share of
# one core, read from /proc over IDLE_SECONDS after a settling pause; RUNS runs, each with a
# fresh data directory. Loops woken by events instead of by polling keep it near zero.
# Usage: scripts/bench-idle.sh [EVENTFLOW_BINARY]
# Environment: IDLE_SECONDS (30), RUNS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
seconds=${IDLE_SECONDS:-30}
runs=${RUNS:-3}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "idle CPU of eventflow serve (all processors, delivery on, no traffic), ${seconds}s per run, $runs runs"
shares=()
for run in $(seq 1 "$runs"); do
  port=$(free_port)
  "$binary" serve --port "$port" --data-dir "$work/data-$run" --log-level warning &
  pid=$!
  pids+=($pid)
  wait_http "http://127.0.0.1:$port/healthz"
  sleep 3
  before=$(cpu_ticks "$pid")
  sleep "$seconds"
  after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  share=$(python3 -c "print(f'{($after - $before) / $ticks / $seconds * 100:.2f}')")
  shares+=("$share")
  echo "  run $run: $share % of a core"
done
python3 -c "
import statistics; s=sorted(float(x) for x in '${shares[*]}'.split())
print(f'summary\n  idle CPU, median of {len(s)}: {statistics.median(s):.2f} % of a core (min {s[0]:.2f}, max {s[-1]:.2f})')"
