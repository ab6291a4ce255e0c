"""Minimal pcap/pcapng reading and writing for seed generation."""
import struct

PCAP_US, PCAP_NS, PCAP_MOD = 0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34
SHB, IDB, SPB, PB, EPB = 0x0A0D0D0A, 1, 3, 2, 6


class Frame:
    def __init__(self, ts_ns, link, data, wire_len, ifid=0):
        self.ts_ns, self.link, self.data, self.wire_len, self.ifid = ts_ns, link, data, wire_len, ifid


def read_pcap(b):
    magic_le = struct.unpack('<I', b[:4])[0]
    if magic_le in (PCAP_US, PCAP_NS, PCAP_MOD):
        e = '<'
        magic = magic_le
    else:
        e = '>'
        magic = struct.unpack('>I', b[:4])[0]
    _, _, _, _, snap, link = struct.unpack(e + 'HHiIII', b[4:24])
    link &= 0xFFFF
    rec = 24 if magic == PCAP_MOD else 16
    off, out = 24, []
    while off + rec <= len(b):
        s, frac, cap, wl = struct.unpack(e + 'IIII', b[off:off + 16])
        d = b[off + rec: off + rec + cap]
        ns = s * 10**9 + (frac if magic == PCAP_NS else frac * 1000)
        out.append(Frame(ns, link, d, wl))
        off += rec + cap
    return out


def iter_blocks(b):
    """(offset, type, body, raw) of each pcapng block (little-endian only)."""
    off = 0
    while off + 12 <= len(b):
        t, ln = struct.unpack('<II', b[off:off + 8])
        yield off, t, b[off + 8: off + ln - 4], b[off: off + ln]
        off += ln


def read_pcapng(b):
    ifaces, out = [], []
    for _, t, body, _ in iter_blocks(b):
        if t == SHB:
            ifaces = []
        elif t == IDB:
            link = struct.unpack('<H', body[:2])[0]
            res = 6
            o = 8
            while o + 4 <= len(body):
                code, ln = struct.unpack('<HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9:
                    res = body[o + 4]
                o += 4 + ((ln + 3) & ~3)
            ifaces.append((link, res))
        elif t == EPB:
            ifid, hi, lo, cap, wl = struct.unpack('<IIIII', body[:20])
            link, res = ifaces[ifid]
            units = (hi << 32) | lo
            if res & 0x80:
                ns = (units * 10**9) >> (res & 0x7F)
            else:
                ns = units * 10**9 // 10**res
            out.append(Frame(ns, link, body[20:20 + cap], wl, ifid))
    return out


def read_any(path):
    b = open(path, 'rb').read()
    if b[:4] == b'\x0a\x0d\x0d\x0a':
        return 'pcapng', read_pcapng(b)
    return 'pcap', read_pcap(b)


def pad4(x):
    return x + b'\0' * (-len(x) % 4)


def block(t, body, e='<'):
    ln = 12 + len(body)
    return struct.pack(e + 'II', t, ln) + body + struct.pack(e + 'I', ln)


def opt(code, val, e='<'):
    return struct.pack(e + 'HH', code, len(val)) + pad4(val)


def write_pcap(frames, link, ns=False, be=False, modified=False, snaplen=262144):
    e = '>' if be else '<'
    magic = PCAP_MOD if modified else (PCAP_NS if ns else PCAP_US)
    out = [struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, snaplen, link)]
    for f in frames:
        s, frac = divmod(f.ts_ns, 10**9)
        if not ns:
            frac //= 1000
        out.append(struct.pack(e + 'IIII', s, frac, len(f.data), f.wire_len))
        if modified:
            out.append(struct.pack(e + 'IHBB', 0, 0x0800, 0, 0))
        out.append(f.data)
    return b''.join(out)


def write_pcapng(frames, links, be=False, tsresol=None, tsoffset=None, kind='epb',
                 shb_opts=b'', unknown_block=False):
    """`links`: link type per interface; `tsresol`: if_tsresol byte per
    interface (None = default µs); kind: epb, spb (interface 0 only) or pb."""
    e = '>' if be else '<'
    out = [block(SHB, struct.pack(e + 'IHHq', 0x1A2B3C4D, 1, 0, -1) + shb_opts, e)]
    res = []
    for i, link in enumerate(links):
        opts = b''
        r = tsresol[i] if tsresol else None
        if r is not None:
            opts += opt(9, bytes([r]), e)
        if tsoffset is not None:
            opts += opt(14, struct.pack(e + 'q', tsoffset), e)
        if opts:
            opts += struct.pack(e + 'HH', 0, 0)
        out.append(block(IDB, struct.pack(e + 'HHI', link, 0, 0) + opts, e))
        res.append(6 if r is None else r)
    if unknown_block:
        out.append(block(0x0BAD, b'\x01\x02\x03\x04', e))
    for f in frames:
        r = res[f.ifid]
        ns = f.ts_ns - (tsoffset or 0) * 10**9
        units = (ns << (r & 0x7F)) // 10**9 if r & 0x80 else ns * 10**r // 10**9
        if kind == 'spb':
            out.append(block(SPB, struct.pack(e + 'I', f.wire_len) + pad4(f.data), e))
        elif kind == 'pb':
            out.append(block(PB, struct.pack(e + 'HHIIII', f.ifid, 0, units >> 32, units & 0xFFFFFFFF,
                                             len(f.data), f.wire_len) + pad4(f.data), e))
        else:
            out.append(block(EPB, struct.pack(e + 'IIIII', f.ifid, units >> 32, units & 0xFFFFFFFF,
                                              len(f.data), f.wire_len) + pad4(f.data), e))
    return b''.join(out)
