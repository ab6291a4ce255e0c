//! Fuzz harness for the whole packet path, shared by the `pipeline` fuzz
//! target and the corpus replay test (`tests/fuzz_corpus.rs`).
//!
//! Nothing here is used on the packet path. [`fuzz_pipeline`] cuts one
//! input into several frames and feeds them, with advancing network time,
//! through a [`PacketAnalyzer`], so state that lives across packets
//! (connections, timers, tunnels, fragments) is exercised, then checks
//! invariants of the conn.log records that come out.
//!
//! # Input format
//!
//! ```text
//! byte 0     flags: bits 0-2 link type (LINKS[0..7], 7 = a per-frame
//!            byte picks one of MIXED_LINKS), then FLAG_* bits
//! then, repeated until the input ends:
//!   len      u16 big-endian; the low 15 bits are the frame length, the top
//!            bit says a `cut` byte follows the time code
//!   tcode    network time step before this frame (see `time_step`)
//!   [cut]    only with the top bit: the capture kept `len` of
//!            `len + 1 + 64 * cut` bytes on the wire (snaplen cut)
//!   [link]   only in mixed mode: index into MIXED_LINKS (mod 16)
//!   data     `len` bytes (fewer if the input ends first)
//! ```
//!
//! [`encode_frame`] writes one frame record in that format, for seeds.

use std::collections::HashSet;

use connwatch_wire::{Duration, Frame, LinkType, Timestamp};

use crate::{ConnEvent, ConnRecord, LocalNets, PacketAnalyzer, TrackerConfig};

/// Link types of the fixed modes (low 3 bits of the first byte, 0..=6).
pub const LINKS: [LinkType; 7] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::NULL,
    LinkType::LINUX_SLL,
    LinkType::IEEE802_11_RADIOTAP,
    LinkType::LINUX_SLL2,
    LinkType::LOOP,
];

/// Mode 7: each frame starts with a byte choosing its link type (mod 16).
pub const MODE_MIXED: u8 = 7;

/// Link types of mixed mode: every one `link::decode` knows, and an
/// unknown one.
pub const MIXED_LINKS: [u32; 16] = [
    0, 1, 9, 12, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276, 65000, 1,
];

/// Verify checksums (the default mode ignores them, as `-C` does, because
/// random packets almost never have good ones).
pub const FLAG_CHECKSUMS: u8 = 0x08;
/// Run the input twice and require identical records (determinism).
pub const FLAG_TWICE: u8 = 0x10;
/// Tight limits: little fragment memory, few connections.
pub const FLAG_TIGHT: u8 = 0x20;
/// Short timeouts, so timers fire within small time steps.
pub const FLAG_SHORT_TIMEOUTS: u8 = 0x40;
/// No local networks (`local_orig`/`local_resp` unset).
pub const FLAG_NO_LOCAL_NETS: u8 = 0x80;

/// Network time of the first frame (2011-03-14).
pub const START: Timestamp = Timestamp::from_secs_nanos(1_300_000_000, 0);

/// The time step a time code stands for, in nanoseconds.
///
/// `0..=63`: about `c` ms (with sub-microsecond parts); `64..=127`:
/// `(c-64) * 250` ms; `128..=191`: `(c-128) * 10` s; `192..=247`:
/// `(c-192) * 10` min; `248..=254`: `c-247` days; `255`: 1.5 s backwards.
pub fn time_step(c: u8) -> i64 {
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    let c64 = i64::from(c);
    match c {
        0..=63 => c64 * 1_000_123,
        64..=127 => (c64 - 64) * 250 * MS,
        128..=191 => (c64 - 128) * 10 * S,
        192..=247 => (c64 - 192) * 600 * S,
        248..=254 => (c64 - 247) * 86_400 * S,
        255 => -1_500 * MS,
    }
}

/// The largest time code whose step is at most `ns` (never the backwards
/// one), for writing seeds from real captures.
pub fn time_code(ns: i64) -> u8 {
    (0..=254u8)
        .filter(|&c| time_step(c) <= ns)
        .max_by_key(|&c| time_step(c))
        .unwrap_or(0)
}

