//! UDP, ICMP and other IP protocols: zero durations (Appendix A row 1), UDP
//! `conn_state` (row 16), per-packet accounting (row 24), ICMP pseudo-ports
//! (row 20) and `unknown_transport` rows (row 21).

use connwatch_tracegen::Packet;

use super::dsl::*;

// ---------------------------------------------------------- zero duration

#[test]
fn one_udp_packet_has_no_duration() {
    let s = scenario();
    s.udp(CLIENT, SERVER).send(Orig, 0, 45);
    let rows = run(&s);
    assert_rows(
        &rows,
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=- bytes=45/0 pkts=1/0 ip=73/0 missed=0 local=T/T"],
    );
    assert_eq!(rows[0].ip_proto, 17);
}

#[test]
fn udp_request_reply_at_identical_times_has_no_duration() {
    let s = scenario();
    s.udp(CLIENT, SERVER)
        .send(Orig, ms(5), 10)
        .send(Resp, ms(5), 20);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp SF Dd dur=- bytes=10/20 pkts=1/1 ip=38/48 missed=0 local=T/T"],
    );
}

#[test]
fn timestamps_going_backwards_keep_first_ts_and_no_duration() {
    let s = scenario();
    s.udp(CLIENT, SERVER)
        .send(Orig, ms(10), 10)
        .send(Orig, ms(5), 10);
    // Feed in the order added, not sorted: the second packet is older.
    let mut packets: Vec<Packet> = s.packets();
    packets.reverse();
    assert!(packets[0].ts > packets[1].ts);
    let rows = run_packets(cfg(), &packets);
    assert_rows(
        &rows,
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=- bytes=20/0 pkts=2/0 ip=76/0 missed=0 local=T/T"],
    );
    assert_eq!(rows[0].ts.0, packets[0].ts, "ts is the first packet's");
}

// --------------------------------------------------------- UDP conn_state

#[test]
fn udp_states() {
    // Row 16: one-way S0 (above), both ways SF, lone packet from 53 `^d` SHR.
    let s = scenario();
    s.udp(CLIENT, SERVER).request_reply(0, 10, 20);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp SF Dd dur=0.002000 bytes=10/20 pkts=1/1 ip=38/48 missed=0 local=T/T"],
    );

    let s = scenario();
    udp(&s, 0, "10.0.0.2:53", CLIENT, &[0; 20]);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:53 udp SHR ^d dur=- bytes=0/20 pkts=0/1 ip=0/48 missed=0 local=T/T"],
    );
}

