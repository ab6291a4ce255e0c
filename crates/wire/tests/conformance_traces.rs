//! Runs the link, IP, transport and tunnel decoders over every frame of
//! every conformance trace (`/work/shared/conformance/zeek/*/trace.pcap[ng]`)
//! and checks that nothing panics and that (nearly) everything decodes.
//!
//! The traces are read with a tiny pcap/pcapng walker written here, so the
//! crate keeps its single dependency. When the shared folder is absent
//! (another machine, CI without the data) the test prints a note and passes.
//! Set `CONNWATCH_CONFORMANCE_DIR` to point elsewhere.

use connwatch_wire::link::{self, LinkType, Network};
use connwatch_wire::transport::{icmp, tcp, udp};
use connwatch_wire::tunnel::{self, Inner};
use connwatch_wire::{checksum, ip, Anomaly};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One captured frame as the walker lends it out.
struct RawFrame<'a> {
    link: u32,
    data: &'a [u8],
    wire_len: u32,
}

fn u16_at(b: &[u8], off: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

fn u32_at(b: &[u8], off: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

/// Every frame of a classic pcap or a pcapng file (per-interface link
/// types; SHB resets the interface list; EPB, SPB and the obsolete PB).
fn frames(file: &[u8]) -> Vec<RawFrame<'_>> {
    let mut out = Vec::new();
    let Some(magic) = u32_at(file, 0, true) else {
        return out;
    };
    match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => {
            let le = matches!(magic, 0xa1b2_c3d4 | 0xa1b2_3c4d);
            let link = u32_at(file, 20, le).unwrap_or(1) & 0x03ff_ffff;
            let mut off = 24;
            while let (Some(incl), Some(orig)) =
                (u32_at(file, off + 8, le), u32_at(file, off + 12, le))
            {
                let start = off + 16;
                let Some(data) = file.get(start..start + incl as usize) else {
                    break;
                };
                out.push(RawFrame {
                    link,
                    data,
                    wire_len: orig,
                });
                off = start + incl as usize;
            }
        }
        0x0a0d_0d0a => {
            let mut off = 0;
            let mut le = true;
            let mut links: Vec<u32> = Vec::new();
            while let Some(bt) = u32_at(file, off, le) {
                if bt == 0x0a0d_0d0a {
                    // Byte-order magic decides the section's endianness.
                    le = u32_at(file, off + 8, true) == Some(0x1a2b_3c4d);
                    links.clear();
                }
                let Some(blen) = u32_at(file, off + 4, le) else {
                    break;
                };
                let blen = blen as usize;
                if blen < 12 || off + blen > file.len() {
                    break;
                }
                let body = &file[off + 8..off + blen - 4];
                match bt {
                    1 => links.push(u32::from(u16_at(body, 0, le).unwrap_or(1))),
                    6 | 2 => {
                        let (ifid, cap_off) = if bt == 6 {
                            (u32_at(body, 0, le).unwrap_or(0), 12)
                        } else {
                            (u32::from(u16_at(body, 0, le).unwrap_or(0)), 12)
                        };
                        let caplen = u32_at(body, cap_off, le).unwrap_or(0) as usize;
                        let orig = u32_at(body, cap_off + 4, le).unwrap_or(0);
                        if let Some(data) = body.get(cap_off + 8..cap_off + 8 + caplen) {
                            out.push(RawFrame {
                                link: links.get(ifid as usize).copied().unwrap_or(1),
                                data,
                                wire_len: orig,
                            });
                        }
                    }
                    3 => {
                        let orig = u32_at(body, 0, le).unwrap_or(0);
                        let cap = (orig as usize).min(body.len().saturating_sub(4));
                        if let Some(data) = body.get(4..4 + cap) {
                            out.push(RawFrame {
                                link: links.first().copied().unwrap_or(1),
                                data,
                                wire_len: orig,
                            });
                        }
                    }
                    _ => {}
                }
                off += blen;
            }
        }
        _ => {}
    }
    out
}

/// What happened to the frames of one trace (and to tunnelled packets).
#[derive(Default, Debug)]
struct Stats {
    frames: usize,
    non_ip: usize,
    link_err: BTreeMap<&'static str, usize>,
    ip_ok: usize,
    ip_err: BTreeMap<&'static str, usize>,
    transport_ok: usize,
    transport_err: BTreeMap<&'static str, usize>,
    fragments: usize,
    bad_ip_checksum: usize,
    bad_transport_checksum: usize,
    tunnel_ok: usize,
    tunnel_err: BTreeMap<&'static str, usize>,
    inner_transport_ok: usize,
}

