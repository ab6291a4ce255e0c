//! The configuration file as written: serde structs whose doc comments are
//! the reference for every key.
//!
//! Unknown keys are rejected (`deny_unknown_fields`); every key is optional
//! and defaults to what Zeek does out of the box. Values that need parsing
//! (durations, networks) stay strings here; [`super::validate`] checks them
//! all and reports every problem at once.
//!
//! ```toml
//! [log]
//! dir = "logs"
//!
//! [site]
//! local_nets = ["10.0.0.0/8", "2001:db8::/32"]
//!
//! [track]
//! tcp_inactivity_timeout = "10min"
//!
//! [long]
//! durations = ["10min", "30min", "1hr", "12hrs", "24hrs", "3days"]
//! ignore = ["10.8.0.0/16"]
//!
//! [long.special_cases]
//! "192.168.0.0/16" = ["1h", "1day"]
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Log output.
    pub log: LogSection,
    /// Packet capture.
    pub capture: CaptureSection,
    /// The monitored site (`Site::` in Zeek).
    pub site: SiteSection,
    /// Which Zeek setup to mimic where script loading changes behaviour.
    pub zeek: ZeekSection,
    /// Connection tracking timeouts and limits (Zeek's `init-bare.zeek`
    /// defaults).
    pub track: TrackSection,
    /// Long connections: `conn_long.log` and its notices
    /// (shared/spec/long-connections.md).
    pub long: LongSection,
    /// The running process (live capture).
    pub run: RunSection,
    /// The Prometheus endpoint (live capture).
    pub metrics: MetricsSection,
    /// NetFlow v5/v9 and IPFIX export.
    pub export: ExportSection,
    /// NetFlow v5/v9 and IPFIX collection.
    pub flows: FlowsSection,
}

/// `[flows]`: connwatch as a NetFlow/IPFIX collector. Flow records from
/// routers are stitched into connections (both directions, successive
/// active-timeout records) and written to conn.log and conn_long.log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowsSection {
    /// Where flow records come from: `udp://HOST:PORT` (a UDP socket; any
    /// of v5, v9 and IPFIX on each) or `file:PATH` (a pcap/pcapng capture
    /// of export datagrams, read to its end). Default `[]`. The `--flows`
    /// flags replace the list.
    pub listen: Vec<String>,
    /// Exporters allowed to send (addresses or networks); datagrams from
    /// any other source are counted and dropped. Default `[]`: any.
    pub exporters: Vec<String>,
    /// A stitched connection without records for this long has ended. Make
    /// it longer than the exporters' active timeout. Default `"1h"`.
    pub idle_timeout: String,
    /// Once every direction of a connection has ended, wait this long for
    /// the other direction's record before writing it. Default `"5s"`.
    pub end_delay: String,
    /// Receive buffer of each UDP socket, bytes (exporters send in
    /// bursts). Default `8388608`.
    pub recv_buffer: u32,
    /// Template scopes (exporter address and port, version, domain) kept
    /// at once; past it the one unused longest is forgotten. Default
    /// `4096`.
    pub max_exporters: u32,
}

impl Default for FlowsSection {
    fn default() -> Self {
        FlowsSection {
            listen: Vec::new(),
            exporters: Vec::new(),
            idle_timeout: "1h".into(),
            end_delay: "5s".into(),
            recv_buffer: 8 << 20,
            max_exporters: 4096,
        }
    }
}

/// `[export]`: connections exported as flow records to NetFlow/IPFIX
/// collectors over UDP, cut by the active and inactive timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSection {
    /// Collectors, as `ipfix://HOST:PORT`, `netflow9://HOST:PORT` or
    /// `netflow5://HOST:PORT`. Default `[]` (no export). The `--export`
    /// flags replace the list.
    pub collectors: Vec<String>,
    /// A flow record open this long is exported and a new one starts
    /// (`ip flow-cache timeout active`). Default `"30min"`.
    pub active_timeout: String,
    /// A flow without packets for this long is exported and closed.
    /// Default `"15s"`.
    pub inactive_timeout: String,
    /// IPFIX only: one RFC 5103 bidirectional record per interval (reverse
    /// elements, source = the originator) instead of one record per
    /// direction. Default `false`.
    pub biflow: bool,
    /// Largest UDP payload sent, bytes. Unset (the default): `1464` (30
    /// NetFlow v5 records; fits a 1500-byte MTU over IPv4), or `65000` for a
    /// collector on a loopback address, where no path MTU applies and
    /// fewer, larger datagrams cost the sensor far less.
    pub max_datagram: Option<u32>,
    /// Observation domain (IPFIX), source id (v9), engine id (v5, low
    /// byte). Default `0`.
    pub observation_domain: u32,
    /// Templates are sent again after this long (export time). Default
    /// `"60s"`.
    pub template_refresh: String,
    /// ... or after this many datagrams, whichever comes first. Default
    /// `20`.
    pub template_refresh_datagrams: u32,
}

