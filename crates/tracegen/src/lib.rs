//! `connwatch-tracegen`: deterministic pcap generation for tests and benchmarks.
//!
//! - [`packet`]: Ethernet (+802.1Q) / IPv4 / IPv6 / TCP / UDP / ICMP echo frame
//!   builders with correct lengths and checksums, writing into a reused buffer.
//! - [`pcap`]: a classic pcap writer (micro- or nanosecond timestamps).
//! - [`scenario`]: a small DSL that describes test traffic (TCP conversations
//!   with consistent sequence numbers, UDP, ICMP, probes, background flows).
//! - [`bulk`]: streaming generators for big benchmark traces in constant memory.
//! - [`fuzz_corpus`]: replaying a committed fuzz corpus in a plain test.
//!
//! Times are `i64` nanoseconds ([`time::Nanos`]); the same inputs (and seed)
//! always give the same bytes.
//!
//! The `connwatch-tracegen` binary wraps [`bulk`]:
//! `connwatch-tracegen bulk --out big.pcap --connections 2000000 --seed 1`,
//! `connwatch-tracegen scan --out scan.pcap --flows N`, and
//! `connwatch-tracegen long --out long.pcap --duration 2h --interval 10s
//! --background-flows 1000000` (`--help` for all options).

pub mod bulk;
pub mod checksum;
pub mod flow;
pub mod fuzz_corpus;
pub mod packet;
pub mod pcap;
pub mod rng;
pub mod scenario;
pub mod time;

pub use flow::Side;
pub use pcap::{PcapWriter, Precision};
pub use scenario::{Packet, Scenario};
pub use time::{days, hours, mins, ms, secs, ticks, us, Nanos, DEFAULT_START};
