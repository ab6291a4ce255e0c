//! A writer for any Zeek log: schema in, rows of typed cells out, as TSV or
//! JSON lines.
//!
//! The file is created lazily at the first row (Zeek never creates an empty
//! log) and gets `#close` at [`ZeekLogWriter::finish`]. Rows are encoded
//! straight into one reused output buffer that is written to the file in
//! 64 KiB+ chunks, so a row costs no allocation and no system call.
//!
//! ```text
//! let mut row = log.begin_row()?;
//! row.time(ts); row.string(b"C1..."); row.addr(a); ... ; row.end()?;
//! ```
//!
//! Cells must be written in column order, one per column; debug builds
//! assert each cell's type against the schema.

use core::net::IpAddr;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::format;
use super::wall_clock::WallTime;
use super::zeek_fields::{LogSchema, ZeekType};
use super::{zeek_json as json, zeek_tsv as tsv, SinkError};

/// Output encoding of a Zeek log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Zeek's default tab-separated format with header lines.
    #[default]
    Tsv,
    /// One JSON object per line (`LogAscii::use_json=T`).
    Json,
}

/// Write to the file once this many bytes are buffered.
const FLUSH_AT: usize = 64 * 1024;

/// Writes one Zeek log file.
pub struct ZeekLogWriter {
    schema: LogSchema,
    format: LogFormat,
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
    finished: bool,
    clock: fn() -> WallTime,
    /// When the current file was opened (its `#open` time).
    opened: Option<WallTime>,
}

impl ZeekLogWriter {
    /// A writer for `<dir>/<schema.path>.log`; nothing is created yet.
    pub fn new(dir: &Path, schema: LogSchema, format: LogFormat) -> Self {
        Self::at_path(dir.join(format!("{}.log", schema.path)), schema, format)
    }

    /// A writer for an explicit file path (e.g. `/dev/null` in benchmarks,
    /// or a rotated name).
    pub fn at_path(path: PathBuf, schema: LogSchema, format: LogFormat) -> Self {
        ZeekLogWriter {
            schema,
            format,
            path,
            file: None,
            buf: Vec::new(),
            finished: false,
            clock: WallTime::now_local,
            opened: None,
        }
    }

    /// Replaces the wall clock used for `#open`/`#close` (tests).
    pub fn with_clock(mut self, clock: fn() -> WallTime) -> Self {
        self.clock = clock;
        self
    }

