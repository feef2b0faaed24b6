#!/usr/bin/env bash
# The visitor widget and the agent console in a real browser (Debian's chromium driven by
# playwright-core), against a chat-server on embedded defaults and a host page on another
# origin. Installs what it needs on a fresh machine; stops everything it started.
#
# Usage: e2e/browser/run.sh [path/to/chat-server]   (default: target/debug/chat-server)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-$ROOT/target/debug/chat-server}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

log() { echo "[e2e/browser] $*" >&2; }

if [ ! -x "$BIN" ]; then
  log "no chat-server binary at $BIN; build it first: cargo build -p chat-server"
  exit 1
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  log "playwright-core needs Node.js 20 or newer; found: $(node --version 2>/dev/null || echo none)"
  exit 1
fi
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" != 0 ] && [ -f "$WORK/chat-server.log" ]; then
    log "chat-server log (last 40 lines):"
    tail -n 40 "$WORK/chat-server.log" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

wait_for() { # url pid what
  for _ in $(seq 1 150); do
    if ! kill -0 "$2" 2>/dev/null; then log "$3 exited before it was ready"; return 1; fi
    if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"; then return 0; fi
    sleep 0.2
  done
  log "$3 not ready at $1 after 30s"
  return 1
}

CHAT_PORT=$(free_port)
HOST_PORT=$(free_port)
CHAT_URL=http://127.0.0.1:$CHAT_PORT
HOST_URL=http://127.0.0.1:$HOST_PORT

export E2E_ADMIN_EMAIL=admin@example.com
export E2E_ADMIN_PASSWORD=e2e-browser-admin-password
export E2E_BRAND_NAME="ACME Suporte"
export E2E_BRAND_COLOR="#aa3300"
export E2E_BRAND_WELCOME="Olá! Como podemos ajudar?"

(
  cd "$WORK"
  exec env \
    CHAT_LISTEN="127.0.0.1:$CHAT_PORT" \
    CHAT_STORE="$WORK/data" \
    CHAT_UPLOAD_DIR="$WORK/uploads" \
    CHAT_PUBLIC_URL="$CHAT_URL" \
    CHAT_BUS=local \
    CHAT_ADMIN_EMAIL="$E2E_ADMIN_EMAIL" \
    CHAT_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
    CHAT_BRAND_PRODUCT_NAME="$E2E_BRAND_NAME" \
    CHAT_BRAND_PRIMARY_COLOR="$E2E_BRAND_COLOR" \
    CHAT_BRAND_LOCALE=pt-BR \
    CHAT_BRAND_WELCOME_MESSAGE="$E2E_BRAND_WELCOME" \
    "$BIN" >"$WORK/chat-server.log" 2>&1
) &
PIDS+=($!)
wait_for "$CHAT_URL/health/live" "${PIDS[-1]}" chat-server

node "$HERE/host-server.js" "$HOST_PORT" "$CHAT_URL" >"$WORK/host-server.log" 2>&1 &
PIDS+=($!)
wait_for "$HOST_URL/" "${PIDS[-1]}" "host page server"

log "chat-server on $CHAT_URL, host page on $HOST_URL"
mkdir -p "$HERE/test-results"
E2E_CHAT_URL=$CHAT_URL E2E_HOST_URL=$HOST_URL E2E_RESULTS="$HERE/test-results" E2E_CHAT_BIN="$BIN" \
  node --test --test-concurrency=1 "$HERE"/tests/*.test.js
