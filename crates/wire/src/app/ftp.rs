//! FTP: Zeek's FTP analyzer confirms on the first client line whose first
//! word looks like a command (3+ printable characters) and raises a
//! violation on a server line without a 3-digit reply code (>= 100). It
//! also announces data connections (PORT/EPRT from the client, 227/229
//! replies from the server), which get the `ftp-data` service.

use core::net::{IpAddr, Ipv4Addr};

use super::text::{first_line, reply_code, trim_start, word};

/// A client line Zeek takes as an FTP command.
pub fn command(p: &[u8]) -> bool {
    let (cmd, _) = word(trim_start(first_line(p)));
    cmd.len() >= 3 && cmd.len() <= 100 && cmd.iter().all(|b| b.is_ascii_graphic())
}

/// A server line Zeek accepts as a reply: a code of at least 100, then a
/// space, a dash or the end of the line.
pub fn reply(p: &[u8]) -> bool {
    if !p.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let line = first_line(p);
    match reply_code(line) {
        Some(c) if c >= 100 => matches!(line.get(3), None | Some(b' ' | b'-')),
        _ => false,
    }
}

/// An announced data connection: the responder port, and its address when
/// the announcement names one (`None`: the peer's own address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannel {
    /// Address given in the announcement.
    pub addr: Option<IpAddr>,
    /// Port the data connection goes to.
    pub port: u16,
    /// Announced by the client (PORT/EPRT: the server connects to it).
    pub active: bool,
}

/// Finds a PORT/EPRT command or a 227/229 reply among the lines of `p`.
pub fn data_channel(p: &[u8]) -> Option<DataChannel> {
    let p = &p[..p.len().min(2048)];
    for line in p.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(d) = line_channel(line) {
            return Some(d);
        }
    }
    None
}

fn line_channel(line: &[u8]) -> Option<DataChannel> {
    let (w, rest) = word(line);
    if w.eq_ignore_ascii_case(b"PORT") {
        let (addr, port) = six_numbers(rest)?;
        return Some(DataChannel {
            addr: Some(IpAddr::V4(addr)),
            port,
            active: true,
        });
    }
    if w.eq_ignore_ascii_case(b"EPRT") {
        // EPRT |1|192.0.2.1|6275|
        let d = *rest.first()?;
        let mut it = rest.split(|&b| b == d).skip(1);
        let _proto = it.next()?;
        let addr = core::str::from_utf8(it.next()?).ok()?.parse().ok()?;
        let port = number(it.next()?)?;
        return Some(DataChannel {
            addr: Some(addr),
            port,
            active: true,
        });
    }
    match w {
        b"227" => {
            // 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2): the numbers
            // may come with or without parentheses.
            let start = rest.iter().position(u8::is_ascii_digit)?;
            let (addr, port) = six_numbers(&rest[start..])?;
            Some(DataChannel {
                addr: Some(IpAddr::V4(addr)),
                port,
                active: false,
            })
        }
        b"229" => {
            // 229 Entering Extended Passive Mode (|||6446|)
            let open = rest.iter().position(|&b| b == b'(')?;
            let inner = &rest[open + 1..];
            let d = *inner.first()?;
            let port = number(inner.split(|&b| b == d).nth(3)?)?;
            Some(DataChannel {
                addr: None,
                port,
                active: false,
            })
        }
        _ => None,
    }
}

fn number(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(s).ok()?.parse().ok()
}

/// `h1,h2,h3,h4,p1,p2` at the start of `s`.
fn six_numbers(s: &[u8]) -> Option<(Ipv4Addr, u16)> {
    let mut n = [0u8; 6];
    let mut it = s.split(|&b| b == b',');
    for v in &mut n {
        let part = it.next()?;
        let digits: &[u8] = {
            let e = part
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(part.len());
            &part[..e]
        };
        *v = u8::try_from(number(digits)?).ok()?;
    }
    Some((
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from_be_bytes([n[4], n[5]]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_replies() {
        assert!(command(b"USER anonymous\r\n"));
        assert!(command(b"PWD\r\n"));
        assert!(!command(b"\x16\x03\x01"));
        assert!(reply(b"220 ftp.NetBSD.org FTP server ready.\r\n"));
        assert!(reply(b"230-\r\n"));
        assert!(!reply(b"SSH-2.0-x\r\n"));
        assert!(!reply(b"099 x"));
        assert!(!reply(b"2200"));
    }

    #[test]
    fn channels() {
        assert_eq!(
            data_channel(b"229 Entering Extended Passive Mode (|||57086|)\r\n"),
            Some(DataChannel {
                addr: None,
                port: 57086,
                active: false
            })
        );
        assert_eq!(
            data_channel(b"227 Entering Passive Mode (192,168,1,2,4,1).\r\n"),
            Some(DataChannel {
                addr: Some("192.168.1.2".parse().unwrap()),
                port: 1025,
                active: false
            })
        );
        assert_eq!(
            data_channel(b"EPRT |2|2001:db8::1|49189|\r\n"),
            Some(DataChannel {
                addr: Some("2001:db8::1".parse().unwrap()),
                port: 49189,
                active: true
            })
        );
        assert_eq!(
            data_channel(b"PORT 10,0,0,1,200,10\r\n").map(|d| d.port),
            Some(51210)
        );
        assert_eq!(data_channel(b"PORT 300,0,0,1,1,1\r\n"), None);
        assert_eq!(data_channel(b"226 Transfer complete.\r\n"), None);
    }
}
