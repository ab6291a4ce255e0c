//! Live capture on Linux: an AF_PACKET socket with a TPACKET_V3
//! memory-mapped receive ring, written on `libc` (no libpcap).
//!
//! The kernel fills blocks of the ring with packets and hands a whole block
//! over at once (when it is full, or after the block timeout); we walk the
//! block's packets in place, lending each as a [`Frame`] that points into
//! the ring, and give the block back when its last packet has been lent.
//! No copy and no system call per packet: one `poll` per idle period.
//!
//! Several sockets on one interface can join a *fanout group*; the kernel
//! then spreads packets over them by a flow hash that is symmetric (both
//! directions of a connection hash alike), which is how `--workers N`
//! splits the traffic. With fanout, IP fragments are reassembled by the
//! kernel first (`PACKET_FANOUT_FLAG_DEFRAG`), or the fragments of one
//! datagram, which carry no ports, could reach another worker than the
//! rest of their connection.
//!
//! Header layouts are read at fixed offsets from `<linux/if_packet.h>`
//! rather than through `libc`'s struct definitions, whose unions differ
//! between libc versions; the offsets are ABI and do not change.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use connwatch_wire::{Frame, LinkType};

use super::tpacket_ring::Ring;

// <linux/if_packet.h>, <linux/if_ether.h>, <linux/if_arp.h>.
const SOL_PACKET: libc::c_int = 263;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const TPACKET_V3: libc::c_int = 2;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
const ETH_P_ALL: u16 = 0x0003;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

/// struct tpacket_req3.
#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

/// struct tpacket_stats_v3.
#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

/// Size of one ring block: a power of two, a multiple of the page size,
/// and larger than any packet (GRO/GSO packets reach 64 KiB).
pub const BLOCK_SIZE: usize = 1 << 20;

/// How a ring is set up.
#[derive(Debug, Clone)]
pub struct RingOptions {
    /// Ring size in bytes (rounded down to whole blocks, at least 2).
    pub ring_bytes: usize,
    /// Block timeout in milliseconds: a partly filled block is handed over
    /// after this long, which bounds the delay of a quiet link.
    pub block_timeout_ms: u32,
    /// Join this fanout group (id, 16 bits), spreading by a symmetric flow
    /// hash with kernel defragmentation. `None`: no fanout.
    pub fanout_group: Option<u16>,
}

/// Why a live capture could not start or continue.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No such interface.
    #[error("no such interface `{0}`")]
    NoInterface(String),
    /// A system call failed (the text names the step).
    #[error("interface `{iface}`: {what}: {source}")]
    Sys {
        /// Interface name.
        iface: String,
        /// The step that failed.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The interface's link layer is not one we decode.
    #[error("interface `{iface}`: link type (ARPHRD) {arphrd} is not supported (Ethernet, loopback or raw IP only)")]
    LinkType {
        /// Interface name.
        iface: String,
        /// The ARPHRD_* value.
        arphrd: u16,
    },
}

/// Kernel counters of one socket since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel saw for this socket (delivered + dropped).
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
}

/// One AF_PACKET socket with its mapped TPACKET_V3 ring.
pub struct AfPacket {
    fd: OwnedFd,
    ring: Ring,
    ring_len: usize,
    iface: String,
    stats: KernelStats,
}

