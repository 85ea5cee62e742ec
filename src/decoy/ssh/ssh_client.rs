//! The fake host's `ssh`: what the distribution's OpenSSH client prints when an intruder
//! tries to go on from the decoy. `ssh -V` names the same build as the server's banner (a
//! mismatch between the two is a known honeypot check), options are read as `ssh.c` reads
//! them, and every destination fails the way a host with no onward route fails: names do
//! not resolve, addresses refuse, and the host itself has a key the client has never seen.
//! Nothing connects anywhere: this module only builds strings. The line itself is recorded
//! with every other command.

use std::net::IpAddr;

use super::profile::SshClient;

/// Where the client runs.
pub struct Caller<'a> {
    /// The fake host's name (it resolves to the host itself, as `/etc/hosts` has it).
    pub hostname: &'a str,
    /// Standard input is the session's terminal (not an exec request, not a pipe).
    pub stdin_is_tty: bool,
}

/// What one `ssh` run prints on standard error, and its exit status. The client's log
/// lines end in CR LF whatever the output (its `log.c` writes them so), its usage and
/// version in LF.
pub fn run(client: &SshClient, args: &[&str], caller: &Caller) -> (String, u32) {
    match parse(client, args) {
        Ok(Parsed::Version) => (format!("{}\n", client.version), 0),
        Ok(Parsed::Connect(c)) => connect(&c, caller),
        Err(Failure::Usage(why)) => (format!("{why}{}", client.usage), 255),
        Err(Failure::Message(m)) => (m, 255),
    }
}

#[derive(Debug, Default)]
struct Connect {
    host: String,
    port: Option<u16>,
    command: bool,
    /// `-t` count.
    force_tty: u8,
    /// `-T` or `-N`: no terminal wanted.
    no_tty: bool,
    ipv4_only: bool,
    ipv6_only: bool,
}

enum Parsed {
    Version,
    Connect(Connect),
}

enum Failure {
    /// A usage error: the reason (may be empty), then the usage text.
    Usage(String),
    Message(String),
}

/// Reads the command line as `ssh.c` does: options, the destination, then options again
/// up to the first word that is not one (the remote command) or `--`.
fn parse(client: &SshClient, args: &[&str]) -> Result<Parsed, Failure> {
    let mut c = Connect::default();
    let mut i = 0;
    let mut terminated = false;
    let mut destination = None;
    let mut port_option = None;
    loop {
        while !terminated && i < args.len() {
            let word = args[i];
            if word == "--" {
                terminated = true;
                i += 1;
                break;
            }
            let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) else {
                break;
            };
            i += 1;
            for (at, flag) in flags.char_indices() {
                let Some(found) = client.options.find(flag).filter(|_| flag != ':') else {
                    return Err(Failure::Usage(format!("unknown option -- {flag}\r\n")));
                };
                let takes_value = client.options[found + flag.len_utf8()..].starts_with(':');
                if !takes_value {
                    match flag {
                        'V' => return Ok(Parsed::Version),
                        't' => c.force_tty = c.force_tty.saturating_add(1),
                        'T' | 'N' => c.no_tty = true,
                        '4' => (c.ipv4_only, c.ipv6_only) = (true, false),
                        '6' => (c.ipv4_only, c.ipv6_only) = (false, true),
                        _ => {}
                    }
                    continue;
                }
                let rest = &flags[at + flag.len_utf8()..];
                let value = if !rest.is_empty() {
                    rest
                } else if let Some(v) = args.get(i) {
                    i += 1;
                    v
                } else {
                    return Err(Failure::Usage(format!(
                        "option requires an argument -- {flag}\r\n"
                    )));
                };
                match flag {
                    'p' => c.port = Some(port(value)?),
                    'o' => {
                        if let Some((key, v)) = value.split_once(['=', ' '])
                            && key.eq_ignore_ascii_case("port")
                        {
                            port_option = Some(port(v.trim())?);
                        }
                    }
                    _ => {}
                }
                break;
            }
        }
        if destination.is_some() || i >= args.len() {
            break;
        }
        destination = Some(args[i]);
        i += 1;
        if terminated {
            break;
        }
    }
    let Some(destination) = destination else {
        return Err(Failure::Usage(String::new()));
    };
    c.command = i < args.len();
    let (host, uri_port) = match destination.strip_prefix("ssh://") {
        Some(uri) => parse_uri(uri).ok_or(Failure::Usage(String::new()))?,
        None => (
            destination
                .rsplit_once('@')
                .map_or(destination, |(_, h)| h)
                .to_string(),
            None,
        ),
    };
    c.host = host.to_ascii_lowercase();
    c.port = c.port.or(port_option).or(uri_port);
    Ok(Parsed::Connect(c))
}

/// `[user@]host[:port][/]` of an `ssh://` destination; `host` may be a bracketed IPv6
/// address.
fn parse_uri(uri: &str) -> Option<(String, Option<u16>)> {
    let uri = uri.strip_suffix('/').unwrap_or(uri);
    let hostport = uri.rsplit_once('@').map_or(uri, |(_, h)| h);
    let (host, port_text) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port_text {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
        None => None,
    };
    Some((host.to_string(), port))
}

/// A port as `a2port` reads it: 1 to 65535, digits only.
fn port(text: &str) -> Result<u16, Failure> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p > 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Failure::Message(format!("Bad port '{text}'\n")))
}

