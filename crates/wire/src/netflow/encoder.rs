//! Packing flow records into NetFlow v5 / v9 / IPFIX datagrams.

use crate::{Duration, Timestamp};

use super::template::{self, Template};
use super::{FlowRecord, FlowSide};

/// Export protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// NetFlow v5: fixed 48-byte IPv4 records, 30 per datagram.
    V5,
    /// NetFlow v9 (RFC 3954).
    V9,
    /// IPFIX (RFC 7011).
    Ipfix,
}

/// What an encoder has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Datagrams emitted.
    pub datagrams: u64,
    /// Data records emitted (a v5 flow split for its 32-bit counters counts
    /// once per piece).
    pub records: u64,
    /// Template sets sent.
    pub template_sets: u64,
    /// IPv6 records v5 cannot carry, skipped.
    pub skipped_ipv6: u64,
}

const V5_HEADER: usize = 24;
const V5_RECORD: usize = 48;
const V5_MAX_RECORDS: usize = 30;
const V9_HEADER: usize = 20;
const IPFIX_HEADER: usize = 16;

/// Builds export datagrams; see the module documentation of
/// [`crate::netflow`].
#[derive(Debug)]
pub struct FlowEncoder {
    version: Version,
    biflow: bool,
    max_len: usize,
    domain: u32,
    /// How far back a record's start can reach before its export time (the
    /// active plus the inactive timeout): the exporter's start (`sysUptime`
    /// 0) is put that far before the first export, so no time is negative.
    max_age: Duration,
    refresh_time: Duration,
    refresh_datagrams: u32,
    boot: Option<Timestamp>,
    buf: Vec<u8>,
    /// Records in `buf` (v5: flows; v9: all records incl. templates;
    /// IPFIX: data records).
    count: u32,
    data_records: u32,
    /// The open data set: its start offset and template id.
    set: Option<(usize, u16)>,
    now: Timestamp,
    /// v5: flows sent; v9: datagrams sent; IPFIX: data records sent.
    sequence: u32,
    templates_at: Option<Timestamp>,
    since_templates: u32,
    stats: EncodeStats,
}

impl FlowEncoder {
    /// An encoder for datagrams of at most `max_len` bytes (UDP payload),
    /// observation domain / source id / engine id `domain`.
    pub fn new(
        version: Version,
        biflow: bool,
        max_len: usize,
        domain: u32,
        max_age: Duration,
    ) -> Self {
        FlowEncoder {
            version,
            biflow: biflow && version == Version::Ipfix,
            max_len: max_len.clamp(V5_HEADER + V5_RECORD, 65_507),
            domain,
            max_age,
            refresh_time: Duration::from_secs(60),
            refresh_datagrams: 20,
            boot: None,
            buf: Vec::with_capacity(max_len),
            count: 0,
            data_records: 0,
            set: None,
            now: Timestamp::ZERO,
            sequence: 0,
            templates_at: None,
            since_templates: 0,
            stats: EncodeStats::default(),
        }
    }

    /// Template refresh: templates go out again after `time` or after
    /// `datagrams` datagrams, whichever comes first (defaults 60 s, 20).
    pub fn with_template_refresh(mut self, time: Duration, datagrams: u32) -> Self {
        self.refresh_time = time;
        self.refresh_datagrams = datagrams.max(1);
        self
    }

    /// Counters.
    pub fn stats(&self) -> EncodeStats {
        self.stats
    }

    /// The exporter's start time (`sysUptime` 0), once known.
    pub fn boot(&self) -> Option<Timestamp> {
        self.boot
    }

    /// Adds one record at export time `now`; full datagrams go to `emit`.
    pub fn push(&mut self, rec: &FlowRecord, now: Timestamp, emit: &mut dyn FnMut(&[u8])) {
        self.now = now;
        if self.boot.is_none() {
            self.boot = Some(Timestamp(now.0 - self.max_age.0 - 1_000_000_000));
        }
        match self.version {
            Version::V5 => self.push_v5(rec, emit),
            Version::V9 | Version::Ipfix => {
                let t = template::for_record(rec, self.biflow);
                self.push_templated(t, rec, emit);
            }
        }
    }

