//! Fills conn.log's `service` column the way Zeek does: a service appears
//! only when a protocol parser *confirms* it (spec §8), never from a port.
//!
//! The recognisers are in `connwatch_wire::app`; this module decides which
//! of them run on which packets, keeps the little state a confirmation
//! needs (a request seen before its reply, a greeting before a command,
//! the SSH packet boundary) and applies Zeek's removal of a service whose
//! parser later fails (an HTTP reply to a TLS ClientHello).
//!
//! Cost: detection looks at the first [`TCP_PACKETS`] in-order payload
//! segments of each TCP direction and the first [`UDP_PACKETS`] datagrams
//! of each UDP direction, then marks itself done; from then on a packet
//! pays one flag test. The state is four bytes for UDP (in padding of the
//! UDP state) and 32 for TCP (in the heap-allocated TCP state), so
//! `Conn` does not grow. The one exception to "stop early" is a confirmed
//! FTP control connection, which is watched for data-channel
//! announcements (PORT/EPRT, 227/229) for its whole life, as Zeek's FTP
//! scripts do: control connections carry few packets.

mod tcp;
mod udp;

pub(crate) use tcp::{tcp_payload, TcpDetect, TcpInput};
pub(crate) use udp::udp_payload;

/// Payload segments looked at per TCP direction (SSH needs its key
/// exchange, STARTTLS a few command round trips).
pub const TCP_PACKETS: u8 = 8;
/// Datagrams looked at per UDP direction.
pub const UDP_PACKETS: u8 = 4;

/// Which protocol detectors run: Zeek's loaded protocol scripts decide
/// which analyzers exist (`zeek -b` loads only the listed ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detectors(u32);

/// One detector: its bit, its Zeek script and what it can confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Detector {
    Dns,
    Http,
    /// TLS over TCP and DTLS over UDP (both in `base/protocols/ssl`).
    Ssl,
    Ssh,
    /// FTP control and the `ftp-data` connections it announces.
    Ftp,
    Smtp,
    Pop3,
    Imap,
    Ntp,
    Dhcp,
    Snmp,
    Sip,
    Rdp,
    Smb,
    /// Kerberos over UDP (`krb`) and TCP (`krb_tcp`).
    Krb,
    Mysql,
    Quic,
    Irc,
    Modbus,
    DceRpc,
}

impl Detector {
    /// Every detector.
    pub const ALL: [Detector; 20] = [
        Detector::Dns,
        Detector::Http,
        Detector::Ssl,
        Detector::Ssh,
        Detector::Ftp,
        Detector::Smtp,
        Detector::Pop3,
        Detector::Imap,
        Detector::Ntp,
        Detector::Dhcp,
        Detector::Snmp,
        Detector::Sip,
        Detector::Rdp,
        Detector::Smb,
        Detector::Krb,
        Detector::Mysql,
        Detector::Quic,
        Detector::Irc,
        Detector::Modbus,
        Detector::DceRpc,
    ];

    /// The Zeek script that loads the analyzer (`base/protocols/<name>`).
    pub fn script(self) -> &'static str {
        match self {
            Detector::Dns => "base/protocols/dns",
            Detector::Http => "base/protocols/http",
            Detector::Ssl => "base/protocols/ssl",
            Detector::Ssh => "base/protocols/ssh",
            Detector::Ftp => "base/protocols/ftp",
            Detector::Smtp => "base/protocols/smtp",
            Detector::Pop3 => "base/protocols/pop3",
            Detector::Imap => "base/protocols/imap",
            Detector::Ntp => "base/protocols/ntp",
            Detector::Dhcp => "base/protocols/dhcp",
            Detector::Snmp => "base/protocols/snmp",
            Detector::Sip => "base/protocols/sip",
            Detector::Rdp => "base/protocols/rdp",
            Detector::Smb => "base/protocols/smb",
            Detector::Krb => "base/protocols/krb",
            Detector::Mysql => "base/protocols/mysql",
            Detector::Quic => "base/protocols/quic",
            Detector::Irc => "base/protocols/irc",
            Detector::Modbus => "base/protocols/modbus",
            Detector::DceRpc => "base/protocols/dce-rpc",
        }
    }
}

impl Detectors {
    /// No detector: `service` only ever shows tunnels.
    pub const NONE: Detectors = Detectors(0);
    /// Every detector (a full `zeek -r` run).
    pub const ALL: Detectors = Detectors((1 << Detector::ALL.len()) - 1);

    /// This set plus `d`.
    pub fn with(self, d: Detector) -> Detectors {
        Detectors(self.0 | 1 << d as u8)
    }

