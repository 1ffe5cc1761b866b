#!/usr/bin/env bash
# Fuzzes /graphql and /metadata of a fresh server (standard objects and demo
# data) with schemathesis for a bounded time, then with hostile documents
# (hostile.py), and fails on any 5xx, any error without a contract code or
# with INTERNAL (see hooks.py), a dropped connection, or any panic in the
# server's log.
#
#   tests/fuzz/run.sh                      # SQLite
#   tests/fuzz/run.sh postgres://…/db      # PostgreSQL, in a fresh database
#                                          # `rapport_fuzz` beside the one named
#
# FUZZ_SECONDS sets the time per endpoint (default 60).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${FUZZ_SECONDS:-60}"
venv="${FUZZ_VENV:-$root/target/fuzz-venv}"

if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi
cargo build --locked --quiet --bin rapport

work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
key="fuzz_admin_key_$(date +%s)_0123456789"
url="sqlite://$work/rapport.db"
if [[ "${1:-}" == postgres* ]]; then
  psql "$1" -qc "DROP DATABASE IF EXISTS rapport_fuzz WITH (FORCE)"
  psql "$1" -qc "CREATE DATABASE rapport_fuzz"
  url="${1%/*}/rapport_fuzz"
fi

RAPPORT_DATABASE_URL="$url" RAPPORT_DATA_DIR="$work" RAPPORT_ADMIN_KEY="$key" \
  RAPPORT_RATE_LIMIT_PER_MINUTE=0 RAPPORT_ANONYMOUS_PER_MINUTE=0 RAPPORT_ENCRYPTION_KEY="$("$root/target/debug/rapport" keys generate)" \
  "$root/target/debug/rapport" serve --demo --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 1
done

status=0
for endpoint in metadata graphql; do
  echo "-- fuzzing /$endpoint for ${seconds}s"
  SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$root/tests/fuzz" \
    "$venv/bin/schemathesis" run "http://127.0.0.1:$port/$endpoint" \
    -H "Authorization: Bearer $key" --max-time "$seconds" -w 2 \
    -c rapport_contract --no-color >"$work/$endpoint.txt" 2>&1 || status=1
  tail -n 8 "$work/$endpoint.txt"
  if [ $status -ne 0 ]; then
    grep -A 40 "FAILURES\|ERRORS" "$work/$endpoint.txt" | head -n 120 || true
  fi
done
# Documents built to crash or exhaust the server (fragment cycles, doubling
# fragments, deep nesting, wide aliases), with and without a token; fails on
# a dropped connection, a 5xx or INTERNAL, or a server that stops answering.
echo "-- hostile documents on /graphql and /metadata"
python3 "$root/tests/fuzz/hostile.py" "http://127.0.0.1:$port" "$key" \
  --count "${HOSTILE_COUNT:-300}" --seconds "$seconds" || status=1
if grep -n "panicked" "$work/server.log"; then
  echo "FAIL: the server panicked" >&2
  status=1
fi
exit $status
