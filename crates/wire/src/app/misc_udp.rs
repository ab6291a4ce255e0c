//! NTP and DHCP: single-datagram protocols that Zeek confirms as soon as
//! one message parses.

/// An NTP message: a standard mode-1..5 packet (48 bytes at least,
/// version 1–4), a mode-6 control message or a mode-7 private one.
pub fn ntp(p: &[u8]) -> bool {
    let Some(&b) = p.first() else {
        return false;
    };
    let version = (b >> 3) & 7;
    match b & 7 {
        1..=5 => p.len() >= 48 && (1..=4).contains(&version),
        6 => p.len() >= 12 && (1..=4).contains(&version),
        7 => p.len() >= 8 && (1..=4).contains(&version),
        _ => false,
    }
}

/// A DHCP (BOOTP) message: op 1 or 2, a sane hardware address length and
/// the DHCP magic cookie after the fixed header.
pub fn dhcp(p: &[u8]) -> bool {
    matches!(*p, [1 | 2, _, 0..=16, ..])
        && matches!(p.get(236..240), Some([0x63, 0x82, 0x53, 0x63]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_messages() {
        let mut client = [0u8; 48];
        client[0] = 0x23; // v4, mode 3
        assert!(ntp(&client));
        assert!(!ntp(&client[..40]));
        client[0] = 0x03; // version 0
        assert!(!ntp(&client));
        assert!(!ntp(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"));
    }

    #[test]
    fn dhcp_messages() {
        let mut m = [0u8; 300];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
        assert!(dhcp(&m));
        m[236] = 0;
        assert!(!dhcp(&m));
        assert!(!dhcp(b"\x01\x01\x06"));
    }
}
