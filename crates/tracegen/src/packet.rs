//! Frame builders: Ethernet (optionally 802.1Q-tagged), IPv4/IPv6 and TCP,
//! UDP or ICMP echo, with correct lengths and checksums.
//!
//! Each builder clears the caller's `Vec<u8>` and writes one whole frame into
//! it, so a hot loop reuses one allocation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType (TPID) of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;

/// IP protocol numbers used here.
pub mod proto {
    /// ICMP (IPv4).
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// Ethernet header of a frame: addresses and an optional 802.1Q VLAN id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Source MAC address.
    pub src: [u8; 6],
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// VLAN id (low 12 bits used) of an 802.1Q tag, if any.
    pub vlan: Option<u16>,
}

impl Default for Link {
    /// Locally administered `02:00:00:00:00:01` to `02:00:00:00:00:02`, untagged.
    fn default() -> Self {
        Link {
            src: [2, 0, 0, 0, 0, 1],
            dst: [2, 0, 0, 0, 0, 2],
            vlan: None,
        }
    }
}

impl Link {
    /// The same link seen in the other direction.
    pub const fn reversed(&self) -> Link {
        Link {
            src: self.dst,
            dst: self.src,
            vlan: self.vlan,
        }
    }
}

/// Source and destination addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpPair {
    /// IPv4 source and destination.
    V4(Ipv4Addr, Ipv4Addr),
    /// IPv6 source and destination.
    V6(Ipv6Addr, Ipv6Addr),
}

impl IpPair {
    /// Pairs two addresses; `None` if their families differ.
    pub fn new(src: IpAddr, dst: IpAddr) -> Option<IpPair> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Some(IpPair::V4(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d)) => Some(IpPair::V6(s, d)),
            _ => None,
        }
    }

    /// Destination and source swapped.
    pub const fn reversed(&self) -> IpPair {
        match *self {
            IpPair::V4(s, d) => IpPair::V4(d, s),
            IpPair::V6(s, d) => IpPair::V6(d, s),
        }
    }

    /// Whether this is an IPv6 pair.
    pub const fn is_v6(&self) -> bool {
        matches!(self, IpPair::V6(..))
    }
}

/// IP header fields. IPv6 uses `ttl` as hop limit and `tos` as traffic class,
/// and has no identification or DF bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip {
    /// Addresses.
    pub addrs: IpPair,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IPv4 identification.
    pub ident: u16,
    /// IPv4 don't-fragment bit.
    pub dont_fragment: bool,
    /// IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
}

impl Ip {
    /// TTL 64, identification 0, DF set, TOS 0.
    pub const fn new(addrs: IpPair) -> Ip {
        Ip {
            addrs,
            ttl: 64,
            ident: 0,
            dont_fragment: true,
            tos: 0,
        }
    }
}

/// TCP header fields (offset, checksum and urgent pointer are computed/zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (sent whatever the ACK flag says).
    pub ack: u32,
    /// Flags, see [`tcp_flags`].
    pub flags: u8,
    /// Receive window.
    pub window: u16,
    /// Raw options, at most 40 bytes; padded with zeros (end of options) to a
    /// multiple of four.
    pub options: &'a [u8],
}

/// An ICMP echo request or reply (ICMPv4 types 8/0, ICMPv6 types 128/129).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    /// Reply (true) or request.
    pub reply: bool,
    /// Identifier.
    pub ident: u16,
    /// Sequence number.
    pub seq: u16,
}

/// Largest transport length an IP header can describe here (IPv4 total
/// length minus its 20-byte header; IPv6 payload length without jumbograms).
fn max_l4(addrs: &IpPair) -> usize {
    match addrs {
        IpPair::V4(..) => 65_535 - 20,
        IpPair::V6(..) => 65_535,
    }
}