fn bump(m: &mut BTreeMap<&'static str, usize>, a: Anomaly) {
    *m.entry(a.name()).or_default() += 1;
}

/// Link layer, then IP.
fn frame(st: &mut Stats, lt: LinkType, data: &[u8], wire_len: u32, depth: u8) {
    match link::decode(lt, data) {
        Err(a) => bump(&mut st.link_err, a),
        Ok(ll) => match ll.network {
            Network::Other(_) => st.non_ip += 1,
            Network::Ipv4 | Network::Ipv6 => {
                let rest = data.get(ll.offset..).unwrap_or(&[]);
                let wl = wire_len.saturating_sub(ll.offset as u32);
                ip_packet(st, rest, wl, depth);
            }
        },
    }
}

/// IP, transport, and tunnels inside (`depth` > 0 means "inside a tunnel").
fn ip_packet(st: &mut Stats, data: &[u8], wire_len: u32, depth: u8) {
    // The conformance runs use -C for several traces; decode in that mode
    // so TSO frames count, and look at the checksums separately.
    let opts = ip::DecodeOptions {
        ignore_checksums: true,
    };
    let p = match ip::decode_with(data, wire_len, opts) {
        Ok(p) => p,
        Err(a) => return bump(&mut st.ip_err, a),
    };
    st.ip_ok += 1;
    if !p.header_checksum_ok {
        st.bad_ip_checksum += 1;
    }
    if checksum::transport_ok(&p) == Some(false) {
        st.bad_transport_checksum += 1;
    }
    if let Some(f) = p.fragment {
        st.fragments += 1;
        if f.offset != 0 {
            return; // no transport header in a later fragment
        }
    }
    let len = p.payload_len();
    // Bytes of this packet that were on the wire but not captured; a tunnel
    // payload inherits them (Zeek's build_inner_packet keeps the inner wire
    // length consistent with the outer one).
    let missing = wire_len.saturating_sub(data.len() as u32);
    let ok = |st: &mut Stats| {
        if depth > 0 {
            st.inner_transport_ok += 1;
        } else {
            st.transport_ok += 1;
        }
    };
    match p.protocol {
        6 => match tcp::decode(p.payload, len) {
            Ok(t) => {
                assert!(t.payload.len() as u64 <= u64::from(t.payload_len));
                ok(st);
            }
            Err(a) => bump(&mut st.transport_err, a),
        },
        17 => match udp::decode(p.payload, len) {
            Ok(u) => {
                ok(st);
                if depth < 4 {
                    udp_tunnel(st, u.src_port, u.dst_port, u.payload, missing, depth);
                }
            }
            Err(a) => bump(&mut st.transport_err, a),
        },
        1 | 58 => match icmp::decode_with_len(p.payload, len, p.protocol == 58) {
            Ok(_) => ok(st),
            Err(a) => bump(&mut st.transport_err, a),
        },
        47 if depth < 4 => tunnel_result(st, tunnel::gre(p.payload), 0, depth),
        4 | 41 if depth < 4 => {
            let wl = p.payload.len() as u32;
            ip_packet(st, p.payload, wl, depth + 1);
        }
        _ => {}
    }
}

/// The UDP tunnels Zeek decodes by port (and Teredo by heuristic).
fn udp_tunnel(st: &mut Stats, sp: u16, dp: u16, payload: &[u8], missing: u32, depth: u8) {
    let port = |p: u16| sp == p || dp == p;
    if port(4789) {
        tunnel_result(st, tunnel::vxlan(payload), missing, depth);
    } else if port(6081) {
        tunnel_result(st, tunnel::geneve(payload), missing, depth);
    } else if port(2152) {
        tunnel_result(st, tunnel::gtpv1(payload), missing, depth);
    } else if port(5072) {
        tunnel_result(st, tunnel::ayiya(payload).map(|(_, i)| i), missing, depth);
    } else if port(4754) {
        tunnel_result(st, tunnel::gre(payload), missing, depth);
    } else if port(3544) || tunnel::teredo_detect(payload) {
        tunnel_result(st, tunnel::teredo(payload), missing, depth);
    }
}

