//! Deterministic pcap generator for tests and benchmarks (to be written).
