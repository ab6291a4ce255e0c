//! IPv4 and IPv6 headers, IPv6 extension headers and fragment information.

use core::net::IpAddr;

/// Fragment information of an IP packet that is a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Identification (IPv4: 16 bits, IPv6: 32 bits).
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// A decoded IPv4 or IPv6 packet (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol: IPv4 protocol, or the IPv6 next header after the
    /// extension headers (for a fragment: the fragment header's next header).
    pub protocol: u8,
    /// Length of the whole packet per its header: IPv4 total length, IPv6
    /// payload length + 40 (extension headers included).
    pub total_len: u32,
    /// Length of the header(s) before the transport data: IPv4 IHL*4, IPv6
    /// 40 + extension headers up to and including a fragment header.
    pub header_len: u32,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Type of service / traffic class.
    pub tos: u8,
    /// Set when this packet is a fragment (offset > 0 or more fragments).
    pub fragment: Option<Fragment>,
    /// IPv4 header checksum verified (always true for IPv6).
    pub header_checksum_ok: bool,
    /// The captured header bytes (`header_len` or fewer).
    pub header: &'a [u8],
    /// The captured transport bytes: at most `total_len - header_len`,
    /// fewer when the capture was cut short.
    pub payload: &'a [u8],
}

impl IpPacket<'_> {
    /// Length of the transport data according to the IP header.
    pub fn payload_len(&self) -> u32 {
        self.total_len.saturating_sub(self.header_len)
    }

    /// True when all transport bytes were captured.
    pub fn payload_complete(&self) -> bool {
        self.payload.len() as u64 >= u64::from(self.payload_len())
    }
}
