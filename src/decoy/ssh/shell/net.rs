//! The fake host's network, as `ip` (iproute2 6.1, the version of both distributions),
//! `hostname -I` and `/proc/net/arp` show it: the loopback and one virtio interface, `ens3`,
//! holding the address the intruder connected to (or, when that is a loopback address, one
//! fixed per host name in 10.0.0.0/8), a /24 with its gateway at .1, leased by DHCP.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::Host;
use crate::decoy::ssh::profile::Family;

/// The interface's settings for one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Net {
    pub address: Ipv4Addr,
    pub mac: [u8; 6],
    pub gateway_mac: [u8; 6],
    /// Seconds left on the DHCP lease.
    pub lease_left: u64,
    /// Ubuntu's stack: systemd-networkd marks its routes with a metric and `proto dhcp`,
    /// and its 6.8 kernel marks `::1` noprefixroute.
    pub ubuntu: bool,
}

impl Net {
    /// The network of `host` for a session that reached it at `local`.
    pub fn of(host: &Host, local: Option<IpAddr>, since_boot: u64) -> Net {
        let seed = host.seed("net");
        let address = match local {
            Some(IpAddr::V4(a)) if !a.is_loopback() && !a.is_unspecified() => a,
            _ => {
                let [_, b, c, d, ..] = seed.to_be_bytes();
                Ipv4Addr::new(10, b, c, d.clamp(10, 250))
            }
        };
        let mac = |what: &str| {
            let b = host.seed(what).to_be_bytes();
            // QEMU's prefix: what a KVM guest's virtio interface has.
            [0x52, 0x54, 0x00, b[0], b[1], b[2]]
        };
        const LEASE: u64 = 86_400;
        Net {
            address,
            mac: mac("mac"),
            gateway_mac: mac("gateway mac"),
            // Renewed at half the lease.
            lease_left: LEASE - since_boot % (LEASE / 2),
            ubuntu: host.distro.family == Family::Ubuntu,
        }
    }

    fn gateway(&self) -> Ipv4Addr {
        let [a, b, c, _] = self.address.octets();
        Ipv4Addr::new(a, b, c, 1)
    }

    fn subnet(&self) -> String {
        let [a, b, c, _] = self.address.octets();
        format!("{a}.{b}.{c}.0/24")
    }

    fn broadcast(&self) -> Ipv4Addr {
        let [a, b, c, _] = self.address.octets();
        Ipv4Addr::new(a, b, c, 255)
    }

