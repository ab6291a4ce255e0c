//! Test support: an independent, deliberately naive frame decoder that also
//! verifies lengths and checksums (16-bit words summed one by one, written
//! without the library's code), and a pcap reader built on `pcap-parser`.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

/// What the decoder found in a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub vlan: Option<u16>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub ident: u16,
    pub dont_fragment: bool,
    pub tos: u8,
    /// IPv4 fragment offset or more-fragments set: no transport decoded.
    pub fragment: bool,
    pub proto: u8,
    pub l4: L4,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: Vec<u8>,
        payload: Vec<u8>,
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: Vec<u8>,
    },
    Icmp {
        kind: u8,
        code: u8,
        rest: [u8; 4],
        payload: Vec<u8>,
    },
    Other(Vec<u8>),
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One's-complement sum of 16-bit words, one word at a time.
fn naive_sum(parts: &[&[u8]]) -> u16 {
    let mut bytes = Vec::new();
    for p in parts {
        bytes.extend_from_slice(p);
    }
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = 0;
    for w in bytes.chunks(2) {
        sum += u32::from(w[0]) * 256 + u32::from(w[1]);
        if sum > 0xffff {
            sum -= 0xffff;
        }
    }
    sum as u16
}

/// Decodes an Ethernet frame and checks every length and checksum in it.
pub fn decode(frame: &[u8]) -> Result<Decoded, String> {
    if frame.len() < 14 {
        return Err("short ethernet".into());
    }
    let mut at = 12;
    let mut ethertype = be16(frame, at);
    let mut vlan = None;
    if ethertype == 0x8100 {
        vlan = Some(be16(frame, 14) & 0x0fff);
        at += 4;
        ethertype = be16(frame, at);
    }
    let ip = &frame[at + 2..];
    let (src, dst, ttl, ident, df, tos, fragment, proto, l4, pseudo): (
        IpAddr,
        IpAddr,
        _,
        _,
        _,
        _,
        _,
        _,
        &[u8],
        Vec<u8>,
    ) = match ethertype {
        0x0800 => {
            if ip[0] != 0x45 {
                return Err(format!("unexpected IPv4 version/IHL {:#x}", ip[0]));
            }
            let total = usize::from(be16(ip, 2));
            if total != ip.len() {
                return Err(format!(
                    "IPv4 total length {total} but {} bytes follow",
                    ip.len()
                ));
            }
            if naive_sum(&[&ip[..20]]) != 0xffff {
                return Err("bad IPv4 header checksum".into());
            }
            let flags = be16(ip, 6);
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            let l4 = &ip[20..];
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&ip[12..20]);
            pseudo.extend_from_slice(&[0, ip[9]]);
            pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            (
                src.into(),
                dst.into(),
                ip[8],
                be16(ip, 4),
                flags & 0x4000 != 0,
                ip[1],
                flags & 0x3fff != 0,
                ip[9],
                l4,
                pseudo,
            )
        }
        0x86dd => {
            if ip[0] >> 4 != 6 {
                return Err("bad IPv6 version".into());
            }
            let plen = usize::from(be16(ip, 4));
            if plen + 40 != ip.len() {
                return Err(format!(
                    "IPv6 payload length {plen} but {} bytes follow",
                    ip.len() - 40
                ));
            }
            let mut s = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&ip[24..40]);
            let l4 = &ip[40..];
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&ip[8..40]);
            pseudo.extend_from_slice(&(l4.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, ip[6]]);
            let tclass = ((be16(ip, 0) >> 4) & 0xff) as u8;
            (
                Ipv6Addr::from(s).into(),
                Ipv6Addr::from(d).into(),
                ip[7],
                0,
                false,
                tclass,
                false,
                ip[6],
                l4,
                pseudo,
            )
        }
        other => return Err(format!("unexpected ethertype {other:#x}")),
    };
    let l4_decoded = if fragment {
        L4::Other(l4.to_vec())
    } else {
        match proto {
            6 => {
                let off = usize::from(l4[12] >> 4) * 4;
                if off < 20 || off > l4.len() {
                    return Err(format!("bad TCP data offset {off}"));
                }
                if naive_sum(&[&pseudo, l4]) != 0xffff {
                    return Err("bad TCP checksum".into());
                }
                L4::Tcp {
                    sport: be16(l4, 0),
                    dport: be16(l4, 2),
                    seq: be32(l4, 4),
                    ack: be32(l4, 8),
                    flags: l4[13],
                    window: be16(l4, 14),
                    options: l4[20..off].to_vec(),
                    payload: l4[off..].to_vec(),
                }
            }
            17 => {
                let len = usize::from(be16(l4, 4));
                if len != l4.len() {
                    return Err(format!("UDP length {len} but {} bytes", l4.len()));
                }
                let stored = be16(l4, 6);
                if stored == 0 {
                    return Err("UDP checksum absent".into());
                }
                if naive_sum(&[&pseudo, l4]) != 0xffff {
                    return Err("bad UDP checksum".into());
                }
                L4::Udp {
                    sport: be16(l4, 0),
                    dport: be16(l4, 2),
                    payload: l4[8..].to_vec(),
                }
            }
            1 | 58 => {
                let ok = if proto == 1 {
                    naive_sum(&[l4]) == 0xffff
                } else {
                    naive_sum(&[&pseudo, l4]) == 0xffff
                };
                if !ok {
                    return Err("bad ICMP checksum".into());
                }
                L4::Icmp {
                    kind: l4[0],
                    code: l4[1],
                    rest: [l4[4], l4[5], l4[6], l4[7]],
                    payload: l4[8..].to_vec(),
                }
            }
            _ => L4::Other(l4.to_vec()),
        }
    };
    Ok(Decoded {
        vlan,
        src,
        dst,
        ttl,
        ident,
        dont_fragment: df,
        tos,
        fragment,
        proto,
        l4: l4_decoded,
    })
}