fn tunnel_result(st: &mut Stats, r: Result<Inner<'_>, Anomaly>, missing: u32, depth: u8) {
    match r {
        Err(a) => bump(&mut st.tunnel_err, a),
        Ok(inner) => {
            st.tunnel_ok += 1;
            match inner {
                Inner::Ethernet(b) => frame(
                    st,
                    LinkType::ETHERNET,
                    b,
                    b.len() as u32 + missing,
                    depth + 1,
                ),
                Inner::Ipv4(b) | Inner::Ipv6(b) => {
                    ip_packet(st, b, b.len() as u32 + missing, depth + 1)
                }
            }
        }
    }
}

fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CONNWATCH_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/conformance/zeek"));
    dir.is_dir().then_some(dir)
}

fn trace_file(case: &Path) -> Option<PathBuf> {
    ["trace.pcap", "trace.pcapng"]
        .iter()
        .map(|n| case.join(n))
        .find(|p| p.is_file())
}

fn run_case(path: &Path) -> Stats {
    let bytes = std::fs::read(path).expect("read trace");
    let mut st = Stats::default();
    for f in frames(&bytes) {
        st.frames += 1;
        frame(&mut st, LinkType(f.link), f.data, f.wire_len, 0);
        // Whatever the frame is, the fuzz entry point must survive it.
        connwatch_wire::fuzz_all(f.data);
    }
    st
}

#[test]
fn parses_every_frame_of_every_conformance_trace() {
    let Some(dir) = conformance_dir() else {
        eprintln!("conformance traces not found; skipping");
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read conformance dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut all: BTreeMap<String, Stats> = BTreeMap::new();
    for case in &cases {
        let Some(trace) = trace_file(case) else {
            continue;
        };
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let st = run_case(&trace);
        eprintln!("{name:28} {st:?}");
        all.insert(name, st);
    }
    assert!(
        all.len() >= 25,
        "expected the conformance cases, found {}",
        all.len()
    );

    let (mut frames, mut decoded) = (0usize, 0usize);
    for (name, st) in &all {
        assert!(st.frames > 0, "{name}: no frames read");
        assert!(
            st.link_err.is_empty(),
            "{name}: link errors {:?}",
            st.link_err
        );
        frames += st.frames;
        decoded += st.non_ip + st.ip_ok;
        // Every IP packet's header decodes, except the deliberately
        // truncated frames of geneve-vxlan-truncated (inner levels).
        let ip_total = st.ip_ok + st.ip_err.values().sum::<usize>();
        assert!(
            st.ip_ok * 100 >= ip_total * 95,
            "{name}: only {}/{} IP packets decode: {:?}",
            st.ip_ok,
            ip_total,
            st.ip_err
        );
    }
    assert!(
        decoded * 100 >= frames * 99,
        "{decoded}/{frames} frames decode"
    );

    let get = |n: &str| all.get(n).unwrap_or_else(|| panic!("case {n} missing"));
    // Link layers of interest: every frame reaches a transport.
    for (case, n) in [
        ("dns-radiotap", 3),
        ("cisco-fabric-path", 64), // the rest is SCTP and unknown IP protocols
        ("q-in-q", 4),
        ("pbb-unknown-transport", 8),
    ] {
        let st = get(case);
        assert!(
            st.transport_ok >= n,
            "{case}: {} transports, want {n}: {st:?}",
            st.transport_ok
        );
    }
    // Tunnels: the inner packets decode.
    for (case, n) in [
        ("gre-tunnel", 40),
        ("erspan2-icmp", 4),
        ("vxlan-tunnel", 10),
        ("geneve-tunnel", 6),
        ("geneve-vxlan-truncated", 4),
        ("ayiya-tunnel", 32),
        ("teredo-tunnel", 4),
        ("gtp-outer-ip-fragments", 20),
    ] {
        let st = get(case);
        assert!(
            st.tunnel_ok >= n,
            "{case}: {} tunnel packets, want {n}: {st:?}",
            st.tunnel_ok
        );
        assert!(
            st.inner_transport_ok > 0,
            "{case}: no inner transport: {st:?}"
        );
    }
    // udp-bad-checksum really has bad checksums; the others mostly not.
    assert_eq!(get("udp-bad-checksum").bad_transport_checksum, 2);
}
