//! A small DSL to describe test traffic instead of shipping pcap blobs.
//!
//! A [`Scenario`] collects frames in memory; conversations created from it
//! ([`TcpConv`], [`UdpFlow`], [`Ping`]) append frames at explicit times,
//! given as nanosecond offsets from the scenario's start (see
//! [`crate::time`] for `secs`, `ms`, ...). Output is sorted by time; frames
//! with equal times keep the order in which they were added. Everything is
//! deterministic: ISNs, IP identifications and payloads derive from the
//! order in which flows are created.
//!
//! ```
//! use connwatch_tracegen::scenario::Scenario;
//! use connwatch_tracegen::time::{mins, ms, secs, ticks, DEFAULT_START};
//!
//! let s = Scenario::new(DEFAULT_START);
//! let mut c = s.tcp("10.0.0.1:40000", "192.0.2.5:443").rtt(ms(20));
//! c.handshake(0);
//! for t in ticks(secs(10), secs(10), mins(45)) {
//!     c.send_orig(t, 100).send_resp(t + ms(30), 100);
//! }
//! c.close_fin(mins(45));
//! s.udp("10.0.0.2:5353", "10.0.0.9:53").request_reply(secs(1), 40, 120);
//! s.background(0, secs(1), 100);
//! let packets = s.packets(); // or s.write_pcap("t.pcap")
//! assert_eq!(packets.len(), 3 + 269 * 4 + 3 + 2 + 100);
//! ```

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::rc::Rc;

use crate::flow::{Endpoints, Side, TcpState};
use crate::packet::{filler, tcp_flags, IpPair};
use crate::pcap::{PcapWriter, Precision};
use crate::rng::mix;
use crate::time::{us, Nanos};

/// One generated frame with its absolute capture time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Nanoseconds since the Unix epoch.
    pub ts: Nanos,
    /// The Ethernet frame.
    pub data: Vec<u8>,
}

/// Something that names a transport endpoint: `"10.0.0.1:40000"`,
/// `"[2001:db8::1]:443"` or a [`SocketAddr`].
pub trait IntoSocketAddr {
    /// The address.
    ///
    /// # Panics
    /// If a string does not parse: scenario literals are part of the test.
    fn into_socket_addr(self) -> SocketAddr;
}

impl IntoSocketAddr for SocketAddr {
    fn into_socket_addr(self) -> SocketAddr {
        self
    }
}

impl IntoSocketAddr for &str {
    fn into_socket_addr(self) -> SocketAddr {
        self.parse()
            .unwrap_or_else(|e| panic!("bad endpoint {self:?} (want ip:port or [ipv6]:port): {e}"))
    }
}

/// Something that names a host: `"10.0.0.1"`, `"2001:db8::1"` or an address.
pub trait IntoIpAddr {
    /// The address.
    ///
    /// # Panics
    /// If a string does not parse: scenario literals are part of the test.
    fn into_ip_addr(self) -> IpAddr;
}

impl IntoIpAddr for IpAddr {
    fn into_ip_addr(self) -> IpAddr {
        self
    }
}

impl IntoIpAddr for Ipv4Addr {
    fn into_ip_addr(self) -> IpAddr {
        IpAddr::V4(self)
    }
}

impl IntoIpAddr for Ipv6Addr {
    fn into_ip_addr(self) -> IpAddr {
        IpAddr::V6(self)
    }
}

impl IntoIpAddr for &str {
    fn into_ip_addr(self) -> IpAddr {
        self.parse()
            .unwrap_or_else(|e| panic!("bad host address {self:?}: {e}"))
    }
}

/// Pairs two addresses of one family.
///
/// # Panics
/// If the families differ: such a flow cannot exist.
fn pair(orig: IpAddr, resp: IpAddr) -> IpPair {
    IpPair::new(orig, resp)
        .unwrap_or_else(|| panic!("flow endpoints {orig} and {resp} are of different IP families"))
}

/// Where a frame sits in the arena, and when it was captured.
#[derive(Clone, Copy, Debug)]
struct Entry {
    t: Nanos,
    offset: usize,
    len: usize,
}

