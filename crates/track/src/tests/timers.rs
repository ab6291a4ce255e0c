//! Timers on network time (§7): the attempt timer (row 12), inactivity
//! timeouts (row 13), the close delay (row 14) and port reuse (§6.3, row 10).
//! A packet exactly at a deadline starts a new row; one a microsecond
//! earlier does not.

use super::dsl::*;

// ------------------------------------------------------------ attempt timer

#[test]
fn attempt_timer_splits_syn_retries_into_four_rows() {
    // Row 12: SYNs at 0, 1, 3, 7, 15, 31 s: four S0 rows, the first 3.0 s.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    for t in [0, 1, 3, 7, 15, 31] {
        c.syn(secs(t));
    }
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=3.000000 bytes=0/0 pkts=3/0 ip=132/0 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn syn_exactly_at_attempt_deadline_starts_a_new_row() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn(0).syn(secs(5));
    let rows = run(&s);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows
        .iter()
        .all(|r| r.orig_pkts == 1 && r.duration_secs().is_none()));
    assert_eq!(rows[1].ts.0 - rows[0].ts.0, secs(5));
}

#[test]
fn syn_just_before_attempt_deadline_joins_the_row() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn(0).syn(secs(5) - us(1));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=4.999999 bytes=0/0 pkts=2/0 ip=88/0 missed=0 local=T/T"],
    );
}

#[test]
fn attempt_timer_ends_syn_flow_even_while_client_sends_data() {
    // Row 12: SYN then data without reply: `SD` S0; data after 5 s: a new
    // `D` OTH row.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, PSH, isn.wrapping_add(1), 0, 10);
    seg(
        &s,
        secs(6),
        CLIENT,
        SERVER,
        PSH,
        isn.wrapping_add(11),
        0,
        10,
    );
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 SD dur=1.000000 bytes=10/0 pkts=2/0 ip=94/0 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp OTH D dur=- bytes=10/0 pkts=1/0 ip=50/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn syn_ack_only_flow_is_cut_after_five_seconds() {
    // Row 12: SYN-ACK-only from an unlisted port: `H`, OTH, cut after 5 s.
    let s = scenario();
    s.tcp(CLIENT, SERVER).syn_ack(0).syn_ack(secs(6));
    let rows = run(&s);
    assert_eq!(
        hist_states(&rows),
        [("H".to_string(), "OTH"), ("H".to_string(), "OTH")]
    );
    assert!(rows.iter().all(|r| r.orig_pkts == 1 && r.orig_p == 5000));
}

// ------------------------------------------------------------- inactivity

#[test]
fn udp_inactivity_timeout_deadline_packet_starts_new_row() {
    // Row 13: UDP packets at 0, 30, 90 s: a new row at 90.
    let s = scenario();
    let mut u = s.udp(CLIENT, SERVER);
    for t in [0, 30, 90] {
        u.send(Orig, secs(t), 10);
    }
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=30.000000 bytes=20/0 pkts=2/0 ip=76/0 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=- bytes=10/0 pkts=1/0 ip=38/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn peak_bytes_is_known_before_the_first_sampled_peak() {
    // Peaks are sampled every 256th new one; a run that never gets there
    // still reports what its tracker holds (not 0).
    let s = scenario();
    let mut u = s.udp(CLIENT, SERVER);
    u.send(Orig, secs(0), 10);
    let mut sim = Sim::new(cfg());
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
    }
    let t = sim.an.tracker_ref();
    assert_eq!(t.stats().peak_open, 1);
    assert!(t.stats().peak_bytes >= t.memory_bytes());
    assert!(t.stats().peak_bytes > 0);
}

#[test]
fn udp_just_before_inactivity_deadline_joins_the_row() {
    let s = scenario();
    let mut u = s.udp(CLIENT, SERVER);
    for t in [0, secs(30), secs(90) - us(1)] {
        u.send(Orig, t, 10);
    }
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 udp S0 D dur=89.999999 bytes=30/0 pkts=3/0 ip=114/0 missed=0 local=T/T"],
    );
}

#[test]
fn icmp_echo_sixty_seconds_apart_is_two_rows() {
    // Row 13.
    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 7)
        .request(0, 1, 56)
        .request(secs(60), 2, 56);
    let one =
        "10.0.0.1:8 > 10.0.0.2:0 icmp OTH - dur=- bytes=56/0 pkts=1/0 ip=84/0 missed=0 local=T/T";
    expect(&s, &[one, one]);

    let s = scenario();
    s.ping("10.0.0.1", "10.0.0.2", 7)
        .request(0, 1, 56)
        .request(secs(60) - us(1), 2, 56);
    expect(
        &s,
        &["10.0.0.1:8 > 10.0.0.2:0 icmp OTH - dur=59.999999 bytes=112/0 pkts=2/0 ip=168/0 missed=0 local=T/T"],
    );
}

