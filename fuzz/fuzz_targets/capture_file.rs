//! A whole pcap/pcapng file read from memory, in large reads and trickled
//! (`connwatch::sources::fuzz_capture`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connwatch::sources::fuzz_capture(data));
