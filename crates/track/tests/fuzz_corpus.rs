//! Replays the committed `pipeline` fuzz corpus (`fuzz/corpus/pipeline/`) through
//! the function the fuzz target calls (`connwatch_track::fuzzing::fuzz_pipeline`), so CI checks every corpus
//! input without a fuzzer. Fails when the corpus is missing or empty.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

#[test]
fn replay_pipeline_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/pipeline");
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
        if catch_unwind(AssertUnwindSafe(|| {
            connwatch_track::fuzzing::fuzz_pipeline(&data)
        }))
        .is_err()
        {
            failed.push(path.display().to_string());
        }
    }
    println!(
        "replayed {} pipeline corpus inputs from {}",
        paths.len(),
        dir.display()
    );
    assert!(
        failed.is_empty(),
        "{} inputs panicked: {failed:#?}",
        failed.len()
    );
}
