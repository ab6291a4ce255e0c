//! `ConnTracker`: the connection table, per-packet dispatch to the TCP and
//! UDP/ICMP rules, timers on network time, and record emission.
//!
//! Zeek semantics (shared/spec/zeek-conn.md): before a packet is processed,
//! every timer due at or before its timestamp fires; a connection is looked
//! up by its canonical 5-tuple (one hash lookup per packet), created with
//! Zeek's orientation heuristics, and removed by its timers or at the end of
//! input, when its conn.log record is emitted.

use core::net::IpAddr;

use connwatch_wire::{IcmpMessage, IpPacket, TcpFlags, Timestamp, UdpDatagram};

use crate::config::{Timeout, TrackerConfig};
use crate::conn::{
    Conn, PlainState, ProtoState, TunnelInfo, CF_ORIG_IS_A, CF_TUNNEL, CF_VLAN, ORIG, PARSER_DNS,
    PARSER_DNS_SEEN, PARSER_NTP, PARSER_NTP_FLIPPED, RESP,
};
use crate::counters::Counters;
use crate::hist_store::HistStore;
use crate::key::FlowKey;
use crate::long_conn::{self, LastReport, Schedules, NOT_WATCHED};
use crate::record::{ConnEvent, ConnRecord, ConnState, Proto, Service, ServiceList};
use crate::service;
use crate::slab::{SideSlab, Slab, CHUNK};
use crate::stored_key::{StoredKey, V6Addrs};
use crate::table::FlowTable;
use crate::tcp::{Segment, TcpConn};
use crate::timers::TimerWheel;
use crate::uid::{Uid, UidGenerator};
use connwatch_wire::app::ftp::DataChannel;
use connwatch_wire::netflow::EndReason;

mod evict;
mod expiry;
mod export;
mod flows;
mod long;

pub use flows::FlowStats;

/// The kinds of timer a connection can have (3 bits of a timer's stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TimerKind {
    /// `Connection::InactivityTimer`.
    Inactivity = 0,
    /// `TCPSessionAdapter::AttemptTimer`.
    Attempt,
    /// `TCPSessionAdapter::ExpireTimer`.
    Expire,
    /// `ConnDeleteTimer` after a complete close.
    Delete,
    /// `DNS_Analyzer::ExpireTimer` (UDP DNS sessions end after
    /// `dns_session_timeout` of silence).
    DnsExpire,
    /// The next long-connection threshold (conn_long.log).
    LongReport,
    /// Flow export: the active or inactive timeout of the open record.
    Export,
}

/// What the wheel holds: which connection (slot + generation), which timer,
/// and the epoch that says whether it was cancelled since, in 8 bytes (a
/// wheel entry is 16 with its deadline). The stamp packs the low
/// [`STAMP_GEN_BITS`] bits of the generation, the 8-bit epoch and the kind;
/// the tracker sweeps the wheel before any slot's generation can advance by
/// `2^STAMP_GEN_BITS` (`gen_bumps`), so a stale timer is never taken for a
/// current one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimerItem {
    idx: u32,
    stamp: u32,
}

/// Generation bits kept in a timer's stamp.
const STAMP_GEN_BITS: u32 = 21;
/// Connection removals (generation bumps) after which the wheel is swept
/// whatever its size: half the stamp's generation range.
const GEN_SWEEP: u32 = 1 << (STAMP_GEN_BITS - 1);

impl TimerItem {
    fn new(idx: u32, gen: u32, kind: TimerKind, epoch: u8) -> Self {
        TimerItem {
            idx,
            stamp: Self::stamp(gen, kind, epoch),
        }
    }

    #[inline]
    fn stamp(gen: u32, kind: TimerKind, epoch: u8) -> u32 {
        (gen << (32 - STAMP_GEN_BITS)) | (u32::from(epoch) << 3) | kind as u32
    }

    #[inline]
    fn kind(self) -> TimerKind {
        // Only `new` makes stamps, so 7 never occurs.
        const KINDS: [TimerKind; 8] = [
            TimerKind::Inactivity,
            TimerKind::Attempt,
            TimerKind::Expire,
            TimerKind::Delete,
            TimerKind::DnsExpire,
            TimerKind::LongReport,
            TimerKind::Export,
            TimerKind::Export,
        ];
        KINDS[(self.stamp & 7) as usize]
    }

    fn epoch(self) -> u8 {
        (self.stamp >> 3) as u8
    }

    /// Whether the timer was armed in generation `gen` of its slot.
    #[inline]
    fn gen_is(self, gen: u32) -> bool {
        (self.stamp ^ (gen << (32 - STAMP_GEN_BITS))) >> (32 - STAMP_GEN_BITS) == 0
    }
}

/// The chunks a connection's slot comes from (see [`crate::slab`]): a TCP
/// connection's slot is in a chunk with TCP state beside it, an IPv6
/// one's in a chunk with room for its addresses beside it
/// ([`StoredKey`]); four kinds of chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotKind(u8);

impl SlotKind {
    /// How many kinds there are.
    const N: usize = 4;

    /// The kind for a connection of this key, with TCP state or not
    /// (connections built from flow records have none).
    pub(super) fn new(key: &FlowKey, tcp_state: bool) -> SlotKind {
        Self::with(tcp_state, StoredKey::needs_slab(key))
    }

    /// The kind of a connection's slot.
    fn of(conn: &Conn) -> SlotKind {
        Self::with(matches!(conn.state, ProtoState::Tcp), conn.key.in_slab())
    }

    /// The kind with TCP state beside it or not, IPv6 addresses or not.
    fn with(tcp_state: bool, v6_addrs: bool) -> SlotKind {
        SlotKind(u8::from(tcp_state) | (u8::from(v6_addrs) << 1))
    }

    /// Its slot has TCP state beside it.
    fn tcp(self) -> bool {
        self.0 & 1 != 0
    }
}

/// Per-slot bookkeeping kept apart from the connections, in a dense array,
/// so that stale timers are recognised without touching the connection.
#[derive(Debug, Clone, Copy, Default)]
struct Meta {
    gen: u32,
    /// Bumped when the protocol's timers are cancelled.
    analyzer_epoch: u8,
    /// Bumped when the inactivity timer is replaced.
    inactivity_epoch: u8,
}

/// Timer access for the protocol code while it works on one connection.
pub(crate) struct TimerCtx<'a> {
    wheel: &'a mut TimerWheel<TimerItem>,
    idx: u32,
    meta: &'a mut Meta,
    pub cfg: &'a TrackerConfig,
    pub now: Timestamp,
}

