//! Walking a TPACKET_V3 receive ring: the blocks the kernel hands over,
//! and the packets in each, lent out as [`Frame`]s pointing into the ring.
//!
//! Kept apart from the socket (`af_packet.rs`) so it can be tested and
//! fuzzed on ordinary memory: the kernel is trusted to fill the ring, but a
//! wrong offset here would read outside it, so every offset is checked
//! against the block before use, and a block whose headers do not add up
//! is given back unread.
//!
//! Layouts (`<linux/if_packet.h>`), read at their fixed ABI offsets rather
//! than through `libc`'s struct definitions, whose unions differ between
//! libc versions:
//!
//! ```text
//! struct tpacket_block_desc { u32 version; u32 offset_to_priv;
//!   struct tpacket_hdr_v1 { u32 block_status; u32 num_pkts;
//!   u32 offset_to_first_pkt; u32 blk_len; u64 seq_num; ts first, last } }
//! struct tpacket3_hdr { u32 tp_next_offset; u32 tp_sec; u32 tp_nsec;
//!   u32 tp_snaplen; u32 tp_len; u32 tp_status; u16 tp_mac; u16 tp_net;
//!   { u32 tp_rxhash; u32 tp_vlan_tci; u16 tp_vlan_tpid; u16 pad; };
//!   u8 tp_padding[8]; }                       // 48 bytes, then:
//! struct sockaddr_ll { u16 family; u16 protocol; i32 ifindex;
//!   u16 hatype; u8 pkttype; ... }
//! ```

use std::sync::atomic::{fence, Ordering};

use connwatch_wire::{Frame, LinkType, Timestamp};

pub(crate) const TP_STATUS_KERNEL: u32 = 0;
pub(crate) const TP_STATUS_USER: u32 = 1;
pub(crate) const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
pub(crate) const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
pub(crate) const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
pub(crate) const PACKET_OUTGOING: u8 = 4;

pub(crate) const BLK_STATUS: usize = 8;
pub(crate) const BLK_NUM_PKTS: usize = 12;
pub(crate) const BLK_FIRST_PKT: usize = 16;
pub(crate) const BLK_LEN: usize = 20;
pub(crate) const PKT_HDR_LEN: usize = 48;
pub(crate) const SLL_PKTTYPE: usize = 10;

/// A mapped TPACKET_V3 ring and where we are in it.
pub struct Ring {
    base: *mut u8,
    block_size: usize,
    block_nr: usize,
    /// Block being walked (or waited for).
    block: usize,
    /// Packets left in the current block; `None` when the block is not ours.
    left: Option<u32>,
    /// Offset of the next packet inside the current block.
    pkt_off: usize,
    link: LinkType,
    interface: u32,
    /// Loopback: skip the outgoing copy of each packet.
    skip_outgoing: bool,
    /// A frame with its VLAN tag put back (the kernel strips it).
    vlan_buf: Vec<u8>,
}

// The ring memory is owned by the socket that owns this value (like a Box);
// both move together to the worker thread that reads them.
unsafe impl Send for Ring {}

impl Ring {
    /// A walker over `block_nr` blocks of `block_size` bytes at `base`.
    ///
    /// # Safety
    /// `base` must point to `block_nr * block_size` bytes, readable and
    /// writable, valid for as long as the `Ring` lives; `block_size` must be
    /// at least 64 and a multiple of 8.
    pub unsafe fn new(
        base: *mut u8,
        block_size: usize,
        block_nr: usize,
        link: LinkType,
        interface: u32,
        skip_outgoing: bool,
    ) -> Ring {
        Ring {
            base,
            block_size,
            block_nr: block_nr.max(1),
            block: 0,
            left: None,
            pkt_off: 0,
            link,
            interface,
            skip_outgoing,
            vlan_buf: Vec::new(),
        }
    }

