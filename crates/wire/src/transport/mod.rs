//! Transport headers: TCP, UDP, ICMPv4/ICMPv6.
//!
//! Each decoder takes the IP payload (`IpPacket::payload`, captured bytes)
//! and, where it matters, the payload length from the IP header, and applies
//! Zeek's `CheckHeaderTrunc` rule: an IP payload shorter than the minimum
//! header is `truncated_header`, a complete packet whose header was not
//! captured is `internally_truncated_header`. Either way Zeek creates no
//! connection.

pub mod icmp;
pub mod tcp;
pub mod udp;

use crate::anomaly::Anomaly;

/// Zeek's `IPBasedAnalyzer::CheckHeaderTrunc` for a transport header of
/// `min` bytes. A `payload_len` of 0 (TSO) skips the first check, as Zeek
/// does.
#[inline(always)]
pub(crate) fn check_header_trunc(
    payload: &[u8],
    payload_len: u32,
    min: u32,
) -> Result<(), Anomaly> {
    if payload_len != 0 && payload_len < min {
        Err(Anomaly::TruncatedHeader)
    } else if (payload.len() as u64) < u64::from(min) {
        Err(Anomaly::InternallyTruncatedHeader)
    } else {
        Ok(())
    }
}

/// `payload` clipped to `len` bytes (all of it when shorter).
#[inline(always)]
pub(crate) fn clip(payload: &[u8], len: u32) -> &[u8] {
    let n = usize::try_from(len).unwrap_or(usize::MAX);
    payload.get(..n).unwrap_or(payload)
}
