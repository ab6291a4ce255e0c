//! `StoredKey`: a connection's flow key as its `Conn` keeps it, 16 bytes
//! instead of a [`FlowKey`]'s 38.
//!
//! A [`FlowKey`] holds both addresses as 16 bytes so that IPv4 and IPv6
//! keys compare and hash alike; for the IPv4 connections that are most of
//! any table, 24 of those bytes are the IPv4-mapped prefix. A stored key
//! keeps IPv4 addresses as two `u32`s. An IPv6 connection's addresses go
//! to [`V6Addrs`], a side slab in the tracker at the connection's slot
//! index (the tracker gives such connections slots in chunks that have
//! it), and its stored key keeps that index and a 32-bit fingerprint (the
//! high half of the flow hash), so a lookup that lands on the wrong IPv6
//! connection is almost always turned away on the fingerprint; a match is
//! always confirmed on all 32 address bytes. As the addresses' place
//! follows from the slot index, a lookup can read them while the slot
//! itself is still on its way from memory.

use core::net::{IpAddr, Ipv4Addr};

use crate::key::{to_ip, FlowKey};
use crate::slab::SideSlab;

/// The two addresses of the IPv6 connections, at their slot index.
#[derive(Debug, Default)]
pub(crate) struct V6Addrs {
    addrs: SideSlab<[u128; 2]>,
}

impl V6Addrs {
    /// Files a pair of addresses at slot `i`.
    fn insert(&mut self, i: u32, pair: [u128; 2]) {
        match self.addrs.get_mut(i as usize) {
            Some(p) => *p = pair,
            None => {
                self.addrs.ensure(i as usize, <[u128; 2]>::default);
                if let Some(p) = self.addrs.get_mut(i as usize) {
                    *p = pair;
                }
            }
        }
    }

    /// The pair at `i` (zeros if there is none: a bug, but no panic).
    #[inline]
    fn get(&self, i: u32) -> [u128; 2] {
        self.addrs.get(i as usize).copied().unwrap_or_default()
    }

    /// Bytes held.
    pub fn memory(&self) -> usize {
        self.addrs.memory()
    }
}

/// `StoredKey::flags` bit: the addresses are in [`V6Addrs`] (an IPv6 key,
/// or any key with an address that is not IPv4-mapped).
const IN_SLAB: u8 = 0x80;

/// The IPv4-mapped form of an IPv4 address, as a big-endian integer.
#[inline]
fn mapped(x: u32) -> u128 {
    0xffff_0000_0000 | u128::from(x)
}

/// Whether a key address is IPv4-mapped.
#[inline]
fn is_mapped(x: u128) -> bool {
    x >> 32 == 0xffff
}

/// A flow key as stored in a connection (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredKey {
    /// IPv4: address `a`. Otherwise: index in [`V6Addrs`].
    a: u32,
    /// IPv4: address `b`. Otherwise: fingerprint (flow hash >> 32).
    b: u32,
    /// Port of `a` (ICMP: type or counterpart).
    pub pa: u16,
    /// Port of `b`.
    pub pb: u16,
    /// IP protocol.
    pub proto: u8,
    /// [`FlowKey::flags`] (bit 0 IPv6, bit 1 one-way), plus `IN_SLAB`.
    flags: u8,
}

impl StoredKey {
    /// The addresses are in the slab.
    #[inline]
    pub fn in_slab(&self) -> bool {
        self.flags & IN_SLAB != 0
    }

    /// [`FlowKey::flags`].
    #[inline]
    pub fn key_flags(&self) -> u8 {
        self.flags & !IN_SLAB
    }

    /// Whether a stored `key` keeps its addresses in [`V6Addrs`] (and so
    /// needs a slot that has room there).
    #[inline]
    pub fn needs_slab(key: &FlowKey) -> bool {
        // An IPv4 key's addresses are always mapped; a key from a flow
        // record may mix families, and then goes to the slab whole.
        !(key.flags & 1 == 0 && is_mapped(key.a) && is_mapped(key.b))
    }

    /// Stores `key` (whose flow hash is `hash`) for the connection in slot
    /// `slot`, filing IPv6 addresses in `v6` there.
    pub fn store(key: &FlowKey, hash: u64, slot: u32, v6: &mut V6Addrs) -> StoredKey {
        let (a, b, slab) = if Self::needs_slab(key) {
            v6.insert(slot, [key.a, key.b]);
            (slot, (hash >> 32) as u32, IN_SLAB)
        } else {
            (key.a as u32, key.b as u32, 0)
        };
        StoredKey {
            a,
            b,
            pa: key.pa,
            pb: key.pb,
            proto: key.proto,
            flags: key.flags | slab,
        }
    }