#[test]
fn tcp_idle_exactly_300s_starts_a_partial_row() {
    // Row 13: established TCP idle exactly 300 s: new `Da` OTH row.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .send_orig(ms(10), 100)
        .send_orig(ms(11) + secs(300), 100);
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShADa dur=0.011000 bytes=100/0 pkts=3/2 ip=224/84 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp OTH Da dur=0.001000 bytes=100/0 pkts=1/1 ip=140/40 missed=0 local=T/T",
        ],
    );
}

#[test]
fn tcp_idle_just_under_300s_stays_one_row() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .send_orig(ms(10), 100)
        .send_orig(ms(11) + secs(300) - us(1), 100);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShADa dur=300.011999 bytes=200/0 pkts=4/3 ip=364/124 missed=0 local=T/T"],
    );
}

// ------------------------------------------------------------ close delay

#[test]
fn final_ack_after_fins_is_counted_but_not_in_duration() {
    // Row 14: final ACK 0.7 s after the FINs.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, secs(1))
        .fin(Resp, secs(1) + ms(1))
        .ack(Orig, secs(1) + ms(701));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShAFf dur=1.001000 bytes=0/0 pkts=4/2 ip=164/84 missed=0 local=T/T"],
    );
}

#[test]
fn ack_within_close_delay_joins_the_row() {
    // Row 14: ACK 4.99 s after the second FIN joins the row.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, secs(1))
        .fin(Resp, secs(1) + ms(1))
        .ack(Orig, secs(1) + ms(1) + ms(4990));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShAFf dur=1.001000 bytes=0/0 pkts=4/2 ip=164/84 missed=0 local=T/T"],
    );
}

#[test]
fn ack_after_close_delay_starts_an_a_row() {
    // Row 14: ACK 5.001 s after the second FIN starts an `A` OTH row.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, secs(1))
        .fin(Resp, secs(1) + ms(1))
        .ack(Orig, secs(1) + ms(1) + ms(5001));
    let rows = run(&s);
    assert_rows(
        &rows[..1],
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShAFf dur=1.001000 bytes=0/0 pkts=3/2 ip=124/84 missed=0 local=T/T"],
    );
    assert_eq!(
        hist_states(&rows[1..]),
        [("A".to_string(), "OTH")],
        "{rows:#?}"
    );
    assert_eq!(
        oriented(&rows[1..]),
        ["10.0.0.1:40000 > 10.0.0.2:5000 tcp A"]
    );
}

#[test]
fn one_fin_connection_lives_on() {
    // Row 14: one FIN then server data 29 s later: one S2 row `ShAFd`.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .fin(Orig, secs(1))
        .data(Resp, secs(30), 100);
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp S2 ShAFd dur=30.000000 bytes=0/100 pkts=3/2 ip=124/184 missed=0 local=T/T"],
    );
}

#[test]
fn syn_fin_then_late_fin_is_two_sh_rows() {
    // Row 14: SYN, FIN, then FIN 20 s later: two SH rows (`SF`, `F`).
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let isn = c.isn(Orig);
    c.syn(0);
    seg(&s, secs(1), CLIENT, SERVER, FIN, isn.wrapping_add(1), 0, 0);
    seg(&s, secs(21), CLIENT, SERVER, FIN, isn.wrapping_add(1), 0, 0);
    let rows = run(&s);
    assert_rows(
        &rows[..1],
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SH SF dur=1.000000 bytes=0/0 pkts=2/0 ip=84/0 missed=0 local=T/T"],
    );
    assert_eq!(
        hist_states(&rows[1..]),
        [("F".to_string(), "SH")],
        "{rows:#?}"
    );
}

// -------------------------------------------------------------- port reuse

#[test]
fn unanswered_syn_then_new_isn_is_two_s0_rows() {
    // Row 10.
    let s = scenario();
    s.tcp(CLIENT, SERVER).isns(1000, 9000).syn(0);
    s.tcp(CLIENT, SERVER).isns(777_777, 9000).syn(secs(1));
    let one = "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T";
    expect(&s, &[one, one]);
}

#[test]
fn new_isn_syn_ends_established_connection() {
    // Row 10: established connection then new-ISN SYN: `ShADa` + `Sh` (S1).
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .isns(1000, 9000)
        .handshake(0)
        .send_orig(ms(10), 100);
    s.tcp(CLIENT, SERVER)
        .isns(500_000, 600_000)
        .syn(secs(1))
        .syn_ack(secs(1) + ms(1));
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShADa dur=0.011000 bytes=100/0 pkts=3/2 ip=224/84 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 Sh dur=0.001000 bytes=0/0 pkts=1/1 ip=44/44 missed=0 local=T/T",
        ],
    );
}