/// The frames collected so far (shared by the scenario and its flows).
#[derive(Debug)]
struct Inner {
    start: Nanos,
    /// All frames back to back: one allocation instead of one per frame.
    arena: Vec<u8>,
    index: Vec<Entry>,
    /// Build buffer for the frame being made.
    buf: Vec<u8>,
    /// Flows created so far: the seed of each flow's ISNs and IP ids.
    flows: u64,
}

impl Inner {
    /// Appends the frame in `buf` at offset `t`.
    fn commit(&mut self, t: Nanos) {
        let offset = self.arena.len();
        self.arena.extend_from_slice(&self.buf);
        self.index.push(Entry {
            t,
            offset,
            len: self.buf.len(),
        });
    }

    fn next_flow_seed(&mut self) -> u64 {
        self.flows += 1;
        mix(self.flows ^ 0x636f_6e6e_7761_7463)
    }
}

/// A traffic description: the frames of all its flows. Cheap to share: flows
/// hold a reference to it, so any number can be open at once.
#[derive(Debug)]
pub struct Scenario {
    inner: Rc<RefCell<Inner>>,
}

impl Scenario {
    /// An empty scenario whose time offsets count from `start` (nanoseconds
    /// since the Unix epoch; [`crate::time::DEFAULT_START`] matches the shared
    /// synthetic traces).
    pub fn new(start: Nanos) -> Scenario {
        Scenario {
            inner: Rc::new(RefCell::new(Inner {
                start,
                arena: Vec::new(),
                index: Vec::new(),
                buf: Vec::with_capacity(2048),
                flows: 0,
            })),
        }
    }

    /// The absolute start time.
    pub fn start(&self) -> Nanos {
        self.inner.borrow().start
    }

    /// Number of frames so far.
    pub fn len(&self) -> usize {
        self.inner.borrow().index.len()
    }

