//! Detection on TCP payload: the first in-order segments of each direction
//! go through the recognisers; a segment that is not the next one of its
//! direction (retransmitted, out of order, after a gap) is skipped, the
//! way Zeek's analyzers only ever see the reassembled stream.

use connwatch_wire::app::{asn1, dns, ftp, http, mail, modbus, mysql, ssh, text, tls, windows};

use super::{
    Detect, Detector, Detectors, F_DONE, F_FTP_REJECT, F_FTP_WATCH, F_HTTP_REQ, F_IRC_O, F_IRC_R,
    F_MYSQL_GREET, F_RDP_CR, F_SSH_O, F_SSH_R, F_STARTTLS, F_TLS_WATCH, TCP_PACKETS,
};
use crate::record::{Service, ServiceList};

// The port lists below are `matches!` patterns rather than slices: asked
// of every payload segment, a slice search cost some 45 instructions a
// time, a pattern a few compares.

/// Ports Zeek's HTTP analyzer is registered for: there any method token
/// starts a request; elsewhere only the signature's GET/HEAD/POST.
fn http_port(p: u16) -> bool {
    matches!(p, 80 | 81 | 631 | 1080 | 3128 | 8000 | 8080 | 8888)
}

/// Zeek's `IRC::ports`.
fn irc_port(p: u16) -> bool {
    matches!(p, 6666..=6669)
}

/// Zeek's `SSL::ssl_ports`: the analyzer is attached there by port, so it
/// also parses SSLv2-framed hellos, for which no signature is loaded.
fn ssl_port(p: u16) -> bool {
    matches!(
        p,
        443 | 563 | 585 | 614 | 636 | 989 | 990 | 992 | 993 | 995 | 5223
    )
}

/// `skip` value after a direction's SSH packets stopped making sense.
const SSH_LOST: u32 = u32::MAX;

/// TCP detection state, kept in the (heap-allocated) TCP state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TcpDetect {
    pub d: Detect,
    /// Next expected sequence number per direction.
    next: [u32; 2],
    /// SSH: bytes of the current binary packet still to come per
    /// direction (`SSH_LOST` once lost).
    skip: [u32; 2],
    /// `M_*` bits (TCP-only progress).
    more: u8,
    /// HTTP: the originator's first bytes while its first segments are
    /// too short to hold a method (Zeek matches on the reassembled
    /// stream; some clients send a byte per segment).
    head_len: u8,
    head: [u8; HEAD],
}

/// Bytes of the originator's stream kept while its segments are tiny.
const HEAD: usize = 8;
/// HTTP: the request was HTTP/0.9 (the reply has no status line).
const M_HTTP09: u8 = 1;
/// SSH: the client's identification says protocol 1.
const M_SSH1: u8 = 2;

impl TcpDetect {
    /// The roles were swapped.
    pub fn flip(&mut self) {
        self.d.flip();
        self.next.swap(0, 1);
        self.skip.swap(0, 1);
    }
}

/// What a TCP connection asks of the tracker after a segment.
pub(crate) struct TcpInput<'a> {
    /// Enabled detectors.
    pub on: Detectors,
    /// Responder port.
    pub resp_port: u16,
    /// The DNS analyzer is attached to this port.
    pub dns_port: bool,
    /// Sent by the originator.
    pub is_orig: bool,
    /// Sequence number of the first payload byte.
    pub seq: u32,
    /// Payload length on the wire (for the next sequence number).
    pub len: u32,
    /// Captured payload.
    pub payload: &'a [u8],
    /// The connection started without a SYN: Zeek's HTTP analyzer ignores
    /// such connections (`TCP()->IsPartial()`).
    pub partial: bool,
}

