//! Sends a generated stream of IPFIX datagrams to a collector over UDP at
//! a fixed record rate: the load generator of `scripts/flow-bench.sh`.
//!
//! ```text
//! ipfix_sender --to 127.0.0.1:4739 --records 2000000 --rate 250000 [--biflow] [--mtu 1464]
//! ```
//!
//! The stream is what a router exports for a realistic mix: connections
//! of 2 directions (TCP 50 %, UDP 40 %, ICMP 10 %; a third IPv6), each
//! direction one unidirectional record (or one biflow record per
//! connection with `--biflow`), ending idle or at a FIN/RST; one connection
//! in 20 is long and reported by active-timeout records first. Record
//! times advance with the stream (at `--rate`), so the collector's network
//! time moves and its connections end as they would live. All datagrams
//! are encoded before the clock starts; then they are paced in bursts of
//! 1 ms. Prints the records and datagrams sent and the achieved rate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::time::{Duration as StdDuration, Instant};

use connwatch_wire::netflow::{EndReason, FlowEncoder, FlowRecord, FlowSide, Version};
use connwatch_wire::{Duration, Timestamp};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let to = arg(&args, "--to").unwrap_or_else(|| "127.0.0.1:4739".into());
    let records: u64 = arg(&args, "--records").map_or(2_000_000, |v| v.parse().expect("--records"));
    let rate: u64 = arg(&args, "--rate").map_or(250_000, |v| v.parse().expect("--rate"));
    let mtu: usize = arg(&args, "--mtu").map_or(1464, |v| v.parse().expect("--mtu"));
    let biflow = args.iter().any(|a| a == "--biflow");

    // 1. Encode the whole stream.
    let mut enc = FlowEncoder::new(Version::Ipfix, biflow, mtu, 1, Duration::from_secs(60));
    let mut datagrams: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t0 = 1_700_000_000_000_000_000i64;
    let step = 1_000_000_000 / rate.max(1) as i64;
    let mut sent_records = 0u64;
    let mut i = 0u64;
    while sent_records < records {
        let r = next();
        let v6 = r % 3 == 0;
        let protocol = match r % 10 {
            0 => {
                if v6 {
                    58
                } else {
                    1
                }
            }
            1..=4 => 17,
            _ => 6,
        };
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                Ipv6Addr::from(
                    0x2001_0db8_0000_0000_0000_0000_0000_0000u128
                        | u128::from(next() & 0xffff_ffff),
                )
                .into(),
                Ipv6Addr::from(
                    0x2001_0db8_ffff_0000_0000_0000_0000_0000u128 | u128::from(next() & 0xffff),
                )
                .into(),
            )
        } else {
            (
                Ipv4Addr::from(0x0a00_0000 | (next() as u32 & 0x00ff_ffff)).into(),
                Ipv4Addr::from(0xc633_6400 | (next() as u32 & 0xff)).into(),
            )
        };
        let icmp = matches!(protocol, 1 | 58);
        let now = Timestamp(t0 + (sent_records as i64) * step);
        let start = Timestamp(now.0 - 2_000_000_000);
        let flags = if protocol == 6 { 0x1b } else { 0 };
        let side = |pk: u64, tc: u16| FlowSide {
            packets: pk,
            octets: pk * 90,
            start,
            end: Timestamp(now.0 - 1_000_000_000),
            tcp_flags: flags,
            tos: 0,
            icmp_type_code: tc,
        };
        let long = i.is_multiple_of(20);
        let rec = FlowRecord {
            src,
            dst,
            src_port: if icmp {
                0
            } else {
                1024 + (next() % 60000) as u16
            },
            dst_port: if icmp {
                0x0800
            } else {
                [80, 443, 53, 123, 22][(r >> 8) as usize % 5]
            },
            protocol,
            vlan: None,
            flow_id: i,
            reason: if long {
                EndReason::Active
            } else if protocol == 6 {
                EndReason::EndOfFlow
            } else {
                EndReason::Idle
            },
            forward: side(1 + next() % 20, if icmp { 0x0800 } else { 0 }),
            reverse: Some(side(1 + next() % 20, 0)),
        };
        let mut emit = |d: &[u8]| datagrams.push((sent_records, d.to_vec()));
        if biflow {
            enc.push(&rec, now, &mut emit);
            sent_records += 1;
        } else {
            enc.push_direction(&rec, false, now, &mut emit);
            enc.push_direction(&rec, true, now, &mut emit);
            sent_records += 2;
        }
        i += 1;
    }
    let end = Timestamp(t0 + (sent_records as i64) * step);
    enc.flush(end, &mut |d: &[u8]| {
        datagrams.push((sent_records, d.to_vec()))
    });

    // 2. Send, paced: datagram k leaves when its first record is due.
    let sock = UdpSocket::bind("0.0.0.0:0").expect("bind");
    sock.connect(&to).expect("connect");
    let per_record = StdDuration::from_nanos(1_000_000_000 / rate.max(1));
    let started = Instant::now();
    for (first, d) in &datagrams {
        let due = per_record * (*first as u32);
        let now = started.elapsed();
        if due > now + StdDuration::from_millis(1) {
            std::thread::sleep(due - now);
        }
        if let Err(e) = sock.send(d) {
            eprintln!("ipfix_sender: send: {e}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ipfix_sender: {} records in {} datagrams in {:.2} s ({:.0} records/s)",
        enc.stats().records,
        datagrams.len(),
        secs,
        enc.stats().records as f64 / secs
    );
}
