#!/usr/bin/env python3
"""Writes seed inputs for the `flow_collect` fuzz target from the captured
exports of softflowd and pmacct in testdata/netflow/ (NetFlow v5, v9,
IPFIX, IPFIX biflow and sysUpTime times, options records).

    python3 fuzz/seeds/make_flow_seeds.py OUTDIR

Input format: crates/track/src/fuzzing_flows.rs (2-byte length, exporter
byte, datagram). Seeds: each capture's whole stream, each datagram alone,
and two captures interleaved as two exporters.
"""
import glob
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capio  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def udp_payloads(path):
    out = []
    for f in capio.read_any(path)[1]:
        d = f.data
        if len(d) < 14 + 20 + 8 or d[12:14] != b"\x08\x00":
            continue
        ip = d[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            continue
        udp = ip[ihl:]
        ulen = struct.unpack(">H", udp[4:6])[0]
        out.append(bytes(udp[8:ulen]))
    return out


def record(exporter, dgram):
    return struct.pack(">HB", len(dgram), exporter) + dgram


def main():
    out = os.path.join(sys.argv[1], "flow_collect")
    os.makedirs(out, exist_ok=True)
    seeds = []
    streams = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "testdata/netflow/export-*.pcap"))):
        dgrams = udp_payloads(path)
        streams[path] = dgrams
        seeds.append(b"".join(record(0, d) for d in dgrams))
        seeds.extend(record(1, d) for d in dgrams)
    paths = sorted(streams)
    for a, b in zip(paths, paths[1:]):
        mixed = []
        for i in range(max(len(streams[a]), len(streams[b]))):
            if i < len(streams[a]):
                mixed.append(record(0, streams[a][i]))
            if i < len(streams[b]):
                mixed.append(record(2, streams[b][i]))
        seeds.append(b"".join(mixed))
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(s)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
