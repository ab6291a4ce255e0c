//! Zeek's `likely_server_ports` (spec §6.1): the ports that decide who is
//! the originator when a connection's first packet is not a SYN.
//!
//! Zeek builds the set from the scripts it loads: each protocol script adds
//! the server ports it registers, and the packet-analysis tunnel scripts
//! (always loaded, even with `-b`) add the tunnel ports. So a full run
//! (`zeek -r`) and a bare run (`zeek -b -r … base/protocols/dns`) orient the
//! same trace differently; the config mimics either.

pub use connwatch_track::PortSet;

/// Likely server ports for TCP and UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikelyServerPorts {
    /// TCP server ports.
    pub tcp: PortSet,
    /// UDP server ports.
    pub udp: PortSet,
}

/// The default sets (spec §6.1, standard build with Spicy analyzers) and
/// the tunnel ports present even with `-b` (`-b base/protocols/conn` still
/// flips UDP from 4789, 3544, 2152: Appendix A row 18). The lists live with
/// the tracker, whose defaults they are.
pub use connwatch_track::config::{
    FULL_TCP_SERVER_PORTS as FULL_TCP, FULL_UDP_SERVER_PORTS as FULL_UDP,
    TUNNEL_UDP_SERVER_PORTS as TUNNEL_UDP,
};

/// Ports one Zeek script adds to `likely_server_ports`.
#[derive(Debug, Clone, Copy)]
pub struct ScriptPorts {
    /// Script name as given to `zeek` / `@load`.
    pub script: &'static str,
    /// TCP ports added.
    pub tcp: &'static [u16],
    /// UDP ports added.
    pub udp: &'static [u16],
}

const fn sp(script: &'static str, tcp: &'static [u16], udp: &'static [u16]) -> ScriptPorts {
    ScriptPorts { script, tcp, udp }
}

