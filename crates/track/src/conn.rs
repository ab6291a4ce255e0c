//! One tracked connection: identity, orientation, history and the
//! per-protocol state, plus the history-letter rules every protocol shares.

use connwatch_wire::Timestamp;

use crate::config::Timeout;

use crate::counters::Counters;
use crate::hist_store::HistStore;
use crate::record::{Proto, ServiceList, TunnelParents};
use crate::stored_key::{StoredKey, V6Addrs};
use crate::uid::Uid;

/// The DNS analyzer is attached.
pub(crate) const PARSER_DNS: u8 = 1;
/// The DNS analyzer has seen its first message.
pub(crate) const PARSER_DNS_SEEN: u8 = 2;
/// The NTP analyzer is attached.
pub(crate) const PARSER_NTP: u8 = 4;
/// The NTP analyzer has flipped the connection (it does so once).
pub(crate) const PARSER_NTP_FLIPPED: u8 = 8;

/// Index 0 = originator, 1 = responder, in all per-side arrays.
pub(crate) const ORIG: usize = 0;
/// Responder index.
pub(crate) const RESP: usize = 1;

/// `Conn::cflags`: the connection has an entry in the tracker's VLAN
/// table (its packets carried a VLAN tag). Most networks' conn.log has no
/// VLAN, so the ids live in a side table keyed by slot, as tunnel records
/// do, instead of 4 bytes in every `Conn`.
pub(crate) const CF_VLAN: u8 = 1;
/// `Conn::cflags`: the connection has an entry in the tracker's tunnel
/// table (it was seen inside a tunnel). Few connections are, so the
/// `TunnelInfo` lives in a side table keyed by slot instead of behind a
/// pointer in every `Conn`.
pub(crate) const CF_TUNNEL: u8 = 4;
/// `Conn::cflags`: flipped after creation, so `local_*` are always set
/// (Zeek quirk).
pub(crate) const CF_FLIPPED_LATE: u8 = 8;
/// `Conn::cflags`, flow export: the inactive timeout closed the record;
/// the next packet opens a new one.
pub(crate) const EXPORT_CLOSED: u8 = 16;
/// `Conn::cflags`, flow export: the connection's slot in the tracker's
/// export state array is in use (it had a record cut, or lived past its
/// first check).
pub(crate) const EXPORT_STATE: u8 = 32;
/// `Conn::cflags`: the originator is the key's `a` side.
pub(crate) const CF_ORIG_IS_A: u8 = 64;
// (The flipped, export and orientation bits were a `bool` and a byte of
// their own each, and `hist_seen` a `u32`.)

/// UDP/ICMP/other per-side state (what Zeek's UDP/ICMP session adapters and
/// ConnSize keep).
#[derive(Debug, Clone, Default)]
pub(crate) struct PlainState {
    /// `request_len` / `reply_len`: -1 until the first good packet.
    pub len: [i64; 2],
    /// Bad-checksum counters for the scaled `C`/`c` letters (the letters
    /// stop at 10,000; Zeek would add another at 100,000).
    pub chk_cnt: [u16; 2],
    /// Service detection (`crate::service`); fits in this struct's
    /// padding.
    pub det: crate::service::Detect,
}

/// Tunnel bookkeeping, only for connections ever seen inside a tunnel.
#[derive(Debug, Clone, Default)]
pub(crate) struct TunnelInfo {
    /// Fingerprint of the current encapsulation (0 = none).
    pub encap: u64,
    /// Encapsulation changes so far.
    pub changes: u8,
    /// Directions seen through a Teredo tunnel (bit 0 orig, bit 1 resp).
    pub dirs: u8,
    /// conn.log `tunnel_parents`.
    pub parents: TunnelParents,
}

/// What a connection built from flow records keeps per side (index 0 =
/// originator): the records say no more than this.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FlowState {
    /// OR of the TCP flags of the side's records.
    pub flags: [u8; 2],
    /// Bit per side: a record of that side arrived.
    pub seen: u8,
    /// Bit per side: that side's flow ended (an idle/end/forced record, or
    /// FIN/RST when the exporter gives no reason).
    pub ended: u8,
    /// Highest sampling interval of the records (1 = not sampled).
    pub sampling: u32,
    /// First record time of the responder side, in ns (for orientation:
    /// the originator's is the connection's start).
    pub resp_first: i64,
}

impl FlowState {
    /// Swaps the sides.
    pub fn flip(&mut self) {
        self.flags.swap(0, 1);
        let swap_bits = |b: u8| ((b & 1) << 1) | ((b >> 1) & 1);
        self.seen = swap_bits(self.seen);
        self.ended = swap_bits(self.ended);
    }

