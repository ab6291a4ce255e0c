#!/usr/bin/env bash
# Flow-collector benchmark behind README's figure: a generated stream of
# IPFIX datagrams (examples/ipfix_sender.rs: MTU-sized datagrams, a
# router's mix of TCP/UDP/ICMP, IPv4 and IPv6, both directions, some long
# connections in active-timeout records) is sent over loopback UDP at a
# fixed rate to `connwatch --flows udp://127.0.0.1:PORT`. Reports what the
# collector received against what was sent (a collector that falls behind
# loses datagrams in the socket buffer) and its CPU time (user + sys; the
# collector is one thread) per record.
#
#   scripts/flow-bench.sh [RECORDS] [RATE] [sender args...]   # default 2000000 250000
# Binaries are taken from $CARGO_TARGET_DIR/release (default target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000000}
rate=${2:-250000}
shift 2 || true
target=${CARGO_TARGET_DIR:-target}
bin=$target/release
dir=${BENCH_DIR:-/tmp/connwatch-flow-bench}
rm -rf "$dir" && mkdir -p "$dir"
cargo build --release -q -p connwatch --bin connwatch --example ipfix_sender
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

/usr/bin/time -f '%e %U %S %M' -o "$dir/collector.time" \
    "$bin"/connwatch --flows "udp://127.0.0.1:$port" --logdir "$dir/logs" \
    2> "$dir/collector.err" &
pid=$!
# Wait for the socket.
for _ in $(seq 100); do
    grep -q 'collecting flows' "$dir/collector.err" 2>/dev/null && break
    sleep 0.05
done
"$bin"/examples/ipfix_sender --to "127.0.0.1:$port" --records "$records" --rate "$rate" "$@" \
    | tee "$dir/sender.out"
sleep 1
kill -TERM "$(pgrep -P "$pid" connwatch || echo "$pid")" 2>/dev/null || true
wait "$pid" || true
grep -E 'flows:|connections' "$dir/collector.err" || cat "$dir/collector.err"
read -r wall user sys rss_kb < "$dir/collector.time"
python3 - "$records" "$user" "$sys" "$rss_kb" "$dir/collector.err" "$dir/sender.out" <<'PY'
import re, sys
records, user, sys_, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
err = open(sys.argv[5]).read()
got = int(re.search(r'datagrams \(\d+ from exporters not allowed\), (\d+) records', err).group(1))
sent = int(re.search(r'ipfix_sender: (\d+) records', open(sys.argv[6]).read()).group(1))
rate = float(re.search(r'\(([\d.]+) records/s\)', open(sys.argv[6]).read()).group(1))
cpu = user + sys_
print(f"sent {sent} records at {rate:,.0f} records/s; collector received {got} ({100.0 * got / sent:.2f} %)")
print(f"collector CPU {cpu:.2f} s (user {user:.2f}, sys {sys_:.2f}): {got / cpu:,.0f} records per CPU-second; peak RSS {rss / 1024:.1f} MiB")
PY
