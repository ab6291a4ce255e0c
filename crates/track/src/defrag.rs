//! IPv4/IPv6 fragment reassembly, bounded in memory and time.
//!
//! As in Zeek, the datagram is handed on once all its fragments are in, at
//! the time of the fragment that completed it; a reassembler older than
//! `frag_timeout` is dropped. Fragments are rare, so the buffers here are
//! plain `Vec`s; the total held is capped so a flood of fragments cannot
//! grow memory without bound.

use std::collections::VecDeque;

use connwatch_wire::{Duration, IpPacket, Timestamp};

use crate::key::addr_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FragKey {
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    proto: u8,
}

#[derive(Debug)]
struct Pending {
    key: FragKey,
    started: Timestamp,
    /// IP header to put in front of the datagram (from the first fragment).
    header: Option<Vec<u8>>,
    version: u8,
    data: Vec<u8>,
    /// Received byte ranges of the payload, sorted and disjoint.
    have: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<u32>,
}

/// Outcome of offering a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum FragResult {
    /// Kept; the datagram is not complete yet.
    Held,
    /// The datagram is complete: a whole IP packet is in the buffer given
    /// to [`Defragmenter::add`].
    Complete,
    /// Dropped (malformed, over the limits, or not fully captured).
    Dropped,
}

/// Fragment reassembly state.
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: VecDeque<Pending>,
    held_bytes: usize,
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Fragments dropped.
    pub dropped: u64,
}

/// Largest datagram accepted (IPv4/IPv6 without jumbograms).
const MAX_DATAGRAM: u32 = 65_535;

impl Defragmenter {
    /// A reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fragments currently held, in bytes.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn expire(&mut self, now: Timestamp, timeout: Duration) {
        while let Some(p) = self.pending.front() {
            if now - p.started >= timeout {
                self.held_bytes -= p.data.len();
                self.pending.pop_front();
            } else {
                break;
            }
        }
    }

    /// Offers a fragment. On [`FragResult::Complete`], `out` holds the
    /// reassembled IP packet (header + payload) to be decoded again.
    pub fn add(
        &mut self,
        ip: &IpPacket<'_>,
        now: Timestamp,
        timeout: Duration,
        max_bytes: usize,
        out: &mut Vec<u8>,
    ) -> FragResult {
        self.expire(now, timeout);
        let Some(frag) = ip.fragment else {
            return FragResult::Dropped;
        };
        if !ip.payload_complete() {
            self.dropped += 1;
            return FragResult::Dropped;
        }
        let len = ip.payload_len();
        let start = frag.offset;
        let end = start.saturating_add(len);
        if end > MAX_DATAGRAM || (frag.more && !len.is_multiple_of(8)) {
            self.dropped += 1;
            return FragResult::Dropped;
        }
        let key = FragKey {
            src: addr_bytes(ip.src),
            dst: addr_bytes(ip.dst),
            id: frag.id,
            proto: ip.protocol,
        };
        let pos = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= 4096 {
                    self.evict_oldest();
                }
                self.pending.push_back(Pending {
                    key,
                    started: now,
                    header: None,
                    version: ip.version,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let p = &mut self.pending[pos];
        if p.data.len() < end as usize {
            let grow = end as usize - p.data.len();
            if self.held_bytes + grow > max_bytes {
                self.dropped += 1;
                return FragResult::Dropped;
            }
            self.held_bytes += grow;
            p.data.resize(end as usize, 0);
        }
        if let Some(dst) = p.data.get_mut(start as usize..end as usize) {
            dst.copy_from_slice(&ip.payload[..len as usize]);
        }
        if start == 0 {
            p.header = Some(ip.header.to_vec());
        }
        if !frag.more {
            p.total = Some(end);
        }
        insert_range(&mut p.have, start, end);
        let complete = match p.total {
            Some(t) => p.header.is_some() && p.have.first() == Some(&(0, t)),
            None => false,
        };
        if !complete {
            return FragResult::Held;
        }
        let p = self.pending.remove(pos).expect("index from position()");
        self.held_bytes -= p.data.len();
        let total = p.total.unwrap_or(0) as usize;
        let header = p.header.unwrap_or_default();
        out.clear();
        if p.version == 4 {
            let mut h = header;
            let hl = h.len();
            let tl = (hl + total).min(usize::from(u16::MAX)) as u16;
            if hl >= 20 {
                h[2..4].copy_from_slice(&tl.to_be_bytes());
                h[6] = 0;
                h[7] = 0;
                h[10] = 0;
                h[11] = 0;
                let c = connwatch_wire::checksum::checksum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
            out.extend_from_slice(&h);
        } else {
            // A plain IPv6 header whose next header is the fragment's.
            let mut h = [0u8; 40];
            h[..8].copy_from_slice(header.get(..8).unwrap_or(&[0x60, 0, 0, 0, 0, 0, 0, 0]));
            h[4..6].copy_from_slice(&(total.min(usize::from(u16::MAX)) as u16).to_be_bytes());
            h[6] = ip.protocol;
            h[8..24].copy_from_slice(&p.key.src);
            h[24..40].copy_from_slice(&p.key.dst);
            out.extend_from_slice(&h);
        }
        out.extend_from_slice(&p.data[..total.min(p.data.len())]);
        self.reassembled += 1;
        FragResult::Complete
    }

    fn evict_oldest(&mut self) {
        if let Some(p) = self.pending.pop_front() {
            self.held_bytes -= p.data.len();
            self.dropped += 1;
        }
    }
}

fn insert_range(v: &mut Vec<(u32, u32)>, lo: u32, hi: u32) {
    let pos = v.partition_point(|r| r.1 < lo);
    let (mut l, mut h) = (lo, hi);
    let mut end = pos;
    while end < v.len() && v[end].0 <= h {
        l = l.min(v[end].0);
        h = h.max(v[end].1);
        end += 1;
    }
    v.splice(pos..end, [(l, h)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge() {
        let mut v = vec![];
        insert_range(&mut v, 8, 16);
        insert_range(&mut v, 0, 8);
        insert_range(&mut v, 24, 32);
        assert_eq!(v, vec![(0, 16), (24, 32)]);
        insert_range(&mut v, 16, 24);
        assert_eq!(v, vec![(0, 32)]);
    }
}