    fn link_local(&self) -> String {
        // EUI-64 from the MAC, as the kernel derives it.
        let m = self.mac;
        format!(
            "fe80::{:x}:{:x}:{:x}:{:x}",
            u16::from_be_bytes([m[0] ^ 2, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]])
        )
    }

    /// `hostname -I`: the global addresses, each followed by a space.
    pub fn hostname_i(&self) -> String {
        format!("{} \n", self.address)
    }

    /// `/proc/net/arp`: the gateway.
    pub fn arp(&self) -> String {
        format!(
            "IP address       HW type     Flags       HW address            Mask     Device\n{:<17}0x1         0x2         {}     *        ens3\n",
            self.gateway().to_string(),
            mac_text(self.gateway_mac)
        )
    }

    /// `ip ARGS`: (stdout, stderr, status).
    pub fn ip(&self, args: &[&str], uid: u32) -> (String, String, u32) {
        let version = if self.ubuntu {
            "ip utility, iproute2-6.1.0, libbpf 1.3.0"
        } else {
            "ip utility, iproute2-6.1.0, libbpf 1.1.2"
        };
        let mut family = None;
        let mut brief = false;
        let mut words = Vec::new();
        for a in args {
            match *a {
                "-4" => family = Some(4),
                "-6" => family = Some(6),
                "-br" | "-brief" | "--brief" => brief = true,
                "-V" | "-Version" => return (format!("{version}\n"), String::new(), 0),
                a if a.starts_with('-') => {} // -c, -s, -d and the like change little here
                a => words.push(a),
            }
        }
        let Some((object, rest)) = words.split_first() else {
            return (String::new(), IP_USAGE.into(), 255);
        };
        let is = |full: &str| !object.is_empty() && full.starts_with(object);
        // iproute2 matches an object by its prefix; these are the ones a host has.
        let out = if is("address") || *object == "a" {
            self.addresses(family, brief, dev_filter(rest))
        } else if is("link") {
            self.links(brief, dev_filter(rest))
        } else if is("route") || *object == "r" {
            if let ["get", to, ..] = rest {
                return match to.parse::<Ipv4Addr>() {
                    Ok(to) => (self.route_to(to, uid), String::new(), 0),
                    Err(_) => (
                        String::new(),
                        format!("Error: any valid prefix is expected rather than \"{to}\".\n"),
                        1,
                    ),
                };
            }
            if family == Some(6) {
                "fe80::/64 dev ens3 proto kernel metric 256 pref medium\n".into()
            } else {
                self.routes()
            }
        } else if is("neighbour") || is("neighbor") || *object == "n" {
            format!(
                "{} dev ens3 lladdr {} REACHABLE \n",
                self.gateway(),
                mac_text(self.gateway_mac)
            )
        } else if is("help") {
            return (String::new(), IP_USAGE.into(), 0);
        } else if KNOWN.iter().any(|k| k.starts_with(object)) {
            String::new()
        } else {
            return (
                String::new(),
                format!("Object \"{object}\" is unknown, try \"ip help\".\n"),
                1,
            );
        };
        match out.is_empty() && dev_filter(rest).is_some_and(|d| d != "lo" && d != "ens3") {
            true => (
                String::new(),
                format!(
                    "Device \"{}\" does not exist.\n",
                    dev_filter(rest).unwrap_or_default()
                ),
                1,
            ),
            false => (out, String::new(), 0),
        }
    }

    fn addresses(&self, family: Option<u8>, brief: bool, dev: Option<&str>) -> String {
        let (v4, v6) = (family != Some(6), family != Some(4));
        let mut out = String::new();
        let show = |name: &str| dev.is_none_or(|d| d == name);
        if brief {
            if show("lo") {
                let mut line = format!("{:<17}{:<15}", "lo", "UNKNOWN");
                if v4 {
                    line.push_str("127.0.0.1/8 ");
                }
                if v6 {
                    line.push_str("::1/128 ");
                }
                let _ = writeln!(out, "{line}");
            }
            if show("ens3") {
                let mut line = format!("{:<17}{:<15}", "ens3", "UP");
                if v4 {
                    let _ = write!(line, "{}/24 ", self.address);
                }
                if v6 {
                    let _ = write!(line, "{}/64 ", self.link_local());
                }
                let _ = writeln!(out, "{line}");
            }
            return out;
        }
        if show("lo") {
            out.push_str(&self.link_line(1, false));
            if family.is_none() {
                out.push_str("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n");
            }
            if v4 {
                out.push_str("    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n");
            }
            if v6 {
                let flag = if self.ubuntu { "noprefixroute " } else { "" };
                let _ = writeln!(
                    out,
                    "    inet6 ::1/128 scope host {flag}\n       valid_lft forever preferred_lft forever"
                );
            }
        }
        if show("ens3") {
            out.push_str(&self.link_line(2, false));
            if family.is_none() {
                let _ = writeln!(
                    out,
                    "    link/ether {} brd ff:ff:ff:ff:ff:ff\n    altname enp0s3",
                    mac_text(self.mac)
                );
            }
            if v4 {
                let metric = format!(" metric {}", self.metric());
                let _ = writeln!(
                    out,
                    "    inet {}/24{metric} brd {} scope global dynamic ens3\n       valid_lft {left}sec preferred_lft {left}sec",
                    self.address,
                    self.broadcast(),
                    left = self.lease_left
                );
            }
            if v6 {
                let _ = writeln!(
                    out,
                    "    inet6 {}/64 scope link \n       valid_lft forever preferred_lft forever",
                    self.link_local()
                );
            }
        }
        out
    }

    fn link_line(&self, index: u8, mode: bool) -> String {
        let mode = if mode { "mode DEFAULT " } else { "" };
        if index == 1 {
            format!(
                "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN {mode}group default qlen 1000\n"
            )
        } else {
            format!(
                "2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP {mode}group default qlen 1000\n"
            )
        }
    }

    fn links(&self, brief: bool, dev: Option<&str>) -> String {
        let show = |name: &str| dev.is_none_or(|d| d == name);
        let mut out = String::new();
        if brief {
            if show("lo") {
                let _ = writeln!(
                    out,
                    "{:<17}{:<15}00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> ",
                    "lo", "UNKNOWN"
                );
            }
            if show("ens3") {
                let _ = writeln!(
                    out,
                    "{:<17}{:<15}{} <BROADCAST,MULTICAST,UP,LOWER_UP> ",
                    "ens3",
                    "UP",
                    mac_text(self.mac)
                );
            }
            return out;
        }
        if show("lo") {
            out.push_str(&self.link_line(1, true));
            out.push_str("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n");
        }
        if show("ens3") {
            out.push_str(&self.link_line(2, true));
            let _ = writeln!(
                out,
                "    link/ether {} brd ff:ff:ff:ff:ff:ff\n    altname enp0s3",
                mac_text(self.mac)
            );
        }
        out
    }

    /// `ip route get TO`.
    fn route_to(&self, to: Ipv4Addr, uid: u32) -> String {
        let (a, g) = (self.address, self.gateway());
        if to.is_loopback() || to == a {
            format!(
                "local {to} dev lo src {} uid {uid} \n    cache <local> \n",
                if to == a { a } else { to }
            )
        } else if to.octets()[..3] == a.octets()[..3] {
            format!("{to} dev ens3 src {a} uid {uid} \n    cache \n")
        } else {
            format!("{to} via {g} dev ens3 src {a} uid {uid} \n    cache \n")
        }
    }

    /// The metric systemd-networkd gives its DHCP routes: its own default, or the one
    /// netplan sets on Ubuntu.
    fn metric(&self) -> u32 {
        if self.ubuntu { 100 } else { 1024 }
    }

    fn routes(&self) -> String {
        let (a, g, net, m) = (self.address, self.gateway(), self.subnet(), self.metric());
        format!(
            "default via {g} dev ens3 proto dhcp src {a} metric {m} \n{net} dev ens3 proto kernel scope link src {a} metric {m} \n{g} dev ens3 proto dhcp scope link src {a} metric {m} \n"
        )
    }

    /// `ss ARGS` for a host whose sshd listens on `port` and holds the session from
    /// `peer`; `root` sees the processes behind the sockets.
    pub fn ss(
        &self,
        args: &[&str],
        port: u16,
        session: Option<(SocketAddr, u32)>,
        root: bool,
    ) -> (String, String, u32) {
        let (mut tcp, mut udp, mut listening, mut all, mut numeric, mut processes) =
            (false, false, false, false, false, false);
        let (mut v4, mut v6) = (true, true);
        for a in args {
            let Some(flags) = a.strip_prefix('-').filter(|f| !f.starts_with('-')) else {
                continue;
            };
            for f in flags.chars() {
                match f {
                    't' => tcp = true,
                    'u' => udp = true,
                    'l' => listening = true,
                    'a' => all = true,
                    'n' => numeric = true,
                    'p' => processes = true,
                    '4' => (v4, v6) = (true, false),
                    '6' => (v4, v6) = (false, true),
                    _ => {}
                }
            }
        }
        if !tcp && !udp {
            (tcp, udp) = (true, true);
        }
        let service = |p: u16| -> String {
            match (numeric, p) {
                (false, 22) => "ssh".into(),
                (false, 53) => "domain".into(),
                (false, 68) => "bootpc".into(),
                (false, 8080) => "http-alt".into(),
                _ => p.to_string(),
            }
        };
        let sshd = |fd: u8| {
            if self.ubuntu {
                // 24.04 starts sshd from ssh.socket: systemd holds the listener too.
                format!(
                    " users:((\"sshd\",pid=889,fd={fd}),(\"systemd\",pid=1,fd={}))",
                    115 + fd
                )
            } else {
                format!(" users:((\"sshd\",pid=889,fd={fd}))")
            }
        };
        let backlog = if self.ubuntu { "4096" } else { "128" };
        // (netid, state, recv-q, send-q, local address, local port, peer address, peer port,
        // process, IPv6), in the order the kernel lists them.
        let mut rows: Vec<[String; 9]> = Vec::new();
        let mut add = |r: [&str; 9]| rows.push(r.map(str::to_string));
        let address = self.address.to_string();
        let local_dhcp = format!("{address}%ens3");
        let networkd = "598";
        let resolved_udp = " users:((\"systemd-resolve\",pid=611,fd=13))".to_string();
        let networkd_udp = format!(" users:((\"systemd-network\",pid={networkd},fd=22))");
        if udp && v4 && (listening || all) {
            if self.ubuntu {
                add([
                    "udp",
                    "UNCONN",
                    "0",
                    "0",
                    "127.0.0.54",
                    &service(53),
                    "0.0.0.0",
                    "*",
                    &resolved_udp,
                ]);
                add([
                    "udp",
                    "UNCONN",
                    "0",
                    "0",
                    "127.0.0.53%lo",
                    &service(53),
                    "0.0.0.0",
                    "*",
                    &resolved_udp,
                ]);
            }
            add([
                "udp",
                "UNCONN",
                "0",
                "0",
                &local_dhcp,
                &service(68),
                "0.0.0.0",
                "*",
                &networkd_udp,
            ]);
        }
        let session_users = session.map_or(String::new(), |(_, pid)| {
            format!(" users:((\"sshd\",pid={pid},fd=4))")
        });
        let session = session.map(|(p, _)| (p.ip().to_string(), p.port().to_string()));
        if tcp && v4 {
            if listening || all {
                if self.ubuntu {
                    let r = " users:((\"systemd-resolve\",pid=611,fd=14))";
                    add([
                        "tcp",
                        "LISTEN",
                        "0",
                        "4096",
                        "127.0.0.53%lo",
                        &service(53),
                        "0.0.0.0",
                        "*",
                        r,
                    ]);
                    add([
                        "tcp",
                        "LISTEN",
                        "0",
                        "4096",
                        "127.0.0.54",
                        &service(53),
                        "0.0.0.0",
                        "*",
                        r,
                    ]);
                }
                add([
                    "tcp",
                    "LISTEN",
                    "0",
                    backlog,
                    "0.0.0.0",
                    &service(port),
                    "0.0.0.0",
                    "*",
                    &sshd(3),
                ]);
            }
            if let Some((ip, pp)) = session.as_ref().filter(|_| !listening || all) {
                add([
                    "tcp",
                    "ESTAB",
                    "0",
                    "0",
                    &address,
                    &service(port),
                    ip,
                    pp,
                    &session_users,
                ]);
            }
        }
        if tcp && v6 && (listening || all) {
            add([
                "tcp",
                "LISTEN",
                "0",
                backlog,
                "[::]",
                &service(port),
                "[::]",
                "*",
                &sshd(4),
            ]);
        }
        let netid = tcp && udp;
        let header = [
            "Netid",
            "State",
            "Recv-Q",
            "Send-Q",
            "Local Address",
            "Port",
            "Peer Address",
            "Port",
            "Process",
        ];
        let shown = |r: &[String; 9]| -> Vec<String> {
            let mut r = r.clone();
            if !(processes && root) {
                r[8].clear();
            }
            r.to_vec()
        };
        let table: Vec<Vec<String>> = std::iter::once(header.map(str::to_string).to_vec())
            .chain(rows.iter().map(shown))
            .collect();
        let width = |i: usize| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        };
        let w: Vec<usize> = (0..9).map(width).collect();
        let mut out = String::new();
        for r in &table {
            let mut line = String::new();
            if netid {
                let _ = write!(line, "{:<w0$} ", r[0], w0 = w[0]);
            }
            let _ = writeln!(
                line,
                "{:<w1$} {:<w2$} {:<w3$} {:>w4$}:{:<w5$} {:>w6$}:{:<w7$}{:<w8$}",
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4],
                w5 = w[5],
                w6 = w[6],
                w7 = w[7],
                w8 = w[8]
            );
            out.push_str(&line);
        }
        (out, String::new(), 0)
    }
}

