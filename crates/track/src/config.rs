//! `TrackerConfig`: every knob of the tracker, already validated.
//!
//! Defaults are Zeek's (`base/init-bare.zeek`, `base/utils/site.zeek`); the
//! sensor's config layer fills this from TOML and `--set`.

use connwatch_wire::Duration;

use crate::site::{Cidr, LocalNets};

/// A set of ports as a 65536-bit bitmap (8 KiB): one lookup per packet.
#[derive(Clone, PartialEq, Eq)]
pub struct PortSet {
    bits: Box<[u64; 1024]>,
}

impl PortSet {
    /// The empty set.
    pub fn new() -> Self {
        PortSet {
            bits: Box::new([0; 1024]),
        }
    }

    /// The set of the given ports.
    pub fn from_ports(ports: &[u16]) -> Self {
        ports.iter().copied().collect()
    }

    /// Adds a port.
    pub fn insert(&mut self, port: u16) {
        self.bits[usize::from(port >> 6)] |= 1 << (port & 63);
    }

    /// True if `port` is in the set.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.bits[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }

    /// The ports in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=u16::MAX).filter(|p| self.contains(*p))
    }
}

impl Default for PortSet {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut s = PortSet::new();
        for p in iter {
            s.insert(p);
        }
        s
    }
}

/// Zeek's `likely_server_ports` with every default script loaded (the
/// list in shared/spec/zeek-conn.md §6.1, Spicy analyzers included).
pub const FULL_TCP_SERVER_PORTS: &[u16] = &[
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 563, 585, 587, 614,
    631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223,
    5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

/// UDP part of the full list, tunnel ports included.
pub const FULL_UDP_SERVER_PORTS: &[u16] = &[
    53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 3389, 4011, 5060, 5353, 5355, 20000, 2123,
    2152, 3544, 4754, 4789, 5072, 6081,
];

/// Ports the DNS analyzer registers for over UDP
/// (zeek: scripts/base/protocols/dns/main.zeek).
pub const DNS_UDP_PORTS: &[u16] = &[53, 137, 5353, 5355];

/// Tunnel ports: likely server ports even in Zeek's bare mode.
pub const TUNNEL_UDP_SERVER_PORTS: &[u16] = &[2123, 2152, 3544, 4754, 4789, 5072, 6081];

/// The long-and-slow (exfiltration) criteria: all must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowCriteria {
    /// Minimum age (report time − start).
    pub min_age: Duration,
    /// Maximum average throughput, both directions, bytes per second.
    pub max_bytes_per_sec: f64,
    /// Minimum producer-consumer ratio
    /// `(orig_bytes − resp_bytes) / (orig_bytes + resp_bytes)`.
    pub min_pcr: f64,
    /// Minimum payload bytes sent by the originator.
    pub min_orig_bytes: u64,
}

/// Long-connection reporting (shared/spec/long-connections.md), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LongConfig {
    /// Default thresholds: positive and strictly increasing.
    pub durations: Vec<Duration>,
    /// After the last threshold, report again at every multiple of it.
    pub repeat_last: bool,
    /// Connections with either endpoint in one of these are not watched.
    pub ignore: Vec<Cidr>,
    /// Host pairs not watched (either orientation).
    pub ignore_pairs: Vec<(Cidr, Cidr)>,
    /// Responder ports not watched, with their protocol.
    pub ignore_ports: Vec<(u16, crate::record::Proto)>,
    /// Per-subnet schedules: the originator is looked up first (longest
    /// prefix), then the responder; an empty list means never watched.
    pub special_cases: Vec<(Cidr, Vec<Duration>)>,
    /// The long-and-slow notice; `None` turns it off.
    pub slow: Option<SlowCriteria>,
}

impl Default for LongConfig {
    fn default() -> Self {
        let m = |x: i64| Duration::from_secs(x * 60);
        LongConfig {
            durations: vec![m(10), m(30), m(60), m(12 * 60), m(24 * 60), m(3 * 24 * 60)],
            repeat_last: false,
            ignore: Vec::new(),
            ignore_pairs: Vec::new(),
            ignore_ports: Vec::new(),
            special_cases: Vec::new(),
            slow: Some(SlowCriteria {
                min_age: Duration::from_secs(24 * 3600),
                max_bytes_per_sec: 256.0,
                min_pcr: 0.5,
                min_orig_bytes: 1024,
            }),
        }
    }
}