    /// The file this writer writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a row, creating the file (and writing the TSV header) first if
    /// this is the first row.
    pub fn begin_row(&mut self) -> Result<Row<'_>, SinkError> {
        if self.file.is_none() {
            self.open()?;
        }
        if self.format == LogFormat::Json {
            self.buf.push(b'{');
        }
        let row_start = self.buf.len();
        Ok(Row {
            w: self,
            col: 0,
            row_start,
        })
    }

    /// The encoding.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Appends one whole TSV row, its cells already encoded and joined
    /// (what a [`Row`] would have written, without the newline): the fast
    /// path for a log that renders its rows itself. Creates the file first
    /// if needed.
    pub fn push_tsv_row(&mut self, cells: &[u8]) -> Result<(), SinkError> {
        debug_assert_eq!(self.format, LogFormat::Tsv);
        if self.file.is_none() {
            self.open()?;
        }
        // A data line must not look like a header line.
        match cells.split_first() {
            Some((b'#', rest)) => {
                self.buf.extend_from_slice(b"\\x23");
                self.buf.extend_from_slice(rest);
            }
            _ => self.buf.extend_from_slice(cells),
        }
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn open(&mut self) -> Result<(), SinkError> {
        let file = File::create(&self.path).map_err(|source| SinkError::Create {
            path: self.path.clone(),
            source,
        })?;
        self.file = Some(file);
        self.finished = false;
        self.buf.reserve(FLUSH_AT + 4096);
        let now = (self.clock)();
        self.opened = Some(now);
        if self.format == LogFormat::Tsv {
            tsv::push_header(&mut self.buf, &self.schema, now);
        }
        Ok(())
    }

    /// Writes the buffered rows to the file now (a live sensor does this
    /// every second, so a reader sees rows without waiting for 64 KiB).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.file.is_some() && !self.buf.is_empty() {
            self.flush_buf()
        } else {
            Ok(())
        }
    }

    /// Log rotation: closes the current file (`#close`) and renames it
    /// after the time it was opened, as Zeek names rotated logs:
    /// `conn.log` → `conn.2026-11-27-18-00-00.log` (`-1`, `-2`, … are
    /// appended if that name is taken, so a rotation never overwrites an
    /// earlier one). The next row starts a new file. Returns the new name,
    /// or `None` if no file was open.
    pub fn rotate(&mut self) -> Result<Option<PathBuf>, SinkError> {
        let Some(opened) = self
            .opened
            .filter(|_| self.file.is_some() && !self.finished)
        else {
            return Ok(None);
        };
        self.finish()?;
        let mut stamp = Vec::with_capacity(19);
        opened.push_zeek(&mut stamp);
        let stamp = String::from_utf8_lossy(&stamp).into_owned();
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let mut target = dir.join(format!("{}.{stamp}.log", self.schema.path));
        let mut n = 1;
        while target.exists() {
            target = dir.join(format!("{}.{stamp}-{n}.log", self.schema.path));
            n += 1;
        }
        std::fs::rename(&self.path, &target).map_err(|source| SinkError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.opened = None;
        Ok(Some(target))
    }

    fn flush_buf(&mut self) -> Result<(), SinkError> {
        if let Some(file) = self.file.as_mut() {
            if let Err(source) = file.write_all(&self.buf) {
                self.buf.clear();
                return Err(SinkError::Write {
                    path: self.path.clone(),
                    source,
                });
            }
        }
        self.buf.clear();
        Ok(())
    }

    /// Writes `#close` (TSV), flushes and closes the file. Does nothing if
    /// no row was ever written, or if already finished.
    pub fn finish(&mut self) -> Result<(), SinkError> {
        if self.file.is_none() || self.finished {
            return Ok(());
        }
        self.finished = true;
        if self.format == LogFormat::Tsv {
            tsv::push_close(&mut self.buf, (self.clock)());
        }
        let res = self.flush_buf();
        self.file = None;
        res
    }
}

impl Drop for ZeekLogWriter {
    fn drop(&mut self) {
        // Best effort when the owner forgot `finish` (e.g. an error path):
        // buffered rows are better written than lost.
        let _ = self.finish();
    }
}

/// One row being written; cells go in column order.
pub struct Row<'w> {
    w: &'w mut ZeekLogWriter,
    col: usize,
    row_start: usize,
}

