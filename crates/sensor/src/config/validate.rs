//! From flags and file to a checked [`SensorConfig`].
//!
//! Stage 1 reads the TOML file (or starts empty) and applies every
//! `--set KEY=VALUE` at its dotted path; stage 2 deserializes the result
//! into [`RawConfig`] (so unknown keys are rejected the same way wherever
//! they come from); stage 3 parses durations and networks, collecting every
//! error before reporting. Explicit flags (`-C`, `--json`, `--logdir`) win
//! over both file and `--set`.

use std::path::PathBuf;

use connwatch_track::{Proto, SlowCriteria};
use connwatch_wire::Duration;
use serde::Deserialize;

use super::duration::parse_duration;
use super::raw::{LongSection, RawConfig};
use super::server_ports::{self, LikelyServerPorts};
use crate::cli::{Cli, SetOverride};
use crate::sinks::LogFormat;
use connwatch_track::Cidr;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// Keys or values are wrong; one line per problem, each naming its key.
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// Where packets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A capture file.
    File(PathBuf),
    /// Standard input (`-r -`).
    Stdin,
    /// Live capture on these interfaces (Linux).
    Live(Vec<String>),
    /// NetFlow/IPFIX collection (`[flows]`).
    Flows(Vec<FlowSource>),
}

/// Where flow records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSource {
    /// A UDP socket bound to this address.
    Udp(std::net::SocketAddr),
    /// A pcap/pcapng capture of export datagrams.
    File(PathBuf),
}

impl FlowSource {
    /// Parses `udp://HOST:PORT` or `file:PATH`.
    pub fn parse(url: &str) -> Result<FlowSource, String> {
        use std::net::ToSocketAddrs;
        if let Some(path) = url.strip_prefix("file:") {
            if path.is_empty() {
                return Err(format!("`{url}`: no file name"));
            }
            return Ok(FlowSource::File(PathBuf::from(path)));
        }
        let rest = url
            .strip_prefix("udp://")
            .ok_or_else(|| format!("`{url}`: expected udp://HOST:PORT or file:PATH"))?;
        let addr = rest
            .trim_end_matches('/')
            .to_socket_addrs()
            .map_err(|e| format!("`{url}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{url}`: no address"))?;
        Ok(FlowSource::Udp(addr))
    }
}

/// `[flows]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSettings {
    /// Exporters allowed (empty: any).
    pub exporters: Vec<Cidr>,
    /// A stitched connection without records for this long has ended.
    pub idle_timeout: Duration,
    /// Wait for the other direction once every direction has ended.
    pub end_delay: Duration,
    /// SO_RCVBUF of each socket.
    pub recv_buffer: usize,
    /// Template scopes kept at once.
    pub max_exporters: usize,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorConfig {
    /// Packet source.
    pub input: Input,
    /// Directory for the logs.
    pub log_dir: PathBuf,
    /// TSV or JSON.
    pub log_format: LogFormat,
    /// Accept packets with bad checksums (`-C`).
    pub ignore_checksums: bool,
    /// Local networks.
    pub site: SiteConfig,
    /// Ports that orient connections whose first packet is not a SYN.
    pub likely_server_ports: LikelyServerPorts,
    /// Which Zeek scripts the run mimics (e.g. whether the DNS and NTP
    /// parsers that flip connections are loaded).
    pub zeek: ZeekScripts,
    /// Timeouts and limits for the tracker.
    pub track: TrackSettings,
    /// Long connections (`conn_long.log`, notices).
    pub long: LongSettings,
    /// Hosts and networks dropped before tracking (`capture.ignore`).
    pub capture_ignore: Vec<Cidr>,
    /// Live capture settings (used with [`Input::Live`]).
    pub live: LiveSettings,
    /// Flow export; `None` when no collector is configured.
    pub export: Option<ExportSettings>,
    /// Flow collection settings (used with [`Input::Flows`]).
    pub flows: FlowSettings,
}

/// One export destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    /// As written (`ipfix://127.0.0.1:4739`).
    pub url: String,
    /// Protocol.
    pub version: connwatch_wire::netflow::Version,
    /// Resolved address.
    pub addr: std::net::SocketAddr,
}

/// `[export]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    /// Where to send.
    pub collectors: Vec<Collector>,
    /// Active timeout.
    pub active: Duration,
    /// Inactive timeout.
    pub inactive: Duration,
    /// RFC 5103 biflow records (IPFIX).
    pub biflow: bool,
    /// Largest UDP payload; `None`: by destination (see
    /// [`ExportSettings::datagram_limit`]).
    pub max_datagram: Option<usize>,
    /// Observation domain / source id / engine id.
    pub observation_domain: u32,
    /// Template refresh interval.
    pub template_refresh: Duration,
    /// Template refresh every this many datagrams.
    pub template_refresh_datagrams: u32,
}

impl ExportSettings {
    /// The datagram size limit for one collector: the configured one, else
    /// 1464 bytes (a 1500-byte MTU), or 65000 on loopback.
    pub fn datagram_limit(&self, c: &Collector) -> usize {
        self.max_datagram.unwrap_or(if c.addr.ip().is_loopback() {
            65_000
        } else {
            1464
        })
    }
}

/// Parses `ipfix://HOST:PORT` (also `netflow9://`, `netflow5://`).
pub fn parse_collector(url: &str) -> Result<Collector, String> {
    use connwatch_wire::netflow::Version;
    use std::net::ToSocketAddrs;
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!("`{url}`: expected ipfix://, netflow9:// or netflow5://HOST:PORT")
    })?;
    let version = match scheme.to_ascii_lowercase().as_str() {
        "ipfix" => Version::Ipfix,
        "netflow9" | "nf9" | "v9" => Version::V9,
        "netflow5" | "nf5" | "v5" => Version::V5,
        other => {
            return Err(format!(
                "`{url}`: unknown scheme `{other}` (ipfix, netflow9 or netflow5)"
            ))
        }
    };
    let addr = rest
        .trim_end_matches('/')
        .to_socket_addrs()
        .map_err(|e| format!("`{url}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{url}`: no address"))?;
    Ok(Collector {
        url: url.to_string(),
        version,
        addr,
    })
}

/// Settings of a live sensor, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Bytes of each receive ring.
    pub ring_bytes: usize,
    /// Rotation interval (`None`: only on SIGHUP).
    pub rotate_interval: Option<Duration>,
    /// stats.log interval (`None`: off).
    pub stats_interval: Option<Duration>,
    /// User to switch to after opening the sockets.
    pub user: Option<String>,
    /// Where to serve `/metrics` (a loopback address).
    pub metrics: Option<std::net::SocketAddr>,
}

