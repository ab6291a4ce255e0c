//! Detection on UDP datagrams: each protocol's message stands alone, so
//! the first few datagrams of each direction are enough; QUIC wants the
//! client's Initial answered by a long-header packet.

use connwatch_wire::app::{asn1, dns, misc_udp, quic, sip, tls};

use super::{Detect, Detector, Detectors, F_DONE, F_QUIC_CI, UDP_PACKETS};
use crate::record::{Service, ServiceList};

/// Looks at one datagram of a UDP connection.
#[allow(clippy::too_many_arguments)]
pub(crate) fn udp_payload(
    d: &mut Detect,
    svc: &mut ServiceList,
    on: Detectors,
    resp_port: u16,
    dns_port: bool,
    is_orig: bool,
    p: &[u8],
) {
    let side = usize::from(!is_orig);
    if d.seen(side) >= UDP_PACKETS {
        if d.seen(1 - side) >= UDP_PACKETS {
            d.set(F_DONE);
        }
        return;
    }
    d.bump(side);
    if p.is_empty() {
        return;
    }
    let found = if on.has(Detector::Dns) && dns_port && dns::message(p) {
        Some(Service::Dns)
    } else if on.has(Detector::Ntp) && resp_port == 123 && misc_udp::ntp(p) {
        Some(Service::Ntp)
    } else if on.has(Detector::Dhcp) && misc_udp::dhcp(p) {
        // Zeek's `dhcp_cookie` signature finds the magic cookie on any port.
        Some(Service::Dhcp)
    } else if on.has(Detector::Snmp) && matches!(resp_port, 161 | 162) && asn1::snmp(p) {
        Some(Service::Snmp)
    } else if on.has(Detector::Krb) && resp_port == 88 && asn1::krb(p) {
        Some(Service::Krb)
    } else if on.has(Detector::Sip) && (sip::status(p) || (resp_port == 5060 && sip::message(p))) {
        // SIP's port parses requests and replies; its signature finds
        // replies anywhere.
        Some(Service::Sip)
    } else if on.has(Detector::Ssl) && tls::dtls_hello(p) {
        Some(Service::Dtls)
    } else if on.has(Detector::Quic) {
        if is_orig && quic::client_initial(p) {
            d.set(F_QUIC_CI);
            None
        } else if !is_orig && d.has(F_QUIC_CI) && quic::long_header(p).is_some() {
            Some(Service::Quic)
        } else {
            None
        }
    } else {
        None
    };
    if let Some(s) = found {
        svc.add(s);
        d.set(F_DONE);
    } else if d.seen(0) > 0 && d.seen(1) > 0 && !d.has(F_QUIC_CI) {
        // Both sides have spoken and nothing waits for an answer.
        d.set(F_DONE);
    }
}