    /// Whether `d` runs.
    #[inline]
    pub fn has(self, d: Detector) -> bool {
        self.0 & (1 << d as u8) != 0
    }

    /// Whether any detector runs.
    #[inline]
    pub fn any(self) -> bool {
        self.0 != 0
    }
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors::ALL
    }
}

/// Per-connection detection progress shared by TCP and UDP: four bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Detect {
    /// Payload packets looked at: originator in the low nibble, responder
    /// in the high one.
    pkts: u8,
    /// Fills the padding byte with a type that has only one valid value,
    /// so that `ProtoState` can keep its variant tag there (24 bytes
    /// instead of 32 for every connection).
    _niche: Niche,
    /// `F_*` progress bits.
    flags: u16,
}

/// A byte with a single valid value (see `Detect::_niche`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(u8)]
enum Niche {
    #[default]
    Zero = 0,
}

/// Detection is over for this connection.
pub(crate) const F_DONE: u16 = 1;
/// HTTP: the originator sent a request line.
const F_HTTP_REQ: u16 = 1 << 1;
/// SSH: identification lines seen (originator, responder).
const F_SSH_O: u16 = 1 << 2;
const F_SSH_R: u16 = 1 << 3;
/// SSL confirmed by a ClientHello: the responder's first record decides
/// whether it stays (Zeek's violation removes it).
const F_TLS_WATCH: u16 = 1 << 4;
/// The responder's greeting kind (2 bits: 1 = 2xx, 2 = `+OK`, 3 = `* OK`).
const F_GREET_SHIFT: u16 = 5;
const F_GREET_MASK: u16 = 3 << F_GREET_SHIFT;
/// A STARTTLS-like command was sent: a ClientHello may follow.
const F_STARTTLS: u16 = 1 << 7;
/// FTP confirmed: watch for data-channel announcements.
const F_FTP_WATCH: u16 = 1 << 8;
/// FTP's responder sent a line that is not a reply (Zeek's violation).
const F_FTP_REJECT: u16 = 1 << 9;
/// MySQL: the server's handshake was seen.
const F_MYSQL_GREET: u16 = 1 << 10;
/// RDP: the client's X.224 Connection Request was seen.
const F_RDP_CR: u16 = 1 << 11;
/// IRC: client registration / server line seen.
const F_IRC_O: u16 = 1 << 12;
const F_IRC_R: u16 = 1 << 13;
/// QUIC: the client's Initial was seen.
const F_QUIC_CI: u16 = 1 << 14;

impl Detect {
    /// Whether detection still runs.
    #[inline]
    pub fn active(&self) -> bool {
        self.flags & F_DONE == 0
    }

    fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    fn set(&mut self, f: u16) {
        self.flags |= f;
    }

    /// Packets looked at on `side` (0 = originator).
    fn seen(&self, side: usize) -> u8 {
        if side == 0 {
            self.pkts & 0x0f
        } else {
            self.pkts >> 4
        }
    }

    fn bump(&mut self, side: usize) {
        if self.seen(side) < 15 {
            self.pkts += if side == 0 { 1 } else { 0x10 };
        }
    }

    fn greeting(&self) -> u16 {
        (self.flags & F_GREET_MASK) >> F_GREET_SHIFT
    }

    fn set_greeting(&mut self, g: u16) {
        self.flags = (self.flags & !F_GREET_MASK) | ((g & 3) << F_GREET_SHIFT);
    }

    /// The roles were swapped: per-side counters follow.
    pub fn flip(&mut self) {
        self.pkts = self.pkts.rotate_left(4);
        let (o, r) = (self.has(F_SSH_O), self.has(F_SSH_R));
        self.flags &= !(F_SSH_O | F_SSH_R);
        if o {
            self.set(F_SSH_R);
        }
        if r {
            self.set(F_SSH_O);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_small() {
        assert_eq!(core::mem::size_of::<Detect>(), 4);
        assert_eq!(core::mem::size_of::<TcpDetect>(), 32);
    }

    #[test]
    fn detector_sets() {
        let s = Detectors::NONE.with(Detector::Dns);
        assert!(s.has(Detector::Dns) && !s.has(Detector::Http) && s.any());
        assert!(!Detectors::NONE.any());
        assert!(Detector::ALL.iter().all(|d| Detectors::ALL.has(*d)));
    }

    #[test]
    fn nibbles_and_flip() {
        let mut d = Detect::default();
        d.bump(0);
        d.bump(1);
        d.bump(1);
        d.set(F_SSH_O);
        d.flip();
        assert_eq!((d.seen(0), d.seen(1)), (2, 1));
        assert!(d.has(F_SSH_R) && !d.has(F_SSH_O));
    }
}
