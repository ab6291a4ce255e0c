//! One tracked connection: identity, orientation, history and the
//! per-protocol state, plus the history-letter rules every protocol shares.

use connwatch_wire::{Duration, Timestamp};

use crate::key::FlowKey;
use crate::record::{History, Proto, ServiceList, TunnelParents};
use crate::tcp::TcpConn;
use crate::uid::Uid;

/// Index 0 = originator, 1 = responder, in all per-side arrays.
pub(crate) const ORIG: usize = 0;
/// Responder index.
pub(crate) const RESP: usize = 1;

/// UDP/ICMP/other per-side state (what Zeek's UDP/ICMP session adapters and
/// ConnSize keep).
#[derive(Debug, Clone, Default)]
pub(crate) struct PlainState {
    /// `request_len` / `reply_len`: -1 until the first good packet.
    pub len: [i64; 2],
    /// Bad-checksum counters for the scaled `C`/`c` letters.
    pub chk_cnt: [u32; 2],
}

/// Protocol-specific state.
#[derive(Debug)]
pub(crate) enum ProtoState {
    /// TCP endpoints, reassembly model, timers' bookkeeping.
    Tcp(Box<TcpConn>),
    /// UDP, ICMP and unknown IP protocols.
    Plain(PlainState),
}

/// A tracked connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub key: FlowKey,
    pub uid: Uid,
    pub start: Timestamp,
    pub last: Timestamp,
    /// The originator is the key's `a` side.
    pub orig_is_a: bool,
    pub proto: Proto,
    pub ip_proto: u8,
    pub history: History,
    pub hist_seen: u32,
    /// Packets counted per side (ConnSize).
    pub pkts: [u64; 2],
    /// IP bytes counted per side (ConnSize).
    pub ip_bytes: [u64; 2],
    /// Flipped after creation: `local_*` are then always set (Zeek quirk).
    pub flipped_late: bool,
    pub inactivity_timeout: Duration,
    /// Bumped when the inactivity timer is replaced.
    pub inactivity_epoch: u8,
    /// Bumped when the protocol's timers are cancelled.
    pub analyzer_epoch: u8,
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
    pub service: ServiceList,
    /// Fingerprint of the current encapsulation (0 = not tunnelled).
    pub encap: u64,
    pub encap_changes: u8,
    pub parents: Option<Box<TunnelParents>>,
    pub missed_bytes: u64,
    /// Directions seen through a Teredo tunnel (bit 0 orig, bit 1 resp).
    pub tunnel_dirs: u8,
    pub state: ProtoState,
}

impl Conn {
    /// Records `code` once per `mask` bit (Zeek's `CheckHistory`); returns
    /// true when it had been seen before (and so was not added now).
    #[inline]
    pub fn check_history(&mut self, mask: u32, code: u8) -> bool {
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            self.history.push(code);
            false
        } else {
            true
        }
    }

    /// Appends a letter.
    #[inline]
    pub fn add_history(&mut self, code: u8) {
        self.history.push(code);
    }

    /// Zeek's `ScaledHistoryEntry` with base 10: the letter is recorded when
    /// the counter reaches 1, 10, 100, ...
    pub fn scaled_history(&mut self, code: u8, counter: &mut u32) -> bool {
        *counter = counter.saturating_add(1);
        let c = u64::from(*counter);
        let mut t = 1u64;
        while t < c {
            t *= 10;
        }
        if t == c {
            self.history.push(code);
        }
        t == c
    }

    /// Swaps the roles of originator and responder in the shared state
    /// (Zeek's `Connection::FlipRoles`); the caller flips the protocol
    /// state, which it may have taken out of `state` while working on it.
    pub fn flip_common(&mut self) {
        self.orig_is_a = !self.orig_is_a;
        self.pkts.swap(0, 1);
        self.ip_bytes.swap(0, 1);
        self.add_history(b'^');
    }

    /// Originator (address, port).
    pub fn orig(&self) -> (core::net::IpAddr, u16) {
        if self.orig_is_a {
            (self.key.addr_a(), self.key.pa)
        } else {
            (self.key.addr_b(), self.key.pb)
        }
    }

    /// Responder (address, port).
    pub fn resp(&self) -> (core::net::IpAddr, u16) {
        if self.orig_is_a {
            (self.key.addr_b(), self.key.pb)
        } else {
            (self.key.addr_a(), self.key.pa)
        }
    }

    /// Responder port without building addresses.
    pub fn resp_port(&self) -> u16 {
        if self.orig_is_a {
            self.key.pb
        } else {
            self.key.pa
        }
    }

    /// Counts a packet for ConnSize.
    #[inline]
    pub fn count_packet(&mut self, side: usize, ip_len: u32) {
        self.pkts[side] += 1;
        self.ip_bytes[side] += u64::from(ip_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let (key, _) = FlowKey::new(
            "10.0.0.1".parse().unwrap(),
            1,
            "10.0.0.2".parse().unwrap(),
            2,
            17,
            false,
        );
        Conn {
            key,
            uid: Uid::default(),
            start: Timestamp(0),
            last: Timestamp(0),
            orig_is_a: true,
            proto: Proto::Udp,
            ip_proto: 17,
            history: History::new(),
            hist_seen: 0,
            pkts: [0; 2],
            ip_bytes: [0; 2],
            flipped_late: false,
            inactivity_timeout: Duration::from_secs(60),
            inactivity_epoch: 0,
            analyzer_epoch: 0,
            vlan: None,
            inner_vlan: None,
            service: ServiceList::default(),
            encap: 0,
            encap_changes: 0,
            parents: None,
            missed_bytes: 0,
            tunnel_dirs: 0,
            state: ProtoState::Plain(PlainState::default()),
        }
    }

    #[test]
    fn scaled_letters_at_powers_of_ten() {
        let mut c = conn();
        let mut n = 0;
        for _ in 0..1000 {
            c.scaled_history(b'T', &mut n);
        }
        assert_eq!(c.history.as_str(), "TTTT");
        let mut c = conn();
        let mut n = 0;
        for _ in 0..9 {
            c.scaled_history(b'w', &mut n);
        }
        assert_eq!(c.history.as_str(), "w");
    }

    #[test]
    fn once_letters() {
        let mut c = conn();
        assert!(!c.check_history(1, b'D'));
        assert!(c.check_history(1, b'D'));
        assert_eq!(c.history.as_str(), "D");
    }
}
