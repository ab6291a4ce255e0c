//! Replays the committed fuzz corpora of this crate's targets
//! (`fuzz/corpus/capture_file/`, `fuzz/corpus/tpacket_ring/`) through the
//! functions the fuzz targets call, so CI checks every corpus input without
//! a fuzzer. Fails when a corpus is missing or empty.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn replay(corpus: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(corpus);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()))
        .map(|entry| entry.expect("read corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "fuzz corpus {} is empty", dir.display());
    let mut failed = Vec::new();
    for path in &paths {
        let data =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    println!(
        "replayed {} {corpus} corpus inputs from {}",
        paths.len(),
        dir.display()
    );
    assert!(
        failed.is_empty(),
        "{} inputs panicked: {failed:#?}",
        failed.len()
    );
}

#[test]
fn replay_capture_file_corpus() {
    replay("capture_file", connwatch::sources::fuzz_capture);
}

#[cfg(target_os = "linux")]
#[test]
fn replay_tpacket_ring_corpus() {
    replay("tpacket_ring", connwatch::sources::tpacket_ring::fuzz_ring);
}