impl Row<'_> {
    /// Bookkeeping before a set cell: separator or JSON key, and (debug
    /// builds) the type check against the schema.
    #[inline(always)]
    fn cell(&mut self, ty: ZeekType) {
        let col = self.col;
        self.col += 1;
        let fields = self.w.schema.fields;
        debug_assert!(col < fields.len(), "{}: too many cells", self.w.schema.path);
        debug_assert_eq!(
            fields.get(col).map(|f| f.ty),
            Some(ty),
            "{}.{}",
            self.w.schema.path,
            fields.get(col).map_or("?", |f| f.name)
        );
        match self.w.format {
            LogFormat::Tsv => {
                if col > 0 {
                    self.w.buf.push(tsv::SEPARATOR);
                }
            }
            LogFormat::Json => {
                if let Some(field) = fields.get(col) {
                    let first = self.w.buf.len() == self.row_start;
                    json::push_key(&mut self.w.buf, field.name, first);
                }
            }
        }
    }

    #[inline]
    fn tsv(&self) -> bool {
        self.w.format == LogFormat::Tsv
    }

    /// An unset (optional, absent) field: `-` in TSV, omitted in JSON.
    #[inline]
    pub fn unset(&mut self) -> &mut Self {
        if self.tsv() {
            if self.col > 0 {
                self.w.buf.push(tsv::SEPARATOR);
            }
            self.w.buf.extend_from_slice(tsv::UNSET_FIELD);
        }
        self.col += 1;
        self
    }

    /// A `time` cell (epoch seconds as Zeek's double).
    #[inline]
    pub fn time(&mut self, secs: f64) -> &mut Self {
        self.cell(ZeekType::Time);
        self.double(secs)
    }

    /// A `time` cell from a capture timestamp (TSV prints it from the
    /// integers; JSON uses the double as Zeek does).
    #[inline]
    pub fn timestamp(&mut self, ts: connwatch_wire::Timestamp) -> &mut Self {
        self.cell(ZeekType::Time);
        if self.tsv() {
            format::push_ts(&mut self.w.buf, ts);
            self
        } else {
            self.double(ts.as_zeek_secs())
        }
    }

    /// A `string` cell whose bytes are known to need no escaping (ASCII
    /// letters, digits, `^`, `,`): uids, conn_state, history.
    #[inline]
    pub fn plain_string(&mut self, s: &[u8]) -> &mut Self {
        debug_assert!(s.iter().all(|b| b.is_ascii_graphic() && *b != b'\\'));
        if self.tsv() && s.len() > 1 {
            self.cell(ZeekType::String);
            self.w.buf.extend_from_slice(s);
            self
        } else {
            self.string(s)
        }
    }

    /// An `interval` cell (seconds).
    #[inline]
    pub fn interval(&mut self, secs: f64) -> &mut Self {
        self.cell(ZeekType::Interval);
        self.double(secs)
    }

    #[inline]
    fn double(&mut self, v: f64) -> &mut Self {
        if self.tsv() {
            tsv::push_time(&mut self.w.buf, v);
        } else {
            json::push_double(&mut self.w.buf, v);
        }
        self
    }

    /// A `count` cell.
    #[inline]
    pub fn count(&mut self, v: u64) -> &mut Self {
        self.cell(ZeekType::Count);
        format::push_u64(&mut self.w.buf, v);
        self
    }

    /// A `port` cell (number only, in both encodings).
    #[inline]
    pub fn port(&mut self, p: u16) -> &mut Self {
        self.cell(ZeekType::Port);
        format::push_u64(&mut self.w.buf, u64::from(p));
        self
    }

    /// An `addr` cell.
    #[inline]
    pub fn addr(&mut self, a: IpAddr) -> &mut Self {
        self.cell(ZeekType::Addr);
        if self.tsv() {
            tsv::push_addr(&mut self.w.buf, a);
        } else {
            json::push_addr(&mut self.w.buf, a);
        }
        self
    }

    /// A `bool` cell.
    #[inline]
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.cell(ZeekType::Bool);
        if self.tsv() {
            tsv::push_bool(&mut self.w.buf, b);
        } else {
            json::push_bool(&mut self.w.buf, b);
        }
        self
    }

    /// An optional `bool`: unset when `None`.
    #[inline]
    pub fn opt_bool(&mut self, b: Option<bool>) -> &mut Self {
        match b {
            Some(b) => self.bool(b),
            None => self.unset(),
        }
    }

    /// A `string` cell (raw bytes, escaped as the encoding requires).
    #[inline]
    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.cell(ZeekType::String);
        self.text(s)
    }

    /// An `enum` cell (its identifier).
    #[inline]
    pub fn enumeration(&mut self, name: &str) -> &mut Self {
        self.cell(ZeekType::Enum);
        self.text(name.as_bytes())
    }

    #[inline]
    fn text(&mut self, s: &[u8]) -> &mut Self {
        if self.tsv() {
            tsv::push_string(&mut self.w.buf, s, false);
        } else {
            json::push_string(&mut self.w.buf, s);
        }
        self
    }

    /// A `set[string]` cell.
    pub fn string_set<'s>(&mut self, items: impl IntoIterator<Item = &'s [u8]>) -> &mut Self {
        self.cell(ZeekType::StringSet);
        if self.tsv() {
            tsv::push_string_set(&mut self.w.buf, items);
        } else {
            json::push_string_set(&mut self.w.buf, items);
        }
        self
    }

    /// A `set[enum]` cell (identifiers, e.g. `Notice::ACTION_LOG`); encoded
    /// like a `set[string]`.
    pub fn enum_set<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) -> &mut Self {
        self.cell(ZeekType::EnumSet);
        let items = items.into_iter().map(str::as_bytes);
        if self.tsv() {
            tsv::push_string_set(&mut self.w.buf, items);
        } else {
            json::push_string_set(&mut self.w.buf, items);
        }
        self
    }

    /// Ends the row (newline; JSON `}`) and writes the buffer out once it
    /// is large enough.
    pub fn end(self) -> Result<(), SinkError> {
        debug_assert_eq!(
            self.col,
            self.w.schema.fields.len(),
            "{}: wrong number of cells",
            self.w.schema.path
        );
        match self.w.format {
            LogFormat::Tsv => {
                // A data line must not look like a header line.
                if self.w.buf.get(self.row_start) == Some(&b'#') {
                    self.w
                        .buf
                        .splice(self.row_start..self.row_start + 1, b"\\x23".iter().copied());
                }
                self.w.buf.push(b'\n');
            }
            LogFormat::Json => self.w.buf.extend_from_slice(b"}\n"),
        }
        if self.w.buf.len() >= FLUSH_AT {
            self.w.flush_buf()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::TempDir;
    use super::super::zeek_fields::Field;
    use super::*;

    const SCHEMA: LogSchema = LogSchema {
        path: "test",
        fields: &[
            Field {
                name: "s",
                ty: ZeekType::String,
            },
            Field {
                name: "n",
                ty: ZeekType::Count,
            },
        ],
    };

    fn fixed_clock() -> WallTime {
        WallTime::utc_from_unix(1_300_475_167)
    }

    #[test]
    fn no_rows_no_file() {
        let dir = TempDir::new();
        let mut w = ZeekLogWriter::new(dir.path(), SCHEMA, LogFormat::Tsv);
        w.finish().unwrap();
        assert!(!w.path().exists());
    }

    #[test]
    fn tsv_file_with_header_and_close() {
        let dir = TempDir::new();
        let mut w = ZeekLogWriter::new(dir.path(), SCHEMA, LogFormat::Tsv).with_clock(fixed_clock);
        let mut r = w.begin_row().unwrap();
        r.string(b"#x").count(7);
        r.end().unwrap();
        let mut r = w.begin_row().unwrap();
        r.unset().unset();
        r.end().unwrap();
        w.finish().unwrap();
        w.finish().unwrap(); // idempotent
        let text = std::fs::read_to_string(w.path()).unwrap();
        assert_eq!(
            text,
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
             #path\ttest\n#open\t2011-03-18-19-06-07\n#fields\ts\tn\n#types\tstring\tcount\n\
             \\x23x\t7\n-\t-\n#close\t2011-03-18-19-06-07\n"
        );
    }

    #[test]
    fn json_omits_unset_fields() {
        let dir = TempDir::new();
        let mut w = ZeekLogWriter::new(dir.path(), SCHEMA, LogFormat::Json);
        let mut r = w.begin_row().unwrap();
        r.unset().count(1);
        r.end().unwrap();
        let mut r = w.begin_row().unwrap();
        r.string(b"a").count(2);
        r.end().unwrap();
        drop(w); // Drop finishes too
        let text = std::fs::read_to_string(dir.path().join("test.log")).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"s\":\"a\",\"n\":2}\n");
    }

    #[test]
    fn create_error_names_the_file() {
        let dir = TempDir::new();
        let missing = dir.path().join("no/such/dir");
        let mut w = ZeekLogWriter::new(&missing, SCHEMA, LogFormat::Tsv);
        let err = w.begin_row().err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("no/such/dir/test.log"), "{msg}");
    }
}
