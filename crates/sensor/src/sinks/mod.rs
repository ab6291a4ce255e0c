//! Sinks: where connection records go.
//!
//! Every sink implements [`RecordSink`]. The Zeek logs share one generic
//! writer ([`zeek_log::ZeekLogWriter`]: a schema from [`zeek_fields`], typed
//! cells, TSV ([`zeek_tsv`]) or JSON ([`zeek_json`]) encoding); a concrete
//! log such as [`ConnLogSink`] only maps its record onto cells.

mod addr_text;
pub mod conn_log;
pub mod conn_long_log;
pub mod format;
pub mod netflow_exporter;
pub mod notice_log;
mod row_buf;
pub mod stats_log;
pub mod udp_batch;
pub mod wall_clock;
pub mod zeek_fields;
pub mod zeek_json;
pub mod zeek_log;
pub mod zeek_tsv;

use std::path::PathBuf;

use connwatch_track::ConnRecord;
use connwatch_wire::Timestamp;

pub use conn_log::ConnLogSink;
pub use conn_long_log::ConnLongLogSink;
pub use netflow_exporter::{ExportReport, NetflowExporterSink};
pub use notice_log::NoticeLogSink;
pub use stats_log::{StatsLine, StatsLogSink};
pub use zeek_log::{LogFormat, Row, ZeekLogWriter};

/// Failure to write output; names the file.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The log file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing to the log file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A destination for connection records. Object-safe, so the pipeline can
/// hold a `Vec<Box<dyn RecordSink>>`.
pub trait RecordSink {
    /// Writes one finished connection.
    fn write_conn(&mut self, rec: &ConnRecord) -> Result<(), SinkError>;

    /// Network time advanced to `now` (log rotation, export timers).
    fn tick(&mut self, now: Timestamp) -> Result<(), SinkError> {
        let _ = now;
        Ok(())
    }

    /// End of input: flush and close (TSV logs get `#close`).
    fn finish(&mut self) -> Result<(), SinkError>;
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A self-removing temporary directory (std only).

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "connwatch-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).expect("create temp dir");
            TempDir(p)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