#[test]
fn udp_with_only_bad_checksums_is_oth_without_packets() {
    // Row 16, and the conformance case udp-bad-checksum (`Cc`).
    let s = scenario();
    s.udp(CLIENT, SERVER).request_reply(0, 10, 20);
    let packets = with_bad_checksum(&s, &[0, ms(2)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp OTH Cc dur=- bytes=0/0 pkts=0/0 ip=0/0 missed=0 local=T/T"],
    );
}

#[test]
fn udp_reply_with_bad_checksum_is_c_and_not_counted() {
    // Row 24: `Dc`, the reply is not counted.
    let s = scenario();
    s.udp(CLIENT, SERVER).request_reply(0, 10, 20);
    let packets = with_bad_checksum(&s, &[ms(2)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp S0 Dc dur=- bytes=10/0 pkts=1/0 ip=38/0 missed=0 local=T/T"],
    );
}

#[test]
fn udp_bytes_come_from_the_length_field() {
    // Row 24: UDP header length 48 on a 100-byte payload counts 40.
    let s = scenario();
    s.udp(CLIENT, SERVER).send(Orig, 0, 100);
    let mut packets = s.packets();
    let frame = &mut packets[0].data;
    let udp_len_at = 14 + 20 + 4;
    assert_eq!(
        u16::from_be_bytes([frame[udp_len_at], frame[udp_len_at + 1]]),
        108
    );
    frame[udp_len_at..udp_len_at + 2].copy_from_slice(&48u16.to_be_bytes());
    assert_rows(
        &run_packets(cfg_c(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=- bytes=40/0 pkts=1/0 ip=128/0 missed=0 local=T/T"],
    );
}

// ------------------------------------------------------------------- ICMP

#[test]
fn icmp_echo_ident_is_not_part_of_the_key() {
    // Row 20: two echo requests with different identifiers plus a reply:
    // one row 8/0, 112 payload bytes from orig, OTH, no history.
    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 1).request(0, 1, 56);
    s.ping("10.0.0.1", "10.0.0.2", 2).request(ms(1), 1, 56);
    s.ping("10.0.0.1", "10.0.0.2", 1).reply(ms(2), 1, 56);
    let rows = run(&s);
    assert_rows(
        &rows,
        &["10.0.0.1:8 > 10.0.0.2:0 icmp OTH - dur=0.002000 bytes=112/56 pkts=2/1 ip=168/84 missed=0 local=T/T"],
    );
    assert_eq!(rows[0].ip_proto, 1);
}

#[test]
fn icmp_echo_reply_first_gives_0_8() {
    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 1).reply(0, 1, 56);
    expect(
        &s,
        &["10.0.0.2:0 > 10.0.0.1:8 icmp OTH - dur=- bytes=56/0 pkts=1/0 ip=84/0 missed=0 local=T/T"],
    );
}

#[test]
fn icmp_unreachable_uses_type_and_code() {
    // Row 20: port unreachable `3`/`3`; in both directions: two rows.
    let quoted = [0x45u8; 28];
    let s = scenario();
    icmp4(&s, 0, "10.0.0.2", "10.0.0.1", 3, 3, &quoted);
    icmp4(&s, ms(1), "10.0.0.1", "10.0.0.2", 3, 3, &quoted);
    expect(
        &s,
        &[
            "10.0.0.2:3 > 10.0.0.1:3 icmp OTH - dur=- bytes=28/0 pkts=1/0 ip=56/0 missed=0 local=T/T",
            "10.0.0.1:3 > 10.0.0.2:3 icmp OTH - dur=- bytes=28/0 pkts=1/0 ip=56/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn icmp_echo_requests_in_both_directions_are_two_rows() {
    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 1).request(0, 1, 56);
    s.ping("10.0.0.2", "10.0.0.1", 1).request(ms(1), 1, 56);
    expect(
        &s,
        &[
            "10.0.0.1:8 > 10.0.0.2:0 icmp OTH - dur=- bytes=56/0 pkts=1/0 ip=84/0 missed=0 local=T/T",
            "10.0.0.2:8 > 10.0.0.1:0 icmp OTH - dur=- bytes=56/0 pkts=1/0 ip=84/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn icmp_with_bad_checksum_is_not_counted() {
    // §3.4: ICMP packets count only with a good checksum.
    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 1).echo(0, 1, 56);
    let packets = with_bad_checksum(&s, &[ms(2)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:8 > 10.0.0.2:0 icmp OTH - dur=- bytes=56/0 pkts=1/0 ip=84/0 missed=0 local=T/T"],
    );
}

// ------------------------------------------------------ unknown protocols

#[test]
fn unknown_ip_protocol_row() {
    // Row 21: IP protocol 99, two packets out and one back: ports 0/0,
    // bytes 0/0 with duration 0.02, OTH, no history, ip_proto 99.
    let s = scenario();
    let body = [7u8; 10];
    ip_raw(&s, 0, "10.0.0.1", "10.0.0.2", 99, &body);
    ip_raw(&s, ms(10), "10.0.0.1", "10.0.0.2", 99, &body);
    ip_raw(&s, ms(20), "10.0.0.2", "10.0.0.1", 99, &body);
    let rows = run(&s);
    assert_rows(
        &rows,
        &["10.0.0.1:0 > 10.0.0.2:0 unknown_transport OTH - dur=0.020000 bytes=0/0 pkts=2/1 ip=60/30 missed=0 local=T/T"],
    );
    assert_eq!(rows[0].ip_proto, 99);
}
