//! Long-connection schedules (shared/spec/long-connections.md): which
//! connections are watched, and the thresholds at which a still-open
//! connection is reported to conn_long.log.
//!
//! A watched connection has exactly one timer entry, for its next
//! threshold, so watching costs nothing per packet. Thresholds are measured
//! from the connection's first packet on network time, every crossed
//! threshold is reported (a clock that jumps over several reports each),
//! and repeats after the last threshold stay aligned to the start.

use core::net::IpAddr;

use connwatch_wire::Duration;

use crate::config::{LongConfig, SlowCriteria};
use crate::record::Proto;

/// "Not watched" in [`crate::conn::Conn::long_schedule`].
pub(crate) const NOT_WATCHED: u16 = u16::MAX;

/// The schedules of a configuration, indexed by a small id: 0 is the
/// default list, `i + 1` the `i`-th special case.
#[derive(Debug, Clone)]
pub(crate) struct Schedules {
    lists: Vec<Vec<Duration>>,
    repeat_last: bool,
    /// No ignore list or special case: every connection gets the default.
    everyone_default: bool,
}

impl Schedules {
    pub fn new(cfg: &LongConfig) -> Self {
        let mut lists = vec![cfg.durations.clone()];
        lists.extend(cfg.special_cases.iter().map(|(_, l)| l.clone()));
        Schedules {
            lists,
            repeat_last: cfg.repeat_last,
            everyone_default: cfg.ignore.is_empty()
                && cfg.ignore_pairs.is_empty()
                && cfg.ignore_ports.is_empty()
                && cfg.special_cases.is_empty()
                && !cfg.durations.is_empty(),
        }
    }

    /// True when every connection is watched with the default list.
    pub fn everyone_default(&self) -> bool {
        self.everyone_default
    }

    /// The `k`-th threshold of schedule `id` (0-based), if there is one:
    /// past the end of the list, multiples of the last threshold when
    /// repeating.
    pub fn threshold(&self, id: u16, k: u32) -> Option<Duration> {
        let list = self.lists.get(usize::from(id))?;
        let k = k as usize;
        if let Some(d) = list.get(k) {
            return Some(*d);
        }
        let last = *list.last()?;
        if !self.repeat_last {
            return None;
        }
        // k = len → 2 × last, k = len + 1 → 3 × last, ...
        let m = (k - list.len() + 2) as i64;
        Some(Duration(last.as_nanos().saturating_mul(m)))
    }
}

/// Which schedule a new connection gets, or [`NOT_WATCHED`].
pub(crate) fn schedule_for(
    cfg: &LongConfig,
    orig: IpAddr,
    resp: IpAddr,
    resp_port: u16,
    proto: Proto,
) -> u16 {
    if cfg
        .ignore
        .iter()
        .any(|c| c.contains(orig) || c.contains(resp))
    {
        return NOT_WATCHED;
    }
    if cfg.ignore_pairs.iter().any(|(a, b)| {
        (a.contains(orig) && b.contains(resp)) || (a.contains(resp) && b.contains(orig))
    }) {
        return NOT_WATCHED;
    }
    if cfg
        .ignore_ports
        .iter()
        .any(|&(p, pr)| p == resp_port && pr == proto)
    {
        return NOT_WATCHED;
    }
    let pick = |a: IpAddr| {
        cfg.special_cases
            .iter()
            .enumerate()
            .filter(|(_, (c, _))| c.contains(a))
            .max_by_key(|(_, (c, _))| c.prefix())
            .map(|(i, (_, l))| (i, l.is_empty()))
    };
    let found = pick(orig).or_else(|| pick(resp));
    match found {
        Some((_, true)) => NOT_WATCHED,
        Some((i, false)) => u16::try_from(i + 1).unwrap_or(NOT_WATCHED),
        None if cfg.durations.is_empty() => NOT_WATCHED,
        None => 0,
    }
}

