//! Streaming generators for big traces, in constant memory: the bulk
//! benchmark mix ([`bulk`]), one-packet flows ([`Mix::SCANS`]) and one long
//! connection among background flows ([`long`]).
//!
//! Packets of concurrent connections interleave as on a real link: each open
//! connection is a small state machine with the time of its next packet in a
//! priority queue; the earliest packet (or the next new connection) is
//! written next, so timestamps never decrease. All randomness comes from one
//! seeded [`Rng`] drawn in that deterministic order, and all arithmetic is on
//! integers: the same configuration gives the same bytes on every machine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::flow::{Endpoints, Side, TcpState};
use crate::packet::{filler, tcp_flags, IpPair};
use crate::pcap::PcapWriter;
use crate::rng::{mix, Rng};
use crate::scenario::unique_client;
use crate::time::{ms, secs, us, Nanos};

/// Shares of new connections by kind, in any unit (they are normalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// TCP connections (mostly complete, some reset, refused or long).
    pub tcp: u32,
    /// UDP request/response flows (DNS-like, some NTP).
    pub udp: u32,
    /// One-packet flows: unanswered SYNs or lone UDP probes.
    pub scan: u32,
}

impl Mix {
    /// 45% TCP, 35% UDP, 20% scans.
    pub const DEFAULT: Mix = Mix {
        tcp: 45,
        udp: 35,
        scan: 20,
    };
    /// One-packet flows only.
    pub const SCANS: Mix = Mix {
        tcp: 0,
        udp: 0,
        scan: 1,
    };
}

/// What [`bulk`] generates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkConfig {
    /// Number of connections (flows) to start.
    pub connections: u64,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Time of the first packet, nanoseconds since the Unix epoch.
    pub start: Nanos,
    /// Span over which connections start (the trace runs a little longer,
    /// until the last connection ends).
    pub duration: Nanos,
    /// Kinds of connections.
    pub mix: Mix,
    /// Percentage of connections over IPv6.
    pub ipv6_percent: u32,
    /// Per mille of TCP connections that last minutes with a packet exchange
    /// every few seconds.
    pub long_per_mille: u32,
}

/// Default span for `connections` connections: 10,000 new connections per
/// second, at least one second.
pub fn default_duration(connections: u64) -> Nanos {
    i64::try_from(connections)
        .unwrap_or(i64::MAX)
        .saturating_mul(us(100))
        .max(secs(1))
}

impl BulkConfig {
    /// The default mix, 20% IPv6, 0.5% long TCP, starting at
    /// [`crate::time::DEFAULT_START`] and spanning [`default_duration`].
    pub fn new(connections: u64, seed: u64) -> BulkConfig {
        BulkConfig {
            connections,
            seed,
            start: crate::time::DEFAULT_START,
            duration: default_duration(connections),
            mix: Mix::DEFAULT,
            ipv6_percent: 20,
            long_per_mille: 5,
        }
    }
}

/// What a generator wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets written.
    pub packets: u64,
    /// Sum of frame lengths.
    pub frame_bytes: u64,
    /// Size of the pcap file (headers included).
    pub file_bytes: u64,
    /// TCP connections with handshake, data and FIN close (Zeek `SF`).
    pub tcp_fin: u64,
    /// TCP connections aborted by a RST after data (`RSTO`/`RSTR`).
    pub tcp_rst: u64,
    /// TCP connections refused: SYN answered by RST (`REJ`).
    pub tcp_rej: u64,
    /// Long TCP connections (minutes, periodic exchanges, FIN close).
    pub tcp_long: u64,
    /// UDP request/response flows.
    pub udp: u64,
    /// Unanswered SYNs (`S0`).
    pub scan_syn: u64,
    /// Lone UDP datagrams.
    pub scan_udp: u64,
    /// Connections over IPv4.
    pub ipv4: u64,
    /// Connections over IPv6.
    pub ipv6: u64,
    /// Most connections open at once (first packet written, last not yet).
    pub peak_open: u64,
    /// Time of the first packet.
    pub first_ts: Nanos,
    /// Time of the last packet.
    pub last_ts: Nanos,
}

impl Summary {
    /// All connections.
    pub fn connections(&self) -> u64 {
        self.tcp_fin
            + self.tcp_rst
            + self.tcp_rej
            + self.tcp_long
            + self.udp
            + self.scan_syn
            + self.scan_udp
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    TcpLong,
    TcpRej,
    Dns,
    Ntp,
    ScanSyn,
    ScanUdp,
}

/// The packet a connection sends next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Syn,
    SynAck,
    HandshakeAck,
    /// A data segment from `Conn::sender`.
    Data,
    /// The receiver's pure ACK of the segments since the last one.
    DataAck,
    Fin,
    PeerFin,
    LastAck,
    Rst,
    RejectRst,
    Request,
    Reply,
    Probe,
}

