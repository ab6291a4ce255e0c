//! Who is the originator: the SYN-ACK-first flip (§5.2, Appendix A row 8),
//! the creation-time port heuristic (§6.1, row 17), the SYN/SYN-ACK
//! reversal (§6.2) and `local_orig`/`local_resp` (§2.1, §9.5, row 22).

use crate::LocalNets;

use super::dsl::*;

/// Runs one scenario built by `build` and returns its oriented rows.
fn orient(build: impl FnOnce(&connwatch_tracegen::Scenario)) -> Vec<String> {
    let s = scenario();
    build(&s);
    oriented(&run(&s))
}

const ZEROS: [u8; 20] = [0; 20];

// ------------------------------------------------------- SYN-ACK-first flip

#[test]
fn syn_ack_first_then_ack_flips_to_caret_h() {
    // Row 8: SYN-ACK between unlisted ports, ACK, data both ways, FINs.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .syn_ack(0)
        .ack(Orig, ms(1))
        .send_orig(ms(10), 100)
        .send_resp(ms(20), 100)
        .close_fin(ms(30));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ^hADadFf dur=0.031000 bytes=100/100 pkts=5/4 ip=300/264 missed=0 local=T/T"],
    );
}

#[test]
fn syn_ack_first_then_rst_does_not_flip() {
    // Row 8: SYN-ACK then RST: `Hr`, REJ; the SYN-ACK sender stays orig.
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn_ack(0).rst(Orig, ms(1));
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("Hr".to_string(), "REJ")]);
    assert_eq!(oriented(&rows), ["10.0.0.2:5000 > 10.0.0.1:40000 tcp Hr"]);
}

#[test]
fn syn_ack_first_with_data_from_orig_side_flips() {
    // A `D` as the next event flips as an `A` does (§5.2).
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn_ack(0).data(Orig, ms(1), 10);
    assert_eq!(
        oriented(&run(&s)),
        ["10.0.0.1:40000 > 10.0.0.2:5000 tcp ^hD"]
    );
}

#[test]
fn syn_syn_ack_reversal() {
    // §6.2: orig sent a SYN-ACK, resp answers with a SYN (no ACK) carrying
    // the ISN orig acknowledged: flip and establish; `Hs^A` (row 22).
    let s = scenario();
    seg(&s, 0, CLIENT, SERVER, SYN | ACK, 1000, 5001, 0);
    seg(&s, ms(1), SERVER, CLIENT, SYN, 5000, 0, 0);
    seg(&s, ms(2), SERVER, CLIENT, ACK, 5001, 1001, 0);
    let rows = run(&s);
    assert_eq!(oriented(&rows), ["10.0.0.2:5000 > 10.0.0.1:40000 tcp Hs^A"]);
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (2, 1));
}

// ------------------------------------------------- creation-time heuristic

#[test]
fn tcp_non_syn_from_server_port_is_flipped() {
    // Row 17: data, SYN-ACK or RST from 80 to a high port are flipped.
    let srv = "10.0.0.2:80";
    assert_eq!(
        orient(|s| seg(s, 0, srv, CLIENT, ACK | PSH, 1000, 2000, 10)),
        ["10.0.0.1:40000 > 10.0.0.2:80 tcp ^d"]
    );
    assert_eq!(
        orient(|s| seg(s, 0, srv, CLIENT, SYN | ACK, 1000, 2000, 0)),
        ["10.0.0.1:40000 > 10.0.0.2:80 tcp ^h"]
    );
    assert_eq!(
        orient(|s| seg(s, 0, srv, CLIENT, RST | ACK, 1000, 2000, 0)),
        ["10.0.0.1:40000 > 10.0.0.2:80 tcp ^r"]
    );
}

#[test]
fn tcp_syn_from_server_port_is_not_flipped() {
    assert_eq!(
        orient(|s| seg(s, 0, "10.0.0.2:80", CLIENT, SYN, 1000, 0, 0)),
        ["10.0.0.2:80 > 10.0.0.1:40000 tcp S"]
    );
}

#[test]
fn tcp_both_server_ports_lower_source_port_is_flipped() {
    // Row 17: data 80→443 flipped, 443→80 not.
    assert_eq!(
        orient(|s| seg(s, 0, "10.0.0.2:80", "10.0.0.1:443", ACK | PSH, 1, 1, 10)),
        ["10.0.0.1:443 > 10.0.0.2:80 tcp ^d"]
    );
    assert_eq!(
        orient(|s| seg(s, 0, "10.0.0.1:443", "10.0.0.2:80", ACK | PSH, 1, 1, 10)),
        ["10.0.0.1:443 > 10.0.0.2:80 tcp D"]
    );
    // Both server ports but the packet has a SYN (SYN-ACK): not flipped.
    assert_eq!(
        orient(|s| seg(s, 0, "10.0.0.2:80", "10.0.0.1:443", SYN | ACK, 1, 1, 0)),
        ["10.0.0.2:80 > 10.0.0.1:443 tcp H"]
    );
}