/// Which inactivity timeout a connection uses (Zeek switches a TCP
/// connection from the UDP value to the TCP one, and scripts raise it for
/// interactive services), stored as one byte per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Not set yet.
    Unset,
    /// `udp_inactivity_timeout`.
    Udp,
    /// `tcp_inactivity_timeout`.
    Tcp,
    /// `icmp_inactivity_timeout`.
    Icmp,
    /// `unknown_ip_inactivity_timeout`.
    UnknownIp,
    /// `interactive_inactivity_timeout`.
    Interactive,
    /// Connections stitched from flow records: `flows.idle_timeout`.
    Flow,
}

/// Everything the tracker needs to know.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// `tcp_inactivity_timeout` (5 min).
    pub tcp_inactivity_timeout: Duration,
    /// `udp_inactivity_timeout` (1 min); also the first inactivity timeout of
    /// TCP connections until the handshake is over.
    pub udp_inactivity_timeout: Duration,
    /// `icmp_inactivity_timeout` (1 min).
    pub icmp_inactivity_timeout: Duration,
    /// `unknown_ip_inactivity_timeout` (1 min).
    pub unknown_ip_inactivity_timeout: Duration,
    /// `tcp_attempt_delay` (5 s).
    pub tcp_attempt_delay: Duration,
    /// `tcp_close_delay` (5 s).
    pub tcp_close_delay: Duration,
    /// `tcp_connection_linger` (5 s).
    pub tcp_connection_linger: Duration,
    /// `tcp_session_timer` (6 s).
    pub tcp_session_timer: Duration,
    /// `tcp_SYN_timeout` (5 s): first expire check after creation.
    pub tcp_syn_timeout: Duration,
    /// `frag_timeout` (5 min).
    pub frag_timeout: Duration,
    /// `Tunnel::ip_tunnel_timeout` (24 h).
    pub ip_tunnel_timeout: Duration,
    /// Longer inactivity timeout for interactive services (Zeek's
    /// `base/protocols/conn/inactivity.zeek`: 1 h for ftp/ssh/telnet/rlogin).
    pub interactive_inactivity_timeout: Duration,
    /// Responder ports that get `interactive_inactivity_timeout` once
    /// established (21, 22, 23, 513).
    pub interactive_ports: Vec<u16>,
    /// `dns_session_timeout` (10 s): UDP DNS sessions end after this much
    /// silence (less Zeek's 1 s slack).
    pub dns_session_timeout: Duration,
    /// UDP ports where Zeek attaches its DNS analyzer (53, 137, 5353, 5355
    /// when DNS is loaded; empty otherwise).
    pub dns_udp_ports: PortSet,
    /// TCP ports where Zeek attaches its DNS analyzer (53 when DNS is
    /// loaded; empty otherwise).
    pub dns_tcp_ports: PortSet,
    /// UDP ports where Zeek attaches its NTP analyzer (123 when NTP is
    /// loaded; empty otherwise).
    pub ntp_udp_ports: PortSet,
    /// Do not verify IP/TCP/UDP/ICMP checksums (`-C`).
    pub ignore_checksums: bool,
    /// TCP likely server ports (orientation heuristic).
    pub tcp_server_ports: PortSet,
    /// UDP likely server ports.
    pub udp_server_ports: PortSet,
    /// `Site::local_nets` (already including the private ranges if
    /// `private_address_space_is_local`).
    pub local_nets: LocalNets,
    /// Seed for uids; equal seeds give equal uids.
    pub uid_seed: u64,
    /// `Tunnel::max_depth` (4).
    pub max_tunnel_depth: usize,
    /// `Tunnel::max_changes_per_connection` (5).
    pub max_tunnel_changes: u8,
    /// Long-connection reporting; `None` turns it off.
    pub long: Option<LongConfig>,
    /// Upper bound on tracked connections (0 = unbounded); see
    /// `tracker/evict.rs` for what happens when it is reached.
    pub max_connections: usize,
    /// Packets whose outer source or destination lies in one of these
    /// networks are dropped before tracking (a capture filter).
    pub capture_ignore: LocalNets,
    /// Flow export (NetFlow/IPFIX records by active and inactive timeout);
    /// `None` turns it off.
    pub export: Option<ExportTimeouts>,
    /// Upper bound on IP fragments held for reassembly, in bytes.
    pub max_fragment_bytes: usize,
    /// How connections are stitched from collected flow records.
    pub flows: FlowStitching,
    /// Which protocol detectors fill `service` (default: all, as in a
    /// full Zeek run).
    pub detect: crate::service::Detectors,
}

