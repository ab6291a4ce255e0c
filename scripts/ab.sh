#!/usr/bin/env bash
# Paired A/B timing of two connwatch binaries on one trace.
#
#   scripts/ab.sh PCAP ROUNDS BIN_A BIN_B [connwatch flags...]
#
# On this shared 2-core VM a run's CPU time moves by ±20% with what other
# tenants do, so two builds timed one after the other are hard to tell
# apart. Here both run at the same time, each pinned to its own core, and
# they swap cores every round: whatever slows the machine slows both. The
# line per round gives each one's CPU time (user + sys); the last line the
# totals and B's time relative to A's.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PCAP ROUNDS BIN_A BIN_B [connwatch flags...]" >&2
    exit 2
fi
pcap=$1 rounds=$2 a=$3 b=$4
shift 4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# run NAME BIN CPU: one timed run, pinned; prints its CPU seconds.
run() {
    local name=$1 bin=$2 cpu=$3
    shift 3
    /usr/bin/time -f '%U %S' -o "$dir/$name.time" taskset -c "$cpu" \
        "$bin" "$@" -r "$pcap" --logdir "$dir/$name.out" > /dev/null 2> "$dir/$name.err" || {
        echo "$bin failed: $(tail -1 "$dir/$name.err")" >&2
        return 1
    }
    awk '{ printf "%.2f\n", $1 + $2 }' "$dir/$name.time"
}

ta=0 tb=0
for r in $(seq "$rounds"); do
    ca=$((r % 2)) cb=$((1 - r % 2))
    run a "$a" "$ca" "$@" > "$dir/a.cpu" &
    pa=$!
    run b "$b" "$cb" "$@" > "$dir/b.cpu" &
    pb=$!
    wait "$pa" "$pb"
    sa=$(cat "$dir/a.cpu") sb=$(cat "$dir/b.cpu")
    echo "round $r: A $sa s (core $ca)   B $sb s (core $cb)"
    ta=$(python3 -c "print($ta + $sa)") tb=$(python3 -c "print($tb + $sb)")
done
python3 -c "print(f'total: A {$ta:.2f} s   B {$tb:.2f} s   B/A {$tb / $ta:.3f}')"