    /// The start of the ring memory.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    fn block_ptr(&self, i: usize) -> *mut u8 {
        // In bounds: i < block_nr.
        self.base.wrapping_add(i * self.block_size)
    }

    /// A u32 at `off` in the current block, if the block has 4 bytes there.
    fn u32_at(&self, off: usize) -> Option<u32> {
        if off.checked_add(4)? > self.block_size {
            return None;
        }
        // SAFETY: inside the current block (checked); may be unaligned.
        Some(unsafe {
            core::ptr::read_unaligned(self.block_ptr(self.block).add(off).cast::<u32>())
        })
    }

    fn u16_at(&self, off: usize) -> Option<u16> {
        self.u32_at(off).map(|_| {
            // SAFETY: 4 bytes there, as just checked.
            unsafe { core::ptr::read_unaligned(self.block_ptr(self.block).add(off).cast::<u16>()) }
        })
    }

    fn block_status(&self, i: usize) -> u32 {
        // SAFETY: the status word of a block inside the ring; the kernel
        // writes it concurrently, hence volatile.
        let s =
            unsafe { core::ptr::read_volatile(self.block_ptr(i).add(BLK_STATUS).cast::<u32>()) };
        // Everything the kernel wrote into the block before handing it over
        // is visible after this.
        fence(Ordering::Acquire);
        s
    }

    fn release_block(&mut self) {
        fence(Ordering::Release);
        // SAFETY: the status word of our current block; handing it back.
        unsafe {
            core::ptr::write_volatile(
                self.block_ptr(self.block).add(BLK_STATUS).cast::<u32>(),
                TP_STATUS_KERNEL,
            )
        };
        self.left = None;
        self.block = (self.block + 1) % self.block_nr;
    }

    /// Whether a block is ready to be read.
    pub fn has_ready(&self) -> bool {
        self.left.is_some() || self.block_status(self.block) & TP_STATUS_USER != 0
    }

    /// The next frame, or `None` when the ring holds no more for now. The
    /// frame points into the ring and is valid until the next call. The
    /// flag says the kernel had not filled in the frame's checksums yet
    /// (`TP_STATUS_CSUMNOTREADY`: sent by this host, or passed between
    /// namespaces, with checksum offload), so they must not be checked.
    pub fn next_frame(&mut self) -> Option<(Frame<'_>, bool)> {
        let p = loop {
            match self.left {
                Some(0) => {
                    self.release_block();
                    continue;
                }
                Some(_) => {}
                None => {
                    if self.block_status(self.block) & TP_STATUS_USER == 0 {
                        return None;
                    }
                    let n = self.u32_at(BLK_NUM_PKTS).unwrap_or(0);
                    let first = self.u32_at(BLK_FIRST_PKT).unwrap_or(0) as usize;
                    let len = (self.u32_at(BLK_LEN).unwrap_or(0) as usize).min(self.block_size);
                    // A block the kernel describes inconsistently is given
                    // back unread rather than trusted.
                    self.left = Some(if first < BLK_LEN + 4 || first >= len {
                        0
                    } else {
                        n
                    });
                    self.pkt_off = first;
                    continue;
                }
            }
            match self.packet_at(self.pkt_off) {
                Some(p) => {
                    self.left = self.left.map(|n| n - 1);
                    self.pkt_off = match p.next {
                        0 => self.block_size,
                        // Packets follow each other: a step back or a zero
                        // step would walk in circles.
                        n => self.pkt_off.saturating_add(n.max(PKT_HDR_LEN)),
                    };
                    if self.skip_outgoing && p.pkttype == PACKET_OUTGOING {
                        // On loopback every packet passes twice, going out
                        // and coming in; keep one, as libpcap does.
                        continue;
                    }
                    break p;
                }
                None => {
                    // Headers that do not fit the block: give it back.
                    self.left = Some(0);
                }
            }
        };
        let b = self.block_ptr(self.block);
        // SAFETY: `packet_at` checked that [start, start + snaplen) lies in
        // this block, which is ours (TP_STATUS_USER) until released, and it
        // is not released before the next call, which ends this borrow.
        let data: &[u8] = unsafe { core::slice::from_raw_parts(b.add(p.start), p.snaplen) };
        let ts = Timestamp::from_secs_nanos(i64::from(p.sec), i64::from(p.nsec));
        let csum_not_ready = p.status & TP_STATUS_CSUMNOTREADY != 0;
        let tagged = p.status & TP_STATUS_VLAN_VALID != 0 && self.link == LinkType::ETHERNET;
        if tagged && data.len() >= 12 {
            // The kernel took the 802.1Q tag out of the frame; put it back
            // so VLANs are tracked as in a capture file.
            let tpid = if p.status & TP_STATUS_VLAN_TPID_VALID != 0 && p.vlan_tpid != 0 {
                p.vlan_tpid
            } else {
                0x8100
            };
            self.vlan_buf.clear();
            self.vlan_buf.extend_from_slice(&data[..12]);
            self.vlan_buf.extend_from_slice(&tpid.to_be_bytes());
            self.vlan_buf
                .extend_from_slice(&(p.vlan_tci as u16).to_be_bytes());
            self.vlan_buf.extend_from_slice(&data[12..]);
            let frame = Frame {
                ts,
                link: self.link,
                data: &self.vlan_buf,
                wire_len: p.wire_len.saturating_add(4),
                interface: self.interface,
            };
            return Some((frame, csum_not_ready));
        }
        let frame = Frame {
            ts,
            link: self.link,
            data,
            wire_len: p.wire_len,
            interface: self.interface,
        };
        Some((frame, csum_not_ready))
    }

    /// The packet header at `off` of the current block, if it and the
    /// packet's bytes lie inside the block.
    fn packet_at(&self, off: usize) -> Option<PacketHdr> {
        if off.checked_add(PKT_HDR_LEN + SLL_PKTTYPE + 1)? > self.block_size {
            return None;
        }
        let start = off + usize::from(self.u16_at(off + 24)?);
        let snaplen = self.u32_at(off + 12)? as usize;
        if start < off + PKT_HDR_LEN || start.checked_add(snaplen)? > self.block_size {
            return None;
        }
        // SAFETY: in bounds as checked above.
        let pkttype = unsafe {
            *self
                .block_ptr(self.block)
                .add(off + PKT_HDR_LEN + SLL_PKTTYPE)
        };
        Some(PacketHdr {
            next: self.u32_at(off)? as usize,
            sec: self.u32_at(off + 4)?,
            nsec: self.u32_at(off + 8)?,
            snaplen,
            wire_len: self.u32_at(off + 16)?,
            status: self.u32_at(off + 20)?,
            start,
            vlan_tci: self.u32_at(off + 32)?,
            vlan_tpid: self.u16_at(off + 36)?,
            pkttype,
        })
    }
}