#[test]
fn tcp_514_is_not_a_server_port() {
    // Row 19: Zeek 8.2.2 has no 514/tcp.
    assert_eq!(
        orient(|s| seg(s, 0, "10.0.0.2:514", CLIENT, ACK | PSH, 1, 1, 10)),
        ["10.0.0.2:514 > 10.0.0.1:40000 tcp D"]
    );
}

#[test]
fn udp_port_heuristic() {
    // Row 17: 53→high flipped; 53→123 and 123→53 not (both server ports).
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:53", CLIENT, &ZEROS)),
        ["10.0.0.1:40000 > 10.0.0.2:53 udp ^d"]
    );
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:53", "10.0.0.1:123", &ZEROS)),
        ["10.0.0.2:53 > 10.0.0.1:123 udp D"]
    );
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:123", "10.0.0.1:53", &ZEROS)),
        ["10.0.0.2:123 > 10.0.0.1:53 udp D"]
    );
    // 5353→5353: same port on both sides, never flipped by ports.
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:5353", "224.0.0.251:5353", &ZEROS)),
        ["10.0.0.2:5353 > 224.0.0.251:5353 udp D"]
    );
}

#[test]
fn udp_no_flip_toward_limited_broadcast_only() {
    // Row 17: 53→255.255.255.255 not flipped, 53→subnet broadcast flipped.
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:53", "255.255.255.255:40000", &ZEROS)),
        ["10.0.0.2:53 > 255.255.255.255:40000 udp D"]
    );
    assert_eq!(
        orient(|s| udp(s, 0, "10.0.0.2:53", "10.0.0.255:40000", &ZEROS)),
        ["10.0.0.255:40000 > 10.0.0.2:53 udp ^d"]
    );
}

// ------------------------------------------------------ local_orig/resp

#[test]
fn local_flags_default_private_space() {
    // Row 22: private T T, public F F, multicast 224.0.0/24 and 239/8 local.
    let s = scenario();
    udp(&s, 0, CLIENT, SERVER, &ZEROS);
    udp(&s, ms(1), "8.8.4.4:40000", "1.1.1.1:5000", &ZEROS);
    udp(&s, ms(2), "8.8.4.4:40000", "224.0.0.251:5000", &ZEROS);
    udp(&s, ms(3), "8.8.4.4:40000", "239.1.2.3:5000", &ZEROS);
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=- bytes=20/0 pkts=1/0 ip=48/0 missed=0 local=T/T",
            "8.8.4.4:40000 > 1.1.1.1:5000 udp S0 D dur=- bytes=20/0 pkts=1/0 ip=48/0 missed=0 local=F/F",
            "8.8.4.4:40000 > 224.0.0.251:5000 udp S0 D dur=- bytes=20/0 pkts=1/0 ip=48/0 missed=0 local=F/T",
            "8.8.4.4:40000 > 239.1.2.3:5000 udp S0 D dur=- bytes=20/0 pkts=1/0 ip=48/0 missed=0 local=F/T",
        ],
    );
}

#[test]
fn local_flags_unset_without_local_nets_except_late_flips() {
    // Row 22 (corrected): with no local nets rows show -/-, except rows
    // flipped after creation (SYN-ACK-first, SYN/SYN-ACK reversal): F/F.
    // A flip decided at creation (port heuristic) leaves them unset.
    let cfg = crate::TrackerConfig {
        local_nets: LocalNets::empty(),
        ..cfg()
    };
    let s = scenario();
    udp(&s, 0, CLIENT, SERVER, &ZEROS);
    udp(&s, ms(1), "10.0.0.3:53", "10.0.0.4:40000", &ZEROS);
    s.tcp("10.0.0.5:40000", "10.0.0.6:5000")
        .syn_ack(ms(2))
        .ack(Orig, ms(3));
    seg(
        &s,
        ms(4),
        "10.0.0.7:40000",
        "10.0.0.8:5000",
        SYN | ACK,
        1000,
        5001,
        0,
    );
    seg(
        &s,
        ms(5),
        "10.0.0.8:5000",
        "10.0.0.7:40000",
        SYN,
        5000,
        0,
        0,
    );
    seg(
        &s,
        ms(6),
        "10.0.0.8:5000",
        "10.0.0.7:40000",
        ACK,
        5001,
        1001,
        0,
    );
    s.tcp("10.0.0.9:40000", "10.0.0.10:5000")
        .handshake(ms(7))
        .close_fin(ms(10));
    let rows = run_packets(cfg, &s.packets());
    let got: Vec<(String, Option<bool>, Option<bool>)> = rows
        .iter()
        .map(|r| (r.history.as_str().to_string(), r.local_orig, r.local_resp))
        .collect();
    assert_eq!(
        got,
        [
            ("D".to_string(), None, None),
            ("^d".to_string(), None, None),
            ("^hA".to_string(), Some(false), Some(false)),
            ("Hs^A".to_string(), Some(false), Some(false)),
            ("ShAFf".to_string(), None, None),
        ]
    );
}