/// What a connection's previous report left behind, for the deltas and the
/// once-only long-and-slow notice.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LastReport {
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    pub slow_raised: bool,
}

/// The long-and-slow criteria at a report: all must hold.
pub(crate) fn is_slow(c: &SlowCriteria, age: Duration, orig_bytes: u64, resp_bytes: u64) -> bool {
    let total = orig_bytes.saturating_add(resp_bytes);
    if age < c.min_age || total == 0 || orig_bytes < c.min_orig_bytes {
        return false;
    }
    let secs = age.as_secs_f64();
    let rate = total as f64 / secs;
    let pcr = (orig_bytes as f64 - resp_bytes as f64) / total as f64;
    rate <= c.max_bytes_per_sec && pcr >= c.min_pcr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Cidr;

    fn d(s: i64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn thresholds_repeat_aligned_to_the_start() {
        let cfg = LongConfig {
            durations: vec![d(30), d(60), d(120)],
            repeat_last: true,
            ..LongConfig::default()
        };
        let s = Schedules::new(&cfg);
        let got: Vec<i64> = (0..6)
            .map(|k| s.threshold(0, k).unwrap().as_nanos() / 1_000_000_000)
            .collect();
        assert_eq!(got, vec![30, 60, 120, 240, 360, 480]);
        let once = Schedules::new(&LongConfig {
            repeat_last: false,
            ..cfg
        });
        assert_eq!(once.threshold(0, 3), None);
    }

    #[test]
    fn ignore_lists_and_special_cases() {
        let c = |s: &str| Cidr::parse_net_or_host(s).unwrap();
        let cfg = LongConfig {
            ignore: vec![c("10.8.0.0/16")],
            ignore_pairs: vec![(c("192.0.2.1"), c("198.51.100.0/24"))],
            ignore_ports: vec![(1194, Proto::Udp)],
            special_cases: vec![
                (c("172.16.0.0/12"), vec![d(3600)]),
                (c("172.16.5.0/24"), vec![]),
            ],
            ..LongConfig::default()
        };
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        let p = Proto::Tcp;
        assert_eq!(
            schedule_for(&cfg, a("10.8.1.1"), a("1.1.1.1"), 80, p),
            NOT_WATCHED
        );
        assert_eq!(
            schedule_for(&cfg, a("1.1.1.1"), a("10.8.1.1"), 80, p),
            NOT_WATCHED
        );
        assert_eq!(
            schedule_for(&cfg, a("198.51.100.7"), a("192.0.2.1"), 80, p),
            NOT_WATCHED
        );
        assert_eq!(
            schedule_for(&cfg, a("1.1.1.1"), a("2.2.2.2"), 1194, Proto::Udp),
            NOT_WATCHED
        );
        assert_eq!(schedule_for(&cfg, a("1.1.1.1"), a("2.2.2.2"), 1194, p), 0);
        assert_eq!(schedule_for(&cfg, a("172.16.1.1"), a("2.2.2.2"), 80, p), 1);
        // Longest prefix wins, and an empty list never watches.
        assert_eq!(
            schedule_for(&cfg, a("172.16.5.9"), a("2.2.2.2"), 80, p),
            NOT_WATCHED
        );
        // The originator is looked up first.
        assert_eq!(schedule_for(&cfg, a("1.1.1.1"), a("172.16.1.1"), 80, p), 1);
    }

    #[test]
    fn slow_criteria() {
        let c = LongConfig::default().slow.unwrap();
        let day = d(26 * 3600);
        assert!(is_slow(&c, day, 2_000_000, 40_000));
        assert!(!is_slow(&c, d(3600), 2_000_000, 40_000), "too young");
        assert!(!is_slow(&c, day, 200_000_000, 40_000), "too fast");
        assert!(!is_slow(&c, day, 40_000, 2_000_000), "mostly inbound");
        assert!(!is_slow(&c, day, 100, 0), "too little sent");
    }
}
