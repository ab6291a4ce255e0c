//! NetFlow/IPFIX datagrams through the collector's decoder and the
//! stitching tracker, with invariants on the connections
//! (`connwatch_track::fuzzing_flows::fuzz_flows`; input format there).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connwatch_track::fuzzing_flows::fuzz_flows(data));
