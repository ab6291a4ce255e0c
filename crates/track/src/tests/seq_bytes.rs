//! TCP byte counting from sequence numbers (§3.1): wraparound of the 32-bit
//! sequence space and transfers larger than 4 GiB.

use super::dsl::*;

#[test]
fn data_crossing_the_sequence_wrap() {
    // Both ISNs just below 2^32: orig's 1000 bytes and resp's 3000 bytes
    // (three segments: 1460 + 1460 + 80) cross the wrap.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .isns(0xffff_ff00, 0xffff_fff0)
        .handshake(0)
        .send_orig(ms(10), 1000)
        .send_resp(ms(20), 3000)
        .close_fin(ms(30));
    expect(
        &s,
        &["10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADadFf dur=0.031000 bytes=1000/3000 pkts=6/6 ip=1244/3244 missed=0 local=T/T"],
    );
}

#[test]
fn isn_exactly_at_the_top_of_the_sequence_space() {
    // The SYN itself takes the last sequence number, data starts at 0.
    let s = scenario();
    s.tcp(CLIENT, SERVER)
        .isns(u32::MAX, u32::MAX - 1)
        .handshake(0)
        .send_orig(ms(10), 10)
        .send_resp(ms(20), 20)
        .close_fin(ms(30));
    let rows = run(&s);
    assert_eq!(
        (
            rows[0].orig_bytes,
            rows[0].resp_bytes,
            rows[0].history.as_str()
        ),
        (10, 20, "ShADadFf")
    );
}

/// Step between captured segments: 512 MiB, well below 2^31 so every step
/// is "ahead" in serial-number arithmetic.
const STEP: u32 = 1 << 29;

#[test]
fn transfer_larger_than_4_gib() {
    // Only 100 bytes every 512 MiB of sequence space are captured; the
    // responder acknowledges everything, so the size comes from the ACKs
    // (and from the sender's highest sequence number) with wrap counting.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0);
    let rack = risn.wrapping_add(1);
    let rounds = 10u32;
    for k in 0..rounds {
        let t = ms(10) * i64::from(k + 1);
        let seq = isn.wrapping_add(1).wrapping_add(k.wrapping_mul(STEP));
        seg(&s, t, CLIENT, SERVER, ACK | PSH, seq, rack, 100);
        seg(
            &s,
            t + ms(1),
            SERVER,
            CLIENT,
            ACK,
            rack,
            seq.wrapping_add(100),
            0,
        );
    }
    let end = isn
        .wrapping_add(1)
        .wrapping_add((rounds - 1).wrapping_mul(STEP))
        .wrapping_add(100);
    seg(&s, secs(1), CLIENT, SERVER, FIN | ACK, end, rack, 0);
    seg(
        &s,
        secs(1) + ms(1),
        SERVER,
        CLIENT,
        FIN | ACK,
        rack,
        end.wrapping_add(1),
        0,
    );
    seg(
        &s,
        secs(1) + ms(2),
        CLIENT,
        SERVER,
        ACK,
        end.wrapping_add(1),
        rack.wrapping_add(1),
        0,
    );
    let rows = run(&s);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    let want = u64::from(rounds - 1) * u64::from(STEP) + 100;
    assert!(want > 1 << 32);
    assert_eq!(r.orig_bytes, want, "{}", show(r));
    assert_eq!(r.resp_bytes, 0);
    assert_eq!(r.conn_state.as_str(), "SF");
    assert_eq!(
        (r.orig_pkts, r.resp_pkts),
        (2 + u64::from(rounds) + 2, 1 + u64::from(rounds) + 1)
    );
    assert!(r.history.as_str().starts_with("ShADa"), "{}", show(r));
    assert!(r.missed_bytes <= want);
}

#[test]
fn transfer_larger_than_4_gib_seen_only_through_acks() {
    // Same, but the sender's segments are all lost after the first: only
    // the receiver's ACKs move through the sequence space.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    let (isn, risn) = (c.isn(Orig), c.isn(Resp));
    c.handshake(0).send_orig(ms(5), 100);
    let rack = risn.wrapping_add(1);
    let rounds = 10u32;
    for k in 1..=rounds {
        let t = ms(10) * i64::from(k + 1);
        let acked = isn.wrapping_add(101).wrapping_add(k.wrapping_mul(STEP));
        seg(&s, t, SERVER, CLIENT, ACK, rack, acked, 0);
    }
    let rows = run(&s);
    let r = &rows[0];
    let want = 100 + u64::from(rounds) * u64::from(STEP);
    assert!(want > 1 << 32);
    assert_eq!(r.orig_bytes, want, "{}", show(r));
}
