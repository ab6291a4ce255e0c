//! TCP `conn_state` (spec §4.2, Appendix A row 15), history letters (§5.1,
//! rows 6, 7, 9, 11), gaps and `missed_bytes` (§3.3, rows 4, 5) and bad
//! checksums (§3.5, row 24).
//!
//! IP sizes used below: tracegen's SYN and SYN-ACK carry 4 option bytes
//! (44 bytes of IP), other segments are 40 bytes plus payload; [`seg`]
//! segments never carry options. `handshake(t)` is SYN at t, SYN-ACK at
//! t+1 ms, ACK at t+2 ms; `send_*(t, n)` is data at t and the peer's ACK at
//! t+1 ms; `close_fin(t)` is FIN at t, the peer's FIN at t+1 ms, the last
//! ACK at t+2 ms.

use super::dsl::*;

// ---------------------------------------------------------------- §4.2 rows

#[test]
fn sf_full_conversation() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .send_orig(ms(10), 100)
        .send_resp(ms(20), 200)
        .close_fin(ms(30));
    // The final ACK (32 ms) comes after both FINs: counted, not in duration.
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADadFf dur=0.031000 bytes=100/200 pkts=6/4 ip=344/364 missed=0 local=T/T"],
    );
}

#[test]
fn s0_lone_syn() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn(0);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T"],
    );
}

#[test]
fn s1_syn_and_syn_ack() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn(0).syn_ack(ms(1));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 Sh dur=0.001000 bytes=0/0 pkts=1/1 ip=44/44 missed=0 local=T/T"],
    );
}

#[test]
fn rej_syn_answered_by_rst() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).reject(0);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp REJ Sr dur=0.001000 bytes=0/0 pkts=1/1 ip=44/40 missed=0 local=T/T"],
    );
}

#[test]
fn rstos0_syn_then_orig_rst() {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, RST, isn.wrapping_add(1), 0, 0);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp RSTOS0 SR dur=1.000000 bytes=0/0 pkts=2/0 ip=84/0 missed=0 local=T/T"],
    );
}

#[test]
fn rstos0_syn_data_rst() {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, PSH, isn.wrapping_add(1), 0, 10);
    seg(&s, secs(2), CLIENT, SERVER, RST, isn.wrapping_add(11), 0, 0);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp RSTOS0 SDR dur=2.000000 bytes=10/0 pkts=3/0 ip=134/0 missed=0 local=T/T"],
    );
}

#[test]
fn syn_ack_rst_from_orig_is_oth_not_rstos0() {
    // `SAR`: the A breaks the RSTOS0 pattern ^\^?S[^HAFGIQ]*R.*
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, ACK, isn.wrapping_add(1), 0, 0);
    seg(&s, secs(2), CLIENT, SERVER, RST, isn.wrapping_add(1), 0, 0);
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("SAR".to_string(), "OTH")]);
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (3, 0));
}

#[test]
fn rstrh_lone_rst_from_server_port() {
    // Flipped at creation (80 is a likely server port): `^r`.
    let s = scenario();
    seg(&s, 0, "10.0.0.2:80", CLIENT, RST | ACK, 1000, 2000, 0);
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("^r".to_string(), "RSTRH")]);
    assert_eq!(rows[0].orig_p, 40000);
    assert_eq!(rows[0].resp_p, 80);
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (0, 1));
    assert_eq!((rows[0].orig_ip_bytes, rows[0].resp_ip_bytes), (0, 40));
}

#[test]
fn rstrh_syn_ack_then_rst_from_server_port() {
    let s = scenario();
    seg(&s, 0, "10.0.0.2:80", CLIENT, SYN | ACK, 1000, 2001, 0);
    seg(&s, ms(1), "10.0.0.2:80", CLIENT, RST | ACK, 1001, 2001, 0);
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("^hr".to_string(), "RSTRH")]);
    assert_eq!((rows[0].orig_p, rows[0].resp_p), (40000, 80));
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (0, 2));
}

#[test]
fn sh_syn_then_fin() {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, FIN, isn.wrapping_add(1), 0, 0);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SH SF dur=1.000000 bytes=0/0 pkts=2/0 ip=84/0 missed=0 local=T/T"],
    );
}