impl Default for ExportSection {
    fn default() -> Self {
        ExportSection {
            collectors: Vec::new(),
            active_timeout: "30min".into(),
            inactive_timeout: "15s".into(),
            biflow: false,
            max_datagram: None,
            observation_domain: 0,
            template_refresh: "60s".into(),
            template_refresh_datagrams: 20,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// Directory the logs are written to (`conn.log`, …). Default `"."`.
    /// The `--logdir` flag overrides it.
    pub dir: String,
    /// Write JSON lines instead of Zeek's TSV (`LogAscii::use_json`).
    /// Default `false`. The `--json` flag sets it.
    pub json: bool,
    /// Live capture: rotate the logs at every multiple of this interval
    /// (counted from the Unix epoch, like Zeek's default
    /// `Log::default_rotation_interval` with base time 0:00 UTC): the
    /// current `conn.log` is closed and renamed `conn.YYYY-MM-DD-HH-MM-SS.log`
    /// after the time it was opened (local time), and a new one starts.
    /// SIGHUP rotates at once. `"0s"` (the default) rotates only on SIGHUP.
    pub rotate_interval: String,
    /// Live capture: write a line to `stats.log` this often (Zeek's
    /// `Stats::report_interval`). Default `"5min"`; `"0s"` turns it off.
    pub stats_interval: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            dir: ".".to_string(),
            json: false,
            rotate_interval: "0s".to_string(),
            stats_interval: "5min".to_string(),
        }
    }
}

/// `[run]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// After opening the capture sockets (which needs root or
    /// CAP_NET_RAW), switch to this user and its primary group, and give up
    /// every other privilege. The log directory is handed to the user
    /// first. Unset (the default): keep running as started.
    pub user: Option<String>,
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Serve Prometheus metrics (`GET /metrics`) on this loopback address
    /// and port, e.g. `"127.0.0.1:9911"` or `"[::1]:9911"`. Unset (the
    /// default): no endpoint. Only loopback addresses are accepted.
    pub listen: Option<String>,
}

/// `[capture]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// Accept packets with bad IP/TCP/UDP/ICMP checksums instead of
    /// ignoring them (`ignore_checksums`, `zeek -C`). Default `false`. The
    /// `-C` flag sets it. On a live interface, packets this host sends
    /// before the network card fills in their checksums (checksum offload)
    /// are never checked, whatever this says.
    pub ignore_checksums: bool,
    /// Interfaces to capture on (Linux, AF_PACKET). Default `[]`. The `-i`
    /// flags replace the list.
    pub interfaces: Vec<String>,
    /// Worker threads for live capture; each owns its share of the
    /// connections (the kernel spreads flows over them by a symmetric
    /// hash). `0` (the default) means one per available core. The
    /// `--workers` flag overrides it. Reading a file always uses one.
    pub workers: u32,
    /// Size of each receive ring (per worker and interface), in MiB.
    /// Default `64`.
    pub ring_mb: u32,
    /// Hosts or networks whose packets are dropped before tracking (either
    /// outer address), e.g. `["10.8.0.0/16", "192.0.2.7"]`. Default `[]`.
    pub ignore: Vec<String>,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            ignore_checksums: false,
            interfaces: Vec::new(),
            workers: 0,
            ring_mb: 64,
            ignore: Vec::new(),
        }
    }
}

/// `[site]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSection {
    /// Networks that count as local for `local_orig`/`local_resp`, as CIDR
    /// strings (`"10.0.0.0/8"`, `"2001:db8::/32"`); host bits are masked
    /// off, as Zeek does (`Site::local_nets`). Default `[]`.
    pub local_nets: Vec<String>,
    /// Also count the private and reserved ranges as local
    /// (`Site::private_address_space_is_local`): 10/8, 172.16/12,
    /// 192.168/16, 127/8, 169.254/16, multicast 224.0.0/24 and 239/8,
    /// fc00::/7, fe80::/10, 2001::/23 and the rest of spec §9.5.
    /// Default `true`. With `false` and no `local_nets` both columns are
    /// unset.
    pub private_address_space_is_local: bool,
}

