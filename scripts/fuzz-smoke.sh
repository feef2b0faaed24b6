#!/usr/bin/env bash
# Bounded libFuzzer runs of both cargo-fuzz harnesses, for CI and by hand:
#   - chat-protocol/fuzz frame_decoder: the websocket frame parser;
#   - tenant-api/fuzz tenant_validation: a Tenant parsed from YAML/JSON, then validated.
# Each harness links only its light crate (not the chat-server or the operator), so the
# instrumented builds take minutes, not the half hour the whole dependency trees took.
#
# Stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its few -Z flags, and `--sanitizer
# none` needs no sanitizer runtime (the code under test is safe Rust: panics, aborts and
# timeouts are what the harnesses look for). Each run starts from the committed seed corpus in
# a scratch copy, so CI never rewrites the repository's corpus. Fails on the first crash, and
# prints the build time, runs, executions per second and crashes of each harness.
#
#   bash scripts/fuzz-smoke.sh                  # FUZZ_SECONDS (default 60) per harness
#   FUZZ_SECONDS=600 nice bash scripts/fuzz-smoke.sh tenant_validation
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH=${FUZZ_SECONDS:-60}
# Both harnesses share this target dir: libfuzzer-sys, serde and serde_json build once.
TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/fuzz}
export RUSTC_BOOTSTRAP=1

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    printf '\n==> installing cargo-fuzz %s\n' "$CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The figure libFuzzer prints for `name` in its final stats (0 when absent).
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1 | grep . || echo 0; }

fuzz() { # crate harness
    local crate=$1 harness=$2 start built log corpus artifacts status=0
    local project=$ROOT/$crate/fuzz
    [ -d "$project/corpus/$harness" ] || die "no seed corpus at $crate/fuzz/corpus/$harness"
    printf '\n==> fuzz %s/%s: build\n' "$crate" "$harness" >&2
    start=$(date +%s)
    (cd "$project" && cargo fuzz build --sanitizer none --target-dir "$TARGET_DIR" "$harness")
    built=$(($(date +%s) - start))

    printf '\n==> fuzz %s/%s: %ss from the seed corpus\n' "$crate" "$harness" "$SECONDS_EACH" >&2
    corpus=$work/$harness/corpus artifacts=$work/$harness/artifacts/ log=$work/$harness/log
    mkdir -p "$corpus" "$artifacts"
    cp "$project/corpus/$harness/"* "$corpus/"
    start=$(date +%s)
    # -timeout: one input taking 10 s is a hang worth failing on; -max_len: frames and Tenants
    # past 8 KiB add nothing the mutator cannot reach with shorter ones.
    (cd "$project" && cargo fuzz run --sanitizer none --target-dir "$TARGET_DIR" "$harness" \
        "$corpus" -- -max_total_time="$SECONDS_EACH" -timeout=10 -max_len=8192 \
        -artifact_prefix="$artifacts" -print_final_stats=1) >"$log" 2>&1 || status=$?
    # On success the final stats; on failure the panic and the stack as well.
    tail -n "$([ "$status" -eq 0 ] && echo 8 || echo 80)" "$log" >&2
    local ran=$(($(date +%s) - start)) runs per_sec crashes
    runs=$(stat number_of_executed_units "$log")
    per_sec=$(stat average_exec_per_sec "$log")
    crashes=$(find "$artifacts" -type f | wc -l)
    printf 'fuzz %s: build %ss, %s runs in %ss (%s/s), %s crashes, %s, corpus %s -> %s inputs\n' \
        "$harness" "$built" "$runs" "$ran" "$per_sec" "$crashes" \
        "$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)" \
        "$(find "$project/corpus/$harness" -type f | wc -l)" "$(find "$corpus" -type f | wc -l)" >&2
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        for input in "$artifacts"*; do
            [ -f "$input" ] || continue
            printf 'crashing input %s (base64): %s\n' "${input##*/}" "$(base64 -w0 "$input")" >&2
        done
        die "fuzz $harness failed (exit $status); reproduce: cd $crate/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $harness <input>"
    fi
}

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=(frame_decoder tenant_validation)
for harness in "${selected[@]}"; do
    case $harness in
        frame_decoder) fuzz chat-protocol frame_decoder ;;
        tenant_validation) fuzz tenant-api tenant_validation ;;
        *) die "unknown harness $harness; expected frame_decoder or tenant_validation" ;;
    esac
done
