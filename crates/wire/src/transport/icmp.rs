//! ICMPv4 / ICMPv6 header view.

/// An ICMP message (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMessage<'a> {
    /// True for ICMPv6.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum field.
    pub checksum: u16,
    /// Captured bytes after the 8-byte header.
    pub payload: &'a [u8],
}
