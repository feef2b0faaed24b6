#!/usr/bin/env bash
# Regenerates chat-server/link/startup.order, the functions that scripts/dist-build.sh links
# together: everything the shipped chat-server runs from exec until it idles, recorded by
# valgrind's callgrind (every function that ran, not a sample).
#
#   bash scripts/startup-order.sh
#
# Two runs, and the list is their union:
# - SQLite store, Redis bus: the embedded defaults plus a bus, with the settings `chat-bench
#   tenant` gives its servers;
# - MongoDB store (the SecantusDB stand-in), Redis bus, metrics on their own port, and the rest
#   of what the operator's ConfigMap and Secrets set (JSON logs, an admin to create, S3 uploads,
#   branding, limits): as the operator runs a tenant, without TLS to Redis (rediss:// code stays
#   where the linker puts it). The S3 client is built at start but first used at an upload, so
#   the endpoint need not answer.
# Each run waits until /health/ready answers, then idles for IDLE_SECS (default 20) while the
# probes the operator's Deployment declares, and a metrics scrape, come in; then callgrind dumps
# what ran. Shutdown code is not recorded.
#
# Needs valgrind (with callgrind_control), redis-server, curl, and secantusd-py (SECANTUSD, or
# .venv/bin/secantusd-py as scripts/test.sh installs it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
IDLE_SECS=${IDLE_SECS:-20}
SECANTUSD=${SECANTUSD:-$ROOT/.venv/bin/secantusd-py}
ORDER=chat-server/link/startup.order

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in valgrind callgrind_control redis-server curl nm; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install valgrind redis-server curl binutils)"
done
[ -x "$SECANTUSD" ] || die "secantusd-py not found at $SECANTUSD (set SECANTUSD, or run scripts/test.sh once)"

BIN=$(bash scripts/dist-build.sh)
WORK=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # url seconds
    for _ in $(seq "$2"); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 1; done
    return 1
}

redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
pids+=($!)
mongo_port=$(free_port)
"$SECANTUSD" --host 127.0.0.1 --port "$mongo_port" --storage-path "$WORK/mongo" \
    --log-level WARNING >"$WORK/mongo.log" 2>&1 &
pids+=($!)

# run NAME [VAR=VALUE...]: one recorded server, its callgrind dump left in $WORK/NAME.out.*
run() {
    local name=$1; shift
    local port metrics
    port=$(free_port)
    metrics=$(free_port)
    env -i PATH="$PATH" HOME="$WORK" \
        CHAT_LISTEN="127.0.0.1:$port" CHAT_METRICS_LISTEN="127.0.0.1:$metrics" \
        CHAT_UPLOAD_DIR="$WORK/$name-uploads" CHAT_BUS="redis://127.0.0.1:$redis_port" \
        CHAT_BUS_NAMESPACE="$name" CHAT_SIGNING_KEY=startup-order-signing-key-0123456789abcdef \
        "$@" \
        valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/$name.out" \
        "$BIN" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_for "http://127.0.0.1:$port/health/ready" 300 \
        || die "the $name server never became ready; its log: $(tail -20 "$WORK/$name.log")"
    for _ in $(seq $((IDLE_SECS / 5))); do
        sleep 5
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live"
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready"
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$metrics/metrics"
    sleep 1
    callgrind_control --dump "$pid" >/dev/null 2>&1
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    echo "recorded the $name run" >&2
}

# As bench/src/cluster/atendo.rs starts its servers.
run sqlite CHAT_STORE="$WORK/sqlite" CHAT_LOG=warn CHAT_WS_RATE=1000000 CHAT_WS_BURST=1000000 \
    CHAT_VISITOR_RATE=1000000 CHAT_WS_CONNECT_RATE=1000000 CHAT_WS_IDLE_TIMEOUT_SECS=86400
# As operator/tests/golden/starter.yaml shows a tenant's Deployment and ConfigMap.
run mongodb CHAT_STORE="mongodb://127.0.0.1:$mongo_port/atendo" CHAT_LOG_FORMAT=json \
    CHAT_ADMIN_EMAIL=admin@startup-order.example.com CHAT_ADMIN_PASSWORD=startup-order-admin-password \
    CHAT_ALLOWED_ORIGINS=https://startup-order.example.com CHAT_PUBLIC_URL=https://startup-order.example.com \
    CHAT_BRAND_LOCALE=pt-BR CHAT_BRAND_PRIMARY_COLOR='#f5a623' CHAT_BRAND_PRODUCT_NAME='Startup Order' \
    CHAT_MAX_UPLOAD_MB=10 CHAT_RETENTION_DAYS=30 CHAT_SHUTDOWN_GRACE_SECS=15 CHAT_TRUSTED_PROXY_HOPS=1 \
    CHAT_VISITOR_RATE=20 CHAT_WS_BURST=30 CHAT_WS_RATE=10 \
    CHAT_S3_BUCKET=startup-order-uploads CHAT_S3_ENDPOINT="http://127.0.0.1:$(free_port)" \
    CHAT_S3_REGION=us-east-1 AWS_ACCESS_KEY_ID=startup-order AWS_SECRET_ACCESS_KEY=startup-order-secret

# Callgrind names a function once per file as "fn=(id) name" (and "cfn=" for callees); keep the
# names that are the executable's own functions, the linked-in C library's among them ("i": its
# ifunc resolvers, which run at start to pick each string function's variant for the CPU).
# What both runs ran comes first, then each store's own, so a server running one store touches
# one stretch and skips the other's.
nm --defined-only "$BIN" | awk '$2 ~ /^[tTwWi]$/ {print $3}' | sort -u >"$WORK/functions"
for name in sqlite mongodb; do
    sed -nE 's/^c?fn=\([0-9]+\) (.+)$/\1/p' "$WORK/$name".out.* | sort -u \
        | comm -12 - "$WORK/functions" >"$WORK/$name.ran"
done
{
    echo "# The chat-server's functions that run from exec until it idles, written by"
    echo "# scripts/startup-order.sh for scripts/dist-build.sh (lld --symbol-ordering-file)."
    echo "# $(rustc --version); regenerate after a toolchain or dependency update."
    echo "# Run with either store:"
    comm -12 "$WORK/sqlite.ran" "$WORK/mongodb.ran"
    echo "# Run with SQLite only:"
    comm -23 "$WORK/sqlite.ran" "$WORK/mongodb.ran"
    echo "# Run with MongoDB only:"
    comm -13 "$WORK/sqlite.ran" "$WORK/mongodb.ran"
} >"$ORDER"
echo "wrote $ORDER: $(grep -vc '^#' "$ORDER") functions" >&2
