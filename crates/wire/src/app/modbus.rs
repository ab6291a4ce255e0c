//! Modbus/TCP (port 502 only: Zeek has no signature for it). The MBAP
//! header's protocol id is 0 and its length covers the unit id and the
//! PDU; scanners and other protocols on 502 fail that check and stay `-`.

/// A Modbus/TCP application data unit at the start of `p`.
pub fn adu(p: &[u8]) -> bool {
    let [_, _, 0, 0, l0, l1, _unit, func, ..] = *p else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    // Length covers unit id + function code at least, at most 254 bytes
    // of PDU; the ADU fits what was sent (a segment may hold several).
    (2..=254).contains(&len) && 6 + len <= p.len() && func != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adus() {
        assert!(adu(b"\x00\x01\x00\x00\x00\x06\x0a\x01\x00\x00\x00\x01"));
        assert!(adu(b"\x00\x01\x00\x00\x00\x04\x0a\x01\x01\x00"));
        // DCE/RPC bind, TLS, HTTP on port 502.
        assert!(!adu(b"\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00"));
        assert!(!adu(b"\x16\x03\x01\x00\x85\x01\x00\x00\x81\x03"));
        assert!(!adu(b"GET / HTTP/1.1\r\n"));
        // Length beyond the payload.
        assert!(!adu(b"\x00\x01\x00\x00\x00\x10\x0a\x01"));
    }
}
