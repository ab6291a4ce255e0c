//! What the tracker hands to sinks: `ConnRecord`, one per conn.log row, and
//! `ConnEvent`. Plain owned data; sinks decide how to render it.

use core::net::IpAddr;

use connwatch_wire::{Duration, Timestamp};

use crate::uid::Uid;

/// Transport protocol as conn.log's `proto` column names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Any other IP protocol.
    Unknown,
}

impl Proto {
    /// The name Zeek writes (`tcp`, `udp`, `icmp`, `unknown_transport`).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Unknown => "unknown_transport",
        }
    }
}

/// conn.log's `conn_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    OTH,
}

impl ConnState {
    /// The name Zeek writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

/// A confirmed protocol (conn.log `service`): Zeek's analyzer names, plus
/// the script-level `ftp-data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Service {
    Vxlan,
    Geneve,
    Teredo,
    Ayiya,
    Gtpv1,
    Dns,
    Http,
    Ssl,
    Dtls,
    Ssh,
    Ftp,
    FtpData,
    Smtp,
    Pop3,
    Imap,
    Ntp,
    Dhcp,
    Snmp,
    Sip,
    Rdp,
    Smb,
    Krb,
    KrbTcp,
    Mysql,
    Quic,
    Irc,
    Modbus,
    DceRpc,
}

impl Service {
    /// The lower-case name Zeek writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Vxlan => "vxlan",
            Service::Geneve => "geneve",
            Service::Teredo => "teredo",
            Service::Ayiya => "ayiya",
            Service::Gtpv1 => "gtpv1",
            Service::Dns => "dns",
            Service::Http => "http",
            Service::Ssl => "ssl",
            Service::Dtls => "dtls",
            Service::Ssh => "ssh",
            Service::Ftp => "ftp",
            Service::FtpData => "ftp-data",
            Service::Smtp => "smtp",
            Service::Pop3 => "pop3",
            Service::Imap => "imap",
            Service::Ntp => "ntp",
            Service::Dhcp => "dhcp",
            Service::Snmp => "snmp",
            Service::Sip => "sip",
            Service::Rdp => "rdp",
            Service::Smb => "smb",
            Service::Krb => "krb",
            Service::KrbTcp => "krb_tcp",
            Service::Mysql => "mysql",
            Service::Quic => "quic",
            Service::Irc => "irc",
            Service::Modbus => "modbus",
            Service::DceRpc => "dce_rpc",
        }
    }
}

/// Services in confirmation order (at most 4; more are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceList {
    items: [Option<Service>; 4],
}

impl ServiceList {
    /// Adds a service unless present (or the list is full).
    pub fn add(&mut self, s: Service) {
        for slot in &mut self.items {
            match slot {
                Some(x) if *x == s => return,
                Some(_) => {}
                None => {
                    *slot = Some(s);
                    return;
                }
            }
        }
    }

    /// Removes a service (Zeek removes a confirmed analyzer's name when
    /// it later reports a violation); later ones move up.
    pub fn remove(&mut self, s: Service) {
        if let Some(i) = self.items.iter().position(|x| *x == Some(s)) {
            self.items.copy_within(i + 1.., i);
            self.items[self.items.len() - 1] = None;
        }
    }

    /// Whether `s` is in the list.
    pub fn contains(&self, s: Service) -> bool {
        self.items.contains(&Some(s))
    }

    /// The services in confirmation order.
    pub fn iter(&self) -> impl Iterator<Item = Service> + '_ {
        self.items.iter().map_while(|s| *s)
    }

    /// True when no service was confirmed.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
}

/// History letters (conn.log `history`), bounded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct History {
    buf: [u8; History::CAPACITY],
    len: u8,
}

impl History {
    /// Letters kept at most; later letters are dropped.
    pub const CAPACITY: usize = 30;

    /// An empty history.
    pub const fn new() -> Self {
        History {
            buf: [0; Self::CAPACITY],
            len: 0,
        }
    }

    /// Appends a letter (dropped if full).
    pub fn push(&mut self, c: u8) {
        if (self.len as usize) < Self::CAPACITY {
            self.buf[self.len as usize] = c;
            self.len += 1;
        }
    }

    /// A history of the first [`CAPACITY`](Self::CAPACITY) letters of
    /// `s`, copied at once.
    #[inline]
    pub fn from_bytes(s: &[u8]) -> Self {
        let n = s.len().min(Self::CAPACITY);
        let mut h = History::new();
        h.buf[..n].copy_from_slice(&s[..n]);
        h.len = n as u8;
        h
    }

    /// Replaces the whole history.
    pub fn set(&mut self, s: &[u8]) {
        self.len = 0;
        for &c in s {
            self.push(c);
        }
    }