    /// Adds one direction of `rec` as a unidirectional record (the
    /// reverse side if `reverse`), without building a record for it;
    /// directions without packets are skipped.
    pub fn push_direction(
        &mut self,
        rec: &FlowRecord,
        reverse: bool,
        now: Timestamp,
        emit: &mut dyn FnMut(&[u8]),
    ) {
        let side = if reverse {
            rec.reverse.as_ref()
        } else {
            Some(&rec.forward)
        };
        if side.is_none_or(|s| s.packets == 0) {
            return;
        }
        if self.version == Version::V5 {
            let r = if reverse {
                let rev = rec.reverse.unwrap_or(rec.forward);
                let icmp = matches!(rec.protocol, 1 | 58);
                FlowRecord {
                    src: rec.dst,
                    dst: rec.src,
                    src_port: if icmp { 0 } else { rec.dst_port },
                    dst_port: if icmp {
                        rev.icmp_type_code
                    } else {
                        rec.src_port
                    },
                    forward: rev,
                    reverse: None,
                    ..*rec
                }
            } else {
                FlowRecord {
                    reverse: None,
                    ..*rec
                }
            };
            return self.push(&r, now, emit);
        }
        self.now = now;
        if self.boot.is_none() {
            self.boot = Some(Timestamp(now.0 - self.max_age.0 - 1_000_000_000));
        }
        let t = template::for_record(rec, false);
        self.push_with(t, emit, |out| t.write_direction(out, rec, reverse));
    }

    /// Sends what is buffered (end of input, or a quiet moment).
    pub fn flush(&mut self, now: Timestamp, emit: &mut dyn FnMut(&[u8])) {
        self.now = now;
        if !self.buf.is_empty() && (self.count > 0 || self.data_records > 0) {
            self.emit(emit);
        }
    }

    fn uptime_ms(&self, t: Timestamp) -> u32 {
        let boot = self.boot.unwrap_or(t);
        ((t.0 - boot.0).max(0) / 1_000_000) as u32
    }

    // ------------------------------------------------------------- v5

