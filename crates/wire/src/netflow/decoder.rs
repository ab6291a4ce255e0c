//! NetFlow v5, v9 and IPFIX datagrams in, flow records out: the collector's
//! decoder (shared/spec/netflow-ipfix.md §4).
//!
//! [`FlowDecoder`] keeps what a collector must keep between datagrams, per
//! template scope (exporter address and port, version, and v9 source id or
//! IPFIX observation domain, as RFC 3954/7011 scope them): the templates,
//! the sampling rate announced in options records, and IPFIX's
//! `systemInitTimeMilliseconds` (the base of sysUpTime times). Each data
//! record becomes one [`CollectedFlow`] handed to a callback; nothing is
//! allocated per record.
//!
//! Hostile input: every read is bounds-checked; template memory is bounded
//! ([`DecoderLimits`]); a template whose records would be empty is refused
//! (it would make a data set loop forever); a malformed set ends the
//! datagram, with the records before it kept. Each failure is counted in
//! [`DecodeStats`].
//!
//! Not decoded, on purpose: v9's OUT_BYTES/OUT_PKTS (23/24; IPFIX calls them
//! post-NAT counters, and exporters disagree on their meaning), interface
//! numbers, AS numbers and next hops (conn.log has no column for them), and
//! enterprise elements other than RFC 5103's reverse ones (skipped by
//! their length, variable length included).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::collections::HashMap;

use super::{EndReason, FlowSide};
use crate::Timestamp;

/// RFC 5103's reverse-element enterprise number.
const REVERSE_PEN: u32 = 29305;
/// Seconds from 1900 (NTP era 0) to 1970.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// One flow record as the exporter described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectedFlow {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 for ICMP).
    pub src_port: u16,
    /// Destination port (for ICMP, v5-style: type · 256 + code).
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// VLAN id, where exported.
    pub vlan: Option<u16>,
    /// flowId (IE 148), where exported.
    pub flow_id: Option<u64>,
    /// flowEndReason (IE 136), where exported and known.
    pub reason: Option<EndReason>,
    /// The forward direction (source to destination).
    pub forward: FlowSide,
    /// The reverse direction, for RFC 5103 biflow records.
    pub reverse: Option<FlowSide>,
    /// Packet sampling: one packet in `sampling` was counted (1 when not
    /// sampled). Counters are as exported, not scaled.
    pub sampling: u32,
    /// biflowDirection (IE 239), where exported.
    pub biflow_direction: Option<u8>,
}

/// Bounds on what an exporter can make the decoder keep.
#[derive(Debug, Clone, Copy)]
pub struct DecoderLimits {
    /// Template scopes (exporter, version, domain) kept at once; a new one
    /// past it replaces the one unused longest.
    pub max_scopes: usize,
    /// Templates per scope; further template ids are refused.
    pub max_templates_per_scope: usize,
    /// Fields per template.
    pub max_fields: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_scopes: 4096,
            max_templates_per_scope: 512,
            max_fields: 256,
        }
    }
}

/// What the decoder counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Datagrams handed in.
    pub datagrams: u64,
    /// Datagrams by version: v5, v9, IPFIX.
    pub by_version: [u64; 3],
    /// Flow records decoded.
    pub records: u64,
    /// Template and options template records accepted.
    pub templates: u64,
    /// Options data records read (sampling, time base).
    pub options_records: u64,
    /// Data sets whose template was not (yet) known: their records are
    /// lost (a collector that starts after the exporter waits for the next
    /// template refresh).
    pub unknown_template_sets: u64,
    /// Datagrams cut short or inconsistent (bad lengths, bad set ids).
    pub malformed: u64,
    /// Datagrams of a version other than 5, 9 and 10.
    pub bad_version: u64,
    /// Templates refused: too many fields, too many templates in a scope,
    /// or records that would be empty.
    pub templates_refused: u64,
    /// Scopes forgotten to make room for a new one past `max_scopes` (the
    /// one unused longest; an exporter that restarts from a new source
    /// port opens a new scope and leaves its old one behind).
    pub scopes_evicted: u64,
    /// Records without usable addresses (no IPv4 or IPv6 source and
    /// destination), skipped.
    pub records_without_addresses: u64,
}

/// Why a datagram was not (completely) decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header or a set is cut short, or a length is inconsistent.
    #[error("malformed {0} datagram: {1}")]
    Malformed(&'static str, &'static str),
    /// Not NetFlow v5/v9 or IPFIX.
    #[error("not NetFlow v5/v9 or IPFIX (version {0})")]
    BadVersion(u16),
}

/// One field specifier of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpec {
    id: u16,
    len: u16,
    /// Enterprise number (0 = IANA).
    pen: u32,
}

const VARIABLE: u16 = 65535;

#[derive(Debug, Clone)]
struct Template {
    fields: Box<[FieldSpec]>,
    /// Bytes of the fixed-length fields (the smallest possible record).
    min_len: usize,
    /// An options template (its records describe the exporter).
    options: bool,
}

