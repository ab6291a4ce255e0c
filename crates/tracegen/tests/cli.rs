//! The `connwatch-tracegen` binary: each subcommand writes a readable pcap
//! (to stdout here), same arguments give the same bytes, bad arguments fail.

mod common;

use std::process::Command;

use common::read_pcap_bytes;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_connwatch-tracegen"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn subcommands_write_pcaps() {
    let bulk = run(&["bulk", "--out", "-", "--connections", "2000", "--seed", "9"]);
    assert!(
        bulk.status.success(),
        "{}",
        String::from_utf8_lossy(&bulk.stderr)
    );
    let (_, recs) = read_pcap_bytes(&bulk.stdout);
    assert!(recs.len() > 2000);
    assert!(String::from_utf8_lossy(&bulk.stderr).contains("2000 connections"));
    let again = run(&["bulk", "--out", "-", "--connections=2000", "--seed=9"]);
    assert_eq!(bulk.stdout, again.stdout);

    let scan = run(&[
        "scan",
        "--out",
        "-",
        "--flows",
        "500",
        "--nanos",
        "--snaplen",
        "40",
    ]);
    assert!(scan.status.success());
    let (_, recs) = read_pcap_bytes(&scan.stdout);
    assert_eq!(recs.len(), 500);
    assert!(recs
        .iter()
        .all(|r| r.data.len() <= 40 && r.orig_len as usize >= r.data.len()));

    let long = run(&[
        "long",
        "--out",
        "-",
        "--duration",
        "10m",
        "--interval",
        "30s",
        "--background-flows",
        "100",
    ]);
    assert!(long.status.success());
    let (_, recs) = read_pcap_bytes(&long.stdout);
    assert_eq!(recs.len(), 3 + 19 * 3 + 3 + 100);
}

#[test]
fn bad_arguments_fail_with_usage() {
    for args in [
        &["bulk"][..],
        &["bulk", "--out", "-", "--connections", "many"],
        &["bulk", "--out", "-", "--bogus", "1"],
        &["bulk", "--out", "-", "--mix", "1,2"],
        &["scan", "--out", "-"],
        &["long", "--out", "-", "--duration", "1h"],
        &["long", "--out", "-", "--duration", "1h", "--interval", "0s"],
        &["frobnicate"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage:"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage:"));
}