impl TimerCtx<'_> {
    /// The current network time as Zeek's double.
    pub fn now_secs(&self) -> f64 {
        self.now.as_zeek_secs()
    }

    /// Arms a protocol timer.
    pub fn arm(&mut self, kind: TimerKind, deadline: f64) {
        self.wheel.push(
            deadline,
            TimerItem::new(self.idx, self.meta.gen, kind, self.meta.analyzer_epoch),
        );
    }

    /// `Analyzer::CancelTimers`.
    pub fn cancel_analyzer_timers(&mut self) {
        self.meta.analyzer_epoch = self.meta.analyzer_epoch.wrapping_add(1);
    }

    /// `Connection::SetInactivityTimeout`.
    ///
    /// Zeek cancels the inactivity timer and arms one at `last + timeout`.
    /// A longer timeout arms nothing here: the timer already armed is due
    /// no later than `last + timeout`, and when it fires it finds the
    /// connection not yet idle for the new timeout and re-arms at exactly
    /// `last + timeout` (`InactivityTimer`'s own rule), so the connection
    /// is removed at the same time, by a timer at the same deadline. Only
    /// the order among timers of equal deadlines may differ, which nothing
    /// relies on. This spares every TCP connection a second inactivity
    /// timer when its handshake completes (the UDP timeout, its class until
    /// then, is the shorter), and the wheel a stale 5-minute entry for
    /// every connection that closes.
    pub fn set_inactivity_timeout(&mut self, conn: &mut Conn, class: Timeout) {
        if class == conn.inactivity() {
            return;
        }
        let timeout = self.cfg.timeout(class);
        // While the current class's timeout is not zero, one inactivity
        // timer is armed, due no later than `last` plus that timeout.
        let armed = self.cfg.timeout(conn.inactivity());
        if timeout == armed || (armed.as_nanos() != 0 && timeout > armed) {
            conn.set_inactivity(class);
            return;
        }
        self.meta.inactivity_epoch = self.meta.inactivity_epoch.wrapping_add(1);
        conn.set_inactivity(class);
        if timeout.as_nanos() != 0 {
            self.wheel.push(
                conn.last.as_zeek_secs() + timeout.as_secs_f64(),
                TimerItem::new(
                    self.idx,
                    self.meta.gen,
                    TimerKind::Inactivity,
                    self.meta.inactivity_epoch,
                ),
            );
        }
    }
}

/// The encapsulation a packet arrived in: uids of the tunnels, outermost
/// first, and a fingerprint of the whole stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encap {
    /// Number of tunnel layers.
    pub depth: u8,
    /// Tunnel uids, outermost first.
    pub uids: [Uid; 4],
    /// Identifies the stack (0 = no tunnel).
    pub fingerprint: u64,
}

impl Encap {
    /// This stack with one more (inner) layer; `None` past `max_depth`.
    pub fn push(&self, uid: Uid, kind: u8, max_depth: usize) -> Option<Encap> {
        let d = usize::from(self.depth);
        if d >= max_depth.min(4) {
            return None;
        }
        let mut e = *self;
        e.uids[d] = uid;
        e.depth += 1;
        // FNV-style mixing of the layers; never 0.
        let mut h = self.fingerprint ^ 0xcbf2_9ce4_8422_2325;
        for v in [u64::from(uid.hi), uid.lo, u64::from(kind)] {
            h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
        }
        e.fingerprint = h | 1;
        Some(e)
    }

    /// The innermost tunnel's uid.
    pub fn innermost(&self) -> Option<Uid> {
        self.depth.checked_sub(1).map(|i| self.uids[usize::from(i)])
    }
}

/// The transport part of a packet handed to the tracker.
#[derive(Debug, Clone, Copy)]
pub enum L4<'a> {
    /// A TCP segment with a usable header.
    Tcp(connwatch_wire::TcpSegment<'a>),
    /// A TCP header whose data offset is broken or not captured: the
    /// connection exists but the packet is otherwise ignored.
    TcpBroken {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flags.
        flags: TcpFlags,
        /// Sequence number.
        seq: u32,
    },
    /// A UDP datagram.
    Udp(UdpDatagram<'a>),
    /// An ICMP or ICMPv6 message.
    Icmp(IcmpMessage<'a>),
    /// Any other IP protocol.
    Other,
}

/// One packet, dissected, as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub struct PacketIn<'a> {
    /// Network time.
    pub ts: Timestamp,
    /// The IP layer (of the innermost packet for tunnelled traffic).
    pub ip: &'a IpPacket<'a>,
    /// The transport layer (borrowed: a copy into every packet's
    /// `PacketIn` cost some ten stores a packet).
    pub l4: &'a L4<'a>,
    /// The transport checksum is good, or was not checked.
    pub checksum_ok: bool,
    /// The tunnels around it.
    pub encap: &'a Encap,
    /// Outer VLAN of the frame.
    pub vlan: Option<u16>,
    /// Inner VLAN of the frame.
    pub inner_vlan: Option<u16>,
}

/// What the tracker says about the connection a packet belonged to.
#[derive(Debug, Clone, Copy)]
pub struct ConnRef {
    /// Slot of the connection (valid until the next call).
    pub index: u32,
    /// Its uid's generator state (see [`ConnRef::uid`]): the uid itself
    /// is worked out only when a tunnel needs it, not for every packet.
    uid_state: u64,
    /// Responder port (tunnel analyzers are chosen by it).
    pub resp_port: u16,
    /// The packet came from the originator.
    pub is_orig: bool,
    /// The packet was accepted (good checksum, usable header).
    pub accepted: bool,
}

impl ConnRef {
    /// The connection's uid.
    #[inline]
    pub fn uid(&self) -> Uid {
        Uid::from_state(self.uid_state)
    }
}

/// Counters the tracker keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackerStats {
    /// Connections created.
    pub connections: u64,
    /// Connections currently tracked.
    pub open: u64,
    /// Highest number of connections tracked at once.
    pub peak_open: u64,
    /// [`ConnTracker::memory_bytes`] when `peak_open` was reached (sampled
    /// at every 256th new peak), or now if that is more.
    pub peak_bytes: usize,
    /// Connections evicted because of `max_connections`.
    pub evicted: u64,
    /// Connections not tracked at all: the table was full and no tracked
    /// connection could be evicted (all had been reported as long).
    pub untracked: u64,
    /// Connections created, by protocol (`[tcp, udp, icmp, other]`).
    pub created_by_proto: [u64; 4],
    /// Connections tracked now, by protocol (`[tcp, udp, icmp, other]`).
    pub open_by_proto: [u64; 4],
}

/// Index of a protocol in the per-protocol counters.
fn proto_slot(p: Proto) -> usize {
    match p {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Unknown => 3,
    }
}

