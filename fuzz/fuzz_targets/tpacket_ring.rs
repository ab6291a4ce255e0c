//! A TPACKET_V3 ring image (two 4 KiB blocks) walked to its end
//! (`connwatch::sources::tpacket_ring::fuzz_ring`): no read outside the
//! ring, no endless walk, every block handed back.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connwatch::sources::tpacket_ring::fuzz_ring(data));
