//! Dropping root: after the capture sockets are open (which needs root or
//! CAP_NET_RAW), the process switches to an unprivileged user for good.
//!
//! Order matters and is checked: supplementary groups first, then the
//! group, then the user (after `setuid` the others would be refused), and
//! finally a `setuid(0)` that must fail, proving the switch is permanent.
//! The log directory is handed to the user beforehand so rotated and new
//! logs can still be created.

use std::ffi::CString;
use std::path::Path;

/// A user's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserIds {
    /// User id.
    pub uid: libc::uid_t,
    /// Primary group id.
    pub gid: libc::gid_t,
}

/// Looks up `name` (or a numeric uid) in the user database.
pub fn lookup(name: &str) -> Result<UserIds, String> {
    let cname = CString::new(name).map_err(|_| format!("run.user: bad user name `{name}`"))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data; getpwnam_r writes into pw and buf, both
    // ours and large enough (ERANGE otherwise, reported below).
    let mut pw: libc::passwd = unsafe { core::mem::zeroed() };
    let mut result: *mut libc::passwd = core::ptr::null_mut();
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() {
        return Ok(UserIds {
            uid: pw.pw_uid,
            gid: pw.pw_gid,
        });
    }
    if let Ok(uid) = name.parse::<libc::uid_t>() {
        return Ok(UserIds { uid, gid: uid });
    }
    Err(format!("run.user: no such user `{name}`"))
}

/// Gives `dir` (the log directory) to the user, then switches to it.
pub fn drop_to(user: &str, log_dir: &Path) -> Result<UserIds, String> {
    let ids = lookup(user)?;
    let os = |what: &str| {
        format!(
            "cannot switch to user `{user}`: {what}: {}",
            std::io::Error::last_os_error()
        )
    };
    if let Ok(c) = CString::new(log_dir.as_os_str().as_encoded_bytes()) {
        // SAFETY: a valid path string.
        if unsafe { libc::chown(c.as_ptr(), ids.uid, ids.gid) } != 0 {
            return Err(format!(
                "cannot give the log directory {} to `{user}`: {}",
                log_dir.display(),
                std::io::Error::last_os_error()
            ));
        }
    }
    // Files already created (a log opened before the switch) go too.
    if let Ok(entries) = std::fs::read_dir(log_dir) {
        for e in entries.flatten() {
            if let Ok(c) = CString::new(e.path().as_os_str().as_encoded_bytes()) {
                // SAFETY: a valid path string.
                unsafe { libc::chown(c.as_ptr(), ids.uid, ids.gid) };
            }
        }
    }
    // SAFETY: plain system calls on ids; each result is checked.
    unsafe {
        if libc::setgroups(0, core::ptr::null()) != 0 {
            return Err(os("setgroups"));
        }
        if libc::setgid(ids.gid) != 0 {
            return Err(os("setgid"));
        }
        if libc::setuid(ids.uid) != 0 {
            return Err(os("setuid"));
        }
        if ids.uid != 0 && libc::setuid(0) == 0 {
            return Err(format!(
                "cannot switch to user `{user}`: root could be regained"
            ));
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_unknown_users() {
        assert_eq!(lookup("root").unwrap().uid, 0);
        assert!(lookup("no-such-user-connwatch")
            .unwrap_err()
            .contains("no such user"));
        assert_eq!(
            lookup("4242").unwrap(),
            UserIds {
                uid: 4242,
                gid: 4242
            }
        );
    }
}
