//! The fixed templates connwatch exports with, and how a record fills them.
//!
//! Four templates: IPv4 and IPv6, unidirectional or RFC 5103 biflow. The
//! field list is the same in NetFlow v9 and IPFIX (v9 type numbers are the
//! IPFIX IE ids); reverse elements exist only in IPFIX (enterprise bit set,
//! PEN 29305). Counters are sent as 8-byte values, times as absolute
//! milliseconds (IE 152/153).

use core::net::IpAddr;

use super::{FlowRecord, FlowSide};

/// The IPFIX reverse information element private enterprise number.
pub const REVERSE_PEN: u32 = 29305;

/// One field specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// IE id (v9 type).
    pub id: u16,
    /// Length in bytes.
    pub len: u16,
    /// A reverse element (IPFIX only).
    pub reverse: bool,
}

const fn f(id: u16, len: u16) -> Field {
    Field {
        id,
        len,
        reverse: false,
    }
}

const fn r(id: u16, len: u16) -> Field {
    Field {
        id,
        len,
        reverse: true,
    }
}

/// IE ids used (IANA; v9 names in the comments).
pub mod ie {
    /// octetDeltaCount (IN_BYTES).
    pub const OCTETS: u16 = 1;
    /// packetDeltaCount (IN_PKTS).
    pub const PACKETS: u16 = 2;
    /// protocolIdentifier (PROTOCOL).
    pub const PROTOCOL: u16 = 4;
    /// ipClassOfService (SRC_TOS).
    pub const TOS: u16 = 5;
    /// tcpControlBits (TCP_FLAGS).
    pub const TCP_FLAGS: u16 = 6;
    /// sourceTransportPort (L4_SRC_PORT).
    pub const SRC_PORT: u16 = 7;
    /// sourceIPv4Address (IPV4_SRC_ADDR).
    pub const SRC_V4: u16 = 8;
    /// ingressInterface (INPUT_SNMP).
    pub const INPUT: u16 = 10;
    /// destinationTransportPort (L4_DST_PORT).
    pub const DST_PORT: u16 = 11;
    /// destinationIPv4Address (IPV4_DST_ADDR).
    pub const DST_V4: u16 = 12;
    /// egressInterface (OUTPUT_SNMP).
    pub const OUTPUT: u16 = 14;
    /// sourceIPv6Address.
    pub const SRC_V6: u16 = 27;
    /// destinationIPv6Address.
    pub const DST_V6: u16 = 28;
    /// icmpTypeCodeIPv4 (ICMP_TYPE).
    pub const ICMP_V4: u16 = 32;
    /// vlanId (SRC_VLAN).
    pub const VLAN: u16 = 58;
    /// flowEndReason.
    pub const END_REASON: u16 = 136;
    /// icmpTypeCodeIPv6.
    pub const ICMP_V6: u16 = 139;
    /// flowId.
    pub const FLOW_ID: u16 = 148;
    /// flowStartMilliseconds.
    pub const START_MS: u16 = 152;
    /// flowEndMilliseconds.
    pub const END_MS: u16 = 153;
    /// biflowDirection.
    pub const BIFLOW_DIRECTION: u16 = 239;
}

macro_rules! fields {
    ($src:expr, $dst:expr, $alen:expr, $icmp:expr $(, $extra:expr)*) => {
        [
            f($src, $alen),
            f($dst, $alen),
            f(ie::SRC_PORT, 2),
            f(ie::DST_PORT, 2),
            f(ie::PROTOCOL, 1),
            f(ie::TCP_FLAGS, 1),
            f(ie::TOS, 1),
            f(ie::PACKETS, 8),
            f(ie::OCTETS, 8),
            f(ie::START_MS, 8),
            f(ie::END_MS, 8),
            f(ie::INPUT, 4),
            f(ie::OUTPUT, 4),
            f(ie::VLAN, 2),
            f($icmp, 2),
            f(ie::END_REASON, 1),
            f(ie::FLOW_ID, 8),
            $($extra,)*
        ]
    };
}