    /// Whether no frame was added yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn endpoints(&self, orig: SocketAddr, resp: SocketAddr) -> (Endpoints, u64) {
        let seed = self.inner.borrow_mut().next_flow_seed();
        let addrs = pair(orig.ip(), resp.ip());
        (
            Endpoints::new(addrs, orig.port(), resp.port(), seed as u16),
            seed,
        )
    }

    /// A TCP conversation from `orig` to `resp`, with default RTT 2 ms and
    /// deterministic ISNs. Nothing is sent until its methods are called.
    ///
    /// # Panics
    /// If an endpoint string does not parse or the families differ.
    pub fn tcp(&self, orig: impl IntoSocketAddr, resp: impl IntoSocketAddr) -> TcpConv {
        let (ends, seed) = self.endpoints(orig.into_socket_addr(), resp.into_socket_addr());
        TcpConv {
            sc: Rc::clone(&self.inner),
            st: TcpState::new(ends, (seed >> 32) as u32, seed as u32 ^ 0x5a5a_5a5a),
            rtt: DEFAULT_RTT,
            mss: 1460,
        }
    }

    /// A UDP flow from `orig` to `resp` (default RTT 2 ms).
    ///
    /// # Panics
    /// If an endpoint string does not parse or the families differ.
    pub fn udp(&self, orig: impl IntoSocketAddr, resp: impl IntoSocketAddr) -> UdpFlow {
        let (ends, _) = self.endpoints(orig.into_socket_addr(), resp.into_socket_addr());
        UdpFlow {
            sc: Rc::clone(&self.inner),
            ends,
            rtt: DEFAULT_RTT,
        }
    }

    /// ICMP (or ICMPv6) echoes between two hosts with identifier `ident`.
    ///
    /// # Panics
    /// If an address string does not parse or the families differ.
    pub fn ping(&self, orig: impl IntoIpAddr, resp: impl IntoIpAddr, ident: u16) -> Ping {
        let seed = self.inner.borrow_mut().next_flow_seed();
        let addrs = pair(orig.into_ip_addr(), resp.into_ip_addr());
        Ping {
            sc: Rc::clone(&self.inner),
            ends: Endpoints::new(addrs, 0, 0, seed as u16),
            ident,
            rtt: DEFAULT_RTT,
        }
    }

    /// A lone SYN (a probe nobody answers) at `t`.
    ///
    /// # Panics
    /// If an endpoint string does not parse or the families differ.
    pub fn syn_probe(&self, t: Nanos, orig: impl IntoSocketAddr, resp: impl IntoSocketAddr) {
        self.tcp(orig, resp).syn(t);
    }

    /// A lone UDP datagram of `len` payload bytes at `t`.
    ///
    /// # Panics
    /// If an endpoint string does not parse or the families differ.
    pub fn udp_probe(
        &self,
        t: Nanos,
        orig: impl IntoSocketAddr,
        resp: impl IntoSocketAddr,
        len: usize,
    ) {
        self.udp(orig, resp).send(Side::Orig, t, len);
    }

    /// `count` one-packet UDP flows, one every `period` from `first`: other
    /// traffic that moves the clock. Flow `i` goes from a host in
    /// 198.18.0.0/16 to 198.19.0.1:9 with 32 payload bytes; every flow has its
    /// own 5-tuple (for `count` below four billion).
    pub fn background(&self, first: Nanos, period: Nanos, count: u64) {
        for i in 0..count {
            let (host, port) = unique_client(i, (1024, 65_535));
            let orig = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0xc612_0000 | host)), port);
            let resp = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)), 9);
            let t = first.saturating_add(period.saturating_mul(i as i64));
            self.udp_probe(t, orig, resp, 32);
        }
    }

    /// Adds an arbitrary frame (e.g. from [`crate::packet::ip_raw`]) at `t`.
    pub fn frame(&self, t: Nanos, frame: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        inner.buf.clear();
        inner.buf.extend_from_slice(frame);
        inner.commit(t);
    }

    /// The frame index sorted by time, stable for equal times.
    fn sorted(inner: &Inner) -> Vec<Entry> {
        let mut idx = inner.index.clone();
        idx.sort_by_key(|e| e.t);
        idx
    }

    /// All frames in capture order, with absolute timestamps.
    pub fn packets(&self) -> Vec<Packet> {
        let inner = self.inner.borrow();
        Self::sorted(&inner)
            .iter()
            .map(|e| Packet {
                ts: inner.start + e.t,
                data: inner.arena[e.offset..e.offset + e.len].to_vec(),
            })
            .collect()
    }

    /// Writes all frames in capture order as a pcap stream; returns `out`.
    pub fn write_to<W: Write>(&self, out: W, precision: Precision) -> io::Result<W> {
        let inner = self.inner.borrow();
        let mut pcap = PcapWriter::new(out, precision)?;
        for e in Self::sorted(&inner) {
            pcap.write_packet(inner.start + e.t, &inner.arena[e.offset..e.offset + e.len])?;
        }
        pcap.finish()
    }

    /// Writes a microsecond pcap file.
    pub fn write_pcap(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.write_pcap_with(path, Precision::Micro)
    }

    /// Writes a pcap file with the given timestamp precision.
    pub fn write_pcap_with(&self, path: impl AsRef<Path>, precision: Precision) -> io::Result<()> {
        let file = std::fs::File::create(path)?;
        self.write_to(io::BufWriter::new(file), precision)?;
        Ok(())
    }
}

/// Default round-trip time of new flows.
pub const DEFAULT_RTT: Nanos = 2_000_000;

/// Spacing of back-to-back segments of one write (the capture sees them
/// one after another, not at the same instant).
const SEGMENT_GAP: Nanos = us(1);

