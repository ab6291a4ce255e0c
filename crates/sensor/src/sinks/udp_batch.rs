//! Datagrams to one destination, sent in batches: up to [`BATCH`] queued
//! datagrams leave in one `sendmmsg(2)` on Linux (one `send_to` each
//! elsewhere). A flow exporter sends tens of thousands of datagrams a
//! second; on a virtual machine the system call, not the copy, is most of
//! their cost.
//!
//! Buffers are reused: queuing copies the datagram into a buffer kept from
//! earlier batches, so steady-state sending allocates nothing.

use std::net::{SocketAddr, UdpSocket};

/// Datagrams per batch.
pub const BATCH: usize = 32;

/// A queue of datagrams for one destination.
pub struct UdpBatch {
    addr: SocketAddr,
    bufs: Vec<Vec<u8>>,
    queued: usize,
    /// Datagrams the socket refused.
    pub errors: u64,
}

impl UdpBatch {
    /// An empty queue for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        UdpBatch {
            addr,
            bufs: Vec::new(),
            queued: 0,
            errors: 0,
        }
    }

    /// Queues one datagram; a full batch goes out at once.
    pub fn push(&mut self, socket: &UdpSocket, datagram: &[u8]) {
        if self.bufs.len() == self.queued {
            self.bufs.push(Vec::with_capacity(datagram.len()));
        }
        let b = &mut self.bufs[self.queued];
        b.clear();
        b.extend_from_slice(datagram);
        self.queued += 1;
        if self.queued == BATCH {
            self.flush(socket);
        }
    }

    /// Sends whatever is queued.
    pub fn flush(&mut self, socket: &UdpSocket) {
        let n = self.queued;
        self.queued = 0;
        if n == 0 {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            self.errors += send_mmsg(socket, self.addr, &self.bufs[..n]);
        }
        #[cfg(not(target_os = "linux"))]
        for b in &self.bufs[..n] {
            if socket.send_to(b, self.addr).is_err() {
                self.errors += 1;
            }
        }
    }
}

/// `sendmmsg` of `bufs` to `addr`; returns how many were not sent.
#[cfg(target_os = "linux")]
fn send_mmsg(socket: &UdpSocket, addr: SocketAddr, bufs: &[Vec<u8>]) -> u64 {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr_storage is plain data; zeroed is valid.
    let mut storage: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a
            // sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            core::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            core::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    let mut iovs: [libc::iovec; BATCH] = [libc::iovec {
        iov_base: core::ptr::null_mut(),
        iov_len: 0,
    }; BATCH];
    // SAFETY: mmsghdr is plain data; zeroed is valid.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { core::mem::zeroed() };
    let n = bufs.len().min(BATCH);
    for i in 0..n {
        iovs[i].iov_base = bufs[i].as_ptr() as *mut libc::c_void;
        iovs[i].iov_len = bufs[i].len();
        msgs[i].msg_hdr.msg_name = &mut storage as *mut _ as *mut libc::c_void;
        msgs[i].msg_hdr.msg_namelen = len as libc::socklen_t;
        msgs[i].msg_hdr.msg_iov = &mut iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    let mut sent = 0;
    let mut failed = 0;
    while sent < n {
        // SAFETY: msgs[sent..n] point at live iovecs, buffers and the
        // address above, all outliving the call.
        let rc = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs[sent..].as_mut_ptr(),
                (n - sent) as libc::c_uint,
                0,
            )
        };
        if rc <= 0 {
            if rc < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // This datagram cannot go; count it and try the rest.
            failed += 1;
            sent += 1;
        } else {
            sent += rc as usize;
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn batches_arrive_whole_and_in_order() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut q = UdpBatch::new(rx.local_addr().unwrap());
        let n = BATCH * 2 + 5;
        for i in 0..n {
            q.push(&tx, &vec![i as u8; 100 + i]);
        }
        q.flush(&tx);
        assert_eq!(q.errors, 0);
        let mut buf = [0u8; 2048];
        for i in 0..n {
            let k = rx.recv(&mut buf).unwrap();
            assert_eq!(k, 100 + i);
            assert!(buf[..k].iter().all(|b| *b == i as u8));
        }
    }
}
