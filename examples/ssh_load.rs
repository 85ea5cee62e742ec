//! SSH load generator for `scripts/bench-ssh`: failed password logins against one loopback
//! server, reported as one JSON line on stdout.
//!
//! Every connection is a real russh client: TCP connect, key exchange with `curve25519-sha256`
//! only (plus the `ext-info-c` and strict-kex markers every OpenSSH client sends) and the one
//! host key algorithm chosen, any host key accepted, then password attempts. No password is
//! used twice and no user name on two connections, so a server can cache nothing.
//!
//! - `connect`: each connection makes `--attempts` failed attempts (default 1), then
//!   disconnects; `--concurrency` such connections are kept in flight. Measures connections/s.
//! - `attempts`: each of `--concurrency` clients keeps making attempts on one connection and
//!   reconnects whenever the server closes it (sshd does after `MaxAuthTries`). Measures
//!   attempts/s and reply latency.
//!
//! Latency is from handing the password request to russh until the failure reply arrives; the
//! first attempt on a connection also waits for the `ssh-userauth` service request, so those
//! are kept apart (`first_*`) from later attempts (`lat_*`). Rates and latencies count what
//! completes between the end of `--warmup` (default a quarter of `--duration`; clients start
//! one after another during it) and the end of `--duration`. Totals also count the work in
//! flight at the deadline, which is finished (each step bounded by `--timeout`) so that server
//! CPU divided by totals is per whole connection: a run ends by itself within `--duration`
//! plus (attempts + 1) × `--timeout`. An attempt whose reply is the server closing the
//! connection is `sent` but not `answered`. Only loopback targets are accepted.
//!
//! ```text
//! ssh_load connect|attempts [--addr 127.0.0.1:2222] [--concurrency 16] [--duration 10]
//!          [--warmup 2.5] [--attempts 1] [--timeout 10] [--tag TEXT]
//!          [--host-key ssh-ed25519|ecdsa-sha2-nistp256|rsa-sha2-256|ssh-rsa]
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::AuthResult;
use russh::keys::{Algorithm, PublicKeyOrCertificate};
use russh::{Disconnect, Preferred, client, kex};
use tokio::time::timeout;

struct Opts {
    connect_mode: bool,
    addr: SocketAddr,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    attempts: u32,
    host_key: Algorithm,
    timeout: Duration,
    tag: String,
}

fn usage(msg: &str) -> ! {
    eprintln!("ssh_load: {msg}");
    eprintln!(
        "usage: ssh_load connect|attempts [--addr IP:PORT] [--concurrency N] [--duration SECS] \
         [--warmup SECS] [--attempts N] [--host-key ALG] [--timeout SECS] [--tag TEXT]"
    );
    std::process::exit(64);
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let connect_mode = match args.next().as_deref() {
        Some("connect") => true,
        Some("attempts") => false,
        _ => usage("first argument must be `connect` or `attempts`"),
    };
    let secs = |v: &str| match v.parse::<f64>() {
        Ok(s) if (0.0..=3600.0).contains(&s) => Duration::from_secs_f64(s),
        _ => usage(&format!("bad number of seconds {v:?}")),
    };
    let mut o = Opts {
        connect_mode,
        addr: SocketAddr::from(([127, 0, 0, 1], 2222)),
        concurrency: 16,
        duration: Duration::from_secs(10),
        warmup: Duration::MAX,
        attempts: if connect_mode { 1 } else { 0 },
        host_key: Algorithm::Ed25519,
        timeout: Duration::from_secs(10),
        tag: format!("{:x}", std::process::id()),
    };
    while let Some(flag) = args.next() {
        let v = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--addr" => o.addr = v.parse().unwrap_or_else(|_| usage("bad --addr")),
            "--concurrency" => {
                o.concurrency = v.parse().unwrap_or_else(|_| usage("bad --concurrency"))
            }
            "--duration" => o.duration = secs(&v),
            "--warmup" => o.warmup = secs(&v),
            "--attempts" => o.attempts = v.parse().unwrap_or_else(|_| usage("bad --attempts")),
            "--host-key" => o.host_key = v.parse().unwrap_or_else(|_| usage("bad --host-key")),
            "--timeout" => o.timeout = secs(&v),
            "--tag" => o.tag = v,
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    if !o.addr.ip().is_loopback() {
        usage("only loopback targets are allowed");
    }
    if o.warmup == Duration::MAX {
        o.warmup = o.duration / 4;
    }
    if o.warmup >= o.duration {
        usage("--warmup must be shorter than --duration");
    }
    if o.timeout.is_zero() {
        usage("--timeout must be above 0");
    }
    if o.concurrency == 0 || (o.connect_mode && o.attempts == 0) {
        usage("--concurrency and, in connect mode, --attempts must be at least 1");
    }
    o
}

struct AnyKey;

impl client::Handler for AnyKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// What one client saw; merged at the end.
#[derive(Default)]
struct Stats {
    conns: u64,
    conns_in_window: u64,
    sent: u64,
    answered: u64,
    answered_in_window: u64,
    closed_by_server: u64,
    successes: u64,
    errors: BTreeMap<String, u64>,
    handshake_us: Vec<u32>,
    first_us: Vec<u32>,
    later_us: Vec<u32>,
}

impl Stats {
    fn error(&mut self, what: impl std::fmt::Display) {
        *self.errors.entry(what.to_string()).or_default() += 1;
    }

    fn merge(&mut self, o: Stats) {
        self.conns += o.conns;
        self.conns_in_window += o.conns_in_window;
        self.sent += o.sent;
        self.answered += o.answered;
        self.answered_in_window += o.answered_in_window;
        self.closed_by_server += o.closed_by_server;
        self.successes += o.successes;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.handshake_us.extend(o.handshake_us);
        self.first_us.extend(o.first_us);
        self.later_us.extend(o.later_us);
    }
}

fn micros(since: Instant) -> u32 {
    since.elapsed().as_micros().min(u32::MAX as u128) as u32
}

/// One client. Clients start one after another over the warm-up, so that a server with a short
/// accept backlog (Twisted's is 50) is not sent all their SYNs at once.
async fn client_loop(id: usize, o: Arc<Opts>, cfg: Arc<client::Config>, start: Instant) -> Stats {
    let (from, end) = (start + o.warmup, start + o.duration);
    let in_window = || (from..end).contains(&Instant::now());
    tokio::time::sleep_until((start + o.warmup.mul_f64(id as f64 / o.concurrency as f64)).into())
        .await;
    let mut st = Stats::default();
    let mut n = 0u64;
    while Instant::now() < end {
        let t0 = Instant::now();
        let mut h = match timeout(o.timeout, client::connect(cfg.clone(), o.addr, AnyKey)).await {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                st.error(format!("connect: {e}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(_) => {
                st.error("connect: timeout");
                continue;
            }
        };
        if in_window() {
            st.handshake_us.push(micros(t0));
        }
        // OpenSSH disconnects a client that changes user name between attempts, so the name
        // is per connection and the password per attempt.
        let user = format!("b{}u{id}n{n}", o.tag);
        let mut made = 0;
        let mut open = true;
        let mut ok = true;
        while open
            && (o.connect_mode && made < o.attempts || !o.connect_mode && Instant::now() < end)
        {
            n += 1;
            let pass = format!(
                "Pw-{}-{id}-{n}-{}",
                o.tag,
                n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            );
            let t = Instant::now();
            match timeout(o.timeout, h.authenticate_password(&user, pass)).await {
                // russh reports the connection ending while it waits as a failure that
                // names no method: the server closed instead of answering.
                Ok(Ok(AuthResult::Failure {
                    remaining_methods,
                    partial_success,
                })) if remaining_methods.is_empty() && !partial_success => {
                    st.sent += 1;
                    st.closed_by_server += 1;
                    open = false;
                }
                Ok(Ok(AuthResult::Failure { .. })) => {
                    st.sent += 1;
                    st.answered += 1;
                    if in_window() {
                        st.answered_in_window += 1;
                        let lat = if made == 0 {
                            &mut st.first_us
                        } else {
                            &mut st.later_us
                        };
                        lat.push(micros(t));
                    }
                }
                Ok(Ok(AuthResult::Success)) => {
                    st.sent += 1;
                    st.successes += 1;
                    open = false;
                }
                // The request never left: the session had already ended.
                Ok(Err(russh::Error::SendError)) => open = false,
                Ok(Err(e)) => {
                    st.sent += 1;
                    st.error(format!("auth: {e}"));
                    (open, ok) = (false, false);
                }
                Err(_) => {
                    st.sent += 1;
                    st.error("auth: timeout");
                    (open, ok) = (false, false);
                }
            }
            made += 1;
        }
        if ok && made > 0 {
            st.conns += 1;
            if in_window() {
                st.conns_in_window += 1;
            }
        }
        if open {
            let _ = h.disconnect(Disconnect::ByApplication, "", "en").await;
        }
    }
    st
}

fn pct(v: &mut [u32], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i] as f64 / 1000.0)
}

