//! Tunnel encapsulations: GRE (incl. ERSPAN, PPTP), VXLAN, Geneve, Teredo,
//! AYIYA, GTPv1-U. Each decoder returns the encapsulated packet.

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