#[test]
fn shr_syn_ack_then_fin_from_server_port() {
    let s = scenario();
    seg(&s, 0, "10.0.0.2:80", CLIENT, SYN | ACK, 1000, 2001, 0);
    seg(&s, ms(1), "10.0.0.2:80", CLIENT, FIN | ACK, 1001, 2001, 0);
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("^hf".to_string(), "SHR")]);
    assert_eq!((rows[0].orig_p, rows[0].resp_p), (40000, 80));
}

#[test]
fn s2_orig_fin_only() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0).fin(Orig, ms(10));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S2 ShAF dur=0.010000 bytes=0/0 pkts=3/1 ip=124/44 missed=0 local=T/T"],
    );
}

#[test]
fn s3_resp_fin_only() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0).fin(Resp, ms(10));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S3 ShAf dur=0.010000 bytes=0/0 pkts=2/2 ip=84/84 missed=0 local=T/T"],
    );
}

#[test]
fn rsto_rst_twice_same_seq_then_new_seq() {
    // Row 9 and 15: R repeats only with a new sequence number: `ShARR`.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0);
    seg(
        &s,
        ms(10),
        CLIENT,
        SERVER,
        RST | ACK,
        isn.wrapping_add(1),
        risn.wrapping_add(1),
        0,
    );
    seg(
        &s,
        ms(20),
        CLIENT,
        SERVER,
        RST | ACK,
        isn.wrapping_add(1),
        risn.wrapping_add(1),
        0,
    );
    seg(
        &s,
        ms(30),
        CLIENT,
        SERVER,
        RST | ACK,
        isn.wrapping_add(6),
        risn.wrapping_add(1),
        0,
    );
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("ShARR".to_string(), "RSTO")]);
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (5, 1));
    assert_eq!((rows[0].orig_ip_bytes, rows[0].resp_ip_bytes), (204, 44));
}

#[test]
fn rstr_established_then_resp_rst() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0).rst(Resp, ms(10));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp RSTR ShAr dur=0.010000 bytes=0/0 pkts=2/2 ip=84/84 missed=0 local=T/T"],
    );
}

#[test]
fn oth_mid_stream_both_ways() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .data(Orig, 0, 100)
        .send(Resp, ms(10), 100);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp OTH DdA dur=0.011000 bytes=100/100 pkts=2/1 ip=180/140 missed=0 local=T/T"],
    );
}

#[test]
fn rej_both_sides_reset_without_data() {
    // §4.2 first rule, second half: both sides RESET and both sizes 0.
    let s = scenario();
    seg(&s, 0, CLIENT, SERVER, RST, 1000, 0, 0);
    seg(&s, ms(1), SERVER, CLIENT, RST, 2000, 0, 0);
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("Rr".to_string(), "REJ")]);
    assert_eq!((rows[0].orig_bytes, rows[0].resp_bytes), (0, 0));
}

#[test]
fn rst_after_both_fins_is_still_sf() {
    // §4.1: from CLOSED a RST moves to RESET only if the peer is not CLOSED.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, ms(10))
        .fin(Resp, ms(11))
        .rst(Orig, ms(12));
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("ShAFfR".to_string(), "SF")]);
}

#[test]
fn fin_then_rst_then_peer_fin_is_a_normal_close() {
    // §4.1: a FIN while the peer is RESET but was CLOSED before puts the
    // peer back to CLOSED (FIN then RST is a normal close).
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, ms(10))
        .rst(Orig, ms(11))
        .fin(Resp, ms(12));
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("ShAFRf".to_string(), "SF")]);
}

// ------------------------------------------------------------ history letters

#[test]
fn fin_with_data_records_only_f() {
    // Row 6: FIN carrying 50 bytes as the only data: 50 bytes, `ShAFf`.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0)
        .segment(Orig, ms(10), FIN | ACK | PSH, &[b'x'; 50])
        .fin(Resp, ms(11))
        .ack(Orig, ms(12));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShAFf dur=0.011000 bytes=50/0 pkts=4/2 ip=214/84 missed=0 local=T/T"],
    );
}

#[test]
fn two_fins_ten_apart_count_ten_bytes() {
    // Row 6: two FINs 10 apart, no data: 10 bytes, `ShAFF`.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0);
    seg(
        &s,
        ms(10),
        CLIENT,
        SERVER,
        FIN | ACK,
        isn.wrapping_add(1),
        risn.wrapping_add(1),
        0,
    );
    seg(
        &s,
        ms(20),
        CLIENT,
        SERVER,
        FIN | ACK,
        isn.wrapping_add(11),
        risn.wrapping_add(1),
        0,
    );
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S2 ShAFF dur=0.020000 bytes=10/0 pkts=4/1 ip=164/44 missed=0 local=T/T"],
    );
}