/// One open connection of the bulk mix.
#[derive(Clone, Debug)]
struct Conn {
    tcp: TcpState,
    kind: Kind,
    step: Step,
    rtt: Nanos,
    /// TCP timestamps option in use (makes ACKs 66 bytes instead of 54).
    ts_option: bool,
    ts_base: [u32; 2],
    sender: Side,
    segs_left: u8,
    unacked: u8,
    rounds_left: u32,
    /// Gap between request/response rounds.
    round_gap: Nanos,
    /// How the connection ends (FIN or RST) and who starts it.
    ends_with_rst: bool,
    closer: Side,
    /// UDP: exchanges still to make; DNS id, name and type.
    exchanges: u8,
    dns_id: u16,
    dns_name: u64,
    dns_aaaa: bool,
}

/// Output side of the generators: the writer, the RNG and the build buffers.
struct Ctx<'w, W: Write> {
    rng: Rng,
    out: &'w mut PcapWriter<W>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    sum: Summary,
}

impl<W: Write> Ctx<'_, W> {
    fn new(out: &mut PcapWriter<W>, seed: u64) -> Ctx<'_, W> {
        Ctx {
            rng: Rng::new(mix(seed ^ 0x6275_6c6b)),
            out,
            buf: Vec::with_capacity(2048),
            scratch: Vec::with_capacity(2048),
            sum: Summary::default(),
        }
    }

    /// Writes the frame in `buf` at `ts`.
    fn write(&mut self, ts: Nanos) -> io::Result<()> {
        self.out.write_packet(ts, &self.buf)?;
        if self.sum.packets == 0 {
            self.sum.first_ts = ts;
        }
        self.sum.packets += 1;
        self.sum.frame_bytes += self.buf.len() as u64;
        self.sum.last_ts = ts;
        Ok(())
    }

    fn finish(self) -> Summary {
        Summary {
            file_bytes: self.out.bytes(),
            ..self.sum
        }
    }
}

/// Client v4 addresses: 198.18.0.0/16; servers: 198.19.0.0/16; scanners:
/// 203.0.113.0/24. IPv6 uses 2001:db8:1::/64, 2001:db8:2::/64 and
/// 2001:db8:ffff::/64 alike. Benchmark and documentation ranges only.
fn client_addr(host: u32) -> (Ipv4Addr, Ipv6Addr) {
    (
        Ipv4Addr::from(0xc612_0000 | host),
        Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, (host >> 16) as u16, host as u16),
    )
}

fn server_addr(idx: u32) -> (Ipv4Addr, Ipv6Addr) {
    (
        Ipv4Addr::from(0xc613_0000 | (idx & 0xffff)),
        Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, (idx >> 16) as u16, idx as u16),
    )
}

fn pick(v6: bool, a: (Ipv4Addr, Ipv6Addr), b: (Ipv4Addr, Ipv6Addr)) -> IpPair {
    if v6 {
        IpPair::V6(a.1, b.1)
    } else {
        IpPair::V4(a.0, b.0)
    }
}

/// Client ports: Linux's ephemeral range, 32768-60999 (also keeps clients
/// off the low registered ports that dissectors would claim).
const EPHEMERAL: (u16, u16) = (32_768, 60_999);

/// Common server ports of TCP connections, with weights summing to 100.
const TCP_PORTS: [(u16, u64); 10] = [
    (443, 55),
    (80, 20),
    (8080, 5),
    (22, 5),
    (25, 3),
    (993, 3),
    (3306, 3),
    (5432, 2),
    (6379, 2),
    (8443, 2),
];

/// Ports scanners try first.
const SCAN_PORTS: [u16; 10] = [22, 23, 80, 443, 445, 3389, 8080, 21, 25, 3306];

fn weighted_port(rng: &mut Rng) -> u16 {
    let mut x = rng.below(100);
    for (port, w) in TCP_PORTS {
        if x < w {
            return port;
        }
        x -= w;
    }
    443
}

/// Segments of a request flight: mostly one.
fn request_segments(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..50 => 1,
        50..75 => 2,
        75..85 => 3,
        85..92 => 4,
        92..97 => 5,
        _ => 6,
    }
}