/// `[long]`, checked. Field meanings are documented on
/// [`super::raw::LongSection`].
#[derive(Debug, Clone, PartialEq)]
pub struct LongSettings {
    /// Watch long connections at all.
    pub enabled: bool,
    /// Default thresholds: non-empty, positive, strictly increasing.
    pub durations: Vec<Duration>,
    /// Repeat the last threshold, aligned to the start.
    pub repeat_last: bool,
    /// Networks whose connections (either endpoint) are not watched.
    pub ignore: Vec<Cidr>,
    /// Pairs not watched, either orientation.
    pub ignore_pairs: Vec<(Cidr, Cidr)>,
    /// Responder ports not watched.
    pub ignore_ports: Vec<(u16, Proto)>,
    /// Per-network thresholds (each positive and strictly increasing;
    /// empty = never watched), in network order.
    pub special_cases: Vec<(Cidr, Vec<Duration>)>,
    /// conn_long.log gets the extra columns after conn.log's.
    pub extra_columns: bool,
    /// Write `LongConnection::found` notices.
    pub notice: bool,
    /// The long-and-slow criteria; `None` when `long.slow.enabled` is off.
    pub slow: Option<SlowCriteria>,
}

/// `[site]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    /// Networks configured as local (in addition to the private ranges when
    /// `private_address_space_is_local`).
    pub local_nets: Vec<Cidr>,
    /// The private and reserved ranges of spec §9.5 count as local.
    pub private_address_space_is_local: bool,
}

/// `[zeek]`: the Zeek setup being mimicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeekScripts {
    /// `zeek -b`: only `scripts` are loaded.
    pub bare: bool,
    /// Scripts loaded by name (normalized: no `/main.zeek` suffix).
    pub scripts: Vec<String>,
}

impl ZeekScripts {
    /// True if `script` (e.g. `base/protocols/dns`) is loaded: every
    /// `base/` script in a full run, plus the listed ones; in bare mode only
    /// the listed ones (or all `base/` ones if `base/init-default` is
    /// listed).
    pub fn loads(&self, script: &str) -> bool {
        let name = server_ports::normalize(script);
        let all_base = !self.bare
            || self
                .scripts
                .iter()
                .any(|s| server_ports::FULL_SCRIPTS.contains(&s.as_str()));
        (all_base && name.starts_with("base/")) || self.scripts.iter().any(|s| s == name)
    }
}

/// `[track]`, checked. Field meanings are documented on
/// [`super::raw::TrackSection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TrackSettings {
    pub tcp_inactivity_timeout: Duration,
    pub udp_inactivity_timeout: Duration,
    pub icmp_inactivity_timeout: Duration,
    pub unknown_ip_inactivity_timeout: Duration,
    pub tcp_attempt_delay: Duration,
    pub tcp_close_delay: Duration,
    pub tcp_connection_linger: Duration,
    pub tcp_session_timer: Duration,
    pub tcp_syn_timeout: Duration,
    pub frag_timeout: Duration,
    /// 0 = unlimited.
    pub max_timer_expires: u32,
    /// `None` = random per run.
    pub uid_seed: Option<u64>,
    pub max_tunnel_depth: u32,
    pub max_tunnel_changes: u32,
    /// 0 = unlimited (resolved: the live default is applied).
    pub max_connections: usize,
}

/// `track.max_connections` on a live interface when unset.
pub const LIVE_MAX_CONNECTIONS: usize = 1_000_000;

/// Loads and checks the configuration named by `cli`.
pub fn load(cli: &Cli) -> Result<SensorConfig, ConfigError> {
    let text = match &cli.config {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let raw = raw_from(cli.config.as_ref(), text.as_deref(), &cli.set)?;
    validate(cli, raw)
}

/// Stages 1 and 2: file text (if any) plus overrides → [`RawConfig`].
pub fn raw_from(
    path: Option<&PathBuf>,
    text: Option<&str>,
    sets: &[SetOverride],
) -> Result<RawConfig, ConfigError> {
    if sets.is_empty() {
        // Straight from the text: serde errors then carry line and column.
        return match text {
            Some(t) => toml::from_str(t).map_err(|e| {
                let origin = path.map_or_else(String::new, |p| p.display().to_string());
                ConfigError::Invalid(vec![located(&origin, t, &e, true)])
            }),
            None => Ok(RawConfig::default()),
        };
    }
    let mut table = match text {
        Some(t) => toml::from_str::<toml::Table>(t).map_err(|e| ConfigError::Syntax {
            path: path.cloned().unwrap_or_default(),
            message: located("", t, &e, false),
        })?,
        None => toml::Table::new(),
    };
    let mut errors = Vec::new();
    for set in sets {
        if let Err(e) = apply_set(&mut table, set) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(ConfigError::Invalid(errors));
    }
    RawConfig::deserialize(toml::Value::Table(table)).map_err(|e| {
        // serde names only the last path segment; find which `--set` is at
        // fault by trying each alone, and name its whole key.
        let mut errors = Vec::new();
        for set in sets {
            let mut alone = toml::Table::new();
            if apply_set(&mut alone, set).is_ok() {
                if let Err(e) = RawConfig::deserialize(toml::Value::Table(alone)) {
                    errors.push(format!("--set {}: {}", set.key, one_line(&e.to_string())));
                }
            }
        }
        if errors.is_empty() {
            let origin = path.map_or_else(
                || "--set".to_string(),
                |p| format!("{} with --set", p.display()),
            );
            errors.push(format!("{origin}: {}", one_line(&e.to_string())));
        }
        ConfigError::Invalid(errors)
    })
}

/// Inserts one `--set` at its dotted path, creating tables on the way.
fn apply_set(table: &mut toml::Table, set: &SetOverride) -> Result<(), String> {
    let value = parse_value(&set.value);
    let parts: Vec<&str> = set.key.split('.').map(str::trim).collect();
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| format!("--set {}: empty key", set.key))?;
    let mut cur = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = cur
            .entry((*part).to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            format!(
                "--set {}: `{}` is not a section",
                set.key,
                parts[..=i].join(".")
            )
        })?;
    }
    cur.insert((*last).to_string(), value);
    Ok(())
}

/// A `--set` value as TOML (`true`, `10`, `"x"`, `["a", "b"]`), else the
/// text itself as a string (`10min`, `10.0.0.0/8`).
fn parse_value(text: &str) -> toml::Value {
    let doc = format!("v = {text}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) if t.len() == 1 => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(text.to_string())),
        _ => toml::Value::String(text.to_string()),
    }
}

