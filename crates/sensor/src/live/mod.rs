//! The live sensor: `connwatch -i IFACE [-i IFACE2] [--workers N]`.
//!
//! ```text
//!  NIC ─ AF_PACKET fanout (symmetric flow hash) ─┬─ worker 0: rings → analyzer → table ─┐
//!                                                └─ worker 1: rings → analyzer → table ─┤ batches
//!                                                                                         ▼
//!                                         writer (this thread): conn.log, conn_long.log,
//!                                         notice.log, stats.log; flush, rotation, signals
//! ```
//!
//! Start-up order: open every socket (needs root or CAP_NET_RAW) and the
//! metrics listener, create the log directory, drop privileges
//! (`run.user`), install the signal handlers, start the workers. Each
//! worker owns its share of the connections (`track.max_connections` is
//! split evenly) and its own uid sequence. The writer merges their records
//! into one file per log: the same rows as one worker, in another order.
//!
//! Network time is the kernel's capture timestamp of each packet, and the
//! wall clock while no packet arrives. Stop with SIGINT or SIGTERM: the
//! workers drain their rings, flush every open connection to conn.log, and
//! the logs are closed (`#close`). SIGHUP rotates the logs at once;
//! `log.rotate_interval` rotates at every multiple of the interval.

mod counters;
mod metrics;
pub(crate) mod privileges;
pub(crate) mod signals;
mod worker;

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use connwatch_track::{PacketAnalyzer, TrackerConfig};

use crate::config::SensorConfig;
use crate::pipeline::{tracker_config, Sinks, Summary};
use crate::sinks::{StatsLine, StatsLogSink};
use crate::sources::af_packet::{AfPacket, RingOptions, MAX_INTERFACES};
use counters::{resident_bytes, Totals, WorkerCounters};
use worker::{Msg, Worker};

/// Rows reach the files at least this often.
const FLUSH_EVERY: StdDuration = StdDuration::from_secs(1);