    /// The letters.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The letters as text (always ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// True when no letter was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for History {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Uids of the tunnels a connection was seen in (conn.log `tunnel_parents`).
///
/// Almost no connection has any, so the uids live behind a box allocated
/// at the first one: every record carries this, and inline it made a
/// `ConnRecord` 104 bytes longer for each copy into the event queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TunnelParents {
    items: Option<Box<[Uid; TunnelParents::CAPACITY]>>,
    len: u8,
}

impl TunnelParents {
    /// Zeek allows 5 encapsulation changes, so 6 distinct parents at most.
    pub const CAPACITY: usize = 6;

    /// Adds a parent unless present or full; returns true if added.
    pub fn add(&mut self, uid: Uid) -> bool {
        if self.as_slice().contains(&uid) || self.len as usize >= Self::CAPACITY {
            return false;
        }
        let items = self.items.get_or_insert_with(Default::default);
        items[self.len as usize] = uid;
        self.len += 1;
        true
    }

    /// The parents in the order first seen.
    pub fn as_slice(&self) -> &[Uid] {
        match &self.items {
            Some(items) => &items[..self.len as usize],
            None => &[],
        }
    }

    /// True when the connection was never tunnelled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One conn.log row: a connection's state when it was removed (or, for
/// interim reports, at the moment of the report).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnRecord {
    /// Time of the first packet (`ts`).
    pub ts: Timestamp,
    /// Time of the last packet that counted for `duration`.
    pub last: Timestamp,
    /// Unique id.
    pub uid: Uid,
    /// Originator address.
    pub orig_h: IpAddr,
    /// Originator port (ICMP: type).
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: IpAddr,
    /// Responder port (ICMP: counterpart type or code).
    pub resp_p: u16,
    /// Transport protocol.
    pub proto: Proto,
    /// Confirmed services.
    pub service: ServiceList,
    /// Payload bytes sent by the originator.
    pub orig_bytes: u64,
    /// Payload bytes sent by the responder.
    pub resp_bytes: u64,
    /// Connection state summary.
    pub conn_state: ConnState,
    /// Originator in the local networks (unset when none are configured).
    pub local_orig: Option<bool>,
    /// Responder in the local networks.
    pub local_resp: Option<bool>,
    /// Bytes in acknowledged content gaps.
    pub missed_bytes: u64,
    /// History letters.
    pub history: History,
    /// Packets from the originator.
    pub orig_pkts: u64,
    /// IP bytes from the originator.
    pub orig_ip_bytes: u64,
    /// Packets from the responder.
    pub resp_pkts: u64,
    /// IP bytes from the responder.
    pub resp_ip_bytes: u64,
    /// Tunnels the connection was seen in.
    pub tunnel_parents: TunnelParents,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Outer VLAN of the first packet.
    pub vlan: Option<u16>,
    /// Inner VLAN of the first packet.
    pub inner_vlan: Option<u16>,
    /// 0 for a connection seen in packets; for one stitched from flow
    /// records, the exporters' packet sampling interval (1 = every packet
    /// counted; above 1 the counters were scaled up by it).
    pub sampling: u32,
}

impl ConnRecord {
    /// `duration` as Zeek computes it (difference of the two `f64` times),
    /// or `None` when it is not positive: then Zeek leaves `duration`,
    /// `orig_bytes` and `resp_bytes` unset.
    pub fn duration_secs(&self) -> Option<f64> {
        let d = self.last.as_zeek_secs() - self.ts.as_zeek_secs();
        (d > 0.0).then_some(d)
    }
}

/// What an interim (conn_long.log) report adds to the connection's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterimReport {
    /// The instant the row describes: connection start + threshold.
    pub report_ts: Timestamp,
    /// The threshold this row reports.
    pub threshold: Duration,
    /// `report_ts` minus the time of the connection's last packet.
    pub idle: Duration,
    /// Payload bytes from the originator since the previous report.
    pub orig_bytes_delta: u64,
    /// Payload bytes from the responder since the previous report.
    pub resp_bytes_delta: u64,
    /// Packets from the originator since the previous report.
    pub orig_pkts_delta: u64,
    /// Packets from the responder since the previous report.
    pub resp_pkts_delta: u64,
    /// This report is the first at which the long-and-slow criteria hold
    /// (the `LongConnection::slow_exfil` notice is raised once per
    /// connection).
    pub slow: bool,
}

/// What the tracker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// A connection was removed: one conn.log row.
    Finished(ConnRecord),
    /// A connection still open crossed a long-connection threshold: one
    /// conn_long.log row, its state as of `report.report_ts`.
    Interim {
        /// The connection as of the report.
        record: ConnRecord,
        /// Report time, threshold, idle time, deltas, notice flag.
        report: InterimReport,
    },
}
