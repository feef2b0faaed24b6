#!/usr/bin/env bash
# The visitor widget and the agent console in a real browser (Debian's chromium driven by
# playwright-core), against a chat-server on embedded defaults and a host page on another
# origin. Installs what it needs on a fresh machine; stops everything it started.
#
# A second chat-server runs in S3 mode against moto on its own origin, with the bucket made by
# the operator's own S3 provider (e2e-s3-bucket) and CHAT_ALLOWED_ORIGINS naming the host page.
#
# Usage: e2e/browser/run.sh [path/to/chat-server]   (default: target/debug/chat-server)
# E2E_ONLY=phone runs tests/phone.test.js alone (a glob on the file name; default: every file).
# moto: $MOTO_SERVER, else .venv/bin/moto_server (scripts/test.sh creates it).
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

MOTO=${MOTO_SERVER:-$ROOT/.venv/bin/moto_server}
if [ ! -x "$MOTO" ]; then
  log "no moto_server at $MOTO: run scripts/test.sh once (it creates .venv) or set MOTO_SERVER"
  exit 1
fi
BUCKET_BIN=$(dirname "$BIN")/e2e-s3-bucket
if [ ! -x "$BUCKET_BIN" ]; then
  log "building e2e-s3-bucket (the operator's S3 provider as a command)"
  (cd "$ROOT" && cargo build -q -p e2e --bin e2e-s3-bucket)
  BUCKET_BIN=$ROOT/target/debug/e2e-s3-bucket
fi

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
  if [ "$rc" != 0 ]; then
    for name in chat-server chat-server-s3; do
      [ -f "$WORK/$name.log" ] || continue
      log "$name log (last 40 lines):"
      tail -n 40 "$WORK/$name.log" >&2
    done
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

# S3 mode: moto on its own origin, a bucket whose CORS rule admits the console's origin and the
# host page's (as the operator sets it from spec.widget.allowedOrigins), and a chat-server that
# presigns into it and lets only the host page's origin use it from a browser.
S3_PORT=$(free_port)
S3_CHAT_PORT=$(free_port)
S3_URL=http://127.0.0.1:$S3_PORT
S3_CHAT_URL=http://127.0.0.1:$S3_CHAT_PORT
S3_BUCKET=atendo-e2e-uploads
export AWS_ACCESS_KEY_ID=e2e-access-key AWS_SECRET_ACCESS_KEY=e2e-secret-key AWS_EC2_METADATA_DISABLED=true
"$MOTO" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
wait_for "$S3_URL/moto-api/data.json" "${PIDS[-1]}" moto_server
"$BUCKET_BIN" --endpoint "$S3_URL" --bucket "$S3_BUCKET" --origin "$S3_CHAT_URL" --origin "$HOST_URL"

(
  cd "$WORK"
  exec env \
    CHAT_LISTEN="127.0.0.1:$S3_CHAT_PORT" \
    CHAT_STORE="$WORK/data-s3" \
    CHAT_PUBLIC_URL="$S3_CHAT_URL" \
    CHAT_ALLOWED_ORIGINS="$HOST_URL" \
    CHAT_S3_BUCKET="$S3_BUCKET" \
    CHAT_S3_ENDPOINT="$S3_URL" \
    CHAT_S3_REGION=us-east-1 \
    CHAT_BUS=local \
    CHAT_ADMIN_EMAIL="$E2E_ADMIN_EMAIL" \
    CHAT_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
    CHAT_BRAND_LOCALE=pt-BR \
    "$BIN" >"$WORK/chat-server-s3.log" 2>&1
) &
PIDS+=($!)
wait_for "$S3_CHAT_URL/health/live" "${PIDS[-1]}" "chat-server (S3 mode)"

log "chat-server on $CHAT_URL, host page on $HOST_URL; S3 mode: chat-server on $S3_CHAT_URL, moto on $S3_URL"
mkdir -p "$HERE/test-results"
# E2E_PYTHON: the venv's python, for tests that run a stand-in of their own (aiosmtpd).
E2E_CHAT_URL=$CHAT_URL E2E_HOST_URL=$HOST_URL E2E_RESULTS="$HERE/test-results" E2E_CHAT_BIN="$BIN" \
  E2E_PYTHON="$(dirname "$MOTO")/python" \
  E2E_S3_CHAT_URL=$S3_CHAT_URL E2E_S3_URL=$S3_URL E2E_S3_BUCKET=$S3_BUCKET \
  node --test --test-concurrency=1 "$HERE"/tests/${E2E_ONLY:-*}.test.js
