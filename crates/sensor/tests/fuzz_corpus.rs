//! Replays the committed fuzz corpora of this crate's targets
//! (`fuzz/corpus/capture_file/`, `fuzz/corpus/tpacket_ring/`) through the
//! functions the fuzz targets call, so CI checks every corpus input without
//! a fuzzer.

use connwatch_tracegen::fuzz_corpus::replay;

#[test]
fn replay_capture_file_corpus() {
    replay("capture_file", connwatch::sources::fuzz_capture);
}

#[cfg(target_os = "linux")]
#[test]
fn replay_tpacket_ring_corpus() {
    replay("tpacket_ring", connwatch::sources::tpacket_ring::fuzz_ring);
}
