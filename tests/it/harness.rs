//! Starts the real `decoyd` binary on loopback with port-0 listeners and talks to it the way an
//! operator does: through its files, its admin API and its CLI. Every process a test starts is
//! ended by PID when the test's handle is dropped.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use decoyd::admin::Status;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_decoyd")
}

/// Polls `f` until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A config folder: `decoyd.yaml`, `decoys/`, and a data dir inside a temp dir.
pub struct Sensor {
    pub dir: tempfile::TempDir,
}

/// The main file used unless a test writes its own.
pub const MAIN: &str = "sensor:\n  id: test-sensor\n  data_dir: ./data\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\n";

/// A generic login page with no answer delay (tests never wait on realism delays).
pub const WEB: &str = "kind: http\nlisten: 127.0.0.1:0\nskin: generic\nanswer_delay: 0s\n";

impl Sensor {
    /// A sensor with the default main file and no decoys.
    pub fn new() -> Sensor {
        Self::with_main(MAIN)
    }

    /// A sensor with the given main file.
    pub fn with_main(main: &str) -> Sensor {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("decoyd.yaml"), main).unwrap();
        fs::create_dir(dir.path().join("decoys")).unwrap();
        Sensor { dir }
    }

    /// Adds (or replaces) a decoy file.
    pub fn decoy(self, name: &str, yaml: &str) -> Sensor {
        fs::write(
            self.dir.path().join("decoys").join(format!("{name}.yaml")),
            yaml,
        )
        .unwrap();
        self
    }

    /// Path of the main file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("decoyd.yaml")
    }

    /// The data dir.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a CLI command against this config and waits for it.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .arg("-c")
            .arg(self.config())
            .env_remove("DECOYD_CONFIG")
            .output()
            .unwrap()
    }

    /// A CLI command's JSON lines, once it has succeeded.
    pub fn cli_json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        json_lines(&args.join(" "), self.cli(args))
    }

    /// The events once at least `n` records of type `ty` are among them: a connection is
    /// recorded as it ends, which can be just after the client process has exited.
    pub fn events_with(&self, ty: &str, n: usize) -> Vec<serde_json::Value> {
        wait_for(
            &format!("{n} {ty} records"),
            Duration::from_secs(10),
            || {
                let ev = self.events();
                (of_type(&ev, ty).len() >= n).then_some(ev)
            },
        )
    }

    /// `decoyd events --json`, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        json_lines("events", self.cli(&["events", "--json", "-n", "1000000"]))
    }

    /// Starts `decoyd run` and waits until its admin API answers.
    pub fn start(&self) -> Daemon {
        Daemon::start(&self.config(), &self.data(), &[], &[])
    }

    /// Starts `decoyd run` without CAP_SYS_ADMIN, as most hosts run it (no fanotify). As root
    /// the capability is dropped with util-linux's setpriv; anyone else has none anyway.
    pub fn start_without_sys_admin(&self) -> Daemon {
        let root = fs::metadata("/proc/self").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        });
        let wrapper: &[&str] = if root.unwrap_or(false) {
            &[
                "setpriv",
                "--bounding-set",
                "-sys_admin",
                "--inh-caps",
                "-sys_admin",
            ]
        } else {
            &[]
        };
        Daemon::start(&self.config(), &self.data(), &[], wrapper)
    }

    /// Starts `decoyd run` with these environment variables.
    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        let mut wrapper = vec!["env".to_string()];
        wrapper.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        Daemon::start(&self.config(), &self.data(), &[], &wrapper)
    }

    /// Runs a CLI command with these environment variables and waits for it.
    pub fn cli_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .arg("-c")
            .arg(self.config())
            .env_remove("DECOYD_CONFIG")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Starts `decoyd run` with extra global arguments (e.g. `-vv`).
    pub fn start_with(&self, args: &[&str]) -> Daemon {
        Daemon::start(&self.config(), &self.data(), args, &[])
    }
}

/// A running daemon.
pub struct Daemon {
    child: Option<Child>,
    pub pid: u32,
    pub log: PathBuf,
    pub admin: SocketAddr,
    pub token: String,
    pub status: Status,
}