/// Appends one frame record to `out` (see the module docs). `link` is only
/// written in mixed mode; `wire_len` beyond `data.len()` is rounded up to
/// what the format can say.
pub fn encode_frame(
    out: &mut Vec<u8>,
    mixed_link: Option<u8>,
    tcode: u8,
    data: &[u8],
    wire_len: u32,
) {
    let len = data.len().min(0x7fff);
    let missing = wire_len.saturating_sub(len as u32);
    let cut = (missing > 0).then(|| ((missing - 1).div_ceil(64)).min(255) as u8);
    let hi = (len >> 8) as u8 | if cut.is_some() { 0x80 } else { 0 };
    out.extend_from_slice(&[hi, len as u8, tcode]);
    out.extend(cut);
    out.extend(mixed_link);
    out.extend_from_slice(&data[..len]);
}

/// The configuration the flags ask for.
pub fn config(flags: u8) -> TrackerConfig {
    let mut cfg = TrackerConfig {
        ignore_checksums: flags & FLAG_CHECKSUMS == 0,
        ..TrackerConfig::default()
    };
    if flags & FLAG_TIGHT != 0 {
        cfg.max_fragment_bytes = 4096;
        cfg.max_connections = 16;
    }
    if flags & FLAG_SHORT_TIMEOUTS != 0 {
        let s = Duration::from_secs;
        cfg.tcp_inactivity_timeout = s(7);
        cfg.udp_inactivity_timeout = s(3);
        cfg.icmp_inactivity_timeout = s(2);
        cfg.unknown_ip_inactivity_timeout = s(2);
        cfg.frag_timeout = s(4);
        cfg.ip_tunnel_timeout = s(30);
        cfg.interactive_inactivity_timeout = s(20);
        cfg.dns_session_timeout = s(2);
    }
    if flags & FLAG_NO_LOCAL_NETS != 0 {
        cfg.local_nets = LocalNets::empty();
    }
    cfg
}

/// Runs `data` through a packet analyzer and checks the records; must never
/// panic.
pub fn fuzz_pipeline(data: &[u8]) {
    let Some((&flags, _)) = data.split_first() else {
        return;
    };
    let first = run(data);
    if flags & FLAG_TWICE != 0 {
        let second = run(data);
        assert!(first == second, "the same input gave different records");
    }
}

/// One run: every frame, `finish`, then the invariants. Returns the records
/// in the order they came.
fn run(data: &[u8]) -> Vec<ConnRecord> {
    let (&flags, mut rest) = data.split_first().expect("non-empty input");
    let mode = flags & 7;
    let mut analyzer = PacketAnalyzer::new(config(flags));
    let mut records = Vec::new();
    let mut ts = START;
    let (mut min_ts, mut max_ts) = (START, START);
    let mut monotonic = true;
    let mut frames = 0u64;

    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0] & 0x7f, rest[1]]));
        let has_cut = rest[0] & 0x80 != 0;
        let step = time_step(rest[2]);
        rest = &rest[3..];
        let cut = if has_cut {
            let Some((&c, r)) = rest.split_first() else {
                break;
            };
            rest = r;
            Some(c)
        } else {
            None
        };
        let link = if mode == MODE_MIXED {
            let Some((&l, r)) = rest.split_first() else {
                break;
            };
            rest = r;
            LinkType(MIXED_LINKS[usize::from(l & 15)])
        } else {
            LINKS[usize::from(mode)]
        };
        let (frame, r) = rest.split_at(len.min(rest.len()));
        rest = r;
        let caplen = frame.len() as u32;
        let wire_len = match cut {
            Some(c) => caplen + 1 + 64 * u32::from(c),
            None => caplen,
        };

        monotonic &= step >= 0;
        ts = Timestamp(ts.0.saturating_add(step));
        min_ts = min_ts.min(ts);
        max_ts = max_ts.max(ts);
        analyzer.handle_frame(&Frame {
            ts,
            link,
            data: frame,
            wire_len,
            interface: 0,
        });
        frames += 1;
        // Records leave as the sensor takes them: after each frame.
        for ev in analyzer.tracker().drain_events() {
            let ConnEvent::Finished(rec) = ev else {
                continue;
            };
            if monotonic {
                assert!(
                    rec.last <= ts,
                    "record of {:?} ends at {:?}, after network time {:?}",
                    rec.uid,
                    rec.last,
                    ts
                );
            }
            records.push(rec);
        }
    }

    analyzer.finish();
    records.extend(analyzer.tracker().drain_events().filter_map(|ev| match ev {
        ConnEvent::Finished(rec) => Some(rec),
        ConnEvent::Interim { .. } => None,
    }));
    assert_eq!(analyzer.stats().frames, frames, "frames counted");
    check(&mut analyzer, &records, min_ts, max_ts, monotonic);
    records
}