/// What one `tpacket3_hdr` says.
#[derive(Debug, Clone, Copy)]
struct PacketHdr {
    next: usize,
    sec: u32,
    nsec: u32,
    snaplen: usize,
    wire_len: u32,
    status: u32,
    /// Offset of the frame in the block.
    start: usize,
    vlan_tci: u32,
    vlan_tpid: u16,
    pkttype: u8,
}

/// Walks a ring made of `data` (two blocks of 4 KiB, both marked ready) to
/// its end; for fuzzing. Never panics, never reads outside the ring, and
/// always ends: every block is handed back.
pub fn fuzz_ring(data: &[u8]) {
    const BS: usize = 4096;
    let mut mem = vec![0u64; 2 * BS / 8];
    // SAFETY: viewing the u64 buffer as bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(mem.as_mut_ptr().cast::<u8>(), 2 * BS) };
    let n = data.len().min(bytes.len());
    bytes[..n].copy_from_slice(&data[..n]);
    for b in 0..2 {
        bytes[b * BS + BLK_STATUS..b * BS + BLK_STATUS + 4]
            .copy_from_slice(&TP_STATUS_USER.to_ne_bytes());
    }
    let link = if data.first().is_some_and(|b| b & 1 == 1) {
        LinkType::RAW
    } else {
        LinkType::ETHERNET
    };
    let range = bytes.as_ptr_range();
    // SAFETY: two blocks of BS bytes, alive for the whole walk.
    let mut ring = unsafe {
        Ring::new(
            bytes.as_mut_ptr(),
            BS,
            2,
            link,
            0,
            data.len().is_multiple_of(3),
        )
    };
    let mut frames = 0usize;
    while let Some((f, _)) = ring.next_frame() {
        let inside = range.contains(&f.data.as_ptr())
            && f.data.as_ptr() as usize + f.data.len() <= range.end as usize;
        assert!(inside || f.data.len() <= BS + 4, "frame outside the ring");
        frames += 1;
        assert!(frames <= 2 * BS, "walked in circles");
    }
    assert!(!ring.has_ready(), "a block was not handed back");
}

