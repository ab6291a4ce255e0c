//! Behaviour tests of the tracker against hand-built packets: the TCP state
//! machine, history letters, orientation, byte counting and timers.
//!
//! Expected values come from shared/spec/zeek-conn.md (§3-§7 and the
//! scenarios of Appendix A that were checked against Zeek 8.2.2), never
//! from the tracker's own output.

mod dsl;

mod export;
mod flows;
mod long;

mod orientation;
mod other_protos;
mod props;
mod seq_bytes;
mod service;
mod tcp_state;
mod timers;