fn sys(iface: &str, what: &'static str) -> CaptureError {
    CaptureError::Sys {
        iface: iface.to_string(),
        what,
        source: io::Error::last_os_error(),
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live `T` of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            core::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The interface's index and ARPHRD type.
fn interface_info(iface: &str) -> Result<(u32, u16), CaptureError> {
    let name = CString::new(iface).map_err(|_| CaptureError::NoInterface(iface.to_string()))?;
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return Err(CaptureError::NoInterface(iface.to_string()));
    }
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(CaptureError::NoInterface(iface.to_string()));
    }
    // SIOCGIFHWADDR gives the hardware type in ifr_hwaddr.sa_family.
    // SAFETY: a plain socket, closed by OwnedFd.
    let probe = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if probe < 0 {
        return Err(sys(iface, "socket"));
    }
    // SAFETY: `probe` is a fresh descriptor we own.
    let probe = unsafe { OwnedFd::from_raw_fd(probe) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads and writes one ifreq.
    if unsafe { libc::ioctl(probe.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } < 0 {
        return Err(sys(iface, "SIOCGIFHWADDR"));
    }
    // SAFETY: the kernel filled the hwaddr member of the union.
    let family = unsafe { req.ifr_ifru.ifru_hwaddr.sa_family };
    Ok((index, family))
}

impl AfPacket {
    /// Opens a socket on `iface` with a receive ring. `interface` is the
    /// number frames carry (the position of the interface on the command
    /// line). Needs CAP_NET_RAW.
    pub fn open(iface: &str, interface: u32, opts: &RingOptions) -> Result<Self, CaptureError> {
        let (ifindex, arphrd) = interface_info(iface)?;
        let link = match arphrd {
            ARPHRD_ETHER | ARPHRD_LOOPBACK => LinkType::ETHERNET,
            ARPHRD_NONE => LinkType::RAW,
            other => {
                return Err(CaptureError::LinkType {
                    iface: iface.to_string(),
                    arphrd: other,
                })
            }
        };
        // Protocol 0 at first: nothing is queued before the ring exists and
        // the socket is bound to the one interface.
        // SAFETY: plain socket creation.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(sys(iface, "socket(AF_PACKET)"));
        }
        // SAFETY: fresh descriptor, owned from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        setsockopt(raw, SOL_PACKET, PACKET_VERSION, &TPACKET_V3).map_err(|source| {
            CaptureError::Sys {
                iface: iface.to_string(),
                what: "PACKET_VERSION (TPACKET_V3)",
                source,
            }
        })?;
        let block_nr = (opts.ring_bytes / BLOCK_SIZE).max(2);
        let frame_size = 2048u32;
        let req = TpacketReq3 {
            block_size: BLOCK_SIZE as u32,
            block_nr: block_nr as u32,
            frame_size,
            frame_nr: (BLOCK_SIZE / frame_size as usize * block_nr) as u32,
            retire_blk_tov: opts.block_timeout_ms.max(1),
            sizeof_priv: 0,
            feature_req_word: 0,
        };
        setsockopt(raw, SOL_PACKET, PACKET_RX_RING, &req).map_err(|source| CaptureError::Sys {
            iface: iface.to_string(),
            what: "PACKET_RX_RING",
            source,
        })?;
        let ring_len = BLOCK_SIZE * block_nr;
        // SAFETY: maps the ring the kernel just allocated for this socket.
        let ring = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                raw,
                0,
            )
        };
        // MAP_LOCKED can fail under RLIMIT_MEMLOCK; map without it then.
        let ring = if ring == libc::MAP_FAILED {
            // SAFETY: as above.
            unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    ring_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    raw,
                    0,
                )
            }
        } else {
            ring
        };
        if ring == libc::MAP_FAILED {
            return Err(sys(iface, "mmap of the ring"));
        }
        // SAFETY: the mapping is `block_nr` blocks of BLOCK_SIZE bytes, owned
        // by this socket until `Drop` unmaps it, after the ring is gone.
        let ring = unsafe {
            Ring::new(
                ring.cast(),
                BLOCK_SIZE,
                block_nr,
                link,
                interface,
                arphrd == ARPHRD_LOOPBACK,
            )
        };
        let mut me = AfPacket {
            fd,
            ring,
            ring_len,
            iface: iface.to_string(),
            stats: KernelStats::default(),
        };
        // SAFETY: sockaddr_ll is plain data.
        let mut addr: libc::sockaddr_ll = unsafe { core::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL.to_be();
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: binds to a valid sockaddr_ll of the right size.
        let rc = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(sys(iface, "bind"));
        }
        if let Some(group) = opts.fanout_group {
            let arg: u32 =
                u32::from(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            setsockopt(raw, SOL_PACKET, PACKET_FANOUT, &arg).map_err(|source| {
                CaptureError::Sys {
                    iface: iface.to_string(),
                    what: "PACKET_FANOUT",
                    source,
                }
            })?;
        }
        // Counters start now.
        me.read_kernel_stats();
        me.stats = KernelStats::default();
        Ok(me)
    }

    /// The socket, for `poll`.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.iface
    }

    /// The next captured frame, or `None` when the ring holds no more for
    /// now (then `poll` the socket); see [`Ring::next_frame`].
    pub fn next_frame(&mut self) -> Option<(Frame<'_>, bool)> {
        self.ring.next_frame()
    }

    fn read_kernel_stats(&mut self) {
        let mut st = TpacketStatsV3::default();
        let mut len = core::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS fills a tpacket_stats_v3 of `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStatsV3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            // The kernel resets its counters on every read: accumulate.
            self.stats.packets += u64::from(st.packets);
            self.stats.drops += u64::from(st.drops);
        }
    }

    /// Kernel counters since the socket was opened (reads and accumulates
    /// the kernel's, which reset on every read).
    pub fn kernel_stats(&mut self) -> KernelStats {
        self.read_kernel_stats();
        self.stats
    }
}

impl Drop for AfPacket {
    fn drop(&mut self) {
        // SAFETY: unmapping the ring we mapped; no frame borrows it now
        // (frames borrow `self`).
        unsafe { libc::munmap(self.ring.base().cast(), self.ring_len) };
    }
}

/// Waits until one of `sockets` has a block ready, a signal arrives, or
/// `timeout_ms` passes.
pub fn poll_any(sockets: &[AfPacket], timeout_ms: i32) -> io::Result<()> {
    let mut fds: [libc::pollfd; 16] = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 16];
    let n = sockets.len().min(fds.len());
    for (p, s) in fds.iter_mut().zip(sockets) {
        p.fd = s.raw_fd();
        p.events = libc::POLLIN | libc::POLLERR;
    }
    // SAFETY: `fds[..n]` are initialised pollfds.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// Most interfaces one worker reads (the `poll` set is a fixed array).
pub const MAX_INTERFACES: usize = 16;
