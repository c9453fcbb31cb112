# Helpers shared by the benchmark scripts: a throwaway work directory, processes
# stopped by PID on exit, free loopback ports, waiting for HTTP to answer.
work=$(mktemp -d -t eventflow-bench-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "error: $1 did not answer" >&2; exit 2
}
# start_nginx PORT: nginx answering 202 {"accepted":1} to everything (and an empty
# /ledger), the baseline the benchmarks compare against; stopped on exit.
start_nginx() {
  mkdir -p "$work/nginx"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  client_max_body_size 8m;
  server {
    listen 127.0.0.1:$1;
    location / { return 202 '{"accepted":1}'; }
    location = /ledger { return 200 ''; }
  }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  pids+=($!)
  wait_http "http://127.0.0.1:$1/"
}
