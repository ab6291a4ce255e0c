//! Link layers: peel everything below IP and say where IP starts.
//!
//! Covers Ethernet (incl. 802.3/LLC/SNAP), 802.1Q/802.1ad/0x9100 VLAN tags
//! (any number, first two recorded), MPLS label stacks, PPPoE sessions,
//! PBB (802.1ah), Cisco FabricPath, Linux SLL/SLL2, BSD null/loopback, raw IP,
//! 802.11 and radiotap, PPP.

/// A pcap LINKTYPE value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback (host byte order family).
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP.
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP (OpenBSD numbering of DLT_RAW is 14; LINKTYPE_RAW is 101).
    pub const RAW: LinkType = LinkType(101);
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback (network byte order family).
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// 802.11 with radiotap header.
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// What follows the link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// An IPv4 packet starts at `LinkLayer::offset`.
    Ipv4,
    /// An IPv6 packet starts at `LinkLayer::offset`.
    Ipv6,
    /// Something else (ARP, LLDP, ...), identified by its EtherType if known.
    Other(u16),
}

/// The result of peeling the link layer(s) off a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLayer {
    /// Where the network-layer header starts in the frame.
    pub offset: usize,
    /// What the network layer is.
    pub network: Network,
    /// Outer VLAN id of the frame, if tagged.
    pub vlan: Option<u16>,
    /// Inner VLAN id (Q-in-Q), if double tagged.
    pub inner_vlan: Option<u16>,
    /// Source MAC address, when the link layer has one.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC address, when the link layer has one.
    pub dst_mac: Option<[u8; 6]>,
}