#[test]
fn fin_twice_with_one_seq_is_one_f() {
    // Row 9.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0).fin(Orig, ms(10));
    seg(
        &s,
        ms(20),
        CLIENT,
        SERVER,
        FIN | ACK,
        isn.wrapping_add(1),
        risn.wrapping_add(1),
        0,
    );
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S2 ShAF dur=0.020000 bytes=0/0 pkts=4/1 ip=164/44 missed=0 local=T/T"],
    );
}

#[test]
fn syn_three_times_one_isn_is_one_s() {
    // Row 9.
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn(0).syn(secs(1)).syn(secs(2));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=2.000000 bytes=0/0 pkts=3/0 ip=132/0 missed=0 local=T/T"],
    );
}

#[test]
fn lone_syn_with_data_is_st() {
    // Row 7 (corrected): SYN with data gives `S` then `T`; the payload counts.
    let s = scenario();
    s.tcp(CLIENT, SERVER).segment(Orig, 0, SYN, &[b'x'; 10]);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 ST dur=- bytes=10/0 pkts=1/0 ip=54/0 missed=0 local=T/T"],
    );
}

#[test]
fn syn_with_data_then_handshake_is_stha() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .segment(Orig, 0, SYN, &[b'x'; 10])
        .syn_ack(ms(1))
        .ack(Orig, ms(2));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 SThA dur=0.002000 bytes=10/0 pkts=2/1 ip=94/44 missed=0 local=T/T"],
    );
}

#[test]
fn syn_ack_with_data_is_shta() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .syn(0)
        .segment(Resp, ms(1), SYN | ACK, &[b'x'; 10])
        .ack(Orig, ms(2));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShtA dur=0.002000 bytes=0/10 pkts=2/1 ip=84/54 missed=0 local=T/T"],
    );
}

/// Handshake, 100 bytes from orig (acknowledged), then `n` retransmissions
/// of those bytes: the history.
fn retransmissions(n: u32) -> (String, u64) {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0).send_orig(ms(10), 100);
    for i in 0..n {
        let t = ms(20) + ms(1) * i64::from(i);
        seg(
            &s,
            t,
            CLIENT,
            SERVER,
            ACK | PSH,
            isn.wrapping_add(1),
            risn.wrapping_add(1),
            100,
        );
    }
    let rows = run(&s);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].orig_bytes, 100, "retransmissions add no bytes");
    (rows[0].history.as_str().to_string(), rows[0].orig_pkts)
}

#[test]
fn retransmissions_scale_t() {
    // Row 11: 1/9/10/100 retransmissions give T/T/TT/TTT.
    for (n, hist) in [
        (1, "ShADaT"),
        (9, "ShADaT"),
        (10, "ShADaTT"),
        (100, "ShADaTTT"),
    ] {
        assert_eq!(
            retransmissions(n),
            (hist.to_string(), 3 + u64::from(n)),
            "{n} retransmissions"
        );
    }
}

fn zero_windows(n: u32) -> String {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0).send_orig(ms(10), 100);
    for i in 0..n {
        let t = ms(20) + ms(1) * i64::from(i);
        seg_win(
            &s,
            t,
            SERVER,
            CLIENT,
            ACK,
            risn.wrapping_add(1),
            isn.wrapping_add(101),
            0,
            0,
        );
    }
    let rows = run(&s);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].resp_pkts, 2 + u64::from(n));
    rows[0].history.as_str().to_string()
}

#[test]
fn zero_windows_scale_w() {
    // Row 11: 1/10/100 zero-window ACKs from resp: w/ww/www.
    for (n, hist) in [
        (1, "ShADaw"),
        (9, "ShADaw"),
        (10, "ShADaww"),
        (100, "ShADawww"),
    ] {
        assert_eq!(zero_windows(n), hist, "{n} zero windows");
    }
}