/// Segments of a response flight: small answers are the most common.
fn response_segments(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..50 => 1,
        50..72 => 2,
        72..84 => 3,
        84..92 => 4,
        92..97 => 5,
        _ => 6,
    }
}

impl Conn {
    fn new(tcp: TcpState, kind: Kind, step: Step) -> Conn {
        Conn {
            tcp,
            kind,
            step,
            rtt: ms(1),
            ts_option: false,
            ts_base: [0, 0],
            sender: Side::Orig,
            segs_left: 0,
            unacked: 0,
            rounds_left: 1,
            round_gap: 0,
            ends_with_rst: false,
            closer: Side::Orig,
            exchanges: 1,
            dns_id: 0,
            dns_name: 0,
            dns_aaaa: false,
        }
    }

    fn v6(&self) -> bool {
        self.tcp.ends.addrs.is_v6()
    }

    /// The TCP options of a segment from `side` at `now`: MSS (and with the
    /// timestamps option SACK-permitted, timestamps and window scale) on SYNs,
    /// timestamps on the rest. Returns the length used in `out`.
    fn options(&self, side: Side, syn: bool, now: Nanos, out: &mut [u8; 20]) -> usize {
        let mss: u16 = if self.v6() { 1440 } else { 1460 };
        let [m1, m2] = mss.to_be_bytes();
        if !self.ts_option {
            if syn {
                out[..4].copy_from_slice(&[2, 4, m1, m2]);
                return 4;
            }
            return 0;
        }
        let clock = |s: Side, t: Nanos| -> u32 {
            let base = self.ts_base[s as usize];
            base.wrapping_add((t.max(0) / ms(1)) as u32)
        };
        let tsval = clock(side, now);
        // Echo what the peer sent half an RTT ago (nothing on the first SYN).
        let tsecr = if syn && side == Side::Orig {
            0
        } else {
            clock(side.other(), now - self.rtt / 2)
        };
        let (v, e) = (tsval.to_be_bytes(), tsecr.to_be_bytes());
        if syn {
            *out = [
                2, 4, m1, m2, 4, 2, 8, 10, v[0], v[1], v[2], v[3], e[0], e[1], e[2], e[3], 1, 3, 3,
                7,
            ];
            20
        } else {
            out[..12]
                .copy_from_slice(&[1, 1, 8, 10, v[0], v[1], v[2], v[3], e[0], e[1], e[2], e[3]]);
            12
        }
    }

    /// Builds a TCP segment from `side` with this payload into `buf`.
    fn segment(&mut self, buf: &mut Vec<u8>, side: Side, flags: u8, payload: &[u8], now: Nanos) {
        let mut opts = [0u8; 20];
        let syn = flags & tcp_flags::SYN != 0;
        let n = self.options(side, syn, now, &mut opts);
        // With window scaling (shift 7, offered with the timestamps option)
        // later segments advertise the scaled-down value, as Linux does.
        // Scanners (nmap-style) offer a small window.
        self.tcp.window = if self.kind == Kind::ScanSyn {
            [1024, 1024]
        } else if self.ts_option && !syn {
            [502, 509]
        } else {
            [64_240, 65_160]
        };
        self.tcp.segment(buf, side, flags, payload, &opts[..n]);
    }

    /// Payload size of the next data segment of `sender`: requests 46-600
    /// bytes, full response segments 1200-1346, a response's last 46-1346
    /// (frames of about 100 to 1400 bytes). Long connections send little.
    fn payload_len(&self, rng: &mut Rng) -> usize {
        let n = if self.kind == Kind::TcpLong {
            rng.range(40, 300)
        } else if self.sender == Side::Orig {
            rng.range(46, 600)
        } else if self.segs_left > 1 {
            rng.range(1200, 1346)
        } else {
            rng.range(46, 1346)
        };
        n as usize
    }

    /// Sets up the next request/response round's first flight.
    fn start_flight(&mut self, sender: Side, rng: &mut Rng) {
        self.sender = sender;
        self.unacked = 0;
        self.segs_left = match (self.kind, sender) {
            (Kind::TcpLong, _) => 1,
            (_, Side::Orig) => request_segments(rng),
            (_, Side::Resp) => response_segments(rng),
        };
    }
}

