//! `connwatch` as a library: the pieces the binary wires together, public
//! so integration tests, benchmarks and fuzz targets can drive them.
//!
//! - [`sources`]: capture files (pcap, pcapng) lending out frames;
//! - [`pipeline`]: source → packet analyzer → tracker → sinks;
//! - `live` (Linux): the live sensor, AF_PACKET workers and one writer;
//! - `collect` (Linux): the NetFlow/IPFIX collector;
//! - [`sinks`]: Zeek-format logs (TSV and JSON);
//! - [`config`] and [`cli`]: the TOML config, `--set` overrides and flags;
//! - [`huge_pages`]: the binary's allocator and glibc settings (huge
//!   pages for the heap and big blocks).

pub mod cli;
#[cfg(target_os = "linux")]
pub mod collect;
pub mod config;
pub mod huge_pages;
#[cfg(target_os = "linux")]
pub mod live;
pub mod pipeline;
pub mod sinks;
pub mod sources;
