//! Per-flow packet state shared by [`crate::scenario`] and [`crate::bulk`]:
//! the two endpoints of a flow, per-side IPv4 identification counters and,
//! for TCP, both sides' sequence numbers.
//!
//! Sequence rules (lossless, in-order delivery): a SYN carries the side's
//! ISN; anything else carries the side's next sequence number; every ACK
//! acknowledges everything the peer has sent so far. So data, ACKs, FINs
//! and RSTs always agree, which matters because Zeek derives byte counts
//! from sequence numbers.

use crate::packet::{self, tcp_flags, Echo, Ip, IpPair, Link, Tcp};

/// Which end of a flow sends a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The originator (client).
    Orig,
    /// The responder (server).
    Resp,
}

impl Side {
    /// The peer.
    pub const fn other(self) -> Side {
        match self {
            Side::Orig => Side::Resp,
            Side::Resp => Side::Orig,
        }
    }

    const fn idx(self) -> usize {
        self as usize
    }
}

/// The two ends of a flow, as seen in the originator-to-responder direction,
/// plus per-side IPv4 identification counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Link header of originator-to-responder frames.
    pub link: Link,
    /// Originator and responder addresses.
    pub addrs: IpPair,
    /// Originator and responder ports (ignored by ICMP).
    pub ports: [u16; 2],
    /// Next IPv4 identification per side (incremented per packet).
    pub ipid: [u16; 2],
    /// TTL / hop limit per side.
    pub ttl: [u8; 2],
}

impl Endpoints {
    /// Endpoints with the default link, TTL 64 and identification counters
    /// starting at `ipid_seed` (originator) and its bitwise complement.
    pub fn new(addrs: IpPair, orig_port: u16, resp_port: u16, ipid_seed: u16) -> Endpoints {
        Endpoints {
            link: Link::default(),
            addrs,
            ports: [orig_port, resp_port],
            ipid: [ipid_seed, !ipid_seed],
            ttl: [64, 64],
        }
    }

    /// The link header for frames sent by `side`.
    pub fn link_from(&self, side: Side) -> Link {
        match side {
            Side::Orig => self.link,
            Side::Resp => self.link.reversed(),
        }
    }

    /// IP header fields for the next packet sent by `side` (consumes one
    /// identification value). DF is set, as Linux does for TCP and most UDP.
    pub fn next_ip(&mut self, side: Side) -> Ip {
        let i = side.idx();
        let ident = self.ipid[i];
        self.ipid[i] = ident.wrapping_add(1);
        let addrs = match side {
            Side::Orig => self.addrs,
            Side::Resp => self.addrs.reversed(),
        };
        Ip {
            ttl: self.ttl[i],
            ident,
            ..Ip::new(addrs)
        }
    }

    /// Source and destination ports of a packet sent by `side`.
    pub fn ports_from(&self, side: Side) -> (u16, u16) {
        match side {
            Side::Orig => (self.ports[0], self.ports[1]),
            Side::Resp => (self.ports[1], self.ports[0]),
        }
    }

    /// Builds a UDP datagram from `side` into `buf`.
    pub fn udp(&mut self, buf: &mut Vec<u8>, side: Side, payload: &[u8]) {
        let ip = self.next_ip(side);
        let (sp, dp) = self.ports_from(side);
        packet::udp(buf, &self.link_from(side), &ip, sp, dp, payload);
    }

    /// Builds an ICMP echo from `side` into `buf`: a request from the
    /// originator, a reply from the responder.
    pub fn icmp_echo(
        &mut self,
        buf: &mut Vec<u8>,
        side: Side,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) {
        let ip = self.next_ip(side);
        let echo = Echo {
            reply: side == Side::Resp,
            ident,
            seq,
        };
        packet::icmp_echo(buf, &self.link_from(side), &ip, &echo, payload);
    }
}

/// A TCP connection's state: endpoints plus each side's ISN, next sequence
/// number, window and payload byte count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpState {
    /// Addresses, ports, link and IP identification counters.
    pub ends: Endpoints,
    isn: [u32; 2],
    next: [u32; 2],
    /// Advertised receive window per side.
    pub window: [u16; 2],
    payload: [u64; 2],
}

impl TcpState {
    /// A connection whose sides will use these ISNs. Before any SYN the next
    /// sequence numbers are already `isn + 1`, so a conversation picked up
    /// mid-stream (no handshake) is consistent too.
    pub fn new(ends: Endpoints, isn_orig: u32, isn_resp: u32) -> TcpState {
        TcpState {
            ends,
            isn: [isn_orig, isn_resp],
            next: [isn_orig.wrapping_add(1), isn_resp.wrapping_add(1)],
            window: [64_240, 65_160],
            payload: [0, 0],
        }
    }

    /// The initial sequence number of `side`.
    pub fn isn(&self, side: Side) -> u32 {
        self.isn[side.idx()]
    }

    /// The sequence number `side` sends next (what its peer acknowledges).
    pub fn next_seq(&self, side: Side) -> u32 {
        self.next[side.idx()]
    }

    /// Payload bytes `side` has sent (every segment counted once).
    pub fn payload_bytes(&self, side: Side) -> u64 {
        self.payload[side.idx()]
    }

    /// Builds the next segment from `side` into `buf` and advances the state.
    /// A SYN carries the ISN, anything else the next sequence number; the
    /// acknowledgement (sent only with ACK) is the peer's next sequence number.
    /// SYN and FIN each consume one sequence number; sending a SYN again
    /// (a retransmission) reuses the ISN.
    pub fn segment(
        &mut self,
        buf: &mut Vec<u8>,
        side: Side,
        flags: u8,
        payload: &[u8],
        options: &[u8],
    ) {
        let i = side.idx();
        let seq = if flags & tcp_flags::SYN != 0 {
            self.isn[i]
        } else {
            self.next[i]
        };
        self.segment_at(buf, side, seq, flags, payload, options);
        // Sequence space is mod 2^32; a payload is < 2^16 bytes, so the casts are exact.
        let mut end = seq.wrapping_add(payload.len() as u32);
        if flags & tcp_flags::SYN != 0 {
            end = end.wrapping_add(1);
        }
        if flags & tcp_flags::FIN != 0 {
            end = end.wrapping_add(1);
        }
        self.next[i] = end;
        self.payload[i] += payload.len() as u64;
    }

    /// Builds a segment from `side` with an explicit sequence number, without
    /// advancing the state: for a RST answering a SYN (sequence 0),
    /// keep-alives (`next - 1`) or retransmissions.
    pub fn segment_at(
        &mut self,
        buf: &mut Vec<u8>,
        side: Side,
        seq: u32,
        flags: u8,
        payload: &[u8],
        options: &[u8],
    ) {
        let ack = if flags & tcp_flags::ACK != 0 {
            self.next[side.other().idx()]
        } else {
            0
        };
        let ip = self.ends.next_ip(side);
        let (src_port, dst_port) = self.ends.ports_from(side);
        let tcp = Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window: self.window[side.idx()],
            options,
        };
        packet::tcp(buf, &self.ends.link_from(side), &ip, &tcp, payload);
    }
}