/// A packet read back from a pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Nanoseconds since the epoch (as precise as the file).
    pub ts: i64,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// Reads a classic pcap (any byte order or precision) with `pcap-parser`.
pub fn read_pcap_bytes(bytes: &[u8]) -> (u32, Vec<Record>) {
    let mut reader = LegacyPcapReader::new(65536, bytes).expect("pcap header");
    let mut out = Vec::new();
    let mut nanos = false;
    let mut linktype = 0;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        nanos = h.is_nanosecond_precision();
                        linktype = h.network.0 as u32;
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = i64::from(b.ts_usec) * if nanos { 1 } else { 1000 };
                        out.push(Record {
                            ts: i64::from(b.ts_sec) * 1_000_000_000 + frac,
                            data: b.data.to_vec(),
                            orig_len: b.origlen,
                        });
                    }
                    PcapBlockOwned::NG(_) => panic!("not a classic pcap"),
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().expect("refill"),
            Err(e) => panic!("pcap parse error: {e:?}"),
        }
    }
    (linktype, out)
}

pub fn read_pcap(path: &Path) -> (u32, Vec<Record>) {
    read_pcap_bytes(&std::fs::read(path).expect("read pcap"))
}

/// The shared reference traces, if this checkout has them beside it.
pub fn shared_trace(name: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/traces/generated")
        .join(name);
    p.exists().then_some(p)
}

/// Follows many TCP flows packet by packet and checks that each sequence and
/// acknowledgement number matches what the flow's sides sent before
/// (lossless, in-order model; a RST with sequence 0 may answer a SYN).
#[derive(Default)]
pub struct TcpChecker {
    /// Per flow (keyed by its originator endpoint first): next sequence
    /// number of originator and responder, once known.
    flows: std::collections::HashMap<(IpAddr, u16, IpAddr, u16), [Option<u32>; 2]>,
}

impl TcpChecker {
    pub fn packet(&mut self, d: &Decoded) -> Result<(), String> {
        let L4::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            ref payload,
            ..
        } = d.l4
        else {
            return Ok(());
        };
        let fwd = (d.src, sport, d.dst, dport);
        let rev = (d.dst, dport, d.src, sport);
        let (key, me) = if self.flows.contains_key(&rev) {
            (rev, 1)
        } else {
            (fwd, 0)
        };
        let next = self.flows.entry(key).or_insert([None, None]);
        let peer = 1 - me;
        let (syn, fin, rst, ackf) = (
            flags & 2 != 0,
            flags & 1 != 0,
            flags & 4 != 0,
            flags & 16 != 0,
        );
        if rst && seq == 0 && next[me].is_none() {
            if ackf && Some(ack) != next[peer] {
                return Err(format!("refusal acks {ack}, want {:?}", next[peer]));
            }
            return Ok(());
        }
        if syn {
            if let Some(n) = next[me] {
                if n != seq.wrapping_add(1) {
                    return Err(format!("SYN seq {seq} after next {n}"));
                }
            }
        } else if let Some(n) = next[me] {
            if seq != n {
                return Err(format!("seq {seq}, want {n} ({d:?})"));
            }
        }
        if ackf {
            if let Some(n) = next[peer] {
                if ack != n {
                    return Err(format!("ack {ack}, want {n}"));
                }
            }
        }
        let end = seq
            .wrapping_add(payload.len() as u32)
            .wrapping_add(u32::from(syn) + u32::from(fin));
        next[me] = Some(end);
        Ok(())
    }

    pub fn flows(&self) -> usize {
        self.flows.len()
    }
}

/// The flow a packet belongs to, the same in both directions.
pub fn flow_key(d: &Decoded) -> (u8, (IpAddr, u16), (IpAddr, u16)) {
    let (sp, dp) = match d.l4 {
        L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport, .. } => (sport, dport),
        L4::Icmp { rest, .. } => (u16::from_be_bytes([rest[0], rest[1]]), 0),
        L4::Other(_) => (0, 0),
    };
    let (a, b) = ((d.src, sp), (d.dst, dp));
    (d.proto, a.min(b), a.max(b))
}