/// Maps an index to a distinct (host, port): host in `1..=65534` (the low 16
/// bits of an address in a /16), port in `ports.0..=ports.1`. Distinct for
/// indices below 65534 times the number of ports (unless that number is a
/// multiple of 7919); hosts are visited in a scrambled order.
pub(crate) fn unique_client(i: u64, ports: (u16, u16)) -> (u32, u16) {
    const HOSTS: u64 = 65_534;
    let (first, last) = ports;
    let count = u64::from(last.saturating_sub(first)) + 1;
    // 40503 is coprime with 65534, so this permutes the hosts.
    let host = (i % HOSTS) * 40_503 % HOSTS;
    // 7919 is prime: coprime with the port count, so a host's successive
    // turns get distinct ports.
    let port = ((i / HOSTS) * 7_919 + host * 31) % count;
    ((host + 1) as u32, first + port as u16)
}

/// A TCP conversation. Operations take `&mut self` and return it, so they
/// chain; call them in time order (acknowledgements reflect the calls made
/// so far). `t` is an offset from the scenario's start.
#[derive(Debug)]
pub struct TcpConv {
    sc: Rc<RefCell<Inner>>,
    st: TcpState,
    rtt: Nanos,
    mss: usize,
}

/// The option block of SYNs made here: MSS 1460 (then padded to 4 bytes).
const SYN_OPTIONS: [u8; 4] = [2, 4, 0x05, 0xb4];

impl TcpConv {
    /// Sets the round-trip time: the peer's answer comes `rtt / 2` later.
    pub fn rtt(mut self, rtt: Nanos) -> Self {
        self.rtt = rtt;
        self
    }

    /// Sets both initial sequence numbers.
    pub fn isns(mut self, orig: u32, resp: u32) -> Self {
        self.st = TcpState::new(self.st.ends.clone(), orig, resp);
        self
    }

    /// Puts the conversation in 802.1Q VLAN `id`.
    pub fn vlan(mut self, id: u16) -> Self {
        self.st.ends.link.vlan = Some(id);
        self
    }

    /// Sets the largest payload per segment (default 1460; 1 to 65,000).
    pub fn mss(mut self, mss: usize) -> Self {
        // Capped so a segment (and a filler piece) always fits in one packet.
        self.mss = mss.clamp(1, 65_000);
        self
    }

    /// The ISN of `side`.
    pub fn isn(&self, side: Side) -> u32 {
        self.st.isn(side)
    }

    /// The sequence number `side` sends next.
    pub fn next_seq(&self, side: Side) -> u32 {
        self.st.next_seq(side)
    }

    /// Payload bytes `side` has sent.
    pub fn payload_bytes(&self, side: Side) -> u64 {
        self.st.payload_bytes(side)
    }

    /// The full sequence state.
    pub fn state(&self) -> &TcpState {
        &self.st
    }

    /// Sends one segment with these flags and payload from `side` at `t`,
    /// following the sequence rules of [`TcpState::segment`].
    pub fn segment(&mut self, side: Side, t: Nanos, flags: u8, payload: &[u8]) -> &mut Self {
        let options: &[u8] = if flags & tcp_flags::SYN != 0 {
            &SYN_OPTIONS
        } else {
            &[]
        };
        let mut inner = self.sc.borrow_mut();
        self.st
            .segment(&mut inner.buf, side, flags, payload, options);
        inner.commit(t);
        drop(inner);
        self
    }

    /// The originator's SYN at `t` (again: a retransmission with the same ISN).
    pub fn syn(&mut self, t: Nanos) -> &mut Self {
        self.segment(Side::Orig, t, tcp_flags::SYN, &[])
    }

    /// The responder's SYN-ACK at `t`.
    pub fn syn_ack(&mut self, t: Nanos) -> &mut Self {
        self.segment(Side::Resp, t, tcp_flags::SYN | tcp_flags::ACK, &[])
    }

    /// A pure ACK from `side` at `t`.
    pub fn ack(&mut self, side: Side, t: Nanos) -> &mut Self {
        self.segment(side, t, tcp_flags::ACK, &[])
    }

    /// SYN at `t`, SYN-ACK at `t + rtt/2`, ACK at `t + rtt`.
    pub fn handshake(&mut self, t: Nanos) -> &mut Self {
        let (half, rtt) = (self.rtt / 2, self.rtt);
        self.syn(t).syn_ack(t + half).ack(Side::Orig, t + rtt)
    }

