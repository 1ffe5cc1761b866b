#!/usr/bin/env bash
# Rapport's pages in a real browser: starts `rapport serve` on a fresh
# SQLite database with the demo, then runs every tests/browser/*.test.mjs
# with node's test runner, driving Debian's chromium through playwright-core.
# Needs chromium (apt install chromium, or CHROMIUM=/path) and Node.js 20+;
# a missing one fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/browser

CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
  echo "FAIL: the browser tests need chromium (apt install chromium, or set CHROMIUM)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "FAIL: the browser tests need Node.js" >&2; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi

cargo build --locked --quiet --bin rapport
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="rk_browser_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
RAPPORT_ADMIN_KEY="$key" RAPPORT_LOG=warn target/debug/rapport --data-dir "$data" \
  serve --demo --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
  kill -0 $server 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
  sleep 0.5
done

RAPPORT_BASE="http://127.0.0.1:$port" RAPPORT_KEY="$key" CHROMIUM="$CHROMIUM" \
  node --test --test-concurrency=1 "$here"/*.test.mjs