impl Daemon {
    fn start(config: &Path, data: &Path, args: &[&str], wrapper: &[&str]) -> Daemon {
        // A file left by a killed daemon must not be mistaken for the new one's.
        let _ = fs::remove_file(data.join("admin.addr"));
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let log = config.with_file_name(format!(
            "daemon-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let log_file = fs::File::create(&log).unwrap();
        // A wrapper (setpriv) execs the daemon: the PID stays the daemon's.
        let mut cmd = match wrapper.split_first() {
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        cmd.args(args)
            .args(["run", "-c"])
            .arg(config)
            .env_remove("DECOYD_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        let mut d = Daemon {
            child: Some(child),
            pid,
            log: log.clone(),
            admin: "127.0.0.1:0".parse().unwrap(),
            token: String::new(),
            status: serde_json::from_str(r#"{"sensor":"","version":"","started_at":"1970-01-01T00:00:00Z","listening":[],"store":{"flushed":{"seq":0,"touches":0},"records":0,"bytes":0,"disk_bytes":0}}"#).unwrap(),
        };
        let (admin, token) = wait_for(
            "the daemon's admin address",
            Duration::from_secs(30),
            || {
                if let Some(status) = d.child.as_mut().unwrap().try_wait().unwrap() {
                    panic!(
                        "decoyd exited early with {status}:\n{}",
                        fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                let addr = fs::read_to_string(data.join("admin.addr"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?;
                let token = fs::read_to_string(data.join("admin.token"))
                    .ok()?
                    .trim()
                    .to_string();
                Some((addr, token))
            },
        );
        d.admin = admin;
        d.token = token;
        d.status = wait_for("the admin API", Duration::from_secs(10), || d.try_status());
        d
    }

    /// The address a decoy actually bound.
    pub fn addr(&self, decoy: &str) -> SocketAddr {
        self.status
            .listening
            .iter()
            .find(|l| l.name == decoy)
            .unwrap_or_else(|| panic!("no listener named {decoy}"))
            .addr
    }

    /// `GET path` on the admin listener with the token: (status code, body).
    pub fn admin_get(&self, path: &str, with_token: bool) -> (u16, String) {
        let mut s = TcpStream::connect(self.admin).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let auth = if with_token {
            format!("Authorization: Bearer {}\r\n", self.token)
        } else {
            String::new()
        };
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: admin\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        let code = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = buf
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    fn try_status(&self) -> Option<Status> {
        let mut s = TcpStream::connect(self.admin).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET /api/v1/status HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", self.token).ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let body = buf.split_once("\r\n\r\n")?.1;
        serde_json::from_str(body).ok()
    }

    /// The current status from the admin API.
    pub fn status(&self) -> Status {
        self.try_status().expect("status")
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        let (code, body) = self.admin_get("/metrics", false);
        assert_eq!(code, 200);
        body
    }

    /// Resident memory of the daemon in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS")
    }

    /// Resident anonymous memory (heap, stacks) of the daemon in KiB: RSS without the pages
    /// of the executable and libraries.
    pub fn anon_kib(&self) -> u64 {
        self.proc_status_kib("RssAnon")
    }

    /// Memory the daemon has locked (mlock), in KiB.
    pub fn locked_kib(&self) -> u64 {
        self.proc_status_kib("VmLck")
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let s = fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid))
    }

    /// Sends a signal by PID.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(Duration::from_secs(30))
    }

    /// SIGKILL, then waits for the exit.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let status = wait_for("decoyd to exit", limit, || child.try_wait().unwrap());
        self.child = None;
        status
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A child process ended by PID when dropped, whatever the test's outcome.
pub struct Ended(pub Child);

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `curl` with the given arguments; returns (exit ok, stdout).
pub fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Sends raw bytes on a fresh connection and returns whatever comes back until the server
/// closes the connection (or `limit` passes).
pub fn raw(addr: SocketAddr, bytes: &[u8], limit: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Touches of one event type from `events --json`.
pub fn of_type<'a>(events: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"]["type"] == ty).collect()
}

/// An SSH decoy with no failure delay (tests never wait on realism delays).
pub const SSH: &str =
    "kind: ssh\nlisten: 127.0.0.1:0\nprofile: openssh-9.6p1-ubuntu\nfailure_delay: 0s\n";

impl Sensor {
    /// Gives the SSH decoy `name` the fixture host keys, so no test waits on RSA-3072
    /// generation. Git keeps no file modes: the copies are made private as sshd requires.
    pub fn with_host_keys(self, name: &str) -> Sensor {
        use std::os::unix::fs::PermissionsExt;
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh_host_keys");
        let dir = self.data().join("ssh").join(name);
        fs::create_dir_all(&dir).unwrap();
        for t in ["rsa", "ecdsa", "ed25519"] {
            for suffix in ["", ".pub"] {
                let file = format!("ssh_host_{t}_key{suffix}");
                fs::copy(fixtures.join(&file), dir.join(&file)).unwrap();
                fs::set_permissions(dir.join(&file), fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        self
    }

    /// The password hash the sensor stores for `password`.
    pub fn password_hmac(&self, password: &str) -> String {
        let hex = fs::read_to_string(self.data().join("sensor.key")).unwrap();
        let hex = hex.trim();
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        decoyd::touch::PasswordHasher::new(key, decoyd::config::CapturePasswords::Hashed)
            .capture(password)
            .hmac
    }
}

/// Options every OpenSSH client run in the tests takes: a throwaway known-hosts file, no
/// keys or agent of the machine's, a bounded connect time.
pub fn ssh_options(addr: SocketAddr) -> Vec<String> {
    [
        "-p",
        &addr.port().to_string(),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "ConnectTimeout=20",
        "-o",
        "LogLevel=ERROR",
        "-F",
        "/dev/null",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `sshpass -p PASSWORD ssh [extra] USER@127.0.0.1 [command]`.
pub fn sshpass(
    addr: SocketAddr,
    user: &str,
    password: &str,
    extra: &[&str],
    command: Option<&str>,
) -> Output {
    let mut cmd = Command::new("sshpass");
    cmd.args(["-p", password, "ssh"])
        .args(ssh_options(addr))
        .args(extra)
        .arg(format!("{user}@{}", addr.ip()));
    if let Some(c) = command {
        cmd.arg(c);
    }
    cmd.stdin(Stdio::null())
        .output()
        .expect("sshpass and ssh are installed")
}

/// Runs `tests/python/paramiko_client.py` and returns its JSON lines.
pub fn paramiko(args: &[&str]) -> Vec<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/paramiko_client.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is installed");
    json_lines("the paramiko client", out)
}

/// The JSON lines a command printed, once it has succeeded.
fn json_lines(what: &str, out: Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every file under `dir`, concatenated: the plaintext of a password must appear in none.
pub fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_bytes_under(&p));
        } else {
            out.extend(fs::read(&p).unwrap());
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `hydra -t TASKS` over the word lists `users` × `passwords` against the SSH decoy at
/// `addr`, run to completion; returns what it printed.
pub fn hydra(
    sensor: &Sensor,
    addr: SocketAddr,
    tasks: u32,
    users: &[&str],
    passwords: &[&str],
) -> String {
    let ul = sensor.dir.path().join("users.txt");
    let pl = sensor.dir.path().join("passwords.txt");
    fs::write(&ul, users.join("\n") + "\n").unwrap();
    fs::write(&pl, passwords.join("\n") + "\n").unwrap();
    let out = Command::new("hydra")
        // hydra keeps a restore file in its working folder.
        .current_dir(sensor.dir.path())
        // -v -V: each pair as it is handed to a child, and every connection error.
        .args(["-v", "-V", "-t", &tasks.to_string(), "-I", "-L"])
        .arg(&ul)
        .arg("-P")
        .arg(&pl)
        .args(["-s", &addr.port().to_string(), "ssh://127.0.0.1"])
        .output()
        .expect("hydra is installed");
    // Its errors (a child that lost its connection, a pair it gave up on) go to stderr.
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The pairs hydra says it handed to a child, from its `-V` lines
/// (`[ATTEMPT] target … - login "u" - pass "p" - n of 32 …`), as (username, keyed hash).
pub fn hydra_tried(sensor: &Sensor, text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter(|l| l.starts_with("[ATTEMPT]") || l.starts_with("[RE-ATTEMPT]"))
        .filter_map(|l| {
            let (_, rest) = l.split_once(" - login \"")?;
            let (user, rest) = rest.split_once("\" - pass \"")?;
            let (pass, _) = rest.split_once("\" - ")?;
            Some((user.to_string(), sensor.password_hmac(pass)))
        })
        .collect()
}

/// Whether hydra gave up on a pair or a child: it then still says the target is completed,
/// but prints an `[ERROR]` line (a child it ended before its attempt reached the wire, or
/// one that could not connect after its retries).
pub fn hydra_gave_up(text: &str) -> bool {
    text.contains("[ERROR]")
}

/// The stored SSH password attempts, as (username, keyed hash).
pub fn stored_password_pairs(events: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    of_type(events, "ssh_auth")
        .into_iter()
        .filter(|e| e["event"]["method"] == "password")
        .map(|e| {
            (
                e["event"]["username"].as_str().unwrap().to_string(),
                e["event"]["password"]["hmac"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// One password attempt with OpenSSH's client (bound to `bind`, when given), refused.
pub fn ssh_refused(addr: SocketAddr, user: &str, password: &str, bind: Option<&str>) {
    let mut extra = vec![
        "-o",
        "NumberOfPasswordPrompts=1",
        "-o",
        "PubkeyAuthentication=no",
    ];
    if let Some(b) = bind {
        extra.extend(["-b", b]);
    }
    let o = sshpass(addr, user, password, &extra, Some("true"));
    assert_eq!(
        o.status.code(),
        Some(255),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test server written in Python (tests/python/NAME.py) on a loopback port, which logs each
/// request as a JSON line; ended by PID when dropped.
pub struct PyServer {
    child: Child,
    /// Its request log.
    pub log: PathBuf,
    /// Its port.
    pub port: u16,
}

impl PyServer {
    /// Starts `script` on `port` with `--port`, `--port-file`, `--log` and `args`, and waits
    /// until it listens.
    pub fn start(script: &str, dir: &Path, port: u16, args: &[&str]) -> PyServer {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/python")
            .join(script);
        let port_file = dir.join(format!("{script}-{port}.port"));
        let log = dir.join(format!("{script}-{port}.log"));
        let _ = fs::remove_file(&port_file);
        let child = Command::new("python3")
            .arg(path)
            .args(["--port", &port.to_string()])
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut s = PyServer { child, log, port };
        wait_for(
            &format!("{script} listening"),
            Duration::from_secs(20),
            || {
                if let Ok(Some(status)) = s.child.try_wait() {
                    panic!("{script} exited early with {status}");
                }
                fs::read_to_string(&port_file)
                    .ok()?
                    .trim()
                    .parse::<u16>()
                    .ok()
            },
        );
        s
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
