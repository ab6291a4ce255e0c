//! One capture worker: its sockets (one per interface, each in that
//! interface's fanout group), its own packet analyzer and connection table,
//! run to completion per frame.
//!
//! The loop: walk every ready ring block, feeding frames to the analyzer;
//! hand finished records to the writer in batches (a bounded channel, one
//! send per batch, never per packet); when the rings are empty, move
//! network time to the wall clock, so idle connections expire and
//! long-connection thresholds fire on a quiet link, then `poll`. On stop,
//! every open connection is flushed, as Zeek does at shutdown.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use connwatch_track::{ConnEvent, PacketAnalyzer};
use connwatch_wire::netflow::FlowRecord;
use connwatch_wire::{Duration, Timestamp};

use super::counters::{Totals, WorkerCounters};
use super::signals;
use crate::sources::af_packet::{poll_any, AfPacket, KernelStats};

/// What a worker sends to the writer.
pub enum Msg {
    /// Records, in the order the tracker produced them, from worker `.0`
    /// (the emptied batch goes back to it).
    Events(usize, Batch),
    /// The worker has flushed everything and stopped: its weirds by name,
    /// and its tracker's memory just before the flush.
    Done(Vec<(&'static str, u64)>, usize),
    /// The worker failed; the sensor stops.
    Failed(String),
}

/// What crosses to the writer at once: log events and flow records.
#[derive(Default)]
pub struct Batch {
    /// conn.log, conn_long.log and notice.log events.
    pub events: Vec<ConnEvent>,
    /// Flow records to export.
    pub flows: Vec<FlowRecord>,
}

impl Batch {
    fn with_capacity(n: usize) -> Batch {
        Batch {
            events: Vec::with_capacity(n),
            flows: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.flows.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes what the analyzer's tracker holds.
    fn take_from(&mut self, analyzer: &mut PacketAnalyzer) {
        let t = analyzer.tracker();
        self.flows.extend(t.drain_flows());
        self.events.extend(t.drain_events());
    }

    /// Empties it for reuse.
    pub fn clear(&mut self) {
        self.events.clear();
        self.flows.clear();
    }
}

/// Frames taken from one socket before looking at the next.
const FRAMES_PER_TURN: usize = 4096;
/// Send a batch once it holds this many records...
const BATCH: usize = 1024;
/// ...or once its oldest record waited this long.
const BATCH_AGE: std::time::Duration = std::time::Duration::from_millis(100);
/// Poll timeout: how often a quiet worker looks at the clock and the stop
/// flag.
const POLL_MS: i32 = 50;
/// Network time lags the wall clock by this much when advanced without
/// packets: a packet captured just before may still sit in a block the
/// kernel has not handed over (block timeout), and must not arrive after
/// its connection's timers fired.
const CLOCK_LAG: Duration = Duration(20_000_000);

/// How long a worker keeps reading after a stop request (five block
/// timeouts).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(50);

/// A capture worker.
pub struct Worker {
    /// Its number.
    pub id: usize,
    /// Its sockets, one per interface.
    pub sockets: Vec<AfPacket>,
    /// Its analyzer (and connection table).
    pub analyzer: PacketAnalyzer,
    /// To the writer.
    pub tx: SyncSender<Msg>,
    /// Emptied batches coming back from the writer, for reuse.
    pub recycle: Receiver<Batch>,
    /// Where it publishes its counters.
    pub counters: Arc<WorkerCounters>,
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

impl Worker {
    /// Runs until a stop is requested; flushes and reports `Done`.
    pub fn run(mut self) {
        match self.capture() {
            Ok(()) => {
                let tracker_bytes = self.analyzer.tracker_ref().stats().peak_bytes;
                // Flush every open connection, a part at a time.
                loop {
                    let done = self.analyzer.finish_some(crate::pipeline::FLUSH_PART);
                    let mut batch = self.fresh_batch();
                    batch.take_from(&mut self.analyzer);
                    if !batch.is_empty() && self.tx.send(Msg::Events(self.id, batch)).is_err() {
                        break;
                    }
                    if done {
                        break;
                    }
                }
                self.publish();
                let weirds = self.analyzer.anomalies().collect();
                let _ = self.tx.send(Msg::Done(weirds, tracker_bytes));
            }
            Err(e) => {
                signals::request_stop();
                let _ = self.tx.send(Msg::Failed(e));
            }
        }
    }

    fn fresh_batch(&self) -> Batch {
        self.recycle
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(BATCH))
    }

    fn capture(&mut self) -> Result<(), String> {
        let mut batch = self.fresh_batch();
        let mut batch_since = Instant::now();
        let mut last_publish = Instant::now();
        let mut stop_seen: Option<Instant> = None;
        loop {
            if stop_seen.is_none() && signals::stop_requested() {
                stop_seen = Some(Instant::now());
            }
            // After a stop request, packets already captured still count:
            // the kernel hands over a partly filled block only after the
            // block timeout, so keep reading for a few of those.
            let stopping = stop_seen.is_some_and(|t| t.elapsed() >= STOP_GRACE);
            let mut got = 0;
            for s in &mut self.sockets {
                for _ in 0..FRAMES_PER_TURN {
                    let Some((frame, csum_not_ready)) = s.next_frame() else {
                        break;
                    };
                    if csum_not_ready {
                        self.analyzer.handle_frame_checksum_not_ready(&frame);
                    } else {
                        self.analyzer.handle_frame(&frame);
                    }
                    got += 1;
                }
            }
            if got == 0 {
                // Quiet: let time pass without packets.
                self.analyzer.tracker().advance(wall_now() - CLOCK_LAG);
            }
            let t = self.analyzer.tracker_ref();
            if !t.events().is_empty() || !t.flows().is_empty() {
                if batch.is_empty() {
                    batch_since = Instant::now();
                }
                batch.take_from(&mut self.analyzer);
            }
            if !batch.is_empty() && (batch.len() >= BATCH || batch_since.elapsed() >= BATCH_AGE) {
                let full = std::mem::replace(&mut batch, self.fresh_batch());
                self.tx
                    .send(Msg::Events(self.id, full))
                    .map_err(|_| "the log writer has stopped".to_string())?;
            }
            if last_publish.elapsed() >= std::time::Duration::from_millis(100) {
                last_publish = Instant::now();
                self.publish();
            }
            if stopping && got == 0 {
                // Rings drained after the stop request.
                if !batch.is_empty() {
                    let _ = self.tx.send(Msg::Events(self.id, batch));
                }
                return Ok(());
            }
            if got == 0 {
                poll_any(&self.sockets, POLL_MS).map_err(|e| format!("poll: {e}"))?;
            }
        }
    }

    /// Stores the running totals for stats.log and /metrics.
    fn publish(&mut self) {
        let mut k = KernelStats::default();
        for s in &mut self.sockets {
            let x = s.kernel_stats();
            k.packets += x.packets;
            k.drops += x.drops;
        }
        let a = self.analyzer.stats();
        let t = self.analyzer.tracker_ref().stats();
        self.counters.store(&Totals {
            packets: a.frames,
            bytes: a.bytes,
            kernel_packets: k.packets,
            kernel_drops: k.drops,
            filtered: a.filtered,
            weirds: self.analyzer.anomaly_total(),
            evicted: t.evicted,
            untracked: t.untracked,
            open: t.open_by_proto,
            created: t.created_by_proto,
            peak_open: t.peak_open,
        });
    }
}
