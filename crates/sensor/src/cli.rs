//! Command-line flags.
//!
//! Flags cover what changes from run to run (input, output directory,
//! format, where the config file is); everything else lives in the TOML
//! config, which `--set KEY=VALUE` can override key by key. Validation and
//! merging happen in [`crate::config`].

use std::path::PathBuf;

use clap::Parser;

/// Passive network sensor writing a Zeek-compatible conn.log.
#[derive(Debug, Clone, Parser)]
#[command(name = "connwatch", version)]
pub struct Cli {
    /// Read packets from a pcap or pcapng FILE (`-` for standard input).
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "interface"
    )]
    pub read: Option<PathBuf>,

    /// Capture live on interface IFACE (Linux; repeatable). Replaces
    /// `capture.interfaces`. Runs until SIGINT or SIGTERM.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Vec<String>,

    /// Worker threads for live capture (0: one per core); same as
    /// `--set capture.workers=N`.
    #[arg(long, value_name = "N")]
    pub workers: Option<u32>,

    /// Collect NetFlow v5/v9 and IPFIX: `udp://HOST:PORT` (listen), or
    /// `file:PATH` (a capture of export datagrams); repeatable; replaces
    /// `flows.listen`. Runs until SIGINT or SIGTERM (a socket) or to the end
    /// of the files.
    #[arg(long = "flows", value_name = "URL", conflicts_with_all = ["read", "interface"])]
    pub flows: Vec<String>,

    /// Export flows to a NetFlow/IPFIX collector: `ipfix://HOST:PORT`,
    /// `netflow9://HOST:PORT` or `netflow5://HOST:PORT` (repeatable;
    /// replaces `export.collectors`).
    #[arg(long = "export", value_name = "URL")]
    pub export: Vec<String>,

    /// After opening the interfaces, run as USER (same as
    /// `--set run.user=USER`).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Ignore bad IP/TCP/UDP checksums (like `zeek -C`); same as
    /// `--set capture.ignore_checksums=true`.
    #[arg(short = 'C', long = "ignore-checksums")]
    pub ignore_checksums: bool,

    /// Directory for the logs (overrides `log.dir`).
    #[arg(long, value_name = "DIR")]
    pub logdir: Option<PathBuf>,

    /// Write JSON lines instead of TSV (same as `--set log.json=true`).
    #[arg(long)]
    pub json: bool,

    /// Read settings from this TOML file.
    #[arg(short = 'c', long = "config", value_name = "CONFIG.toml")]
    pub config: Option<PathBuf>,

    /// Override one config key, e.g. `--set track.tcp_inactivity_timeout=10min`
    /// or `--set site.local_nets=["10.0.0.0/8"]`; VALUE is read as TOML, or
    /// as a plain string if it is not valid TOML. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub set: Vec<SetOverride>,
}

/// One `--set KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOverride {
    /// Dotted key, e.g. `track.tcp_inactivity_timeout`.
    pub key: String,
    /// The raw value text.
    pub value: String,
}

fn parse_set(s: &str) -> Result<SetOverride, String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.trim().is_empty()) {
        return Err(format!("bad key `{key}`: expected e.g. section.key"));
    }
    Ok(SetOverride {
        key: key.to_string(),
        value: value.trim().to_string(),
    })
}

impl Cli {
    /// True when the input is standard input (`-r -`).
    pub fn reads_stdin(&self) -> bool {
        self.read.as_ref().is_some_and(|r| r.as_os_str() == "-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("connwatch").chain(args.iter().copied()))
    }

    #[test]
    fn all_flags() {
        let cli = parse(&[
            "-r",
            "t.pcap",
            "-C",
            "--logdir",
            "out",
            "--json",
            "-c",
            "s.toml",
            "--set",
            "zeek.bare=true",
            "--set",
            "site.local_nets=[\"10.0.0.0/8\"]",
        ])
        .unwrap();
        assert_eq!(cli.read, Some(PathBuf::from("t.pcap")));
        assert!(cli.ignore_checksums && cli.json && !cli.reads_stdin());
        assert_eq!(cli.logdir, Some(PathBuf::from("out")));
        assert_eq!(cli.config, Some(PathBuf::from("s.toml")));
        assert_eq!(
            cli.set,
            vec![
                SetOverride {
                    key: "zeek.bare".into(),
                    value: "true".into()
                },
                SetOverride {
                    key: "site.local_nets".into(),
                    value: "[\"10.0.0.0/8\"]".into()
                },
            ]
        );
    }

    #[test]
    fn stdin_and_defaults() {
        let cli = parse(&["-r", "-"]).unwrap();
        assert!(cli.reads_stdin());
        assert!(!cli.json && !cli.ignore_checksums && cli.set.is_empty());
    }

    #[test]
    fn live_flags() {
        let cli = parse(&["-i", "eth0", "-i", "eth1", "--workers", "2", "-u", "nobody"]).unwrap();
        assert_eq!(cli.interface, vec!["eth0", "eth1"]);
        assert_eq!(
            (cli.workers, cli.user.as_deref()),
            (Some(2), Some("nobody"))
        );
        assert_eq!(cli.read, None);
        assert_eq!(
            parse(&["-r", "x", "-i", "eth0"]).unwrap_err().kind(),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn errors_are_clap_errors() {
        assert_eq!(
            parse(&["-r", "x", "--bogus"]).unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["-r", "x", "--set", "novalue"]).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse(&["-r", "x", "--set", "a..b=1"]).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse(&["--version"]).unwrap_err().kind(),
            ErrorKind::DisplayVersion
        );
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
        assert_eq!(parse(&["-r", "x"]).err().map(|e| e.exit_code()), None);
        assert_eq!(parse(&["--bogus"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
