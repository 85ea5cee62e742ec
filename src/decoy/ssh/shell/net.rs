//! The fake host's network, as `ip` (iproute2 6.1, the version of both distributions),
//! `hostname -I` and `/proc/net/arp` show it: the loopback and one virtio interface, `ens3`,
//! holding the address the intruder connected to (or, when that is a loopback address, one
//! fixed per host name in 10.0.0.0/8), a /24 with its gateway at .1, leased by DHCP.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

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
                let metric = if self.ubuntu { " metric 100" } else { "" };
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

    fn routes(&self) -> String {
        let (a, g, net) = (self.address, self.gateway(), self.subnet());
        if self.ubuntu {
            format!(
                "default via {g} dev ens3 proto dhcp src {a} metric 100 \n{net} dev ens3 proto kernel scope link src {a} metric 100 \n{g} dev ens3 proto dhcp scope link src {a} metric 100 \n"
            )
        } else {
            format!("default via {g} dev ens3 \n{net} dev ens3 proto kernel scope link src {a} \n")
        }
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
            a.contains("\n    inet 192.0.2.10/24 brd 192.0.2.255 scope global dynamic ens3\n       valid_lft 85400sec preferred_lft 85400sec\n"),
            "{a}"
        );
        let (r, _, _) = net.ip(&["route"], 1000);
        assert_eq!(
            r,
            "default via 192.0.2.1 dev ens3 \n192.0.2.0/24 dev ens3 proto kernel scope link src 192.0.2.10 \n"
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
}