/// Writes the Ethernet header (and tag). Returns nothing: the IP header
/// starts at `buf.len()` afterwards.
fn ethernet(buf: &mut Vec<u8>, link: &Link, ethertype: u16) {
    buf.clear();
    buf.extend_from_slice(&link.dst);
    buf.extend_from_slice(&link.src);
    if let Some(vlan) = link.vlan {
        buf.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        buf.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    }
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

/// Writes Ethernet + IP headers for a transport of `l4_len` bytes. Returns the
/// pseudo-header sum for `protocol` (unused by ICMPv4).
///
/// # Panics
/// If `l4_len` exceeds what the IP length field can carry: a caller bug.
fn l2_l3(buf: &mut Vec<u8>, link: &Link, ip: &Ip, protocol: u8, l4_len: usize) -> u64 {
    assert!(
        l4_len <= max_l4(&ip.addrs),
        "transport of {l4_len} bytes does not fit in one IP packet"
    );
    match ip.addrs {
        IpPair::V4(src, dst) => {
            ethernet(buf, link, ETHERTYPE_IPV4);
            let start = buf.len();
            let total = (20 + l4_len) as u16; // fits: asserted above
            let frag: u16 = if ip.dont_fragment { 0x4000 } else { 0 };
            buf.extend_from_slice(&[0x45, ip.tos]);
            buf.extend_from_slice(&total.to_be_bytes());
            buf.extend_from_slice(&ip.ident.to_be_bytes());
            buf.extend_from_slice(&frag.to_be_bytes());
            buf.extend_from_slice(&[ip.ttl, protocol, 0, 0]);
            buf.extend_from_slice(&src.octets());
            buf.extend_from_slice(&dst.octets());
            let sum = checksum::checksum(&buf[start..]);
            buf[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
            checksum::pseudo_v4(src, dst, protocol, l4_len)
        }
        IpPair::V6(src, dst) => {
            ethernet(buf, link, ETHERTYPE_IPV6);
            let first = 0x6000_0000u32 | (u32::from(ip.tos) << 20);
            buf.extend_from_slice(&first.to_be_bytes());
            buf.extend_from_slice(&(l4_len as u16).to_be_bytes()); // fits: asserted
            buf.extend_from_slice(&[protocol, ip.ttl]);
            buf.extend_from_slice(&src.octets());
            buf.extend_from_slice(&dst.octets());
            checksum::pseudo_v6(src, dst, protocol, l4_len)
        }
    }
}

/// Stores the checksum of `buf[l4..]` plus `pseudo` at `buf[l4 + at..]`.
/// `zero_is_ffff`: UDP sends a computed zero as `ffff` (zero means "none").
fn fill_l4_checksum(buf: &mut [u8], l4: usize, at: usize, pseudo: u64, zero_is_ffff: bool) {
    let mut sum = checksum::finish(checksum::add(pseudo, &buf[l4..]));
    if sum == 0 && zero_is_ffff {
        sum = 0xffff;
    }
    buf[l4 + at..l4 + at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// Builds an Ethernet/IP/TCP frame into `buf`.
///
/// # Panics
/// If `tcp.options` is longer than 40 bytes or the segment does not fit in
/// one IP packet: caller bugs, like an out-of-range slice index.
pub fn tcp(buf: &mut Vec<u8>, link: &Link, ip: &Ip, tcp: &Tcp<'_>, payload: &[u8]) {
    assert!(tcp.options.len() <= 40, "TCP options exceed 40 bytes");
    let opt_len = tcp.options.len().div_ceil(4) * 4;
    let hdr_len = 20 + opt_len;
    let pseudo = l2_l3(buf, link, ip, proto::TCP, hdr_len + payload.len());
    let l4 = buf.len();
    buf.extend_from_slice(&tcp.src_port.to_be_bytes());
    buf.extend_from_slice(&tcp.dst_port.to_be_bytes());
    buf.extend_from_slice(&tcp.seq.to_be_bytes());
    buf.extend_from_slice(&tcp.ack.to_be_bytes());
    buf.extend_from_slice(&[((hdr_len / 4) as u8) << 4, tcp.flags]);
    buf.extend_from_slice(&tcp.window.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    buf.extend_from_slice(tcp.options);
    buf.resize(l4 + hdr_len, 0);
    buf.extend_from_slice(payload);
    fill_l4_checksum(buf, l4, 16, pseudo, false);
}

/// Builds an Ethernet/IP/UDP frame into `buf`.
///
/// # Panics
/// If the datagram does not fit in one IP packet (a caller bug).
pub fn udp(buf: &mut Vec<u8>, link: &Link, ip: &Ip, src_port: u16, dst_port: u16, payload: &[u8]) {
    let len = 8 + payload.len();
    let pseudo = l2_l3(buf, link, ip, proto::UDP, len);
    let l4 = buf.len();
    buf.extend_from_slice(&src_port.to_be_bytes());
    buf.extend_from_slice(&dst_port.to_be_bytes());
    // An IPv6 UDP length of 65,535 + 8 would not fit; l2_l3 rejected it.
    buf.extend_from_slice(&(len as u16).to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(payload);
    fill_l4_checksum(buf, l4, 6, pseudo, true);
}

/// Builds an ICMP (IPv4) or ICMPv6 (IPv6) echo request/reply frame into `buf`.
///
/// # Panics
/// If the message does not fit in one IP packet (a caller bug).
pub fn icmp_echo(buf: &mut Vec<u8>, link: &Link, ip: &Ip, echo: &Echo, payload: &[u8]) {
    let (protocol, kind) = match (ip.addrs.is_v6(), echo.reply) {
        (false, false) => (proto::ICMP, 8),
        (false, true) => (proto::ICMP, 0),
        (true, false) => (proto::ICMPV6, 128),
        (true, true) => (proto::ICMPV6, 129),
    };
    let pseudo = l2_l3(buf, link, ip, protocol, 8 + payload.len());
    let l4 = buf.len();
    buf.extend_from_slice(&[kind, 0, 0, 0]);
    buf.extend_from_slice(&echo.ident.to_be_bytes());
    buf.extend_from_slice(&echo.seq.to_be_bytes());
    buf.extend_from_slice(payload);
    // ICMPv4 covers the message only; ICMPv6 adds the pseudo-header.
    let pseudo = if ip.addrs.is_v6() { pseudo } else { 0 };
    fill_l4_checksum(buf, l4, 2, pseudo, false);
}

/// Builds an Ethernet/IP frame around an arbitrary transport `body`, written
/// as given (no checksum is computed): for odd or deliberately broken packets.
///
/// # Panics
/// If `body` does not fit in one IP packet (a caller bug).
pub fn ip_raw(buf: &mut Vec<u8>, link: &Link, ip: &Ip, protocol: u8, body: &[u8]) {
    l2_l3(buf, link, ip, protocol, body.len());
    buf.extend_from_slice(body);
}

/// Deterministic, printable filler for payloads of a given size: a repeating
/// line of text, so dissectors see plain data instead of random protocol bytes.
pub fn filler(len: usize) -> &'static [u8] {
    &FILLER[..len.min(FILLER.len())]
}

/// Longest payload [`filler`] returns whole.
pub const FILLER_LEN: usize = 65_535;

static FILLER: [u8; FILLER_LEN] = {
    const LINE: &[u8] = b"connwatch tracegen filler, the quick brown fox jumps over it.\r\n";
    let mut out = [0u8; FILLER_LEN];
    let mut i = 0;
    while i < FILLER_LEN {
        out[i] = LINE[i % LINE.len()];
        i += 1;
    }
    out
};
