//! Transport headers: TCP, UDP, ICMPv4/ICMPv6.

pub mod icmp;
pub mod tcp;
pub mod udp;
