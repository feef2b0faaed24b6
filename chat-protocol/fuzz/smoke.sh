#!/usr/bin/env bash
# Bounded libFuzzer runs of both harnesses (chat frame decoder, Tenant validation) for CI, on the
# stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its few -Z flags to a stable rustc, and
# `--sanitizer none` needs no sanitizer runtime (the code under test is safe Rust: panics and
# aborts are what the harnesses look for). Each run starts from the committed seed corpus and
# works in a copy, so the repository's corpus is never rewritten by CI.
#
#   bash chat-server/fuzz/smoke.sh            # FUZZ_SECONDS (default 45) per harness
#   FUZZ_SECONDS=600 bash chat-server/fuzz/smoke.sh
#
# Needs cargo-fuzz: `cargo install cargo-fuzz --locked` (installed here when missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-45}
# One target dir for both harnesses: they share most dependencies and the same RUSTFLAGS.
TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

run() { # crate-dir harness
    local dir=$1 harness=$2 work
    work=$(mktemp -d)
    cp -r "$ROOT/$dir/fuzz/corpus/$harness/." "$work/"
    printf '\n==> fuzz %s/%s for %ss\n' "$dir" "$harness" "$SECONDS_EACH" >&2
    (cd "$ROOT/$dir" && cargo +stable fuzz run --sanitizer none --target-dir "$TARGET_DIR" \
        "$harness" "$work" -- -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1)
    rm -rf "$work"
}

run chat-server frame_decoder
run operator tenant_validation
