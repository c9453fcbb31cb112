#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL whose URL is in EVENTFLOW_TEST_POSTGRES_URL,
# and stops that server afterwards, whatever the command's outcome.
# Usage: scripts/with-postgres.sh COMMAND [ARGS…]
set -euo pipefail
dir=$(mktemp -d /tmp/eventflow-postgres.XXXXXX)
trap 'scripts/postgres.sh stop "$dir"' EXIT
EVENTFLOW_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$dir")
export EVENTFLOW_TEST_POSTGRES_URL
echo "PostgreSQL for the tests: $EVENTFLOW_TEST_POSTGRES_URL" >&2
"$@"
