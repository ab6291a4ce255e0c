//! UDP header view.

/// A UDP datagram (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The header's length field (header + payload).
    pub length: u16,
    /// The header's checksum field.
    pub checksum: u16,
    /// Captured payload bytes after the 8-byte header, clipped to the IP
    /// payload length.
    pub payload: &'a [u8],
}