/// The connection tracker.
pub struct ConnTracker {
    cfg: TrackerConfig,
    table: FlowTable,
    hasher: foldhash::fast::FixedState,
    conns: Slab<Conn>,
    /// The `TcpConn` of each TCP connection, at its slot index: TCP
    /// connections get slots in chunks that have this storage.
    tcp: SideSlab<TcpConn>,
    meta: Vec<Meta>,
    /// Free slots by kind ([`SlotKind`]).
    free: [Vec<u32>; SlotKind::N],
    /// By kind: the chunk whose slots are being handed out for the first
    /// time (its first slot) and how many of them have been.
    fresh: [Option<(u32, u32)>; SlotKind::N],
    wheel: TimerWheel<TimerItem>,
    uids: UidGenerator,
    schedules: Option<Schedules>,
    /// Counters at the previous report, for connections reported at least
    /// once (the deltas and the once-only notice).
    long_prev: hashbrown::HashMap<u32, LastReport>,
    /// Timers left in the wheel by the last sweep.
    timers_live: usize,
    /// Connections removed since the last sweep (see [`TimerItem`]).
    gen_bumps: u32,
    /// Packets that fired no timer, modulo 256 ([`ConnTracker::advance`]).
    tidy_tick: u8,
    /// Tunnel bookkeeping of the connections with `CF_TUNNEL`, by slot.
    tunnels: hashbrown::HashMap<u32, TunnelInfo>,
    /// Addresses of the connections whose keys are not IPv4.
    v6addrs: V6Addrs,
    /// Outer and inner VLAN of the connections with `CF_VLAN`, by slot.
    vlans: hashbrown::HashMap<u32, [Option<u16>; 2]>,
    /// First-threshold reports of watched connections, in deadline order:
    /// (slot, generation). Kept out of the wheel because every watched
    /// connection has one and most end long before it is due; a queue in
    /// creation order costs 8 bytes each and is purged of ended
    /// connections when it outgrows the open ones. The deadline is not
    /// stored: it is the live connection's `start` plus its schedule's
    /// first threshold (`long.rs`).
    long_first: std::collections::VecDeque<(u32, u32)>,
    /// Deadline of `long_first`'s front entry (infinity when empty).
    long_head: f64,
    /// Deadline of the latest entry queued (an upper bound of the back's
    /// once purges have run), for the in-order test.
    long_back: f64,
    events: Vec<ConnEvent>,
    /// Flow records to export, drained apart from the events (they are
    /// smaller, and go to another sink).
    flows: Vec<connwatch_wire::netflow::FlowRecord>,
    stats: TrackerStats,
    /// Random state for choosing eviction candidates.
    evict_rng: u64,
    /// Next slot [`ConnTracker::finish_some`] looks at.
    finish_cursor: usize,
    /// With a cap: eviction candidates in creation order (slot, gen).
    evict_queue: std::collections::VecDeque<(u32, u32)>,
    /// Flow export state per slot (empty when export is off); valid for a
    /// connection with `EXPORT_STATE` set.
    xstate: Vec<export::ExportState>,
    /// Flow export: each connection's first check (inactive timeout after
    /// its start), in deadline order: (deadline, slot, generation). Most
    /// connections end before it; a queue costs them far less than the
    /// wheel.
    export_first: std::collections::VecDeque<(f64, u32, u32)>,
    /// Network time of the last `advance`.
    now: Timestamp,
    /// Counters of connections stitched from flow records.
    flow_stats: FlowStats,
    /// FTP data connections announced on control connections, waiting for
    /// their connection (Zeek's expected connections).
    expected: Vec<Expected>,
}

/// An announced FTP data connection.
#[derive(Debug, Clone, Copy)]
struct Expected {
    orig: IpAddr,
    resp: IpAddr,
    resp_port: u16,
    deadline: Timestamp,
}

/// How long an announced data connection is waited for (Zeek's FTP
/// scripts schedule the analyzer for 5 minutes).
const EXPECT_TIMEOUT: connwatch_wire::Duration = connwatch_wire::Duration::from_secs(300);
/// Most announcements remembered at once (the oldest go first).
const MAX_EXPECTED: usize = 256;

/// ICMPv4/ICMPv6 counterpart types (`ICMP4_counterpart`, `ICMP6_counterpart`):
/// `Some(type)` for request/reply pairs, `None` for one-way types.
fn icmp_counterpart(v6: bool, t: u8) -> Option<u8> {
    let pair = if v6 {
        match t {
            128 => 129,
            129 => 128,
            133 => 134,
            134 => 133,
            135 => 136,
            136 => 135,
            130 => 131,
            131 => 130,
            139 => 140,
            140 => 139,
            144 => 145,
            145 => 144,
            _ => return None,
        }
    } else {
        match t {
            8 => 0,
            0 => 8,
            13 => 14,
            14 => 13,
            15 => 16,
            16 => 15,
            10 => 9,
            9 => 10,
            17 => 18,
            18 => 17,
            _ => return None,
        }
    };
    Some(pair)
}

fn is_v4_broadcast(a: IpAddr) -> bool {
    matches!(a, IpAddr::V4(v) if v.is_broadcast())
}

impl ConnTracker {
    /// A tracker with the given configuration.
    pub fn new(cfg: TrackerConfig) -> Self {
        let hasher = foldhash::fast::FixedState::with_seed(cfg.uid_seed ^ 0x9e37_79b9);
        let uids = UidGenerator::new(cfg.uid_seed);
        let cap = if cfg.max_connections > 0 {
            cfg.max_connections
        } else {
            1024
        };
        ConnTracker {
            table: FlowTable::with_capacity(cap),
            hasher,
            conns: Slab::default(),
            meta: Vec::with_capacity(cap.min(1 << 20)),
            tcp: SideSlab::default(),
            free: Default::default(),
            fresh: [None; SlotKind::N],
            wheel: TimerWheel::new(),
            uids,
            schedules: cfg.long.as_ref().map(Schedules::new),
            long_prev: hashbrown::HashMap::new(),
            tunnels: hashbrown::HashMap::new(),
            vlans: hashbrown::HashMap::new(),
            v6addrs: V6Addrs::default(),
            timers_live: 0,
            gen_bumps: 0,
            tidy_tick: 0,
            long_first: std::collections::VecDeque::new(),
            long_head: f64::INFINITY,
            long_back: f64::NEG_INFINITY,
            events: Vec::new(),
            flows: Vec::new(),
            stats: TrackerStats::default(),
            evict_rng: cfg.uid_seed | 1,
            finish_cursor: 0,
            evict_queue: std::collections::VecDeque::new(),
            xstate: Vec::new(),
            export_first: std::collections::VecDeque::new(),
            now: Timestamp(i64::MIN),
            flow_stats: FlowStats::default(),
            expected: Vec::new(),
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> TrackerStats {
        // The peak is sampled at every 256th new peak of open connections;
        // the current size covers a run that never reached 256, or one at
        // its peak now. Not at other times: after many connections end,
        // the free-slot lists are long and every slot is still there,
        // which is no cost of the connections open then.
        let mut s = self.stats;
        if s.peak_bytes == 0 || s.open == s.peak_open {
            s.peak_bytes = s.peak_bytes.max(self.memory_bytes());
        }
        s
    }

    /// Estimated bytes held by the table, the connections and the timers
    /// (TCP state and tunnel records counted at their allocation size).
    pub fn memory_bytes(&self) -> usize {
        self.table.memory()
            + self.conns.memory()
            + self.meta.capacity() * core::mem::size_of::<Meta>()
            + self.tcp.memory()
            + self.free.iter().map(Vec::capacity).sum::<usize>() * 4
            + self.wheel.memory()
            + self.long_first.capacity() * 8
            + self.export_first.capacity() * 16
            + self.xstate.capacity() * core::mem::size_of::<export::ExportState>()
            + self.evict_queue.capacity() * 8
            + self.v6addrs.memory()
            + self.vlans.capacity() * (4 + core::mem::size_of::<[Option<u16>; 2]>())
            + self.tunnels.capacity() * (4 + core::mem::size_of::<TunnelInfo>())
            + self.long_prev.capacity() * (4 + core::mem::size_of::<LastReport>())
    }

    /// A new uid from the tracker's generator (also used for IP tunnels).
    pub fn next_uid(&mut self) -> Uid {
        self.uids.next_uid()
    }

    /// Records produced so far; the caller drains them after each call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, ConnEvent> {
        self.events.drain(..)
    }

    /// Pending events without draining.
    pub fn events(&self) -> &[ConnEvent] {
        &self.events
    }

    /// Flow records produced so far (flow export); the caller drains them
    /// with the events. A connection's last record comes before its
    /// `Finished` event is drained, never after.
    pub fn drain_flows(&mut self) -> std::vec::Drain<'_, connwatch_wire::netflow::FlowRecord> {
        self.flows.drain(..)
    }

