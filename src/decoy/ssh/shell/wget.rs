//! `wget`, GNU Wget 1.21 as both profiles ship it, that fetches nothing: the way droppers
//! arrive (`wget http://…/x.sh -O- | sh`). The URL is in the session's record with the rest
//! of the line; the answer goes as the fake `ssh` client's does (`ssh_client.rs`): names do
//! not resolve, addresses refuse the connection. The fake host's own name and `localhost`
//! resolve as `/etc/hosts` has them, and refuse too.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::date::strftime;

/// Options that take a value (`-O file`, `--output-document file`…).
const WITH_VALUE: &[&str] = &[
    "-O",
    "-o",
    "-a",
    "-P",
    "-U",
    "-t",
    "-T",
    "-e",
    "-i",
    "-w",
    "-Q",
    "-l",
    "-A",
    "-R",
    "-D",
    "--output-document",
    "--output-file",
    "--directory-prefix",
    "--user-agent",
    "--tries",
    "--timeout",
    "--header",
    "--user",
    "--password",
    "--post-data",
];

/// Runs `wget ARGS` on the host named `hostname` at `now`: (stdout, stderr, status).
pub(super) fn wget(args: &[&str], hostname: &str, now: SystemTime) -> (String, String, u32) {
    let mut quiet = false;
    let mut urls = Vec::new();
    let mut it = args.iter().copied();
    while let Some(a) = it.next() {
        match a {
            "-q" | "--quiet" => quiet = true,
            a if WITH_VALUE.contains(&a) => {
                it.next();
            }
            a if a.starts_with("--") => {}
            a if a.starts_with('-') && a.len() > 1 => {
                // Bundled short options: `-qO-`, `-qO file`; what follows `O` is its value.
                let flags = &a[1..];
                let value_at = flags.find(|c| "OoaPUtTeiwQlARD".contains(c));
                let bare = &flags[..value_at.unwrap_or(flags.len())];
                quiet |= bare.contains('q');
                if value_at.is_some_and(|i| i + 1 == flags.len()) {
                    it.next();
                }
            }
            a => urls.push(a),
        }
    }
    if urls.is_empty() {
        return (
            String::new(),
            "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n"
                .into(),
            1,
        );
    }
    let mut err = String::new();
    for url in urls {
        let u = Url::parse(url);
        let _ = writeln!(err, "--{}--  {}", strftime("%F %T", now), u.shown());
        if u.scheme == "ftp" {
            let name = u.path.rsplit('/').next().filter(|n| !n.is_empty());
            let _ = writeln!(
                err,
                "           => \u{2018}{}\u{2019}",
                name.unwrap_or(".listing")
            );
        }
        let port = u.port();
        let resolved = match u.host.as_str() {
            "localhost" => Some("127.0.0.1"),
            h if h == hostname => Some("127.0.1.1"),
            _ => None,
        };
        match resolved {
            _ if u.is_address() => {
                let _ = writeln!(
                    err,
                    "Connecting to {}:{port}... failed: Connection refused.",
                    u.host
                );
            }
            Some(ip) => {
                let h = &u.host;
                let _ = writeln!(err, "Resolving {h} ({h})... {ip}");
                let _ = writeln!(
                    err,
                    "Connecting to {h} ({h})|{ip}|:{port}... failed: Connection refused."
                );
            }
            None => {
                let h = &u.host;
                let _ = writeln!(
                    err,
                    "Resolving {h} ({h})... failed: Name or service not known."
                );
                let _ = writeln!(
                    err,
                    "wget: unable to resolve host address \u{2018}{h}\u{2019}"
                );
            }
        }
    }
    if quiet {
        err.clear();
    }
    (String::new(), err, 4)
}

/// A URL as wget reads one: the scheme defaults to http, the path to `/`.
struct Url {
    scheme: String,
    /// `user@` or `user:*password*@`, as shown.
    user: String,
    /// A host name, an IPv4 address or a bracketed IPv6 one.
    host: String,
    port: Option<String>,
    path: String,
}

impl Url {
    fn parse(text: &str) -> Url {
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) if ["http", "https", "ftp"].contains(&s.to_ascii_lowercase().as_str()) => {
                (s.to_ascii_lowercase(), r)
            }
            _ => ("http".to_string(), text),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        // Credentials (`user:pass@host`): wget shows the user, never the password.
        let (user, authority) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let user = user.map(|u| match u.split_once(':') {
            Some((name, _)) => format!("{name}:*password*@"),
            None => format!("{u}@"),
        });
        let (host, port) = if authority.starts_with('[') {
            match authority.find(']') {
                Some(end) => (
                    authority[..=end].to_string(),
                    authority[end + 1..].strip_prefix(':').map(str::to_string),
                ),
                None => (authority.to_string(), None),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (authority.to_string(), None),
            }
        };
        Url {
            scheme,
            user: user.unwrap_or_default(),
            host: host.to_ascii_lowercase(),
            port: port.filter(|p| !p.is_empty()),
            path: if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            },
        }
    }

    fn port(&self) -> String {
        self.port.clone().unwrap_or_else(|| {
            match self.scheme.as_str() {
                "https" => "443",
                "ftp" => "21",
                _ => "80",
            }
            .into()
        })
    }

    fn is_address(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<std::net::Ipv4Addr>().is_ok()
    }

    /// The URL as wget prints it in its `--time--` line.
    fn shown(&self) -> String {
        let port = self
            .port
            .as_ref()
            .map_or(String::new(), |p| format!(":{p}"));
        format!(
            "{}://{}{}{port}{}",
            self.scheme, self.user, self.host, self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real wget, against closed loopback ports and names that cannot resolve: the
    /// same lines, its time stamp aside.
    #[test]
    fn wget_fails_as_the_real_wget_fails() {
        let stamp = |text: &str| -> String {
            text.lines()
                .map(
                    |l| match l.strip_prefix("--").and_then(|r| r.split_once("--  ")) {
                        Some((_, rest)) => format!("--TIME--  {rest}\n"),
                        None => format!("{l}\n"),
                    },
                )
                .collect()
        };
        for line in [
            "http://127.0.0.1:1/x.sh",
            "127.0.0.1:1",
            "-q http://127.0.0.1:1/x",
            "-qO- http://127.0.0.1:1/a",
            "-O /dev/null http://127.0.0.1:9/a http://127.0.0.1:1/b",
            "https://[::1]:1/a",
            "ftp://127.0.0.1:1/pub/x.tgz",
            "http://nonexist.invalid/bins/x86",
            "http://user:pw@127.0.0.1:1/p?q=1",
            "-t 1 --timeout 2 http://127.0.0.1:1/",
            "",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let real = std::process::Command::new("wget")
                .args(&args)
                .env("LC_ALL", "C.UTF-8")
                .current_dir(std::env::temp_dir())
                .output()
                .unwrap();
            let (out, err, status) = wget(&args, "build-07", SystemTime::now());
            assert_eq!(
                (out.as_str(), stamp(&err), status),
                (
                    String::from_utf8_lossy(&real.stdout).as_ref(),
                    stamp(&String::from_utf8_lossy(&real.stderr)),
                    real.status.code().unwrap() as u32
                ),
                "wget {line}"
            );
        }
        // The host's own name and localhost resolve as its /etc/hosts has them.
        let (_, err, _) = wget(&["http://build-07:8080/"], "build-07", SystemTime::now());
        assert!(
            err.ends_with(
                "Resolving build-07 (build-07)... 127.0.1.1\n\
                 Connecting to build-07 (build-07)|127.0.1.1|:8080... failed: Connection refused.\n"
            ),
            "{err}"
        );
    }
}
