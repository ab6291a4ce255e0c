//! Anomalies: every malformed condition the decoders detect, named after
//! Zeek's weird.
//!
//! [`Anomaly::name`] is the string Zeek puts in `weird.log` for the same
//! condition, so counters and logs line up with Zeek's. Where Zeek does not
//! raise a weird but an analyzer violation (tunnel decoders mostly), the name
//! is the violation reason in weird style; those are marked in the variant
//! docs. A few variants share a name because Zeek uses one weird for
//! conditions we keep apart (they lead to different handling), so
//! [`Anomaly::name`] is not injective; [`Anomaly::index`] is.
//!
//! Which decoder produces which variant is listed on each variant; a few are
//! never produced by this crate and exist so the caller, which owns the
//! state that decides them (checksums, reassembly, tunnel depth), can count
//! them in the same table.

/// Defines [`Anomaly`] with its names, `ALL` and `index` from one list so the
/// three cannot drift apart.
macro_rules! anomalies {
    ($( $(#[doc = $doc:literal])* $var:ident => $name:literal, )*) => {
        /// A malformed or unusual condition in the input, named after Zeek's
        /// weird (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
        pub enum Anomaly {
            $( $(#[doc = $doc])* #[error($name)] $var, )*
        }

        impl Anomaly {
            /// Every variant, in `index` order (for counter arrays).
            pub const ALL: &'static [Anomaly] = &[$(Anomaly::$var,)*];

            /// Number of variants (`ALL.len()`).
            pub const COUNT: usize = Self::ALL.len();

            /// Zeek's weird name for this condition.
            #[inline]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Anomaly::$var => $name,)*
                }
            }
        }
    };
}

anomalies! {
    // ---- link layers -------------------------------------------------
    /// Ethernet header (or 802.3 length) longer than the captured frame.
    TruncatedEthernetFrame => "truncated_ethernet_frame",
    /// Cisco FabricPath header plus inner Ethernet header not captured.
    TruncatedLinkHeaderCfp => "truncated_link_header_cfp",
    /// EtherType/length field between 1501 and 1535.
    UndefinedEtherType => "undefined_ether_type",
    /// 802.1Q/802.1ad tag not captured.
    TruncatedVlanHeader => "truncated_VLAN_header",
    /// Protocol field after a VLAN tag between 1501 and 1535.
    UndefinedVlanProtocol => "undefined_vlan_protocol",
    /// VN-Tag header not captured.
    TruncatedVntagHeader => "truncated_vntag_header",
    /// MPLS label stack runs past the captured data.
    TruncatedLinkHeader => "truncated_link_header",
    /// PPPoE session header not captured.
    TruncatedPppoeHeader => "truncated_pppoe_header",
    /// 802.1ah (PBB) I-tag plus inner Ethernet header not captured.
    TruncatedPbbHeader => "truncated_PBB_header",
    /// 802.2 LLC header in front of SNAP not captured.
    TruncatedSnapLlcHeader => "truncated_snap_llc_header",
    /// SNAP header not captured.
    TruncatedSnapHeader => "truncated_snap_header",
    /// Linux cooked (SLL) header not captured.
    TruncatedLinuxSllHeader => "truncated_Linux_SLL_header",
    /// Linux cooked v2 (SLL2) header not captured.
    TruncatedLinuxSll2Header => "truncated_Linux_SLL2_header",
    /// BSD null/loopback header not captured.
    NullAnalyzerFailed => "null_analyzer_failed",
    /// NFLOG header not captured.
    TruncatedNflogHeader => "truncated_nflog_header",
    /// NFLOG version is not 0.
    UnknownNflogVersion => "unknown_nflog_version",
    /// NFLOG TLV with a length below 4.
    NflogBadTlvLen => "nflog_bad_tlv_len",
    /// NFLOG frame without a payload TLV.
    NflogNoPcapPayload => "nflog_no_pcap_payload",
    /// 802.11 MAC header not captured.
    Truncated80211Header => "truncated_802_11_header",
    /// 802.11 LLC/SNAP header not captured.
    Truncated80211LlcHeader => "truncated_802_11_llc_header",
    /// 802.11 A-MSDU subframe header not captured.
    Truncated80211AmsduHeader => "truncated_802_11_amsdu_header",
    /// 802.11 A-MSDU subframe longer than the captured data.
    Truncated80211AmsduPacket => "truncated_802_11_amsdu_packet",
    /// Radiotap header not captured.
    TruncatedRadiotapHeader => "truncated_radiotap_header",
    /// PPP (DLT 9) header not captured.
    TruncatedPppHeader => "truncated_ppp_header",
    /// PPP in HDLC-like framing (0xff03) header not captured.
    TruncatedPppHdlcHeader => "truncated_ppp_hdlc_header",
    /// PPP serial (DLT 50) header not captured.
    TruncatedPppSerialHeader => "truncated_ppp_serial_header",

    // ---- IP ------------------------------------------------------------
    /// Fewer than 20 (IPv4) / 40 (IPv6) bytes captured.
    TruncatedIp => "truncated_IP",
    /// IP version is neither 4 nor 6.
    UnknownIpVersion => "unknown_ip_version",
    /// IPv4 total length is 0 (TCP segmentation offload). Fatal unless
    /// checksums are ignored.
    IpHdrLenZero => "ip_hdr_len_zero",
    /// The packet was shorter on the wire than its IP total length.
    TruncatedIpLen => "truncated_IP_len",
    /// IP header (with IPv6 extension headers) longer than the total length.
    InvalidIpHeaderSize => "invalid_IP_header_size",
    /// A header was not fully captured although the packet was complete on
    /// the wire (IP header, or transport header shorter than its minimum).
    InternallyTruncatedHeader => "internally_truncated_header",
    /// IPv4 IHL below 5.
    Ipv4MinHeaderSize => "IPv4_min_header_size",
    /// IPv4 header checksum wrong (caller decides; see
    /// [`IpPacket::header_checksum_ok`](crate::IpPacket::header_checksum_ok)).
    BadIpChecksum => "bad_IP_checksum",
    /// A fragment that was not fully captured (caller, when reassembling).
    IncompletelyCapturedFragment => "incompletely_captured_fragment",
    /// IPv6 next header 59 outside a Teredo bubble (caller).
    Ipv6NoNext => "ipv6_no_next",

    // ---- transport -----------------------------------------------------
    /// The IP payload is shorter than the transport header minimum (TCP 20,
    /// UDP/ICMP 8): no connection.
    TruncatedHeader => "truncated_header",
    /// TCP data offset below 5.
    BadTcpHeaderLen => "bad_TCP_header_len",
    /// TCP header (with options) longer than the IP payload or the captured
    /// bytes. Zeek still creates/looks up the connection, then ignores the
    /// packet; same weird name as [`Anomaly::TruncatedHeader`].
    TcpHeaderTruncated => "truncated_header",
    /// TCP checksum wrong (caller, via [`checksum::transport_ok`](crate::checksum::transport_ok)).
    BadTcpChecksum => "bad_TCP_checksum",
    /// UDP checksum wrong (caller).
    BadUdpChecksum => "bad_UDP_checksum",
    /// ICMP/ICMPv6 checksum wrong (caller).
    BadIcmpChecksum => "bad_ICMP_checksum",
    /// UDP length field differs from the IP payload length (caller; not
    /// fatal).
    UdpDatagramLengthMismatch => "UDP_datagram_length_mismatch",

    // ---- tunnels -------------------------------------------------------
    /// GRE header (or what its protocol needs) not captured.
    TruncatedGre => "truncated_GRE",
    /// GRE version other than 0 or 1.
    UnknownGreVersion => "unknown_gre_version",
    /// Enhanced GRE (version 1) with a protocol other than PPP (0x880b).
    EgreProtocolType => "egre_protocol_type",
    /// GRE routing present (deprecated, not parsed).
    GreRouting => "gre_routing",
    /// Reserved GRE flag bits set.
    UnknownGreFlags => "unknown_gre_flags",
    /// PPTP carries a PPP protocol other than IPv4/IPv6.
    NonIpPacketInEncap => "non_ip_packet_in_encap",
    /// ERSPAN header not captured.
    TruncatedErspan => "truncated_ERSPAN",
    /// ERSPAN version other than 1 (type II) or 2 (type III).
    UnknownErspanVersion => "unknown_ERSPAN_version",
    /// A tunnel carries a protocol we do not decode (e.g. ARP in Geneve,
    /// Aruba 802.11 in GRE, an unregistered GRE protocol).
    UnknownProtocol => "unknown_protocol",
    /// Inner packet of a tunnel that must carry IP has the wrong IP version
    /// (GRE v1 weird; Teredo/GTP analyzer violation).
    InvalidInnerIpVersion => "invalid_inner_IP_version",
    /// Inner IP packet longer than the tunnel payload (GRE v1 weird;
    /// Teredo/GTP analyzer violation).
    TruncatedInnerIp => "truncated_inner_IP",
    /// Inner IP packet shorter than the tunnel payload (GRE v1 weird;
    /// Teredo/GTP analyzer violation).
    InnerIpPayloadLengthMismatch => "inner_IP_payload_length_mismatch",
    /// VXLAN header not captured (analyzer violation).
    VxlanHeaderTruncation => "VXLAN_header_truncation",
    /// VXLAN "I" flag not set (analyzer violation).
    VxlanIFlagNotSet => "VXLAN_I_flag_not_set",
    /// VXLAN header with nothing after it.
    VxlanEmptyPacket => "vxlan_empty_packet",
    /// Geneve header or options not captured (analyzer violation).
    GeneveHeaderTruncation => "Geneve_header_truncation",
    /// Geneve version other than 0.
    GeneveInvalidVersion => "geneve_invalid_version",
    /// Geneve header with nothing after it.
    GeneveEmptyPacket => "geneve_empty_packet",
    /// Teredo: fewer than 2 bytes.
    TruncatedTeredo => "truncated_Teredo",
    /// Teredo origin indication not captured.
    TruncatedTeredoOriginIndication => "truncated_Teredo_origin_indication",
    /// Teredo authentication header not captured.
    TruncatedTeredoAuthentication => "truncated_Teredo_authentication",
    /// Teredo: fewer than 40 bytes where the IPv6 header should be.
    TruncatedIpv6InTeredo => "truncated_IPv6_in_Teredo",
    /// Not a Teredo encapsulation (analyzer violation "Bad Teredo
    /// encapsulation").
    BadTeredoEncapsulation => "bad_Teredo_encapsulation",
    /// AYIYA header not captured (analyzer violation).
    TruncatedAyiya => "truncated_AYIYA",
    /// AYIYA opcode is not "forward": a valid message without a packet
    /// (not an error in Zeek; nothing to decapsulate).
    AyiyaNotForward => "AYIYA_not_forward",
    /// AYIYA header with nothing after it.
    AyiyaEmptyPacket => "ayiya_empty_packet",
    /// GTPv1 header (or extension headers, or a T-PDU shorter than an IPv4
    /// header) not captured (analyzer violation).
    TruncatedGtpv1 => "truncated_GTPv1",
    /// GTPv1 version field is not 1 (analyzer violation).
    Gtpv1BadVersion => "GTPv1_bad_version",
    /// GTP' (PT = 0) or a GTPv1 message other than a T-PDU: valid, but
    /// carries no packet (not an error in Zeek).
    Gtpv1NotTpdu => "GTPv1_not_T_PDU",
    /// GTPv1 T-PDU whose payload is not IPv4/IPv6 (analyzer violation).
    Gtpv1NonIp => "non_IP_packet_in_GTPv1",
    /// More tunnel levels than allowed (caller, `Tunnel::max_depth`).
    ExceededTunnelMaxDepth => "exceeded_tunnel_max_depth",
}

/// Every variant, in [`Anomaly::index`] order (same as [`Anomaly::ALL`]).
pub const ALL: &[Anomaly] = Anomaly::ALL;

impl Anomaly {
    /// Position of this variant in [`Anomaly::ALL`], for counter arrays
    /// (`[u64; Anomaly::COUNT]`).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_matches_all_order() {
        for (i, a) in Anomaly::ALL.iter().enumerate() {
            assert_eq!(a.index(), i, "{a:?}");
        }
        assert_eq!(Anomaly::COUNT, ALL.len());
    }

    #[test]
    fn parses_display_is_the_weird_name() {
        assert_eq!(Anomaly::TruncatedHeader.to_string(), "truncated_header");
        assert_eq!(Anomaly::TruncatedIpLen.name(), "truncated_IP_len");
        assert_eq!(Anomaly::BadIpChecksum.to_string(), "bad_IP_checksum");
        for a in Anomaly::ALL {
            assert_eq!(a.to_string(), a.name());
            assert!(!a.name().is_empty());
        }
    }

    #[test]
    fn rejects_duplicate_names_except_documented_ones() {
        let mut names: Vec<&str> = Anomaly::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        // Only TcpHeaderTruncated shares "truncated_header" on purpose.
        assert_eq!(before - names.len(), 1);
    }
}
