#!/usr/bin/env bash
# Profile-guided release build of connwatch (rustc's -Cprofile-generate /
# -Cprofile-use, as in the rustc book's "Profile-guided Optimization").
#
#   scripts/pgo-build.sh        # prints the path of the optimised binary
#
# 1. builds an instrumented connwatch;
# 2. runs it on training input: a bulk trace from connwatch-tracegen with
#    seed 7 (the benchmark uses seed 1, so the build is not trained on the
#    trace it is measured on), the same in JSON, with flow export, a long
#    connection (conn_long.log), the NetFlow/IPFIX captures and the pcaps
#    in testdata/;
# 3. merges the profiles with llvm-profdata and builds again with them.
#
# The result behaves exactly as `cargo build --release` (CI runs the Zeek
# conformance suite on it); only code layout, inlining and branch order
# differ. It needs llvm-profdata of the LLVM major version rustc was built
# with (`rustc -vV`): LLVM_PROFDATA=path, `llvm-profdata-N` on PATH,
# /usr/lib/llvm-N (Debian: `apt-get install llvm-N`), or rustup's
# llvm-tools component. Outputs go under ${CARGO_TARGET_DIR:-target}/pgo*.
# RUSTFLAGS, if set, apply to both builds (e.g. -Ctarget-cpu=x86-64-v3).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${CARGO_TARGET_DIR:-target}
host=$(rustc -vV | sed -n 's/^host: //p')
major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')

find_profdata() {
    local c
    for c in "${LLVM_PROFDATA:-}" "llvm-profdata-$major" "/usr/lib/llvm-$major/bin/llvm-profdata" \
        "$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata" llvm-profdata; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || continue
        # Only a tool of rustc's LLVM major reads the profiles it writes.
        if "$c" merge --version 2>/dev/null | grep -q "LLVM version $major\."; then
            command -v "$c"
            return
        fi
    done
    echo "pgo-build: no llvm-profdata of LLVM $major (rustc's); install llvm-$major or set LLVM_PROFDATA" >&2
    exit 1
}
profdata=$(find_profdata)

data=$base/pgo-data
rm -rf "$data"
mkdir -p "$data/raw" "$data/logs"
data=$(cd "$data" && pwd)

# --target: RUSTFLAGS then apply to connwatch only, not to build scripts.
echo "pgo-build: instrumented build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$data/raw" CARGO_TARGET_DIR="$base/pgo-gen" \
    cargo build --release --locked -q -p connwatch --target "$host"
inst=$base/pgo-gen/$host/release/connwatch
cargo build --release --locked -q -p connwatch-tracegen
gen=$base/release/connwatch-tracegen

echo "pgo-build: training runs" >&2
train() { "$inst" "$@" --logdir "$data/logs" > /dev/null 2>&1; }
"$gen" bulk --out "$data/bulk.pcap" --connections 200000 --seed 7 2> /dev/null
train -r "$data/bulk.pcap"
"$gen" bulk --out "$data/small.pcap" --connections 20000 --seed 8 2> /dev/null
train -r "$data/small.pcap" --json
# Flow export to a UDP port nobody reads: the datagrams are built and sent.
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
train -r "$data/small.pcap" --export "ipfix://127.0.0.1:$port" --export "netflow9://127.0.0.1:$port"
"$gen" long --out "$data/long.pcap" --duration 2h --interval 30s --background-flows 20000 --seed 9 2> /dev/null
train -r "$data/long.pcap"
for f in testdata/netflow/*.pcap; do
    train --flows "file:$f"
done
for f in testdata/*.pcap; do
    train -C -r "$f"
done

"$profdata" merge -o "$data/connwatch.profdata" "$data"/raw/*.profraw
rm -f "$data"/*.pcap
echo "pgo-build: optimised build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$data/connwatch.profdata" CARGO_TARGET_DIR="$base/pgo" \
    cargo build --release --locked -q -p connwatch --target "$host"
echo "$base/pgo/$host/release/connwatch"
