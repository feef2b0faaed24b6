#!/usr/bin/env bash
# Builds the chat-server of the previous release (PREVIOUS below) once, for the rolling-upgrade
# test (chat-server/tests/upgrade.rs), and prints the binary's path:
# target/previous/<commit>/debug/chat-server. The source comes from this clone's history
# (git archive); the dependencies this tree already built are hard-linked in, so only what
# differs is compiled (the workspace crates and a few dependencies whose features differ).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Bump to the commit of each release. Now: main before the schema steps V18 (blob sweeps) and
# V19 (conversations waiting for the desk), so the upgrade crosses both.
PREVIOUS=989e8f25f5abb35d14a279e2a74386d52dcacde0

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
out="$TARGET_DIR/previous/$PREVIOUS"
bin="$out/debug/chat-server"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi
# Exit 3 (and nothing built) when the history is missing, so a caller can tell it from a build
# that failed.
if ! git -C "$ROOT" cat-file -e "$PREVIOUS^{commit}" 2>/dev/null; then
    echo "build-previous: commit $PREVIOUS is not in this clone (a shallow clone?); fetch the history (git fetch --unshallow) to run the upgrade test" >&2
    exit 3
fi
rm -rf "$out/src"
mkdir -p "$out/src" "$out/debug"
git -C "$ROOT" archive --format=tar "$PREVIOUS" | tar -x -C "$out/src"
for d in deps build .fingerprint; do
    if [ -d "$TARGET_DIR/debug/$d" ] && [ ! -e "$out/debug/$d" ]; then
        cp -al "$TARGET_DIR/debug/$d" "$out/debug/$d"
    fi
done
CARGO_INCREMENTAL=0 cargo build --quiet --bin chat-server \
    --manifest-path "$out/src/Cargo.toml" --target-dir "$out" >&2
echo "$bin"
