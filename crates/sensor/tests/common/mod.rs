//! Helpers shared by the integration tests that run connwatch as a
//! process.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::path::PathBuf;

/// A fresh, empty directory under the system's temp dir, named for this
/// test process and `tag`.
pub fn temp_dir(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connwatch-{prefix}-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A UDP port on 127.0.0.1 nobody listens on (free when asked).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