/// Sends the next packet of `c` at `now`; returns when its next packet is due.
fn step<W: Write>(c: &mut Conn, x: &mut Ctx<'_, W>, now: Nanos) -> io::Result<Option<Nanos>> {
    use tcp_flags::{ACK, FIN, PSH, RST, SYN};
    let rng = &mut x.rng;
    let half = c.rtt / 2;
    // A pause between back-to-back segments of one flight.
    let burst = |rng: &mut Rng| rng.range_i64(us(5), us(60));
    let next: Option<Nanos> = match c.step {
        Step::Syn => {
            c.segment(&mut x.buf, Side::Orig, SYN, &[], now);
            c.step = if c.kind == Kind::TcpRej {
                Step::RejectRst
            } else {
                Step::SynAck
            };
            Some(half + rng.range_i64(us(10), us(100)))
        }
        Step::SynAck => {
            c.segment(&mut x.buf, Side::Resp, SYN | ACK, &[], now);
            c.step = Step::HandshakeAck;
            Some(half)
        }
        Step::HandshakeAck => {
            c.segment(&mut x.buf, Side::Orig, ACK, &[], now);
            c.start_flight(Side::Orig, rng);
            c.step = Step::Data;
            Some(rng.range_i64(us(20), us(200)))
        }
        Step::Data => {
            let len = c.payload_len(rng);
            c.segs_left -= 1;
            c.unacked += 1;
            let flags = if c.segs_left == 0 { PSH | ACK } else { ACK };
            data_payload(&mut x.scratch, c.tcp.ends.ports[1], len);
            c.segment(&mut x.buf, c.sender, flags, &x.scratch, now);
            // Delayed ACKs: the receiver acknowledges every second segment
            // and the end of a flight.
            if c.unacked == 2 || c.segs_left == 0 {
                c.step = Step::DataAck;
                Some(half.min(ms(40)) + us(10))
            } else {
                Some(burst(rng))
            }
        }
        Step::DataAck => {
            c.segment(&mut x.buf, c.sender.other(), ACK, &[], now);
            c.unacked = 0;
            if c.segs_left > 0 {
                c.step = Step::Data;
                Some(burst(rng))
            } else if c.sender == Side::Orig {
                // The server thinks, then answers.
                c.start_flight(Side::Resp, rng);
                c.step = Step::Data;
                Some(if rng.chance(800) {
                    rng.range_i64(us(50), ms(5))
                } else {
                    rng.range_i64(ms(5), ms(300))
                })
            } else if c.rounds_left > 1 {
                c.rounds_left -= 1;
                c.start_flight(Side::Orig, rng);
                c.step = Step::Data;
                Some(c.round_gap + rng.range_i64(0, c.round_gap / 8))
            } else {
                c.step = if c.ends_with_rst {
                    Step::Rst
                } else {
                    Step::Fin
                };
                // Most close at once; some idle on keep-alive first.
                Some(if c.kind == Kind::TcpLong || rng.chance(900) {
                    rng.range_i64(us(100), ms(50))
                } else {
                    rng.range_i64(secs(1), secs(15))
                })
            }
        }
        Step::Fin => {
            c.segment(&mut x.buf, c.closer, FIN | ACK, &[], now);
            c.step = Step::PeerFin;
            Some(half + us(20))
        }
        Step::PeerFin => {
            c.segment(&mut x.buf, c.closer.other(), FIN | ACK, &[], now);
            c.step = Step::LastAck;
            Some(half)
        }
        Step::LastAck => {
            c.segment(&mut x.buf, c.closer, ACK, &[], now);
            None
        }
        Step::Rst => {
            c.segment(&mut x.buf, c.closer, RST | ACK, &[], now);
            None
        }
        Step::RejectRst => {
            // A closed port answers a SYN with sequence 0, acknowledging it.
            c.tcp
                .segment_at(&mut x.buf, Side::Resp, 0, RST | ACK, &[], &[]);
            None
        }
        Step::Request | Step::Reply => {
            let side = if c.step == Step::Request {
                Side::Orig
            } else {
                Side::Resp
            };
            x.scratch.clear();
            if c.kind == Kind::Ntp {
                ntp(&mut x.scratch, side, now, c.rtt);
            } else {
                dns(&mut x.scratch, c, side == Side::Resp);
            }
            c.tcp.ends.udp(&mut x.buf, side, &x.scratch);
            if side == Side::Orig {
                c.step = Step::Reply;
                Some(c.rtt)
            } else if c.exchanges > 1 {
                // A second question on the same socket (e.g. AAAA after A).
                c.exchanges -= 1;
                c.dns_id = c.dns_id.wrapping_add(1);
                c.dns_aaaa = !c.dns_aaaa;
                c.step = Step::Request;
                Some(rng.range_i64(us(100), ms(5)))
            } else {
                None
            }
        }
        Step::Probe => {
            if c.kind == Kind::ScanSyn {
                c.segment(&mut x.buf, Side::Orig, SYN, &[], now);
            } else {
                c.tcp.ends.udp(&mut x.buf, Side::Orig, &[]);
            }
            None
        }
    };
    x.write(now)?;
    Ok(next.map(|d| now + d))
}