/// What each base protocol script adds (its `redef likely_server_ports`),
/// read from zeek/zeek `scripts/base/protocols/<name>/main.zeek` where
/// marked "checked"; the others are the remaining entries of the full set
/// above attributed to the script that owns the protocol. Scripts that
/// register no ports (only DPD signatures) are listed with none so that
/// naming them is not mistaken for a typo.
pub const SCRIPT_PORTS: &[ScriptPorts] = &[
    // No ports: conn (the connection log itself), pop3 (only dpd.sig, which
    // is why 110/tcp is not in the full set), tunnels (only dpd.sig; the
    // tunnel ports come from the packet analyzers), the frameworks.
    sp("base/protocols/conn", &[], &[]),
    sp("base/protocols/pop3", &[], &[]),
    sp("base/protocols/tunnels", &[], &[]),
    sp("base/frameworks/tunnels", &[], &[]),
    sp("base/frameworks/notice/weird", &[], &[]),
    // checked: `const ports = { 53/udp, 53/tcp, 137/udp, 5353/udp, 5355/udp }`.
    sp("base/protocols/dns", &[53], &[53, 137, 5353, 5355]),
    // checked: `const ports = { 80, 81, 631, 1080, 3128, 8000, 8080, 8888 /tcp }`.
    sp(
        "base/protocols/http",
        &[80, 81, 631, 1080, 3128, 8000, 8080, 8888],
        &[],
    ),
    // checked: `const ports = { 21/tcp, 2811/tcp }`.
    sp("base/protocols/ftp", &[21, 2811], &[]),
    // checked: `const ports = { 22/tcp }`.
    sp("base/protocols/ssh", &[22], &[]),
    // checked: `const ports = { 123/udp }`.
    sp("base/protocols/ntp", &[], &[123]),
    // checked: registers 67, 68, 4011/udp but `likely_server_ports += { 67/udp }`.
    sp("base/protocols/dhcp", &[], &[67]),
    // checked: `const ports = { 25/tcp, 587/tcp }`.
    sp("base/protocols/smtp", &[25, 587], &[]),
    // checked (doc/scripts/base/protocols/ssl/main.zeek.rst): `SSL::ssl_ports`
    // and `SSL::dtls_ports = { 443/udp }`.
    sp(
        "base/protocols/ssl",
        &[443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
        &[443],
    ),
    // checked: `const ports = { 6666/tcp, 6667/tcp, 6668/tcp, 6669/tcp }`.
    sp("base/protocols/irc", &[6666, 6667, 6668, 6669], &[]),
    // checked: `const ports = { 1434/tcp, 3306/tcp }`.
    sp("base/protocols/mysql", &[1434, 3306], &[]),
    // checked: `const ports = { 139/tcp, 445/tcp }`.
    sp("base/protocols/smb", &[139, 445], &[]),
    // checked: `const ports = { 161/udp, 162/udp }`.
    sp("base/protocols/snmp", &[], &[161, 162]),
    sp("base/protocols/dce-rpc", &[135], &[]),
    sp("base/protocols/finger", &[79], &[]),
    sp("base/protocols/imap", &[143], &[]),
    sp("base/protocols/krb", &[88], &[88]),
    sp("base/protocols/ldap", &[389, 3268], &[389]),
    sp("base/protocols/modbus", &[502], &[]),
    sp("base/protocols/mqtt", &[1883], &[]),
    sp("base/protocols/dnp3", &[20000], &[20000]),
    sp("base/protocols/postgresql", &[5432], &[]),
    sp("base/protocols/redis", &[6379], &[]),
    sp("base/protocols/radius", &[], &[1812]),
    sp("base/protocols/rdp", &[3389], &[3389]),
    sp("base/protocols/sip", &[], &[5060]),
    sp("base/protocols/socks", &[1080], &[]),
    sp("base/protocols/syslog", &[], &[514]),
    sp("base/protocols/xmpp", &[5222, 5269], &[]),
];

/// Script names that load every default script, as a full run does.
pub const FULL_SCRIPTS: &[&str] = &["base/init-default", "base/protocols"];

/// `base/protocols/dns/main.zeek`, `base/protocols/dns/`, … → `base/protocols/dns`.
pub fn normalize(script: &str) -> &str {
    let s = script.trim();
    let s = s.strip_suffix(".zeek").unwrap_or(s);
    let s = s.strip_suffix("/__load__").unwrap_or(s);
    let s = s.strip_suffix("/main").unwrap_or(s);
    s.trim_end_matches('/')
}

impl LikelyServerPorts {
    /// The set of a full run (`zeek -r`, default scripts).
    pub fn zeek_default() -> Self {
        LikelyServerPorts {
            tcp: FULL_TCP.iter().copied().collect(),
            udp: FULL_UDP.iter().copied().collect(),
        }
    }

    /// The set of a bare run (`zeek -b`) loading `scripts`: the tunnel
    /// ports plus what each known script adds. Unknown names add nothing.
    pub fn zeek_bare<'a>(scripts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut tcp = PortSet::new();
        let mut udp: PortSet = TUNNEL_UDP.iter().copied().collect();
        for name in scripts {
            let name = normalize(name);
            if FULL_SCRIPTS.contains(&name) {
                return Self::zeek_default();
            }
            if let Some(sp) = SCRIPT_PORTS.iter().find(|sp| sp.script == name) {
                sp.tcp.iter().for_each(|p| tcp.insert(*p));
                sp.udp.iter().for_each(|p| udp.insert(*p));
            }
        }
        LikelyServerPorts { tcp, udp }
    }

    /// The set for the `[zeek]` config section.
    pub fn from_config(bare: bool, scripts: &[String]) -> Self {
        if bare {
            Self::zeek_bare(scripts.iter().map(String::as_str))
        } else {
            Self::zeek_default()
        }
    }

    /// True if a script of that name is in [`SCRIPT_PORTS`] (or loads all).
    pub fn knows_script(script: &str) -> bool {
        let name = normalize(script);
        FULL_SCRIPTS.contains(&name) || SCRIPT_PORTS.iter().any(|sp| sp.script == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_set_matches_spec() {
        let p = LikelyServerPorts::zeek_default();
        assert!(p.tcp.contains(80) && p.tcp.contains(6379) && !p.tcp.contains(514));
        assert!(!p.tcp.contains(110), "pop3 registers no ports");
        assert!(p.udp.contains(4789) && p.udp.contains(389) && !p.udp.contains(68));
        assert_eq!(p.tcp.iter().count(), FULL_TCP.len());
        assert_eq!(p.udp.iter().count(), FULL_UDP.len());
    }

    #[test]
    fn script_table_adds_up_to_the_full_set() {
        // Every script's ports are in the full set, and together with the
        // tunnel ports they cover it, except 4011/udp (proxyDHCP), which
        // the full set has but no script we know claims as a server port.
        let all = LikelyServerPorts::zeek_bare(SCRIPT_PORTS.iter().map(|s| s.script));
        let full = LikelyServerPorts::zeek_default();
        assert_eq!(all.tcp, full.tcp);
        let mut udp = all.udp.clone();
        udp.insert(4011);
        assert_eq!(udp, full.udp);
    }

    #[test]
    fn bare_mode() {
        let p = LikelyServerPorts::zeek_bare(["base/protocols/conn"]);
        assert_eq!(p.tcp.iter().count(), 0);
        let mut tunnels = TUNNEL_UDP.to_vec();
        tunnels.sort_unstable();
        assert_eq!(p.udp.iter().collect::<Vec<_>>(), tunnels);
        let p = LikelyServerPorts::zeek_bare([
            "base/protocols/conn",
            "base/protocols/dns/main.zeek",
            "base/protocols/http/",
            "base/protocols/pop3",
            "something/unknown",
        ]);
        assert!(p.tcp.contains(53) && p.tcp.contains(8080) && !p.tcp.contains(110));
        assert!(p.udp.contains(5353) && p.udp.contains(4789) && !p.udp.contains(123));
        assert!(LikelyServerPorts::knows_script("base/protocols/pop3"));
        assert!(!LikelyServerPorts::knows_script("something/unknown"));
        let cfg = LikelyServerPorts::from_config(false, &["base/protocols/conn".into()]);
        assert_eq!(cfg, LikelyServerPorts::zeek_default());
    }
}