    /// Every side seen has ended.
    pub fn has_ended(&self) -> bool {
        self.seen != 0 && self.ended & self.seen == self.seen
    }
}

/// Protocol-specific state.
#[derive(Debug)]
pub(crate) enum ProtoState {
    /// TCP: the endpoints, reassembly model and timers' bookkeeping (a
    /// `TcpConn`) are in the tracker's side slab at the connection's slot
    /// index, where a packet's lookup can ask for them without reading the
    /// slot first.
    Tcp,
    /// UDP, ICMP and unknown IP protocols.
    Plain(PlainState),
    /// A connection stitched from flow records (NetFlow/IPFIX collection).
    Flow(FlowState),
}

/// A saturating counter for the scaled history letters.
pub(crate) trait Counter {
    /// The counter plus one, saturating.
    fn bump(self) -> Self;
}

impl Counter for u32 {
    fn bump(self) -> Self {
        self.saturating_add(1)
    }
}

impl Counter for u16 {
    fn bump(self) -> Self {
        self.saturating_add(1)
    }
}

/// A tracked connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The flow key (IPv6 addresses in the tracker's `V6Addrs`); its
    /// `proto` is the IP protocol.
    pub key: StoredKey,
    /// The uid, as the generator state it comes from
    /// ([`Uid::from_state`]): 8 bytes instead of 12.
    pub uid_state: u64,
    pub start: Timestamp,
    pub last: Timestamp,
    pub proto: Proto,
    pub history: HistStore,
    /// `CheckHistory` bits, originator's low byte, responder's high.
    pub hist_seen: u16,
    /// Packets and IP bytes counted per side (ConnSize).
    pub counts: Counters,
    /// `CF_*` bits: orientation, whether the connection has VLANs or a
    /// tunnel record in the tracker's side tables, whether it was flipped
    /// late, and the flow-export `EXPORT_*` bits.
    pub cflags: u8,
    pub service: ServiceList,
    /// Protocol parsers attached by port that can turn a connection
    /// around (`PARSER_*` bits, the low four), and in the high four the
    /// inactivity timeout class ([`Conn::inactivity`]).
    pub parsers: u8,
    /// Flow export: IP ToS of the first packet.
    pub export_tos: u8,
    /// Long-connection schedule id (`long_conn::NOT_WATCHED` if none).
    pub long_schedule: u16,
    /// Index of the next threshold to report.
    pub long_next: u32,
    pub state: ProtoState,
}