/// Writes `len` (at least 5) bytes of payload for a connection to
/// `server_port`: TLS ports get one application-data record per segment, so
/// dissectors see TLS, not stray bytes; others get the plain filler.
fn data_payload(out: &mut Vec<u8>, server_port: u16, len: usize) {
    out.clear();
    if matches!(server_port, 443 | 8443 | 993) && len >= 5 {
        let body = len - 5;
        out.extend_from_slice(&[0x17, 0x03, 0x03]);
        out.extend_from_slice(&(body as u16).to_be_bytes()); // < 1400: fits
        out.extend_from_slice(filler(body));
    } else {
        out.extend_from_slice(filler(len));
    }
}

/// Writes a DNS query or answer for `c`'s current question.
fn dns(out: &mut Vec<u8>, c: &Conn, answer: bool) {
    const DOMAINS: [&[u8]; 6] = [
        b"example",
        b"example-cdn",
        b"test-api",
        b"corp-mail",
        b"static-assets",
        b"updates",
    ];
    const TLDS: [&[u8]; 3] = [b"com", b"net", b"org"];
    let qtype: u16 = if c.dns_aaaa { 28 } else { 1 };
    let flags: u16 = if answer { 0x8180 } else { 0x0100 };
    out.extend_from_slice(&c.dns_id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    // Question: h<number>.<domain>.<tld>
    let n = c.dns_name;
    let mut label = [0u8; 24];
    label[0] = b'h';
    let mut digits = [0u8; 20];
    let mut v = n % 1_000_000_000;
    let mut k = 0;
    loop {
        digits[k] = b'0' + (v % 10) as u8;
        k += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..k {
        label[1 + i] = digits[k - 1 - i];
    }
    out.push((k + 1) as u8);
    out.extend_from_slice(&label[..k + 1]);
    for part in [
        DOMAINS[(n >> 40) as usize % 6],
        TLDS[(n >> 50) as usize % 3],
    ] {
        out.push(part.len() as u8);
        out.extend_from_slice(part);
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    if answer {
        // Name pointer to the question (offset 12), type, class IN, TTL 300.
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0x01, 0x2c]);
        let h = mix(n).to_be_bytes();
        if c.dns_aaaa {
            out.extend_from_slice(&[0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0]);
            out.extend_from_slice(&h);
        } else {
            out.extend_from_slice(&[0, 4, 198, 19, h[0], h[1] | 1]);
        }
    }
}

/// Writes an NTPv4 client request or server reply (48 bytes).
fn ntp(out: &mut Vec<u8>, side: Side, now: Nanos, rtt: Nanos) {
    // NTP time: seconds since 1900, 32-bit fraction.
    let stamp = |t: Nanos| -> [u8; 8] {
        let whole = (t.div_euclid(secs(1)) + 2_208_988_800) as u32;
        let frac = ((t.rem_euclid(secs(1)) as u64) << 32) / 1_000_000_000;
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&whole.to_be_bytes());
        b[4..].copy_from_slice(&(frac as u32).to_be_bytes());
        b
    };
    if side == Side::Orig {
        out.extend_from_slice(&[0x23, 0, 6, 0xec]);
        out.extend_from_slice(&[0; 36]);
        out.extend_from_slice(&stamp(now));
    } else {
        out.extend_from_slice(&[0x24, 2, 6, 0xe9]);
        out.extend_from_slice(&[0, 0, 0, 0x10, 0, 0, 0, 0x20]); // root delay, dispersion
        out.extend_from_slice(&[198, 19, 0, 1]); // reference id
        out.extend_from_slice(&stamp(now - secs(64))); // reference time
        out.extend_from_slice(&stamp(now - rtt)); // origin: the client's transmit time
        out.extend_from_slice(&stamp(now - us(20))); // receive
        out.extend_from_slice(&stamp(now)); // transmit
    }
}

/// Chooses the kind and endpoints of connection number `index`, starting at
/// `now`, and counts it.
struct Maker {
    cfg: BulkConfig,
    /// Weight thresholds of the mix.
    tcp_below: u64,
    udp_below: u64,
    total: u64,
    clients: [u64; 2],
    scans: u64,
}

