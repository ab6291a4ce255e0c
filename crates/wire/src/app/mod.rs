//! Application-protocol recognisers for conn.log's `service` column.
//!
//! Zeek only writes a service once a protocol parser *confirms* it (spec
//! §8): a port alone never does. These functions are the minimal parses
//! that stand in for Zeek's confirmation points: each looks at the first
//! bytes of one direction of a connection and says whether they are a
//! well-formed first message of its protocol. They are pure, never
//! allocate, never panic on any input, and read at most a few hundred
//! bytes; which of them run, on which packets, and how their answers
//! combine into a confirmation is `connwatch-track`'s business.

pub mod asn1;
pub mod dns;
pub mod ftp;
pub mod http;
pub mod mail;
pub mod misc_udp;
pub mod modbus;
pub mod mysql;
pub mod quic;
pub mod sip;
pub mod ssh;
pub mod text;
pub mod tls;
pub mod windows;

/// Runs every recogniser on `data` (fuzzing and corpus replay).
pub fn fuzz_app(data: &[u8]) {
    use core::hint::black_box;
    black_box(dns::message(data));
    black_box(dns::tcp_message(data));
    black_box(http::request_line(data, true));
    black_box(http::request_line(data, false));
    black_box(http::status_line(data));
    black_box(tls::client_hello(data));
    black_box(tls::server_hello(data));
    black_box(tls::record_header_ok(data));
    black_box(tls::dtls_hello(data));
    black_box(ssh::banner(data));
    let mut skip = 0u32;
    black_box(ssh::walk(data, &mut skip));
    black_box(ssh::after_banner(data));
    black_box(ssh::banner_v1(data));
    let mut skip = 0u32;
    black_box(ssh::walk_v1(data, &mut skip));
    black_box(http::request_is_09(data));
    black_box(http::request_start(data, true));
    black_box(ftp::command(data));
    black_box(ftp::reply(data));
    black_box(ftp::data_channel(data));
    black_box(mail::greeting(data));
    black_box(mail::smtp_command(data));
    black_box(mail::pop3_command(data));
    black_box(mail::imap_command(data));
    black_box(mail::starttls_command(data));
    black_box(mail::irc_client(data));
    black_box(mail::irc_server(data));
    black_box(misc_udp::ntp(data));
    black_box(misc_udp::dhcp(data));
    black_box(modbus::adu(data));
    black_box(mysql::greeting(data));
    black_box(mysql::handshake_response(data));
    black_box(quic::long_header(data));
    black_box(quic::client_initial(data));
    black_box(sip::message(data));
    black_box(sip::status(data));
    black_box(tls::sslv2_client_hello(data));
    black_box(dns::tcp_message_start(data));
    black_box(asn1::snmp(data));
    black_box(asn1::krb(data));
    black_box(asn1::krb_tcp(data));
    black_box(windows::smb(data));
    black_box(windows::dce_rpc(data));
    black_box(windows::rdp_request(data));
    black_box(windows::rdp_confirm(data));
    black_box(text::first_line(data));
}