impl Default for SiteSection {
    fn default() -> Self {
        SiteSection {
            local_nets: Vec::new(),
            private_address_space_is_local: true,
        }
    }
}

/// `[zeek]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZeekSection {
    /// Mimic `zeek -b` (bare mode): only the scripts in `scripts` are
    /// loaded. Default `false` (all default scripts, like plain `zeek -r`).
    /// This decides the "likely server ports" used to orient connections
    /// whose first packet is not a SYN (spec §6.1).
    pub bare: bool,
    /// Zeek scripts loaded by name, e.g. `["base/protocols/conn",
    /// "base/protocols/dns"]`: in bare mode the only ones, otherwise in
    /// addition to the defaults (policy scripts). In bare mode each
    /// protocol script adds the server ports it registers; the tunnel
    /// ports (UDP 2123, 2152, 3544, 4754, 4789, 5072, 6081) are always
    /// there. Names we do not know are accepted and change nothing.
    /// Default `[]`.
    pub scripts: Vec<String>,
}

/// `[track]`. Durations are strings with a unit: Zeek spellings (`500usec`,
/// `250msec`, `30sec`/`30secs`, `10min`/`10mins`, `1hr`/`12hrs`,
/// `1day`/`3days`) or short ones (`500us`, `250ms`, `30s`, `10m`, `1h`,
/// `3d`); decimals such as `1.5min` are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackSection {
    /// Idle time after which an established TCP connection is removed
    /// (`tcp_inactivity_timeout`). Default `"5min"`. `"0s"` disables it.
    pub tcp_inactivity_timeout: String,
    /// Idle time after which a UDP flow is removed
    /// (`udp_inactivity_timeout`). Default `"1min"`.
    pub udp_inactivity_timeout: String,
    /// Idle time after which an ICMP flow is removed
    /// (`icmp_inactivity_timeout`). Default `"1min"`.
    pub icmp_inactivity_timeout: String,
    /// Idle time after which a flow of another IP protocol is removed
    /// (`unknown_ip_inactivity_timeout`). Default `"1min"`.
    pub unknown_ip_inactivity_timeout: String,
    /// How long a connection attempt (SYN without answer) lives
    /// (`tcp_attempt_delay`). Default `"5s"`.
    pub tcp_attempt_delay: String,
    /// Delay after both sides closed before the connection is removed
    /// (`tcp_close_delay`). Default `"5s"`.
    pub tcp_close_delay: String,
    /// Delay after a RST before removal (`tcp_connection_linger`).
    /// Default `"5s"`.
    pub tcp_connection_linger: String,
    /// Interval of the TCP session timer that checks for partial or idle
    /// closes (`tcp_session_timer`). Default `"6s"`.
    pub tcp_session_timer: String,
    /// Give up on a connection that saw only a SYN after this long
    /// (`tcp_SYN_timeout`). Default `"5s"`.
    pub tcp_syn_timeout: String,
    /// How long IP fragments wait for the rest of their datagram
    /// (`frag_timeout`). Default `"5min"`.
    pub frag_timeout: String,
    /// Timers expired per packet at most (`max_timer_expires`); 0 means
    /// no limit. Default `300`.
    pub max_timer_expires: u32,
    /// Seed for the connection uids; equal seeds give equal uids. Unset
    /// (the default) means random per run.
    pub uid_seed: Option<u64>,
    /// Nested tunnels followed at most (`Tunnel::max_depth`). Default `4`.
    pub max_tunnel_depth: u32,
    /// Encapsulation changes recorded per connection at most
    /// (`Tunnel::max_changes_per_connection`). Default `5`.
    pub max_tunnel_changes: u32,
    /// Most connections tracked at once (per process; each live worker
    /// gets its share). When a new connection would exceed it, one is
    /// evicted: among 16 sampled, never one already reported to
    /// `conn_long.log`, preferring ones the responder never answered, the
    /// one idle longest; it is written to conn.log as it stands and counted
    /// (`evicted`). If none may go, the new one is not tracked (counted as
    /// `untracked`). `0` means no limit. Default: no limit when reading a
    /// file (as Zeek), 1,000,000 on live interfaces.
    pub max_connections: Option<u64>,
}