/// `file:line:col: key: message` from a toml error (its own text carries
/// a multi-line source excerpt, too bulky for a one-line report). With
/// `name_key`, the dotted key on the error's line is named, since serde's
/// message may not name it (`invalid type: string "yes", expected a
/// boolean`).
fn located(origin: &str, text: &str, e: &toml::de::Error, name_key: bool) -> String {
    let msg = one_line(e.message());
    let Some(span) = e.span() else {
        return format!("{origin}: {msg}");
    };
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = start - line_start + 1;
    let mut key = String::new();
    if name_key {
        let line_text = text[line_start..].lines().next().unwrap_or("");
        if let Some((k, _)) = line_text.split_once('=') {
            let section = before
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.starts_with('['))
                .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
            key = match section {
                Some(sec) => format!("{sec}.{}: ", k.trim()),
                None => format!("{}: ", k.trim()),
            };
        }
    }
    if origin.is_empty() {
        format!("line {line}, column {col}: {key}{msg}")
    } else {
        format!("{origin}:{line}:{col}: {key}{msg}")
    }
}

/// toml's messages span several lines (source excerpt); keep them on one.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stage 3: typed values; every problem is reported, each with its key.
pub fn validate(cli: &Cli, raw: RawConfig) -> Result<SensorConfig, ConfigError> {
    let mut errors = Vec::new();

    let mut local_nets = Vec::new();
    for (i, net) in raw.site.local_nets.iter().enumerate() {
        match net.parse::<Cidr>() {
            Ok(c) => local_nets.push(c),
            Err(e) => errors.push(format!("site.local_nets[{i}]: {e}")),
        }
    }

    let mut dur = |key: &str, text: &str| -> Duration {
        parse_duration(text).unwrap_or_else(|e| {
            errors.push(format!("track.{key}: {e}"));
            Duration::ZERO
        })
    };
    let t = &raw.track;
    let track = TrackSettings {
        tcp_inactivity_timeout: dur("tcp_inactivity_timeout", &t.tcp_inactivity_timeout),
        udp_inactivity_timeout: dur("udp_inactivity_timeout", &t.udp_inactivity_timeout),
        icmp_inactivity_timeout: dur("icmp_inactivity_timeout", &t.icmp_inactivity_timeout),
        unknown_ip_inactivity_timeout: dur(
            "unknown_ip_inactivity_timeout",
            &t.unknown_ip_inactivity_timeout,
        ),
        tcp_attempt_delay: dur("tcp_attempt_delay", &t.tcp_attempt_delay),
        tcp_close_delay: dur("tcp_close_delay", &t.tcp_close_delay),
        tcp_connection_linger: dur("tcp_connection_linger", &t.tcp_connection_linger),
        tcp_session_timer: dur("tcp_session_timer", &t.tcp_session_timer),
        tcp_syn_timeout: dur("tcp_syn_timeout", &t.tcp_syn_timeout),
        frag_timeout: dur("frag_timeout", &t.frag_timeout),
        max_timer_expires: t.max_timer_expires,
        uid_seed: t.uid_seed,
        max_tunnel_depth: t.max_tunnel_depth,
        max_tunnel_changes: t.max_tunnel_changes,
        max_connections: 0,
    };

    let long = validate_long(&raw.long, &mut errors);

    if raw.log.dir.is_empty() && cli.logdir.is_none() {
        errors.push("log.dir: must not be empty (use \".\" for the current directory)".into());
    }

    let interfaces = if cli.interface.is_empty() {
        raw.capture.interfaces.clone()
    } else {
        cli.interface.clone()
    };
    let flow_urls = if cli.flows.is_empty() {
        &raw.flows.listen
    } else {
        &cli.flows
    };
    let mut flow_sources = Vec::new();
    for (i, url) in flow_urls.iter().enumerate() {
        match FlowSource::parse(url) {
            Ok(src) => flow_sources.push(src),
            Err(msg) => errors.push(format!("flows.listen[{i}]: {msg}")),
        }
    }
    let flows = validate_flows(&raw, &mut errors);
    let input = match (&cli.read, interfaces.is_empty()) {
        _ if !flow_urls.is_empty() && (cli.read.is_some() || !interfaces.is_empty()) => {
            errors.push(
                "flows.listen: collect flows (--flows) or read packets (-r/-i), not both".into(),
            );
            None
        }
        _ if !flow_urls.is_empty() => Some(Input::Flows(flow_sources)),
        (Some(_), _) if cli.reads_stdin() => Some(Input::Stdin),
        (Some(path), true) => Some(Input::File(path.clone())),
        (Some(_), false) => {
            errors.push(
                "capture.interfaces: cannot read a file (-r) and capture live at once".into(),
            );
            None
        }
        (None, false) => Some(Input::Live(interfaces)),
        (None, true) => {
            errors.push(
                "no input: give -r FILE, -i IFACE (or capture.interfaces), or --flows URL".into(),
            );
            None
        }
    };
    let live_input = matches!(input, Some(Input::Live(_) | Input::Flows(_)));
    let (live, capture_ignore) = validate_live(cli, &raw, &mut errors);
    let export = validate_export(cli, &raw, &mut errors);
    if export.is_some() && matches!(input, Some(Input::Flows(_))) {
        errors
            .push("export.collectors: flow export works on packets, not on collected flows".into());
    }
    let mut track = track;
    track.max_connections = match raw.track.max_connections {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None if live_input => LIVE_MAX_CONNECTIONS,
        None => 0,
    };

    if !errors.is_empty() {
        return Err(ConfigError::Invalid(errors));
    }

    let json = cli.json || raw.log.json;
    Ok(SensorConfig {
        input: input.unwrap_or(Input::Stdin),
        log_dir: cli
            .logdir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&raw.log.dir)),
        log_format: if json {
            LogFormat::Json
        } else {
            LogFormat::Tsv
        },
        ignore_checksums: cli.ignore_checksums || raw.capture.ignore_checksums,
        site: SiteConfig {
            local_nets,
            private_address_space_is_local: raw.site.private_address_space_is_local,
        },
        likely_server_ports: LikelyServerPorts::from_config(raw.zeek.bare, &raw.zeek.scripts),
        zeek: ZeekScripts {
            bare: raw.zeek.bare,
            scripts: raw
                .zeek
                .scripts
                .iter()
                .map(|s| server_ports::normalize(s).to_string())
                .collect(),
        },
        track,
        long,
        capture_ignore,
        live,
        export,
        flows,
    })
}

/// A duration that must be positive; errors name `key` (1 s stands in).
fn positive_duration(key: &str, text: &str, errors: &mut Vec<String>) -> Duration {
    match parse_duration(text) {
        Ok(d) if d.0 > 0 => d,
        Ok(_) => {
            errors.push(format!("{key}: must be positive, got `{text}`"));
            Duration::from_secs(1)
        }
        Err(msg) => {
            errors.push(format!("{key}: {msg}"));
            Duration::from_secs(1)
        }
    }
}

