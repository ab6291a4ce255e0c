//! Frames through the packet analyzer and tracker, with invariants on the
//! records (`connwatch_track::fuzzing::fuzz_pipeline`; input format there).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connwatch_track::fuzzing::fuzz_pipeline(data));