// ------------------------------------------------------ parser-driven flips

/// A DNS message asking for `a.example` A IN; `response` sets QR (and RA).
fn dns(response: bool) -> Vec<u8> {
    let flags: [u8; 2] = if response { [0x81, 0x80] } else { [0x01, 0x00] };
    let mut m = vec![0x12, 0x34, flags[0], flags[1], 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x01a\x07example\x00\x00\x01\x00\x01");
    m
}

/// An NTP v4 packet of the given mode (3 client, 4 server).
fn ntp(mode: u8) -> Vec<u8> {
    let mut m = vec![0u8; 48];
    m[0] = (4 << 3) | mode;
    m
}

#[test]
fn lone_dns_response_to_port_53_is_flipped_by_the_parser() {
    // Row 23 (corrected): `D^`, S0, the flipping packet counted on the
    // originator side of the new orientation (the port-53 host).
    let s = scenario();
    udp(&s, 0, CLIENT, "10.0.0.2:53", &dns(true));
    let rows = run(&s);
    assert_eq!(oriented(&rows), ["10.0.0.2:53 > 10.0.0.1:40000 udp D^"]);
    assert_eq!(hist_states(&rows)[0].1, "S0");
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (1, 0));
}

#[test]
fn dns_response_query_response_counts_later_packets_on_their_sides() {
    // Row 23: response, query, response on one 4-tuple: `D^d`, SF,
    // orig 2 packets / resp 1.
    let s = scenario();
    udp(&s, 0, CLIENT, "10.0.0.2:53", &dns(true));
    udp(&s, ms(1), CLIENT, "10.0.0.2:53", &dns(false));
    udp(&s, ms(2), "10.0.0.2:53", CLIENT, &dns(true));
    let rows = run(&s);
    assert_eq!(oriented(&rows), ["10.0.0.2:53 > 10.0.0.1:40000 udp D^d"]);
    assert_eq!(hist_states(&rows)[0].1, "SF");
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (2, 1));
}

#[test]
fn lone_ntp_server_mode_packet_to_123_is_flipped() {
    // Row 23: `D^`, orig_pkts 1 on the port-123 side.
    let s = scenario();
    udp(&s, 0, CLIENT, "10.0.0.2:123", &ntp(4));
    let rows = run(&s);
    assert_eq!(oriented(&rows), ["10.0.0.2:123 > 10.0.0.1:40000 udp D^"]);
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (1, 0));
    // A client-mode packet to 123 is not flipped.
    let s = scenario();
    udp(&s, 0, CLIENT, "10.0.0.2:123", &ntp(3));
    assert_eq!(oriented(&run(&s)), ["10.0.0.1:40000 > 10.0.0.2:123 udp D"]);
}

#[test]
fn dns_response_over_tcp_from_the_client_flips_after_the_handshake() {
    // Row 23: handshake from the client, then a DNS response from the
    // client: `ShAD^`; the counters follow the hosts.
    let s = scenario();
    let mut msg = (dns(true).len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(&dns(true));
    s.tcp(CLIENT, "10.0.0.2:53")
        .handshake(0)
        .data_bytes(Orig, ms(10), &msg);
    let rows = run(&s);
    assert_eq!(oriented(&rows), ["10.0.0.2:53 > 10.0.0.1:40000 tcp ShAD^"]);
    // The client sent SYN, ACK and the response; the server its SYN-ACK.
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (1, 3));
    assert_eq!(
        (rows[0].orig_bytes, rows[0].resp_bytes),
        (0, msg.len() as u64)
    );
}
