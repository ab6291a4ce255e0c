use connwatch_wire::link::{self, LinkType};
use connwatch_wire::transport::tcp;
use connwatch_wire::{checksum, ip};
use std::hint::black_box;
fn load() -> Vec<(Vec<u8>, u32)> {
    let f = std::fs::read("/work/shared/conformance/zeek/ftp-long-control/trace.pcap").unwrap();
    let mut frames = vec![];
    let mut off = 24;
    while off + 16 <= f.len() {
        let incl = u32::from_le_bytes(f[off+8..off+12].try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(f[off+12..off+16].try_into().unwrap());
        frames.push((f[off+16..off+16+incl].to_vec(), orig));
        off += 16 + incl;
    }
    frames
}
fn time<F: FnMut(&[u8], u32)>(name: &str, frames: &[(Vec<u8>, u32)], mut f: F) {
    let mut best = f64::MAX;
    for _ in 0..9 {
        let mut n = 0u64;
        let t = std::time::Instant::now();
        for _ in 0..30 { for (d, w) in frames { f(black_box(d), *w); n += 1; } }
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    eprintln!("{name}: {:.1} ns/pkt", best);
}
#[test]
fn perf() {
    let fr = load();
    time("nothing", &fr, |d, _| { black_box(d.len()); });
    time("link", &fr, |d, _| { let _ = black_box(link::decode(LinkType::ETHERNET, d)); });
    time("ip", &fr, |d, w| { let _ = black_box(ip::decode(&d[14..], w - 14)); });
    time("tcp", &fr, |d, w| { let _ = black_box(tcp::decode(&d[34..], w - 34)); });
    time("all", &fr, |d, w| {
        let ll = link::decode(LinkType::ETHERNET, d).unwrap();
        let p = ip::decode(&d[ll.offset..], w - ll.offset as u32).unwrap();
        let _ = black_box(tcp::decode(p.payload, p.payload_len()));
    });
    let ips: Vec<_> = fr.iter().map(|(d, w)| ip::decode(&d[14..], w - 14).unwrap()).collect();
    time("l4sum-only", &fr, |_, _| {});
    let t = std::time::Instant::now();
    let mut ok = 0;
    for _ in 0..30 { for p in &ips { ok += (checksum::transport_ok(black_box(p)) == Some(true)) as u32; } }
    eprintln!("l4sum: {:.1} ns/pkt ({ok})", t.elapsed().as_nanos() as f64 / (30 * ips.len()) as f64);
    let t = std::time::Instant::now();
    for _ in 0..30 { for p in &ips { ok += checksum::sum(black_box(p.payload)) as u32; } }
    eprintln!("paysum: {:.1} ns/pkt ({ok})", t.elapsed().as_nanos() as f64 / (30 * ips.len()) as f64);
    let big: Vec<u8> = (0..1460u32).map(|i| i as u8).collect();
    let t = std::time::Instant::now();
    for _ in 0..100000 { ok += checksum::sum(black_box(&big)) as u32; }
    eprintln!("sum1460: {:.1} ns ({ok})", t.elapsed().as_nanos() as f64 / 100000.0);
}
