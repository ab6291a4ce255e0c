//! `connwatch-wire`: what the bytes of a captured frame mean.
//!
//! Lenient, zero-copy views over untrusted bytes: link layers, IPv4/IPv6,
//! TCP/UDP/ICMP and tunnel encapsulations. Nothing here allocates, reads the
//! clock, does I/O or keeps state between packets; that is `connwatch-track`'s
//! job. Every decoder takes a byte slice and returns either a view or an
//! [`Anomaly`] named after Zeek's weird; no input makes it panic.
//!
//! Lenient means a passive sensor's rules, not a stack's: a truncated
//! payload is reported (the view says how much was captured and how much
//! was on the wire), not dropped.

pub mod anomaly;
pub mod app;
mod bytes;
pub mod checksum;
pub mod fuzzing;
pub mod ip;
pub mod link;
pub mod netflow;
pub mod time;
pub mod transport;
pub mod tunnel;

pub use anomaly::Anomaly;
pub use fuzzing::fuzz_all;
pub use ip::{DecodeOptions, Fragment, IpPacket};
pub use link::{LinkLayer, LinkType, Network};
pub use time::{Duration, Timestamp};
pub use transport::icmp::IcmpMessage;
pub use transport::tcp::{TcpFlags, TcpSegment};
pub use transport::udp::UdpDatagram;
pub use tunnel::Inner;

/// One captured frame as a source lends it out.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time (network time).
    pub ts: Timestamp,
    /// The frame's link type (pcap DLT / LINKTYPE value).
    pub link: LinkType,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
    /// Length of the frame on the wire (pcap `orig_len`).
    pub wire_len: u32,
    /// Capture interface (pcapng interface id; 0 for pcap).
    pub interface: u32,
}
