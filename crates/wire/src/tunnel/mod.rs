//! Tunnel encapsulations: GRE (incl. ERSPAN, PPTP), VXLAN, Geneve, Teredo,
//! AYIYA, GTPv1-U. Each decoder returns the encapsulated packet.
//!
//! Decoders see the outer payload as captured (GRE: the IP payload; the
//! others: the UDP payload) and follow the checks of Zeek's analyzers in
//! `src/packet_analysis/protocol/<name>/`. Tunnel state (encapsulation
//! depth, analyzer violations, Teredo/GTP confirmation) is the caller's.
//!
//! Inner IP is classified by its version nibble, as Zeek's IP analyzer does;
//! when the nibble is neither 4 nor 6 the decoder's own hint is used and
//! [`crate::ip::decode`] reports `unknown_ip_version`. Teredo, GTPv1 and
//! PPTP (GRE v1) additionally require the inner IP packet to fill the
//! tunnel payload exactly (Zeek's `IP::ParsePacket`).
//!
//! IP-in-IP (protocols 4/41) needs no decoder: run [`crate::ip::decode`] on
//! the outer payload.

mod ayiya;
mod geneve;
mod gre;
mod gtpv1;
mod teredo;
mod vxlan;

pub use ayiya::{ayiya, ayiya_detect};
pub use geneve::geneve;
pub use gre::gre;
pub use gtpv1::gtpv1;
pub use teredo::{teredo, teredo_detect};
pub use vxlan::vxlan;

use crate::anomaly::Anomaly;
use crate::bytes::{be16, u8_at};

/// The packet a tunnel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// An IPv4 packet.
    Ipv4(&'a [u8]),
    /// An IPv6 packet.
    Ipv6(&'a [u8]),
}

impl<'a> Inner<'a> {
    /// The encapsulated bytes, whatever they are.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            Inner::Ethernet(b) | Inner::Ipv4(b) | Inner::Ipv6(b) => b,
        }
    }
}

/// Which IP version a tunnel announced, used when the nibble is unusable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpHint {
    V4,
    V6,
}

/// IP by version nibble, `hint` otherwise (see the module docs).
#[inline]
pub(crate) fn ip_by_nibble(data: &[u8], hint: IpHint) -> Inner<'_> {
    match u8_at(data, 0).map(|b| b >> 4) {
        Some(4) => Inner::Ipv4(data),
        Some(6) => Inner::Ipv6(data),
        _ if hint == IpHint::V6 => Inner::Ipv6(data),
        _ => Inner::Ipv4(data),
    }
}

/// Zeek's `packet_analysis::IP::ParsePacket`: `data` must be one IP packet
/// of version `want` whose total length is exactly `data.len()`
/// (shorter → `truncated_inner_IP`, longer →
/// `inner_IP_payload_length_mismatch`, wrong version or an IPv4 header that
/// is not there → `invalid_inner_IP_version`).
#[inline]
pub(crate) fn ip_exact(data: &[u8], want: IpHint) -> Result<Inner<'_>, Anomaly> {
    let ver = u8_at(data, 0).map(|b| b >> 4);
    let total = match want {
        IpHint::V6 => {
            if data.len() < 40 {
                return Err(Anomaly::TruncatedInnerIp);
            }
            if ver != Some(6) {
                return Err(Anomaly::InvalidInnerIpVersion);
            }
            usize::from(be16(data, 4).unwrap_or(0)) + 40
        }
        IpHint::V4 => {
            if data.len() < 20 || ver != Some(4) {
                return Err(Anomaly::InvalidInnerIpVersion);
            }
            usize::from(be16(data, 2).unwrap_or(0))
        }
    };
    match data.len().cmp(&total) {
        core::cmp::Ordering::Equal => Ok(if want == IpHint::V6 {
            Inner::Ipv6(data)
        } else {
            Inner::Ipv4(data)
        }),
        core::cmp::Ordering::Less => Err(Anomaly::TruncatedInnerIp),
        core::cmp::Ordering::Greater => Err(Anomaly::InnerIpPayloadLengthMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_inner_ip() {
        let mut v4 = vec![0x45, 0, 0, 20];
        v4.extend_from_slice(&[0; 16]);
        assert_eq!(ip_exact(&v4, IpHint::V4), Ok(Inner::Ipv4(&v4)));
        let mut longer = v4.clone();
        longer.push(0);
        assert_eq!(
            ip_exact(&longer, IpHint::V4),
            Err(Anomaly::InnerIpPayloadLengthMismatch)
        );
        assert_eq!(ip_exact(&v4, IpHint::V6), Err(Anomaly::TruncatedInnerIp));
        v4[3] = 21;
        assert_eq!(ip_exact(&v4, IpHint::V4), Err(Anomaly::TruncatedInnerIp));
    }

    #[test]
    fn rejects_wrong_inner_version() {
        let v6 = [0x45u8; 40];
        assert_eq!(
            ip_exact(&v6, IpHint::V6),
            Err(Anomaly::InvalidInnerIpVersion)
        );
        assert_eq!(ip_by_nibble(&v6, IpHint::V6), Inner::Ipv4(&v6));
        assert_eq!(ip_by_nibble(&[], IpHint::V6), Inner::Ipv6(&[]));
        assert_eq!(Inner::Ipv6(&v6).bytes().len(), 40);
    }
}