/// What one scope remembers.
#[derive(Debug, Default)]
struct Scope {
    templates: HashMap<u16, Template>,
    /// Sampling interval from options records (0 = none announced).
    sampling: u32,
    /// Sampler id -> interval, from options records (bounded).
    samplers: Vec<(u64, u32)>,
    /// IPFIX systemInitTimeMilliseconds, the base of IE 21/22.
    sys_init_ms: Option<i64>,
    /// The decoder's datagram count when the scope was last used.
    used: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ScopeKey {
    exporter: SocketAddr,
    version: u16,
    domain: u32,
}

/// Time context of the datagram being decoded.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Export time in nanoseconds since 1970.
    export_ns: i64,
    /// Header sysUptime (v9), ms.
    sys_uptime_ms: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds.
    sys_init_ms: Option<i64>,
}

/// Fields of a data record as they are read.
#[derive(Debug, Default, Clone, Copy)]
struct Builder {
    src4: Option<Ipv4Addr>,
    dst4: Option<Ipv4Addr>,
    src6: Option<Ipv6Addr>,
    dst6: Option<Ipv6Addr>,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    vlan: Option<u16>,
    flow_id: Option<u64>,
    reason: Option<u8>,
    sampling: Option<u32>,
    sampler_id: Option<u64>,
    sampling_space: Option<u32>,
    biflow_direction: Option<u8>,
    side: [SideBuilder; 2],
    has_reverse: bool,
    sys_init_ms: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct SideBuilder {
    packets: u64,
    octets: u64,
    start_ns: Option<i64>,
    end_ns: Option<i64>,
    start_uptime: Option<u32>,
    end_uptime: Option<u32>,
    duration_ms: Option<u64>,
    tcp_flags: u8,
    tos: u8,
    icmp_type_code: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
}

/// The collector's decoder: see the module documentation.
#[derive(Debug, Default)]
pub struct FlowDecoder {
    limits: DecoderLimits,
    scopes: HashMap<ScopeKey, Scope>,
    stats: DecodeStats,
    /// Datagrams that named a scope (for least-recently-used eviction).
    clock: u64,
}

fn uint(b: &[u8]) -> u64 {
    // Reduced-size encoding: any length up to 8 is an unsigned integer;
    // longer values keep their last 8 bytes.
    let b = if b.len() > 8 { &b[b.len() - 8..] } else { b };
    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

fn be16(d: &[u8], off: usize) -> Option<u16> {
    d.get(off..off + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn be32(d: &[u8], off: usize) -> Option<u32> {
    d.get(off..off + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// NTP 64-bit time (seconds since 1900, 2^-32 fraction) to Unix ns.
fn ntp_to_ns(v: u64, micro: bool) -> i64 {
    let secs = (v >> 32) as i64 - NTP_UNIX_OFFSET;
    let mut frac = v & 0xffff_ffff;
    if micro {
        // dateTimeMicroseconds: the low 11 bits of the fraction are not
        // significant (RFC 7011 §6.1.9).
        frac &= !0x7ff;
    }
    let nanos = ((frac as u128 * 1_000_000_000) >> 32) as i64;
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

fn reason_of(v: u8) -> Option<EndReason> {
    match v {
        1 => Some(EndReason::Idle),
        2 => Some(EndReason::Active),
        3 => Some(EndReason::EndOfFlow),
        4 => Some(EndReason::Forced),
        5 => Some(EndReason::LackOfResources),
        _ => None,
    }
}

impl FlowDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: DecoderLimits) -> Self {
        FlowDecoder {
            limits,
            scopes: HashMap::new(),
            stats: DecodeStats::default(),
            clock: 0,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Template scopes kept now.
    pub fn scopes(&self) -> usize {
        self.scopes.len()
    }

    /// Templates kept now, over all scopes.
    pub fn templates(&self) -> usize {
        self.scopes.values().map(|s| s.templates.len()).sum()
    }

    /// Forgets everything learnt from `exporter` (all versions and
    /// domains), e.g. when an exporter restarts.
    pub fn forget(&mut self, exporter: SocketAddr) {
        self.scopes.retain(|k, _| k.exporter != exporter);
    }

    /// Decodes one datagram received from `exporter`, handing each flow
    /// record to `out`. On an error the records decoded before it have
    /// been handed out; the error is also counted.
    pub fn decode(
        &mut self,
        exporter: SocketAddr,
        datagram: &[u8],
        out: &mut dyn FnMut(&CollectedFlow),
    ) -> Result<(), DecodeError> {
        self.stats.datagrams += 1;
        let r = match be16(datagram, 0) {
            Some(5) => {
                self.stats.by_version[0] += 1;
                self.decode_v5(datagram, out)
            }
            Some(9) => {
                self.stats.by_version[1] += 1;
                self.decode_v9(exporter, datagram, out)
            }
            Some(10) => {
                self.stats.by_version[2] += 1;
                self.decode_ipfix(exporter, datagram, out)
            }
            Some(v) => Err(DecodeError::BadVersion(v)),
            None => Err(DecodeError::Malformed("NetFlow", "shorter than a version")),
        };
        match r {
            Err(DecodeError::Malformed(..)) => self.stats.malformed += 1,
            Err(DecodeError::BadVersion(_)) => self.stats.bad_version += 1,
            Ok(()) => {}
        }
        r
    }

    fn decode_v5(
        &mut self,
        d: &[u8],
        out: &mut dyn FnMut(&CollectedFlow),
    ) -> Result<(), DecodeError> {
        const MAL: &str = "NetFlow v5";
        if d.len() < 24 {
            return Err(DecodeError::Malformed(MAL, "header cut short"));
        }
        let count = usize::from(be16(d, 2).unwrap_or(0));
        let uptime = be32(d, 4).unwrap_or(0);
        let secs = i64::from(be32(d, 8).unwrap_or(0));
        let nsecs = i64::from(be32(d, 12).unwrap_or(0)).min(999_999_999);
        let export_ns = secs * 1_000_000_000 + nsecs;
        let interval = u32::from(be16(d, 22).unwrap_or(0) & 0x3fff).max(1);
        let at = |t: u32| export_ns - uptime_diff_ms(uptime, t) * 1_000_000;
        let mut n = 0;
        for rec in d[24..].chunks_exact(48) {
            if n == count {
                break;
            }
            n += 1;
            let ip = |o: usize| Ipv4Addr::from(be32(rec, o).unwrap_or(0));
            let protocol = rec[38];
            let end = at(be32(rec, 28).unwrap_or(0));
            let side = FlowSide {
                packets: u64::from(be32(rec, 16).unwrap_or(0)),
                octets: u64::from(be32(rec, 20).unwrap_or(0)),
                // A first packet after the last one is an exporter's bug.
                start: Timestamp(at(be32(rec, 24).unwrap_or(0)).min(end)),
                end: Timestamp(end),
                tcp_flags: rec[37],
                tos: rec[39],
                icmp_type_code: if matches!(protocol, 1 | 58) {
                    be16(rec, 34).unwrap_or(0)
                } else {
                    0
                },
            };
            self.stats.records += 1;
            out(&CollectedFlow {
                src: IpAddr::V4(ip(0)),
                dst: IpAddr::V4(ip(4)),
                src_port: be16(rec, 32).unwrap_or(0),
                dst_port: be16(rec, 34).unwrap_or(0),
                protocol,
                vlan: None,
                flow_id: None,
                reason: None,
                forward: side,
                reverse: None,
                sampling: interval,
                biflow_direction: None,
            });
        }
        if n < count {
            return Err(DecodeError::Malformed(
                MAL,
                "fewer records than the header says",
            ));
        }
        Ok(())
    }

    /// The scope for a datagram, created if new; past `max_scopes` the
    /// scope unused longest makes room.
    /// The datagram's scope (see [`Self::touch_scope`]) with copies of the
    /// counters and limits, so the set walk can use all three; the caller
    /// stores the counters back.
    fn open_scope(&mut self, key: ScopeKey) -> (Option<&mut Scope>, DecodeStats, DecoderLimits) {
        self.touch_scope(key);
        let (stats, limits) = (self.stats, self.limits);
        (self.scopes.get_mut(&key), stats, limits)
    }

    fn touch_scope(&mut self, key: ScopeKey) {
        self.clock += 1;
        if !self.scopes.contains_key(&key) && self.scopes.len() >= self.limits.max_scopes.max(1) {
            if let Some(old) = self
                .scopes
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| *k)
            {
                self.scopes.remove(&old);
                self.stats.scopes_evicted += 1;
            }
        }
        self.scopes.entry(key).or_default().used = self.clock;
    }

    fn decode_v9(
        &mut self,
        exporter: SocketAddr,
        d: &[u8],
        out: &mut dyn FnMut(&CollectedFlow),
    ) -> Result<(), DecodeError> {
        const MAL: &str = "NetFlow v9";
        if d.len() < 20 {
            return Err(DecodeError::Malformed(MAL, "header cut short"));
        }
        let uptime = be32(d, 4).unwrap_or(0);
        let secs = i64::from(be32(d, 8).unwrap_or(0));
        let key = ScopeKey {
            exporter,
            version: 9,
            domain: be32(d, 16).unwrap_or(0),
        };
        let (scope, mut stats, limits) = self.open_scope(key);
        let Some(scope) = scope else {
            return Ok(());
        };
        let clock = Clock {
            export_ns: secs * 1_000_000_000,
            sys_uptime_ms: Some(uptime),
            sys_init_ms: None,
        };
        let r = walk_sets(d, 20, MAL, |set_id, body| match set_id {
            0 => v9_templates(scope, body, false, &limits, &mut stats),
            1 => v9_templates(scope, body, true, &limits, &mut stats),
            2..=255 => Err(DecodeError::Malformed(MAL, "reserved flowset id")),
            id => {
                data_set(scope, id, body, clock, &mut stats, out);
                Ok(())
            }
        });
        self.stats = stats;
        r
    }

    fn decode_ipfix(
        &mut self,
        exporter: SocketAddr,
        d: &[u8],
        out: &mut dyn FnMut(&CollectedFlow),
    ) -> Result<(), DecodeError> {
        const MAL: &str = "IPFIX";
        if d.len() < 16 {
            return Err(DecodeError::Malformed(MAL, "header cut short"));
        }
        let len = usize::from(be16(d, 2).unwrap_or(0));
        if len < 16 || len > d.len() {
            return Err(DecodeError::Malformed(MAL, "message length"));
        }
        let d = &d[..len];
        let key = ScopeKey {
            exporter,
            version: 10,
            domain: be32(d, 12).unwrap_or(0),
        };
        let (scope, mut stats, limits) = self.open_scope(key);
        let Some(scope) = scope else {
            return Ok(());
        };
        let export_ns = i64::from(be32(d, 4).unwrap_or(0)) * 1_000_000_000;
        let r = walk_sets(d, 16, MAL, |set_id, body| match set_id {
            2 => ipfix_templates(scope, body, false, &limits, &mut stats),
            3 => ipfix_templates(scope, body, true, &limits, &mut stats),
            0 | 1 | 4..=255 => Err(DecodeError::Malformed(MAL, "reserved set id")),
            id => {
                let clock = Clock {
                    export_ns,
                    sys_uptime_ms: None,
                    sys_init_ms: scope.sys_init_ms,
                };
                data_set(scope, id, body, clock, &mut stats, out);
                Ok(())
            }
        });
        self.stats = stats;
        r
    }
}

/// `sysUptime - t` in ms, as a signed difference (a record may carry a
/// time a little after the header's uptime, and uptime wraps at 2^32).
fn uptime_diff_ms(uptime: u32, t: u32) -> i64 {
    i64::from(uptime.wrapping_sub(t) as i32)
}

/// Calls `f(set_id, body)` for each set/flowset after the header.
fn walk_sets(
    d: &[u8],
    mut off: usize,
    what: &'static str,
    mut f: impl FnMut(u16, &[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    while off < d.len() {
        // v9 allows trailing padding after the last flowset.
        if d.len() - off < 4 {
            if d[off..].iter().all(|&b| b == 0) {
                return Ok(());
            }
            return Err(DecodeError::Malformed(what, "set header cut short"));
        }
        let id = be16(d, off).unwrap_or(0);
        let len = usize::from(be16(d, off + 2).unwrap_or(0));
        if len < 4 || off + len > d.len() {
            return Err(DecodeError::Malformed(what, "set length"));
        }
        f(id, &d[off + 4..off + len])?;
        off += len;
    }
    Ok(())
}

fn count_template(stats: &mut DecodeStats, stored: bool) {
    if stored {
        stats.templates += 1;
    } else {
        stats.templates_refused += 1;
    }
}

/// Stores a template, within the limits; returns false if refused.
fn store(
    scope: &mut Scope,
    id: u16,
    fields: Vec<FieldSpec>,
    options: bool,
    limits: &DecoderLimits,
) -> bool {
    let t = Template {
        min_len: min_len(&fields),
        fields: fields.into_boxed_slice(),
        options,
    };
    if t.min_len == 0 && !t.fields.iter().any(|f| f.len == VARIABLE) {
        // Records of zero bytes: a data set would never end.
        return false;
    }
    if !scope.templates.contains_key(&id) && scope.templates.len() >= limits.max_templates_per_scope
    {
        return false;
    }
    scope.templates.insert(id, t);
    true
}

fn min_len(fields: &[FieldSpec]) -> usize {
    fields
        .iter()
        .map(|f| {
            if f.len == VARIABLE {
                1
            } else {
                usize::from(f.len)
            }
        })
        .sum()
}

fn v9_templates(
    scope: &mut Scope,
    body: &[u8],
    options: bool,
    limits: &DecoderLimits,
    stats: &mut DecodeStats,
) -> Result<(), DecodeError> {
    const MAL: &str = "NetFlow v9";
    let mut off = 0;
    while off + 4 <= body.len() {
        let id = be16(body, off).unwrap_or(0);
        let (nfields, mut p) = if options {
            if off + 6 > body.len() {
                // Padding.
                break;
            }
            let scope_len = usize::from(be16(body, off + 2).unwrap_or(0));
            let opt_len = usize::from(
                be16(body, off + 4).ok_or(DecodeError::Malformed(MAL, "options template"))?,
            );
            if scope_len % 4 != 0 || opt_len % 4 != 0 {
                return Err(DecodeError::Malformed(MAL, "options template lengths"));
            }
            ((scope_len + opt_len) / 4, off + 6)
        } else {
            (usize::from(be16(body, off + 2).unwrap_or(0)), off + 4)
        };
        if id == 0 && !options {
            // Padding at the end of the flowset.
            break;
        }
        if body.len() < p + nfields * 4 {
            return Err(DecodeError::Malformed(MAL, "template cut short"));
        }
        if id < 256 {
            return Err(DecodeError::Malformed(MAL, "template id below 256"));
        }
        let ok = nfields <= limits.max_fields;
        let mut fields = Vec::new();
        if ok {
            fields.reserve_exact(nfields);
            for _ in 0..nfields {
                fields.push(FieldSpec {
                    id: be16(body, p).unwrap_or(0),
                    // v9 has no variable-length fields: 65535 is a length.
                    len: be16(body, p + 2).unwrap_or(0).min(VARIABLE - 1),
                    pen: 0,
                });
                p += 4;
            }
        } else {
            p += nfields * 4;
        }
        let stored = ok && store(scope, id, fields, options, limits);
        count_template(stats, stored);
        off = p;
    }
    Ok(())
}

fn ipfix_templates(
    scope: &mut Scope,
    body: &[u8],
    options: bool,
    limits: &DecoderLimits,
    stats: &mut DecodeStats,
) -> Result<(), DecodeError> {
    const MAL: &str = "IPFIX";
    let mut off = 0;
    while off + 4 <= body.len() {
        let id = be16(body, off).unwrap_or(0);
        let nfields = usize::from(be16(body, off + 2).unwrap_or(0));
        if nfields == 0 {
            // Withdrawal (id 2/3 = all templates of the set's kind).
            if id == 2 || id == 3 {
                scope.templates.retain(|_, t| t.options != options);
            } else {
                scope.templates.remove(&id);
            }
            off += 4;
            continue;
        }
        if id < 256 {
            if id == 0 {
                // Padding.
                break;
            }
            return Err(DecodeError::Malformed(MAL, "template id below 256"));
        }
        let mut p = off + 4;
        if options {
            // scope field count
            if be16(body, p).is_none() {
                return Err(DecodeError::Malformed(MAL, "options template cut short"));
            }
            p += 2;
        }
        let ok = nfields <= limits.max_fields;
        let mut fields = Vec::new();
        if ok {
            fields.reserve_exact(nfields);
        }
        for _ in 0..nfields {
            let raw = be16(body, p).ok_or(DecodeError::Malformed(MAL, "template cut short"))?;
            let len = be16(body, p + 2).ok_or(DecodeError::Malformed(MAL, "template cut short"))?;
            p += 4;
            let pen = if raw & 0x8000 != 0 {
                let pen = be32(body, p).ok_or(DecodeError::Malformed(MAL, "template cut short"))?;
                p += 4;
                pen
            } else {
                0
            };
            if ok {
                fields.push(FieldSpec {
                    id: raw & 0x7fff,
                    len,
                    pen,
                });
            }
        }
        let stored = ok && store(scope, id, fields, options, limits);
        count_template(stats, stored);
        off = p;
    }
    Ok(())
}

/// Decodes the records of one data set.
fn data_set(
    scope: &mut Scope,
    id: u16,
    body: &[u8],
    clock: Clock,
    stats: &mut DecodeStats,
    out: &mut dyn FnMut(&CollectedFlow),
) {
    let Some(t) = scope.templates.get(&id) else {
        stats.unknown_template_sets += 1;
        return;
    };
    let options = t.options;
    let mut off = 0;
    let mut flows = 0u64;
    let mut opts = Builder::default();
    let mut any_opts = false;
    while off + t.min_len.max(1) <= body.len() {
        let mut b = Builder::default();
        let mut p = off;
        let mut complete = true;
        for f in t.fields.iter() {
            let len = if f.len == VARIABLE {
                let Some(&l) = body.get(p) else {
                    complete = false;
                    break;
                };
                p += 1;
                if l == 255 {
                    let Some(l) = be16(body, p) else {
                        complete = false;
                        break;
                    };
                    p += 2;
                    usize::from(l)
                } else {
                    usize::from(l)
                }
            } else {
                usize::from(f.len)
            };
            let Some(v) = body.get(p..p + len) else {
                complete = false;
                break;
            };
            p += len;
            field(&mut b, f, v);
        }
        if !complete || p == off {
            // Padding (or a record cut short, which RFC 7011 calls padding).
            break;
        }
        off = p;
        if options {
            stats.options_records += 1;
            merge_options(&mut opts, &b);
            any_opts = true;
        } else if let Some(flow) = finish(&b, scope, clock) {
            flows += 1;
            out(&flow);
        } else {
            stats.records_without_addresses += 1;
        }
    }
    stats.records += flows;
    if any_opts {
        apply_options(scope, &opts);
    }
}

/// Keeps what an options record says about the exporter.
fn merge_options(acc: &mut Builder, b: &Builder) {
    if b.sys_init_ms.is_some() {
        acc.sys_init_ms = b.sys_init_ms;
    }
    if let Some(s) = sampling_of(b) {
        acc.sampling = Some(s);
        if let Some(id) = b.sampler_id {
            acc.sampler_id = Some(id);
        }
    }
}

fn apply_options(scope: &mut Scope, o: &Builder) {
    if let Some(t) = o.sys_init_ms {
        scope.sys_init_ms = Some(t);
    }
    if let Some(s) = o.sampling {
        match o.sampler_id {
            Some(id) => {
                if let Some(e) = scope.samplers.iter_mut().find(|e| e.0 == id) {
                    e.1 = s;
                } else if scope.samplers.len() < 64 {
                    scope.samplers.push((id, s));
                }
            }
            None => scope.sampling = s,
        }
    }
}

/// The sampling interval a record states: samplingInterval (34),
/// samplerRandomInterval (50), or samplingPacketInterval/Space (305/306).
fn sampling_of(b: &Builder) -> Option<u32> {
    let s = b.sampling?;
    if s == 0 {
        return Some(1);
    }
    Some(match b.sampling_space {
        // 305/306: `interval` packets selected, then `space` skipped.
        Some(space) => {
            ((u64::from(s) + u64::from(space)) / u64::from(s)).min(u64::from(u32::MAX)) as u32
        }
        None => s,
    })
}

/// Reads one field into the builder.
fn field(b: &mut Builder, f: &FieldSpec, v: &[u8]) {
    let side = match f.pen {
        0 => 0,
        REVERSE_PEN => {
            b.has_reverse = true;
            1
        }
        _ => return,
    };
    let n = || uint(v);
    let s = &mut b.side[side];
    match f.id {
        1 | 85 => s.octets = n(),
        2 | 86 => s.packets = n(),
        5 => s.tos = n() as u8,
        6 => s.tcp_flags = n() as u8,
        32 | 139 => s.icmp_type_code = Some(n() as u16),
        176 | 178 => s.icmp_type = Some(n() as u8),
        177 | 179 => s.icmp_code = Some(n() as u8),
        21 => s.end_uptime = Some(n() as u32),
        22 => s.start_uptime = Some(n() as u32),
        150 => s.start_ns = Some((n() as i64).saturating_mul(1_000_000_000)),
        151 => s.end_ns = Some((n() as i64).saturating_mul(1_000_000_000)),
        152 => s.start_ns = Some((n() as i64).saturating_mul(1_000_000)),
        153 => s.end_ns = Some((n() as i64).saturating_mul(1_000_000)),
        154 | 156 if v.len() == 8 => s.start_ns = Some(ntp_to_ns(n(), f.id == 154)),
        155 | 157 if v.len() == 8 => s.end_ns = Some(ntp_to_ns(n(), f.id == 155)),
        161 => s.duration_ms = Some(n()),
        162 => s.duration_ms = Some(n() / 1000),
        _ if side == 1 => {}
        4 => b.protocol = n() as u8,
        7 => b.src_port = n() as u16,
        11 => b.dst_port = n() as u16,
        8 if v.len() == 4 => b.src4 = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
        12 if v.len() == 4 => b.dst4 = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
        27 if v.len() == 16 => {
            b.src6 = Some(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or([0; 16])))
        }
        28 if v.len() == 16 => {
            b.dst6 = Some(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or([0; 16])))
        }
        58 | 243 => b.vlan = Some(n() as u16 & 0x0fff),
        148 => b.flow_id = Some(n()),
        136 => b.reason = Some(n() as u8),
        239 => b.biflow_direction = Some(n() as u8),
        34 | 50 | 305 => b.sampling = Some(n().min(u64::from(u32::MAX)) as u32),
        306 => b.sampling_space = Some(n().min(u64::from(u32::MAX)) as u32),
        48 | 302 => b.sampler_id = Some(n()),
        160 => b.sys_init_ms = Some(n() as i64),
        _ => {}
    }
}

/// Turns a data record into a flow, resolving times and sampling.
fn finish(b: &Builder, scope: &Scope, clock: Clock) -> Option<CollectedFlow> {
    let (src, dst) = match (b.src4, b.dst4, b.src6, b.dst6) {
        (Some(s), Some(d), _, _) => (IpAddr::V4(s), IpAddr::V4(d)),
        (_, _, Some(s), Some(d)) => (IpAddr::V6(s), IpAddr::V6(d)),
        _ => return None,
    };
    let sys_init = b.sys_init_ms.or(clock.sys_init_ms);
    let icmp = matches!(b.protocol, 1 | 58);
    let side = |s: &SideBuilder, fallback: Option<&FlowSide>| -> FlowSide {
        let rel = |t: u32| -> Option<i64> {
            match (clock.sys_uptime_ms, sys_init) {
                (Some(up), _) => Some(clock.export_ns - uptime_diff_ms(up, t) * 1_000_000),
                (None, Some(init)) => {
                    Some(init.saturating_add(i64::from(t)).saturating_mul(1_000_000))
                }
                (None, None) => None,
            }
        };
        let mut start = s.start_ns.or_else(|| s.start_uptime.and_then(rel));
        let mut end = s.end_ns.or_else(|| s.end_uptime.and_then(rel));
        if let Some(d) = s.duration_ms {
            let d = (d.min(1 << 40) as i64) * 1_000_000;
            match (start, end) {
                (Some(st), None) => end = Some(st.saturating_add(d)),
                (None, Some(e)) => start = Some(e.saturating_sub(d)),
                _ => {}
            }
        }
        if let (None, None, Some(f)) = (start, end, fallback) {
            // Reverse elements without times of their own share the
            // record's times.
            start = Some(f.start.0);
            end = Some(f.end.0);
        }
        let end = end.or(start).unwrap_or(clock.export_ns);
        let start = start.unwrap_or(end).min(end);
        let tc = match (s.icmp_type_code, s.icmp_type, s.icmp_code) {
            (Some(tc), _, _) => tc,
            (None, t, c) => u16::from(t.unwrap_or(0)) << 8 | u16::from(c.unwrap_or(0)),
        };
        FlowSide {
            packets: s.packets,
            octets: s.octets,
            start: Timestamp(start),
            end: Timestamp(end),
            tcp_flags: s.tcp_flags,
            tos: s.tos,
            icmp_type_code: if icmp { tc } else { 0 },
        }
    };
    let forward = side(&b.side[0], None);
    let reverse = b.has_reverse.then(|| side(&b.side[1], Some(&forward)));
    let sampling = sampling_of(b)
        .or_else(|| {
            b.sampler_id
                .and_then(|id| scope.samplers.iter().find(|e| e.0 == id).map(|e| e.1))
        })
        .unwrap_or(scope.sampling)
        .max(1);
    let dst_port = if icmp && b.dst_port == 0 {
        forward.icmp_type_code
    } else {
        b.dst_port
    };
    Some(CollectedFlow {
        src,
        dst,
        src_port: b.src_port,
        dst_port,
        protocol: b.protocol,
        vlan: b.vlan,
        flow_id: b.flow_id,
        reason: b.reason.and_then(reason_of),
        forward,
        reverse,
        sampling,
        biflow_direction: b.biflow_direction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 2055);

    /// An IPFIX message around the given sets.
    fn ipfix(domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = sets.concat();
        let mut m = Vec::new();
        m.extend_from_slice(&10u16.to_be_bytes());
        m.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
        m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&domain.to_be_bytes());
        m.extend_from_slice(&body);
        m
    }

    fn set(id: u16, body: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(&id.to_be_bytes());
        s.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// A template record: (ie, len, pen) fields.
    fn template(id: u16, fields: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&id.to_be_bytes());
        t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for &(ie, len, pen) in fields {
            let raw = if pen != 0 { ie | 0x8000 } else { ie };
            t.extend_from_slice(&raw.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
            if pen != 0 {
                t.extend_from_slice(&pen.to_be_bytes());
            }
        }
        t
    }

    const BASIC: &[(u16, u16, u32)] = &[
        (8, 4, 0),
        (12, 4, 0),
        (7, 2, 0),
        (11, 2, 0),
        (4, 1, 0),
        (2, 4, 0),
        (1, 4, 0),
    ];

    fn basic_record(pkts: u32) -> Vec<u8> {
        let mut r = vec![10, 0, 0, 1, 10, 0, 0, 2];
        r.extend_from_slice(&40000u16.to_be_bytes());
        r.extend_from_slice(&80u16.to_be_bytes());
        r.push(6);
        r.extend_from_slice(&pkts.to_be_bytes());
        r.extend_from_slice(&(pkts * 40).to_be_bytes());
        r
    }

    fn run(dec: &mut FlowDecoder, m: &[u8]) -> (Vec<CollectedFlow>, Result<(), DecodeError>) {
        let mut v = Vec::new();
        let r = dec.decode(EXP, m, &mut |f| v.push(*f));
        (v, r)
    }

    #[test]
    fn template_then_data_in_one_message() {
        let mut dec = FlowDecoder::default();
        let m = ipfix(
            7,
            &[
                set(2, &template(300, BASIC)),
                set(300, &[basic_record(3), basic_record(4)].concat()),
            ],
        );
        let (v, r) = run(&mut dec, &m);
        assert_eq!(r, Ok(()));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            (v[0].src_port, v[0].dst_port, v[0].protocol),
            (40000, 80, 6)
        );
        assert_eq!((v[1].forward.packets, v[1].forward.octets), (4, 160));
        // No times in the template: the export time.
        assert_eq!(v[0].forward.start, Timestamp(1_700_000_000 * 1_000_000_000));
        assert_eq!(v[0].sampling, 1);
        // Another domain of the same exporter has no template 300.
        let (v, _) = run(&mut dec, &ipfix(8, &[set(300, &basic_record(1))]));
        assert!(v.is_empty());
        assert_eq!(dec.stats().unknown_template_sets, 1);
    }

    #[test]
    fn variable_length_and_enterprise_fields_are_skipped() {
        let mut fields = vec![(82, VARIABLE, 0), (1000, 3, 6871), (5000, VARIABLE, 9)];
        fields.extend_from_slice(BASIC);
        let mut rec = vec![3, b'e', b't', b'h', 1, 2, 3, 255, 0, 2, 9, 9];
        rec.extend(basic_record(5));
        let m = ipfix(0, &[set(2, &template(256, &fields)), set(256, &rec)]);
        let mut dec = FlowDecoder::default();
        let (v, r) = run(&mut dec, &m);
        assert_eq!(r, Ok(()));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].forward.packets, 5);
    }

    #[test]
    fn reverse_elements_make_a_biflow() {
        let mut fields = BASIC.to_vec();
        fields.extend_from_slice(&[
            (2, 4, REVERSE_PEN),
            (1, 4, REVERSE_PEN),
            (6, 1, REVERSE_PEN),
        ]);
        let mut rec = basic_record(5);
        rec.extend_from_slice(&3u32.to_be_bytes());
        rec.extend_from_slice(&620u32.to_be_bytes());
        rec.push(0x12);
        let m = ipfix(0, &[set(2, &template(256, &fields)), set(256, &rec)]);
        let (v, _) = run(&mut FlowDecoder::default(), &m);
        let rev = v[0].reverse.expect("biflow");
        assert_eq!((rev.packets, rev.octets, rev.tcp_flags), (3, 620, 0x12));
        assert_eq!(rev.start, v[0].forward.start);
    }

    #[test]
    fn sampling_announced_in_an_options_record_applies_to_later_records() {
        let mut opt = Vec::new();
        opt.extend_from_slice(&400u16.to_be_bytes());
        opt.extend_from_slice(&3u16.to_be_bytes()); // fields
        opt.extend_from_slice(&1u16.to_be_bytes()); // scope fields
        for (ie, len) in [(143u16, 4u16), (305, 4), (306, 4)] {
            opt.extend_from_slice(&ie.to_be_bytes());
            opt.extend_from_slice(&len.to_be_bytes());
        }
        let mut data = 7u32.to_be_bytes().to_vec();
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&99u32.to_be_bytes());
        let m = ipfix(
            0,
            &[
                set(3, &opt),
                set(2, &template(256, BASIC)),
                set(400, &data),
                set(256, &basic_record(2)),
            ],
        );
        let mut dec = FlowDecoder::default();
        let (v, r) = run(&mut dec, &m);
        assert_eq!(r, Ok(()));
        assert_eq!(v[0].sampling, 100, "1 packet selected, 99 skipped");
        assert_eq!(dec.stats().options_records, 1);
    }

    #[test]
    fn a_template_of_empty_records_is_refused() {
        let m = ipfix(
            0,
            &[set(2, &template(256, &[(210, 0, 0)])), set(256, &[0u8; 40])],
        );
        let mut dec = FlowDecoder::default();
        let (v, r) = run(&mut dec, &m);
        assert_eq!(r, Ok(()));
        assert!(v.is_empty());
        assert_eq!(dec.stats().templates_refused, 1);
        assert_eq!(dec.templates(), 0);
    }

    #[test]
    fn templates_and_scopes_are_bounded() {
        let limits = DecoderLimits {
            max_scopes: 2,
            max_templates_per_scope: 3,
            max_fields: 4,
        };
        let mut dec = FlowDecoder::new(limits);
        let many: Vec<u8> = (256..266)
            .flat_map(|id| template(id, &[(8, 4, 0)]))
            .collect();
        let _ = run(&mut dec, &ipfix(0, &[set(2, &many)]));
        assert_eq!(dec.templates(), 3);
        assert_eq!(dec.stats().templates_refused, 7);
        // Too many fields.
        let _ = run(&mut dec, &ipfix(1, &[set(2, &template(256, BASIC))]));
        assert_eq!(dec.stats().templates_refused, 8);
        // A third domain is a third scope: the one unused longest (domain
        // 0) goes, with its templates.
        let (_, r) = run(&mut dec, &ipfix(2, &[set(2, &template(256, &[(8, 4, 0)]))]));
        assert_eq!(r, Ok(()));
        assert_eq!((dec.scopes(), dec.stats().scopes_evicted), (2, 1));
        assert_eq!(dec.templates(), 1);
        let _ = run(&mut dec, &ipfix(0, &[set(2, &many)]));
        assert_eq!(dec.templates(), 4);
        // Withdrawal frees a scope's templates.
        let _ = run(&mut dec, &ipfix(0, &[set(2, &[1, 0, 0, 0])]));
        assert_eq!(dec.templates(), 3);
        let _ = run(&mut dec, &ipfix(0, &[set(2, &[0, 2, 0, 0])]));
        assert_eq!(dec.templates(), 1);
    }

    #[test]
    fn malformed_datagrams_are_counted() {
        let mut dec = FlowDecoder::default();
        let good = ipfix(0, &[set(2, &template(256, BASIC))]);
        for bad in [
            &good[..10],             // header cut
            &good[..good.len() - 3], // message length beyond the datagram
            &[0u8, 42, 0, 0][..],    // version 42
            &[][..],                 // nothing
        ] {
            assert!(run(&mut dec, bad).1.is_err());
        }
        // A set longer than the message.
        let mut m = good.clone();
        m[18] = 0xff;
        assert!(matches!(
            run(&mut dec, &m).1,
            Err(DecodeError::Malformed(..))
        ));
        let s = dec.stats();
        assert_eq!((s.malformed, s.bad_version), (4, 1));
        // v5 with fewer records than its header says keeps the whole ones.
        let mut v5 = vec![0u8; 24 + 48 + 10];
        v5[1] = 5;
        v5[3] = 2;
        let (v, r) = run(&mut dec, &v5);
        assert_eq!(v.len(), 1);
        assert!(r.is_err());
    }

    #[test]
    fn v9_times_are_relative_to_the_header_uptime() {
        // Header: uptime 10,000 ms at unix 1,700,000,000 s; a record from
        // uptime 4,000 to 9,000 ms.
        let mut m = Vec::new();
        for v in [9u16, 2] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        for v in [10_000u32, 1_700_000_000, 1, 5] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        let mut t = Vec::new();
        t.extend_from_slice(&256u16.to_be_bytes());
        t.extend_from_slice(&5u16.to_be_bytes());
        for (ie, len) in [(8u16, 4u16), (12, 4), (22, 4), (21, 4), (2, 4)] {
            t.extend_from_slice(&ie.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
        m.extend(set(0, &t));
        let mut d = vec![10, 0, 0, 1, 10, 0, 0, 2];
        for v in [4_000u32, 9_000, 3] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        d.extend_from_slice(&[0, 0]); // padding
        m.extend(set(256, &d));
        let (v, r) = run(&mut FlowDecoder::default(), &m);
        assert_eq!(r, Ok(()));
        assert_eq!(v.len(), 1);
        let s = 1_700_000_000i64 * 1_000_000_000;
        assert_eq!(v[0].forward.start, Timestamp(s - 6_000_000_000));
        assert_eq!(v[0].forward.end, Timestamp(s - 1_000_000_000));
        assert_eq!(v[0].reason, None);
    }

    #[test]
    fn ntp_times() {
        // 1 s after the Unix epoch, half a second.
        let v = ((NTP_UNIX_OFFSET as u64 + 1) << 32) | 0x8000_0000;
        assert_eq!(ntp_to_ns(v, false), 1_500_000_000);
    }
}