impl Default for TrackSection {
    fn default() -> Self {
        TrackSection {
            tcp_inactivity_timeout: "5min".into(),
            udp_inactivity_timeout: "1min".into(),
            icmp_inactivity_timeout: "1min".into(),
            unknown_ip_inactivity_timeout: "1min".into(),
            tcp_attempt_delay: "5s".into(),
            tcp_close_delay: "5s".into(),
            tcp_connection_linger: "5s".into(),
            tcp_session_timer: "6s".into(),
            tcp_syn_timeout: "5s".into(),
            frag_timeout: "5min".into(),
            max_timer_expires: 300,
            uid_seed: None,
            max_tunnel_depth: 4,
            max_tunnel_changes: 5,
            max_connections: None,
        }
    }
}

/// `[long]`: still-open connections reported to `conn_long.log` when their
/// age (network time − first packet) crosses each threshold, as the Zeek
/// package `zeek-long-connections` does, plus `notice.log` entries.
/// Durations are spelled as in `[track]`; networks are CIDR strings, and
/// where hosts make sense a bare address is taken as `/32` or `/128`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LongSection {
    /// Watch long connections at all. Default `true`.
    pub enabled: bool,
    /// Thresholds, positive and strictly increasing. Default
    /// `["10min", "30min", "1hr", "12hrs", "24hrs", "3days"]` (the
    /// package's `default_durations`).
    pub durations: Vec<String>,
    /// After the last threshold, report again at every multiple of it,
    /// counted from the connection's start (`3d, 6d, 9d, …`). Default
    /// `false`.
    pub repeat_last: bool,
    /// Networks never watched: a connection with either endpoint inside
    /// one gets no timer, no row and no notice (its `conn.log` row is
    /// unchanged). Default `[]`.
    pub ignore: Vec<String>,
    /// Host or network pairs never watched, either orientation, e.g.
    /// `[["10.0.0.0/8", "192.0.2.1"]]`. Default `[]`.
    pub ignore_pairs: Vec<Vec<String>>,
    /// Responder ports never watched, as `PORT/PROTO` with PROTO `tcp`,
    /// `udp` or `icmp`, e.g. `["1194/udp", "22/tcp"]`. Default `[]`.
    pub ignore_ports: Vec<String>,
    /// Per-network threshold lists (the package's `special_cases`): the
    /// originator is looked up first (longest prefix), then the responder;
    /// an empty list means never watched. Keys are CIDR strings, quoted:
    /// `"10.8.0.0/16" = []`. Default `{}`.
    pub special_cases: BTreeMap<String, Vec<String>>,
    /// Add `report_ts`, `threshold`, `idle` and the per-direction byte and
    /// packet deltas after the conn.log columns. `false` writes exactly the
    /// package's columns (conn.log's). Default `true`.
    pub extra_columns: bool,
    /// Write a `LongConnection::found` notice to `notice.log` for every
    /// `conn_long.log` row. Default `true`.
    pub notice: bool,
    /// The long-and-slow (`LongConnection::slow_exfil`) notice.
    pub slow: SlowSection,
}

impl Default for LongSection {
    fn default() -> Self {
        LongSection {
            enabled: true,
            durations: ["10min", "30min", "1hr", "12hrs", "24hrs", "3days"]
                .map(String::from)
                .to_vec(),
            repeat_last: false,
            ignore: Vec::new(),
            ignore_pairs: Vec::new(),
            ignore_ports: Vec::new(),
            special_cases: BTreeMap::new(),
            extra_columns: true,
            notice: true,
            slow: SlowSection::default(),
        }
    }
}

/// `[long.slow]`: a `LongConnection::slow_exfil` notice, once per
/// connection, at the first report where all criteria hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlowSection {
    /// Raise the notice at all. Default `true`.
    pub enabled: bool,
    /// Minimum age at the report. Default `"24h"`.
    pub min_age: String,
    /// Maximum average throughput, both directions together, in bytes per
    /// second over the connection's age. Default `256`.
    pub max_bytes_per_sec: f64,
    /// Minimum producer-consumer ratio `(orig_bytes − resp_bytes) /
    /// (orig_bytes + resp_bytes)`, from −1 (all inbound) to 1 (all
    /// outbound). Default `0.5`.
    pub min_pcr: f64,
    /// Minimum payload bytes sent by the originator, so idle keep-alives
    /// are not flagged. Default `1024`.
    pub min_orig_bytes: u64,
}

impl Default for SlowSection {
    fn default() -> Self {
        SlowSection {
            enabled: true,
            min_age: "24h".into(),
            max_bytes_per_sec: 256.0,
            min_pcr: 0.5,
            min_orig_bytes: 1024,
        }
    }
}
