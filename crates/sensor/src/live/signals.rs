//! Signals of a long-running sensor: SIGINT and SIGTERM ask it to stop
//! (flushing every open connection, as Zeek does at shutdown), SIGHUP to
//! rotate the logs now.
//!
//! The handlers only set atomic flags; the workers and the writer look at
//! them between blocks of packets and on every poll timeout (at most
//! 100 ms apart).

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static ROTATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_hup(_: libc::c_int) {
    ROTATE.store(true, Ordering::SeqCst);
}

fn install(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe
    // (one atomic store). No SA_RESTART: a blocked poll returns at once.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, core::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP.
pub fn install_handlers() -> std::io::Result<()> {
    install(libc::SIGINT, on_stop)?;
    install(libc::SIGTERM, on_stop)?;
    install(libc::SIGHUP, on_hup)
}

/// True once SIGINT or SIGTERM arrived (or [`request_stop`] was called).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Asks every worker to stop (e.g. after a fatal error in the writer).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// True once after each SIGHUP.
pub fn take_rotate_request() -> bool {
    ROTATE.swap(false, Ordering::SeqCst)
}
