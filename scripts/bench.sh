#!/usr/bin/env bash
# Whole-process benchmark behind README's figures: generates a large trace
# with connwatch-tracegen (deterministic), reads it with connwatch (logs
# written), and reports packets/s and connections/s on one core (the
# process is single-threaded; CPU time = user + sys), peak memory, and
# bytes per open connection.
#
#   scripts/bench.sh [CONNECTIONS] [extra tracegen bulk args...]
#   PCAP=file.pcap scripts/bench.sh      # measure an existing trace instead
#   FLAGS=-C PCAP=...                    # extra connwatch flags
#   BENCH_DIR=dir                        # where traces and logs go
#   CONNWATCH=path                       # the binary to measure, e.g. the
#                                        # one scripts/pgo-build.sh prints
# Binaries are taken from $CARGO_TARGET_DIR/release (default target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/release
conns=${1:-2000000}
shift || true
dir=${BENCH_DIR:-/tmp/connwatch-bench}
mkdir -p "$dir"
cargo build --release -q -p connwatch -p connwatch-tracegen
pcap=${PCAP:-$dir/bulk-$conns.pcap}
if [ ! -f "$pcap" ]; then
    "$bin"/connwatch-tracegen bulk --out "$pcap" --connections "$conns" --seed 1 "$@"
fi
cw=${CONNWATCH:-$bin/connwatch}
cat "$pcap" > /dev/null # into the page cache: measure connwatch, not the disk

# Resident memory of a run that tracks almost nothing: the fixed cost.
/usr/bin/time -f '%M' -o "$dir/base.time" \
    "$cw" -C -r testdata/wikipedia-mixed.pcap --logdir "$dir/base" 2>/dev/null
base_kb=$(cat "$dir/base.time")

rm -rf "$dir/out"
/usr/bin/time -f '%e %U %S %M' -o "$dir/run.time" \
    "$cw" ${FLAGS:-} -r "$pcap" --logdir "$dir/out" 2> "$dir/run.err"
read -r wall user sys rss_kb < "$dir/run.time"
summary=$(grep 'packets,' "$dir/run.err")
echo "$summary"
python3 - "$wall" "$user" "$sys" "$rss_kb" "$base_kb" "$summary" <<'PY'
import re, sys
wall, user, sys_, rss, base = map(float, sys.argv[1:6])
s = sys.argv[6]
pk = int(re.search(r'(\d+) packets', s).group(1))
cn = int(re.search(r'(\d+) connections', s).group(1))
peak = int(re.search(r'peak (\d+) open', s).group(1))
cpu = user + sys_
print(f"packets        {pk}")
print(f"connections    {cn}")
print(f"CPU time       {cpu:.2f} s (wall {wall:.2f} s)")
print(f"packets/s      {pk / cpu / 1e6:.2f} M per core")
print(f"connections/s  {cn / cpu / 1e6:.3f} M per core")
print(f"peak RSS       {rss / 1024:.1f} MiB (fixed part {base / 1024:.1f} MiB)")
print(f"peak open      {peak} connections")
print(f"bytes/open     {(rss - base) * 1024 / max(peak, 1):.0f} (RSS growth / peak open connections)")
PY