fn connect(c: &Connect, caller: &Caller) -> (String, u32) {
    let mut err = String::new();
    let wants_tty = c.force_tty > 0 || (!c.command && !c.no_tty);
    if wants_tty && !caller.stdin_is_tty && c.force_tty < 2 && !c.no_tty {
        err.push_str("Pseudo-terminal will not be allocated because stdin is not a terminal.\r\n");
    }
    let host = c.host.as_str();
    let port = c.port.unwrap_or(22);
    let address = host.parse::<IpAddr>().ok();
    let wrong_family = match address {
        Some(IpAddr::V4(_)) => c.ipv6_only,
        Some(IpAddr::V6(_)) => c.ipv4_only,
        None => false,
    };
    if wrong_family {
        err.push_str(&format!(
            "ssh: Could not resolve hostname {host}: Address family for hostname not supported\r\n"
        ));
        return (err, 255);
    }
    let itself = address.is_some_and(|a| a.is_loopback())
        || ["localhost", "localhost.localdomain", "ip6-localhost"].contains(&host)
        || host.eq_ignore_ascii_case(caller.hostname);
    if itself && port == 22 {
        // Its own sshd answers, with a host key the user's known_hosts lacks; with no
        // terminal to ask on, the client gives up.
        err.push_str("Host key verification failed.\r\n");
    } else if address.is_some() || itself {
        err.push_str(&format!(
            "ssh: connect to host {host} port {port}: Connection refused\r\n"
        ));
    } else {
        err.push_str(&format!(
            "ssh: Could not resolve hostname {host}: Name or service not known\r\n"
        ));
    }
    (err, 255)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::ssh::profile::Profile;

    fn debian(args: &[&str], tty: bool) -> (String, u32) {
        let caller = Caller {
            hostname: "build-07",
            stdin_is_tty: tty,
        };
        run(
            &Profile::Openssh92Debian.data().distro.ssh_client,
            args,
            &caller,
        )
    }

    #[test]
    fn answers_as_the_real_client_of_the_same_build_answers() {
        // The real OpenSSH client of the Debian package the Debian profile copies (the one
        // this machine has), run with no configuration, standard input not a terminal, and
        // only loopback destinations on ports nothing listens on.
        let real_version = std::process::Command::new("ssh")
            .arg("-V")
            .output()
            .unwrap();
        let real_version = String::from_utf8_lossy(&real_version.stderr).into_owned();
        assert!(
            real_version.starts_with("OpenSSH_9.2p1 Debian-2+deb12u"),
            "the comparison needs Debian 12's client: {real_version}"
        );
        // A later security update of the package changes the version line only; the
        // profile's stays that of the package it copies.
        let ours = format!(
            "{}\n",
            Profile::Openssh92Debian.data().distro.ssh_client.version
        );
        for line in [
            "-V",
            "-Vp 9",
            "-q -V",
            "",
            "-z",
            "-l",
            "-p abc 127.0.0.2",
            "-p 0 127.0.0.2",
            "-p 99999 127.0.0.2",
            "-p 9 127.0.0.2",
            "-p9 127.0.0.2",
            "-N -p 9 127.0.0.2",
            "-T -p 9 127.0.0.2",
            "-t -p 9 127.0.0.2 id",
            "-tt -p 9 127.0.0.2",
            "-p 9 127.0.0.2 -- id",
            "127.0.0.2 -p 9",
            "127.0.0.2 -p 9 id -p 8",
            "-l root -o StrictHostKeyChecking=no root@127.0.0.3 -p 9 uname -a",
            "ssh://u@127.0.0.2:9/",
            "ssh://127.0.0.2:x",
            "-o Port=9 127.0.0.2",
            "-4 ::1",
            "-6 127.0.0.2",
            "-p 9 LocalHost",
            "-p 9 ::1",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let real = std::process::Command::new("ssh")
                .args(["-F", "/dev/null"])
                .args(&args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let real = (
                String::from_utf8_lossy(&real.stderr).replace(&real_version, &ours),
                real.status.code().unwrap() as u32,
            );
            assert_eq!(debian(&args, false), real, "ssh {line}");
        }
    }

    #[test]
    fn the_host_itself_and_names_fail_without_a_network() {
        for (line, tty, want) in [
            ("localhost", true, "Host key verification failed.\r\n"),
            ("build-07 id", false, "Host key verification failed.\r\n"),
            (
                "localhost",
                false,
                "Pseudo-terminal will not be allocated because stdin is not a terminal.\r\nHost key verification failed.\r\n",
            ),
            (
                "-p 2222 root@BUILD-07 id",
                false,
                "ssh: connect to host build-07 port 2222: Connection refused\r\n",
            ),
            (
                "deploy@db-01.corp -t",
                true,
                "ssh: Could not resolve hostname db-01.corp: Name or service not known\r\n",
            ),
            (
                "10.0.4.20 cat /etc/passwd",
                false,
                "ssh: connect to host 10.0.4.20 port 22: Connection refused\r\n",
            ),
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(debian(&args, tty), (want.to_string(), 255), "ssh {line}");
        }
        let ubuntu = &Profile::Openssh96Ubuntu.data().distro.ssh_client;
        let caller = Caller {
            hostname: "web",
            stdin_is_tty: true,
        };
        assert_eq!(
            run(ubuntu, &["-V"], &caller),
            (
                "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5, OpenSSL 3.0.13 30 Jan 2024\n".into(),
                0
            )
        );
        // 9.6 gave -P an argument (a tag); 9.2 took it as an obsolete flag.
        let (text, status) = run(ubuntu, &["-P"], &caller);
        assert!(
            text.starts_with("option requires an argument -- P\r\nusage: ssh"),
            "{text}"
        );
        assert_eq!(status, 255);
    }

    #[test]
    fn the_version_names_the_build_the_banner_names() {
        for p in [Profile::Openssh92Debian, Profile::Openssh96Ubuntu] {
            let d = p.data();
            let build = d.id.strip_prefix("SSH-2.0-").unwrap();
            assert!(
                d.distro
                    .ssh_client
                    .version
                    .starts_with(&format!("{build}, ")),
                "{}",
                d.name
            );
        }
    }
}