    /// `bytes` of payload from `side`, cut into segments of at most the MSS,
    /// the first at `t` and the next ones 1 µs apart; PSH on the last. No ACK
    /// from the peer (see [`TcpConv::send`]).
    pub fn data_bytes(&mut self, side: Side, t: Nanos, bytes: &[u8]) -> &mut Self {
        let chunks = bytes.chunks(self.mss);
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            let flags = if i == last {
                tcp_flags::PSH | tcp_flags::ACK
            } else {
                tcp_flags::ACK
            };
            self.segment(side, t + SEGMENT_GAP * i as i64, flags, chunk);
        }
        self
    }

    /// `len` bytes of filler payload from `side` (see [`TcpConv::data_bytes`]).
    pub fn data(&mut self, side: Side, t: Nanos, len: usize) -> &mut Self {
        let mut left = len;
        let mut at = t;
        // The filler is 64 KiB; longer writes go out in filler-sized pieces.
        while left > 0 {
            let n = left.min(crate::packet::FILLER_LEN / self.mss * self.mss);
            self.data_bytes(side, at, filler(n));
            at += SEGMENT_GAP * n.div_ceil(self.mss) as i64;
            left -= n;
        }
        self
    }

    /// Time of the peer's ACK for a write of `len` bytes starting at `t`:
    /// half an RTT later, but never before the write's last segment.
    fn ack_time(&self, t: Nanos, len: usize) -> Nanos {
        let last = t + SEGMENT_GAP * (len.div_ceil(self.mss) as i64 - 1).max(0);
        (t + self.rtt / 2).max(last + SEGMENT_GAP)
    }

    /// `len` bytes from `side` at `t`, then the peer's ACK half an RTT later.
    pub fn send(&mut self, side: Side, t: Nanos, len: usize) -> &mut Self {
        let at = self.ack_time(t, len);
        self.data(side, t, len).ack(side.other(), at)
    }

    /// Like [`TcpConv::send`] with given payload bytes.
    pub fn send_bytes(&mut self, side: Side, t: Nanos, bytes: &[u8]) -> &mut Self {
        let at = self.ack_time(t, bytes.len());
        self.data_bytes(side, t, bytes).ack(side.other(), at)
    }

    /// `len` bytes from the originator, acknowledged by the responder.
    pub fn send_orig(&mut self, t: Nanos, len: usize) -> &mut Self {
        self.send(Side::Orig, t, len)
    }

    /// `len` bytes from the responder, acknowledged by the originator.
    pub fn send_resp(&mut self, t: Nanos, len: usize) -> &mut Self {
        self.send(Side::Resp, t, len)
    }

    /// A FIN (with ACK) from `side` at `t`.
    pub fn fin(&mut self, side: Side, t: Nanos) -> &mut Self {
        self.segment(side, t, tcp_flags::FIN | tcp_flags::ACK, &[])
    }

    /// Orderly close started by the originator: FIN at `t`, the responder's
    /// FIN at `t + rtt/2`, the originator's last ACK at `t + rtt`.
    pub fn close_fin(&mut self, t: Nanos) -> &mut Self {
        self.close_fin_from(Side::Orig, t)
    }

    /// Orderly close started by `side` (see [`TcpConv::close_fin`]).
    pub fn close_fin_from(&mut self, side: Side, t: Nanos) -> &mut Self {
        let (half, rtt) = (self.rtt / 2, self.rtt);
        self.fin(side, t)
            .fin(side.other(), t + half)
            .ack(side, t + rtt)
    }

    /// An abort: RST (with ACK) from `side` at `t`.
    pub fn rst(&mut self, side: Side, t: Nanos) -> &mut Self {
        self.segment(side, t, tcp_flags::RST | tcp_flags::ACK, &[])
    }

    /// A refused connection: SYN at `t`, then at `t + rtt/2` the responder's
    /// RST-ACK with sequence 0 acknowledging the SYN, as stacks answer a
    /// closed port.
    pub fn reject(&mut self, t: Nanos) -> &mut Self {
        self.syn(t);
        let mut inner = self.sc.borrow_mut();
        let flags = tcp_flags::RST | tcp_flags::ACK;
        self.st
            .segment_at(&mut inner.buf, Side::Resp, 0, flags, &[], &[]);
        inner.commit(t + self.rtt / 2);
        drop(inner);
        self
    }

    /// A keep-alive probe from `side` at `t`: an ACK carrying the sequence
    /// number just below the next one, no payload.
    pub fn keepalive(&mut self, side: Side, t: Nanos) -> &mut Self {
        let seq = self.st.next_seq(side).wrapping_sub(1);
        let mut inner = self.sc.borrow_mut();
        self.st
            .segment_at(&mut inner.buf, side, seq, tcp_flags::ACK, &[], &[]);
        inner.commit(t);
        drop(inner);
        self
    }
}

