#!/usr/bin/env bash
# Builds the chat-server the way the image ships it (chat-server/Dockerfile runs this) and
# prints the binary's path:
#
#   bash scripts/dist-build.sh
#
# `--profile dist` is fat LTO in one codegen unit. The build adds three things plain cargo profiles
# cannot express, which is why this is `cargo rustc` and not `cargo build`:
# - `--symbol-ordering-file chat-server/link/startup.order`: the functions a tenant's server runs
#   from exec to idle are placed together at the start of .text. Scattered over 27 MB, they
#   faulted in 213 windows of 64 KiB (the kernel maps pages around each fault), 11.5 MiB of an
#   idle tenant's RSS; together they take a few MiB. Regenerate the list with
#   scripts/startup-order.sh after a change to what the server runs at start: a stale list
#   costs only memory, but much of it (below), and this script says how stale.
# - `-z pack-relative-relocs` (DT_RELR, glibc >= 2.36: the build image's Debian 12 glibc, which
#   the executable carries, applies them itself at start): the 68,000 relative relocations of a
#   position-independent executable shrink from 1.6 MB, read at every start, to 25 KB. The
#   executable stays PIE.
# - `-C target-feature=+crt-static`: glibc is linked into the executable (static-pie, so its
#   address is still randomised). Shared, libc, libm and the loader cost an idle tenant 1.4 MiB
#   more RSS: the loader binds every import at start and runs each ifunc resolver, touching pages
#   of every library. Linked in, only the C functions the server calls are there, and the start-up
#   order places those it runs with the rest. Host names still resolve through /etc/hosts and DNS:
#   the glibc linked here (2.36) has the files and dns lookups built in, so nothing is dlopen'ed
#   (strace shows nsswitch.conf, hosts and resolv.conf read and the nameserver asked). The getrandom
#   crate finds no libc getrandom through dlsym in a static executable; it then waits for the
#   kernel's entropy pool on /dev/random and reads /dev/urandom, which every container has.
# The first two need lld, which is rustc's default linker on x86_64-unknown-linux-gnu since 1.90.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ORDER="$PWD/chat-server/link/startup.order"
BIN="$PWD/target/dist/chat-server"
# Cargo does not know the link reads the list, so the list goes in under a name of its contents:
# a changed list changes the arguments, and that relinks.
mkdir -p target/dist/link
LINKED_ORDER="$PWD/target/dist/link/startup-$(sha256sum "$ORDER" | cut -c1-16).order"
cp "$ORDER" "$LINKED_ORDER"

cargo rustc --profile dist --locked -p chat-server --bin chat-server -- \
    -C "link-arg=-Wl,--symbol-ordering-file=$LINKED_ORDER" \
    -C link-arg=-Wl,--no-warn-symbol-ordering \
    -C link-arg=-Wl,-z,pack-relative-relocs \
    -C target-feature=+crt-static >&2

# lld is silent about names it does not find (--no-warn-symbol-ordering: one line per name would
# bury the build log), so count them here. Names change with the toolchain, dependency versions
# and renamed functions.
listed=$(grep -cv '^\s*\(#\|$\)' "$ORDER" || true)
found=$(nm --defined-only "$BIN" | awk '{print $3}' | sort -u \
    | comm -12 - <(grep -v '^\s*\(#\|$\)' "$ORDER" | sort -u) | wc -l)
echo "startup order: $found of $listed listed functions are in the binary" >&2
if readelf -lW "$BIN" | grep -q INTERP; then
    echo "error: $BIN asks for a dynamic loader; it was meant to be linked statically" >&2
    exit 1
fi
# Any missing name matters: one change to the server's start (an async fn made plain) renamed 35
# of 3,110, monomorphs of the future that runs the start, and cost 2.2 MiB of idle RSS.
if [ "$listed" -eq 0 ] || [ "$found" -lt "$listed" ]; then
    echo "warning: the start-up order is stale ($((listed - found)) functions renamed or gone)," \
        "so an idle server maps more of its code; regenerate it with scripts/startup-order.sh" >&2
fi
echo "$BIN"