/// Invariants of a finished run.
fn check(
    analyzer: &mut PacketAnalyzer,
    records: &[ConnRecord],
    min_ts: Timestamp,
    max_ts: Timestamp,
    monotonic: bool,
) {
    let tracker = analyzer.tracker_ref();
    let stats = tracker.stats();
    assert_eq!(stats.open, 0, "connections left open after finish");
    assert_eq!(tracker.live().count(), 0, "live connections after finish");
    assert!(tracker.events().is_empty(), "events left after draining");
    assert_eq!(
        records.len() as u64,
        stats.connections,
        "one record per connection created"
    );
    assert!(stats.peak_open <= stats.connections, "peak above created");

    let mut uids = HashSet::with_capacity(records.len());
    for rec in records {
        assert!(uids.insert(rec.uid), "uid {:?} finished twice", rec.uid);
        let mut buf = [0u8; crate::Uid::MAX_LEN];
        let uid = rec.uid.render(&mut buf);
        assert!(
            uid.starts_with('C') && uid.bytes().all(|b| b.is_ascii_alphanumeric()),
            "bad uid {uid:?}"
        );
        assert!(
            !rec.tunnel_parents.as_slice().contains(&rec.uid),
            "{uid} is its own tunnel parent"
        );
        // Times are frame times.
        for t in [rec.ts, rec.last] {
            assert!(
                min_ts <= t && t <= max_ts,
                "{uid}: time {t:?} outside the input's {min_ts:?}..={max_ts:?}"
            );
        }
        if monotonic {
            assert!(
                rec.ts <= rec.last,
                "{uid}: last {:?} before ts {:?}",
                rec.last,
                rec.ts
            );
        }
        if let Some(d) = rec.duration_secs() {
            assert!(d.is_finite() && d > 0.0, "{uid}: duration {d}");
        }
        // No bytes without packets.
        assert!(
            rec.orig_pkts > 0 || rec.orig_ip_bytes == 0,
            "{uid}: orig_ip_bytes {} without packets",
            rec.orig_ip_bytes
        );
        assert!(
            rec.resp_pkts > 0 || rec.resp_ip_bytes == 0,
            "{uid}: resp_ip_bytes {} without packets",
            rec.resp_ip_bytes
        );
        let h = rec.history.as_bytes();
        assert!(
            h.iter().all(|b| b.is_ascii_alphabetic() || *b == b'^'),
            "{uid}: history {:?}",
            rec.history.as_str()
        );
        let _ = rec.conn_state.as_str();
        let _ = rec.proto.as_str();
        for s in rec.service.iter() {
            let _ = s.as_str();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_codes_round_trip() {
        for c in 0..=254u8 {
            assert_eq!(time_step(time_code(time_step(c))), time_step(c));
        }
        assert_eq!(time_code(-5), 0);
        assert!(time_step(255) < 0);
    }

    #[test]
    fn runs_a_small_tcp_exchange_in_every_mode() {
        // Raw IPv4 TCP SYN 10.0.0.1:1234 -> 10.0.0.2:80 (checksums zero).
        let syn = [
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, //
            0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
        ];
        for flags in [
            1u8,
            1 | FLAG_TWICE,
            1 | FLAG_SHORT_TIMEOUTS | FLAG_TIGHT,
            0xff,
        ] {
            let mut input = vec![flags];
            let link = (flags & 7 == MODE_MIXED).then_some(5); // raw IP
            for tcode in [0, 5, 200, 255, 250] {
                encode_frame(&mut input, link, tcode, &syn, 60);
            }
            fuzz_pipeline(&input);
            // Every prefix, too.
            for n in 0..input.len() {
                fuzz_pipeline(&input[..n]);
            }
        }
    }
}