const V4: [Field; 17] = fields!(ie::SRC_V4, ie::DST_V4, 4, ie::ICMP_V4);
const V6: [Field; 17] = fields!(ie::SRC_V6, ie::DST_V6, 16, ie::ICMP_V6);
const V4_BI: [Field; 24] = fields!(
    ie::SRC_V4,
    ie::DST_V4,
    4,
    ie::ICMP_V4,
    r(ie::PACKETS, 8),
    r(ie::OCTETS, 8),
    r(ie::TCP_FLAGS, 1),
    r(ie::TOS, 1),
    r(ie::START_MS, 8),
    r(ie::END_MS, 8),
    f(ie::BIFLOW_DIRECTION, 1)
);
const V6_BI: [Field; 24] = fields!(
    ie::SRC_V6,
    ie::DST_V6,
    16,
    ie::ICMP_V6,
    r(ie::PACKETS, 8),
    r(ie::OCTETS, 8),
    r(ie::TCP_FLAGS, 1),
    r(ie::TOS, 1),
    r(ie::START_MS, 8),
    r(ie::END_MS, 8),
    f(ie::BIFLOW_DIRECTION, 1)
);

/// A template: id and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Template id (≥ 256).
    pub id: u16,
    /// Fields in record order.
    pub fields: &'static [Field],
    /// Bytes of one data record (the sum of the field lengths).
    len: usize,
}

const fn len_of(fields: &[Field]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < fields.len() {
        n += fields[i].len as usize;
        i += 1;
    }
    n
}

impl Template {
    /// Bytes of one data record.
    pub fn record_len(&self) -> usize {
        self.len
    }

    /// Bytes of this template's record in a template set (IPFIX: reverse
    /// fields carry a 4-byte enterprise number).
    pub fn spec_len(&self, ipfix: bool) -> usize {
        4 + self
            .fields
            .iter()
            .map(|f| if ipfix && f.reverse { 8 } else { 4 })
            .sum::<usize>()
    }