    /// Pending flow records without draining.
    pub fn flows(&self) -> &[connwatch_wire::netflow::FlowRecord] {
        &self.flows
    }

    fn hash(&self, key: &FlowKey) -> u64 {
        use core::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    /// Moves network time to `now`: fires every timer due at or before it.
    /// Inlined into the frame loop: most packets only compare the clock
    /// with three heads, and a call cost more than that (register saves).
    /// Forced: with `handle_frame` forced into the loop, a mere hint was no
    /// longer followed.
    #[inline(always)]
    pub fn advance(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        let t = now.as_zeek_secs();
        // Most packets find nothing due: the wheel answers from its cached
        // horizon, the two queues from their heads.
        if self.wheel.peek_due(t).is_some()
            || self.long_head <= t
            || self.export_first.front().is_some_and(|e| e.0 <= t)
        {
            self.fire_due(t, now);
            self.tidy_queues();
            return;
        }
        // Between firings the queues grow only by what a few packets arm,
        // so every 64th packet is often enough to look (the limits allow
        // thousands of entries of slack); the comparisons cost some 15
        // instructions a packet when made on every one.
        self.tidy_tick = self.tidy_tick.wrapping_add(1);
        if self.tidy_tick.is_multiple_of(64) {
            self.tidy_queues();
        }
    }

    /// Fires everything due at `t`, in deadline order across the wheel
    /// and the two first-deadline queues.
    #[inline(never)]
    fn fire_due(&mut self, t: f64, now: Timestamp) {
        loop {
            // The three queues fire in deadline order, interleaved (on a
            // tie: the wheel, then long reports, then export checks).
            let first = Some(self.long_head).filter(|d| *d <= t);
            let xfirst = self.export_first.front().map(|e| e.0).filter(|d| *d <= t);
            let wheel = self.wheel.peek_due(t);
            let inf = f64::INFINITY;
            let (a, x, w) = (
                first.unwrap_or(inf),
                xfirst.unwrap_or(inf),
                wheel.unwrap_or(inf),
            );
            if a == inf && x == inf && w == inf {
                break;
            }
            if w <= a && w <= x {
                self.fire_wheel(t, now);
            } else if a <= x {
                let Some((idx, gen)) = self.long_first.pop_front() else {
                    break;
                };
                self.refresh_long_head();
                if self.meta.get(idx as usize).is_some_and(|m| m.gen == gen)
                    && self.long_report(idx)
                {
                    self.arm_long(TimerItem::new(idx, gen, TimerKind::LongReport, 0));
                }
            } else {
                let Some((_, idx, gen)) = self.export_first.pop_front() else {
                    break;
                };
                if self.meta.get(idx as usize).is_some_and(|m| m.gen == gen) {
                    self.export_first_check(idx, now);
                }
            }
        }
    }

    /// Purges of the queues and the wheel, when they outgrow what is live.
    #[inline(never)]
    fn tidy_queues(&mut self) {
        if self.export_first.len() > 2 * self.stats.open as usize + 4096 {
            let meta = &self.meta;
            self.export_first
                .retain(|e| meta.get(e.1 as usize).is_some_and(|m| m.gen == e.2));
        }
        let open = self.stats.open as usize;
        if self.long_first.len() > open + open / 4 + 4096 {
            self.purge_long_first();
        }
        // Cancelled timers stay in the wheel until their time comes (lazy
        // cancellation); sweep them out so memory follows the open
        // connections, not the churn. The sweep waits until half as many
        // timers as there are open connections were added to what the
        // last one left (`timers_live`), so its cost per armed timer stays
        // small however many of them are current. With 16-byte entries
        // compacted in place, waiting for open/2 instead of open saved 10
        // bytes per open connection for 0.9% more instructions.
        // A sweep also comes before the stamps' generations can wrap.
        if self.wheel.len() > self.timers_live + open / 2 + 16_384 || self.gen_bumps >= GEN_SWEEP {
            self.sweep_timers();
            self.gen_bumps = 0;
            self.timers_live = self.wheel.len();
        }
    }

    /// Removes every connection (end of input), emitting their records.
    pub fn finish(&mut self) {
        while !self.finish_some(usize::MAX) {}
    }

    /// Like [`ConnTracker::finish`], a part at a time: removes up to `max`
    /// connections; true once every connection is gone. Draining the
    /// events between calls keeps a flush of a full table from holding
    /// every record in memory at once.
    pub fn finish_some(&mut self, max: usize) -> bool {
        let mut n = 0;
        while self.finish_cursor < self.conns.len() {
            if n == max {
                return false;
            }
            let idx = self.finish_cursor;
            self.finish_cursor += 1;
            if self.conns[idx].is_some() {
                // A TCP connection already closed or reset ended by itself.
                let reason = match self.tcp_of(idx as u32) {
                    Some(t) if t.has_ended() => EndReason::EndOfFlow,
                    _ => EndReason::Forced,
                };
                self.remove(idx as u32, reason);
                n += 1;
            }
        }
        self.finish_cursor = 0;
        while self.wheel.pop_any().is_some() {}
        true
    }

    /// Removes a connection that ended for `reason` (the flow export's
    /// `flowEndReason` of its last record).
    fn remove(&mut self, idx: u32, reason: EndReason) {
        // Read in place: moving the 120-byte connection out of its slot
        // cost a copy per connection.
        let Some(conn) = self.conns.get(idx as usize).and_then(Option::as_ref) else {
            return;
        };
        let rec = self.record(idx, conn);
        let hash = self.hash(&conn.key.key(&self.v6addrs));
        let (long_next, cflags, kind, proto) =
            (conn.long_next, conn.cflags, SlotKind::of(conn), conn.proto);
        if self.cfg.export.is_some() {
            // The exporter's last record needs the tracker mutably.
            if let Some(conn) = self.conns[idx as usize].take() {
                self.export_final(idx, &conn, reason, conn.last);
            }
        } else {
            self.conns[idx as usize] = None;
        }
        let m = &mut self.meta[idx as usize];
        m.gen = m.gen.wrapping_add(1);
        self.gen_bumps = self.gen_bumps.saturating_add(1);
        self.table.remove(hash, idx);
        if long_next > 0 {
            self.long_prev.remove(&idx);
        }
        if cflags & CF_TUNNEL != 0 {
            self.tunnels.remove(&idx);
        }
        if cflags & CF_VLAN != 0 {
            self.vlans.remove(&idx);
        }
        self.free[kind.0 as usize].push(idx);
        self.stats.open = self.stats.open.saturating_sub(1);
        let p = &mut self.stats.open_by_proto[proto_slot(proto)];
        *p = p.saturating_sub(1);
        self.events.push(ConnEvent::Finished(rec));
    }

    /// Files a new connection's VLANs (if any) in the side table.
    pub(crate) fn set_vlans(
        &mut self,
        idx: u32,
        conn: &mut Conn,
        vlan: Option<u16>,
        inner: Option<u16>,
    ) {
        if vlan.is_some() || inner.is_some() {
            conn.cflags |= CF_VLAN;
            self.file_vlans(idx, [vlan, inner]);
        }
    }

    /// The side-table insert of [`ConnTracker::set_vlans`], out of line:
    /// the hash map's insert is large, and most traffic has no VLAN.
    #[inline(never)]
    fn file_vlans(&mut self, idx: u32, vlans: [Option<u16>; 2]) {
        self.vlans.insert(idx, vlans);
    }

    /// Files a new tunnelled connection's tunnel state, out of line (see
    /// [`ConnTracker::file_vlans`]).
    #[inline(never)]
    fn file_tunnel(&mut self, idx: u32, t: TunnelInfo) {
        self.tunnels.insert(idx, t);
    }

    /// A connection's outer and inner VLAN.
    pub(crate) fn vlans_of(&self, idx: u32, conn: &Conn) -> [Option<u16>; 2] {
        if conn.cflags & CF_VLAN != 0 {
            self.vlans.get(&idx).copied().unwrap_or_default()
        } else {
            [None, None]
        }
    }

    /// Builds the conn.log record of a connection as it stands.
    fn record(&self, idx: u32, conn: &Conn) -> ConnRecord {
        let (orig_h, orig_p) = conn.orig(&self.v6addrs);
        let (resp_h, resp_p) = conn.resp(&self.v6addrs);
        let mut history = conn.history.to_history();
        let mut sampling = 0;
        // `missed_bytes`: only TCP has content gaps.
        let mut missed_bytes = 0;
        let (bytes, conn_state) = match &conn.state {
            ProtoState::Tcp => match self.tcp.get(idx as usize) {
                Some(t) => {
                    missed_bytes = t.missed_bytes;
                    (t.sizes(), t.conn_state(conn.history.as_bytes()))
                }
                None => ([0, 0], ConnState::OTH),
            },
            ProtoState::Flow(st) => {
                history = flows::flow_history(conn.proto, st, conn.counts.pkts_both());
                sampling = st.sampling;
                let v6 = orig_h.is_ipv6();
                let est = |s: usize| {
                    flows::payload_estimate(
                        conn.proto,
                        v6,
                        conn.counts.pkts(s),
                        conn.counts.ip_bytes(s),
                    )
                };
                (
                    [est(ORIG), est(RESP)],
                    flows::flow_conn_state(conn.proto, st),
                )
            }
            ProtoState::Plain(p) => {
                let b = [p.len[ORIG].max(0) as u64, p.len[RESP].max(0) as u64];
                let st = if conn.proto == Proto::Udp {
                    match (p.len[ORIG] >= 0, p.len[RESP] >= 0) {
                        (true, true) => ConnState::SF,
                        (true, false) => ConnState::S0,
                        (false, true) => ConnState::SHR,
                        (false, false) => ConnState::OTH,
                    }
                } else {
                    ConnState::OTH
                };
                (b, st)
            }
        };
        let nets = &self.cfg.local_nets;
        let vlans = self.vlans_of(idx, conn);
        let local = |a: IpAddr| (!nets.is_empty() || conn.flipped_late()).then(|| nets.contains(a));
        ConnRecord {
            ts: conn.start,
            last: conn.last,
            uid: conn.uid(),
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto: conn.proto,
            service: conn.service,
            orig_bytes: bytes[ORIG],
            resp_bytes: bytes[RESP],
            conn_state,
            local_orig: local(orig_h),
            local_resp: local(resp_h),
            missed_bytes,
            history,
            orig_pkts: conn.counts.pkts(ORIG),
            orig_ip_bytes: conn.counts.ip_bytes(ORIG),
            resp_pkts: conn.counts.pkts(RESP),
            resp_ip_bytes: conn.counts.ip_bytes(RESP),
            tunnel_parents: if conn.cflags & CF_TUNNEL != 0 {
                self.tunnels
                    .get(&idx)
                    .map(|t| t.parents.clone())
                    .unwrap_or_default()
            } else {
                Default::default()
            },
            ip_proto: conn.ip_proto(),
            vlan: vlans[0],
            inner_vlan: vlans[1],
            sampling,
        }
    }

    /// Records of every live connection, as they stand (slot order).
    pub fn live(&self) -> impl Iterator<Item = ConnRecord> + '_ {
        self.conns
            .iter_indexed()
            .map(|(i, c)| self.record(i as u32, c))
    }