/// Timeouts of connections stitched from flow records (NetFlow/IPFIX
/// collection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowStitching {
    /// A connection with no record for this long has ended. It must be
    /// longer than the exporters' active timeout (Cisco's default is
    /// 30 min), or long connections are cut between their records.
    pub idle_timeout: Duration,
    /// Once every direction seen has ended (an idle/end record, or FIN/RST
    /// when the exporter says no reason), the connection waits this long
    /// for the other direction's record before it is written.
    pub end_delay: Duration,
}

impl Default for FlowStitching {
    fn default() -> Self {
        FlowStitching {
            idle_timeout: Duration::from_secs(3600),
            end_delay: Duration::from_secs(5),
        }
    }
}

/// Flow export timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportTimeouts {
    /// A record open this long is cut (`ip flow-cache timeout active`).
    pub active: Duration,
    /// A flow idle this long is exported and closed.
    pub inactive: Duration,
}

impl Default for ExportTimeouts {
    fn default() -> Self {
        ExportTimeouts {
            active: Duration::from_secs(30 * 60),
            inactive: Duration::from_secs(15),
        }
    }
}

impl TrackerConfig {
    /// The duration of a timeout class (zero for `Unset`).
    pub fn timeout(&self, t: Timeout) -> Duration {
        match t {
            Timeout::Unset => Duration::ZERO,
            Timeout::Udp => self.udp_inactivity_timeout,
            Timeout::Tcp => self.tcp_inactivity_timeout,
            Timeout::Icmp => self.icmp_inactivity_timeout,
            Timeout::UnknownIp => self.unknown_ip_inactivity_timeout,
            Timeout::Interactive => self.interactive_inactivity_timeout,
            Timeout::Flow => self.flows.idle_timeout,
        }
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            tcp_inactivity_timeout: Duration::from_secs(300),
            udp_inactivity_timeout: Duration::from_secs(60),
            icmp_inactivity_timeout: Duration::from_secs(60),
            unknown_ip_inactivity_timeout: Duration::from_secs(60),
            tcp_attempt_delay: Duration::from_secs(5),
            tcp_close_delay: Duration::from_secs(5),
            tcp_connection_linger: Duration::from_secs(5),
            tcp_session_timer: Duration::from_secs(6),
            tcp_syn_timeout: Duration::from_secs(5),
            frag_timeout: Duration::from_secs(300),
            ip_tunnel_timeout: Duration::from_secs(86_400),
            interactive_inactivity_timeout: Duration::from_secs(3600),
            interactive_ports: vec![21, 22, 23, 513],
            dns_session_timeout: Duration::from_secs(10),
            dns_udp_ports: PortSet::from_ports(DNS_UDP_PORTS),
            dns_tcp_ports: PortSet::from_ports(&[53]),
            ntp_udp_ports: PortSet::from_ports(&[123]),
            ignore_checksums: false,
            tcp_server_ports: PortSet::from_ports(FULL_TCP_SERVER_PORTS),
            udp_server_ports: PortSet::from_ports(FULL_UDP_SERVER_PORTS),
            local_nets: LocalNets::zeek_default(),
            uid_seed: 0x5eed,
            max_tunnel_depth: 4,
            max_tunnel_changes: 5,
            long: Some(LongConfig::default()),
            max_connections: 0,
            capture_ignore: LocalNets::empty(),
            export: None,
            max_fragment_bytes: 64 << 20,
            flows: FlowStitching::default(),
            detect: crate::service::Detectors::ALL,
        }
    }
}