    /// Appends the template record (id, count, field specifiers).
    pub fn write_spec(&self, out: &mut Vec<u8>, ipfix: bool) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&(self.fields.len() as u16).to_be_bytes());
        for f in self.fields {
            if ipfix && f.reverse {
                out.extend_from_slice(&(f.id | 0x8000).to_be_bytes());
                out.extend_from_slice(&f.len.to_be_bytes());
                out.extend_from_slice(&REVERSE_PEN.to_be_bytes());
            } else {
                out.extend_from_slice(&f.id.to_be_bytes());
                out.extend_from_slice(&f.len.to_be_bytes());
            }
        }
    }

    /// Appends one data record for `rec`. The fields are written in the
    /// order of the `fields` lists above, at fixed offsets (no per-field
    /// dispatch: this runs once per exported record); the
    /// `records_match_their_templates` test and the netflow_parser round
    /// trip keep the two in step.
    pub fn write_record(&self, out: &mut Vec<u8>, rec: &FlowRecord) {
        self.write_direction(out, rec, false);
    }

    /// Appends one unidirectional record for one direction of `rec`: its
    /// forward side, or (`reverse`) its reverse side as a record of its own
    /// (addresses and ports swapped; ICMP: the reverse type and code).
    pub fn write_direction(&self, out: &mut Vec<u8>, rec: &FlowRecord, reverse: bool) {
        let icmp = matches!(rec.protocol, 1 | 58);
        let (fwd, src, dst, sp, dp) = match (reverse, rec.reverse.as_ref()) {
            (true, Some(r)) => (
                r,
                rec.dst,
                rec.src,
                if icmp { 0 } else { rec.dst_port },
                if icmp { r.icmp_type_code } else { rec.src_port },
            ),
            _ => (&rec.forward, rec.src, rec.dst, rec.src_port, rec.dst_port),
        };
        if let (IpAddr::V4(s), IpAddr::V4(d), 17) = (src, dst, self.fields.len()) {
            // The common case at fixed offsets (the IPV4 field list).
            let mut b = [0u8; 68];
            b[0..4].copy_from_slice(&s.octets());
            b[4..8].copy_from_slice(&d.octets());
            b[8..10].copy_from_slice(&sp.to_be_bytes());
            b[10..12].copy_from_slice(&dp.to_be_bytes());
            b[12] = rec.protocol;
            b[13] = fwd.tcp_flags;
            b[14] = fwd.tos;
            b[15..23].copy_from_slice(&fwd.packets.to_be_bytes());
            b[23..31].copy_from_slice(&fwd.octets.to_be_bytes());
            b[31..39].copy_from_slice(&millis(fwd.start).to_be_bytes());
            b[39..47].copy_from_slice(&millis(fwd.end).to_be_bytes());
            // 47..55: ingress and egress interface, 0.
            b[55..57].copy_from_slice(&rec.vlan.unwrap_or(0).to_be_bytes());
            b[57..59].copy_from_slice(&fwd.icmp_type_code.to_be_bytes());
            b[59] = rec.reason as u8;
            b[60..68].copy_from_slice(&rec.flow_id.to_be_bytes());
            out.extend_from_slice(&b);
            return;
        }
        out.reserve(self.len);
        let mut put = |bytes: &[u8]| out.extend_from_slice(bytes);
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                put(&s.octets());
                put(&d.octets());
            }
            (s, d) => {
                put(&v6(s));
                put(&v6(d));
            }
        }
        put(&sp.to_be_bytes());
        put(&dp.to_be_bytes());
        put(&[rec.protocol, fwd.tcp_flags, fwd.tos]);
        put(&fwd.packets.to_be_bytes());
        put(&fwd.octets.to_be_bytes());
        put(&millis(fwd.start).to_be_bytes());
        put(&millis(fwd.end).to_be_bytes());
        put(&[0; 8]); // ingress and egress interface
        put(&rec.vlan.unwrap_or(0).to_be_bytes());
        put(&fwd.icmp_type_code.to_be_bytes());
        put(&[rec.reason as u8]);
        put(&rec.flow_id.to_be_bytes());
        if self.fields.len() > 17 && !reverse {
            let rev = rec.reverse.unwrap_or(FlowSide {
                packets: 0,
                octets: 0,
                start: fwd.start,
                end: fwd.end,
                tcp_flags: 0,
                tos: 0,
                icmp_type_code: 0,
            });
            put(&rev.packets.to_be_bytes());
            put(&rev.octets.to_be_bytes());
            put(&[rev.tcp_flags, rev.tos]);
            put(&millis(rev.start).to_be_bytes());
            put(&millis(rev.end).to_be_bytes());
            // biflowDirection: source = the connection's initiator.
            put(&[1]);
        }
    }
}

/// An address as 16 bytes (IPv4-mapped if it is IPv4, which a record of
/// mixed families never is).
fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// Unix milliseconds of a timestamp (0 before the epoch).
pub fn millis(t: crate::Timestamp) -> u64 {
    u64::try_from(t.0.div_euclid(1_000_000)).unwrap_or(0)
}

/// The IPv4 unidirectional template.
pub const IPV4: Template = Template {
    id: 256,
    fields: &V4,
    len: len_of(&V4),
};
/// The IPv6 unidirectional template.
pub const IPV6: Template = Template {
    id: 257,
    fields: &V6,
    len: len_of(&V6),
};
/// The IPv4 biflow template (IPFIX).
pub const IPV4_BIFLOW: Template = Template {
    id: 258,
    fields: &V4_BI,
    len: len_of(&V4_BI),
};
/// The IPv6 biflow template (IPFIX).
pub const IPV6_BIFLOW: Template = Template {
    id: 259,
    fields: &V6_BI,
    len: len_of(&V6_BI),
};

