//! The `service` column (spec §8): what confirms each protocol, what must
//! not (a port alone, a one-sided exchange, a later violation), the
//! detector set, and detection stopping after the first packets.

use super::dsl::*;
use crate::service::{Detector, Detectors};
use crate::{ConnRecord, TrackerConfig};

fn services(r: &ConnRecord) -> String {
    let v: Vec<&str> = r.service.iter().map(|s| s.as_str()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn run_with(c: TrackerConfig, s: &connwatch_tracegen::Scenario) -> Vec<String> {
    run_packets(c, &s.packets()).iter().map(services).collect()
}

fn svc(s: &connwatch_tracegen::Scenario) -> Vec<String> {
    run_with(cfg(), s)
}

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\x85\x01\x00\x00\x81\x03\x03\x73\x6f\xf8\x18\x54\x21\x29\xf7\x8f\x49\x2d\x9b\x15\x57\xda\xfc\x79\x26\x6f\x07\x5f\xa3\x14\xdc\x76\xa4\x7a\x73\xd1\xb6\xf1\x09\x00\x00\x20\xc0\x2f";

#[test]
fn http_needs_request_and_reply_on_any_port() {
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:27272")
        .handshake(0)
        .send_bytes(Orig, ms(1), GET)
        .send_bytes(Resp, ms(2), OK)
        .close_fin(ms(3));
    assert_eq!(svc(&s), ["http"]);

    // A request nobody answers is not confirmed.
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:80")
        .handshake(0)
        .send_bytes(Orig, ms(1), GET)
        .close_fin(ms(3));
    assert_eq!(svc(&s), ["-"]);
}

#[test]
fn port_alone_never_sets_service() {
    // Text to port 80, binary to 443, junk to 53/udp and 123/udp.
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:80")
        .handshake(0)
        .send_bytes(Orig, ms(1), b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")
        .send_bytes(Resp, ms(2), b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7")
        .close_fin(ms(3));
    s.tcp(CLIENT, "10.0.0.2:443")
        .handshake(ms(10))
        .send_bytes(Orig, ms(11), b"hello there, not tls\r\n")
        .close_fin(ms(13));
    s.udp("10.0.0.1:40001", "10.0.0.2:53").send_bytes(
        Orig,
        ms(20),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    s.udp("10.0.0.1:40002", "10.0.0.2:123")
        .send_bytes(Orig, ms(30), b"not ntp");
    assert!(svc(&s).iter().all(|x| x == "-"), "{:?}", svc(&s));
}

#[test]
fn dns_query_alone_confirms() {
    let q =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
    let s = scenario();
    s.udp(CLIENT, "10.0.0.2:53").send_bytes(Orig, 0, q);
    assert_eq!(svc(&s), ["dns"]);
    // DNS is attached by port only: the same bytes elsewhere stay `-`.
    let s = scenario();
    s.udp(CLIENT, SERVER).send_bytes(Orig, 0, q);
    assert_eq!(svc(&s), ["-"]);
}

#[test]
fn tls_client_hello_confirms_until_the_server_answers_otherwise() {
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:8443")
        .handshake(0)
        .send_bytes(Orig, ms(1), CLIENT_HELLO)
        .send_bytes(Resp, ms(2), b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03")
        .close_fin(ms(3));
    assert_eq!(svc(&s), ["ssl"]);
    // HTTPS to an HTTP server: the reply is a violation, ssl goes away.
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:80")
        .handshake(0)
        .send_bytes(Orig, ms(1), CLIENT_HELLO)
        .send_bytes(Resp, ms(2), b"HTTP/1.1 400 Bad Request\r\n\r\n")
        .close_fin(ms(3));
    assert_eq!(svc(&s), ["-"]);
}

fn ssh_packet(msg: u8, body: usize) -> Vec<u8> {
    // Header, padding length, type, body and padding fill whole 8-byte
    // blocks, with at least 4 bytes of padding (RFC 4253 §6).
    let mut pad = 8 - (6 + body) % 8;
    if pad < 4 {
        pad += 8;
    }
    let len = (1 + 1 + body + pad) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(pad as u8);
    p.push(msg);
    p.resize(4 + len as usize, 0);
    p
}

#[test]
fn ssh_confirms_at_newkeys() {
    let mut client = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
    client.extend(ssh_packet(20, 300));
    let mut server = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n".to_vec();
    server.extend(ssh_packet(20, 280));
    let s = scenario();
    let mut c = s.tcp(CLIENT, "10.0.0.2:2200");
    c.handshake(0)
        .send_bytes(Resp, ms(1), &server)
        .send_bytes(Orig, ms(2), &client)
        .send_bytes(Orig, ms(3), &ssh_packet(30, 40));
    let mut reply = ssh_packet(31, 500);
    reply.extend(ssh_packet(21, 0));
    c.send_bytes(Resp, ms(4), &reply).close_fin(ms(6));
    assert_eq!(svc(&s), ["ssh"]);

    // Banners alone (no key exchange seen) are not enough.
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:22")
        .handshake(0)
        .send_bytes(Resp, ms(1), b"SSH-2.0-OpenSSH_8.9\r\n")
        .send_bytes(Orig, ms(2), b"SSH-2.0-OpenSSH_9.6\r\n")
        .close_fin(ms(3));
    assert_eq!(svc(&s), ["-"]);
}

#[test]
fn ftp_control_announces_data_connections() {
    let s = scenario();
    let ctl = "10.0.0.1:40000";
    let srv = "10.0.0.2:21";
    let mut c = s.tcp(ctl, srv);
    c.handshake(0)
        .send_bytes(Resp, ms(1), b"220 ftp.example.org FTP server ready.\r\n")
        .send_bytes(Orig, ms(2), b"USER anonymous\r\n")
        .send_bytes(Resp, ms(3), b"331 Guest login ok.\r\n")
        .send_bytes(Orig, ms(4), b"PASS x\r\n")
        .send_bytes(Resp, ms(5), b"230 Guest login ok.\r\n")
        .send_bytes(Orig, ms(6), b"EPSV\r\n")
        .send_bytes(
            Resp,
            ms(7),
            b"229 Entering Extended Passive Mode (|||50001|)\r\n",
        );
    s.tcp("10.0.0.1:40001", "10.0.0.2:50001")
        .handshake(ms(8))
        .send_bytes(Resp, ms(9), b"file body")
        .close_fin(ms(10));
    // Not announced: same server, another port.
    s.tcp("10.0.0.1:40002", "10.0.0.2:50002")
        .handshake(ms(11))
        .close_fin(ms(12));
    c.close_fin(ms(20));
    let mut got = svc(&s);
    got.sort();
    assert_eq!(got, ["-", "ftp", "ftp-data"]);
}

#[test]
fn starttls_adds_ssl_after_smtp() {
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:25")
        .handshake(0)
        .send_bytes(Resp, ms(1), b"220 mx.example.com ESMTP Postfix\r\n")
        .send_bytes(Orig, ms(2), b"EHLO client.example.com\r\n")
        .send_bytes(Resp, ms(3), b"250-mx.example.com\r\n250 STARTTLS\r\n")
        .send_bytes(Orig, ms(4), b"STARTTLS\r\n")
        .send_bytes(Resp, ms(5), b"220 2.0.0 Ready to start TLS\r\n")
        .send_bytes(Orig, ms(6), CLIENT_HELLO)
        .close_fin(ms(8));
    assert_eq!(svc(&s), ["smtp,ssl"]);
}

#[test]
fn pop3_and_modbus() {
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:110")
        .handshake(0)
        .send_bytes(Resp, ms(1), b"+OK POP server ready\r\n")
        .send_bytes(Orig, ms(2), b"CAPA\r\n")
        .close_fin(ms(3));
    s.tcp("10.0.0.1:40001", "10.0.0.2:502")
        .handshake(ms(10))
        .send_bytes(
            Orig,
            ms(11),
            b"\x00\x01\x00\x00\x00\x06\x0a\x01\x00\x00\x00\x01",
        )
        .send_bytes(Resp, ms(12), b"\x00\x01\x00\x00\x00\x04\x0a\x01\x01\x00")
        .close_fin(ms(13));
    // A TLS hello to 502 is ssl, not modbus.
    s.tcp("10.0.0.1:40002", "10.0.0.2:502")
        .handshake(ms(20))
        .send_bytes(Orig, ms(21), CLIENT_HELLO)
        .close_fin(ms(23));
    let mut got = svc(&s);
    got.sort();
    assert_eq!(got, ["modbus", "pop3", "ssl"]);
}

#[test]
fn only_loaded_detectors_run() {
    let s = scenario();
    s.tcp(CLIENT, "10.0.0.2:80")
        .handshake(0)
        .send_bytes(Orig, ms(1), GET)
        .send_bytes(Resp, ms(2), OK)
        .close_fin(ms(3));
    let only_dns = TrackerConfig {
        detect: Detectors::NONE.with(Detector::Dns),
        ..cfg()
    };
    assert_eq!(run_with(only_dns, &s), ["-"]);
    let only_http = TrackerConfig {
        detect: Detectors::NONE.with(Detector::Http),
        ..cfg()
    };
    assert_eq!(run_with(only_http, &s), ["http"]);
}

#[test]
fn detection_stops_after_the_first_packets() {
    // Nine filler segments from each side, then a real HTTP exchange: too
    // late, detection has stopped.
    let s = scenario();
    let mut c = s.tcp(CLIENT, "10.0.0.2:80");
    c.handshake(0);
    for i in 0..9 {
        c.send(Orig, ms(1 + 2 * i), 10)
            .send(Resp, ms(2 + 2 * i), 10);
    }
    c.send_bytes(Orig, ms(40), GET)
        .send_bytes(Resp, ms(41), OK)
        .close_fin(ms(42));
    assert_eq!(svc(&s), ["-"]);
}

#[test]
fn retransmitted_segments_are_not_looked_at_twice() {
    // The request, then a segment at the request's old sequence number
    // (other bytes), then the reply: the repeat is skipped.
    let s = scenario();
    let mut c = s.tcp(CLIENT, "10.0.0.2:80");
    c.handshake(0);
    let seq = c.next_seq(Orig);
    c.send_bytes(Orig, ms(1), GET);
    let ack = c.next_seq(Resp);
    seg(
        &s,
        ms(2),
        CLIENT,
        "10.0.0.2:80",
        ACK | PSH,
        seq,
        ack,
        GET.len(),
    );
    c.send_bytes(Resp, ms(3), OK).close_fin(ms(4));
    assert_eq!(svc(&s), ["http"]);
}