    fn push_v5(&mut self, rec: &FlowRecord, emit: &mut dyn FnMut(&[u8])) {
        if rec.is_ipv6() {
            self.stats.skipped_ipv6 += 1;
            return;
        }
        let mut sides = vec![(rec.src, rec.dst, rec.src_port, rec.dst_port, rec.forward)];
        if let Some(rev) = rec.reverse {
            sides.push((rec.dst, rec.src, rec.dst_port, rec.src_port, rev));
        }
        for (src, dst, sp, dp, side) in sides {
            // 32-bit counters: a flow with more is sent in pieces.
            let mut left = side;
            loop {
                let piece =
                    if left.octets > u64::from(u32::MAX) || left.packets > u64::from(u32::MAX) {
                        let frac = (u64::from(u32::MAX) as f64 / left.octets.max(1) as f64)
                            .min(u64::from(u32::MAX) as f64 / left.packets.max(1) as f64);
                        let octets = ((left.octets as f64 * frac) as u64).min(u64::from(u32::MAX));
                        let packets =
                            ((left.packets as f64 * frac) as u64).clamp(1, u64::from(u32::MAX));
                        FlowSide {
                            octets,
                            packets,
                            ..left
                        }
                    } else {
                        left
                    };
                self.v5_record(src, dst, sp, dp, rec, &piece, emit);
                left.octets -= piece.octets;
                left.packets -= piece.packets.min(left.packets);
                if left.octets == 0 && left.packets == 0 {
                    break;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn v5_record(
        &mut self,
        src: core::net::IpAddr,
        dst: core::net::IpAddr,
        sp: u16,
        dp: u16,
        rec: &FlowRecord,
        side: &FlowSide,
        emit: &mut dyn FnMut(&[u8]),
    ) {
        if self.count as usize == V5_MAX_RECORDS
            || self.buf.len() + V5_RECORD > self.max_len.max(V5_HEADER + V5_RECORD)
        {
            self.emit(emit);
        }
        if self.buf.is_empty() {
            self.buf.resize(V5_HEADER, 0);
        }
        let (core::net::IpAddr::V4(s), core::net::IpAddr::V4(d)) = (src, dst) else {
            return;
        };
        let b = &mut self.buf;
        b.extend_from_slice(&s.octets());
        b.extend_from_slice(&d.octets());
        b.extend_from_slice(&[0; 4]); // nexthop
        b.extend_from_slice(&[0; 4]); // input, output
        b.extend_from_slice(&(side.packets as u32).to_be_bytes());
        b.extend_from_slice(&(side.octets as u32).to_be_bytes());
        let (first, last) = (self.uptime_ms(side.start), self.uptime_ms(side.end));
        let b = &mut self.buf;
        b.extend_from_slice(&first.to_be_bytes());
        b.extend_from_slice(&last.to_be_bytes());
        b.extend_from_slice(&sp.to_be_bytes());
        b.extend_from_slice(&dp.to_be_bytes());
        b.push(0);
        b.push(side.tcp_flags);
        b.push(rec.protocol);
        b.push(side.tos);
        b.extend_from_slice(&[0; 8]); // AS numbers, masks, pad
        self.count += 1;
        self.data_records += 1;
    }

    // -------------------------------------------------------- v9, IPFIX

    fn header_len(&self) -> usize {
        match self.version {
            Version::V5 => V5_HEADER,
            Version::V9 => V9_HEADER,
            Version::Ipfix => IPFIX_HEADER,
        }
    }

    fn templates(&self) -> [&'static Template; 2] {
        if self.biflow {
            [&template::IPV4_BIFLOW, &template::IPV6_BIFLOW]
        } else {
            [&template::IPV4, &template::IPV6]
        }
    }

    fn templates_due(&self) -> bool {
        match self.templates_at {
            None => true,
            Some(at) => {
                self.since_templates >= self.refresh_datagrams
                    || self.now.0 - at.0 >= self.refresh_time.0
            }
        }
    }

    /// Starts a datagram: header space, then templates if due.
    fn begin(&mut self) {
        self.buf.clear();
        self.buf.resize(self.header_len(), 0);
        self.count = 0;
        self.data_records = 0;
        self.set = None;
        if self.templates_due() {
            let ipfix = self.version == Version::Ipfix;
            let start = self.buf.len();
            let set_id: u16 = if ipfix { 2 } else { 0 };
            self.buf.extend_from_slice(&set_id.to_be_bytes());
            self.buf.extend_from_slice(&[0, 0]);
            for t in self.templates() {
                t.write_spec(&mut self.buf, ipfix);
                if !ipfix {
                    // v9 counts template records in the header's count.
                    self.count += 1;
                }
            }
            let len = (self.buf.len() - start) as u16;
            self.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
            self.templates_at = Some(self.now);
            self.since_templates = 0;
            self.stats.template_sets += 1;
        }
    }

    fn close_set(&mut self) {
        if let Some((start, _)) = self.set.take() {
            while !(self.buf.len() - start).is_multiple_of(4) {
                self.buf.push(0);
            }
            let len = (self.buf.len() - start) as u16;
            self.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        }
    }

    fn push_templated(&mut self, t: &Template, rec: &FlowRecord, emit: &mut dyn FnMut(&[u8])) {
        self.push_with(t, emit, |out| t.write_record(out, rec));
    }

    /// Makes room for one record of template `t` and lets `write` append
    /// it.
    fn push_with(
        &mut self,
        t: &Template,
        emit: &mut dyn FnMut(&[u8]),
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        let rec_len = t.record_len();
        if self.buf.is_empty() {
            self.begin();
        }
        let same_set = matches!(self.set, Some((_, id)) if id == t.id);
        // Room for the record, a set header if a new set opens, and the
        // padding that closes the set.
        let need = rec_len + if same_set { 0 } else { 4 } + 3;
        if self.buf.len() + need > self.max_len && self.data_records > 0 {
            self.emit(emit);
            self.begin();
        }
        if !matches!(self.set, Some((_, id)) if id == t.id) {
            self.close_set();
            self.set = Some((self.buf.len(), t.id));
            self.buf.extend_from_slice(&t.id.to_be_bytes());
            self.buf.extend_from_slice(&[0, 0]);
        }
        write(&mut self.buf);
        self.count += 1;
        self.data_records += 1;
    }

    /// Finishes the header of the datagram in `buf` and hands it out.
    fn emit(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if self.buf.is_empty() {
            return;
        }
        self.close_set();
        let now = self.now;
        let uptime = self.uptime_ms(now);
        let secs = u32::try_from(now.secs().max(0)).unwrap_or(u32::MAX);
        let b = &mut self.buf;
        match self.version {
            Version::V5 => {
                b[0..2].copy_from_slice(&5u16.to_be_bytes());
                b[2..4].copy_from_slice(&(self.count as u16).to_be_bytes());
                b[4..8].copy_from_slice(&uptime.to_be_bytes());
                b[8..12].copy_from_slice(&secs.to_be_bytes());
                b[12..16].copy_from_slice(&(now.subsec_nanos() as u32).to_be_bytes());
                b[16..20].copy_from_slice(&self.sequence.to_be_bytes());
                b[20] = 0;
                b[21] = self.domain as u8;
                b[22..24].copy_from_slice(&0u16.to_be_bytes());
                self.sequence = self.sequence.wrapping_add(self.count);
            }
            Version::V9 => {
                b[0..2].copy_from_slice(&9u16.to_be_bytes());
                b[2..4].copy_from_slice(&(self.count as u16).to_be_bytes());
                b[4..8].copy_from_slice(&uptime.to_be_bytes());
                b[8..12].copy_from_slice(&secs.to_be_bytes());
                b[12..16].copy_from_slice(&self.sequence.to_be_bytes());
                b[16..20].copy_from_slice(&self.domain.to_be_bytes());
                self.sequence = self.sequence.wrapping_add(1);
            }
            Version::Ipfix => {
                let len = b.len() as u16;
                b[0..2].copy_from_slice(&10u16.to_be_bytes());
                b[2..4].copy_from_slice(&len.to_be_bytes());
                b[4..8].copy_from_slice(&secs.to_be_bytes());
                b[8..12].copy_from_slice(&self.sequence.to_be_bytes());
                b[12..16].copy_from_slice(&self.domain.to_be_bytes());
                self.sequence = self.sequence.wrapping_add(self.data_records);
            }
        }
        emit(&self.buf);
        self.stats.datagrams += 1;
        self.stats.records += u64::from(self.data_records);
        self.since_templates += 1;
        self.buf.clear();
        self.count = 0;
        self.data_records = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netflow::{EndReason, FlowRecord, FlowSide};
    use core::net::IpAddr;

    fn rec(i: u32, v6: bool) -> FlowRecord {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )
        } else {
            ([10, 0, 0, 1].into(), [10, 0, 0, 2].into())
        };
        let side = FlowSide {
            packets: 3 + u64::from(i),
            octets: 300,
            start: Timestamp::from_secs_nanos(1_700_000_000, 0),
            end: Timestamp::from_secs_nanos(1_700_000_001, 500_000_000),
            tcp_flags: 0x1b,
            tos: 0,
            icmp_type_code: 0,
        };
        FlowRecord {
            src,
            dst,
            src_port: 40000 + i as u16,
            dst_port: 80,
            protocol: 6,
            vlan: None,
            flow_id: u64::from(i),
            reason: EndReason::EndOfFlow,
            forward: side,
            reverse: None,
        }
    }

    fn encode(version: Version, n: u32, v6: bool) -> (Vec<Vec<u8>>, EncodeStats) {
        let max = if version == Version::V5 { 1464 } else { 1400 };
        let mut enc = FlowEncoder::new(version, false, max, 7, Duration::from_secs(1800));
        let mut out = Vec::new();
        let now = Timestamp::from_secs_nanos(1_700_000_010, 0);
        for i in 0..n {
            enc.push(&rec(i, v6), now, &mut |d| out.push(d.to_vec()));
        }
        enc.flush(now, &mut |d| out.push(d.to_vec()));
        (out, enc.stats())
    }

    #[test]
    fn v5_thirty_records_a_datagram_and_flow_sequence() {
        let (out, st) = encode(Version::V5, 61, false);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].len(), 24 + 30 * 48);
        assert_eq!(u16::from_be_bytes([out[0][2], out[0][3]]), 30);
        assert_eq!(u16::from_be_bytes([out[2][2], out[2][3]]), 1);
        // flow_sequence: flows sent before the datagram.
        let seq = |d: &Vec<u8>| u32::from_be_bytes(d[16..20].try_into().unwrap());
        assert_eq!((seq(&out[0]), seq(&out[1]), seq(&out[2])), (0, 30, 60));
        assert_eq!(st.records, 61);
        // IPv6 is skipped and counted.
        let (out, st) = encode(Version::V5, 5, true);
        assert!(out.is_empty());
        assert_eq!(st.skipped_ipv6, 5);
    }

    #[test]
    fn ipfix_messages_fit_the_mtu_and_count_data_records() {
        let (out, st) = encode(Version::Ipfix, 100, false);
        assert_eq!(st.records, 100);
        let mut expect_seq = 0u32;
        for d in &out {
            assert!(d.len() <= 1400);
            assert_eq!(u16::from_be_bytes([d[0], d[1]]), 10);
            assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), d.len());
            assert_eq!(u32::from_be_bytes(d[8..12].try_into().unwrap()), expect_seq);
            assert_eq!(u32::from_be_bytes(d[12..16].try_into().unwrap()), 7);
            // Walk the sets: lengths add up, data sets hold whole records.
            let mut at = 16;
            let mut records = 0;
            while at < d.len() {
                let id = u16::from_be_bytes([d[at], d[at + 1]]);
                let len = usize::from(u16::from_be_bytes([d[at + 2], d[at + 3]]));
                assert!(len >= 4 && at + len <= d.len() && len % 4 == 0);
                if id == 256 {
                    records += (len - 4) / 68;
                    assert!((len - 4) % 68 < 4);
                }
                at += len;
            }
            assert_eq!(at, d.len());
            expect_seq += records as u32;
        }
        assert_eq!(expect_seq, 100);
        // The first message carries the templates.
        assert_eq!(u16::from_be_bytes([out[0][16], out[0][17]]), 2);
    }

    #[test]
    fn v9_counts_every_record_and_numbers_datagrams() {
        let (out, _) = encode(Version::V9, 50, true);
        for (i, d) in out.iter().enumerate() {
            assert!(d.len() <= 1400);
            assert_eq!(u16::from_be_bytes([d[0], d[1]]), 9);
            assert_eq!(u32::from_be_bytes(d[12..16].try_into().unwrap()), i as u32);
        }
        // First datagram: 2 templates + data records, flowset id 0 first.
        assert_eq!(u16::from_be_bytes([out[0][20], out[0][21]]), 0);
        let data_in_first = (1400 - 20 - (4 + 2 * (4 + 17 * 4)) - 4) / 92;
        assert_eq!(
            usize::from(u16::from_be_bytes([out[0][2], out[0][3]])),
            2 + data_in_first
        );
    }

    #[test]
    fn templates_are_refreshed_by_count() {
        let mut enc = FlowEncoder::new(Version::Ipfix, false, 200, 1, Duration::from_secs(60))
            .with_template_refresh(Duration::from_secs(3600), 3);
        let mut with_templates = Vec::new();
        let now = Timestamp::from_secs_nanos(1_700_000_010, 0);
        for i in 0..20 {
            enc.push(&rec(i, false), now, &mut |d| {
                with_templates.push(u16::from_be_bytes([d[16], d[17]]) == 2)
            });
        }
        // Datagrams 0, 3, 6, ... start with a template set.
        for (i, t) in with_templates.iter().enumerate() {
            assert_eq!(*t, i % 3 == 0, "datagram {i}");
        }
    }
}