#[test]
fn keepalive_with_old_byte_is_t_without_payload_nothing() {
    // Row 11.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0)
        .send_orig(ms(10), 100)
        .keepalive(Orig, ms(20));
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("ShADa".to_string(), "S1")]);
    assert_eq!(rows[0].orig_pkts, 4);

    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0).send_orig(ms(10), 100);
    // One old byte: the last one already sent (seq isn+100).
    seg(
        &s,
        ms(20),
        CLIENT,
        SERVER,
        ACK,
        isn.wrapping_add(100),
        risn.wrapping_add(1),
        1,
    );
    let rows = run(&s);
    assert_eq!(hist_states(&rows), [("ShADaT".to_string(), "S1")]);
    assert_eq!(rows[0].orig_bytes, 100);
}

// ------------------------------------------------------ gaps, missed_bytes

#[test]
fn acknowledged_gap_counts_in_bytes_and_missed_bytes() {
    // Row 4: handshake, 100 bytes, 1000 bytes not captured, 100 bytes, ACK
    // of all, FINs: orig_bytes 1200, missed_bytes 1000, `ShADaGFf`.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .data(Orig, ms(10), 100)
        .data(Orig, ms(20), 1000)
        .data(Orig, ms(30), 100)
        .ack(Resp, ms(31))
        .close_fin(ms(40));
    let packets = without(&s, &[ms(20)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADaGFf dur=0.041000 bytes=1200/0 pkts=6/3 ip=444/124 missed=1000 local=T/T"],
    );
}

#[test]
fn gap_on_partial_connection_is_not_reported() {
    // Row 5: the same gap without a handshake: missed_bytes 0, `Da`, OTH.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .data(Orig, 0, 100)
        .data(Orig, ms(10), 1000)
        .data(Orig, ms(20), 100)
        .ack(Resp, ms(21));
    let packets = without(&s, &[ms(10)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp OTH Da dur=0.021000 bytes=1200/0 pkts=2/1 ip=280/40 missed=0 local=T/T"],
    );
}

/// `n` times: 100 bytes captured, 100 bytes not captured, ACK of both.
fn gaps(n: u32) -> (String, u64, u64) {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0);
    for i in 0..n {
        let t = ms(10) + ms(10) * i64::from(i);
        let seq = isn.wrapping_add(1 + 200 * i);
        seg(
            &s,
            t,
            CLIENT,
            SERVER,
            ACK | PSH,
            seq,
            risn.wrapping_add(1),
            100,
        );
        seg(
            &s,
            t + ms(1),
            SERVER,
            CLIENT,
            ACK,
            risn.wrapping_add(1),
            seq.wrapping_add(200),
            0,
        );
    }
    let rows = run(&s);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    (r.history.as_str().to_string(), r.missed_bytes, r.orig_bytes)
}

#[test]
fn gaps_scale_g() {
    // Row 11: 1/10 acknowledged gaps: G/GG.
    assert_eq!(gaps(1), ("ShADaG".to_string(), 100, 200));
    assert_eq!(gaps(9), ("ShADaG".to_string(), 900, 1800));
    assert_eq!(gaps(10), ("ShADaGG".to_string(), 1000, 2000));
}

// ------------------------------------------------------------ checksums

#[test]
fn tcp_data_with_bad_checksum_is_c_and_not_counted() {
    // Row 24: `ShAC`, the bad packet is not counted.
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0).data(Orig, ms(10), 100);
    let packets = with_bad_checksum(&s, &[ms(10)]);
    assert_rows(
        &run_packets(cfg(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShAC dur=0.002000 bytes=0/0 pkts=2/1 ip=84/44 missed=0 local=T/T"],
    );
    // With checksums ignored the same packet is ordinary data.
    assert_rows(
        &run_packets(cfg_c(), &packets),
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShAD dur=0.010000 bytes=100/0 pkts=3/1 ip=224/44 missed=0 local=T/T"],
    );
}

#[test]
fn syn_ack_first_then_bad_checksum_ack_does_not_flip() {
    // Row 8: SYN-ACK, bad-checksum ACK, good ACK: `Hca`.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .syn_ack(0)
        .ack(Orig, ms(1))
        .ack(Orig, ms(2));
    let packets = with_bad_checksum(&s, &[ms(1)]);
    let rows = run_packets(cfg(), &packets);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].history.as_str(), "Hca");
    assert_eq!((rows[0].orig_p, rows[0].resp_p), (5000, 40000));
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (1, 1));
}
