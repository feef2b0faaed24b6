#!/usr/bin/env bash
# The one test command. On a fresh Debian machine with the Rust toolchain (as root) it installs
# what the tests need, starts the test services once for the whole run, checks formatting and
# lints, and runs every test of the workspace. Services are stopped however the run ends.
#
#   bash scripts/test.sh
#
# Installs: redis-server and chromium (apt, if missing); the browser tests' and the Socket.IO
# peer's npm packages; .venv-chart for the chart checks (scripts/check-chart.sh); a
# virtual environment at .venv with pinned SecantusDB (MongoDB wire), moto[server] (S3) and
# aiosmtpd (the SMTP server the mail tests run) and standardwebhooks (the reference verifier
# of the webhook tests' receiver).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# A run builds each crate once: incremental caches only cost disk (7 GB of a 40 GB target,
# and a run has failed with "No space left on device").
export CARGO_INCREMENTAL=0
SECANTUSDB_VERSION=0.7.0b3
MOTO_VERSION=5.2.5
AIOSMTPD_VERSION=1.4.6
STANDARDWEBHOOKS_VERSION=1.3.0
# How long the four services may take to start (SecantusDB with auth starts twice).
SERVICES_TIMEOUT=180

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=""
apt_install() {
    [ "$(id -u)" -eq 0 ] || die "missing $*: install with \`apt-get install -y $*\` (or run this script as root)"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step "system packages"
command -v redis-server >/dev/null || apt_install redis-server
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
command -v redis-server >/dev/null || die "redis-server is still not on PATH after installing it"

step "Python test services in .venv (SecantusDB $SECANTUSDB_VERSION, moto $MOTO_VERSION)"
VENV=$ROOT/.venv
REQUIREMENTS="SecantusDB==$SECANTUSDB_VERSION moto[server]==$MOTO_VERSION aiosmtpd==$AIOSMTPD_VERSION standardwebhooks==$STANDARDWEBHOOKS_VERSION"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Reinstall only when the pins change.
if [ "$(cat "$VENV/.atendo-requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    # shellcheck disable=SC2086 # one word per requirement
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    echo "$REQUIREMENTS" >"$VENV/.atendo-requirements"
fi
export SECANTUSD="$VENV/bin/secantusd-py" MOTO_SERVER="$VENV/bin/moto_server"

# The browser code's pure modules (timeline, reconnect policy, socket, conversation client)
# under node:test: milliseconds, and no build needed.
step "JS unit tests (e2e/browser/unit)"
node --test e2e/browser/unit/

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

# One build of every target (tests included) in the debug profile; the test runner below
# reuses it, and the services binary comes out of it.
step "cargo build"
cargo build --workspace --all-targets

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# The previous release's chat-server, for the rolling-upgrade test (chat-server/tests/upgrade.rs):
# built once from this clone's history, reusing the dependencies just built.
# A shallow clone has no history to build it from: the test then says SKIPPED, and so does this.
step "previous chat-server (scripts/build-previous.sh)"
previous_rc=0
ATENDO_PREVIOUS_CHAT_SERVER=$(bash scripts/build-previous.sh) || previous_rc=$?
if [ "$previous_rc" -eq 3 ]; then
    echo "WARNING: the rolling-upgrade test (chat-server/tests/upgrade.rs) will be SKIPPED: this clone lacks the previous release's commit" >&2
    ATENDO_PREVIOUS_CHAT_SERVER=skip
elif [ "$previous_rc" -ne 0 ]; then
    die "building the previous chat-server failed (see above)"
fi
export ATENDO_PREVIOUS_CHAT_SERVER

# helm lint/template, kubernetes-validate and checkov over the chart and over the operator's
# render of every example Tenant (its own .venv-chart; see the script).
step "chart checks (charts/atendo)"
bash scripts/check-chart.sh "$TARGET_DIR/debug/atendo-operator"

step "starting the test services"
work=$(mktemp -d)
services_pid=""
stop_services() {
    if [ -n "$services_pid" ]; then
        kill -TERM "$services_pid" 2>/dev/null || true
        wait "$services_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The services run until their stdin closes: this shell holds the only writer (fd 3), so they
# stop even if this script is killed outright. Children get fd 3 closed (3>&-).
mkfifo "$work/stdin"
"$TARGET_DIR/debug/test-services" "$work/services.env" <"$work/stdin" &
services_pid=$!
exec 3>"$work/stdin"
for _ in $(seq $((SERVICES_TIMEOUT * 4))); do
    [ -s "$work/services.env" ] && break
    kill -0 "$services_pid" 2>/dev/null || die "the test services failed to start (see above)"
    sleep 0.25
done
[ -s "$work/services.env" ] || die "the test services did not start within ${SERVICES_TIMEOUT}s"
# shellcheck disable=SC1091
. "$work/services.env"

# nextest gives each test its own process and one summary line; it does not run doctests.
if cargo nextest --version >/dev/null 2>&1; then
    step "cargo test --doc"
    cargo test --workspace --doc 3>&-
    step "cargo nextest run"
    cargo nextest run --workspace --no-fail-fast 3>&-
else
    step "cargo test"
    cargo test --workspace --no-fail-fast 3>&-
fi

# Both fuzz harnesses (websocket frame parser, Tenant validation) for a bounded time each from
# their seed corpora, on stable; installs the pinned cargo-fuzz if missing. Fails on a crash.
step "fuzz smoke (chat-protocol/fuzz, tenant-api/fuzz)"
bash scripts/fuzz-smoke.sh 3>&-

# Every benchmark scenario for a few seconds against Atendo and the Socket.IO peer (npm ci
# installs the peer's lockfile), so the load tool keeps working. Fails on loss, duplicates or
# errors, never on speed.
step "chat-bench smoke (bench/)"
bash bench/peers/socketio/setup.sh 3>&- && "$TARGET_DIR/debug/chat-bench" smoke 3>&-

# The widget and the console in Debian's chromium, against the binary built above. It installs
# chromium and the npm packages it needs, and stops the server and host page it starts.
step "browser tests (e2e/browser)"
bash e2e/browser/run.sh "$TARGET_DIR/debug/chat-server" 3>&-