/// A UDP flow (one 5-tuple). `t` is an offset from the scenario's start.
#[derive(Debug)]
pub struct UdpFlow {
    sc: Rc<RefCell<Inner>>,
    ends: Endpoints,
    rtt: Nanos,
}

impl UdpFlow {
    /// Sets the round-trip time used by [`UdpFlow::request_reply`].
    pub fn rtt(mut self, rtt: Nanos) -> Self {
        self.rtt = rtt;
        self
    }

    /// Puts the flow in 802.1Q VLAN `id`.
    pub fn vlan(mut self, id: u16) -> Self {
        self.ends.link.vlan = Some(id);
        self
    }

    /// One datagram from `side` at `t` with these payload bytes.
    pub fn send_bytes(&mut self, side: Side, t: Nanos, payload: &[u8]) -> &mut Self {
        let mut inner = self.sc.borrow_mut();
        self.ends.udp(&mut inner.buf, side, payload);
        inner.commit(t);
        drop(inner);
        self
    }

    /// One datagram from `side` at `t` with `len` filler bytes.
    pub fn send(&mut self, side: Side, t: Nanos, len: usize) -> &mut Self {
        self.send_bytes(side, t, filler(len))
    }

    /// A request of `req` bytes at `t` and a reply of `resp` bytes one RTT later.
    pub fn request_reply(&mut self, t: Nanos, req: usize, resp: usize) -> &mut Self {
        let rtt = self.rtt;
        self.send(Side::Orig, t, req)
            .send(Side::Resp, t + rtt, resp)
    }
}

/// ICMP echoes between two hosts with one identifier. `t` is an offset from
/// the scenario's start.
#[derive(Debug)]
pub struct Ping {
    sc: Rc<RefCell<Inner>>,
    ends: Endpoints,
    ident: u16,
    rtt: Nanos,
}

impl Ping {
    /// Sets the round-trip time used by [`Ping::echo`].
    pub fn rtt(mut self, rtt: Nanos) -> Self {
        self.rtt = rtt;
        self
    }

    /// Puts the flow in 802.1Q VLAN `id`.
    pub fn vlan(mut self, id: u16) -> Self {
        self.ends.link.vlan = Some(id);
        self
    }

    fn emit(&mut self, side: Side, t: Nanos, seq: u16, len: usize) -> &mut Self {
        let mut inner = self.sc.borrow_mut();
        self.ends
            .icmp_echo(&mut inner.buf, side, self.ident, seq, filler(len));
        inner.commit(t);
        drop(inner);
        self
    }

    /// An echo request with sequence `seq` and `len` payload bytes at `t`.
    pub fn request(&mut self, t: Nanos, seq: u16, len: usize) -> &mut Self {
        self.emit(Side::Orig, t, seq, len)
    }

    /// An echo reply with sequence `seq` and `len` payload bytes at `t`.
    pub fn reply(&mut self, t: Nanos, seq: u16, len: usize) -> &mut Self {
        self.emit(Side::Resp, t, seq, len)
    }

    /// A request at `t` and its reply one RTT later.
    pub fn echo(&mut self, t: Nanos, seq: u16, len: usize) -> &mut Self {
        let rtt = self.rtt;
        self.request(t, seq, len).reply(t + rtt, seq, len)
    }
}
