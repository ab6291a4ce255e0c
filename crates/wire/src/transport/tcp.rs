//! TCP header view.
//!
//! Checks follow Zeek (`IPBasedAnalyzer::CheckHeaderTrunc`, then
//! `TCPAnalyzer::ExtractTCP_Header`): fewer than 20 bytes → no connection;
//! a data offset below 5 (`bad_TCP_header_len`) or beyond the IP payload or
//! the captured bytes ([`Anomaly::TcpHeaderTruncated`], weird
//! `truncated_header`) → Zeek has already looked up/created the connection
//! but ignores the packet.

use super::{check_header_trunc, clip};
use crate::anomaly::Anomaly;

/// TCP control flags (the low 8 bits of the flags field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
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

    /// FIN set.
    #[inline]
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    /// SYN set.
    #[inline]
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    /// RST set.
    #[inline]
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    /// ACK set.
    #[inline]
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    /// PSH set.
    #[inline]
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
    /// URG set.
    #[inline]
    pub fn urg(self) -> bool {
        self.0 & Self::URG != 0
    }
}

/// A TCP segment (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Advertised window (unscaled).
    pub window: u16,
    /// Header length in bytes (data offset * 4).
    pub header_len: u32,
    /// Payload length according to the IP header.
    pub payload_len: u32,
    /// Captured payload bytes (at most `payload_len`).
    pub payload: &'a [u8],
}

/// Decodes the TCP header at the start of `payload` (the IP payload as
/// captured); `payload_len` is [`IpPacket::payload_len`](crate::IpPacket::payload_len).
#[inline]
pub fn decode(payload: &[u8], payload_len: u32) -> Result<TcpSegment<'_>, Anomaly> {
    check_header_trunc(payload, payload_len, 20)?;
    let [sp0, sp1, dp0, dp1, s0, s1, s2, s3, a0, a1, a2, a3, off, flags, w0, w1, ..] = *payload
    else {
        return Err(Anomaly::InternallyTruncatedHeader);
    };
    let header_len = u32::from(off >> 4) * 4;
    if header_len < 20 {
        return Err(Anomaly::BadTcpHeaderLen);
    }
    if header_len > payload_len || header_len as usize > payload.len() {
        return Err(Anomaly::TcpHeaderTruncated);
    }
    let data = clip(payload, payload_len)
        .get(header_len as usize..)
        .unwrap_or(&[]);
    Ok(TcpSegment {
        src_port: u16::from_be_bytes([sp0, sp1]),
        dst_port: u16::from_be_bytes([dp0, dp1]),
        seq: u32::from_be_bytes([s0, s1, s2, s3]),
        ack: u32::from_be_bytes([a0, a1, a2, a3]),
        flags: TcpFlags(flags),
        window: u16::from_be_bytes([w0, w1]),
        header_len,
        payload_len: payload_len - header_len,
        payload: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // SYN from tcp-missing-syn-flip style capture: 1024 -> 80, seq 0x11223344,
    // data offset 6 (one MSS option), window 65535.
    const SYN: &[u8] = &[
        0x04, 0x00, 0x00, 0x50, // ports
        0x11, 0x22, 0x33, 0x44, // seq
        0x00, 0x00, 0x00, 0x00, // ack
        0x60, 0x02, 0xff, 0xff, // offset 6, SYN, window
        0x00, 0x00, 0x00, 0x00, // checksum, urgent
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
    ];

    #[test]
    fn parses_syn() {
        let t = decode(SYN, 24).unwrap();
        assert_eq!(t.src_port, 1024);
        assert_eq!(t.dst_port, 80);
        assert_eq!(t.seq, 0x11223344);
        assert!(t.flags.syn() && !t.flags.ack());
        assert_eq!(t.header_len, 24);
        assert_eq!(t.payload_len, 0);
        assert!(t.payload.is_empty());
        assert_eq!(t.window, 0xffff);
    }

    #[test]
    fn parses_payload_clipped_to_ip_length() {
        let mut b = SYN.to_vec();
        b.extend_from_slice(b"hello\0\0\0"); // 3 bytes of padding past IP length
        let t = decode(&b, 29).unwrap();
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.payload_len, 5);
        // Snaplen cut: payload_len stays, payload shorter.
        let t = decode(&b[..26], 29).unwrap();
        assert_eq!(t.payload, b"he");
        assert_eq!(t.payload_len, 5);
    }

    #[test]
    fn rejects_bad_data_offset() {
        let mut b = SYN.to_vec();
        b[12] = 0x40;
        assert_eq!(decode(&b, 24), Err(Anomaly::BadTcpHeaderLen));
        b[12] = 0xf0;
        assert_eq!(decode(&b, 24), Err(Anomaly::TcpHeaderTruncated));
        b[12] = 0x60;
        assert_eq!(decode(&b, 22), Err(Anomaly::TcpHeaderTruncated));
    }

    #[test]
    fn truncated_header() {
        assert_eq!(decode(&SYN[..19], 19), Err(Anomaly::TruncatedHeader));
        assert_eq!(
            decode(&SYN[..19], 24),
            Err(Anomaly::InternallyTruncatedHeader)
        );
        assert_eq!(decode(&SYN[..22], 24), Err(Anomaly::TcpHeaderTruncated));
        assert_eq!(decode(&[], 0), Err(Anomaly::InternallyTruncatedHeader));
    }
}