impl Conn {
    /// Records `code` once per `mask` bit (Zeek's `CheckHistory`); returns
    /// true when it had been seen before (and so was not added now).
    #[inline]
    pub fn check_history(&mut self, mask: u16, code: u8) -> bool {
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
    pub fn scaled_history<C: Into<u64> + Copy + Counter>(
        &mut self,
        code: u8,
        counter: &mut C,
    ) -> bool {
        *counter = counter.bump();
        let c: u64 = (*counter).into();
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
        self.cflags ^= CF_ORIG_IS_A;
        self.counts.swap();
        self.add_history(b'^');
    }

    /// The originator is the key's `a` side.
    #[inline]
    pub fn orig_is_a(&self) -> bool {
        self.cflags & CF_ORIG_IS_A != 0
    }

    /// Sets which key side is the originator.
    #[inline]
    pub fn set_orig_is_a(&mut self, a: bool) {
        if a {
            self.cflags |= CF_ORIG_IS_A;
        } else {
            self.cflags &= !CF_ORIG_IS_A;
        }
    }

    /// The inactivity timeout class (Zeek's `inactivity_timeout` of the
    /// connection).
    #[inline]
    pub fn inactivity(&self) -> Timeout {
        match self.parsers >> 4 {
            1 => Timeout::Udp,
            2 => Timeout::Tcp,
            3 => Timeout::Icmp,
            4 => Timeout::UnknownIp,
            5 => Timeout::Interactive,
            6 => Timeout::Flow,
            _ => Timeout::Unset,
        }
    }

    /// Sets the inactivity timeout class.
    #[inline]
    pub fn set_inactivity(&mut self, t: Timeout) {
        let bits = match t {
            Timeout::Unset => 0,
            Timeout::Udp => 1,
            Timeout::Tcp => 2,
            Timeout::Icmp => 3,
            Timeout::UnknownIp => 4,
            Timeout::Interactive => 5,
            Timeout::Flow => 6,
        };
        self.parsers = (self.parsers & 0x0f) | (bits << 4);
    }

    /// The IP protocol number.
    #[inline]
    pub fn ip_proto(&self) -> u8 {
        self.key.proto
    }

    /// Originator (address, port); `v6` holds the addresses of keys that
    /// are not IPv4.
    pub fn orig(&self, v6: &V6Addrs) -> (core::net::IpAddr, u16) {
        let (a, b) = self.key.addrs(v6);
        if self.orig_is_a() {
            (a, self.key.pa)
        } else {
            (b, self.key.pb)
        }
    }

    /// Responder (address, port).
    pub fn resp(&self, v6: &V6Addrs) -> (core::net::IpAddr, u16) {
        let (a, b) = self.key.addrs(v6);
        if self.orig_is_a() {
            (b, self.key.pb)
        } else {
            (a, self.key.pa)
        }
    }

    /// Originator port without building addresses.
    pub fn orig_port(&self) -> u16 {
        if self.orig_is_a() {
            self.key.pa
        } else {
            self.key.pb
        }
    }

    /// Responder port without building addresses.
    pub fn resp_port(&self) -> u16 {
        if self.orig_is_a() {
            self.key.pb
        } else {
            self.key.pa
        }
    }

    /// The uid.
    pub fn uid(&self) -> Uid {
        Uid::from_state(self.uid_state)
    }

    /// Marks the connection flipped after creation (`CF_FLIPPED_LATE`).
    #[inline]
    pub fn set_flipped_late(&mut self) {
        self.cflags |= CF_FLIPPED_LATE;
    }

    /// Flipped after creation: `local_*` are then always set (Zeek quirk).
    #[inline]
    pub fn flipped_late(&self) -> bool {
        self.cflags & CF_FLIPPED_LATE != 0
    }

    /// Counts a packet for ConnSize.
    #[inline]
    pub fn count_packet(&mut self, side: usize, ip_len: u32) {
        self.counts.count(side, ip_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let (key, _) = crate::key::FlowKey::new(
            "10.0.0.1".parse().unwrap(),
            1,
            "10.0.0.2".parse().unwrap(),
            2,
            17,
            false,
        );
        Conn {
            key: StoredKey::store(&key, 0, 0, &mut V6Addrs::default()),
            uid_state: 0,
            start: Timestamp(0),
            last: Timestamp(0),
            proto: Proto::Udp,
            history: HistStore::new(),
            hist_seen: 0,
            counts: Counters::default(),
            cflags: CF_ORIG_IS_A,
            service: ServiceList::default(),
            parsers: 0,
            export_tos: 0,
            long_schedule: u16::MAX,
            long_next: 0,
            state: ProtoState::Plain(PlainState::default()),
        }
    }

    #[test]
    fn scaled_letters_at_powers_of_ten() {
        let mut c = conn();
        let mut n = 0u32;
        for _ in 0..1000 {
            c.scaled_history(b'T', &mut n);
        }
        assert_eq!(c.history.as_str(), "TTTT");
        let mut c = conn();
        let mut n = 0u32;
        for _ in 0..9 {
            c.scaled_history(b'w', &mut n);
        }
        assert_eq!(c.history.as_str(), "w");
    }

    #[test]
    fn conn_stays_small() {
        // One `Conn` per tracked connection: service detection lives in
        // the UDP state's padding and in the TCP state (a side slab); tunnel
        // records sit in a side table, `missed_bytes` in the TCP state, and
        // `ProtoState` keeps its tag in a niche of `PlainState`.
        // Flags share `cflags`, and `hist_seen` is 16 bits.
        assert_eq!(core::mem::size_of::<Conn>(), 120);
        assert_eq!(core::mem::size_of::<Option<Conn>>(), 120);
        assert_eq!(core::mem::size_of::<PlainState>(), 24);
        assert_eq!(core::mem::size_of::<ProtoState>(), 24);
    }

    #[test]
    fn inactivity_class_shares_the_parser_byte() {
        let mut c = conn();
        c.parsers = PARSER_DNS | PARSER_NTP_FLIPPED;
        for t in [
            Timeout::Unset,
            Timeout::Udp,
            Timeout::Tcp,
            Timeout::Icmp,
            Timeout::UnknownIp,
            Timeout::Interactive,
            Timeout::Flow,
        ] {
            c.set_inactivity(t);
            assert_eq!(c.inactivity(), t);
            assert_eq!(c.parsers & 0x0f, PARSER_DNS | PARSER_NTP_FLIPPED);
        }
    }

    #[test]
    fn once_letters() {
        let mut c = conn();
        assert!(!c.check_history(1, b'D'));
        assert!(c.check_history(1, b'D'));
        assert_eq!(c.history.as_str(), "D");
    }
}