    /// Adds a confirmed service to a live connection.
    pub fn confirm_service(&mut self, index: u32, service: Service) {
        if let Some(Some(c)) = self.conns.get_mut(index as usize) {
            c.service.add(service);
        }
    }

    /// Notes a direction seen through a tunnel; true once both were seen.
    pub fn note_tunnel_direction(&mut self, index: u32, is_orig: bool) -> bool {
        match self.conns.get_mut(index as usize) {
            Some(Some(c)) => {
                c.cflags |= CF_TUNNEL;
                let t = self.tunnels.entry(index).or_default();
                t.dirs |= if is_orig { 1 } else { 2 };
                t.dirs == 3
            }
            _ => false,
        }
    }

    /// Runs service detection on a UDP datagram, then lets the DNS and NTP
    /// parsers attached to the connection look at it.
    ///
    /// The DNS and NTP parsers attached to a UDP connection look at a
    /// datagram and turn the connection around as Zeek's do (spec §6.2):
    /// DNS when the first message is a response from the originator (not
    /// towards a multicast responder), NTP once on a server-mode message
    /// from the originator or a client-mode one from the responder.
    ///
    /// The flipping datagram stays counted where it was (Zeek's UDP and
    /// ConnSize analyzers do not swap their counters on such a flip), so
    /// it ends up on the originator side of the new orientation.
    pub fn udp_parsers(&mut self, index: u32, is_orig: bool, payload: &[u8]) {
        let Some(Some(c)) = self.conns.get_mut(index as usize) else {
            return;
        };
        let rp = c.resp_port();
        if let ProtoState::Plain(p) = &mut c.state {
            if p.det.active() && self.cfg.detect.any() {
                let dns = self.cfg.dns_udp_ports.contains(rp);
                let on = self.cfg.detect;
                service::udp_payload(&mut p.det, &mut c.service, on, rp, dns, is_orig, payload);
            }
        }
        if c.parsers & (PARSER_DNS | PARSER_NTP) == 0 {
            return;
        }
        let mut flip = false;
        if c.parsers & PARSER_DNS != 0 && c.parsers & PARSER_DNS_SEEN == 0 && payload.len() >= 12 {
            c.parsers |= PARSER_DNS_SEEN;
            let is_response = payload[2] & 0x80 != 0;
            let resp_multicast = is_multicast(c.resp(&self.v6addrs).0);
            flip = is_response && is_orig && !resp_multicast;
        }
        if c.parsers & PARSER_NTP != 0 && c.parsers & PARSER_NTP_FLIPPED == 0 && payload.len() >= 48
        {
            let mode = payload[0] & 7;
            if (mode == 4 && is_orig) || (mode == 3 && !is_orig) {
                c.parsers |= PARSER_NTP_FLIPPED;
                flip = true;
            }
        }
        if flip {
            c.set_orig_is_a(!c.orig_is_a());
            c.add_history(b'^');
            c.set_flipped_late();
        }
    }

