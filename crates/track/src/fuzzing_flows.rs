//! Fuzz harness for the collector path, shared by the `flow_collect` fuzz
//! target and the corpus replay test (`tests/fuzz_corpus.rs`).
//!
//! [`fuzz_flows`] cuts one input into datagrams from a few exporters,
//! decodes them with one [`FlowDecoder`] (small limits, so the limits are
//! reached) and stitches every record with one [`ConnTracker`], network
//! time following the records as in the collector. Checked: no panic, the
//! decoder's template memory stays within its limits, and every connection
//! created is written exactly once, with counters that add up to what the
//! records carried.
//!
//! # Input format
//!
//! ```text
//! repeated until the input ends:
//!   len      u16 big-endian: the datagram's length
//!   from     exporter: low 2 bits pick one of four source addresses
//!   data     `len` bytes (fewer if the input ends first)
//! ```
//!
//! [`encode_datagram`] writes one datagram in that format, for seeds.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::collections::HashSet;

use connwatch_wire::netflow::{CollectedFlow, DecoderLimits, FlowDecoder};
use connwatch_wire::Timestamp;

use crate::{ConnEvent, ConnTracker, TrackerConfig};

/// Appends one datagram record to a fuzz input.
pub fn encode_datagram(out: &mut Vec<u8>, exporter: u8, datagram: &[u8]) {
    let len = datagram.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.push(exporter);
    out.extend_from_slice(&datagram[..len]);
}

/// Runs one input through the decoder and the stitching tracker.
pub fn fuzz_flows(data: &[u8]) {
    let limits = DecoderLimits {
        max_scopes: 3,
        max_templates_per_scope: 4,
        max_fields: 32,
    };
    let mut dec = FlowDecoder::new(limits);
    let cfg = TrackerConfig {
        max_connections: 64,
        ..TrackerConfig::default()
    };
    let mut t = ConnTracker::new(cfg);
    let mut now = Timestamp(i64::MIN);
    let mut flows: Vec<CollectedFlow> = Vec::new();
    let mut events = Vec::new();
    let mut pkts_in: u128 = 0;
    let mut off = 0;
    while off + 3 <= data.len() {
        let len = usize::from(u16::from_be_bytes([data[off], data[off + 1]]));
        let from = data[off + 2] & 3;
        off += 3;
        let end = (off + len).min(data.len());
        let d = &data[off..end];
        off = end;
        let exporter = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, from)), 2055);
        flows.clear();
        let _ = dec.decode(exporter, d, &mut |f| flows.push(*f));
        assert!(dec.scopes() <= limits.max_scopes);
        assert!(dec.templates() <= limits.max_scopes * limits.max_templates_per_scope);
        for f in &flows {
            let e = f
                .reverse
                .map_or(f.forward.end, |r| r.end.max(f.forward.end));
            now = now.max(e);
            t.advance(now);
            t.handle_flow(f);
            for s in core::iter::once(&f.forward).chain(f.reverse.as_ref()) {
                pkts_in += u128::from(s.packets) * u128::from(f.sampling.max(1));
            }
            events.extend(t.drain_events());
        }
    }
    t.finish();
    events.extend(t.drain_events());
    let mut uids = HashSet::new();
    let mut pkts_out: u128 = 0;
    for e in &events {
        if let ConnEvent::Finished(r) = e {
            assert!(uids.insert(r.uid), "a connection written twice");
            assert!(r.ts <= r.last, "{r:?} {flows:?}");
            pkts_out += u128::from(r.orig_pkts) + u128::from(r.resp_pkts);
        }
    }
    let st = t.stats();
    assert_eq!(uids.len() as u64, st.connections, "every connection once");
    assert_eq!(st.open, 0);
    // Counters saturate at u64::MAX, and records of connections the full
    // table could not take are lost: never more out than in.
    assert!(pkts_out <= pkts_in);
    if st.untracked == 0 && st.evicted == 0 && pkts_in < u128::from(u32::MAX) {
        assert_eq!(pkts_out, pkts_in, "every packet counted once");
    }
}