/// `[flows]` (all but `listen`).
fn validate_flows(raw: &RawConfig, errors: &mut Vec<String>) -> FlowSettings {
    let f = &raw.flows;
    let mut exporters = Vec::new();
    for (i, net) in f.exporters.iter().enumerate() {
        match Cidr::parse_net_or_host(net) {
            Ok(c) => exporters.push(c),
            Err(e) => errors.push(format!("flows.exporters[{i}]: {e}")),
        }
    }
    let idle_timeout = positive_duration("flows.idle_timeout", &f.idle_timeout, errors);
    let end_delay = positive_duration("flows.end_delay", &f.end_delay, errors);
    if f.max_exporters == 0 {
        errors.push("flows.max_exporters: must be at least 1".into());
    }
    FlowSettings {
        exporters,
        idle_timeout,
        end_delay,
        recv_buffer: f.recv_buffer as usize,
        max_exporters: f.max_exporters.max(1) as usize,
    }
}

/// `[export]` and `--export`.
fn validate_export(cli: &Cli, raw: &RawConfig, errors: &mut Vec<String>) -> Option<ExportSettings> {
    let e = &raw.export;
    let urls = if cli.export.is_empty() {
        &e.collectors
    } else {
        &cli.export
    };
    let mut collectors = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        match parse_collector(url) {
            Ok(c) => collectors.push(c),
            Err(msg) => errors.push(format!("export.collectors[{i}]: {msg}")),
        }
    }
    let active = positive_duration("export.active_timeout", &e.active_timeout, errors);
    let inactive = positive_duration("export.inactive_timeout", &e.inactive_timeout, errors);
    let template_refresh =
        positive_duration("export.template_refresh", &e.template_refresh, errors);
    if let Some(m) = e.max_datagram.filter(|m| !(576..=65_507).contains(m)) {
        errors.push(format!("export.max_datagram: {m} is outside 576..=65507"));
    }
    if e.biflow
        && collectors
            .iter()
            .any(|c| c.version != connwatch_wire::netflow::Version::Ipfix)
    {
        errors.push("export.biflow: biflow records exist only in IPFIX (ipfix://)".into());
    }
    (!collectors.is_empty()).then(|| ExportSettings {
        collectors,
        active,
        inactive,
        biflow: e.biflow,
        max_datagram: e.max_datagram.map(|m| m as usize),
        observation_domain: e.observation_domain,
        template_refresh,
        template_refresh_datagrams: e.template_refresh_datagrams.max(1),
    })
}

/// `[capture]` (live parts), `[log]` intervals, `[run]` and `[metrics]`.
fn validate_live(
    cli: &Cli,
    raw: &RawConfig,
    errors: &mut Vec<String>,
) -> (LiveSettings, Vec<Cidr>) {
    let mut ignore = Vec::new();
    for (i, net) in raw.capture.ignore.iter().enumerate() {
        match Cidr::parse_net_or_host(net) {
            Ok(c) => ignore.push(c),
            Err(e) => errors.push(format!("capture.ignore[{i}]: {e}")),
        }
    }
    let mut interval = |key: &str, text: &str| -> Option<Duration> {
        match parse_duration(text) {
            Ok(d) if d.0 < 0 => {
                errors.push(format!("log.{key}: negative duration `{text}`"));
                None
            }
            Ok(d) if d.0 == 0 => None,
            Ok(d) if d.0 < 1_000_000_000 => {
                errors.push(format!("log.{key}: `{text}` is shorter than 1s"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(format!("log.{key}: {e}"));
                None
            }
        }
    };
    let rotate_interval = interval("rotate_interval", &raw.log.rotate_interval);
    let stats_interval = interval("stats_interval", &raw.log.stats_interval);
    let workers = cli.workers.unwrap_or(raw.capture.workers) as usize;
    let workers = if workers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        workers
    };
    if workers > 64 {
        errors.push(format!("capture.workers: {workers} is more than 64"));
    }
    if raw.capture.ring_mb < 2 || raw.capture.ring_mb > 4096 {
        errors.push(format!(
            "capture.ring_mb: {} is outside 2..=4096",
            raw.capture.ring_mb
        ));
    }
    let metrics =
        raw.metrics
            .listen
            .as_ref()
            .and_then(|text| match text.parse::<std::net::SocketAddr>() {
                Ok(a) if a.ip().is_loopback() => Some(a),
                Ok(a) => {
                    errors.push(format!(
                        "metrics.listen: `{a}` is not a loopback address (127.0.0.0/8 or ::1)"
                    ));
                    None
                }
                Err(_) => {
                    errors.push(format!(
                        "metrics.listen: `{text}` is not ADDRESS:PORT, e.g. \"127.0.0.1:9911\""
                    ));
                    None
                }
            });
    let user = cli.user.clone().or_else(|| raw.run.user.clone());
    if user.as_deref() == Some("") {
        errors.push("run.user: must not be empty".into());
    }
    (
        LiveSettings {
            workers: workers.clamp(1, 64),
            ring_bytes: raw.capture.ring_mb as usize * 1024 * 1024,
            rotate_interval,
            stats_interval,
            user,
            metrics,
        },
        ignore,
    )
}

/// A duration setting of `[long]`: like the `[track]` ones, with a clear
/// word for a negative value.
fn long_duration(key: &str, text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!("{key}: negative duration `{text}`"));
    }
    parse_duration(text).map_err(|e| format!("{key}: {e}"))
}

/// A threshold list: every entry positive, each larger than the one
/// before. Errors name the entry (`long.durations[2]`) and its text.
fn threshold_list(key: &str, list: &[String], errors: &mut Vec<String>) -> Vec<Duration> {
    let mut out = Vec::with_capacity(list.len());
    let mut prev: Option<(Duration, &str)> = None;
    for (i, text) in list.iter().enumerate() {
        let entry = format!("{key}[{i}]");
        match long_duration(&entry, text) {
            Ok(d) if d <= Duration::ZERO => {
                errors.push(format!("{entry}: threshold must be positive, got `{text}`"));
            }
            Ok(d) => {
                if let Some((p, ptext)) = prev {
                    if d <= p {
                        errors.push(format!(
                            "{entry}: not increasing: `{text}` after `{ptext}` \
                             (thresholds must be strictly increasing)"
                        ));
                    }
                }
                prev = Some((d, text));
                out.push(d);
            }
            Err(e) => errors.push(e),
        }
    }
    out
}

/// `PORT/PROTO` (`1194/udp`, `22/tcp`, `8/icmp`).
fn parse_port_proto(text: &str) -> Result<(u16, Proto), String> {
    let bad = || format!("invalid port `{text}`: expected PORT/PROTO, e.g. 1194/udp or 22/tcp");
    let (port, proto) = text.trim().split_once('/').ok_or_else(bad)?;
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    let proto = match proto.trim().to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        _ => {
            return Err(format!(
                "invalid port `{text}`: protocol must be tcp, udp or icmp"
            ))
        }
    };
    Ok((port, proto))
}

