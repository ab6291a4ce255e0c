#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets from the shared capture traces.

    python3 fuzz/seeds/make_seeds.py OUTDIR [TRACE...]

OUTDIR gets one directory per target (wire_all, capture_file, pipeline).
The committed corpus is these seeds minimised with `cargo fuzz cmin` (see
fuzz/README.md), plus what fuzzing found. Without TRACE arguments every
trace under /work/shared/conformance/zeek and /work/shared/traces/generated
is used.
"""
import glob
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capio  # noqa: E402
from capio import Frame  # noqa: E402

MAX_FILE = 60 * 1024

# --- pipeline input format (crates/track/src/fuzzing.rs) -------------------
FLAG_CHECKSUMS, FLAG_TWICE, FLAG_TIGHT, FLAG_SHORT, FLAG_NO_LOCAL = 0x08, 0x10, 0x20, 0x40, 0x80
MODES = {1: 0, 101: 1, 0: 2, 113: 3, 127: 4, 276: 5, 108: 6}
MIXED = 7
MIXED_LINKS = [0, 1, 9, 12, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276, 65000]


def time_step(c):
    if c <= 63:
        return c * 1_000_123
    if c <= 127:
        return (c - 64) * 250_000_000
    if c <= 191:
        return (c - 128) * 10 * 10**9
    if c <= 247:
        return (c - 192) * 600 * 10**9
    if c <= 254:
        return (c - 247) * 86_400 * 10**9
    return -1_500_000_000


def time_code(ns):
    if ns <= -10**9:
        return 255
    best = 0
    for c in range(255):
        if time_step(c) <= ns and time_step(c) >= time_step(best):
            best = c
    return best


def encode_frame(out, tcode, data, wire_len, mixed_link=None):
    n = min(len(data), 0x7FFF)
    missing = max(0, wire_len - n)
    cut = None if missing == 0 else min(255, -(-(missing - 1) // 64))
    out += bytes([(n >> 8) | (0x80 if cut is not None else 0), n & 0xFF, tcode])
    if cut is not None:
        out.append(cut)
    if mixed_link is not None:
        out.append(mixed_link)
    out += data[:n]


def pipeline_input(flags, frames, mixed=False):
    out = bytearray([flags])
    prev = frames[0].ts_ns if frames else 0
    for f in frames:
        ml = MIXED_LINKS.index(f.link) if mixed else None
        encode_frame(out, time_code(f.ts_ns - prev), f.data, f.wire_len, ml)
        prev = f.ts_ns
        if len(out) > MAX_FILE:
            break
    return bytes(out)


# --- link-layer conversions of Ethernet frames ------------------------------
def ip_of_ethernet(f):
    """(ethertype, IP bytes) of a plain Ethernet IPv4/IPv6 frame, else None."""
    if f.link != 1 or len(f.data) < 15:
        return None
    et = struct.unpack('>H', f.data[12:14])[0]
    if et not in (0x0800, 0x86DD):
        return None
    return et, f.data[14:]


def relink(f, link):
    p = ip_of_ethernet(f)
    if p is None:
        return None
    et, ip = p
    v6 = et == 0x86DD
    if link == 101:
        hdr = b''
    elif link == 0:
        hdr = struct.pack('<I', 30 if v6 else 2)
    elif link == 108:
        hdr = struct.pack('>I', 30 if v6 else 2)
    elif link == 113:
        hdr = struct.pack('>HHH8sH', 0, 1, 6, f.data[6:12] + b'\0\0', et)
    elif link == 276:
        hdr = struct.pack('>HHIHBB8s', et, 0, 2, 1, 0, 6, f.data[6:12] + b'\0\0')
    elif link == 228 or link == 229:
        hdr = b''
        link = 229 if v6 else 228
    else:
        raise ValueError(link)
    return Frame(f.ts_ns, link, hdr + ip, f.wire_len - 14 + len(hdr), f.ifid)


def name(prefix, data):
    return f'{prefix}-{hashlib.sha1(data).hexdigest()[:12]}'


def put(outdir, fname, data):
    assert len(data) <= 64 * 1024, (fname, len(data))
    with open(os.path.join(outdir, fname), 'wb') as fh:
        fh.write(data)


def trim_capture(raw, fmt, n):
    """The first `n` packets of a capture, every other block kept."""
    if fmt == 'pcap':
        magic = struct.unpack('<I', raw[:4])[0]
        rec = 24 if magic == capio.PCAP_MOD else 16
        off = 24
        for _ in range(n):
            if off + rec > len(raw):
                break
            cap = struct.unpack('<I', raw[off + 8:off + 12])[0]
            off += rec + cap
        return raw[:off]
    out, k = [], 0
    for _, t, _, blk in capio.iter_blocks(raw):
        if t in (capio.EPB, capio.SPB, capio.PB):
            if k == n:
                break
            k += 1
        out.append(blk)
    return b''.join(out)


# wire_all: first payloads of the protocols the service recognisers know
# (crates/wire/src/app), for the protocols the traces do not carry.
APP_SEEDS = {
    'smtp-greeting': b'220 mx.example.com ESMTP Postfix\r\n',
    'smtp-ehlo': b'EHLO client.example.com\r\nSTARTTLS\r\n',
    'imap-greeting': b'* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n',
    'imap-cmd': b'a001 CAPABILITY\r\na002 STARTTLS\r\n',
    'irc-client': b'NICK alice\r\nUSER alice 0 * :Alice\r\n',
    'irc-server': b':irc.example.net NOTICE * :*** Looking up your hostname\r\n',
    'ftp-pasv': b'227 Entering Passive Mode (192,168,1,2,4,1).\r\n',
    'ftp-eprt': b'EPRT |2|2001:db8::1|49189|\r\nPORT 10,0,0,1,200,10\r\n',
    'mysql-greeting': b'\x4a\x00\x00\x00\x0a5.7.33-log\x00\x08\x00\x00\x00abcdefgh\x00',
    'mysql-response': b'\x20\x00\x00\x01\x85\xa6\x03\x00\x00\x00\x00\x01\x21',
    'rdp-cr': b'\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=admin\r\n'
              b'\x01\x00\x08\x00\x01\x00\x00\x00',
    'rdp-cc': b'\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x01\x00\x00\x00',
    'smb2': b'\x00\x00\x00\x66\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00',
    'dce-bind': b'\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00',
    'krb-as-req': b'\x6a\x0e\x30\x0c\xa1\x03\x02\x01\x05\xa2\x03\x02\x01\x0a\xa4\x00',
    'krb-tcp': b'\x00\x00\x00\x10\x6a\x0e\x30\x0c\xa1\x03\x02\x01\x05\xa2\x03\x02\x01\x0a\xa4\x00',
    'snmp-get': b'\x30\x26\x02\x01\x00\x04\x06public\xa0\x19\x02\x01\x01\x02\x01\x00\x02\x01\x00'
                b'\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00',
    'sip-register': b'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n\r\n',
    'quic-initial': b'\xc3\x00\x00\x00\x01\x08' + bytes(range(8)) + b'\x00' * 1200,
    'dtls-hello': b'\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x74'
                  b'\x00\x00\x00\x00\x00\x00\x00\x74\xfe\xfd',
    'ssh1-session-key': b'SSH-1.5-OpenSSH_6.2\n\x00\x00\x01\x14\x00\x00\x00\x00\x03\x03',
    'ssh2-newkeys': b'\x00\x00\x00\x0c\x0a\x15' + b'\x00' * 10,
    'modbus': b'\x00\x01\x00\x00\x00\x06\x0a\x01\x00\x00\x00\x01',
    'ntp': b'\x23' + b'\x00' * 47,
}


def app_seeds(outdir):
    for tag, d in APP_SEEDS.items():
        put(outdir, name('app-' + tag, d), d)


def main():
    outdir = sys.argv[1]
    traces = sys.argv[2:] or sorted(
        glob.glob('/work/shared/conformance/zeek/*/trace.pcap*')
        + glob.glob('/work/shared/traces/generated/*.pcap'))
    dirs = {t: os.path.join(outdir, t) for t in ('wire_all', 'capture_file', 'pipeline')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    app_seeds(dirs['wire_all'])

    for path in traces:
        tag = os.path.basename(os.path.dirname(path)) if path.endswith(('trace.pcap', 'trace.pcapng')) \
            else os.path.splitext(os.path.basename(path))[0]
        raw = open(path, 'rb').read()
        fmt, frames = capio.read_any(path)
        if not frames:
            continue

        # wire_all: distinct frames (at most 300 per trace), and the IP part
        # of Ethernet frames on its own.
        seen = set()
        for f in frames:
            for d in (f.data, (ip_of_ethernet(f) or (0, b''))[1]):
                h = hashlib.sha1(d).digest()
                if d and h not in seen and len(seen) < 300:
                    seen.add(h)
                    put(dirs['wire_all'], name(tag, d), d[:MAX_FILE])

        # capture_file: the first few packets, in the trace's own format.
        for n in (0, 3, 8):
            small = trim_capture(raw, fmt, n)
            if len(small) <= 16 * 1024:
                put(dirs['capture_file'], f'{tag}-first{n}.{fmt}', small)

        # pipeline: head, windows, the whole trace if small, link variants.
        link = frames[0].link
        mode = MODES.get(link, MIXED)
        mixed = mode == MIXED or len({f.link for f in frames}) > 1
        if mixed:
            mode = MIXED
        pk = dict(mixed=mixed)
        seeds = {
            'head': pipeline_input(mode, frames[:16], **pk),
            'head-checksums': pipeline_input(mode | FLAG_CHECKSUMS, frames[:16], **pk),
            'head-twice-short': pipeline_input(mode | FLAG_TWICE | FLAG_SHORT, frames[:16], **pk),
        }
        whole = pipeline_input(mode | FLAG_CHECKSUMS, frames, **pk)
        if len(whole) <= 32 * 1024:
            seeds['whole'] = whole
            seeds['whole-tight-nolocal'] = pipeline_input(
                mode | FLAG_TIGHT | FLAG_NO_LOCAL, frames, **pk)
        for i, start in enumerate(range(16, len(frames), max(16, len(frames) // 4))):
            seeds[f'window{i}'] = pipeline_input(mode, frames[start:start + 24], **pk)
        if link == 1:
            for lt in (101, 0, 113, 276, 108):
                conv = [c for c in (relink(f, lt) for f in frames[:16]) if c]
                if conv:
                    seeds[f'link{lt}'] = pipeline_input(MODES[lt], conv)
            conv = [relink(f, (101, 0, 113, 276, 108, 228)[i % 6]) or f for i, f in enumerate(frames[:16])]
            seeds['mixed'] = pipeline_input(MIXED, conv, mixed=True)
        for k, v in seeds.items():
            put(dirs['pipeline'], f'{tag}-{k}', v)

    capture_variants(dirs['capture_file'])


def mixed_links(frames):
    """The frames as raw IP, null, SLL and SLL2, one interface each."""
    out = []
    for i, (f, lt) in enumerate(zip(frames, (101, 0, 113, 276))):
        r = relink(f, lt)
        if r:
            r.ifid = i
            out.append(r)
    return out


def capture_variants(d):
    """Every container variant the reader supports, from a few real frames."""
    base = {}
    for tag, path in (('tcp', '/work/shared/conformance/zeek/tcp-inactivity-split/trace.pcapng'),
                      ('multi', '/work/shared/conformance/zeek/pcapng-multi-interface/trace.pcapng'),
                      ('trunc', '/work/shared/conformance/zeek/geneve-vxlan-truncated/trace.pcap'),
                      ('radiotap', '/work/shared/conformance/zeek/dns-radiotap/trace.pcap')):
        base[tag] = capio.read_any(path)[1][:4]
    tcp, multi = base['tcp'], base['multi']
    one_if = [Frame(f.ts_ns, f.link, f.data, f.wire_len, 0) for f in multi]
    v = {
        'pcap-ns.pcap': capio.write_pcap(tcp, 1, ns=True),
        'pcap-be.pcap': capio.write_pcap(tcp, 1, be=True),
        'pcap-be-ns.pcap': capio.write_pcap(tcp, 1, ns=True, be=True),
        'pcap-modified.pcap': capio.write_pcap(tcp, 1, modified=True),
        'pcap-snaplen-cut.pcap': capio.write_pcap(base['trunc'], 1, snaplen=96),
        'pcap-radiotap.pcap': capio.write_pcap(base['radiotap'][:1], 127),
        'pcap-wirelen-short.pcap': capio.write_pcap(
            [Frame(f.ts_ns, 1, f.data, len(f.data) // 2) for f in tcp[:2]], 1),
        'pcap-header-only.pcap': capio.write_pcap([], 1),
        'pcap-cut-record.pcap': capio.write_pcap(tcp[:2], 1)[:-7],
        'pcapng-be.pcapng': capio.write_pcapng(multi, [1, 1], be=True, tsresol=[9, 6]),
        'pcapng-spb.pcapng': capio.write_pcapng(one_if, [1], kind='spb'),
        'pcapng-pb.pcapng': capio.write_pcapng(multi, [1, 1], kind='pb'),
        'pcapng-tsresol-pow2.pcapng': capio.write_pcapng(one_if, [1], tsresol=[0x80 | 20]),
        'pcapng-tsresol-ms.pcapng': capio.write_pcapng(one_if, [1], tsresol=[3]),
        'pcapng-tsoffset.pcapng': capio.write_pcapng(one_if, [1], tsoffset=1000),
        'pcapng-unknown-block.pcapng': capio.write_pcapng(one_if, [1], unknown_block=True),
        'pcapng-shb-options.pcapng': capio.write_pcapng(
            one_if, [1], shb_opts=capio.opt(4, b'connwatch') + b'\0\0\0\0'),
        'pcapng-mixed-links.pcapng': capio.write_pcapng(mixed_links(one_if), [101, 0, 113, 276]),
        'pcapng-cut-block.pcapng': capio.write_pcapng(one_if, [1])[:-9],
        'pcapng-shb-only.pcapng': capio.write_pcapng([], []),
        'empty': b'',
        'not-a-capture': b'GET / HTTP/1.1\r\n\r\n',
    }
    two = capio.write_pcapng(one_if[:2], [1])
    v['pcapng-two-sections.pcapng'] = two + capio.write_pcapng(
        [Frame(f.ts_ns, 1, f.data, f.wire_len, 0) for f in tcp[:2]], [1], be=True)
    for k, data in v.items():
        put(d, 'variant-' + k, data)


if __name__ == '__main__':
    main()
