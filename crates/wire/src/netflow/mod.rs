//! NetFlow v5, v9 and IPFIX export messages: flow records in, datagrams
//! out (shared/spec/netflow-ipfix.md §4).
//!
//! [`FlowEncoder`] packs [`FlowRecord`]s into datagrams of at most the
//! configured size and hands each finished datagram to a callback; it does
//! no I/O and reads no clock (the caller passes the export time, network
//! time when reading a trace). It keeps what an exporter must keep between
//! messages: sequence numbers, the exporter's start time (v5/v9
//! `sysUptime`), and when templates were last sent.
//!
//! Fixed templates ([`template`]): IPv4 and IPv6, each unidirectional or,
//! for IPFIX, an RFC 5103 biflow with reverse information elements. Times
//! are absolute milliseconds (IE 152/153) in v9 and IPFIX, which nfdump and
//! tshark decode exactly; v5 uses `sysUptime`-relative times as it must.

mod decoder;
mod encoder;
pub mod template;

pub use decoder::{CollectedFlow, DecodeError, DecodeStats, DecoderLimits, FlowDecoder};
pub use encoder::{EncodeStats, FlowEncoder, Version};

use core::net::IpAddr;

use crate::Timestamp;

/// Why a flow record was exported (IPFIX `flowEndReason`, IE 136).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EndReason {
    /// No packet for the inactive timeout.
    Idle = 1,
    /// The active timeout cut a long flow; more records follow.
    Active = 2,
    /// The end was seen (TCP FIN or RST).
    EndOfFlow = 3,
    /// Forced end: end of input, or shutdown.
    Forced = 4,
    /// Lack of resources: evicted from a full table.
    LackOfResources = 5,
}

/// Per-direction counters and attributes of one flow record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSide {
    /// Packets since the previous record of this flow.
    pub packets: u64,
    /// IP bytes (header and payload) since the previous record.
    pub octets: u64,
    /// First packet of this record.
    pub start: Timestamp,
    /// Last packet of this record.
    pub end: Timestamp,
    /// OR of the TCP flags seen.
    pub tcp_flags: u8,
    /// IP type of service of the first packet.
    pub tos: u8,
    /// ICMP type · 256 + code of the first packet (0 for other protocols).
    pub icmp_type_code: u16,
}

/// One flow record: a direction from `src` to `dst`, and for biflows the
/// reverse direction (RFC 5103, source = the connection's originator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// Source address (the originator for biflows).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 for ICMP).
    pub src_port: u16,
    /// Destination port (ICMP: type · 256 + code).
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Outer VLAN, where known.
    pub vlan: Option<u16>,
    /// Ties the records of one flow together (IE 148).
    pub flow_id: u64,
    /// Why it was exported.
    pub reason: EndReason,
    /// The forward direction.
    pub forward: FlowSide,
    /// The reverse direction (biflow records only).
    pub reverse: Option<FlowSide>,
}

impl FlowRecord {
    /// True for IPv6 flows.
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }
}