    /// Appends a history letter to a live connection (e.g. `X` when a
    /// tunnel is nested too deep).
    pub fn add_history_once(&mut self, index: u32, code: u8) {
        if let Some(Some(c)) = self.conns.get_mut(index as usize) {
            if !c.history.as_bytes().contains(&code) {
                c.add_history(code);
            }
        }
    }

    /// Processes one packet. Call [`advance`](Self::advance) with its time
    /// first.
    pub fn handle(&mut self, pkt: &PacketIn<'_>) -> Option<ConnRef> {
        let ip = pkt.ip;
        let v6 = ip.version == 6;
        let (sport, dport, one_way, proto) = match *pkt.l4 {
            L4::Tcp(t) => (t.src_port, t.dst_port, false, Proto::Tcp),
            L4::TcpBroken {
                src_port, dst_port, ..
            } => (src_port, dst_port, false, Proto::Tcp),
            L4::Udp(u) => (u.src_port, u.dst_port, false, Proto::Udp),
            L4::Icmp(m) => match icmp_counterpart(v6, m.icmp_type) {
                Some(c) => (u16::from(m.icmp_type), u16::from(c), false, Proto::Icmp),
                None => (u16::from(m.icmp_type), u16::from(m.code), true, Proto::Icmp),
            },
            L4::Other => (0, 0, false, Proto::Unknown),
        };
        let (key, src_is_a) = FlowKey::new(ip.src, sport, ip.dst, dport, ip.protocol, one_way);
        let hash = self.hash(&key);

        let found = {
            let (conns, v6) = (&self.conns, &self.v6addrs);
            self.table.find(hash, |i| {
                conns[i as usize]
                    .as_ref()
                    .is_some_and(|c| c.key.matches(&key, hash, i, v6))
            })
        };

        let idx = match found {
            Some(idx) => {
                let reuse = match (pkt.l4, self.tcp_of(idx)) {
                    (L4::Tcp(t), Some(tcp)) => tcp.is_reuse(t.flags, t.seq),
                    (L4::TcpBroken { flags, seq, .. }, Some(tcp)) => tcp.is_reuse(*flags, *seq),
                    _ => false,
                };
                if reuse {
                    self.remove(idx, EndReason::EndOfFlow);
                    self.create(pkt, key, hash, src_is_a, proto, sport, dport)?
                } else {
                    self.check_encapsulation(idx, pkt.encap);
                    idx
                }
            }
            None => self.create(pkt, key, hash, src_is_a, proto, sport, dport)?,
        };

        let (cfg, v6) = (&self.cfg, &self.v6addrs);
        let conn = self.conns[idx as usize].as_mut()?;
        let mut is_orig = src_is_a == conn.orig_is_a();
        let mut ctx = TimerCtx {
            wheel: &mut self.wheel,
            idx,
            meta: &mut self.meta[idx as usize],
            cfg,
            now: pkt.ts,
        };
        let ip_len = ip.total_len;
        let mut announced = None;
        let accepted = match *pkt.l4 {
            L4::Tcp(t) => {
                let tcp = self.tcp.get_mut(idx as usize)?;
                let side = if is_orig { ORIG } else { RESP };
                let ok = if !pkt.checksum_ok {
                    tcp.checksum_error(conn, side);
                    false
                } else {
                    let seg = Segment {
                        flags: t.flags,
                        seq: t.seq,
                        ack: t.ack,
                        window: t.window,
                        len: t.payload_len,
                        complete: t.payload.len() as u64 >= u64::from(t.payload_len),
                    };
                    let mut side = tcp.process(conn, &mut ctx, is_orig, &seg);
                    conn.count_packet(side, ip_len);
                    if dns_tcp_flip(conn, v6, side == ORIG, t.payload) {
                        // Over TCP the counters follow the hosts.
                        conn.flip_common();
                        tcp.flip();
                        conn.set_flipped_late();
                        side = 1 - side;
                    }
                    is_orig = side == ORIG;
                    if !t.payload.is_empty() && tcp.det.d.active() && cfg.detect.any() {
                        // A SYN's data starts after the SYN's sequence number.
                        let seq = if t.flags.syn() {
                            t.seq.wrapping_add(1)
                        } else {
                            t.seq
                        };
                        let rp = conn.resp_port();
                        let inp = service::TcpInput {
                            on: cfg.detect,
                            resp_port: rp,
                            dns_port: cfg.dns_tcp_ports.contains(rp),
                            is_orig,
                            seq,
                            len: t.payload_len,
                            payload: t.payload,
                            // Zeek's `IsPartial`: no SYN was seen (a
                            // SYN-ACK-first flip makes it whole again).
                            partial: !conn
                                .history
                                .as_bytes()
                                .iter()
                                .any(|&c| matches!(c, b'S' | b'H' | b'h')),
                        };
                        if let Some(ch) =
                            service::tcp_payload(&mut tcp.det, &mut conn.service, &inp)
                        {
                            announced = Some((ch, conn.orig(v6).0, conn.resp(v6).0));
                        }
                    }
                    true
                };
                ok
            }
            L4::TcpBroken { .. } => false,
            L4::Udp(u) => {
                let side = if is_orig { ORIG } else { RESP };
                let ProtoState::Plain(p) = &mut conn.state else {
                    return None;
                };
                if !pkt.checksum_ok {
                    let mut n = p.chk_cnt[side];
                    conn.scaled_history(if is_orig { b'C' } else { b'c' }, &mut n);
                    if let ProtoState::Plain(p) = &mut conn.state {
                        p.chk_cnt[side] = n;
                    }
                    false
                } else {
                    let ulen = i64::from(u.length) - 8;
                    p.len[side] = if p.len[side] < 0 {
                        ulen
                    } else {
                        p.len[side] + ulen
                    };
                    conn.last = pkt.ts;
                    if is_orig {
                        conn.check_history(0x1, b'D');
                    } else {
                        conn.check_history(0x2, b'd');
                    }
                    conn.count_packet(side, ip_len);
                    true
                }
            }
            L4::Icmp(_) => {
                let side = if is_orig { ORIG } else { RESP };
                if !pkt.checksum_ok {
                    false
                } else {
                    conn.last = pkt.ts;
                    let mut len = i64::from(ip.payload_len());
                    if len == 0 {
                        len = ip.payload.len() as i64;
                    }
                    let l = len - 8;
                    if let ProtoState::Plain(p) = &mut conn.state {
                        p.len[side] = if p.len[side] < 0 { l } else { p.len[side] + l };
                    }
                    if ip.payload.len() as i64 >= len {
                        conn.count_packet(side, ip_len);
                    }
                    true
                }
            }
            L4::Other => {
                let side = if is_orig { ORIG } else { RESP };
                conn.last = pkt.ts;
                conn.count_packet(side, ip_len);
                true
            }
        };
        let cref = ConnRef {
            index: idx,
            uid_state: conn.uid_state,
            resp_port: conn.resp_port(),
            is_orig,
            accepted,
        };
        if conn.cflags & crate::conn::EXPORT_CLOSED != 0 && accepted {
            self.export_reopen(idx, pkt.ts);
        }
        if let Some((ch, client, server)) = announced {
            self.expect_ftp_data(ch, client, server, pkt.ts);
        }
        Some(cref)
    }

