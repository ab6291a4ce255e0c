//! `connwatch`: reads a capture or a live interface and writes Zeek's
//! conn.log.
//!
//! This file only parses the command line, loads the configuration, runs
//! the pipeline and maps failures to a one-line error and exit code.

use std::process::ExitCode;

use clap::Parser;
use connwatch::{cli, config, huge_pages, pipeline};

/// The system allocator, asking for transparent huge pages for the heap
/// and big blocks (see [`huge_pages`]).
#[global_allocator]
static ALLOC: huge_pages::HugePageAlloc = huge_pages::HugePageAlloc;

fn main() -> ExitCode {
    huge_pages::tune_malloc();
    let cli = cli::Cli::parse();
    let cfg = match config::load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connwatch: {e}");
            return ExitCode::from(2);
        }
    };
    match pipeline::run(&cfg) {
        Ok(s) => {
            eprintln!(
                "connwatch: {} packets, {} connections, {} weirds in {:.2} s ({:.2} M packets/s); \
                 peak {} open connections, {} tracker bytes at the peak",
                s.packets,
                s.connections,
                s.weirds,
                s.seconds,
                s.packets as f64 / s.seconds.max(1e-9) / 1e6,
                s.peak_open,
                s.tracker_bytes
            );
            if let Some(peak) = pipeline::peak_rss_bytes() {
                eprintln!("connwatch: peak memory {:.1} MiB", peak as f64 / 1048576.0);
            }
            if s.long_rows > 0 || s.notices > 0 {
                eprintln!(
                    "connwatch: {} conn_long rows, {} notices",
                    s.long_rows, s.notices
                );
            }
            if let Some((seen, dropped)) = s.kernel {
                eprintln!("connwatch: kernel: {seen} packets received, {dropped} dropped");
            }
            if s.evicted > 0 || s.untracked > 0 {
                eprintln!(
                    "connwatch: table full (track.max_connections): {} connections evicted, {} not tracked",
                    s.evicted, s.untracked
                );
            }
            for e in &s.export {
                eprintln!(
                    "connwatch: exported {} flow records in {} datagrams to {}{}{}",
                    e.records,
                    e.datagrams,
                    e.url,
                    if e.skipped_ipv6 > 0 {
                        format!(
                            "; {} IPv6 flow records skipped (NetFlow v5 is IPv4 only)",
                            e.skipped_ipv6
                        )
                    } else {
                        String::new()
                    },
                    if e.send_errors > 0 {
                        format!("; {} datagrams could not be sent", e.send_errors)
                    } else {
                        String::new()
                    }
                );
            }
            #[cfg(target_os = "linux")]
            if let Some(f) = &s.flows {
                let d = &f.decode;
                eprintln!(
                    "connwatch: flows: {} datagrams ({} from exporters not allowed), {} records \
                     ({} directions joined a connection); {} malformed datagrams, {} bad versions, \
                     {} data sets with unknown templates, {} templates refused, {} exporter scopes forgotten",
                    f.datagrams,
                    f.refused,
                    d.records,
                    f.stitch.stitched,
                    d.malformed,
                    d.bad_version,
                    d.unknown_template_sets,
                    d.templates_refused,
                    d.scopes_evicted
                );
            }
            for (name, n) in &s.weird_names {
                eprintln!("connwatch: weird {name}: {n}");
            }
            if let Some(err) = s.input_error {
                eprintln!("connwatch: {err}");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("connwatch: {e:#}");
            ExitCode::from(1)
        }
    }
}