impl Maker {
    fn new(cfg: &BulkConfig) -> Maker {
        let tcp = u64::from(cfg.mix.tcp);
        let udp = u64::from(cfg.mix.udp);
        let total = (tcp + udp + u64::from(cfg.mix.scan)).max(1);
        Maker {
            cfg: cfg.clone(),
            tcp_below: tcp,
            udp_below: tcp + udp,
            total,
            clients: [0, 0],
            scans: 0,
        }
    }

    /// A fresh client endpoint of this family, distinct from all earlier ones.
    fn client(&mut self, v6: bool) -> ((Ipv4Addr, Ipv6Addr), u16) {
        let n = &mut self.clients[usize::from(v6)];
        let (host, port) = unique_client(*n, EPHEMERAL);
        *n += 1;
        (client_addr(host), port)
    }

    /// A one-packet flow from one of 16 scanners (distinct source ports).
    fn scan(&mut self, rng: &mut Rng, v6: bool, sum: &mut Summary) -> Conn {
        let j = self.scans;
        self.scans += 1;
        let scanner = (j % 16) as u8 + 1;
        let sport = 1024 + ((j / 16) * 7_919 % 64_512) as u16;
        let src = (
            Ipv4Addr::new(203, 0, 113, scanner),
            Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, u16::from(scanner)),
        );
        let dst = server_addr(rng.below(1 << 20) as u32);
        let syn = rng.chance(500);
        let dport = if !syn {
            // High ports, where no dissector expects a payload format.
            rng.range(30_000, 60_999) as u16
        } else if rng.chance(600) {
            SCAN_PORTS[rng.below(SCAN_PORTS.len() as u64) as usize]
        } else {
            rng.range(1, 65_535) as u16
        };
        let ends = Endpoints::new(pick(v6, src, dst), sport, dport, rng.next_u32() as u16);
        let tcp = TcpState::new(ends, rng.next_u32(), 0);
        if syn {
            sum.scan_syn += 1;
        } else {
            sum.scan_udp += 1;
        }
        let kind = if syn { Kind::ScanSyn } else { Kind::ScanUdp };
        Conn::new(tcp, kind, Step::Probe)
    }

    fn make(&mut self, rng: &mut Rng, now: Nanos, sum: &mut Summary) -> Conn {
        let v6 = rng.below(100) < u64::from(self.cfg.ipv6_percent);
        if v6 {
            sum.ipv6 += 1;
        } else {
            sum.ipv4 += 1;
        }
        let roll = rng.below(self.total);
        if roll >= self.udp_below {
            return self.scan(rng, v6, sum);
        }
        let (client, cport) = self.client(v6);
        let ipid = rng.next_u32() as u16;
        // LAN peers answer within a couple of milliseconds, WAN ones later.
        let rtt = if rng.chance(400) {
            rng.range_i64(us(100), ms(2))
        } else {
            rng.range_i64(ms(5), ms(120))
        };
        if roll >= self.tcp_below {
            let ntp = rng.chance(150);
            let server = if ntp {
                server_addr(123)
            } else {
                server_addr(53 + rng.below(8) as u32)
            };
            let dport = if ntp { 123 } else { 53 };
            let ends = Endpoints::new(pick(v6, client, server), cport, dport, ipid);
            let kind = if ntp { Kind::Ntp } else { Kind::Dns };
            let mut c = Conn::new(TcpState::new(ends, 0, 0), kind, Step::Request);
            c.rtt = rtt / 4 + us(300);
            c.exchanges = if !ntp && rng.chance(200) { 2 } else { 1 };
            c.dns_id = rng.next_u32() as u16;
            c.dns_name = rng.next_u64();
            c.dns_aaaa = v6;
            sum.udp += 1;
            return c;
        }
        // TCP: servers are popular unevenly (small indices more often).
        let popular = rng.below(4096) + 1;
        let idx = 256 + rng.below(popular) as u32;
        let ends = Endpoints::new(
            pick(v6, client, server_addr(idx)),
            cport,
            weighted_port(rng),
            ipid,
        );
        let tcp = TcpState::new(ends, rng.next_u32(), rng.next_u32());
        let mut c = Conn::new(tcp, Kind::Tcp, Step::Syn);
        c.rtt = rtt;
        c.ts_option = rng.chance(600);
        c.ts_base = [rng.next_u32(), rng.next_u32()];
        c.closer = if rng.chance(700) {
            Side::Orig
        } else {
            Side::Resp
        };
        let r = rng.below(1000);
        if r < 20 {
            c.kind = Kind::TcpRej;
            sum.tcp_rej += 1;
        } else if r < 20 + u64::from(self.cfg.long_per_mille) {
            c.kind = Kind::TcpLong;
            let end = self.cfg.start + self.cfg.duration;
            let lifetime = rng
                .range_i64(secs(60), secs(900))
                .min((end - now).max(secs(5)));
            c.round_gap = rng.range_i64(secs(1), secs(30));
            c.rounds_left = (lifetime / c.round_gap).max(1) as u32;
            sum.tcp_long += 1;
        } else {
            c.rounds_left = if rng.chance(900) {
                1
            } else {
                rng.range(2, 3) as u32
            };
            c.round_gap = rng.range_i64(ms(1), ms(200));
            if rng.chance(30) {
                c.ends_with_rst = true;
                sum.tcp_rst += 1;
            } else {
                sum.tcp_fin += 1;
            }
        }
        c
    }
}

