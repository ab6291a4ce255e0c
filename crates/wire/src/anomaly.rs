//! Anomalies: Zeek weird names.
/// An anomaly in the input (to be filled in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly { /// Placeholder.
 TruncatedHeader }
