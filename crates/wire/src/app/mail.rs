//! SMTP, POP3, IMAP and IRC: line protocols recognised by the server's
//! greeting and the client's first command, the exchange after which
//! Zeek's analyzers have confirmed. Also the commands that start TLS
//! inside them (STARTTLS, STLS, AUTH TLS), after which Zeek's SSL analyzer
//! takes over and adds `ssl` (`smtp,ssl`).

use super::text::{eq_ci, first_line, starts_ci, trim_start, word};

/// A server greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// A 2xx reply line (SMTP `220`, also FTP's).
    Code2xx,
    /// `+OK` (POP3).
    PopOk,
    /// `* OK` or `* PREAUTH` (IMAP).
    ImapOk,
}

/// The greeting kind of a server's first line.
pub fn greeting(p: &[u8]) -> Option<Greeting> {
    if !matches!(p.first(), Some(b'2' | b'+' | b'*')) {
        return None;
    }
    let line = first_line(p);
    match line {
        [b'2', b, c, d, ..]
            if b.is_ascii_digit() && c.is_ascii_digit() && (*d == b' ' || *d == b'-') =>
        {
            Some(Greeting::Code2xx)
        }
        _ if starts_ci(line, b"+OK") => Some(Greeting::PopOk),
        _ if starts_ci(line, b"* OK") || starts_ci(line, b"* PREAUTH") => Some(Greeting::ImapOk),
        _ => None,
    }
}

/// An SMTP client's opening command (HELO/EHLO).
pub fn smtp_command(p: &[u8]) -> bool {
    let (w, _) = word(trim_start(first_line(p)));
    eq_ci(w, b"HELO") || eq_ci(w, b"EHLO")
}

/// A POP3 command (RFC 1939 and its extensions).
pub fn pop3_command(p: &[u8]) -> bool {
    const CMDS: &[&[u8]] = &[
        b"USER", b"PASS", b"APOP", b"AUTH", b"CAPA", b"STLS", b"QUIT", b"STAT", b"LIST", b"RETR",
        b"DELE", b"NOOP", b"RSET", b"TOP", b"UIDL", b"XSENDER", b"LAST",
    ];
    let (w, _) = word(first_line(p));
    CMDS.iter().any(|c| eq_ci(w, c))
}

/// An IMAP command: a tag, then a known command.
pub fn imap_command(p: &[u8]) -> bool {
    const CMDS: &[&[u8]] = &[
        b"CAPABILITY",
        b"LOGIN",
        b"AUTHENTICATE",
        b"STARTTLS",
        b"NOOP",
        b"LOGOUT",
        b"ID",
        b"SELECT",
        b"EXAMINE",
        b"LIST",
        b"LSUB",
        b"STATUS",
        b"ENABLE",
    ];
    let (tag, rest) = word(first_line(p));
    let (cmd, _) = word(rest);
    !tag.is_empty()
        && tag
            .iter()
            .all(|b| b.is_ascii_graphic() && *b != b'*' && *b != b'+')
        && CMDS.iter().any(|c| eq_ci(cmd, c))
}

/// A command that switches the session to TLS.
pub fn starttls_command(p: &[u8]) -> bool {
    let line = trim_start(first_line(p));
    let (w, rest) = word(line);
    if eq_ci(w, b"STARTTLS") || eq_ci(w, b"STLS") {
        return true;
    }
    if eq_ci(w, b"AUTH") {
        return starts_ci(rest, b"TLS") || starts_ci(rest, b"SSL");
    }
    // IMAP: a tag first.
    let (cmd, _) = word(rest);
    eq_ci(cmd, b"STARTTLS")
}

/// An IRC client's registration (NICK, USER, PASS or CAP).
pub fn irc_client(p: &[u8]) -> bool {
    if !matches!(
        p.first(),
        Some(b'N' | b'U' | b'P' | b'C' | b'n' | b'u' | b'p' | b'c')
    ) {
        return false;
    }
    let (w, rest) = word(first_line(p));
    (eq_ci(w, b"NICK") || eq_ci(w, b"USER") || eq_ci(w, b"PASS") || eq_ci(w, b"CAP"))
        && !rest.is_empty()
}

/// An IRC server line: a `:prefix` then a command or numeric, or a bare
/// NOTICE/PING.
pub fn irc_server(p: &[u8]) -> bool {
    if !matches!(p.first(), Some(b':' | b'N' | b'P' | b'n' | b'p')) {
        return false;
    }
    let line = first_line(p);
    if let Some(rest) = line.strip_prefix(b":") {
        let (prefix, rest) = word(rest);
        let (cmd, _) = word(rest);
        return !prefix.is_empty()
            && !cmd.is_empty()
            && cmd.iter().all(|b| b.is_ascii_alphanumeric());
    }
    let (w, rest) = word(line);
    (eq_ci(w, b"NOTICE") || eq_ci(w, b"PING")) && !rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        assert_eq!(
            greeting(b"220 mx.example.com ESMTP\r\n"),
            Some(Greeting::Code2xx)
        );
        assert_eq!(greeting(b"+OK POP server ready\r\n"), Some(Greeting::PopOk));
        assert_eq!(
            greeting(b"* OK IMAP4rev1 ready\r\n"),
            Some(Greeting::ImapOk)
        );
        assert_eq!(greeting(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(greeting(b"2000"), None);
    }

    #[test]
    fn commands() {
        assert!(smtp_command(b"EHLO client.example.com\r\n"));
        assert!(!smtp_command(b"GET / HTTP/1.1\r\n"));
        assert!(pop3_command(b"CAPA\r\n"));
        assert!(pop3_command(b"USER bob\r\n"));
        assert!(!pop3_command(b"EHLO x\r\n"));
        assert!(imap_command(b"a001 CAPABILITY\r\n"));
        assert!(!imap_command(b"* OK x\r\n"));
        assert!(starttls_command(b"STARTTLS\r\n"));
        assert!(starttls_command(b"STLS\r\n"));
        assert!(starttls_command(b"AUTH TLS\r\n"));
        assert!(starttls_command(b"a002 STARTTLS\r\n"));
        assert!(!starttls_command(b"AUTH PLAIN x\r\n"));
    }

    #[test]
    fn irc() {
        assert!(irc_client(b"NICK alice\r\nUSER a 0 * :A\r\n"));
        assert!(!irc_client(b"NICK\r\n"));
        assert!(irc_server(
            b":irc.example.net NOTICE * :*** Looking up your hostname\r\n"
        ));
        assert!(irc_server(b":irc.example.net 001 alice :Welcome\r\n"));
        assert!(!irc_server(b"HTTP/1.1 200 OK\r\n"));
    }
}