#[cfg(test)]
mod tests {
    use super::*;

    const BS: usize = 4096;

    /// A fake ring: blocks laid out as the kernel does.
    struct Fake {
        mem: Vec<u64>,
    }

    struct Pkt<'a> {
        data: &'a [u8],
        status: u32,
        pkttype: u8,
        vlan: Option<u16>,
    }

    impl Fake {
        fn new(blocks: usize) -> Fake {
            Fake {
                mem: vec![0; blocks * BS / 8],
            }
        }

        fn bytes(&mut self) -> &mut [u8] {
            let len = self.mem.len() * 8;
            // SAFETY: viewing the u64 buffer as bytes.
            unsafe { core::slice::from_raw_parts_mut(self.mem.as_mut_ptr().cast::<u8>(), len) }
        }

        fn put32(&mut self, at: usize, v: u32) {
            self.bytes()[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        }

        fn get32(&mut self, at: usize) -> u32 {
            u32::from_ne_bytes(self.bytes()[at..at + 4].try_into().unwrap())
        }

        /// Fills block `b` with packets and hands it to "user space".
        fn fill(&mut self, b: usize, pkts: &[Pkt<'_>], sec: u32) {
            let base = b * BS;
            let first = 48;
            let mut off = first;
            for (i, p) in pkts.iter().enumerate() {
                let at = base + off;
                let mac = 48 + 20; // header, sockaddr_ll, padding
                let len = (mac + p.data.len() + 15) & !15;
                let next = if i + 1 == pkts.len() { 0 } else { len as u32 };
                self.put32(at, next);
                self.put32(at + 4, sec);
                self.put32(at + 8, 500 + i as u32);
                self.put32(at + 12, p.data.len() as u32);
                self.put32(at + 16, p.data.len() as u32 + 10);
                let vlan_flag = if p.vlan.is_some() {
                    TP_STATUS_VLAN_VALID
                } else {
                    0
                };
                self.put32(at + 20, p.status | vlan_flag | TP_STATUS_USER);
                self.bytes()[at + 24..at + 26].copy_from_slice(&(mac as u16).to_ne_bytes());
                self.put32(at + 32, u32::from(p.vlan.unwrap_or(0)));
                self.bytes()[at + 48 + SLL_PKTTYPE] = p.pkttype;
                self.bytes()[at + mac..at + mac + p.data.len()].copy_from_slice(p.data);
                off += len;
            }
            self.put32(base + BLK_NUM_PKTS, pkts.len() as u32);
            self.put32(base + BLK_FIRST_PKT, first as u32);
            self.put32(base + BLK_LEN, off as u32);
            self.put32(base + BLK_STATUS, TP_STATUS_USER);
        }

        fn ring(&mut self, skip_outgoing: bool) -> Ring {
            let blocks = self.mem.len() * 8 / BS;
            // SAFETY: the buffer outlives the ring in every test.
            unsafe {
                Ring::new(
                    self.mem.as_mut_ptr().cast(),
                    BS,
                    blocks,
                    LinkType::ETHERNET,
                    3,
                    skip_outgoing,
                )
            }
        }
    }

    fn fake_status(fake: &mut Fake, block: usize) -> u32 {
        fake.get32(block * BS + BLK_STATUS)
    }

    fn pkt(data: &[u8]) -> Pkt<'_> {
        Pkt {
            data,
            status: 0,
            pkttype: 0,
            vlan: None,
        }
    }

    #[test]
    fn walks_blocks_in_order_and_hands_them_back() {
        let mut fake = Fake::new(3);
        fake.fill(0, &[pkt(b"first frame...."), pkt(b"second")], 100);
        fake.fill(1, &[pkt(b"third")], 101);
        let mut ring = fake.ring(false);
        let mut seen = Vec::new();
        while let Some((f, csum)) = ring.next_frame() {
            assert!(!csum);
            assert_eq!((f.interface, f.link), (3, LinkType::ETHERNET));
            assert_eq!(f.wire_len as usize, f.data.len() + 10);
            seen.push((f.ts.secs(), f.data.to_vec()));
        }
        assert_eq!(
            seen,
            vec![
                (100, b"first frame....".to_vec()),
                (100, b"second".to_vec()),
                (101, b"third".to_vec())
            ]
        );
        // Both filled blocks are back with the kernel; block 2 was never ours.
        assert!(!ring.has_ready());
        assert_eq!(fake.get32(BLK_STATUS), TP_STATUS_KERNEL);
        assert_eq!(fake.get32(BS + BLK_STATUS), TP_STATUS_KERNEL);
        // The walk resumes at block 2 when the kernel fills it (and wraps).
        fake.fill(2, &[pkt(b"fourth")], 102);
        fake.fill(0, &[pkt(b"fifth")], 103);
        let mut ring2 = ring;
        let a = ring2.next_frame().map(|(f, _)| f.data.to_vec());
        let b = ring2.next_frame().map(|(f, _)| f.data.to_vec());
        assert_eq!((a, b), (Some(b"fourth".to_vec()), Some(b"fifth".to_vec())));
        assert!(ring2.next_frame().is_none());
    }

    #[test]
    fn flags_vlan_and_loopback_duplicates() {
        let mut fake = Fake::new(2);
        let eth = [0xaa; 14];
        fake.fill(
            0,
            &[
                Pkt {
                    data: &eth,
                    status: TP_STATUS_CSUMNOTREADY,
                    pkttype: PACKET_OUTGOING,
                    vlan: None,
                },
                Pkt {
                    data: &eth,
                    status: 0,
                    pkttype: 0,
                    vlan: Some(42),
                },
            ],
            7,
        );
        let mut ring = fake.ring(true);
        // The outgoing copy is skipped on loopback; the tag is put back.
        let (f, csum) = ring.next_frame().unwrap();
        assert!(!csum);
        assert_eq!(&f.data[12..16], &[0x81, 0x00, 0, 42]);
        assert_eq!(f.data.len(), 18);
        assert_eq!(f.wire_len, 14 + 10 + 4);
        assert!(ring.next_frame().is_none());

        let mut fake = Fake::new(2);
        fake.fill(
            0,
            &[Pkt {
                data: &eth,
                status: TP_STATUS_CSUMNOTREADY,
                pkttype: PACKET_OUTGOING,
                vlan: None,
            }],
            7,
        );
        let mut ring = fake.ring(false);
        let (_, csum) = ring.next_frame().unwrap();
        assert!(csum, "checksum-not-ready is reported");
    }

    #[test]
    fn inconsistent_blocks_are_given_back_unread() {
        let mut fake = Fake::new(2);
        fake.fill(0, &[pkt(b"ok")], 1);
        // Snap length beyond the block.
        fake.put32(48 + 12, BS as u32);
        fake.fill(1, &[pkt(b"next")], 2);
        let mut ring = fake.ring(false);
        // The bad block goes back unread; the next one reads fine.
        assert_eq!(
            ring.next_frame().map(|(f, _)| f.data.to_vec()),
            Some(b"next".to_vec())
        );
        assert_eq!(fake_status(&mut fake, 0), TP_STATUS_KERNEL);
        assert!(ring.next_frame().is_none());
    }

    #[test]
    fn fuzz_entry_ends_on_garbage() {
        fuzz_ring(&[]);
        fuzz_ring(&[0xff; 9000]);
        let mut junk = vec![0u8; 8192];
        for (i, b) in junk.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        fuzz_ring(&junk);
    }
}