/// Writes the bulk mix described by `cfg` to `out` (whose header is already
/// written); returns what was written. Memory stays proportional to the
/// connections open at once, whatever `cfg.connections` is.
pub fn bulk<W: Write>(cfg: &BulkConfig, out: &mut PcapWriter<W>) -> io::Result<Summary> {
    let mut x = Ctx::new(out, cfg.seed);
    let mut maker = Maker::new(cfg);
    let mut conns: Vec<Conn> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    // Earliest next packet first; the insertion counter breaks ties
    // deterministically (first scheduled, first sent).
    let mut queue: BinaryHeap<Reverse<(Nanos, u64, u32)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut open = 0u64;
    let gap = (cfg.duration / i64::try_from(cfg.connections.max(1)).unwrap_or(i64::MAX)).max(1);
    let mut next_start = cfg.start;
    let mut started = 0u64;
    loop {
        let due = queue.peek().map(|Reverse((t, _, _))| *t);
        let (slot, now) = if started < cfg.connections && due.is_none_or(|t| next_start <= t) {
            let conn = maker.make(&mut x.rng, next_start, &mut x.sum);
            let slot = match free.pop() {
                Some(s) => {
                    conns[s as usize] = conn;
                    s
                }
                None => {
                    conns.push(conn);
                    (conns.len() - 1) as u32
                }
            };
            open += 1;
            x.sum.peak_open = x.sum.peak_open.max(open);
            let now = next_start;
            started += 1;
            // Arrivals jitter around the mean gap, so starts are not periodic.
            next_start += x.rng.range_i64(gap / 2, gap + gap / 2).max(1);
            (slot, now)
        } else if let Some(Reverse((t, _, slot))) = queue.pop() {
            (slot, t)
        } else {
            break;
        };
        match step(&mut conns[slot as usize], &mut x, now)? {
            Some(t) => {
                order += 1;
                queue.push(Reverse((t, order, slot)));
            }
            None => {
                open -= 1;
                free.push(slot);
            }
        }
    }
    Ok(x.finish())
}

/// What [`long`] generates: one TCP connection that exchanges data every
/// `interval` for `duration`, among `background_flows` one-packet flows
/// spread evenly over the same time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongConfig {
    /// Time of the handshake, nanoseconds since the Unix epoch.
    pub start: Nanos,
    /// From the SYN to the FIN.
    pub duration: Nanos,
    /// Period of the exchanges (first one `interval` after the start).
    pub interval: Nanos,
    /// Payload bytes each side sends per exchange (0: the originator sends a
    /// pure ACK and the responder answers with one).
    pub payload: usize,
    /// Number of one-packet background flows.
    pub background_flows: u64,
    /// Use IPv6 for the long connection.
    pub ipv6: bool,
    /// Seed of the background flows and ISNs.
    pub seed: u64,
}

impl LongConfig {
    /// `duration` and `interval` with 100-byte exchanges over IPv4, no
    /// background, starting at [`crate::time::DEFAULT_START`].
    pub fn new(duration: Nanos, interval: Nanos) -> LongConfig {
        LongConfig {
            start: crate::time::DEFAULT_START,
            duration,
            interval,
            payload: 100,
            background_flows: 0,
            ipv6: false,
            seed: 1,
        }
    }
}

/// The long connection of [`long`] as a generator of its packets in order.
struct LongConn {
    tcp: TcpState,
    start: Nanos,
    end: Nanos,
    interval: Nanos,
    /// Spacing of the packets of one exchange (a quarter interval at most,
    /// so exchanges never overlap).
    half: Nanos,
    payload: usize,
    /// Packets made so far; the position in the fixed pattern below.
    n: u64,
    ticks: u64,
}