/// utime + stime of this process, in seconds (USER_HZ is 100 on Linux).
fn own_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

#[tokio::main]
async fn main() {
    let o = Arc::new(parse_args());
    let cfg = Arc::new(client::Config {
        preferred: Preferred {
            kex: Cow::Borrowed(&[
                kex::CURVE25519,
                kex::EXTENSION_SUPPORT_AS_CLIENT,
                kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            ]),
            key: Cow::Owned(vec![o.host_key.clone()]),
            ..Default::default()
        },
        inactivity_timeout: Some(o.timeout),
        nodelay: true,
        ..Default::default()
    });
    let cpu0 = own_cpu();
    let start = Instant::now();
    let tasks: Vec<_> = (0..o.concurrency)
        .map(|id| tokio::spawn(client_loop(id, o.clone(), cfg.clone(), start)))
        .collect();
    let mut st = Stats::default();
    for t in tasks {
        match t.await {
            Ok(s) => st.merge(s),
            Err(e) => st.error(format!("task: {e}")),
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let window = (o.duration - o.warmup).as_secs_f64();
    let cpu = own_cpu() - cpu0;
    let out = serde_json::json!({
        "mode": if o.connect_mode { "connect" } else { "attempts" },
        "addr": o.addr.to_string(),
        "host_key": o.host_key.as_str(),
        "concurrency": o.concurrency,
        "attempts_per_conn": o.attempts,
        "duration_s": o.duration.as_secs_f64(),
        "warmup_s": o.warmup.as_secs_f64(),
        "wall_s": wall,
        "conns": st.conns,
        "conns_per_s": st.conns_in_window as f64 / window,
        "sent": st.sent,
        "answered": st.answered,
        "answered_per_s": st.answered_in_window as f64 / window,
        "closed_by_server": st.closed_by_server,
        "successes": st.successes,
        "errors": st.errors.values().sum::<u64>(),
        "error_kinds": st.errors,
        "handshake_p50_ms": pct(&mut st.handshake_us, 0.5),
        "first_p50_ms": pct(&mut st.first_us, 0.5),
        "first_p99_ms": pct(&mut st.first_us, 0.99),
        "lat_p50_ms": pct(&mut st.later_us, 0.5),
        "lat_p99_ms": pct(&mut st.later_us, 0.99),
        "cpu_s": cpu,
        "cpu_pct": 100.0 * cpu / wall,
    });
    println!("{out}");
}
