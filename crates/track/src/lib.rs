//! `connwatch-track`: deterministic connection tracking with Zeek's semantics.
//!
//! Packets (already dissected by `connwatch-wire`) and network time come in;
//! [`ConnEvent`]s come out. Nothing here reads the clock or does I/O.

pub mod record;
pub mod uid;

pub use record::{ConnEvent, ConnRecord, ConnState, History, Proto, Service, ServiceList, TunnelParents};
pub use uid::{Uid, UidGenerator};