/// Stage 3 for `[long]`. Checked even when `enabled` is off, so a bad
/// value never waits to be found until the day it is switched on.
fn validate_long(l: &LongSection, errors: &mut Vec<String>) -> LongSettings {
    let durations = threshold_list("long.durations", &l.durations, errors);
    if l.durations.is_empty() {
        errors.push(
            "long.durations: must not be empty (set long.enabled = false to stop watching \
             long connections)"
                .into(),
        );
    }

    let mut net = |key: String, text: &str| -> Option<Cidr> {
        match Cidr::parse_net_or_host(text) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(format!("{key}: {e}"));
                None
            }
        }
    };
    let ignore: Vec<Cidr> = l
        .ignore
        .iter()
        .enumerate()
        .filter_map(|(i, t)| net(format!("long.ignore[{i}]"), t))
        .collect();
    let mut ignore_pairs = Vec::new();
    let mut pair_len_errors = Vec::new();
    for (i, pair) in l.ignore_pairs.iter().enumerate() {
        if pair.len() != 2 {
            pair_len_errors.push(format!(
                "long.ignore_pairs[{i}]: expected two networks, got {} ({:?})",
                pair.len(),
                pair
            ));
            continue;
        }
        let a = net(format!("long.ignore_pairs[{i}][0]"), &pair[0]);
        let b = net(format!("long.ignore_pairs[{i}][1]"), &pair[1]);
        if let (Some(a), Some(b)) = (a, b) {
            ignore_pairs.push((a, b));
        }
    }
    let mut special_keys = Vec::new();
    for key in l.special_cases.keys() {
        special_keys.push(net(format!("long.special_cases.\"{key}\""), key));
    }
    errors.extend(pair_len_errors);

    let mut ignore_ports = Vec::new();
    for (i, text) in l.ignore_ports.iter().enumerate() {
        match parse_port_proto(text) {
            Ok(p) => ignore_ports.push(p),
            Err(e) => errors.push(format!("long.ignore_ports[{i}]: {e}")),
        }
    }

    let mut special_cases: Vec<(Cidr, Vec<Duration>, &str)> = Vec::new();
    for ((key, list), cidr) in l.special_cases.iter().zip(special_keys) {
        let lk = format!("long.special_cases.\"{key}\"");
        let thresholds = threshold_list(&lk, list, errors);
        let Some(cidr) = cidr else { continue };
        if let Some((_, _, other)) = special_cases.iter().find(|(c, _, _)| *c == cidr) {
            errors.push(format!(
                "{lk}: same network as \"{other}\" ({cidr}); give each network once"
            ));
            continue;
        }
        special_cases.push((cidr, thresholds, key));
    }

    let slow = {
        let s = &l.slow;
        let min_age = long_duration("long.slow.min_age", &s.min_age).unwrap_or_else(|e| {
            errors.push(e);
            Duration::ZERO
        });
        if !(s.max_bytes_per_sec.is_finite() && s.max_bytes_per_sec > 0.0) {
            errors.push(format!(
                "long.slow.max_bytes_per_sec: must be a positive number of bytes per second, \
                 got {}",
                s.max_bytes_per_sec
            ));
        }
        if !(s.min_pcr.is_finite() && (-1.0..=1.0).contains(&s.min_pcr)) {
            errors.push(format!(
                "long.slow.min_pcr: must be between -1 and 1, got {}",
                s.min_pcr
            ));
        }
        s.enabled.then_some(SlowCriteria {
            min_age,
            max_bytes_per_sec: s.max_bytes_per_sec,
            min_pcr: s.min_pcr,
            min_orig_bytes: s.min_orig_bytes,
        })
    };

    LongSettings {
        enabled: l.enabled,
        durations,
        repeat_last: l.repeat_last,
        ignore,
        ignore_pairs,
        ignore_ports,
        special_cases: special_cases
            .into_iter()
            .map(|(c, list, _)| (c, list))
            .collect(),
        extra_columns: l.extra_columns,
        notice: l.notice,
        slow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(["connwatch", "-r", "t.pcap"].iter().chain(args)).unwrap()
    }

    fn from(text: Option<&str>, args: &[&str]) -> Result<SensorConfig, ConfigError> {
        let c = cli(args);
        let path = PathBuf::from("sensor.toml");
        let raw = raw_from(text.map(|_| &path), text, &c.set)?;
        validate(&c, raw)
    }

    fn err(text: Option<&str>, args: &[&str]) -> String {
        from(text, args).unwrap_err().to_string()
    }

    #[test]
    fn defaults_match_zeek() {
        let c = from(None, &[]).unwrap();
        assert_eq!(c.input, Input::File("t.pcap".into()));
        assert_eq!(c.log_dir, PathBuf::from("."));
        assert_eq!(c.log_format, LogFormat::Tsv);
        assert!(!c.ignore_checksums);
        assert!(c.site.local_nets.is_empty() && c.site.private_address_space_is_local);
        assert_eq!(c.likely_server_ports, LikelyServerPorts::zeek_default());
        let t = c.track;
        assert_eq!(t.tcp_inactivity_timeout, Duration::from_secs(300));
        assert_eq!(t.udp_inactivity_timeout, Duration::from_secs(60));
        assert_eq!(t.icmp_inactivity_timeout, Duration::from_secs(60));
        assert_eq!(t.unknown_ip_inactivity_timeout, Duration::from_secs(60));
        assert_eq!(t.tcp_attempt_delay, Duration::from_secs(5));
        assert_eq!(t.tcp_close_delay, Duration::from_secs(5));
        assert_eq!(t.tcp_connection_linger, Duration::from_secs(5));
        assert_eq!(t.tcp_session_timer, Duration::from_secs(6));
        assert_eq!(t.tcp_syn_timeout, Duration::from_secs(5));
        assert_eq!(t.frag_timeout, Duration::from_secs(300));
        assert_eq!(t.max_timer_expires, 300);
        assert_eq!(t.uid_seed, None);
        assert_eq!((t.max_tunnel_depth, t.max_tunnel_changes), (4, 5));
    }

    #[test]
    fn file_values_and_flags() {
        let text = r#"
            [log]
            dir = "logs"
            json = true
            [capture]
            ignore_checksums = true
            [site]
            local_nets = ["10.0.0.0/8", "2001:db8::/32"]
            private_address_space_is_local = false
            [zeek]
            bare = true
            scripts = ["base/protocols/conn", "base/protocols/dns"]
            [track]
            tcp_inactivity_timeout = "10mins"
            max_timer_expires = 0
            uid_seed = 42
        "#;
        let c = from(Some(text), &[]).unwrap();
        assert_eq!(c.log_dir, PathBuf::from("logs"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.ignore_checksums);
        assert_eq!(c.site.local_nets.len(), 2);
        assert!(!c.site.private_address_space_is_local);
        assert!(c.likely_server_ports.udp.contains(53));
        assert!(!c.likely_server_ports.tcp.contains(80));
        assert_eq!(c.track.tcp_inactivity_timeout, Duration::from_secs(600));
        assert_eq!(c.track.max_timer_expires, 0);
        assert_eq!(c.track.uid_seed, Some(42));

        let c = from(Some(text), &["--logdir", "elsewhere", "-C", "--json"]).unwrap();
        assert_eq!(c.log_dir, PathBuf::from("elsewhere"));
        let c = from(None, &["-C", "--json", "--logdir", "o"]).unwrap();
        assert!(c.ignore_checksums && c.log_format == LogFormat::Json);
        let stdin = Cli::try_parse_from(["connwatch", "-r", "-"]).unwrap();
        assert_eq!(
            validate(&stdin, RawConfig::default()).unwrap().input,
            Input::Stdin
        );
    }

    #[test]
    fn loaded_scripts() {
        let full = from(
            None,
            &[
                "--set",
                "zeek.scripts=[\"policy/protocols/conn/vlan-logging\"]",
            ],
        )
        .unwrap()
        .zeek;
        assert!(full.loads("base/protocols/dns") && full.loads("base/protocols/ntp/main.zeek"));
        assert!(full.loads("policy/protocols/conn/vlan-logging"));
        assert!(!full.loads("policy/protocols/conn/mac-logging"));
        let bare = from(
            None,
            &[
                "--set",
                "zeek.bare=true",
                "--set",
                "zeek.scripts=[\"base/protocols/dns/\"]",
            ],
        )
        .unwrap()
        .zeek;
        assert!(bare.loads("base/protocols/dns") && !bare.loads("base/protocols/ntp"));
    }

    #[test]
    fn set_overrides_file_and_defaults() {
        let text = "[track]\ntcp_inactivity_timeout = \"10min\"\n";
        let c = from(
            Some(text),
            &[
                "--set",
                "track.tcp_inactivity_timeout=2min",
                "--set",
                "site.local_nets=[\"192.0.2.0/24\"]",
                "--set",
                "zeek.bare=true",
                "--set",
                "track.uid_seed=7",
                "--set",
                "log.dir=out dir",
                "--set",
                "zeek.scripts=[\"base/protocols/http\"]",
            ],
        )
        .unwrap();
        assert_eq!(c.track.tcp_inactivity_timeout, Duration::from_secs(120));
        assert_eq!(c.site.local_nets, vec!["192.0.2.0/24".parse().unwrap()]);
        assert!(c.likely_server_ports.tcp.contains(80));
        assert!(!c.likely_server_ports.udp.contains(53));
        assert_eq!(c.track.uid_seed, Some(7));
        assert_eq!(c.log_dir, PathBuf::from("out dir"));
        // A bare CIDR string is accepted as a string where one is expected.
        let e = err(None, &["--set", "site.local_nets=10.0.0.0/8"]);
        assert!(e.contains("local_nets") || e.contains("sequence"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = err(Some("[track]\ntcp_timeout = \"5min\"\n"), &[]);
        assert!(
            e.contains("sensor.toml:2:1: track.tcp_timeout: unknown field `tcp_timeout`"),
            "{e}"
        );
        let e = err(Some("[nosuch]\nx = 1\n"), &[]);
        assert!(e.contains("nosuch"), "{e}");
        let e = err(None, &["--set", "track.tcp_timeout=5min"]);
        assert!(e.contains("tcp_timeout"), "{e}");
        let e = err(None, &["--set", "bogus.key=1"]);
        assert!(e.contains("bogus"), "{e}");
        let e = err(None, &["--set", "log.dir.sub=1"]);
        assert!(e.contains("log.dir"), "{e}");
        let e = err(Some("[log]\ndir = \"x\"\n"), &["--set", "log.dir.sub=1"]);
        assert!(e.contains("log.dir") && e.contains("not a section"), "{e}");
    }

    #[test]
    fn bad_values_are_all_reported_with_their_keys() {
        let text = r#"
            [site]
            local_nets = ["10.0.0.0/8", "10.0.0.0/33", "bogus"]
            [track]
            tcp_inactivity_timeout = "5 minutes"
            frag_timeout = "10"
        "#;
        let e = err(Some(text), &[]);
        assert!(
            e.contains("site.local_nets[1]") && e.contains("10.0.0.0/33"),
            "{e}"
        );
        assert!(
            e.contains("site.local_nets[2]") && e.contains("bogus"),
            "{e}"
        );
        assert!(
            e.contains("track.tcp_inactivity_timeout") && e.contains("minutes"),
            "{e}"
        );
        assert!(
            e.contains("track.frag_timeout") && e.contains("missing unit"),
            "{e}"
        );
        let e = err(None, &["--set", "track.udp_inactivity_timeout=forever"]);
        assert!(e.contains("track.udp_inactivity_timeout"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = err(Some("[log]\njson = \"yes\"\n"), &[]);
        assert!(e.contains("sensor.toml:2:8: log.json: invalid type"), "{e}");
        let e = err(None, &["--set", "track.max_timer_expires=-1"]);
        assert!(e.contains("max_timer_expires") || e.contains("-1"), "{e}");
        let e = err(Some("[log\n"), &["--set", "log.json=true"]);
        assert!(e.contains("sensor.toml"), "{e}");
    }

    fn mins(m: i64) -> Duration {
        Duration::from_secs(m * 60)
    }

    fn net(s: &str) -> Cidr {
        Cidr::parse_net_or_host(s).unwrap()
    }

    #[test]
    fn long_defaults_match_the_tracker() {
        let l = from(None, &[]).unwrap().long;
        assert!(l.enabled && !l.repeat_last && l.extra_columns && l.notice);
        let d = connwatch_track::LongConfig::default();
        assert_eq!(l.durations, d.durations);
        assert_eq!(
            l.durations,
            vec![
                mins(10),
                mins(30),
                mins(60),
                mins(720),
                mins(1440),
                mins(4320)
            ]
        );
        assert!(l.ignore.is_empty() && l.ignore_pairs.is_empty());
        assert!(l.ignore_ports.is_empty() && l.special_cases.is_empty());
        assert_eq!(l.slow, d.slow);
        let slow = l.slow.unwrap();
        assert_eq!(slow.min_age, Duration::from_secs(24 * 3600));
        assert_eq!(slow.max_bytes_per_sec, 256.0);
        assert_eq!(slow.min_pcr, 0.5);
        assert_eq!(slow.min_orig_bytes, 1024);
    }

    #[test]
    fn long_from_file() {
        let text = r#"
            [long]
            durations = ["30sec", "10mins", "1hr", "3days"]
            repeat_last = true
            ignore = ["10.8.0.0/16", "2001:db8::/32", "192.0.2.1"]
            ignore_pairs = [["10.0.0.0/8", "192.0.2.1"]]
            ignore_ports = ["1194/udp", "22/TCP", "8/icmp"]
            extra_columns = false
            notice = false
            [long.special_cases]
            "10.8.0.0/16" = []
            "192.168.0.0/16" = ["1h", "1day"]
            [long.slow]
            min_age = "12h"
            max_bytes_per_sec = 100
            min_pcr = 0.8
            min_orig_bytes = 4096
        "#;
        let l = from(Some(text), &[]).unwrap().long;
        assert_eq!(
            l.durations,
            vec![Duration::from_secs(30), mins(10), mins(60), mins(4320)]
        );
        assert!(l.repeat_last && !l.extra_columns && !l.notice);
        assert_eq!(
            l.ignore,
            vec![
                net("10.8.0.0/16"),
                net("2001:db8::/32"),
                net("192.0.2.1/32")
            ]
        );
        assert_eq!(
            l.ignore_pairs,
            vec![(net("10.0.0.0/8"), net("192.0.2.1/32"))]
        );
        assert_eq!(
            l.ignore_ports,
            vec![(1194, Proto::Udp), (22, Proto::Tcp), (8, Proto::Icmp)]
        );
        assert_eq!(
            l.special_cases,
            vec![
                (net("10.8.0.0/16"), vec![]),
                (net("192.168.0.0/16"), vec![mins(60), mins(1440)]),
            ]
        );
        let slow = l.slow.unwrap();
        assert_eq!(slow.min_age, mins(720));
        assert_eq!(slow.max_bytes_per_sec, 100.0);
        assert_eq!(slow.min_pcr, 0.8);
        assert_eq!(slow.min_orig_bytes, 4096);
    }

    #[test]
    fn long_set_overrides_every_key() {
        let c = from(
            Some("[long]\ndurations = [\"1h\"]\n"),
            &[
                "--set",
                "long.enabled=false",
                "--set",
                "long.durations=[\"10m\", \"1h\"]",
                "--set",
                "long.repeat_last=true",
                "--set",
                "long.ignore=[\"10.8.0.0/16\"]",
                "--set",
                "long.ignore_pairs=[[\"10.0.0.0/8\", \"192.0.2.1\"]]",
                "--set",
                "long.ignore_ports=[\"1194/udp\"]",
                "--set",
                "long.special_cases={\"10.8.0.0/16\"=[], \"10.9.0.0/16\"=[\"2h\"]}",
                "--set",
                "long.extra_columns=false",
                "--set",
                "long.notice=false",
                "--set",
                "long.slow.min_age=2h",
                "--set",
                "long.slow.max_bytes_per_sec=64.5",
                "--set",
                "long.slow.min_pcr=-0.25",
                "--set",
                "long.slow.min_orig_bytes=1",
            ],
        )
        .unwrap();
        let l = c.long;
        assert!(!l.enabled && l.repeat_last && !l.extra_columns && !l.notice);
        assert_eq!(l.durations, vec![mins(10), mins(60)]);
        assert_eq!(l.ignore, vec![net("10.8.0.0/16")]);
        assert_eq!(l.ignore_pairs, vec![(net("10.0.0.0/8"), net("192.0.2.1"))]);
        assert_eq!(l.ignore_ports, vec![(1194, Proto::Udp)]);
        assert_eq!(
            l.special_cases,
            vec![
                (net("10.8.0.0/16"), vec![]),
                (net("10.9.0.0/16"), vec![mins(120)])
            ]
        );
        assert_eq!(
            l.slow,
            Some(SlowCriteria {
                min_age: mins(120),
                max_bytes_per_sec: 64.5,
                min_pcr: -0.25,
                min_orig_bytes: 1,
            })
        );
        let l = from(None, &["--set", "long.slow.enabled=false"])
            .unwrap()
            .long;
        assert_eq!(l.slow, None);
        // A single bare value for a list is not silently accepted.
        let e = err(None, &["--set", "long.ignore=10.0.0.0/8"]);
        assert!(e.contains("long.ignore"), "{e}");
    }

    #[test]
    fn long_bad_values_name_key_and_value() {
        let text = r#"
            [long]
            durations = ["10min", "1h", "30min", "0s", "-5m", "2 fortnights"]
            ignore = ["10.0.0.0/8", "10.0.0/33", "example.com"]
            ignore_pairs = [["10.0.0.0/8"], ["10.0.0.0/8", "1.2.3.4/40"]]
            ignore_ports = ["1194", "70000/udp", "53/sctp"]
            [long.special_cases]
            "10.8.0.0/16" = ["1h", "1h"]
            "10.8.1.1/16" = []
            "bogus" = ["1h"]
            [long.slow]
            min_age = "-5m"
            max_bytes_per_sec = -1
            min_pcr = 1.5
        "#;
        let e = err(Some(text), &[]);
        for want in [
            "long.durations[2]: not increasing: `30min` after `1h`",
            "long.durations[3]: threshold must be positive, got `0s`",
            "long.durations[4]: negative duration `-5m`",
            "long.durations[5]: invalid duration `2 fortnights`",
            "long.ignore[1]: invalid network `10.0.0/33`",
            "long.ignore[2]: invalid network `example.com`",
            "long.ignore_pairs[0]: expected two networks, got 1",
            "long.ignore_pairs[1][1]: invalid network `1.2.3.4/40`",
            "long.ignore_ports[0]: invalid port `1194`",
            "long.ignore_ports[1]: invalid port `70000/udp`",
            "long.ignore_ports[2]: invalid port `53/sctp`: protocol must be tcp, udp or icmp",
            "long.special_cases.\"10.8.0.0/16\"[1]: not increasing: `1h` after `1h`",
            "long.special_cases.\"10.8.1.1/16\": same network as \"10.8.0.0/16\"",
            "long.special_cases.\"bogus\": invalid network `bogus`",
            "long.slow.min_age: negative duration `-5m`",
            "long.slow.max_bytes_per_sec: must be a positive number of bytes per second, got -1",
            "long.slow.min_pcr: must be between -1 and 1, got 1.5",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        // No other problem was reported (e.g. a cascade from the 2nd).
        assert_eq!(e.lines().count(), 1 + 17, "{e}");

        let e = err(None, &["--set", "long.durations=[]"]);
        assert!(e.contains("long.durations: must not be empty"), "{e}");
        let e = err(None, &["--set", "long.durations=[\"1h\", \"30min\"]"]);
        assert!(
            e.contains("long.durations[1]: not increasing: `30min` after `1h`"),
            "{e}"
        );
        let e = err(None, &["--set", "long.slow.min_age=-5m"]);
        assert!(
            e.contains("long.slow.min_age: negative duration `-5m`"),
            "{e}"
        );
        let e = err(None, &["--set", "long.special_cases={\"10.0.0/33\"=[]}"]);
        assert!(
            e.contains("long.special_cases.\"10.0.0/33\": invalid network `10.0.0/33`"),
            "{e}"
        );
        // Checked even when long connections are off.
        let e = err(
            None,
            &[
                "--set",
                "long.enabled=false",
                "--set",
                "long.ignore=[\"x\"]",
            ],
        );
        assert!(e.contains("long.ignore[0]"), "{e}");
        // Unknown keys and wrong types name the key, as elsewhere.
        let e = err(Some("[long]\nthresholds = [\"1h\"]\n"), &[]);
        assert!(e.contains("long.thresholds: unknown field"), "{e}");
        let e = err(Some("[long.slow]\nmin_pcr = \"high\"\n"), &[]);
        assert!(e.contains("long.slow.min_pcr: invalid type"), "{e}");
        let e = err(None, &["--set", "long.slow.min_orig_bytes=-1"]);
        assert!(e.contains("min_orig_bytes"), "{e}");
        let e = err(None, &["--set", "long.ignore_pairs=[\"10.0.0.0/8\"]"]);
        assert!(e.contains("long.ignore_pairs"), "{e}");
    }

    #[test]
    fn load_reads_the_file() {
        let dir = crate::sinks::test_support::TempDir::new();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[log]\njson = true\n").unwrap();
        let p = path.to_str().unwrap();
        let c = Cli::try_parse_from(["connwatch", "-r", "x", "-c", p]).unwrap();
        assert_eq!(load(&c).unwrap().log_format, LogFormat::Json);
        let missing = dir.path().join("missing.toml");
        let c =
            Cli::try_parse_from(["connwatch", "-r", "x", "-c", missing.to_str().unwrap()]).unwrap();
        let e = load(&c).unwrap_err().to_string();
        assert!(e.contains("missing.toml"), "{e}");
    }
}

#[cfg(test)]
mod live_tests {
    use super::*;
    use clap::Parser;

    fn live(text: Option<&str>, args: &[&str]) -> Result<SensorConfig, ConfigError> {
        let c =
            Cli::try_parse_from(std::iter::once("connwatch").chain(args.iter().copied())).unwrap();
        let path = PathBuf::from("sensor.toml");
        let raw = raw_from(text.map(|_| &path), text, &c.set)?;
        validate(&c, raw)
    }

    #[test]
    fn the_sample_config_is_a_live_sensor() {
        let text = include_str!("../../../../dist/connwatch.toml");
        let c = live(Some(text), &[]).unwrap();
        assert_eq!(c.input, Input::Live(vec!["eth1".into()]));
        assert_eq!(c.live.rotate_interval, Some(Duration::from_secs(3600)));
        assert_eq!(c.live.stats_interval, Some(Duration::from_secs(300)));
        assert_eq!(c.live.user.as_deref(), Some("connwatch"));
        assert_eq!(c.live.metrics, Some("127.0.0.1:9911".parse().unwrap()));
        assert_eq!(c.live.ring_bytes, 64 << 20);
        assert_eq!(c.track.max_connections, 1_000_000);
        assert!(c.live.workers >= 1);
        // -i replaces the list; --workers and -u win over the file.
        let c = live(
            Some(text),
            &["-i", "a", "-i", "b", "--workers", "3", "-u", "nobody"],
        )
        .unwrap();
        assert_eq!(c.input, Input::Live(vec!["a".into(), "b".into()]));
        assert_eq!(
            (c.live.workers, c.live.user.as_deref()),
            (3, Some("nobody"))
        );
    }

    #[test]
    fn the_sample_collector_config_collects_flows() {
        let text = include_str!("../../../../dist/connwatch-collector.toml");
        let c = live(Some(text), &[]).unwrap();
        assert_eq!(
            c.input,
            Input::Flows(vec![
                FlowSource::Udp("0.0.0.0:2055".parse().unwrap()),
                FlowSource::Udp("0.0.0.0:4739".parse().unwrap()),
            ])
        );
        assert_eq!(c.flows.exporters, vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(c.flows.idle_timeout, Duration::from_secs(3600));
        assert_eq!(c.flows.end_delay, Duration::from_secs(5));
        assert_eq!(c.track.max_connections, 1_000_000);
        // --flows replaces the list; -r or -i with it is an error.
        let c = live(Some(text), &["--flows", "file:x.pcap"]).unwrap();
        assert_eq!(
            c.input,
            Input::Flows(vec![FlowSource::File("x.pcap".into())])
        );
        let e = live(Some(text), &["-i", "eth0"]).unwrap_err().to_string();
        assert!(e.contains("flows.listen"), "{e}");
        let e = live(
            None,
            &[
                "--flows",
                "udp://127.0.0.1:1",
                "--set",
                "flows.idle_timeout=0s",
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("flows.idle_timeout"), "{e}");
    }

    #[test]
    fn live_defaults_and_file_defaults() {
        let c = live(None, &["-i", "eth0"]).unwrap();
        assert_eq!(c.track.max_connections, LIVE_MAX_CONNECTIONS);
        assert_eq!(c.live.rotate_interval, None);
        assert_eq!(c.live.metrics, None);
        let c = live(None, &["-r", "t.pcap"]).unwrap();
        assert_eq!(c.track.max_connections, 0);
        let c = live(None, &["-r", "t.pcap", "--set", "track.max_connections=5"]).unwrap();
        assert_eq!(c.track.max_connections, 5);
    }

    #[test]
    fn live_errors_name_their_key() {
        let e = live(None, &[]).unwrap_err().to_string();
        assert!(e.contains("no input"), "{e}");
        let e = live(
            None,
            &[
                "-i",
                "eth0",
                "--set",
                "metrics.listen=10.0.0.1:9911",
                "--set",
                "log.rotate_interval=-1h",
                "--set",
                "capture.ring_mb=1",
                "--set",
                "capture.ignore=[\"10.0.0.0/33\"]",
                "--set",
                "capture.workers=65",
            ],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "metrics.listen",
            "log.rotate_interval",
            "capture.ring_mb",
            "capture.ignore[0]",
            "capture.workers",
        ] {
            assert!(e.contains(key), "{key} missing in {e}");
        }
    }
}
