//! SMB, DCE/RPC and RDP. Zeek's signatures and parsers for them key on
//! fixed header bytes: SMB's `\xffSMB`/`\xfeSMB` after a NetBIOS session
//! header, DCE/RPC's version 5 PDU header (`dpd_dce_rpc`), and RDP's TPKT +
//! X.224 Connection Request/Confirm.

/// An SMB1/SMB2/SMB3 message after a NetBIOS session-message header.
pub fn smb(p: &[u8]) -> bool {
    matches!(*p, [0, _, _, _, 0xfd..=0xff, b'S', b'M', b'B', ..])
}

/// A DCE/RPC connection-oriented PDU header: version 5.0/5.1, a PDU type
/// up to 19, then (as Zeek's signature insists) first+last fragment flags,
/// a data representation and a fragment length of at least a header.
pub fn dce_rpc(p: &[u8]) -> bool {
    let [5, 0 | 1, 0..=19, 3, drep, _, _, _, f0, f1, ..] = *p else {
        return false;
    };
    let frag_len = if drep & 0x10 != 0 {
        u16::from_le_bytes([f0, f1])
    } else {
        u16::from_be_bytes([f0, f1])
    };
    frag_len >= 16
}

/// TPKT (version 3) carrying an X.224 Connection Request (RDP's first
/// client message, e.g. with the `Cookie: mstshash=` line).
pub fn rdp_request(p: &[u8]) -> bool {
    tpkt_x224(p, 0xe0)
}

/// TPKT carrying an X.224 Connection Confirm (the server's answer).
pub fn rdp_confirm(p: &[u8]) -> bool {
    tpkt_x224(p, 0xd0)
}

fn tpkt_x224(p: &[u8], code: u8) -> bool {
    let [3, 0, l0, l1, li, cc, ..] = *p else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    len >= 11 && len <= p.len() && usize::from(li) + 5 <= len && cc & 0xf0 == code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smb_messages() {
        assert!(smb(b"\x00\x00\x00\x85\xffSMBr\x00\x00\x00\x00"));
        assert!(smb(b"\x00\x00\x00\x66\xfeSMB\x40\x00"));
        assert!(!smb(b"\x00\x00\x00\x85\xffSMX"));
    }

    #[test]
    fn dce_rpc_pdus() {
        assert!(dce_rpc(
            b"\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00"
        ));
        // The 9-byte echo a honeypot sent back: no fragment length.
        assert!(!dce_rpc(b"\x05\x00\x0b\x03\x00\x03\x00\x80\x01"));
        assert!(!dce_rpc(b"\x80\x00\x00\x28\x7e\x86\xab\x4a\x00\x00"));
    }

    #[test]
    fn rdp() {
        let cr = b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=admin\r\n\x01\x00\x08\x00\x01\x00\x00\x00";
        assert!(rdp_request(cr));
        assert!(!rdp_confirm(cr));
        assert!(rdp_confirm(
            b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x01\x00\x00\x00"
        ));
        assert!(!rdp_request(b"\x03\x00\x00\x2b\x00\x03\x00\x80\x01"));
    }
}
