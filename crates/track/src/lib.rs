//! `connwatch-track`: deterministic connection tracking with Zeek's semantics.
//!
//! Packets (already dissected by `connwatch-wire`) and network time come in;
//! [`ConnEvent`]s come out. Nothing here reads the clock or does I/O: the
//! same packets always give the same records.

pub mod analyzer;
pub mod config;
mod conn;
mod counters;
pub mod defrag;
pub mod fuzzing;
pub mod fuzzing_flows;
mod hist_store;
pub mod key;
mod long_conn;
mod prefetch;
pub mod record;
pub mod service;
pub mod site;
mod slab;
mod stored_key;
mod table;
mod tcp;
pub mod timers;
pub mod tracker;
pub mod uid;

#[cfg(test)]
mod tests;

pub use analyzer::{AnalyzerStats, PacketAnalyzer};
pub use config::{ExportTimeouts, FlowStitching, LongConfig, PortSet, SlowCriteria, TrackerConfig};
pub use record::{
    ConnEvent, ConnRecord, ConnState, History, InterimReport, Proto, Service, ServiceList,
    TunnelParents,
};
pub use service::{Detector, Detectors};
pub use site::{Cidr, LocalNets};
pub use tracker::{ConnRef, ConnTracker, Encap, FlowStats, PacketIn, TrackerStats, L4};
pub use uid::{Uid, UidGenerator};