fn unix_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The tracker configuration of worker `w` of `n`: its own uid sequence
/// and its share of the connection cap.
fn worker_config(base: &TrackerConfig, w: usize, n: usize) -> TrackerConfig {
    let mut c = base.clone();
    c.uid_seed = base
        .uid_seed
        .wrapping_add((w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    if base.max_connections > 0 {
        c.max_connections = base.max_connections.div_ceil(n).max(1);
    }
    c
}

/// Runs the live sensor until SIGINT/SIGTERM.
pub fn run(cfg: &SensorConfig, ifaces: &[String]) -> Result<Summary> {
    let started = Instant::now();
    let live = &cfg.live;
    if ifaces.len() > MAX_INTERFACES {
        bail!("at most {MAX_INTERFACES} interfaces, got {}", ifaces.len());
    }
    let n = live.workers.max(1);

    // 1. Sockets, worker by worker: worker w joins every interface's fanout
    //    group as the w-th member, so both directions of a connection seen
    //    on two interfaces (a tap's two halves) hash to the same worker.
    let mut sockets: Vec<Vec<AfPacket>> = Vec::with_capacity(n);
    for _ in 0..n {
        let mut mine = Vec::with_capacity(ifaces.len());
        for (i, iface) in ifaces.iter().enumerate() {
            let group = (n > 1).then(|| ((std::process::id() as usize + i) & 0xffff) as u16);
            let opts = RingOptions {
                ring_bytes: live.ring_bytes,
                block_timeout_ms: 10,
                fanout_group: group,
            };
            mine.push(AfPacket::open(iface, i as u32, &opts).map_err(|e| anyhow!("{e}"))?);
        }
        sockets.push(mine);
    }
    let listener = match live.metrics {
        Some(addr) => Some(
            metrics::bind(addr)
                .with_context(|| format!("metrics.listen: cannot listen on {addr}"))?,
        ),
        None => None,
    };
    std::fs::create_dir_all(&cfg.log_dir)
        .with_context(|| format!("cannot create log directory {}", cfg.log_dir.display()))?;

    // 2. Privileges.
    if let Some(user) = &live.user {
        privileges::drop_to(user, &cfg.log_dir).map_err(|e| anyhow!(e))?;
    }
    signals::install_handlers().context("cannot install signal handlers")?;

    // 3. Workers.
    let base = tracker_config(cfg);
    let (tx, rx) = mpsc::sync_channel::<Msg>(4 * n);
    let mut recycle: Vec<SyncSender<worker::Batch>> = Vec::with_capacity(n);
    let mut counters = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for (w, socks) in sockets.into_iter().enumerate() {
        let (rtx, rrx) = mpsc::sync_channel(8);
        recycle.push(rtx);
        let c = Arc::new(WorkerCounters::default());
        counters.push(Arc::clone(&c));
        let worker = Worker {
            id: w,
            sockets: socks,
            analyzer: PacketAnalyzer::new(worker_config(&base, w, n)),
            tx: tx.clone(),
            recycle: rrx,
            counters: c,
        };
        let h = std::thread::Builder::new()
            .name(format!("connwatch-worker-{w}"))
            .spawn(move || worker.run())
            .context("cannot start a worker thread")?;
        handles.push(h);
    }
    drop(tx);
    if let Some(l) = listener {
        metrics::spawn(l, counters.clone());
    }
    eprintln!(
        "connwatch: capturing on {} with {n} worker{}",
        ifaces.join(", "),
        if n == 1 { "" } else { "s" }
    );

    // 4. The writer.
    let mut writer = Writer::new(cfg, counters.clone())?;
    let mut summary = Summary::default();
    let mut done = 0;
    let mut failure: Option<String> = None;
    let mut weirds: std::collections::BTreeMap<&'static str, u64> = Default::default();
    while done < n {
        match rx.recv_timeout(StdDuration::from_millis(200)) {
            Ok(Msg::Events(w, mut batch)) => {
                for flow in &batch.flows {
                    writer.sinks.write_flow(flow);
                }
                for ev in batch.events.drain(..) {
                    if failure.is_some() {
                        break;
                    }
                    if let Err(e) = writer.sinks.write_event(&ev, &mut summary) {
                        failure = Some(format!("{e:#}"));
                        signals::request_stop();
                    }
                }
                batch.clear();
                let _ = recycle[w].try_send(batch);
            }
            Ok(Msg::Done(names, bytes)) => {
                done += 1;
                summary.tracker_bytes += bytes;
                for (name, k) in names {
                    *weirds.entry(name).or_default() += k;
                }
            }
            Ok(Msg::Failed(e)) => {
                done += 1;
                failure.get_or_insert(e);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if failure.is_none() {
            if let Err(e) = writer.periodic() {
                failure = Some(format!("{e:#}"));
                signals::request_stop();
            }
        }
    }
    for h in handles {
        let _ = h.join();
    }
    let finished = writer.finish();
    summary.export = std::mem::take(&mut writer.sinks.export_reports);
    let t = Totals::sum(&counters);
    summary.packets = t.packets;
    summary.weirds = t.weirds;
    summary.weird_names = weirds.into_iter().collect();
    summary.peak_open = t.peak_open;
    summary.evicted = t.evicted;
    summary.untracked = t.untracked;
    summary.kernel = Some((t.kernel_packets, t.kernel_drops));
    summary.seconds = started.elapsed().as_secs_f64();
    if let Some(e) = failure {
        bail!("{e}");
    }
    finished?;
    Ok(summary)
}

/// The writer thread's own duties besides writing rows: flushing, rotation
/// and stats.log.
struct Writer {
    sinks: Sinks,
    stats: Option<StatsLogSink>,
    counters: Vec<Arc<WorkerCounters>>,
    rotate_every: Option<f64>,
    stats_every: Option<f64>,
    next_flush: Instant,
    next_rotate: f64,
    next_stats: f64,
    prev: Totals,
}

impl Writer {
    fn new(cfg: &SensorConfig, counters: Vec<Arc<WorkerCounters>>) -> Result<Self> {
        let now = unix_secs();
        let rotate_every = cfg.live.rotate_interval.map(|d| d.as_secs_f64());
        let stats_every = cfg.live.stats_interval.map(|d| d.as_secs_f64());
        // Rotation at multiples of the interval since the epoch (Zeek's
        // default base time, 0:00 UTC).
        let next_rotate = rotate_every.map_or(f64::INFINITY, |iv| ((now / iv).floor() + 1.0) * iv);
        Ok(Writer {
            sinks: Sinks::new(cfg)?,
            stats: stats_every.map(|_| StatsLogSink::new(&cfg.log_dir, cfg.log_format)),
            counters,
            rotate_every,
            stats_every,
            next_flush: Instant::now() + FLUSH_EVERY,
            next_rotate,
            next_stats: stats_every.map_or(f64::INFINITY, |iv| now + iv),
            prev: Totals::default(),
        })
    }

    fn periodic(&mut self) -> Result<()> {
        let now = unix_secs();
        if now >= self.next_stats {
            self.write_stats(now)?;
            self.next_stats = now + self.stats_every.unwrap_or(f64::INFINITY);
        }
        let hup = signals::take_rotate_request();
        if hup || now >= self.next_rotate {
            self.sinks.rotate()?;
            if let Some(s) = self.stats.as_mut() {
                s.log().rotate()?;
            }
            if let Some(iv) = self.rotate_every {
                self.next_rotate = ((now / iv).floor() + 1.0) * iv;
            }
        }
        if Instant::now() >= self.next_flush {
            self.sinks.flush()?;
            if let Some(s) = self.stats.as_mut() {
                s.log().flush()?;
            }
            self.next_flush = Instant::now() + FLUSH_EVERY;
        }
        Ok(())
    }

    fn write_stats(&mut self, now: f64) -> Result<()> {
        let t = Totals::sum(&self.counters);
        let p = self.prev;
        self.prev = t;
        let Some(sink) = self.stats.as_mut() else {
            return Ok(());
        };
        sink.write(&StatsLine {
            ts: now,
            peer: "connwatch".into(),
            mem_mb: resident_bytes() >> 20,
            pkts_proc: t.packets - p.packets,
            bytes_recv: t.bytes - p.bytes,
            pkts_dropped: t.kernel_drops - p.kernel_drops,
            pkts_link: t.kernel_packets - p.kernel_packets,
            pkts_filtered: t.filtered - p.filtered,
            active: [t.open[0], t.open[1], t.open[2]],
            created: core::array::from_fn(|i| t.created[i] - p.created[i]),
            evicted: t.evicted - p.evicted,
            untracked: t.untracked - p.untracked,
            weirds: t.weirds - p.weirds,
        })?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let a = self.sinks.finish();
        let b = self
            .stats
            .as_mut()
            .map_or(Ok(()), |s| s.log().finish().map_err(Into::into));
        a?;
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_their_own_uids_and_share_of_the_cap() {
        let base = TrackerConfig {
            uid_seed: 7,
            max_connections: 1001,
            ..TrackerConfig::default()
        };
        let a = worker_config(&base, 0, 2);
        let b = worker_config(&base, 1, 2);
        assert_eq!(a.uid_seed, 7);
        assert_ne!(a.uid_seed, b.uid_seed);
        assert_eq!((a.max_connections, b.max_connections), (501, 501));
        let unlimited = TrackerConfig {
            max_connections: 0,
            ..base
        };
        assert_eq!(worker_config(&unlimited, 1, 2).max_connections, 0);
    }
}
