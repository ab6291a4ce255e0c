//! Replaying a committed fuzz corpus without a fuzzer: every file of
//! `fuzz/corpus/<target>/` goes through the function the fuzz target calls,
//! so CI checks each input with a plain `cargo test`. Shared by the corpus
//! tests of every crate (`*/tests/fuzz_corpus.rs`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The corpus directory of a fuzz target.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Feeds every file of `target`'s corpus to `run`; panics, naming them,
/// if any input panicked, and when the corpus is missing or empty.
pub fn replay(target: &str, run: fn(&[u8])) {
    let dir = corpus_dir(target);
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
        "replayed {} {target} corpus inputs from {}",
        paths.len(),
        dir.display()
    );
    assert!(
        failed.is_empty(),
        "{} inputs panicked: {failed:#?}",
        failed.len()
    );
}
