//! Every wire decoder on one input (`connwatch_wire::fuzz_all`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connwatch_wire::fuzz_all(data));