    /// Whether this key, stored in slot `slot`, is `key` (whose flow hash
    /// is `hash`).
    #[inline]
    pub fn matches(&self, key: &FlowKey, hash: u64, slot: u32, v6: &V6Addrs) -> bool {
        if self.pa != key.pa
            || self.pb != key.pb
            || self.proto != key.proto
            || self.key_flags() != key.flags
        {
            return false;
        }
        // The addresses are read at `slot`, not at the index stored here:
        // the slot index is known before this key is read, so the
        // addresses' line is asked for while this one is still coming.
        if self.in_slab() {
            self.b == (hash >> 32) as u32 && v6.get(slot) == [key.a, key.b]
        } else {
            key.a == mapped(self.a) && key.b == mapped(self.b)
        }
    }

    /// The whole [`FlowKey`] back.
    pub fn key(&self, v6: &V6Addrs) -> FlowKey {
        let [a, b] = if self.in_slab() {
            v6.get(self.a)
        } else {
            [mapped(self.a), mapped(self.b)]
        };
        FlowKey {
            a,
            b,
            pa: self.pa,
            pb: self.pb,
            proto: self.proto,
            flags: self.key_flags(),
        }
    }

    /// Address `a` and address `b`.
    #[inline]
    pub fn addrs(&self, v6: &V6Addrs) -> (IpAddr, IpAddr) {
        if self.in_slab() {
            let [a, b] = v6.get(self.a);
            let v6 = self.flags & 1 != 0;
            (to_ip(a, v6), to_ip(b, v6))
        } else {
            (
                IpAddr::V4(Ipv4Addr::from(self.a)),
                IpAddr::V4(Ipv4Addr::from(self.b)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bytes() {
        assert_eq!(core::mem::size_of::<StoredKey>(), 16);
    }

    #[test]
    fn keys_round_trip_and_match_only_themselves() {
        let mut v6 = V6Addrs::default();
        let ips: [IpAddr; 4] = [
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "::ffff:10.0.0.1".parse().unwrap(),
        ];
        let mut stored = Vec::new();
        for (i, &x) in ips.iter().enumerate() {
            for &y in &ips {
                if x == y || x.is_ipv4() != y.is_ipv4() {
                    continue;
                }
                for one_way in [false, true] {
                    let (k, _) = FlowKey::new(x, 1000 + i as u16, y, 80, 6, one_way);
                    let h = 0x1234_5678_9abc_def0u64 ^ ((i as u64) << 40);
                    // Slots far apart: the side slab gives each its own
                    // storage.
                    let slot = 700 * stored.len() as u32;
                    let s = StoredKey::store(&k, h, slot, &mut v6);
                    assert_eq!(s.in_slab(), StoredKey::needs_slab(&k));
                    assert_eq!(s.key(&v6), k);
                    assert_eq!(s.addrs(&v6), (k.addr_a(), k.addr_b()));
                    stored.push((s, k, h, slot));
                }
            }
        }
        for (s, k, h, slot) in &stored {
            for (_, k2, h2, _) in &stored {
                assert_eq!(s.matches(k2, *h2, *slot, &v6), k == k2, "{k:?} vs {k2:?}");
            }
            // Same key, another fingerprint: refused (a different hash
            // means a different key).
            if s.in_slab() {
                assert!(!s.matches(k, h ^ (1 << 40), *slot, &v6));
            }
        }
        // A flow record may mix families: such a key goes to the slab
        // whole and keeps its addresses as the key had them.
        let (k, _) = FlowKey::new(ips[0], 1, ips[2], 2, 17, false);
        let s = StoredKey::store(&k, 99, 3, &mut v6);
        assert!(s.in_slab());
        assert_eq!(s.key(&v6), k);
        assert_eq!(s.addrs(&v6), (k.addr_a(), k.addr_b()));
        assert!(s.matches(&k, 99, 3, &v6));
        let (k4, _) = FlowKey::new(ips[0], 1, ips[1], 2, 17, false);
        assert!(!s.matches(&k4, 99, 3, &v6));
        // A slot's entry is overwritten by the next key stored there.
        let other: IpAddr = "2001:db8::9".parse().unwrap();
        let (k, _) = FlowKey::new(ips[2], 5, other, 6, 17, false);
        let s2 = StoredKey::store(&k, 7, 3, &mut v6);
        assert_eq!(s2.key(&v6), k);
        assert!(!s.matches(&FlowKey::new(ips[0], 1, ips[2], 2, 17, false).0, 99, 3, &v6));
    }
}