    /// `Connection::CheckEncapsulation` plus conn.log's tunnel_parents.
    #[inline]
    fn check_encapsulation(&mut self, idx: u32, encap: &Encap) {
        let Some(conn) = self.conns[idx as usize].as_ref() else {
            return;
        };
        // No tunnel before and none now: the common case, no lookup.
        if conn.cflags & CF_TUNNEL != 0 || encap.fingerprint != 0 {
            self.check_tunnel_change(idx, encap);
        }
    }

    /// The rest of [`ConnTracker::check_encapsulation`], for a tunnelled
    /// connection: out of line, so the packet path stays small enough for
    /// the compiler to inline what every packet needs.
    #[cold]
    #[inline(never)]
    fn check_tunnel_change(&mut self, idx: u32, encap: &Encap) {
        let max_changes = self.cfg.max_tunnel_changes;
        let Some(conn) = self.conns[idx as usize].as_mut() else {
            return;
        };
        conn.cflags |= CF_TUNNEL;
        let t = self.tunnels.entry(idx).or_default();
        if t.encap == encap.fingerprint {
            return;
        }
        if t.changes >= max_changes {
            if !conn.history.as_bytes().contains(&b'X') {
                conn.add_history(b'X');
            }
            return;
        }
        t.changes += 1;
        t.encap = encap.fingerprint;
        if let Some(uid) = encap.innermost() {
            t.parents.add(uid);
        }
    }

    /// A new connection for slot `idx` (not yet in it): a fresh uid, its
    /// key stored, nothing counted. `times` are its first and last packet.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_conn(
        &mut self,
        key: &FlowKey,
        hash: u64,
        idx: u32,
        times: [Timestamp; 2],
        proto: Proto,
        orig_is_a: bool,
        tos: u8,
        state: ProtoState,
    ) -> Conn {
        Conn {
            key: StoredKey::store(key, hash, idx, &mut self.v6addrs),
            uid_state: self.uids.next_state(),
            start: times[0],
            last: times[1],
            proto,
            history: HistStore::new(),
            hist_seen: 0,
            counts: Counters::default(),
            cflags: if orig_is_a { CF_ORIG_IS_A } else { 0 },
            service: ServiceList::default(),
            parsers: 0,
            export_tos: tos,
            long_schedule: NOT_WATCHED,
            long_next: 0,
            state,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        pkt: &PacketIn<'_>,
        key: FlowKey,
        hash: u64,
        src_is_a: bool,
        proto: Proto,
        sport: u16,
        dport: u16,
    ) -> Option<u32> {
        if !self.room_for_one() {
            return None;
        }
        let ip = pkt.ip;
        // Orientation at creation (WantConnection + the broadcast exception).
        let flip = match *pkt.l4 {
            L4::Tcp(t) => self.tcp_flip(t.flags, sport, dport),
            L4::TcpBroken { flags, .. } => self.tcp_flip(flags, sport, dport),
            L4::Udp(_) => {
                let s = &self.cfg.udp_server_ports;
                s.contains(sport) && !s.contains(dport)
            }
            _ => false,
        } && !is_v4_broadcast(ip.dst);

        let (inactivity, state) = match proto {
            Proto::Tcp => (Timeout::Udp, ProtoState::Tcp),
            Proto::Udp => (Timeout::Udp, ProtoState::Plain(plain())),
            Proto::Icmp => (Timeout::Icmp, ProtoState::Plain(plain())),
            Proto::Unknown => (Timeout::UnknownIp, ProtoState::Plain(plain())),
        };
        let tunnel = pkt.encap.innermost().map(|uid| {
            let mut t = TunnelInfo {
                encap: pkt.encap.fingerprint,
                ..Default::default()
            };
            t.parents.add(uid);
            t
        });
        let idx = self.alloc_slot(SlotKind::new(&key, proto == Proto::Tcp));
        let mut conn = self.new_conn(
            &key,
            hash,
            idx,
            [pkt.ts, pkt.ts],
            proto,
            src_is_a,
            ip.tos,
            state,
        );
        if flip {
            conn.flip_common();
        }
        if proto == Proto::Tcp && !self.expected.is_empty() {
            self.match_expected(&mut conn, pkt.ts);
        }

        self.set_vlans(idx, &mut conn, pkt.vlan, pkt.inner_vlan);
        if let Some(t) = tunnel {
            conn.cflags |= CF_TUNNEL;
            self.file_tunnel(idx, t);
        }
        let mut ctx = TimerCtx {
            wheel: &mut self.wheel,
            idx,
            meta: &mut self.meta[idx as usize],
            cfg: &self.cfg,
            now: pkt.ts,
        };
        if proto == Proto::Tcp {
            let at = pkt.ts.as_zeek_secs() + self.cfg.tcp_syn_timeout.as_secs_f64();
            ctx.arm(TimerKind::Expire, at);
        }
        if proto == Proto::Tcp && self.cfg.dns_tcp_ports.contains(conn.resp_port()) {
            conn.parsers |= PARSER_DNS;
        }
        if proto == Proto::Udp && self.cfg.ntp_udp_ports.contains(conn.resp_port()) {
            conn.parsers |= PARSER_NTP;
        }
        if proto == Proto::Udp && self.cfg.dns_udp_ports.contains(conn.resp_port()) {
            // The DNS analyzer is attached by the responder port.
            conn.parsers |= PARSER_DNS;
            let at = pkt.ts.as_zeek_secs() + self.cfg.dns_session_timeout.as_secs_f64();
            ctx.arm(TimerKind::DnsExpire, at);
        }
        ctx.set_inactivity_timeout(&mut conn, inactivity);
        self.insert(conn, idx, hash);
        if self.cfg.export.is_some() {
            self.export_new(idx, pkt.ts);
        }
        Some(idx)
    }

    /// True when one more connection may be tracked: under the cap, or
    /// after evicting one; counts the connection as untracked otherwise.
    fn room_for_one(&mut self) -> bool {
        let cap = self.cfg.max_connections;
        if cap > 0 && self.stats.open as usize >= cap && !self.make_room() {
            self.stats.untracked += 1;
            return false;
        }
        true
    }

    /// A free connection slot of `kind` (its `Meta` exists; a TCP slot's
    /// state is new).
    fn alloc_slot(&mut self, kind: SlotKind) -> u32 {
        let k = kind.0 as usize;
        let fresh = &mut self.fresh[k];
        let idx = match (self.free[k].pop(), fresh) {
            (Some(i), _) => i,
            (None, Some((first, n))) if (*n as usize) < CHUNK => {
                *n += 1;
                *first + *n - 1
            }
            (None, fresh) => {
                // A new chunk, all of it for this kind. `meta` grows by the
                // same fixed step, not by doubling: a doubled array is up
                // to half empty at the peak.
                let first = self.conns.push_chunk();
                self.meta.reserve_exact(CHUNK);
                self.meta.resize(first + CHUNK, Meta::default());
                *fresh = Some((first as u32, 1));
                first as u32
            }
        };
        if kind.tcp() {
            match self.tcp.get_mut(idx as usize) {
                Some(t) => *t = TcpConn::new(),
                None => self.tcp.ensure(idx as usize, TcpConn::new),
            }
        }
        idx
    }

    /// How many slots have ever been handed out: every chunk's, but for
    /// the part of each kind's chunk still filling that is not yet.
    pub(crate) fn slots_handed_out(&self) -> usize {
        let unused: usize = self
            .fresh
            .iter()
            .flatten()
            .map(|(_, n)| CHUNK - *n as usize)
            .sum();
        self.conns.len() - unused
    }

    /// How many slots of chunk `c` have ever been handed out (all of them
    /// but in the chunk each kind is still filling).
    pub(crate) fn slots_used_in(&self, c: usize) -> usize {
        if c >= self.conns.len() / CHUNK {
            return 0;
        }
        for (first, n) in self.fresh.iter().flatten() {
            if *first as usize / CHUNK == c {
                return *n as usize;
            }
        }
        CHUNK
    }

    /// The TCP state of the connection at `idx`, if it is a TCP one.
    #[inline]
    pub(crate) fn tcp_of(&self, idx: u32) -> Option<&TcpConn> {
        match self.conns.get(idx as usize) {
            Some(Some(c)) if matches!(c.state, ProtoState::Tcp) => self.tcp.get(idx as usize),
            _ => None,
        }
    }

    /// Puts a new connection into slot `idx` and the index: chooses its
    /// long-connection schedule (queueing its first report) and counts it.
    fn insert(&mut self, mut conn: Conn, idx: u32, hash: u64) {
        let proto = conn.proto;
        if let (Some(long), Some(sched)) = (&self.cfg.long, &self.schedules) {
            conn.long_schedule = if sched.everyone_default() {
                // No lists to consult: skip building the addresses.
                0
            } else {
                let (orig, _) = conn.orig(&self.v6addrs);
                let (resp, resp_port) = conn.resp(&self.v6addrs);
                long_conn::schedule_for(long, orig, resp, resp_port, proto)
            };
        }
        let watched = conn.long_schedule != NOT_WATCHED;
        self.conns[idx as usize] = Some(conn);
        if watched {
            self.queue_long_first(idx);
        }
        self.table.insert(hash, idx);
        self.stats.connections += 1;
        self.stats.open += 1;
        self.stats.created_by_proto[proto_slot(proto)] += 1;
        self.stats.open_by_proto[proto_slot(proto)] += 1;
        if self.cfg.max_connections > 0 {
            self.note_new(idx);
        }
        if self.stats.open > self.stats.peak_open {
            self.stats.peak_open = self.stats.open;
            // `memory_bytes` walks the wheel's buckets: take it at every
            // 256th new peak only (the figure is within 256 connections of
            // the peak).
            if self.stats.open.is_multiple_of(256) {
                self.stats.peak_bytes = self.stats.peak_bytes.max(self.memory_bytes());
            }
        }
    }

    /// Remembers an FTP data connection announced on a control connection
    /// between `client` and `server`: a PORT/EPRT (active) has the server
    /// connect to the announced address, a 227/229 reply (passive) the
    /// client connect to the server.
    #[cold]
    #[inline(never)]
    fn expect_ftp_data(&mut self, ch: DataChannel, client: IpAddr, server: IpAddr, now: Timestamp) {
        let e = if ch.active {
            Expected {
                orig: server,
                resp: ch.addr.unwrap_or(client),
                resp_port: ch.port,
                deadline: now + EXPECT_TIMEOUT,
            }
        } else {
            Expected {
                orig: client,
                resp: ch.addr.unwrap_or(server),
                resp_port: ch.port,
                deadline: now + EXPECT_TIMEOUT,
            }
        };
        self.expected.retain(|x| x.deadline > now);
        if self.expected.len() >= MAX_EXPECTED {
            self.expected.remove(0);
        }
        self.expected.push(e);
    }

    /// A new TCP connection that was announced gets `ftp-data` (Zeek's
    /// `scheduled_analyzer_applied`); the announcement is used up.
    #[cold]
    #[inline(never)]
    fn match_expected(&mut self, conn: &mut Conn, now: Timestamp) {
        self.expected.retain(|x| x.deadline > now);
        let (orig, _) = conn.orig(&self.v6addrs);
        let (resp, resp_port) = conn.resp(&self.v6addrs);
        let hit = self.expected.iter().position(|x| {
            same_addr(x.orig, orig) && same_addr(x.resp, resp) && x.resp_port == resp_port
        });
        if let Some(i) = hit {
            self.expected.swap_remove(i);
            conn.service.add(Service::FtpData);
        }
    }

    fn tcp_flip(&self, flags: TcpFlags, sport: u16, dport: u16) -> bool {
        if flags.syn() && !flags.ack() {
            return false;
        }
        let s = &self.cfg.tcp_server_ports;
        if s.contains(sport) {
            if s.contains(dport) {
                !flags.syn() && sport < dport
            } else {
                true
            }
        } else {
            false
        }
    }
}

