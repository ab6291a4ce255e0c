#!/usr/bin/env bash
# Live-capture benchmark (issue 4, acceptance item 3): replays a generated
# trace with tcpreplay into one end of a veth pair (inside two network
# namespaces this script creates) while connwatch captures on the other
# end, and finds the highest rate at which the kernel dropped no packet,
# for 1 and 2 workers.
#
#   scripts/live-bench.sh [CONNECTIONS]     # default 100000 (~0.7 M packets)
#   SENDERS=2 scripts/live-bench.sh         # that many tcpreplay processes at once
#
# Needs root; installs tcpreplay (Debian) if missing. For each worker count
# it first replays at tcpreplay's top speed; if nothing was dropped that is
# the answer, otherwise it bisects the packet rate (--pps) between 0 and
# the top speed. The result for each rate is read from connwatch's exit
# summary ("kernel: N packets received, D dropped") and checked against
# the number of packets tcpreplay sent. On this 2-core machine tcpreplay
# itself takes a core, so 2 workers share the other with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/release
conns=${1:-100000}
senders=${SENDERS:-1}
if ! command -v tcpreplay >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq tcpreplay >/dev/null
fi
cargo build --release -q --locked -p connwatch -p connwatch-tracegen
dir=$(mktemp -d)
nsa=cwbench$$a nsb=cwbench$$b
cleanup() { ip netns del "$nsa" 2>/dev/null || true; ip netns del "$nsb" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add "$nsa"; ip netns add "$nsb"
ip link add cwba netns "$nsa" type veth peer name cwbb netns "$nsb"
for n in "$nsa" "$nsb"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$nsa" link set cwba up; ip -n "$nsb" link set cwbb up
$bin/connwatch-tracegen bulk --out "$dir/t.pcap" --connections "$conns" --seed 1 2>/dev/null
total=$($bin/connwatch -C -r "$dir/t.pcap" --logdir "$dir/ref" 2>&1 | sed -n 's/^connwatch: \([0-9]*\) packets,.*/\1/p')
total=$((total * senders))
echo "trace: $conns connections, $total packets (connwatch-tracegen bulk --seed 1), $senders sender(s)"

# run WORKERS TCPREPLAY-RATE-ARGS...: prints "sent_pps dropped received"
run() {
    local workers=$1; shift
    rm -rf "$dir/out"
    ip netns exec "$nsa" $bin/connwatch -i cwba --workers "$workers" \
        --logdir "$dir/out" --set log.stats_interval=0s 2> "$dir/cw.err" &
    local pid=$!
    until grep -q "capturing on" "$dir/cw.err" 2>/dev/null; do sleep 0.1; done
    local s senders_pids=()
    rm -f "$dir"/tr.*.out
    for s in $(seq "$senders"); do
        ip netns exec "$nsb" tcpreplay -q -K -i cwbb "$@" "$dir/t.pcap" > "$dir/tr.$s.out" 2>&1 &
        senders_pids+=($!)
    done
    local t0 t1
    t0=$(date +%s.%N)
    wait "${senders_pids[@]}"
    t1=$(date +%s.%N)
    sleep 1
    # connwatch's CPU seconds (utime + stime) while it captured.
    local ticks
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill -TERM "$pid"; wait "$pid"
    cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", 100 * t / hz / (b - a)}')
    echo "$cpu" > "$dir/cpu"
    local rate dropped received
    rate=$(cat "$dir"/tr.*.out | sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' | awk '{s += $1} END {printf "%d", s}')
    read -r received dropped < <(sed -n 's/^connwatch: kernel: \([0-9]*\) packets received, \([0-9]*\) dropped/\1 \2/p' "$dir/cw.err")
    echo "${rate%.*} $dropped $received"
}
# (run's CPU figure goes through a file: run itself is in a subshell.)

for workers in 1 2; do
    read -r top dropped received < <(run "$workers" --topspeed)
    echo "workers=$workers: top speed $top packets/s, $dropped of $received dropped, connwatch busy $(cat "$dir/cpu")% of one core"
    best=0
    if [ "$dropped" = 0 ] && [ "$received" -ge "$total" ]; then
        best=$top
    else
        lo=0 hi=$top
        for _ in 1 2 3 4 5 6; do
            mid=$(( (lo + hi) / 2 ))
            read -r got dropped received < <(run "$workers" --pps="$mid")
            echo "workers=$workers: $got packets/s, $dropped of $received dropped"
            if [ "$dropped" = 0 ] && [ "$received" -ge "$total" ]; then lo=$mid; best=$got; else hi=$mid; fi
        done
    fi
    echo "RESULT workers=$workers: highest rate without kernel drops: $best packets/s"
done