/// Looks at one payload segment; returns an FTP data channel when a
/// confirmed FTP control connection announced one.
pub(crate) fn tcp_payload(
    det: &mut TcpDetect,
    svc: &mut ServiceList,
    inp: &TcpInput<'_>,
) -> Option<ftp::DataChannel> {
    let side = usize::from(!inp.is_orig);
    let n = det.d.seen(side);
    let ftp_watch = det.d.has(F_FTP_WATCH);
    if n >= TCP_PACKETS && !ftp_watch {
        if det.d.seen(1 - side) >= TCP_PACKETS {
            det.d.set(F_DONE);
        }
        return None;
    }
    if n != 0 && inp.seq != det.next[side] {
        return None;
    }
    det.next[side] = inp.seq.wrapping_add(inp.len);
    det.d.bump(side);
    let p = inp.payload;
    let mut chan = None;
    if ftp_watch {
        chan = ftp::data_channel(p);
        if inp.is_orig && mail::starttls_command(p) {
            det.d.set(F_STARTTLS);
        }
    }
    if n >= TCP_PACKETS {
        return chan;
    }
    let first = n == 0;
    let on = inp.on;
    let o = inp.is_orig;
    // The text protocols only ever look at the first line, and only when
    // the payload starts like text: cut it once here, so binary payload
    // (TLS records, SSH packets, bulk data) never gets scanned. Only a
    // side's first segment uses it (HTTP's request line, the greetings and
    // commands); a later one is cut below only for a STARTTLS check.
    let text = p
        .first()
        .is_some_and(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    let line = if text && first {
        text::first_line(p)
    } else {
        &[]
    };

    if on.has(Detector::Http) && !inp.partial {
        http_segment(det, svc, inp, first, line);
    }

    if on.has(Detector::Ssl) {
        let v2 = first && ssl_port(inp.resp_port) && tls::sslv2_client_hello(p);
        if o && (first || det.d.has(F_STARTTLS)) && (tls::client_hello(p) || v2) {
            svc.add(Service::Ssl);
            if first {
                det.d.set(F_TLS_WATCH);
            }
        } else if !o && first {
            if tls::server_hello(p) {
                svc.add(Service::Ssl);
            } else if det.d.has(F_TLS_WATCH) && !tls::record_header_ok(p) {
                // Zeek's violation: the service goes away again.
                svc.remove(Service::Ssl);
            }
        }
    }

    if on.has(Detector::Ssh) {
        ssh_segment(det, svc, side, first, p);
    }

    if text && first {
        text_first(det, svc, inp, line);
    } else if o
        && text
        && (svc.contains(Service::Smtp)
            || svc.contains(Service::Pop3)
            || svc.contains(Service::Imap))
        && mail::starttls_command(text::first_line(p))
    {
        det.d.set(F_STARTTLS);
    }

    if first {
        binary_first(det, svc, inp);
    }

    // Most connections are decided by the first payload of each side: stop
    // as soon as nothing waits for a later segment.
    if det.d.seen(0) > 0 && det.d.seen(1) > 0 && !wants_more(det, svc) {
        det.d.set(F_DONE);
    }
    chan
}

/// Whether a later segment can still change the outcome: an SSH key
/// exchange being walked, a command that may start TLS, an FTP control
/// connection, an HTTP request still being collected.
fn wants_more(det: &TcpDetect, svc: &ServiceList) -> bool {
    let ssh = (det.d.has(F_SSH_O) || det.d.has(F_SSH_R))
        && !svc.contains(Service::Ssh)
        && (det.skip[0] != SSH_LOST || det.skip[1] != SSH_LOST);
    let starttls = svc.contains(Service::Smtp)
        || svc.contains(Service::Pop3)
        || svc.contains(Service::Imap)
        || det.d.has(F_STARTTLS);
    let http_head = det.head_len > 0 && usize::from(det.head_len) < HEAD;
    ssh || starttls || http_head || det.d.has(F_FTP_WATCH)
}

/// The text protocols on a side's first line: greetings, FTP, the mail
/// protocols, IRC.
fn text_first(det: &mut TcpDetect, svc: &mut ServiceList, inp: &TcpInput<'_>, line: &[u8]) {
    let on = inp.on;
    let o = inp.is_orig;
    if !o {
        match mail::greeting(line) {
            Some(mail::Greeting::Code2xx) => det.d.set_greeting(1),
            Some(mail::Greeting::PopOk) => det.d.set_greeting(2),
            Some(mail::Greeting::ImapOk) => det.d.set_greeting(3),
            None => {}
        }
    }

    if on.has(Detector::Ftp) {
        if !o && !ftp::reply(line) {
            det.d.set(F_FTP_REJECT);
            if svc.contains(Service::Ftp) {
                svc.remove(Service::Ftp);
                det.d.flags &= !F_FTP_WATCH;
            }
        }
        // On port 21 any command-like first line confirms (Zeek attaches
        // FTP by port); elsewhere the signature wants a 220 greeting and
        // USER.
        let dpd = det.d.greeting() == 1 && text::starts_ci(line, b"USER ");
        if o && !det.d.has(F_FTP_REJECT) && (inp.resp_port == 21 || dpd) && ftp::command(line) {
            svc.add(Service::Ftp);
            det.d.set(F_FTP_WATCH);
        }
    }

    if o {
        let g = det.d.greeting();
        if on.has(Detector::Smtp) && g == 1 && mail::smtp_command(line) {
            svc.add(Service::Smtp);
        }
        if on.has(Detector::Pop3) && g == 2 && mail::pop3_command(line) {
            svc.add(Service::Pop3);
        }
        if on.has(Detector::Imap) && g == 3 && mail::imap_command(line) {
            svc.add(Service::Imap);
        }
    }

    if on.has(Detector::Irc) {
        // On IRC's ports the analyzer is attached by port and confirms on
        // any client line (Zeek's IRC_Analyzer); elsewhere its signature
        // wants a registration from the client and a server line.
        if o && irc_port(inp.resp_port) && text::trim_start(line).len() >= 3 {
            svc.add(Service::Irc);
        }
        if o && mail::irc_client(line) {
            det.d.set(F_IRC_O);
        } else if !o && mail::irc_server(line) {
            det.d.set(F_IRC_R);
        }
        if det.d.has(F_IRC_O) && det.d.has(F_IRC_R) {
            svc.add(Service::Irc);
        }
    }
}

/// The binary protocols on a side's first segment.
fn binary_first(det: &mut TcpDetect, svc: &mut ServiceList, inp: &TcpInput<'_>) {
    let (on, o, p) = (inp.on, inp.is_orig, inp.payload);
    if on.has(Detector::Mysql) && inp.resp_port == 3306 {
        if !o && mysql::greeting(p) {
            det.d.set(F_MYSQL_GREET);
        } else if o && det.d.has(F_MYSQL_GREET) && mysql::handshake_response(p) {
            svc.add(Service::Mysql);
        }
    }

    if on.has(Detector::Rdp) {
        if o && windows::rdp_request(p) {
            det.d.set(F_RDP_CR);
        } else if !o && det.d.has(F_RDP_CR) && windows::rdp_confirm(p) {
            svc.add(Service::Rdp);
        }
    }

    if o {
        if on.has(Detector::Smb) && windows::smb(p) {
            svc.add(Service::Smb);
        }
        if on.has(Detector::DceRpc) && windows::dce_rpc(p) {
            svc.add(Service::DceRpc);
        }
    }

    if on.has(Detector::Krb) && inp.resp_port == 88 && asn1::krb_tcp(p) {
        svc.add(Service::KrbTcp);
    }
    if on.has(Detector::Modbus) && inp.resp_port == 502 && modbus::adu(p) {
        svc.add(Service::Modbus);
    }
    if on.has(Detector::Dns) && inp.dns_port && dns::tcp_message_start(p) {
        svc.add(Service::Dns);
    }
}

/// HTTP: a request line from the originator, then the responder's status
/// line (or, after an HTTP/0.9 request, any reply).
fn http_segment(
    det: &mut TcpDetect,
    svc: &mut ServiceList,
    inp: &TcpInput<'_>,
    first: bool,
    line: &[u8],
) {
    let p = inp.payload;
    let any_method = http_port(inp.resp_port);
    if inp.is_orig {
        if first && p.len() >= HEAD {
            if http::request_line(line, any_method) {
                det.d.set(F_HTTP_REQ);
                if http::request_is_09(p) {
                    det.more |= M_HTTP09;
                }
            }
        } else if (first || det.head_len > 0) && usize::from(det.head_len) < HEAD {
            let at = usize::from(det.head_len);
            let n = p.len().min(HEAD - at);
            det.head[at..at + n].copy_from_slice(&p[..n]);
            det.head_len += n as u8;
            if usize::from(det.head_len) == HEAD && http::request_start(&det.head, any_method) {
                det.d.set(F_HTTP_REQ);
            }
        }
    } else if first && det.d.has(F_HTTP_REQ) && (http::status_line(p) || det.more & M_HTTP09 != 0) {
        svc.add(Service::Http);
    }
}

/// SSH: identification lines on both sides, then NEWKEYS (SSH1: the
/// session key) from either.
fn ssh_segment(det: &mut TcpDetect, svc: &mut ServiceList, side: usize, first: bool, p: &[u8]) {
    let flag = if side == 0 { F_SSH_O } else { F_SSH_R };
    let rest = if first {
        if side == 0 && ssh::banner_v1(p) {
            det.more |= M_SSH1;
        }
        // Only a payload that starts with the identification is scanned
        // for its line end (lines before it are not followed).
        let after = if ssh::banner(p) {
            ssh::after_banner(p)
        } else {
            None
        };
        match after {
            Some(rest) => {
                det.d.set(flag);
                det.skip[side] = 0;
                rest
            }
            None => {
                if ssh::banner(p) {
                    // The line goes on in the next segment: packet
                    // boundaries are not followed then.
                    det.d.set(flag);
                }
                det.skip[side] = SSH_LOST;
                return;
            }
        }
    } else if det.d.has(flag) && det.skip[side] != SSH_LOST {
        p
    } else {
        return;
    };
    let walk = if det.more & M_SSH1 != 0 {
        ssh::walk_v1(rest, &mut det.skip[side])
    } else {
        ssh::walk(rest, &mut det.skip[side])
    };
    match walk {
        ssh::Walk::NewKeys => {
            det.skip[side] = SSH_LOST;
            if det.d.has(F_SSH_O) && det.d.has(F_SSH_R) {
                svc.add(Service::Ssh);
            }
        }
        ssh::Walk::More => {}
        ssh::Walk::Lost => det.skip[side] = SSH_LOST,
    }
}