/// The template for a record.
pub fn for_record(rec: &FlowRecord, biflow: bool) -> &'static Template {
    match (rec.is_ipv6(), biflow) {
        (false, false) => &IPV4,
        (true, false) => &IPV6,
        (false, true) => &IPV4_BIFLOW,
        (true, true) => &IPV6_BIFLOW,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_match_their_templates() {
        use crate::netflow::{EndReason, FlowRecord, FlowSide};
        use crate::Timestamp;
        let side = FlowSide {
            packets: 1,
            octets: 2,
            start: Timestamp(3_000_000),
            end: Timestamp(4_000_000),
            tcp_flags: 5,
            tos: 6,
            icmp_type_code: 7,
        };
        for (t, v6, bi) in [
            (&IPV4, false, false),
            (&IPV6, true, false),
            (&IPV4_BIFLOW, false, true),
            (&IPV6_BIFLOW, true, true),
        ] {
            let (src, dst): (IpAddr, IpAddr) = if v6 {
                (
                    "2001:db8::1".parse().unwrap(),
                    "2001:db8::2".parse().unwrap(),
                )
            } else {
                ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
            };
            let rec = FlowRecord {
                src,
                dst,
                src_port: 8,
                dst_port: 9,
                protocol: 6,
                vlan: Some(10),
                flow_id: 11,
                reason: EndReason::Idle,
                forward: side,
                reverse: bi.then_some(side),
            };
            let mut out = Vec::new();
            t.write_record(&mut out, &rec);
            assert_eq!(out.len(), t.record_len(), "template {}", t.id);
            // Field by field, at the offsets the template gives.
            let mut at = 0;
            for f in t.fields {
                let v = &out[at..at + usize::from(f.len)];
                let want: Vec<u8> = match (f.id, f.reverse) {
                    (ie::SRC_PORT, _) => vec![0, 8],
                    (ie::DST_PORT, _) => vec![0, 9],
                    (ie::PROTOCOL, _) => vec![6],
                    (ie::TCP_FLAGS, _) => vec![5],
                    (ie::TOS, _) => vec![6],
                    (ie::PACKETS, _) => 1u64.to_be_bytes().to_vec(),
                    (ie::OCTETS, _) => 2u64.to_be_bytes().to_vec(),
                    (ie::START_MS, _) => 3u64.to_be_bytes().to_vec(),
                    (ie::END_MS, _) => 4u64.to_be_bytes().to_vec(),
                    (ie::VLAN, _) => vec![0, 10],
                    (ie::ICMP_V4 | ie::ICMP_V6, _) => vec![0, 7],
                    (ie::END_REASON, _) => vec![1],
                    (ie::FLOW_ID, _) => 11u64.to_be_bytes().to_vec(),
                    (ie::BIFLOW_DIRECTION, _) => vec![1],
                    (ie::INPUT | ie::OUTPUT, _) => vec![0; 4],
                    (ie::SRC_V4 | ie::SRC_V6, _) => v.to_vec(),
                    (ie::DST_V4 | ie::DST_V6, _) => v.to_vec(),
                    (id, _) => panic!("field {id} not checked"),
                };
                assert_eq!(v, &want[..], "template {} field {}", t.id, f.id);
                at += usize::from(f.len);
            }
        }
    }

    #[test]
    fn record_lengths() {
        assert_eq!(IPV4.record_len(), 68);
        assert_eq!(IPV6.record_len(), 92);
        assert_eq!(IPV4_BIFLOW.record_len(), 68 + 35);
        assert_eq!(IPV4_BIFLOW.spec_len(true), 4 + 24 * 4 + 6 * 4);
        let mut spec = Vec::new();
        IPV4_BIFLOW.write_spec(&mut spec, true);
        assert_eq!(spec.len(), IPV4_BIFLOW.spec_len(true));
        // The reverse packetDeltaCount: enterprise bit, PEN 29305.
        let at = 4 + 17 * 4;
        assert_eq!(&spec[at..at + 8], &[0x80, 0x02, 0, 8, 0, 0, 0x72, 0x79]);
    }
}