impl LongConn {
    /// Builds its next packet into `buf`; returns its time, `None` when done.
    /// Pattern: 3 handshake packets, 3 per exchange (orig data, resp data,
    /// orig ACK), 3 for the FIN close.
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Nanos> {
        use tcp_flags::{ACK, FIN, PSH, SYN};
        let n = self.n;
        self.n += 1;
        let body = filler(self.payload);
        let data = if body.is_empty() { ACK } else { PSH | ACK };
        let (side, flags, payload, at) = match n {
            0 => (Side::Orig, SYN, &[][..], self.start),
            1 => (Side::Resp, SYN | ACK, &[][..], self.start + self.half),
            2 => (Side::Orig, ACK, &[][..], self.start + 2 * self.half),
            _ if n < 3 + 3 * self.ticks => {
                let k = (n - 3) / 3;
                let t = self.start + self.interval * (k as i64 + 1);
                match (n - 3) % 3 {
                    0 => (Side::Orig, data, body, t),
                    1 => (Side::Resp, data, body, t + self.half),
                    _ => (Side::Orig, ACK, &[][..], t + 2 * self.half),
                }
            }
            _ => match n - 3 - 3 * self.ticks {
                0 => (Side::Orig, FIN | ACK, &[][..], self.end),
                1 => (Side::Resp, FIN | ACK, &[][..], self.end + self.half),
                2 => (Side::Orig, ACK, &[][..], self.end + 2 * self.half),
                _ => return None,
            },
        };
        self.tcp.segment(buf, side, flags, payload, &[]);
        Some(at)
    }
}

/// Writes the long-connection trace described by `cfg` to `out`.
pub fn long<W: Write>(cfg: &LongConfig, out: &mut PcapWriter<W>) -> io::Result<Summary> {
    let mut x = Ctx::new(out, cfg.seed);
    let addrs = if cfg.ipv6 {
        IpPair::V6(
            Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0x10),
            Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 5),
        )
    } else {
        IpPair::V4(Ipv4Addr::new(198, 51, 100, 10), Ipv4Addr::new(192, 0, 2, 5))
    };
    let ends = Endpoints::new(addrs, 50_000, 443, 1);
    let tcp = TcpState::new(ends, x.rng.next_u32(), x.rng.next_u32());
    let interval = cfg.interval.max(1);
    let duration = cfg.duration.max(0);
    // The packets of one exchange (and the handshake) are `half` apart and
    // fit in a quarter of the interval and of the duration, so nothing overlaps.
    let half = ms(10).min(interval / 4).min(duration / 4).max(1);
    let mut conn = LongConn {
        tcp,
        start: cfg.start,
        // Even a degenerate duration closes after the handshake.
        end: cfg.start + duration.max(2 * half + 1),
        interval,
        half,
        payload: cfg.payload,
        n: 0,
        // Exchanges that end strictly before the close begins.
        ticks: ((duration - 2 * half - 1).max(0) / interval) as u64,
    };
    if cfg.ipv6 {
        x.sum.ipv6 += 1;
    } else {
        x.sum.ipv4 += 1;
    }
    x.sum.tcp_long += 1;
    let mut maker = Maker::new(&BulkConfig {
        mix: Mix::SCANS,
        ipv6_percent: 0,
        ..BulkConfig::new(cfg.background_flows, cfg.seed)
    });
    let mut long_buf = Vec::with_capacity(2048);
    let mut long_at = conn.next(&mut long_buf);
    let mut open = 1;
    x.sum.peak_open = 1;
    let n = cfg.background_flows;
    for i in 0..=n {
        // Background flow i sits in the middle of the i-th of n equal slots
        // (i128: duration * n may exceed i64).
        let bg_at = (i < n).then(|| {
            let offset = i128::from(duration) * i128::from(2 * i + 1) / i128::from(2 * n);
            cfg.start + offset as i64 // below duration: fits
        });
        // Long-connection packets due first (ties go to them).
        while let Some(t) = long_at.filter(|&t| bg_at.is_none_or(|b| t <= b)) {
            std::mem::swap(&mut x.buf, &mut long_buf);
            x.write(t)?;
            std::mem::swap(&mut x.buf, &mut long_buf);
            long_at = conn.next(&mut long_buf);
            if long_at.is_none() {
                open -= 1;
            }
        }
        if let Some(t) = bg_at {
            let mut c = maker.make(&mut x.rng, t, &mut x.sum);
            x.sum.peak_open = x.sum.peak_open.max(open + 1);
            step(&mut c, &mut x, t)?;
        }
    }
    Ok(x.finish())
}