#[test]
fn same_isn_syn_after_full_close_is_a_new_row() {
    // Row 10 / §6.3: after either side closed, any SYN starts a new row
    // (here even the old ISN, within the close delay).
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .handshake(0)
        .close_fin(ms(10))
        .syn(secs(1));
    expect(
        &s,
        &[
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShAFf dur=0.011000 bytes=0/0 pkts=4/2 ip=164/84 missed=0 local=T/T",
            "10.0.0.1:40000 > 10.0.0.2:5000 tcp S0 S dur=- bytes=0/0 pkts=1/0 ip=44/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn syn_ack_after_bad_checksum_syn_is_a_second_connection() {
    // Row 10: bad-checksum SYN (checksums checked): `C` OTH row with no
    // packets, then a `^hA` row.
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0);
    let packets = with_bad_checksum(&s, &[0]);
    let rows = run_packets(cfg(), &packets);
    assert_rows(
        &rows[..1],
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp OTH C dur=- bytes=0/0 pkts=0/0 ip=0/0 missed=0 local=T/T"],
    );
    assert_eq!(
        oriented(&rows[1..]),
        ["10.0.0.1:40000 > 10.0.0.2:5000 tcp ^hA"]
    );
    assert_eq!((rows[1].orig_pkts, rows[1].resp_pkts), (1, 1));
}

// ------------------------------------------------------------ end of input

#[test]
fn finishing_in_steps_emits_what_finish_emits_in_the_same_order() {
    let s = scenario();
    for i in 0..10u16 {
        let from = format!("10.0.0.1:{}", 40000 + i);
        udp(&s, secs(i64::from(i)), &from, "10.0.0.2:9999", b"hello");
        let mut c = s.tcp(format!("10.0.1.{}:5000", i + 1).as_str(), SERVER);
        c.syn(secs(i64::from(i)) + 1);
    }
    let packets = s.packets();
    let rows = |step: Option<usize>| {
        let mut sim = Sim::new(cfg());
        for p in &packets {
            sim.feed(p.ts, &p.data);
        }
        match step {
            None => sim.an.finish(),
            Some(n) => {
                while !sim.an.finish_some(n) {
                    assert!(sim.an.tracker_ref().events().len() <= n);
                    sim.collect();
                }
            }
        }
        sim.collect();
        sim.rows.iter().map(show).collect::<Vec<_>>()
    };
    let all = rows(None);
    assert_eq!(all.len(), 20);
    for step in [1, 3, 7, 20, 100] {
        assert_eq!(rows(Some(step)), all, "step {step}");
    }
}

/// An established TCP connection is removed after the TCP inactivity
/// timeout (5 min) from its last packet, though its class was UDP (1 min)
/// until the handshake completed: the timer armed at creation fires at
/// 60 s, finds the connection active for its new class, and re-arms at
/// `last + 300 s` (spec §7, row 13). A packet exactly then starts a new
/// row; one a microsecond earlier joins.
#[test]
fn established_tcp_uses_the_tcp_inactivity_timeout() {
    for (gap, rows_want) in [(secs(300), 2), (secs(300) - us(1), 1)] {
        let s = scenario();
        let mut c = s.tcp(CLIENT, SERVER);
        let (isn, ack) = (c.isn(Orig), c.isn(Resp).wrapping_add(1));
        c.handshake(0);
        let flags = PSH | ACK;
        seg(
            &s,
            secs(1),
            CLIENT,
            SERVER,
            flags,
            isn.wrapping_add(1),
            ack,
            10,
        );
        // Four minutes of silence: longer than the UDP timeout.
        seg(
            &s,
            secs(241),
            CLIENT,
            SERVER,
            flags,
            isn.wrapping_add(11),
            ack,
            10,
        );
        let t = secs(241) + gap;
        seg(&s, t, CLIENT, SERVER, flags, isn.wrapping_add(21), ack, 10);
        let rows = run(&s);
        assert_eq!(rows.len(), rows_want, "gap {gap}: {rows:#?}");
        let start = rows[0].ts.0;
        let last = if rows_want == 2 { secs(241) } else { t };
        assert_eq!(rows[0].last.0 - start, last, "gap {gap}");
    }
}

/// Before the handshake completes the UDP timeout applies: a lone SYN-ACK
/// flow (no attempt timer) silent for a minute is gone.
#[test]
fn tcp_before_the_handshake_uses_the_udp_inactivity_timeout() {
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .syn_ack(0)
        .syn_ack(secs(4))
        .syn_ack(secs(64));
    let rows = run(&s);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0].orig_pkts + rows[0].resp_pkts, 2);
}
