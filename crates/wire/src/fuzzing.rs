//! Runs every decoder on one input, for the fuzz target and corpus replay.
//!
//! Nothing here is used on the packet path. [`fuzz_all`] feeds the input to
//! each link type, then whatever each layer yields to the next (IP, the
//! transports, checksums, tunnels), so one fuzz case exercises the whole
//! crate, including the application recognisers (`app`) on each payload
//! and on the raw input. Results are passed through [`core::hint::black_box`] so the work
//! is not optimised away.

use crate::link::{LinkType, Network};
use crate::tunnel::{self, Inner};
use crate::{checksum, ip, link, transport};
use core::hint::black_box;

/// Link types worth trying (every one `link::decode` knows, plus an
/// unknown one that falls back to raw IP).
const LINK_TYPES: &[u32] = &[
    0, 1, 9, 12, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276, 65000,
];

/// Runs every decoder on `data`; must never panic.
pub fn fuzz_all(data: &[u8]) {
    let wire_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    for &lt in LINK_TYPES {
        if let Ok(ll) = black_box(link::decode(LinkType(lt), data)) {
            if matches!(ll.network, Network::Ipv4 | Network::Ipv6) {
                let rest = data.get(ll.offset..).unwrap_or(&[]);
                let wl = wire_len.saturating_sub(u32::try_from(ll.offset).unwrap_or(u32::MAX));
                ip_layer(rest, wl, 2);
            }
        }
    }
    // Every decoder straight on the input too, so the fuzzer can reach
    // deep states without building the layers above.
    ip_layer(data, wire_len, 2);
    transports(data, wire_len);
    tunnels(data, 2);
    // The service recognisers straight on the input as well.
    crate::app::fuzz_app(data);
}

/// IP, its transport and any tunnel inside, `depth` more levels down.
fn ip_layer(data: &[u8], wire_len: u32, depth: u8) {
    for ignore_checksums in [false, true] {
        let opts = ip::DecodeOptions { ignore_checksums };
        let Ok(p) = black_box(ip::decode_with(data, wire_len, opts)) else {
            continue;
        };
        black_box(checksum::transport_ok(&p));
        black_box(p.payload_complete());
        black_box(p.total_len_field_zero());
        let len = p.payload_len();
        match p.protocol {
            6 => {
                if let Ok(t) = black_box(transport::tcp::decode(p.payload, len)) {
                    crate::app::fuzz_app(t.payload);
                }
            }
            17 => {
                if let Ok(u) = black_box(transport::udp::decode(p.payload, len)) {
                    black_box(u.length_matches(len));
                    crate::app::fuzz_app(u.payload);
                    if depth > 0 {
                        tunnels(u.payload, depth - 1);
                    }
                }
            }
            1 | 58 => {
                let _ = black_box(transport::icmp::decode_with_len(
                    p.payload,
                    len,
                    p.protocol == 58,
                ));
            }
            4 | 41 if depth > 0 => ip_layer(p.payload, len, depth - 1),
            47 if depth > 0 => {
                if let Ok(inner) = black_box(tunnel::gre(p.payload)) {
                    inner_layer(inner, depth - 1);
                }
            }
            _ => {}
        }
    }
}

/// The transport decoders on raw bytes.
fn transports(data: &[u8], len: u32) {
    let _ = black_box(transport::tcp::decode(data, len));
    let _ = black_box(transport::udp::decode(data, len));
    let _ = black_box(transport::icmp::decode(data, false));
    let _ = black_box(transport::icmp::decode_with_len(data, len, true));
}

/// Every UDP/IP tunnel decoder on `payload`.
fn tunnels(payload: &[u8], depth: u8) {
    black_box(tunnel::teredo_detect(payload));
    black_box(tunnel::ayiya_detect(payload));
    let results = [
        tunnel::gre(payload),
        tunnel::vxlan(payload),
        tunnel::geneve(payload),
        tunnel::teredo(payload),
        tunnel::gtpv1(payload),
        tunnel::ayiya(payload).map(|(_, i)| i),
    ];
    for r in results {
        if let Ok(inner) = black_box(r) {
            inner_layer(inner, depth);
        }
    }
}

/// Whatever a tunnel carried.
fn inner_layer(inner: Inner<'_>, depth: u8) {
    let bytes = inner.bytes();
    let wire_len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    match inner {
        Inner::Ethernet(b) => {
            if let Ok(ll) = black_box(link::decode(LinkType::ETHERNET, b)) {
                if depth > 0 && ll.is_ip() {
                    let rest = b.get(ll.offset..).unwrap_or(&[]);
                    let wl = u32::try_from(rest.len()).unwrap_or(u32::MAX);
                    ip_layer(rest, wl, depth - 1);
                }
            }
        }
        Inner::Ipv4(b) | Inner::Ipv6(b) => {
            if depth > 0 {
                ip_layer(b, wire_len, depth - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_prefix_of_a_frame_without_panicking() {
        // Ethernet/IPv4/UDP to the VXLAN port carrying Ethernet/IPv4/ICMP.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 64, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
            0x30, 0x39, 0x12, 0xb5, 0, 44, 0, 0, // UDP -> 4789
            0x08, 0, 0, 0, 0, 0, 1, 0, // VXLAN
        ]);
        f.extend_from_slice(&[0u8; 12]);
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28]);
        f.extend_from_slice(&[0u8; 30]);
        for n in 0..=f.len() {
            fuzz_all(&f[..n]);
        }
    }

    #[test]
    fn rejects_nothing_on_pseudo_random_input() {
        // xorshift: deterministic pseudo-random buffers of many sizes.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000 {
            let len = (round * 7) % 200;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            fuzz_all(&buf);
        }
    }
}