/// The DNS analyzer on a TCP connection: the first message (after its
/// 2-byte length) being a response sent by the originator turns the
/// connection around, unless the responder is a multicast address.
fn dns_tcp_flip(conn: &mut Conn, v6: &V6Addrs, is_orig: bool, payload: &[u8]) -> bool {
    if conn.parsers & PARSER_DNS == 0 || conn.parsers & PARSER_DNS_SEEN != 0 || payload.len() < 14 {
        return false;
    }
    conn.parsers |= PARSER_DNS_SEEN;
    let is_response = payload[4] & 0x80 != 0;
    is_response && is_orig && !is_multicast(conn.resp(v6).0)
}

/// Address equality that treats an IPv4 address and its IPv4-mapped IPv6
/// form alike (a PORT command names IPv4, the key may hold it mapped).
fn same_addr(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn is_multicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.octets()[0] == 224,
        IpAddr::V6(a) => a.octets()[0] == 0xff,
    }
}

fn plain() -> PlainState {
    PlainState {
        len: [-1, -1],
        chk_cnt: [0, 0],
        det: Default::default(),
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::{TimerItem, TimerKind, STAMP_GEN_BITS};

    #[test]
    fn stamp_round_trips_kind_epoch_and_generation() {
        let kinds = [
            TimerKind::Inactivity,
            TimerKind::Attempt,
            TimerKind::Expire,
            TimerKind::Delete,
            TimerKind::DnsExpire,
            TimerKind::LongReport,
            TimerKind::Export,
        ];
        for kind in kinds {
            for (gen, epoch) in [(0, 0), (1, 255), (u32::MAX, 7), (12345, 128)] {
                let t = TimerItem::new(9, gen, kind, epoch);
                assert_eq!((t.idx, t.kind(), t.epoch()), (9, kind, epoch));
                assert!(t.gen_is(gen));
                assert!(!t.gen_is(gen.wrapping_add(1)));
                // Aliases only a whole stamp range later (the tracker sweeps
                // long before that).
                assert!(t.gen_is(gen.wrapping_add(1 << STAMP_GEN_BITS)));
            }
        }
    }
}