/// The `dev NAME` (or bare NAME after `show`) an `ip` command is limited to.
fn dev_filter<'a>(rest: &[&'a str]) -> Option<&'a str> {
    let mut it = rest.iter().copied();
    while let Some(w) = it.next() {
        match w {
            "dev" => return it.next(),
            "show" | "list" | "s" | "l" | "lst" => {}
            other => return Some(other),
        }
    }
    None
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `ip`'s objects (iproute2 6.1).
const KNOWN: &[&str] = &[
    "addrlabel",
    "amt",
    "fou",
    "ila",
    "ioam",
    "l2tp",
    "macsec",
    "maddress",
    "monitor",
    "mptcp",
    "mroute",
    "mrule",
    "netconf",
    "netns",
    "nexthop",
    "ntable",
    "ntbl",
    "rule",
    "sr",
    "tap",
    "tcpmetrics",
    "token",
    "tunnel",
    "tuntap",
    "vrf",
    "xfrm",
];

const IP_USAGE: &str = "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }
       ip [ -force ] -batch filename
where  OBJECT := { address | addrlabel | amt | fou | help | ila | ioam | l2tp |
                   link | macsec | maddress | monitor | mptcp | mroute | mrule |
                   neighbor | neighbour | netconf | netns | nexthop | ntable |
                   ntbl | route | rule | sr | tap | tcpmetrics |
                   token | tunnel | tuntap | vrf | xfrm }
       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -r[esolve] |
                    -h[uman-readable] | -iec | -j[son] | -p[retty] |
                    -f[amily] { inet | inet6 | mpls | bridge | link } |
                    -4 | -6 | -M | -B | -0 |
                    -l[oops] { maximum-addr-flush-attempts } | -br[ief] |
                    -o[neline] | -t[imestamp] | -ts[hort] | -b[atch] [filename] |
                    -rc[vbuf] [size] | -n[etns] name | -N[umeric] | -a[ll] |
                    -c[olor]}
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::ssh::profile::Profile;

    fn host(p: Profile) -> Host {
        Host::new("build-07", &p.data().distro, vec![], &[])
    }

    #[test]
    fn the_interface_holds_the_address_the_session_reached() {
        let h = host(Profile::Openssh92Debian);
        let net = Net::of(&h, Some("192.0.2.10".parse().unwrap()), 1000);
        assert_eq!(net.address, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(net.hostname_i(), "192.0.2.10 \n");
        let (a, _, status) = net.ip(&["a"], 1000);
        assert_eq!(status, 0);
        assert!(
            a.contains("\n    inet 192.0.2.10/24 metric 1024 brd 192.0.2.255 scope global dynamic ens3\n       valid_lft 85400sec preferred_lft 85400sec\n"),
            "{a}"
        );
        let (r, _, _) = net.ip(&["route"], 1000);
        assert_eq!(
            r,
            "default via 192.0.2.1 dev ens3 proto dhcp src 192.0.2.10 metric 1024 \n192.0.2.0/24 dev ens3 proto kernel scope link src 192.0.2.10 metric 1024 \n192.0.2.1 dev ens3 proto dhcp scope link src 192.0.2.10 metric 1024 \n"
        );
        let (get, _, _) = net.ip(&["r", "get", "8.8.8.8"], 1000);
        assert_eq!(
            get,
            "8.8.8.8 via 192.0.2.1 dev ens3 src 192.0.2.10 uid 1000 \n    cache \n"
        );
        // The gateway has one MAC everywhere it shows.
        let (n, _, _) = net.ip(&["neigh"], 0);
        let gw_mac = n.split_whitespace().nth(4).unwrap().to_string();
        assert!(
            net.arp().contains(&format!(
                "192.0.2.1        0x1         0x2         {gw_mac}     *        ens3\n"
            )),
            "{}",
            net.arp()
        );
        // A loopback session gets an address of the host's own, the same every time.
        let own = Net::of(&h, Some("127.0.0.1".parse().unwrap()), 0);
        assert_eq!(own.address.octets()[0], 10);
        assert_eq!(own, Net::of(&h, Some("127.0.0.1".parse().unwrap()), 0));
        assert_eq!(own.address, Net::of(&h, None, 0).address);
        // The link-local address is the MAC's EUI-64.
        let mut fixed = net.clone();
        fixed.mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        assert_eq!(fixed.link_local(), "fe80::5054:ff:fe12:3456");
        // Errors as iproute2 words them.
        assert_eq!(
            net.ip(&["foo"], 0),
            (
                String::new(),
                "Object \"foo\" is unknown, try \"ip help\".\n".into(),
                1
            )
        );
        assert_eq!(net.ip(&[], 0).2, 255);
        assert_eq!(
            net.ip(&["a", "show", "eth0"], 0),
            (String::new(), "Device \"eth0\" does not exist.\n".into(), 1)
        );
        // Ubuntu's networkd routes carry a metric.
        let u = Net::of(
            &host(Profile::Openssh96Ubuntu),
            Some("192.0.2.10".parse().unwrap()),
            0,
        );
        assert!(
            u.ip(&["r"], 0).0.starts_with(
                "default via 192.0.2.1 dev ens3 proto dhcp src 192.0.2.10 metric 100 \n"
            )
        );
    }

    #[test]
    fn the_loopback_lists_as_iproute2_6_1_lists_it() {
        // This machine's own loopback, by the same iproute2 6.1 the Debian profile has
        // (its kernel does not mark ::1 noprefixroute either). The index is the machine's.
        let net = Net::of(&host(Profile::Openssh92Debian), None, 0);
        for args in [
            &["a", "show", "lo"][..],
            &["link", "show", "lo"],
            &["-br", "a", "show", "lo"],
            &["-br", "link", "show", "lo"],
            &["-4", "a", "show", "dev", "lo"],
        ] {
            let real = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            let real = String::from_utf8(real.stdout).unwrap();
            let real = match real.split_once(": lo: ") {
                Some((_, rest)) => format!("1: lo: {rest}"),
                None => real,
            };
            assert_eq!(net.ip(args, 0).0, real, "ip {args:?}");
        }
    }

    #[test]
    fn sockets_list_as_ss_lists_the_same_sockets() {
        // The real ss (iproute2 6.1) in a network namespace of its own, holding the sockets
        // the Debian host's sshd holds: listeners on 0.0.0.0 and [::], and one session.
        let script = r#"
import socket, subprocess, sys
port = int(sys.argv[1])
a = socket.socket(); a.bind(("0.0.0.0", port)); a.listen(128)
b = socket.socket(socket.AF_INET6); b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
b.bind(("::", port)); b.listen(128)
c = socket.create_connection(("127.0.0.1", port)); s, peer = a.accept()
print(peer[1])
for args in sys.argv[2:]:
    print("\0" + subprocess.run(["ss"] + args.split(), capture_output=True, text=True).stdout, end="")
"#;
        // The namespace lists the client's end of the session too, which a host reached
        // from elsewhere does not: its port would widen the local port column, so listings
        // with sessions are compared on a port as wide as the client's.
        let listening = ["-tln", "-tl", "-tln6"];
        let all = ["-tln", "-tn", "-tan", "-tl", "-t", "-tan4", "-tln6", "-ta"];
        for (port, cases) in [(22u16, &listening[..]), (2222, &listening), (22222, &all)] {
            let real = std::process::Command::new("unshare")
                .args([
                    "-rn",
                    "sh",
                    "-c",
                    "ip link set lo up && exec python3 -c \"$0\" \"$@\"",
                ])
                .arg(script)
                .arg(port.to_string())
                .args(cases)
                .output()
                .expect("unshare and python3 run");
            let text = String::from_utf8(real.stdout).unwrap();
            let mut parts = text.split('\0');
            let peer_port: u16 = parts
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&real.stderr)));
            let mut net = Net::of(&host(Profile::Openssh92Debian), None, 0);
            net.address = Ipv4Addr::LOCALHOST;
            let session = Some((SocketAddr::from(([127, 0, 0, 1], peer_port)), 1400));
            for (args, real) in cases.iter().zip(parts) {
                // The real namespace also lists the client's end of the session.
                let real: String = real
                    .lines()
                    .filter(|l| {
                        l.split_whitespace().nth(3) != Some(&format!("127.0.0.1:{peer_port}"))
                    })
                    .map(|l| format!("{l}\n"))
                    .collect();
                let (fake, _, _) = net.ss(&[args], port, session, false);
                assert_eq!(fake, real, "ss {args} (port {port})");
            }
        }
    }

    #[test]
    fn ss_shows_the_processes_to_root_only_and_the_services_of_each_distribution() {
        let d = Net::of(
            &host(Profile::Openssh92Debian),
            Some("192.0.2.10".parse().unwrap()),
            0,
        );
        let session = Some((SocketAddr::from(([203, 0, 113, 7], 50_123)), 1421));
        let (root, _, _) = d.ss(&["-tulpn"], 22, session, true);
        assert_eq!(
            root,
            "Netid State  Recv-Q Send-Q   Local Address:Port Peer Address:PortProcess                                   \n\
             udp   UNCONN 0      0      192.0.2.10%ens3:68        0.0.0.0:*    users:((\"systemd-network\",pid=598,fd=22))\n\
             tcp   LISTEN 0      128            0.0.0.0:22        0.0.0.0:*    users:((\"sshd\",pid=889,fd=3))            \n\
             tcp   LISTEN 0      128               [::]:22           [::]:*    users:((\"sshd\",pid=889,fd=4))            \n"
        );
        let (user, _, _) = d.ss(&["-tnp"], 22, session, false);
        assert!(
            user.contains("192.0.2.10:22    203.0.113.7:50123"),
            "{user}"
        );
        assert!(!user.contains("users:"), "{user}");
        // Ubuntu: systemd-resolved's stub listeners, and ssh.socket's backlog.
        let u = Net::of(
            &host(Profile::Openssh96Ubuntu),
            Some("192.0.2.10".parse().unwrap()),
            0,
        );
        let (listening, _, _) = u.ss(&["-tln"], 22, session, false);
        assert!(listening.contains(" 127.0.0.53%lo:53 "), "{listening}");
        assert!(
            listening.contains("LISTEN 0      4096         0.0.0.0:22 "),
            "{listening}"
        );
    }
}
