//! The fake host behind an accepted login: a small, consistent imitation of the profile's
//! distribution that answers a handful of commands (`whoami`, `id`, `hostname`, `uname`,
//! `pwd`, `cd`, `ls`, `cat`, `ps`, `echo`, `exit`, text tools, `ssh` through
//! [`ssh_client`]) from data and answers everything else as bash answers an unknown command.
//! Nothing is ever executed: this module only builds strings.
//! Pure and synchronous, so it is tested without a network.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::profile::Distro;
use super::ssh_client;
use fs::{Redirect, Sink, missing_operand};

mod accounts;
mod arith;
mod awk;
mod builtins;
mod date;
mod disk;
mod env;
mod find;
mod flow;
mod fs;
mod ls;
mod net;
mod pattern;
mod sshd;
mod stat;
mod sudo;
mod text;
mod transfer;
mod wget;

pub use sshd::Sshd;

/// Longest command line interpreted; the rest of a longer line is ignored.
pub const MAX_LINE: usize = 4096;
/// Most files a shell config may add.
pub const MAX_FILES: usize = 64;
/// Largest content of one configured file.
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// A user the fake host knows: one per `accept:` username.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Numeric uid (0 for root, 1000 and up for the others, in `accept:` order).
    pub uid: u32,
}

impl User {
    /// The home folder.
    pub fn home(&self) -> String {
        if self.uid == 0 {
            "/root".into()
        } else {
            format!("/home/{}", self.name)
        }
    }
}

/// The fake host: its name, its distribution, its users and its files. Sessions share one;
/// a session that writes (a redirection, `mkdir`, `touch`, `rm`) gets a copy of its own
/// first, so nothing one intruder writes is seen by another or outlives the session.
#[derive(Clone, Debug)]
pub struct Host {
    /// Short host name.
    pub hostname: String,
    /// The distribution, from the profile.
    pub distro: &'static Distro,
    /// Users that can log in.
    pub users: Vec<User>,
    /// Regular files by absolute path (built-in ones and configured ones).
    files: BTreeMap<String, String>,
    /// Every folder, by absolute path.
    dirs: BTreeSet<String>,
    /// The port its sshd listens on.
    ssh_port: u16,
    /// What this session made: by path, who and when ([`fs`]).
    written: BTreeMap<String, fs::Written>,
    /// Bytes this session wrote, for [`fs::MAX_WRITTEN`].
    written_bytes: usize,
}

impl Host {
    /// Builds the host. `extra` are configured files (absolute path, content); they override
    /// built-in ones.
    pub fn new(
        hostname: &str,
        distro: &'static Distro,
        users: Vec<User>,
        extra: &[(String, String)],
    ) -> Host {
        let mut files = BTreeMap::new();
        let mut passwd = distro.passwd.to_string();
        for u in users.iter().filter(|u| u.uid != 0) {
            let _ = writeln!(
                passwd,
                "{0}:x:{1}:{1}:{0}:{2}:/bin/bash",
                u.name,
                u.uid,
                u.home()
            );
        }
        files.insert("/etc/passwd".to_string(), passwd);
        files.insert("/etc/hostname".to_string(), format!("{hostname}\n"));
        files.insert("/etc/os-release".to_string(), distro.os_release.to_string());
        files.insert(
            "/usr/lib/os-release".to_string(),
            distro.os_release.to_string(),
        );
        files.insert("/etc/issue".to_string(), distro.issue.to_string());
        // base-files' remote login banner: the same name, without getty's escapes.
        let issue_net = distro.issue.split(" \\n").next().unwrap_or_default();
        files.insert("/etc/issue.net".to_string(), format!("{issue_net}\n"));
        files.insert(
            "/etc/debian_version".to_string(),
            distro.debian_version.to_string(),
        );
        let mut group = distro.group.to_string();
        for u in users.iter().filter(|u| u.uid != 0) {
            let _ = writeln!(group, "{}:x:{}:", u.name, u.uid);
        }
        files.insert("/etc/group".to_string(), group);
        files.insert(
            "/etc/hosts".to_string(),
            distro.hosts.replace("{hostname}", hostname),
        );
        // Written once the host's install time is known (below).
        files.insert("/etc/shadow".to_string(), String::new());
        for (name, content) in distro.skel {
            files.insert(format!("/etc/skel/{name}"), content.to_string());
            for u in users.iter().filter(|u| u.uid != 0) {
                files.insert(format!("{}/{name}", u.home()), content.to_string());
            }
        }
        for (name, content) in distro.root_dotfiles {
            files.insert(format!("/root/{name}"), content.to_string());
        }
        files.insert("/proc/cpuinfo".to_string(), cpuinfo());
        files.insert(
            "/proc/version".to_string(),
            format!(
                "Linux version {} {} {}\n",
                distro.kernel_release, distro.kernel_built_by, distro.kernel_version
            ),
        );
        // Written afresh on every read (see `Shell::inputs`), as the kernel writes them.
        for dynamic in PROC_DYNAMIC {
            files.insert(dynamic.to_string(), String::new());
        }
        // The rest of the kernel's files `ls /proc` shows (read as empty).
        for name in PROC_FILES {
            files.entry(format!("/proc/{name}")).or_default();
        }
        for (path, content) in extra {
            files.insert(normalize("/", path), content.clone());
        }
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        dirs.insert("/".into());
        let root_files = ["initrd.img", "initrd.img.old", "vmlinuz", "vmlinuz.old"];
        for d in distro.root_dirs.iter().filter(|d| !root_files.contains(d)) {
            dirs.insert(format!("/{d}"));
        }
        for u in &users {
            dirs.insert(u.home());
        }
        dirs.insert("/usr/bin".into());
        dirs.extend(distro.dirs.iter().map(|d| d.to_string()));
        // A folder per process of the host's own (`ps aux` lists the same), and the
        // kernel's other folders.
        for pid in system_pids(distro) {
            dirs.insert(format!("/proc/{pid}"));
        }
        dirs.extend(PROC_DIRS.iter().map(|d| format!("/proc/{d}")));
        for p in files.keys() {
            let mut cur = parent(p);
            while cur != "/" {
                dirs.insert(cur.clone());
                cur = parent(&cur);
            }
        }
        let mut host = Host {
            hostname: hostname.to_string(),
            distro,
            users,
            files,
            dirs,
            ssh_port: 22,
            written: BTreeMap::new(),
            written_bytes: 0,
        };
        if !extra
            .iter()
            .any(|(p, _)| normalize("/", p) == "/etc/shadow")
        {
            let shadow = host.shadow();
            host.files.insert("/etc/shadow".into(), shadow);
        }
        // Identifiers of this install, fixed per host name.
        let hex = |what: &str| {
            format!(
                "{:016x}{:016x}",
                host.seed(what),
                host.seed(&format!("{what}."))
            )
        };
        let uuid = |what: &str| {
            let h = hex(what);
            format!(
                "{}-{}-4{}-a{}-{}",
                &h[..8],
                &h[8..12],
                &h[13..16],
                &h[17..20],
                &h[20..32]
            )
        };
        let (machine_id, root_uuid) = (hex("machine-id"), uuid("root"));
        for (path, template) in distro.files {
            if extra.iter().any(|(p, _)| normalize("/", p) == *path) {
                continue;
            }
            let content = template
                .replace("{machine_id}", &machine_id)
                .replace("{root_uuid}", &root_uuid);
            host.files.insert(path.to_string(), content);
        }
        host
    }

    /// `/etc/shadow`: every account of `/etc/passwd` locked (`*`) but root and the users,
    /// whose hashes are yescrypt-shaped and match nothing, all changed on the install day.
    fn shadow(&self) -> String {
        let day = self.installed() / 86_400;
        let passwd = self.files.get("/etc/passwd").map_or("", String::as_str);
        let mut out = String::new();
        for name in passwd.lines().filter_map(|l| l.split(':').next()) {
            let hash = if name == "root" || self.user(name).is_some() {
                self.hash_like(name)
            } else {
                "*".to_string()
            };
            let _ = writeln!(out, "{name}:{hash}:{day}:0:99999:7:::");
        }
        out
    }

    /// A yescrypt hash as `/etc/shadow` holds one (`$y$j9T$` salt `$` hash), drawn from
    /// `what` and the host name: it has the real one's shape and matches no password.
    fn hash_like(&self, what: &str) -> String {
        const B64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut seed = self.seed(what);
        let mut chars = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    char::from(B64[(seed >> 58) as usize])
                })
                .collect()
        };
        format!("$y$j9T${}${}", chars(22), chars(43))
    }

    /// When the fake host last booted: a time within the last 40 days that stays put across
    /// restarts (derived from the host name), as a host rebooted for its monthly patches.
    pub fn booted(&self) -> SystemTime {
        const PERIOD: u64 = 40 * 86_400;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let offset = self.hostname.bytes().fold(0x811c_9dc5_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0193)
        }) % PERIOD;
        let mut boot = now - now % PERIOD + offset;
        if boot > now {
            boot -= PERIOD;
        }
        UNIX_EPOCH + std::time::Duration::from_secs(boot)
    }

    /// The user with this login name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// `uname -a`.
    pub fn uname_all(&self) -> String {
        format!(
            "Linux {} {} {} x86_64 x86_64 x86_64 GNU/Linux",
            self.hostname, self.distro.kernel_release, self.distro.kernel_version
        )
    }

    /// The message of the day an interactive login prints.
    pub fn motd(&self) -> String {
        self.distro
            .motd
            .replace("{hostname}", &self.hostname)
            .replace("{kernel_version}", self.distro.kernel_version)
            .replace("{kernel}", self.distro.kernel_release)
    }

    fn children(&self, dir: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        if dir == "/" {
            out.extend(self.distro.root_dirs.iter().map(|d| d.to_string()));
        }
        if dir == "/usr/bin" || dir == "/bin" {
            out.extend(PROGRAMS.iter().map(|p| p.name.to_string()));
        }
        if dir == "/usr/sbin" || dir == "/sbin" {
            out.extend(SBIN.iter().map(|p| p.name.to_string()));
        }
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        for p in self.files.keys().chain(self.dirs.iter()) {
            if let Some(rest) = p.strip_prefix(&prefix)
                && !rest.is_empty()
                && !rest.contains('/')
            {
                out.insert(rest.to_string());
            }
        }
        out.into_iter().collect()
    }
}

/// What one command line produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output (LF line ends).
    pub stdout: String,
    /// Standard error (LF line ends).
    pub stderr: String,
    /// Exit status of the last command.
    pub status: u32,
    /// The shell should end (`exit`, `logout`).
    pub exit: bool,
    /// How long the line's `sleep`s asked for: the session waits it out (up to a bound)
    /// before it answers, because an answer that comes at once gives the fake shell away.
    pub slept: Duration,
}

/// One shell session of a logged-in user.
#[derive(Clone, Debug)]
pub struct Shell {
    host: Arc<Host>,
    user: User,
    cwd: String,
    interactive: bool,
    line: u32,
    last_status: u32,
    /// When the session began: the START of its `-bash` in `ps`.
    started: SystemTime,
    /// How deep in command substitutions (`$(...)`) this shell runs.
    depth: u8,
    /// The address the session came from, as utmp holds it for `w` and `who`.
    from: String,
    /// The address the session reached the host at: its interface's address.
    local: Option<std::net::IpAddr>,
    /// The client's address and port.
    peer: Option<std::net::SocketAddr>,
    /// What the command being run writes goes to the session's terminal (not into a pipe
    /// or a substitution, not to an exec request).
    to_tty: bool,
    /// Variables the session set, and those it unset ([`env`]).
    vars: Arc<BTreeMap<String, String>>,
    unset: Vec<String>,
    /// Lines typed at the prompt, and the number of the first one kept.
    history: Vec<String>,
    history_base: usize,
    /// This shell is `sh` (dash, as both distributions link it), run from the session's
    /// bash: its own wording for errors.
    dash: bool,
    /// The script file this shell reads, as named (`$0`): its errors begin with it.
    script: Option<String>,
    /// Jobs sent to the background so far, and the pid of the last (`$!`).
    jobs: u32,
    last_job: Option<u32>,
    /// Loop turns taken by the line being run ([`flow::MAX_ITERATIONS`]).
    turns: usize,
    /// Functions the session defined.
    functions: Arc<BTreeMap<String, Arc<Vec<flow::Item>>>>,
    /// An expansion failed: the rest of the line is not run (bash's behaviour).
    aborted: bool,
    /// `break` or `continue` is leaving loops: (continue rather than break, loops left).
    breaking: Option<(bool, u32)>,
    /// Loops the command being run is in.
    loops: u32,
    /// The positional parameters (`$1`…) of the script or function being run.
    params: Arc<Vec<String>>,
    /// The lines a block reads from (`while read l; do …; done < f`), not yet read.
    input: Option<std::collections::VecDeque<String>>,
    /// Lines typed into a block not yet closed (`if …; then` at the prompt): bash asks for
    /// more with its `>` prompt and runs them together.
    pending: String,
    /// sudo waiting at the terminal for a password.
    asking: Option<sudo::Asking>,
    /// The password the session logged in with, if it did with one: sudo takes it.
    password: Option<String>,
}

impl Shell {
    /// A login shell in the user's home. `interactive` is true with a terminal (prompts,
    /// bash's interactive error wording), false for exec requests and piped input.
    pub fn new(host: Arc<Host>, user: User, interactive: bool) -> Shell {
        let cwd = user.home();
        Shell {
            host,
            user,
            cwd,
            interactive,
            line: 0,
            last_status: 0,
            started: SystemTime::now(),
            depth: 0,
            from: String::new(),
            local: None,
            peer: None,
            to_tty: false,
            vars: Arc::default(),
            unset: Vec::new(),
            history: Vec::new(),
            history_base: 0,
            dash: false,
            script: None,
            jobs: 0,
            last_job: None,
            turns: 0,
            aborted: false,
            breaking: None,
            loops: 0,
            params: Arc::default(),
            input: None,
            functions: Arc::default(),
            pending: String::new(),
            asking: None,
            password: None,
        }
    }

    /// The same shell, for a session that logged in with `password`.
    pub fn with_password(mut self, password: Option<String>) -> Shell {
        self.password = password;
        self
    }

    /// The same shell, for a session that reached the host at `addr`.
    pub fn on(mut self, addr: std::net::IpAddr) -> Shell {
        self.local = Some(addr);
        self
    }

    fn net(&self) -> net::Net {
        let since_boot = SystemTime::now()
            .duration_since(self.host.booted())
            .map_or(0, |d| d.as_secs());
        net::Net::of(&self.host, self.local, since_boot)
    }

    /// The same shell, for a session that came from `addr`.
    pub fn from(mut self, addr: std::net::SocketAddr) -> Shell {
        self.from = addr.ip().to_string();
        self.peer = Some(addr);
        self
    }

    /// The pid of the session's privileged sshd, as `ps` lists it.
    fn session_pid(&self) -> u32 {
        1400 + self.user.uid % 97 - 9
    }

    /// The session's processes as `ps` lists them, the `ps` itself aside: the privileged
    /// sshd, the user's, and a login shell's bash.
    fn session_pids(&self) -> Vec<u32> {
        let base = self.session_pid();
        let mut pids = vec![base, base + 8];
        if self.interactive {
            pids.push(base + 9);
        }
        pids
    }

    /// The session's own folder under /proc for `pid`, if it is one of its processes.
    fn session_proc(&self, path: &str) -> Option<u32> {
        let pid: u32 = path.strip_prefix("/proc/")?.parse().ok()?;
        self.session_pids().contains(&pid).then_some(pid)
    }

    /// [`Host::stat`], with the session's processes in /proc.
    fn stat(&self, path: &str) -> Option<stat::Stat> {
        self.host.stat(path).or_else(|| {
            let pid = self.session_proc(path)?;
            let mut st = self.host.stat("/proc/1")?;
            if pid != self.session_pid() {
                st.owner.clone_from(&self.user.name);
                st.group.clone_from(&self.user.name);
            }
            st.mtime = unix_secs(self.started);
            Some(st)
        })
    }

    /// Whether `path` is a folder, the session's processes' in /proc included.
    fn is_dir(&self, path: &str) -> bool {
        self.host.dirs.contains(path) || self.session_proc(path).is_some()
    }

    /// [`Host::children`], with the session's processes in /proc.
    fn children(&self, dir: &str) -> Vec<String> {
        let mut names = self.host.children(dir);
        if dir == "/proc" {
            names.extend(self.session_pids().iter().map(u32::to_string));
            names.sort();
        }
        names
    }

    /// The prompt bash shows with the distribution's stock `.bashrc`; `color` when the
    /// terminal type asks for one (xterm-color, *-256color).
    pub fn prompt(&self, color: bool) -> String {
        if !self.pending.is_empty() {
            return "> ".into();
        }
        let home = self.user.home();
        let dir = if self.cwd == home {
            "~".to_string()
        } else if let Some(rest) = self.cwd.strip_prefix(&format!("{home}/")) {
            format!("~/{rest}")
        } else {
            self.cwd.clone()
        };
        let sigil = if self.user.uid == 0 { '#' } else { '$' };
        let (u, h) = (&self.user.name, &self.host.hostname);
        if color {
            format!(
                "\x1b]0;{u}@{h}: {dir}\x07\x1b[01;32m{u}@{h}\x1b[00m:\x1b[01;34m{dir}\x1b[00m{sigil} "
            )
        } else {
            format!("{u}@{h}:{dir}{sigil} ")
        }
    }

    /// Interprets one command line.
    pub fn run(&mut self, line: &str) -> Output {
        self.line = self.line.saturating_add(1);
        let line = &line[..floor_char_boundary(line, MAX_LINE)];
        self.remember(&history_entry(line));
        let mut out = Output::default();
        if self.depth == 0 {
            self.turns = 0;
            self.aborted = false;
            self.breaking = None;
        }
        let text = without_comments(line);
        let (text, unclosed) = heredocs(&text);
        for (at, delim) in unclosed {
            // dash takes the end of the input as the delimiter without a word.
            if self.dash {
                continue;
            }
            let warning = format!(
                "warning: here-document at line {} delimited by end-of-file (wanted `{delim}')",
                self.line as usize + at
            );
            // Reported on the input's last line.
            let end = self.line as usize + line.lines().count().max(1) - 1;
            let _ = writeln!(out.stderr, "{}: line {end}: {warning}", self.zero());
        }
        match flow::parse(&split_commands(&text)) {
            Ok(items) => self.run_items(&items, &mut out),
            Err(e) => self.syntax_error(&e, line, &mut out),
        }
        out
    }

    /// A line typed into the session's shell (with a terminal or without one): a line that
    /// leaves a block open is kept, and the next ones join it until the block closes.
    pub fn run_input(&mut self, line: &str) -> Output {
        let whole = if self.pending.is_empty() {
            line.to_string()
        } else {
            format!("{}\n{line}", std::mem::take(&mut self.pending))
        };
        // The block goes into the history as one entry once it runs, as bash keeps it.
        if whole.len() < MAX_LINE && !complete(&whole) {
            self.pending = whole;
            return Output {
                status: self.last_status,
                ..Output::default()
            };
        }
        self.run(&whole)
    }

    /// Drops a block being typed (Ctrl-C at the `>` prompt).
    pub fn cancel_input(&mut self) {
        self.pending.clear();
    }

    /// Runs one command of a list: its substitutions, words and redirections, then the
    /// command. `stdin` is what the stage before it in a pipeline wrote.
    fn simple(
        &mut self,
        cmd: &str,
        stdin: Option<String>,
        piped_on: bool,
        background: bool,
        out: &mut Output,
    ) {
        let cmd = self.substitute(cmd, out);
        if self.aborted {
            return;
        }
        let (words, redirects) = words(&cmd, self);
        if words.is_empty() && redirects.is_empty() {
            return;
        }
        let shown = out.stdout.len();
        let Some(plan) = self.open(&redirects, out) else {
            self.last_status = out.status;
            return;
        };
        let stdin = plan.stdin.clone().or(stdin);
        self.to_tty = self.interactive && self.depth == 0 && !piped_on && plan.out == Sink::Stdout;
        if words.is_empty() {
            // Redirections alone (`> file`) open their files and run nothing.
            out.status = 0;
        } else {
            let words = self.expand_alias(words);
            let wrote = out.stderr.len();
            self.command(&words, stdin.as_deref(), out);
            let printed = out.stdout.split_off(shown);
            let errors = out.stderr.split_off(wrote);
            self.route(&printed, &plan.out, out);
            self.route(&errors, &plan.err, out);
        }
        // A job sent to the background has run here all the same (its output shows as it
        // would, before what follows); its status is the `&`'s, 0. An interactive bash
        // announces it.
        if background {
            self.jobs += 1;
            let pid = self.session_pid() + 9 + 17 + self.line + self.jobs;
            self.last_job = Some(pid);
            if self.interactive && self.depth == 0 {
                let _ = writeln!(out.stderr, "[{}] {pid}", self.jobs);
            }
            out.status = 0;
            out.exit = false;
        }
    }

    /// Defines (or redefines) a function, within [`MAX_FUNCTIONS`].
    fn define(&mut self, name: &str, body: Arc<Vec<flow::Item>>) {
        let functions = Arc::make_mut(&mut self.functions);
        if functions.len() < MAX_FUNCTIONS || functions.contains_key(name) {
            functions.insert(name.to_string(), body);
        }
    }

    /// The command with its first word replaced by the alias `.bashrc` sets for it, in an
    /// interactive shell.
    fn expand_alias(&self, mut words: Vec<String>) -> Vec<String> {
        let d = self.host.distro;
        if !self.interactive || (self.user.uid == 0 && !d.root_aliases) {
            return words;
        }
        // The first word of an expansion is expanded again, but never by an alias already
        // used (`ll` -> `ls -alF` -> `ls --color=auto -alF`).
        let mut used: Vec<&str> = Vec::new();
        while let Some((name, value)) = d
            .aliases
            .iter()
            .find(|(name, _)| *name == words[0] && !used.contains(name))
        {
            used.push(name);
            let mut expanded: Vec<String> = value.split(' ').map(str::to_string).collect();
            expanded.extend(words.drain(1..));
            words = expanded;
        }
        words
    }

    /// Replaces each `$(...)` and `` `...` `` outside single quotes by what the command
    /// inside prints (trailing newlines dropped; other newlines become spaces outside double
    /// quotes, as word splitting would make them). Its errors go to `out`.
    fn substitute(&mut self, cmd: &str, out: &mut Output) -> String {
        if !(cmd.contains("$(") || cmd.contains('`')) || self.depth >= MAX_SUBSTITUTION_DEPTH {
            return cmd.to_string();
        }
        let b = cmd.as_bytes();
        let mut done = String::with_capacity(cmd.len());
        let (mut i, mut copied) = (0, 0);
        let (mut single, mut double) = (false, false);
        while i < b.len() {
            let c = b[i];
            let inner = match c {
                b'\\' if !single => {
                    i += 2;
                    continue;
                }
                b'\'' if !double => {
                    single = !single;
                    None
                }
                b'"' if !single => {
                    double = !double;
                    None
                }
                b'$' if !single && b.get(i + 1) == Some(&b'(') => {
                    closing_paren(b, i + 2).map(|end| (i + 2, end, end + 1))
                }
                b'`' if !single => cmd[i + 1..]
                    .find('`')
                    .map(|n| (i + 1, i + 1 + n, i + 2 + n)),
                _ => None,
            };
            let Some((from, to, next)) = inner else {
                i += 1;
                continue;
            };
            done.push_str(&cmd[copied..i]);
            // `$(( … ))` is arithmetic, not a command in a subshell.
            if c == b'$' && to > from + 1 && b[from] == b'(' && b[to - 1] == b')' {
                let expr = &cmd[from + 1..to - 1];
                match arith::eval(expr, &|name| self.var(name)) {
                    Ok(v) => done.push_str(&v.to_string()),
                    Err(arith::ArithError(why)) => {
                        let shown: String = expr.trim().chars().take(256).collect();
                        out.stderr
                            .push_str(&self.builtin_error(&format!("{shown}: {why}")));
                        // bash gives up the rest of the line.
                        out.status = 1;
                        self.aborted = true;
                        return done;
                    }
                }
                (i, copied) = (next, next);
                continue;
            }
            // A copy of this shell (the host and variables are shared until written); the
            // history list stays here: a substitution neither reads nor adds to it.
            let history = std::mem::take(&mut self.history);
            let mut sub = self.clone();
            self.history = history;
            sub.depth += 1;
            // The substitution is part of this line: its errors carry this line's number.
            sub.line = self.line.saturating_sub(1);
            let o = sub.run(&cmd[from..to]);
            out.stderr.push_str(&o.stderr);
            let text = o.stdout.trim_end_matches('\n');
            let text = &text[..floor_char_boundary(text, MAX_LINE)];
            if double {
                done.push_str(text);
            } else {
                done.push_str(&text.replace('\n', " "));
            }
            (i, copied) = (next, next);
            // A line holds only so much, and what lies past it is never run: a line of many
            // substitutions costs no more than one that fills the line.
            if done.len() >= MAX_LINE {
                break;
            }
        }
        done.push_str(&cmd[copied.min(cmd.len())..]);
        done.truncate(floor_char_boundary(&done, MAX_LINE));
        done
    }

    fn not_found(&self, name: &str) -> String {
        if self.dash {
            format!("{}: {}: {name}: not found\n", self.zero(), self.line)
        } else if self.interactive {
            format!(
                "{}\n",
                self.host.distro.not_found_interactive.replace("{}", name)
            )
        } else {
            format!(
                "{}: line {}: {name}: command not found\n",
                self.zero(),
                self.line
            )
        }
    }

    fn builtin_error(&self, what: &str) -> String {
        if self.dash {
            format!("{}: {}: {what}\n", self.zero(), self.line)
        } else if self.interactive {
            format!("-bash: {what}\n")
        } else {
            format!("{}: line {}: {what}\n", self.zero(), self.line)
        }
    }

    /// `$0` of a non-interactive shell: its script, or the shell's name.
    fn zero(&self) -> &str {
        match &self.script {
            Some(s) => s,
            None if self.dash => "sh",
            None => "bash",
        }
    }

    /// Runs the host file `path` (named `word`) as exec and bash run it: a script by the
    /// shell its `#!` line names (bash itself without one), through a fake shell of its
    /// own; a binary or another interpreter fails as exec fails. Nothing is executed.
    fn exec_file(
        &mut self,
        word: &str,
        path: &str,
        args: &[&str],
        stdin: Option<&str>,
        out: &mut Output,
    ) {
        let shown: String = word.chars().take(256).collect();
        let fail = |sh: &Shell, out: &mut Output, why: &str, status: u32| {
            out.stderr
                .push_str(&sh.builtin_error(&format!("{shown}: {why}")));
            out.status = status;
        };
        if !self.can_execute(path) {
            return fail(self, out, "Permission denied", 126);
        }
        // A copy of one of the host's programs runs as that program.
        if let Some(program) = self.host.written.get(path).and_then(|w| w.program) {
            let mut words = vec![program.to_string()];
            words.extend(args.iter().map(|a| a.to_string()));
            return self.command(&words, stdin, out);
        }
        let text = self.host.files.get(path).cloned().unwrap_or_default();
        if text.starts_with("\u{7f}ELF") || text.contains('\0') {
            return fail(
                self,
                out,
                "cannot execute binary file: Exec format error",
                126,
            );
        }
        let shebang = text.lines().next().and_then(|l| l.strip_prefix("#!"));
        let shell = match shebang.map(|l| l.split_whitespace().collect::<Vec<_>>()) {
            None => "bash",
            Some(w) => {
                let (interp, via_env) = match w.as_slice() {
                    ["/usr/bin/env" | "/bin/env", name, ..] => (*name, true),
                    [interp, ..] => (*interp, false),
                    [] => ("", false),
                };
                let known = if via_env {
                    matches!(interp, "sh" | "bash" | "dash")
                } else {
                    matches!(
                        interp,
                        "/bin/sh"
                            | "/usr/bin/sh"
                            | "/bin/bash"
                            | "/usr/bin/bash"
                            | "/bin/dash"
                            | "/usr/bin/dash"
                    )
                };
                if !known && via_env {
                    let name: String = interp.chars().take(256).collect();
                    let _ = writeln!(
                        out.stderr,
                        "/usr/bin/env: \u{2018}{name}\u{2019}: No such file or directory"
                    );
                    out.status = 127;
                    return;
                }
                // bash 5.2's wording when exec finds no interpreter (both profiles ship 5.2).
                if !known {
                    return fail(self, out, "cannot execute: required file not found", 127);
                }
                if interp.ends_with("bash") {
                    "bash"
                } else {
                    "sh"
                }
            }
        };
        let mut argv = vec![word];
        argv.extend_from_slice(args);
        self.sub_shell(shell, &argv, stdin, out);
    }

    /// Runs one command; `stdin` is what the previous stage of a pipeline wrote.
    fn command(&mut self, words: &[String], stdin: Option<&str>, out: &mut Output) {
        // `NAME=value` alone sets a variable; before a command, only for that command.
        if env::assignment(&words[0]).is_some() {
            match words.iter().position(|w| env::assignment(w).is_none()) {
                Some(i) => return self.command(&words[i..], stdin, out),
                None => {
                    for (name, value) in words.iter().filter_map(|w| env::assignment(w)) {
                        self.set_var(name, value);
                    }
                    out.status = 0;
                    return;
                }
            }
        }
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        out.status = 0;
        if words[0].contains('/') && !words[0].ends_with('/') {
            let path = normalize(&self.cwd, &expand_home(&words[0], &self.user));
            if self.host.files.contains_key(&path) && program_size(&path, "").is_none() {
                return self.exec_file(&words[0], &path, &args, stdin, out);
            }
        }
        let name = match self.program(&words[0]) {
            Ok(name) => name,
            Err((why, status)) => {
                let shown: String = words[0].chars().take(256).collect();
                out.stderr
                    .push_str(&self.builtin_error(&format!("{shown}: {why}")));
                out.status = status;
                return;
            }
        };
        if let Some(body) = self.functions.get(name).cloned() {
            if self.depth < MAX_SUBSTITUTION_DEPTH {
                // A function's arguments are its positional parameters while it runs.
                let params = Arc::new(args.iter().map(|a| a.to_string()).collect());
                let caller = std::mem::replace(&mut self.params, params);
                self.depth += 1;
                self.run_items(&body, out);
                self.depth -= 1;
                self.params = caller;
            }
            return;
        }
        if builtins::handles(name) {
            return self.builtin(name, &args, stdin, out);
        }
        match name {
            // A program of /usr/sbin runs by its name only where PATH has that folder (a
            // Debian user's does not).
            n if !words[0].contains('/') && is_sbin(n) && !self.sbin_in_path() => {
                out.stderr.push_str(&self.not_found(n));
                out.status = 127;
            }
            "passwd" => self.passwd(&args, stdin, out),
            "sudo" => self.sudo(&args, stdin, out),
            "chpasswd" => self.chpasswd(&args, stdin, out),
            "exec" if !args.is_empty() => {
                self.command(&words[1..], stdin, out);
                out.exit = true;
            }
            "exec" => {}
            "sleep" if args.is_empty() => missing_operand("sleep", "missing operand", out),
            // GNU sleep waits for the sum of its arguments; any bad one and it waits not at all.
            "sleep" => match args.iter().map(|a| sleep_interval(a).ok_or(a)).sum() {
                Ok(total) => out.slept = out.slept.saturating_add(total),
                Err(a) => {
                    let shown: String = a.chars().take(256).collect();
                    let _ = writeln!(
                        out.stderr,
                        "sleep: invalid time interval \u{2018}{shown}\u{2019}\nTry 'sleep --help' for more information."
                    );
                    out.status = 1;
                }
            },
            "whoami" => {
                let _ = writeln!(out.stdout, "{}", self.user.name);
            }
            "id" => {
                let u = &self.user;
                let flags: String = args.iter().filter_map(|a| a.strip_prefix('-')).collect();
                let names = flags.contains('n');
                if flags.contains(['u', 'g', 'G']) {
                    // One group per user, of the user's name and id.
                    let _ = if names {
                        writeln!(out.stdout, "{}", u.name)
                    } else {
                        writeln!(out.stdout, "{}", u.uid)
                    };
                } else if names {
                    out.stderr
                        .push_str("id: cannot print only names or real IDs in default format\n");
                    out.status = 1;
                } else {
                    let _ = writeln!(
                        out.stdout,
                        "uid={0}({1}) gid={0}({1}) groups={0}({1})",
                        u.uid, u.name
                    );
                }
            }
            "hostname" => match args.first().copied() {
                Some("-I" | "--all-ip-addresses") => out.stdout.push_str(&self.net().hostname_i()),
                // The name resolves through /etc/hosts.
                Some("-i" | "--ip-address") => out.stdout.push_str("127.0.1.1\n"),
                Some("-d" | "--domain") => out.stdout.push('\n'),
                _ => {
                    let _ = writeln!(out.stdout, "{}", self.host.hostname);
                }
            },
            "ss" => {
                let session = self.peer.map(|p| (p, self.session_pid()));
                let (stdout, stderr, status) =
                    self.net()
                        .ss(&args, self.host.ssh_port, session, self.user.uid == 0);
                out.stdout.push_str(&stdout);
                out.stderr.push_str(&stderr);
                out.status = status;
            }
            "ip" => {
                let (stdout, stderr, status) = self.net().ip(&args, self.user.uid);
                out.stdout.push_str(&stdout);
                out.stderr.push_str(&stderr);
                out.status = status;
            }
            "uname" => self.uname(&args, out),
            "pwd" => {
                let _ = writeln!(out.stdout, "{}", self.cwd);
            }
            "cd" => {
                let target = match args.first() {
                    None | Some(&"~") => self.user.home(),
                    Some(d) => normalize(&self.cwd, &expand_home(d, &self.user)),
                };
                if self.host.dirs.contains(&target) {
                    self.cwd = target;
                } else {
                    let shown = args.first().copied().unwrap_or_default();
                    let msg = if self.host.files.contains_key(&target) {
                        format!("cd: {shown}: Not a directory")
                    } else {
                        format!("cd: {shown}: No such file or directory")
                    };
                    out.stderr.push_str(&self.builtin_error(&msg));
                    out.status = 1;
                }
            }
            "ls" => self.ls(&args, out),
            "env" | "printenv" => self.env(name, &args, out),
            "export" | "unset" => self.export(name, &args, out),
            "history" => self.history(&args, out),
            "groups" => self.groups(&args, out),
            "wget" => {
                let (stdout, stderr, status) =
                    wget::wget(&args, &self.host.hostname, SystemTime::now());
                out.stdout.push_str(&stdout);
                out.stderr.push_str(&stderr);
                out.status = status;
            }
            "bash" | "sh" | "dash" => self.sub_shell(name, &args, stdin, out),
            "mkdir" => self.mkdir(&args, out),
            "touch" => self.touch(&args, out),
            "rm" => self.rm(&args, out),
            "cp" | "mv" => self.transfer(name, &args, out),
            "find" => self.find(&args, out),
            "basename" | "dirname" | "cut" | "sort" | "uniq" | "tr" | "seq" | "tee" | "md5sum"
            | "sha256sum" | "base64" | "yes" | "nohup" => self.text_tool(name, &args, stdin, out),
            "chmod" | "chown" | "chgrp" => self.change(name, &args, out),
            "chattr" => self.chattr(&args, out),
            "cat" => {
                for (_, text) in self.inputs("cat", &args, stdin, out) {
                    out.stdout.push_str(&text);
                }
            }
            "grep" => self.grep(&args, stdin, out),
            "head" | "tail" => {
                let (count, files) = line_count(&args);
                let inputs = self.inputs(name, &files, stdin, out);
                let titled = inputs.len() > 1;
                for (i, (title, text)) in inputs.iter().enumerate() {
                    if titled {
                        let gap = if i > 0 { "\n" } else { "" };
                        let _ = writeln!(out.stdout, "{gap}==> {title} <==");
                    }
                    let lines: Vec<&str> = text.split_inclusive('\n').collect();
                    let kept = if name == "head" {
                        &lines[..count.min(lines.len())]
                    } else {
                        &lines[lines.len().saturating_sub(count)..]
                    };
                    out.stdout.extend(kept.iter().copied());
                }
            }
            "wc" => self.wc(&args, stdin, out),
            "awk" => {
                // `-F SEP` / `-FSEP`, then the program, then files (else standard input).
                let mut sep = None;
                let mut rest = Vec::new();
                let mut it = args.iter().copied();
                while let Some(a) = it.next() {
                    match a.strip_prefix("-F") {
                        Some("") => sep = it.next(),
                        Some(s) => sep = Some(s),
                        None => rest.push(a),
                    }
                }
                if rest.is_empty() {
                    out.stderr.push_str(
                        "usage: mawk [-F value] [-v var=value] [--] 'program text' [file ...]\n",
                    );
                    out.status = 2;
                    return;
                }
                let program = rest.remove(0);
                // NR runs on across the files, BEGIN and END once: one stream of records.
                let text: String = self
                    .inputs("awk", &rest, stdin, out)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                if let Some(p) = awk::Program::parse(program) {
                    p.run(sep, &text, &mut out.stdout);
                }
            }
            "df" => {
                let used = if self.host.distro.family == super::profile::Family::Ubuntu {
                    3_123_460
                } else {
                    2_291_456
                };
                let (stdout, stderr, status) = disk::df(&args, &disk::mounts(self.user.uid, used));
                out.stdout.push_str(&stdout);
                out.stderr.push_str(&stderr);
                out.status = status;
            }
            "nproc" => {
                let _ = writeln!(out.stdout, "{CPUS}");
            }
            "lscpu" => out.stdout.push_str(&lscpu()),
            "w" => self.w(&args, out),
            // Only a session with a terminal is in utmp.
            "who" if self.interactive => {
                let c = ctime(self.started); // "Tue Dec 10 09:12:01 2024"
                let _ = writeln!(
                    out.stdout,
                    "{:<9}{:<13}{} {} ({})",
                    self.user.name,
                    "pts/0",
                    &c[4..10],
                    &c[11..16],
                    self.from
                );
            }
            "who" => {}
            // The user has no crontab; one given on standard input or in a file is taken
            // without a word (and kept nowhere), as crontab takes a valid one.
            "crontab" => match args.first() {
                Some(&"-l") => {
                    let _ = writeln!(out.stderr, "no crontab for {}", self.user.name);
                    out.status = 1;
                }
                Some(&"-r") => {
                    let _ = writeln!(out.stderr, "no crontab for {}", self.user.name);
                    out.status = 1;
                }
                Some(_) => {}
                None => {
                    out.stderr.push_str(&format!(
                        "crontab: usage error: file name or - (for stdin) must be specified\n{CRONTAB_USAGE}"
                    ));
                    out.status = 1;
                }
            },
            "ps" => self.ps(&args, out),
            "uptime" if matches!(args.first(), Some(&("-p" | "--pretty"))) => {
                let up = SystemTime::now()
                    .duration_since(self.host.booted())
                    .map_or(0, |d| d.as_secs());
                let _ = writeln!(out.stdout, "{}", pretty_uptime(up));
            }
            "uptime" => {
                let load = load_averages(&mut rand::rng());
                // A session with a terminal is in utmp; an exec request without one is not.
                let users = u32::from(self.interactive);
                out.stdout
                    .push_str(&uptime(SystemTime::now(), self.host.booted(), users, load));
            }
            "free" => {
                let used = used_memory_kib(&mut rand::rng());
                out.stdout.push_str(&free(&args, used));
            }
            "which" => {
                let mut found = !args.is_empty();
                for a in &args {
                    match self.which(a) {
                        Some(path) => {
                            let _ = writeln!(out.stdout, "{path}");
                        }
                        None => found = false,
                    }
                }
                out.status = u32::from(!found);
            }
            "date" => {
                let (stdout, stderr, status) = date::date(&args, SystemTime::now());
                out.stdout.push_str(&stdout);
                out.stderr.push_str(&stderr);
                out.status = status;
            }
            "ssh" => {
                let caller = ssh_client::Caller {
                    hostname: &self.host.hostname,
                    stdin_is_tty: self.interactive && stdin.is_none(),
                };
                let (err, status) = ssh_client::run(&self.host.distro.ssh_client, &args, &caller);
                out.stderr.push_str(&err);
                out.status = status;
            }
            "echo" => {
                // bash's builtin: leading words of only `n`, `e`, `E` are options.
                let options = args
                    .iter()
                    .take_while(|a| {
                        a.len() > 1
                            && a.starts_with('-')
                            && a[1..].bytes().all(|b| matches!(b, b'n' | b'e' | b'E'))
                    })
                    .count();
                let (mut newline, mut escapes) = (true, false);
                for o in &args[..options] {
                    for b in o[1..].bytes() {
                        match b {
                            b'n' => newline = false,
                            b'e' => escapes = true,
                            _ => escapes = false,
                        }
                    }
                }
                let text = args[options..].join(" ");
                if escapes {
                    let (text, stop) = echo_escapes(&text);
                    out.stdout.push_str(&text);
                    newline &= !stop;
                } else {
                    out.stdout.push_str(&text);
                }
                if newline {
                    out.stdout.push('\n');
                }
            }
            "exit" | "logout" => {
                out.status = args
                    .first()
                    .and_then(|a| a.parse::<u32>().ok())
                    .unwrap_or(self.last_status)
                    & 0xff;
                out.exit = true;
                if self.interactive {
                    out.stdout.push_str("logout\n");
                }
            }
            name => {
                out.stderr
                    .push_str(&self.not_found(&name.chars().take(256).collect::<String>()));
                out.status = 127;
            }
        }
    }

    /// What a command word runs. A word without a slash is looked up as bash looks it up
    /// (builtins, then `PATH`); one with a slash names a file, and only the host's programs
    /// run: anything else fails as exec fails, with bash's status (127 for a missing file,
    /// 126 for one that cannot run). Bots probe for this with `/bin/busybox TAG`.
    fn program<'w>(&self, word: &'w str) -> Result<&'w str, (&'static str, u32)> {
        if !word.contains('/') {
            return Ok(word);
        }
        let path = normalize(&self.cwd, &expand_home(word, &self.user));
        let is_file = self.host.files.contains_key(&path) || program_size(&path, "").is_some();
        if word.ends_with('/') && is_file {
            return Err(("Not a directory", 126));
        }
        if let Some(p) = program_at(&path, "") {
            return Ok(p.name);
        }
        if self.host.dirs.contains(&path) {
            Err(("Is a directory", 126))
        } else {
            Err(("No such file or directory", 127))
        }
    }

    /// Where `PATH` finds the program `name`, if the host has one there.
    pub(super) fn which(&self, name: &str) -> Option<String> {
        if PROGRAMS.iter().any(|p| p.name == name) {
            Some(format!("/usr/bin/{name}"))
        } else if is_sbin(name) && self.sbin_in_path() {
            Some(format!("/usr/sbin/{name}"))
        } else {
            None
        }
    }

    /// Whether this session's `PATH` has `/usr/sbin` (or `/sbin`, the same folder).
    fn sbin_in_path(&self) -> bool {
        self.path()
            .split(':')
            .any(|d| d == "/usr/sbin" || d == "/sbin")
    }

    fn uname(&self, args: &[&str], out: &mut Output) {
        let d = self.host.distro;
        let mut parts: Vec<&str> = Vec::new();
        let flags: String = args.iter().filter_map(|a| a.strip_prefix('-')).collect();
        if flags.contains('a') {
            let _ = writeln!(out.stdout, "{}", self.host.uname_all());
            return;
        }
        for c in flags.chars() {
            match c {
                's' => parts.push("Linux"),
                'n' => parts.push(&self.host.hostname),
                'r' => parts.push(d.kernel_release),
                'v' => parts.push(d.kernel_version),
                'm' | 'p' | 'i' => parts.push("x86_64"),
                'o' => parts.push("GNU/Linux"),
                _ => {
                    let _ = writeln!(
                        out.stderr,
                        "uname: invalid option -- '{c}'\nTry 'uname --help' for more information."
                    );
                    out.status = 1;
                    return;
                }
            }
        }
        if parts.is_empty() {
            parts.push("Linux");
        }
        let _ = writeln!(out.stdout, "{}", parts.join(" "));
    }

    /// What a text tool reads: the files named in `args` (those that are not flags), else
    /// its standard input. Each comes with the name the tool titles it by. Files it cannot
    /// read are reported as coreutils reports them and set status 1 (grep's 2).
    fn inputs(
        &self,
        tool: &str,
        args: &[&str],
        stdin: Option<&str>,
        out: &mut Output,
    ) -> Vec<(String, String)> {
        let names: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| *a == "-" || !a.starts_with('-'))
            .collect();
        if names.is_empty() {
            return vec![("-".into(), stdin.unwrap_or_default().to_string())];
        }
        let mut read = Vec::new();
        for a in names {
            if a == "-" {
                read.push(("(standard input)".into(), stdin.unwrap_or_default().into()));
                continue;
            }
            let path = normalize(&self.cwd, &expand_home(a, &self.user));
            if program_size(&path, tool).is_some() {
                read.push((a.to_string(), ELF_HEAD.to_string()));
                continue;
            }
            if let Some(text) = self.proc_file(&path) {
                read.push((a.to_string(), text));
                continue;
            }
            let problem = match self.host.files.get(&path) {
                Some(_) if !self.can_read(&path) => "Permission denied",
                Some(content) => {
                    read.push((a.to_string(), content.clone()));
                    continue;
                }
                None if self.host.dirs.contains(&path) => "Is a directory",
                None => "No such file or directory",
            };
            let _ = writeln!(out.stderr, "{tool}: {a}: {problem}");
            out.status = if tool == "grep" { 2 } else { 1 };
        }
        read
    }

    /// `grep` with a fixed pattern (a plain word, as scripts probing a host grep for), and
    /// `-i`, `-v`, `-c`, `-n`, `-w`, `-q`, `-h`; regular-expression syntax matches itself.
    /// Whether this session's user may read the file at `path`, by its mode (root reads
    /// everything).
    fn can_read(&self, path: &str) -> bool {
        let Some(st) = self.host.stat(path) else {
            return false;
        };
        let m = st.mode.as_bytes();
        self.user.uid == 0
            || m[6] == b'r'
            || (st.owner == self.user.name && m[0] == b'r')
            || (st.group == self.user.name && m[3] == b'r')
    }

    /// What the kernel writes into one of [`PROC_DYNAMIC`] when it is read.
    fn proc_file(&self, path: &str) -> Option<String> {
        let rng = &mut rand::rng();
        match path {
            "/proc/meminfo" => Some(meminfo(used_memory_kib(rng))),
            "/proc/uptime" => {
                let up = SystemTime::now()
                    .duration_since(self.host.booted())
                    .map_or(0.0, |d| d.as_secs_f64());
                // Both processors mostly idle.
                let idle = up * CPUS as f64 * 0.985;
                Some(format!("{up:.2} {idle:.2}\n"))
            }
            "/proc/net/arp" => Some(self.net().arp()),
            "/proc/loadavg" => {
                let [one, five, fifteen] = load_averages(rng);
                let last_pid = 1400 + self.user.uid % 97 + 17 + self.line;
                Some(format!(
                    "{one:.2} {five:.2} {fifteen:.2} 1/{} {last_pid}\n",
                    rand::Rng::random_range(rng, 128..142)
                ))
            }
            _ => None,
        }
    }

    fn grep(&self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let mut flags = String::new();
        let mut rest = Vec::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut color_when = "never";
        let mut it = args.iter().copied();
        let mut options_done = false;
        while let Some(a) = it.next() {
            match a {
                "--" if !options_done => options_done = true,
                "-e" if !options_done => patterns.extend(it.next()),
                a if !options_done && a.starts_with("--") => match a {
                    "--extended-regexp" => flags.push('E'),
                    "--fixed-strings" => flags.push('F'),
                    "--ignore-case" => flags.push('i'),
                    "--invert-match" => flags.push('v'),
                    "--count" => flags.push('c'),
                    "--line-number" => flags.push('n'),
                    "--word-regexp" => flags.push('w'),
                    "--line-regexp" => flags.push('x'),
                    "--quiet" | "--silent" => flags.push('q'),
                    "--no-filename" => flags.push('h'),
                    "--color" | "--colour" => color_when = "always",
                    a if a.starts_with("--color=") || a.starts_with("--colour=") => {
                        color_when = &a[a.find('=').map_or(0, |i| i + 1)..];
                    }
                    _ => {}
                },
                a if !options_done && a.len() > 1 && a.starts_with('-') => {
                    let f = &a[1..];
                    match f.find('e') {
                        // `-ie PATTERN`, `-ePATTERN`
                        Some(at) => {
                            flags.push_str(&f[..at]);
                            let inline = &f[at + 1..];
                            if inline.is_empty() {
                                patterns.extend(it.next());
                            } else {
                                patterns.push(inline);
                            }
                        }
                        None => flags.push_str(f),
                    }
                }
                a if patterns.is_empty() && rest.is_empty() && !had_e(args) => patterns.push(a),
                a => rest.push(a),
            }
        }
        if patterns.is_empty() {
            out.stderr.push_str(
                "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n",
            );
            out.status = 2;
            return;
        }
        let has = |c: char| flags.contains(c);
        let syntax = if has('F') {
            pattern::Syntax::Fixed
        } else if has('E') {
            pattern::Syntax::Extended
        } else {
            pattern::Syntax::Basic
        };
        let joined = patterns.join("\n");
        let pattern = match pattern::Pattern::parse(&joined, syntax, has('i')) {
            Ok(p) => p,
            Err(message) => {
                let _ = writeln!(out.stderr, "{message}");
                out.status = 2;
                return;
            }
        };
        let matches = |line: &str| pattern.matches(line, has('w'), has('x')) != has('v');
        let color = match color_when {
            "always" | "yes" | "force" => true,
            "auto" | "tty" | "if-tty" => self.to_tty,
            _ => false,
        };
        // GNU grep's default colours: file names magenta, line numbers green, separators
        // cyan, matches bold red.
        let paint = |code: &str, text: &str| -> String {
            if color {
                format!("\x1b[{code}m\x1b[K{text}\x1b[m\x1b[K")
            } else {
                text.to_string()
            }
        };
        let sep = paint("36", ":");
        let marked = |line: &str| -> String {
            if !color || has('v') {
                return line.to_string();
            }
            let chars: Vec<char> = line.chars().collect();
            let mut text = String::new();
            let mut at = 0;
            for (from, to) in pattern.spans(line, has('w'), has('x')) {
                text.extend(&chars[at..from]);
                text.push_str(&paint("01;31", &chars[from..to].iter().collect::<String>()));
                at = to;
            }
            text.extend(&chars[at..]);
            text
        };
        let inputs = self.inputs("grep", &rest, stdin, out);
        let titled = inputs.len() > 1 && !has('h');
        let mut any = false;
        for (title, text) in &inputs {
            let mut count = 0;
            for (n, line) in text.lines().enumerate() {
                if !matches(line) {
                    continue;
                }
                count += 1;
                any = true;
                if has('c') || has('q') {
                    continue;
                }
                if titled {
                    let _ = write!(out.stdout, "{}{sep}", paint("35", title));
                }
                if has('n') {
                    let _ = write!(out.stdout, "{}{sep}", paint("32", &(n + 1).to_string()));
                }
                let _ = writeln!(out.stdout, "{}", marked(line));
            }
            if has('c') && !has('q') {
                if titled {
                    let _ = write!(out.stdout, "{}{sep}", paint("35", title));
                }
                let _ = writeln!(out.stdout, "{count}");
            }
        }
        if out.status != 2 {
            out.status = u32::from(!any);
        }
    }

    /// `wc` with `-l`, `-w`, `-c` (all three without flags), as coreutils lays them out:
    /// standard input alone in columns of seven, files in the width of the largest total.
    fn wc(&self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let flags: String = args.iter().filter_map(|a| a.strip_prefix('-')).collect();
        let want: Vec<char> = ['l', 'w', 'c']
            .into_iter()
            .filter(|c| flags.is_empty() || flags.contains(*c))
            .collect();
        let inputs = self.inputs("wc", args, stdin, out);
        let counts: Vec<(String, [usize; 3])> = inputs
            .iter()
            .map(|(t, text)| {
                let c = [
                    text.matches('\n').count(),
                    text.split_whitespace().count(),
                    text.len(),
                ];
                (t.clone(), c)
            })
            .collect();
        let mut total = [0; 3];
        for (_, c) in &counts {
            for i in 0..3 {
                total[i] += c[i];
            }
        }
        let from_stdin = inputs.len() == 1 && inputs[0].0 == "-";
        let width = if want.len() == 1 && inputs.len() == 1 {
            1
        } else if from_stdin {
            7
        } else {
            total[2].to_string().len()
        };
        let mut rows = counts;
        if rows.len() > 1 {
            rows.push(("total".into(), total));
        }
        for (title, c) in rows {
            let cells: Vec<String> = want
                .iter()
                .map(|w| {
                    let v = c[match w {
                        'l' => 0,
                        'w' => 1,
                        _ => 2,
                    }];
                    format!("{v:>width$}")
                })
                .collect();
            let _ = write!(out.stdout, "{}", cells.join(" "));
            if title != "-" {
                let _ = write!(out.stdout, " {title}");
            }
            out.stdout.push('\n');
        }
    }

    /// `w` as procps 4.0.2 prints it: the `uptime` line and one row for this session if it
    /// has a terminal (`-h` leaves out both header lines, `-s` the login and CPU columns).
    fn w(&self, args: &[&str], out: &mut Output) {
        let flags: String = args.iter().filter_map(|a| a.strip_prefix('-')).collect();
        let (no_header, short) = (flags.contains('h'), flags.contains('s'));
        if !no_header {
            let users = u32::from(self.interactive);
            let load = load_averages(&mut rand::rng());
            out.stdout
                .push_str(&uptime(SystemTime::now(), self.host.booted(), users, load));
            out.stdout.push_str(if short {
                "USER     TTY      FROM              IDLE WHAT\n"
            } else {
                "USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n"
            });
        }
        if !self.interactive {
            return;
        }
        let what = std::iter::once("w")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let (user, from) = (&self.user.name, &self.from);
        if short {
            let _ = writeln!(out.stdout, "{user:<9}pts/0    {from:<18}0.00s {what}");
        } else {
            let login = &ctime(self.started)[11..16];
            // PCPU is "?" for a process that has used no measurable time yet, as `w` has.
            let _ = writeln!(
                out.stdout,
                "{user:<9}pts/0    {from:<17}{login}    0.00s  0.00s   ?    {what}"
            );
        }
    }

    fn ps(&self, args: &[&str], out: &mut Output) {
        let full = args
            .iter()
            .any(|a| a.contains('a') || a.contains('e') || a.contains('x'));
        let base = self.session_pid() + 9;
        if !full {
            let _ = writeln!(out.stdout, "    PID TTY          TIME CMD");
            let _ = writeln!(out.stdout, "{:>7} pts/0    00:00:00 bash", base);
            let _ = writeln!(
                out.stdout,
                "{:>7} pts/0    00:00:00 ps",
                base + 17 + self.line
            );
            return;
        }
        let u = &self.user.name;
        let d = self.host.distro;
        let names: Vec<String> = kthreads(d)
            .iter()
            .map(|(_, _, n)| format!("[{n}]"))
            .collect();
        let mut rows: Vec<(&str, u32, &str, &str)> = vec![("root", 1, "Ss", "/sbin/init")];
        rows.extend(
            kthreads(d)
                .iter()
                .zip(&names)
                .map(|((pid, state, _), name)| ("root", *pid, *state, name.as_str())),
        );
        rows.extend(services(d).map(|&(user, pid, state, cmd)| (user, pid, state, cmd)));
        rows.push(("root", base - 9, "Ss", "sshd: {u} [priv]"));
        let now = SystemTime::now();
        let (boot, login, run) = (
            ps_start(self.host.booted(), now),
            ps_start(self.started, now),
            ps_start(now, now),
        );
        let _ = writeln!(
            out.stdout,
            "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
        );
        for (user, pid, stat, cmd) in rows {
            let cmd = cmd.replace("{u}", u);
            // The session's sshd began with the login; everything else at boot.
            let boot = if cmd.ends_with("[priv]") {
                &login
            } else {
                &boot
            };
            let tty = if stat.ends_with('+') { "tty1" } else { "?" };
            // Kernel threads have no memory of their own.
            let (mem, vsz, rss) = if cmd.starts_with('[') {
                ("0.0", 0, 0)
            } else {
                ("0.1", 10000 + pid * 7, 5000 + pid % 900)
            };
            let _ = writeln!(
                out.stdout,
                "{user:<8} {pid:>7}  0.0  {mem} {vsz:>6} {rss:>5} {tty:<8} {stat:<4} {boot}   0:00 {cmd}",
            );
        }
        // The session's unprivileged sshd, on its terminal or none.
        let channel = if self.interactive { "pts/0" } else { "notty" };
        let _ = writeln!(
            out.stdout,
            "{u:<8} {:>7}  0.0  0.0  17992  6912 ?        S    {login}   0:00 sshd: {u}@{channel}",
            base - 1
        );
        // A login shell on the terminal runs ps as its child; an exec request's `bash -c`
        // replaces itself with ps, which then has no terminal.
        let (tty, state) = if self.interactive {
            let _ = writeln!(
                out.stdout,
                "{u:<8} {:>7}  0.0  0.0   8652  5376 pts/0    Ss   {login}   0:00 -bash",
                base
            );
            ("pts/0", "R+")
        } else {
            ("?", "Rs")
        };
        let _ = writeln!(
            out.stdout,
            "{u:<8} {:>7}  0.0  0.0  11320  4608 {tty:<8} {state:<4} {run}   0:00 ps {}",
            base + 17 + self.line,
            args.join(" ")
        );
    }
}

/// A program in `/usr/bin`.
#[derive(Debug)]
struct Program {
    name: &'static str,
    /// Size in bytes (of the file a link leads to).
    size: usize,
    /// Modification time (Unix seconds), as Debian 12's package installs it.
    mtime: u64,
    /// `update-alternatives` installs some as links: where the link points.
    link: Option<&'static str>,
}

const fn program(name: &'static str, size: usize, mtime: u64) -> Program {
    Program {
        name,
        size,
        mtime,
        link: None,
    }
}

/// The programs the fake host answers for that live in `/usr/bin` (what `which` finds),
/// with the sizes and times Debian 12's packages give them (coreutils 9.1, procps 4.0.2,
/// util-linux 2.38.1, grep 3.8, mawk 1.3.4, cron 3.0pl1-162, iproute2 6.1.0,
/// openssh-client 9.2p1-2+deb12u10).
/// `cd`, `pwd`, `echo` and `exit` are bash builtins; `pwd` and `echo` also exist as programs.
const PROGRAMS: &[Program] = &[
    program("[", 68_496, 1_663_687_647),
    program("base64", 48_016, 1_663_687_647),
    program("basename", 43_856, 1_663_687_647),
    program("cut", 48_112, 1_663_687_647),
    program("dirname", 39_760, 1_663_687_647),
    program("md5sum", 52_176, 1_663_687_647),
    program("nohup", 43_920, 1_663_687_647),
    program("seq", 60_336, 1_663_687_647),
    program("sha256sum", 60_368, 1_663_687_647),
    program("sort", 118_456, 1_663_687_647),
    program("tee", 43_984, 1_663_687_647),
    program("tr", 56_208, 1_663_687_647),
    program("uniq", 48_080, 1_663_687_647),
    program("yes", 39_760, 1_663_687_647),
    Program {
        name: "awk",
        size: 158_376,
        mtime: 1_655_480_126,
        link: Some("/etc/alternatives/awk"),
    },
    program("bash", 1_265_648, 1_745_016_454),
    program("cat", 44_016, 1_663_687_647),
    program("chattr", 14_584, 1_677_986_168),
    program("chgrp", 68_656, 1_663_687_647),
    program("chmod", 64_496, 1_663_687_647),
    program("chown", 72_752, 1_663_687_647),
    program("cp", 151_152, 1_663_687_647),
    program("crontab", 43_648, 1_677_742_380),
    program("date", 121_904, 1_663_687_647),
    program("dash", 125_640, 1_672_924_848),
    program("df", 102_200, 1_663_687_647),
    program("echo", 43_856, 1_663_687_647),
    program("env", 48_536, 1_663_687_647),
    program("false", 35_664, 1_663_687_647),
    program("find", 224_848, 1_673_201_273),
    program("free", 26_936, 1_671_429_998),
    program("grep", 203_152, 1_674_571_380),
    program("groups", 43_920, 1_663_687_647),
    program("head", 48_080, 1_663_687_647),
    program("hostname", 22_680, 1_671_456_791),
    program("id", 48_144, 1_663_687_647),
    program("ip", 691_016, 1_684_761_592),
    program("kill", 22_840, 1_671_429_998),
    program("ls", 151_344, 1_663_687_647),
    program("lscpu", 129_344, 1_732_219_314),
    program("mkdir", 97_552, 1_663_687_647),
    program("mv", 142_968, 1_663_687_647),
    program("nproc", 43_920, 1_663_687_647),
    program("ps", 146_360, 1_671_429_998),
    program("printenv", 35_664, 1_663_687_647),
    program("printf", 64_432, 1_663_687_647),
    // Set-uid root (see `stat`); passwd 1:4.13+dfsg1-1+deb12u1.
    program("passwd", 68_248, 1_744_022_326),
    program("pwd", 43_952, 1_663_687_647),
    program("rm", 72_752, 1_663_687_647),
    Program {
        name: "sh",
        size: 4,
        mtime: 1_672_924_848,
        link: Some("dash"),
    },
    program("sleep", 43_888, 1_663_687_647),
    program("ss", 193_680, 1_684_761_592),
    program("ssh", 1_129_504, 1_777_976_816),
    // Set-uid root (see `stat`); sudo 1.9.13p3 of Debian 12, its size and time near the
    // package's.
    program("sudo", 281_624, 1_719_302_502),
    program("tail", 76_944, 1_663_687_647),
    program("test", 60_304, 1_663_687_647),
    program("touch", 109_616, 1_663_687_647),
    program("true", 35_664, 1_663_687_647),
    program("uname", 43_888, 1_663_687_647),
    program("uptime", 14_648, 1_671_429_998),
    program("w", 22_840, 1_671_429_998),
    program("wc", 52_280, 1_663_687_647),
    program("wget", 470_384, 1_741_008_752),
    program("who", 60_432, 1_663_687_647),
    Program {
        name: "which",
        size: 946,
        mtime: 1_690_587_995,
        link: Some("/etc/alternatives/which"),
    },
    program("whoami", 39_792, 1_663_687_647),
];

/// The programs the fake host answers for in `/usr/sbin`, found by name only where `PATH`
/// has that folder (root's, and every Ubuntu user's); passwd 1:4.13+dfsg1-1+deb12u1.
const SBIN: &[Program] = &[program("chpasswd", 63_856, 1_744_022_326)];

/// The program at `path` (`/usr/bin/NAME` or `/bin/NAME`, or the `/proc/self/exe` of the
/// program reading it).
/// `echo -e`'s escapes as bash's builtin reads them; `true` when `\\c` ends the output
/// there (no newline either). A byte above 0x7f (`\\xff`) is kept as the character of that
/// number, since the fake host's files hold text.
fn echo_escapes(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut it = text.chars().peekable();
    // Up to `max` digits of `radix` from `it`.
    let digits = |it: &mut std::iter::Peekable<std::str::Chars>, radix: u32, max: usize| {
        let mut v: Option<u32> = None;
        for _ in 0..max {
            match it.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    v = Some(v.unwrap_or(0) * radix + d);
                    it.next();
                }
                None => break,
            }
        }
        v
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        let byte = |v: u32| char::from((v & 0xff) as u8);
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'e' | 'E' => out.push('\u{1b}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            'c' => return (out, true),
            '0' => out.push(byte(digits(&mut it, 8, 3).unwrap_or(0))),
            'x' => match digits(&mut it, 16, 2) {
                Some(v) => out.push(byte(v)),
                None => out.push_str("\\x"),
            },
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    (out, false)
}

fn program_at(path: &str, reader: &str) -> Option<&'static Program> {
    let in_dir = |list: &'static [Program], name: &str| list.iter().find(|p| p.name == name);
    if path == "/proc/self/exe" {
        return in_dir(PROGRAMS, reader).or_else(|| in_dir(SBIN, reader));
    }
    if let Some(name) = path
        .strip_prefix("/usr/sbin/")
        .or_else(|| path.strip_prefix("/sbin/"))
    {
        return in_dir(SBIN, name);
    }
    in_dir(
        PROGRAMS,
        path.strip_prefix("/usr/bin/")
            .or_else(|| path.strip_prefix("/bin/"))?,
    )
}

/// Whether `name` is one of the host's programs in `/usr/sbin`.
fn is_sbin(name: &str) -> bool {
    SBIN.iter().any(|p| p.name == name)
}

/// A program's size, if the fake host has one at `path` (see [`program_at`]).
fn program_size(path: &str, reader: &str) -> Option<usize> {
    program_at(path, reader).map(|p| p.size)
}

/// What reading a program prints: the start of an x86-64 ELF executable, the rest left
/// out (a decoy has no binaries to give away).
const ELF_HEAD: &str = "\u{7f}ELF\u{2}\u{1}\u{1}\0\0\0\0\0\0\0\0\0\u{3}\0>\0\u{1}\0\0\0";

/// Whether grep's arguments give its patterns with `-e` (then every other word is a file).
fn had_e(args: &[&str]) -> bool {
    args.iter()
        .take_while(|a| **a != "--")
        .any(|a| a.len() > 1 && a.starts_with('-') && !a.starts_with("--") && a.contains('e'))
}

/// Files under `/proc` that are written when read, so that they change as the real ones do.
const PROC_DYNAMIC: &[&str] = &[
    "/proc/loadavg",
    "/proc/meminfo",
    "/proc/net/arp",
    "/proc/uptime",
];

/// Files at the top of `/proc` besides those with content.
const PROC_FILES: &[&str] = &[
    "buddyinfo",
    "cgroups",
    "cmdline",
    "consoles",
    "crypto",
    "devices",
    "diskstats",
    "dma",
    "execdomains",
    "fb",
    "filesystems",
    "interrupts",
    "iomem",
    "ioports",
    "kallsyms",
    "kcore",
    "key-users",
    "keys",
    "kmsg",
    "kpagecgroup",
    "kpagecount",
    "kpageflags",
    "locks",
    "mdstat",
    "misc",
    "modules",
    "mtrr",
    "pagetypeinfo",
    "partitions",
    "schedstat",
    "slabinfo",
    "softirqs",
    "stat",
    "swaps",
    "sysrq-trigger",
    "timer_list",
    "vmallocinfo",
    "vmstat",
    "zoneinfo",
];

/// Folders at the top of `/proc` that are not processes.
const PROC_DIRS: &[&str] = &[
    "acpi",
    "bus",
    "driver",
    "dynamic_debug",
    "fs",
    "irq",
    "pressure",
    "scsi",
    "sys",
    "sysvipc",
    "tty",
];

/// The services `ps aux` lists, started at boot: (user, pid, state, command).
const SERVICES: &[(&str, u32, &str, &str)] = &[
    ("root", 325, "S<s", "/usr/lib/systemd/systemd-journald"),
    ("root", 371, "Ss", "/usr/lib/systemd/systemd-udevd"),
    ("systemd+", 598, "Ss", "/usr/lib/systemd/systemd-networkd"),
    ("systemd+", 611, "Ss", "/usr/lib/systemd/systemd-resolved"),
    ("root", 702, "Ss", "/usr/sbin/cron -f -P"),
    (
        "message+",
        703,
        "Ss",
        "@dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only",
    ),
    ("root", 716, "Ssl", "/usr/lib/systemd/systemd-logind"),
    (
        "root",
        889,
        "Ss",
        "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    ),
    (
        "root",
        912,
        "Ss+",
        "/sbin/agetty -o -p -- \\u --noclear - linux",
    ),
];

/// The services of `distro`: Ubuntu alone resolves through systemd-resolved's stub (its
/// /etc/resolv.conf says so).
fn services(
    distro: &Distro,
) -> impl Iterator<Item = &'static (&'static str, u32, &'static str, &'static str)> {
    let ubuntu = distro.family == super::profile::Family::Ubuntu;
    SERVICES.iter().filter(move |s| ubuntu || s.1 != 611)
}

/// The kernel's threads of `distro`'s kernel: (pid, state, name).
fn kthreads(distro: &Distro) -> &'static [(u32, &'static str, &'static str)] {
    if distro.family == super::profile::Family::Ubuntu {
        super::distro::UBUNTU_KTHREADS
    } else {
        super::distro::DEBIAN_KTHREADS
    }
}

/// Every process the host runs whatever session looks: init, the kernel's threads, the
/// services.
fn system_pids(distro: &Distro) -> Vec<u32> {
    let mut pids = vec![1];
    pids.extend(kthreads(distro).iter().map(|k| k.0));
    pids.extend(services(distro).map(|s| s.1));
    pids
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How many `$(...)` may nest inside each other before the rest is left as typed.
const MAX_SUBSTITUTION_DEPTH: u8 = 4;

const CRONTAB_USAGE: &str =
    "usage:\tcrontab [-u user] [-n] file\n\tcrontab [-u user] [ -e | -l | -r ]\n";

/// The end of a `$(`: the index of its `)`, past nested ones and quoted text.
fn closing_paren(b: &[u8], from: usize) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None);
    let mut i = from;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c @ (b'\'' | b'"')) => quote = Some(c),
            (None, b'\\') => i += 1,
            (None, b'(') => depth += 1,
            (None, b')') if depth == 0 => return Some(i),
            (None, b')') => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `lscpu` (util-linux 2.38) on the same two-processor guest `/proc/cpuinfo` describes.
fn lscpu() -> String {
    let rows: &[(&str, &str)] = &[
        ("Architecture", "x86_64"),
        ("CPU op-mode(s)", "32-bit, 64-bit"),
        ("Address sizes", "40 bits physical, 48 bits virtual"),
        ("Byte Order", "Little Endian"),
        ("CPU(s)", "2"),
        ("On-line CPU(s) list", "0,1"),
        ("Vendor ID", "GenuineIntel"),
        ("Model name", "Intel Xeon Processor (Skylake, IBRS)"),
        ("CPU family", "6"),
        ("Model", "85"),
        ("Thread(s) per core", "1"),
        ("Core(s) per socket", "1"),
        ("Socket(s)", "2"),
        ("Stepping", "4"),
        ("BogoMIPS", "4190.15"),
        ("Flags", CPU_FLAGS),
        ("Hypervisor vendor", "KVM"),
        ("Virtualization type", "full"),
        ("L1d cache", "64 KiB (2 instances)"),
        ("L1i cache", "64 KiB (2 instances)"),
        ("L2 cache", "8 MiB (2 instances)"),
        ("L3 cache", "32 MiB (2 instances)"),
        ("NUMA node(s)", "1"),
        ("NUMA node0 CPU(s)", "0,1"),
        (
            "Vulnerability Gather data sampling",
            "Unknown: Dependent on hypervisor status",
        ),
        (
            "Vulnerability Itlb multihit",
            "KVM: Mitigation: VMX unsupported",
        ),
        ("Vulnerability L1tf", "Mitigation; PTE Inversion"),
        (
            "Vulnerability Mds",
            "Mitigation; Clear CPU buffers; SMT Host state unknown",
        ),
        ("Vulnerability Meltdown", "Mitigation; PTI"),
        (
            "Vulnerability Mmio stale data",
            "Mitigation; Clear CPU buffers; SMT Host state unknown",
        ),
        ("Vulnerability Retbleed", "Mitigation; IBRS"),
        ("Vulnerability Spec rstack overflow", "Not affected"),
        (
            "Vulnerability Spec store bypass",
            "Mitigation; Speculative Store Bypass disabled via prctl",
        ),
        (
            "Vulnerability Spectre v1",
            "Mitigation; usercopy/swapgs barriers and __user pointer sanitization",
        ),
        (
            "Vulnerability Spectre v2",
            "Mitigation; IBRS; IBPB conditional; STIBP disabled; RSB filling; PBRSB-eIBRS Not affected; BHI SW loop, KVM SW loop",
        ),
        ("Vulnerability Srbds", "Not affected"),
        (
            "Vulnerability Tsx async abort",
            "Mitigation; Clear CPU buffers; SMT Host state unknown",
        ),
    ];
    // Values start one column after the longest label and its colon.
    let width = rows.iter().map(|(l, _)| l.len() + 1).max().unwrap_or(0) + 1;
    let mut text = String::new();
    for (label, value) in rows {
        let _ = writeln!(text, "{:<width$}{value}", format!("{label}:"));
    }
    text
}

/// The fake host's processors: what `nproc` prints and `/proc/cpuinfo` lists.
const CPUS: usize = 2;

/// `/proc/cpuinfo` of a two-processor KVM guest on a Skylake host, as cloud providers run.
fn cpuinfo() -> String {
    let mut text = String::new();
    for n in 0..CPUS {
        let _ = write!(
            text,
            "processor\t: {n}\n\
             vendor_id\t: GenuineIntel\n\
             cpu family\t: 6\n\
             model\t\t: 85\n\
             model name\t: Intel Xeon Processor (Skylake, IBRS)\n\
             stepping\t: 4\n\
             microcode\t: 0x1\n\
             cpu MHz\t\t: 2095.076\n\
             cache size\t: 16384 KB\n\
             physical id\t: {n}\n\
             siblings\t: 1\n\
             core id\t\t: 0\n\
             cpu cores\t: 1\n\
             apicid\t\t: {n}\n\
             initial apicid\t: {n}\n\
             fpu\t\t: yes\n\
             fpu_exception\t: yes\n\
             cpuid level\t: 13\n\
             wp\t\t: yes\n\
             flags\t\t: {CPU_FLAGS}\n\
             bugs\t\t: cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit mmio_stale_data retbleed gds bhi\n\
             bogomips\t: 4190.15\n\
             clflush size\t: 64\n\
             cache_alignment\t: 64\n\
             address sizes\t: 40 bits physical, 48 bits virtual\n\
             power management:\n\n"
        );
    }
    text
}

const CPU_FLAGS: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault pti ssbd ibrs ibpb fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm avx512f avx512dq rdseed adx smap clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat pku ospke md_clear";

/// How many lines `head`/`tail` keep (`-n N`, `-nN`, `-N`; 10 by default), and the
/// arguments left once that option is taken out.
fn line_count<'a>(args: &[&'a str]) -> (usize, Vec<&'a str>) {
    let mut count = 10;
    let mut rest = Vec::new();
    let mut it = args.iter().copied();
    while let Some(a) = it.next() {
        if a == "-n" {
            count = it.next().and_then(|v| v.parse().ok()).unwrap_or(count);
        } else if let Some(v) = a.strip_prefix("-n").or_else(|| a.strip_prefix('-'))
            && let Ok(n) = v.parse()
        {
            count = n;
        } else {
            rest.push(a);
        }
    }
    (count, rest)
}

/// The fake host's memory, in KiB: a 4 GiB virtual machine's `MemTotal`.
const MEMORY_KIB: u64 = 4_013_572;

/// Load averages over 1, 5 and 15 minutes of a host that mostly idles: a little higher over
/// the last minute than over fifteen, and never the same twice.
fn load_averages(rng: &mut impl rand::Rng) -> [f64; 3] {
    let fifteen = rng.random_range(0.01..0.09);
    let five = fifteen + rng.random_range(0.0..0.08);
    let one = five + rng.random_range(-0.04..0.2_f64);
    [one.max(0.0), five, fifteen]
}

/// Memory in use, in KiB: about a fifth of the host's, moving a little from call to call.
fn used_memory_kib(rng: &mut impl rand::Rng) -> u64 {
    MEMORY_KIB / 5 + rng.random_range(0..24_000)
}

/// `uptime` as procps 4 prints it, with `users` logged in.
fn uptime(now: SystemTime, booted: SystemTime, users: u32, load: [f64; 3]) -> String {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (now_s, up) = (secs(now), secs(now).saturating_sub(secs(booted)));
    let (days, hours, minutes) = (up / 86_400, up / 3600 % 24, up / 60 % 60);
    let mut line = format!(
        " {:02}:{:02}:{:02} up ",
        now_s / 3600 % 24,
        now_s / 60 % 60,
        now_s % 60
    );
    if days > 0 {
        let _ = write!(line, "{days} {}, ", if days > 1 { "days" } else { "day" });
    }
    if hours > 0 {
        let _ = write!(line, "{hours:2}:{minutes:02}, ");
    } else {
        let _ = write!(line, "{minutes} min, ");
    }
    let _ = writeln!(
        line,
        " {users} {},  load average: {:.2}, {:.2}, {:.2}",
        // procps 4.0 writes "0 user" and "1 user", the plural from two on.
        if users > 1 { "users" } else { "user" },
        load[0],
        load[1],
        load[2]
    );
    line
}

/// The fake host's memory figures, in KiB, for `used` KiB in use: what `free` prints and
/// `/proc/meminfo` lists, adding up as the kernel's do.
struct Memory {
    shared: u64,
    /// Buffers, page cache and reclaimable slab: `free`'s buff/cache.
    cache: u64,
    buffers: u64,
    reclaimable: u64,
    free: u64,
    available: u64,
}

impl Memory {
    fn of(used: u64) -> Memory {
        let cache = MEMORY_KIB / 4 + used / 9;
        let free = MEMORY_KIB - used - cache;
        Memory {
            shared: 11_264,
            cache,
            buffers: cache / 40,
            reclaimable: cache / 12,
            free,
            available: free + cache - 11_264,
        }
    }
}

/// `/proc/meminfo` of the fake host with `used` KiB in use (a 6.x kernel's fields, no swap).
fn meminfo(used: u64) -> String {
    let m = Memory::of(used);
    let cached = m.cache - m.buffers - m.reclaimable;
    let anon = used * 2 / 5;
    let rows: &[(&str, u64)] = &[
        ("MemTotal", MEMORY_KIB),
        ("MemFree", m.free),
        ("MemAvailable", m.available),
        ("Buffers", m.buffers),
        ("Cached", cached),
        ("SwapCached", 0),
        ("Active", anon / 8 + cached / 3),
        ("Inactive", anon * 7 / 8 + cached * 2 / 3 + m.buffers),
        ("Active(anon)", anon / 8),
        ("Inactive(anon)", anon * 7 / 8),
        ("Active(file)", cached / 3),
        ("Inactive(file)", cached * 2 / 3 + m.buffers),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 212),
        ("Writeback", 0),
        ("AnonPages", anon),
        ("Mapped", used / 6),
        ("Shmem", m.shared),
        ("KReclaimable", m.reclaimable),
        ("Slab", m.reclaimable + 38_912),
        ("SReclaimable", m.reclaimable),
        ("SUnreclaim", 38_912),
        ("KernelStack", 2_496),
        ("PageTables", 4_120),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", MEMORY_KIB / 2),
        ("Committed_AS", used + used / 2),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 13_980),
        ("VmallocChunk", 0),
        ("Percpu", 1_184),
        ("HardwareCorrupted", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FileHugePages", 0),
        ("FilePmdMapped", 0),
    ];
    let mut text = String::new();
    for (label, kib) in rows {
        let _ = writeln!(text, "{:<16}{kib:>8} kB", format!("{label}:"));
    }
    for label in [
        "HugePages_Total",
        "HugePages_Free",
        "HugePages_Rsvd",
        "HugePages_Surp",
    ] {
        let _ = writeln!(text, "{:<16}{:>8}", format!("{label}:"), 0);
    }
    for (label, kib) in [
        ("Hugepagesize", 2048),
        ("Hugetlb", 0),
        ("DirectMap4k", 155_520),
        ("DirectMap2M", 4_038_656),
    ] {
        let _ = writeln!(text, "{:<16}{kib:>8} kB", format!("{label}:"));
    }
    text
}

/// `free` as procps 4 prints it (KiB by default, `-m` MiB, `-g` GiB), for a host using
/// `used` KiB, with no swap.
fn free(args: &[&str], used: u64) -> String {
    let flag = |c: char| args.iter().any(|a| a.starts_with('-') && a.contains(c));
    let human = flag('h');
    let shift = if flag('g') {
        20
    } else if flag('m') {
        10
    } else {
        0
    };
    let Memory {
        shared,
        cache,
        free,
        available,
        ..
    } = Memory::of(used);
    let row = |label: &str, values: &[u64]| {
        let mut line = format!("{label:<8}");
        for v in values {
            if human {
                let _ = write!(line, "{:>12}", human_size(*v));
            } else {
                let _ = write!(line, "{:>12}", v >> shift);
            }
        }
        line.push('\n');
        line
    };
    format!(
        "               total        used        free      shared  buff/cache   available\n{}{}",
        row("Mem:", &[MEMORY_KIB, used, free, shared, cache, available]),
        row("Swap:", &[0, 0, 0])
    )
}

/// A size in bytes as `ls -h` writes it: rounded up, with one decimal below 10 units.
fn ls_human(bytes: usize) -> String {
    if bytes < 1024 {
        return bytes.to_string();
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < 4 {
        value /= 1024.0;
        unit += 1;
    }
    let unit = ["", "K", "M", "G", "T"][unit];
    let tenths = (value * 10.0).ceil() / 10.0;
    if tenths < 10.0 {
        format!("{tenths:.1}{unit}")
    } else {
        format!("{}{unit}", value.ceil() as u64)
    }
}

/// `uptime -p` (procps 4): `up` and each non-zero part, largest first.
fn pretty_uptime(secs: u64) -> String {
    let parts = [
        (secs / (365 * 86_400), "year"),
        (secs / (7 * 86_400) % 52, "week"),
        (secs / 86_400 % 7, "day"),
        (secs / 3600 % 24, "hour"),
        (secs / 60 % 60, "minute"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if shown.is_empty() {
        "up 0 minutes".into()
    } else {
        format!("up {}", shown.join(", "))
    }
}

/// A size in KiB as `free -h` writes it: one decimal while that takes at most three
/// characters, else the whole number (truncated), in the largest unit under 1024.
fn human_size(kib: u64) -> String {
    if kib == 0 {
        return "0B".into();
    }
    let mut value = kib as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < 3 {
        value /= 1024.0;
        unit += 1;
    }
    let unit = ["Ki", "Mi", "Gi", "Ti"][unit];
    let tenths = format!("{value:.1}");
    if tenths.len() <= 3 {
        format!("{tenths}{unit}")
    } else {
        format!("{}{unit}", value as u64)
    }
}

/// A process's START column as procps writes it: the time of day for one started in the
/// last 24 hours, else month and day (`Dec09`), else the year.
fn ps_start(started: SystemTime, now: SystemTime) -> String {
    let ago = now.duration_since(started).map_or(0, |d| d.as_secs());
    let c = ctime(started); // "Tue Dec 10 09:12:01 2024"
    if ago < 86_400 {
        c[11..16].to_string()
    } else if ago < 365 * 86_400 {
        // ctime pads the day with a space, procps with a zero.
        format!("{}{}", &c[4..7], c[8..10].replace(' ', "0"))
    } else {
        c[20..].to_string()
    }
}

/// One of `sleep`'s intervals: a non-negative number with an optional unit (s, m, h, d).
fn sleep_interval(arg: &str) -> Option<Duration> {
    let (number, unit) = match arg.char_indices().last() {
        Some((i, c @ ('s' | 'm' | 'h' | 'd'))) => (&arg[..i], c),
        _ => (arg, 's'),
    };
    let n: f64 = number.parse().ok()?;
    if n.is_nan() || n < 0.0 {
        return None;
    }
    let scale = match unit {
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => 1.0,
    };
    // Anything past a day is a day here: the session never waits that long anyway.
    Some(Duration::from_secs_f64((n * scale).min(86400.0)))
}

/// A time as C's `ctime` writes it (`Tue Dec 10 09:12:01 2024`), in UTC: the format of
/// sshd's "Last login:" line.
pub fn ctime(t: SystemTime) -> String {
    date::strftime("%a %b %e %H:%M:%S %Y", t)
}

/// How a command is joined to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sep {
    Then,
    And,
    Or,
    Pipe,
}

/// Splits a line at `;`, `&&`, `||`, `|` and newlines outside quotes. A pipeline runs every
/// stage; only the last stage's output is shown (nothing here reads its input).
/// How bash's history keeps a command typed over several lines (`cmdhist`): one entry,
/// the lines joined by `; `, or by a blank after a word that asks for more (`do`, `|`…).
fn history_entry(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\n') {
        return text.into();
    }
    let mut entry = String::with_capacity(text.len());
    for line in text.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        if !entry.is_empty() {
            let last = entry.split_whitespace().next_back().unwrap_or_default();
            let open = ["do", "then", "else", "in", "{"].contains(&last)
                || ["|", "&&", "||", ";"].iter().any(|w| entry.ends_with(w));
            entry.push_str(if open { " " } else { "; " });
        }
        entry.push_str(line);
    }
    entry.into()
}

/// Most functions one session may define.
const MAX_FUNCTIONS: usize = 32;

/// Whether `text` closes every block and here-document it opens (a syntax error counts
/// as complete: it is reported at once).
fn complete(text: &str) -> bool {
    let (text, unclosed) = heredocs(&without_comments(text));
    unclosed.is_empty()
        && !matches!(
            flow::parse(&split_commands(&text)),
            Err(flow::ParseError::Incomplete)
        )
}

/// Takes the bodies of here-documents (`<<WORD`, `<<-WORD`, `<<'WORD'`) out of the lines
/// after their operators and puts each in place of its operator as a here-string of the
/// same text (double-quoted, so that `$NAME` expands, unless the word was quoted). Returns
/// the rewritten text and, for each body the text ends before its delimiter, the index of
/// its operator's line and the word wanted.
fn heredocs(text: &str) -> (String, Vec<(usize, String)>) {
    if !text.contains("<<") {
        return (text.to_string(), Vec::new());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let (mut done, mut unclosed) = (Vec::with_capacity(lines.len()), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        let at = i;
        let mut line = lines[i].to_string();
        i += 1;
        while let Some((range, delim, strip, quoted)) = heredoc_operator(&line) {
            let mut body = Vec::new();
            let mut closed = false;
            while i < lines.len() {
                let l = lines[i];
                i += 1;
                let l = if strip { l.trim_start_matches('\t') } else { l };
                if l == delim {
                    closed = true;
                    break;
                }
                body.push(l);
            }
            if !closed {
                unclosed.push((at, delim.clone()));
            }
            let body = body.join("\n");
            let replacement = if body.is_empty() {
                " </dev/null".to_string()
            } else if quoted {
                format!("<<<'{}'", body.replace('\'', "'\\''"))
            } else {
                format!("<<<\"{}\"", body.replace('"', "\\\""))
            };
            line.replace_range(range, &replacement);
        }
        done.push(line);
    }
    (done.join("\n"), unclosed)
}

/// The first here-document operator in `line` outside quotes and parentheses: its byte
/// range (word included), the word, whether tabs are stripped (`<<-`), whether the word was
/// quoted.
fn heredoc_operator(line: &str) -> Option<(std::ops::Range<usize>, String, bool, bool)> {
    let b = line.as_bytes();
    let (mut quote, mut depth) = (None, 0u32);
    let mut i = 0;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c @ (b'\'' | b'"')) => quote = Some(c),
            (None, b'\\') => i += 1,
            (None, b'(') => depth += 1,
            (None, b')') => depth = depth.saturating_sub(1),
            (None, b'<')
                if depth == 0
                    && b.get(i + 1) == Some(&b'<')
                    && b.get(i + 2) != Some(&b'<')
                    && (i == 0 || b[i - 1] != b'<') =>
            {
                let start = i;
                let mut j = i + 2;
                let strip = b.get(j) == Some(&b'-');
                if strip {
                    j += 1;
                }
                while b.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
                    j += 1;
                }
                let word_start = j;
                let mut quoted = false;
                let mut word = String::new();
                while let Some(&c) = b.get(j) {
                    match c {
                        b'\'' | b'"' => {
                            quoted = true;
                            let close = line[j + 1..].find(char::from(c))?;
                            word.push_str(&line[j + 1..j + 1 + close]);
                            j += close + 2;
                        }
                        b'\\' => {
                            quoted = true;
                            j += 1;
                        }
                        b' ' | b'\t' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => break,
                        _ => {
                            let ch = line[j..].chars().next()?;
                            word.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                if j == word_start || word.is_empty() {
                    return None;
                }
                return Some((start..j, word, strip, quoted));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `text` with each line's comment removed.
fn without_comments(text: &str) -> String {
    if !text.contains('#') {
        return text.to_string();
    }
    text.split('\n')
        .map(strip_comment)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` up to its comment: a `#` that begins a word, outside quotes (scripts, and bash's
/// `interactive_comments`, on by default).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let (mut single, mut double, mut i) = (false, false, 0);
    while i < b.len() {
        match b[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single
                && !double
                && (i == 0
                    || matches!(b[i - 1], b' ' | b'\t' | b';' | b'&' | b'|' | b'(' | b')')) =>
            {
                return &line[..i];
            }
            _ => {}
        }
        i += 1;
    }
    line
}

fn split_commands(line: &str) -> Vec<(&str, Sep, bool)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut sep) = (0, 0, Sep::Then);
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {
                if c == b'\\' && quote == Some(b'"') {
                    i += 1;
                }
            }
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'\\' => i += 1,
                // A command substitution is one word, whatever separators it holds.
                b'$' if b.get(i + 1) == Some(&b'(') => {
                    if let Some(end) = closing_paren(b, i + 2) {
                        i = end;
                    }
                }
                // `;;` ends an arm of `case`: kept as a command of its own for the parser.
                b';' if b.get(i + 1) == Some(&b';') => {
                    out.push((&line[start..i], sep, false));
                    out.push((";;", Sep::Then, false));
                    sep = Sep::Then;
                    i += 1;
                    start = i + 1;
                }
                b';' | b'\n' => {
                    out.push((&line[start..i], sep, false));
                    sep = Sep::Then;
                    start = i + 1;
                }
                b'&' | b'|' if b.get(i + 1) == Some(&c) => {
                    out.push((&line[start..i], sep, false));
                    sep = if c == b'&' { Sep::And } else { Sep::Or };
                    i += 1;
                    start = i + 1;
                }
                // `&>`, `>&` and `<&` are redirections; any other `&` sends what precedes it
                // to the background.
                b'&' if b.get(i + 1) != Some(&b'>')
                    && !matches!(b.get(i.wrapping_sub(1)), Some(b'>' | b'<')) =>
                {
                    out.push((&line[start..i], sep, true));
                    sep = Sep::Then;
                    start = i + 1;
                }
                b'|' => {
                    out.push((&line[start..i], sep, false));
                    sep = Sep::Pipe;
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    if start < b.len() {
        out.push((&line[start.min(b.len())..], sep, false));
    }
    out
}

/// Splits a command into words (quotes, backslashes, `~` and a few variables) and the
/// redirections among them.
fn words(cmd: &str, sh: &Shell) -> (Vec<String>, Vec<Redirect>) {
    /// A redirection operator read, waiting for its target word.
    enum Op {
        Out(u8, bool),
        Dup(u8),
        In,
        Here,
        /// A here-document's delimiter: its lines never reach a one-line shell, and the
        /// word is no argument.
        Delimiter,
    }
    let mut out = Vec::new();
    let mut redirects = Vec::new();
    let mut pending: Option<Op> = None;
    let mut finish =
        |word: String, pending: &mut Option<Op>, out: &mut Vec<String>| match pending.take() {
            None => out.push(word),
            Some(Op::Out(fd, append)) => redirects.push(Redirect::Out {
                fd,
                append,
                target: word,
            }),
            Some(Op::Dup(fd)) => redirects.push(Redirect::Dup { fd, to: word }),
            Some(Op::In) => redirects.push(Redirect::In(word)),
            Some(Op::Here) => redirects.push(Redirect::Here(word)),
            Some(Op::Delimiter) => {}
        };
    let mut cur = String::new();
    let mut in_word = false;
    // Whether the word so far holds a quote: then it stays a word even when empty (`""`),
    // where an unquoted expansion that comes out empty leaves no word, as in bash.
    let mut quoted = false;
    // Whether the word so far was typed bare (`2>` names a descriptor, `"2">` does not).
    let mut bare = true;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => {
                if in_word {
                    if quoted || !cur.is_empty() || pending.is_some() {
                        finish(std::mem::take(&mut cur), &mut pending, &mut out);
                    }
                    (in_word, quoted, bare) = (false, false, true);
                }
            }
            '\'' => {
                in_word = true;
                quoted = true;
                bare = false;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                bare = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        '$' => cur.push_str(&variable(&mut chars, sh)),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                quoted = true;
                bare = false;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            // Unquoted, an expansion is split into words at blanks (bash's default IFS).
            '$' => {
                in_word = true;
                bare = false;
                let value = variable(&mut chars, sh);
                let blank = |c: char| matches!(c, ' ' | '\t' | '\n');
                if value.starts_with(blank) && (quoted || !cur.is_empty()) {
                    finish(std::mem::take(&mut cur), &mut pending, &mut out);
                    quoted = false;
                }
                for (k, field) in value.split(blank).filter(|f| !f.is_empty()).enumerate() {
                    if k > 0 {
                        finish(std::mem::take(&mut cur), &mut pending, &mut out);
                        quoted = false;
                    }
                    cur.push_str(field);
                }
                if value.ends_with(blank) && !cur.is_empty() {
                    finish(std::mem::take(&mut cur), &mut pending, &mut out);
                    (in_word, quoted, bare) = (false, false, true);
                }
            }
            '>' | '<' | '&' => {
                // `2>`: the digits before the operator name the descriptor.
                let fd = (in_word && bare && c == '>' && cur.len() == 1)
                    .then(|| cur.parse::<u8>().ok())
                    .flatten();
                if fd.is_some() {
                    cur.clear();
                } else if in_word && (quoted || !cur.is_empty() || pending.is_some()) {
                    finish(std::mem::take(&mut cur), &mut pending, &mut out);
                }
                in_word = false;
                quoted = false;
                bare = true;
                let op = match c {
                    '&' if chars.peek() == Some(&'>') => {
                        chars.next();
                        let append = chars.next_if_eq(&'>').is_some();
                        Some(Op::Out(0, append))
                    }
                    // A background marker: the command runs here and now.
                    '&' => None,
                    '>' => {
                        let fd = fd.unwrap_or(1);
                        if chars.next_if_eq(&'>').is_some() {
                            Some(Op::Out(fd, true))
                        } else if chars.next_if_eq(&'&').is_some() {
                            Some(Op::Dup(fd))
                        } else {
                            chars.next_if_eq(&'|');
                            Some(Op::Out(fd, false))
                        }
                    }
                    _ => match chars.next_if_eq(&'<') {
                        Some(_) if chars.next_if_eq(&'<').is_some() => Some(Op::Here),
                        Some(_) => {
                            chars.next_if_eq(&'-');
                            Some(Op::Delimiter)
                        }
                        None => Some(Op::In),
                    },
                };
                if op.is_some() {
                    pending = op;
                }
            }
            // Tilde expansion: a bare `~` starting a word is the home folder.
            '~' if !in_word && matches!(chars.peek(), None | Some('/' | ' ' | '\t')) => {
                in_word = true;
                bare = false;
                cur.push_str(&sh.user.home());
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word && (quoted || !cur.is_empty() || pending.is_some()) {
        finish(cur, &mut pending, &mut out);
    } else if let Some(op) = pending {
        // An operator without a target: bash's syntax error, here an empty target.
        finish(String::new(), &mut Some(op), &mut out);
    }
    (out, redirects)
}

fn variable(chars: &mut std::iter::Peekable<std::str::Chars>, sh: &Shell) -> String {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    let mut name = String::new();
    if chars.peek() == Some(&'?') {
        chars.next();
        return sh.last_status.to_string();
    }
    if !braced && chars.peek() == Some(&'$') {
        chars.next();
        return sh.var("$").unwrap_or_default();
    }
    if !braced && chars.peek() == Some(&'!') {
        chars.next();
        return sh.last_job.map(|p| p.to_string()).unwrap_or_default();
    }
    if !braced && chars.peek() == Some(&'#') {
        chars.next();
        return sh.params.len().to_string();
    }
    if !braced && matches!(chars.peek(), Some('@' | '*')) {
        chars.next();
        return sh.params.join(" ");
    }
    // `$1`…`$9`: one digit; `${10}` takes them all.
    if !braced
        && chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() && *c != '0')
    {
        let n = chars.next().and_then(|c| c.to_digit(10)).unwrap_or(0) as usize;
        return sh.params.get(n - 1).cloned().unwrap_or_default();
    }
    let length = braced && chars.peek() == Some(&'#');
    if length {
        chars.next();
    }
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if braced {
        // `${NAME:-word}` and its kin: what follows the name, up to the brace.
        let mut op = String::new();
        for c in chars.by_ref() {
            if c == '}' {
                break;
            }
            op.push(c);
        }
        let value = sh.var(&name);
        if length {
            return value.map_or(0, |v| v.chars().count()).to_string();
        }
        let colon = op.starts_with(':');
        let rest = op.strip_prefix(':').unwrap_or(&op);
        // Unset, or (with the colon) empty.
        let missing = value.as_deref().is_none_or(|v| colon && v.is_empty());
        if let Some(word) = rest.strip_prefix(['-', '=']) {
            // `:=` would also assign; variables are set only by commands here.
            return if missing {
                word.to_string()
            } else {
                value.unwrap_or_default()
            };
        }
        if let Some(word) = rest.strip_prefix('+') {
            return if missing {
                String::new()
            } else {
                word.to_string()
            };
        }
    }
    match name.as_str() {
        "" if !braced => "$".into(),
        "0" if sh.interactive && sh.depth == 0 => "-bash".into(),
        "0" => sh.zero().into(),
        n if n.bytes().all(|b| b.is_ascii_digit()) => n
            .parse::<usize>()
            .ok()
            .and_then(|i| sh.params.get(i.checked_sub(1)?))
            .cloned()
            .unwrap_or_default(),
        name => sh.var(name).unwrap_or_default(),
    }
}

fn expand_home(path: &str, user: &User) -> String {
    match path.strip_prefix('~') {
        Some("") => user.home(),
        Some(rest) if rest.starts_with('/') => format!("{}{rest}", user.home()),
        _ => path.to_string(),
    }
}

/// Resolves `path` against `cwd`, folding `.` and `..`; the result is absolute and never
/// leaves `/`. These are paths of the fake host only: nothing here touches the disk.
pub fn normalize(cwd: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Names in columns as `ls` lays them out on a terminal `width` wide: (text as written,
/// width on screen) pairs, down the columns first. As coreutils does, each column count is
/// tried from the most that could fit down, with as many rows as that count needs, and the
/// first whose line (every column but the last followed by two spaces, at least three
/// wide) is shorter than the terminal is taken.
fn columns_of(items: &[(String, usize)], width: usize, tabs: bool) -> String {
    if items.is_empty() {
        return String::new();
    }
    let n = items.len();
    let most = n.min(width / 3).max(1);
    let (rows, widths) = (1..=most)
        .rev()
        .find_map(|cols| {
            let rows = n.div_ceil(cols);
            let mut widths = vec![0; n.div_ceil(rows)];
            for (i, (_, w)) in items.iter().enumerate() {
                widths[i / rows] = widths[i / rows].max(*w);
            }
            let line: usize = widths
                .iter()
                .enumerate()
                .map(|(c, w)| (w + if c + 1 == cols { 0 } else { 2 }).max(3))
                .sum();
            (line < width || cols == 1).then_some((rows, widths))
        })
        .unwrap_or_else(|| unreachable!("one column always fits"));
    let mut out = String::new();
    for r in 0..rows {
        let mut pos = 0;
        for (c, w) in widths.iter().enumerate() {
            let Some((text, shown)) = items.get(c * rows + r) else {
                break;
            };
            out.push_str(text);
            if items.get((c + 1) * rows + r).is_none() {
                break;
            }
            // To the next column: with tabs of 8 where they reach, as coreutils pads when
            // it does not colour (colours and tabs do not mix), else with spaces.
            let (mut from, to) = (pos + shown, pos + (w + 2).max(3));
            while from < to {
                if tabs && to / 8 > (from + 1) / 8 {
                    out.push('\t');
                    from += 8 - from % 8;
                } else {
                    out.push(' ');
                    from += 1;
                }
            }
            pos = to;
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::ssh::profile::Profile;

    pub(super) fn host(p: Profile) -> Arc<Host> {
        Arc::new(Host::new(
            "build-07",
            &p.data().distro,
            vec![User {
                name: "deploy".into(),
                uid: 1000,
            }],
            &[("/home/deploy/notes.txt".into(), "db: 10.0.4.20\n".into())],
        ))
    }

    fn run(h: &Arc<Host>, interactive: bool, line: &str) -> Output {
        Shell::new(h.clone(), h.users[0].clone(), interactive).run(line)
    }

    #[test]
    fn sleep_asks_for_the_sum_of_its_intervals_and_for_nothing_when_one_is_bad() {
        let h = host(Profile::Openssh92Debian);
        let o = run(&h, false, "sleep 1 2m 0.5s; sleep 1h 1d");
        assert_eq!(
            o.slept,
            Duration::from_secs_f64(1.0 + 120.0 + 0.5 + 3600.0 + 86400.0)
        );
        assert_eq!(o.status, 0);
        let o = run(&h, false, "sleep 1 x");
        assert_eq!(o.slept, Duration::ZERO);
        assert_eq!(o.status, 1);
        assert!(
            o.stderr
                .starts_with("sleep: invalid time interval \u{2018}x\u{2019}\n")
        );
        for bad in ["-1", "1x", "s", "nan"] {
            assert_eq!(
                run(&h, false, &format!("sleep {bad}")).status,
                1,
                "sleep {bad}"
            );
        }
        // A week is held to a day: the session never waits that long anyway.
        assert_eq!(run(&h, false, "sleep 7d").slept, Duration::from_secs(86400));
    }

    #[test]
    fn the_host_answers_consistently() {
        let h = host(Profile::Openssh96Ubuntu);
        assert_eq!(run(&h, true, "whoami").stdout, "deploy\n");
        assert_eq!(run(&h, true, "hostname").stdout, "build-07\n");
        assert_eq!(
            run(&h, true, "id").stdout,
            "uid=1000(deploy) gid=1000(deploy) groups=1000(deploy)\n"
        );
        let u = run(&h, true, "uname -a").stdout;
        assert!(
            u.starts_with("Linux build-07 6.8.0-51-generic #52-Ubuntu"),
            "{u}"
        );
        assert_eq!(run(&h, true, "uname -r").stdout, "6.8.0-51-generic\n");
        assert_eq!(run(&h, true, "uname").stdout, "Linux\n");
        assert_eq!(run(&h, true, "uname -sn").stdout, "Linux build-07\n");
        assert!(
            run(&h, false, "cat /etc/os-release")
                .stdout
                .contains("VERSION_CODENAME=noble")
        );
        let passwd = run(&h, false, "cat /etc/passwd").stdout;
        assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/bash\n"));
        assert!(passwd.ends_with("deploy:x:1000:1000:deploy:/home/deploy:/bin/bash\n"));
        assert_eq!(run(&h, true, "cat notes.txt").stdout, "db: 10.0.4.20\n");
        assert_eq!(run(&h, true, "cat ~/notes.txt").stdout, "db: 10.0.4.20\n");
        assert_eq!(run(&h, false, "ls").stdout, "notes.txt\n");
        let d = host(Profile::Openssh92Debian);
        assert!(
            run(&d, true, "uname -a")
                .stdout
                .contains("Debian 6.1.119-1")
        );
        assert_eq!(run(&d, false, "cat /etc/debian_version").stdout, "12.8\n");
    }

    /// The fake host's files and folders written to a temporary folder, its programs linked
    /// to the real ones of this machine where it has them, so that the real bash can run the
    /// same lines over the same tree.
    fn on_disk(h: &Host) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in h.dirs.iter().filter(|d| *d != "/bin") {
            std::fs::create_dir_all(dir.path().join(d.trim_start_matches('/'))).unwrap();
        }
        // Both distributions keep their programs in /usr, /bin links there.
        std::os::unix::fs::symlink("usr/bin", dir.path().join("bin")).unwrap();
        for (path, content) in &h.files {
            std::fs::write(dir.path().join(path.trim_start_matches('/')), content).unwrap();
        }
        for Program { name, .. } in PROGRAMS {
            let real = std::path::Path::new("/usr/bin").join(name);
            if real.exists() {
                std::os::unix::fs::symlink(real, dir.path().join("usr/bin").join(name)).unwrap();
            }
        }
        dir
    }

    /// The fake host laid out on disk as `ls -l` would list it: every file of its size,
    /// mode and time, links where it has links, folders with their modes and times.
    fn on_disk_as_listed(h: &Host) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let local = |p: &str| dir.path().join(p.trim_start_matches('/'));
        let mut paths: Vec<String> = h.dirs.iter().cloned().collect();
        paths.extend(h.files.keys().cloned());
        paths.extend(PROGRAMS.iter().map(|p| format!("/usr/bin/{}", p.name)));
        paths.extend(h.distro.root_dirs.iter().map(|d| format!("/{d}")));
        paths.sort();
        paths.dedup();
        for p in &paths {
            let st = h.stat(p).unwrap();
            match st.kind {
                'd' if p != "/" => std::fs::create_dir_all(local(p)).unwrap(),
                'd' => {}
                'l' => std::os::unix::fs::symlink(st.target.unwrap(), local(p)).unwrap(),
                _ => std::fs::write(local(p), vec![b'x'; st.size as usize]).unwrap(),
            }
        }
        // Children first, so that creating an entry does not move its folder's time.
        for p in paths.iter().rev() {
            let st = h.stat(p).unwrap();
            if st.kind != 'l' {
                let bits = st.mode.bytes().fold(0u32, |m, b| {
                    (m << 1) | u32::from(!matches!(b, b'-' | b'S' | b'T'))
                });
                let m = st.mode.as_bytes();
                let special = [(8, b't', 0o1000), (5, b's', 0o2000), (2, b's', 0o4000)]
                    .iter()
                    .filter(|(at, c, _)| m[*at] == *c)
                    .fold(0, |bits, (_, _, bit)| bits | bit);
                std::fs::set_permissions(
                    local(p),
                    std::os::unix::fs::PermissionsExt::from_mode(bits | special),
                )
                .unwrap();
            }
            let touched = std::process::Command::new("touch")
                .args(["-h", "-d", &format!("@{}", st.mtime)])
                .arg(local(p))
                .status()
                .unwrap();
            assert!(touched.success());
        }
        dir
    }

    #[test]
    fn long_listings_read_as_the_real_ls_reads_the_same_tree() {
        // Each listing is made twice: by the fake shell, and by the real ls over the fake
        // host laid out on disk with the same sizes, modes, links and times (owner and group
        // left out with -gG: the files on disk belong to whoever runs the test).
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk_as_listed(&h);
        for line in [
            "ls -lgG etc",
            "ls -lgG usr/bin",
            "ls -lgGh usr/bin",
            "ls -lgGa home/deploy",
            "ls -ldgG home/deploy root tmp",
            "ls -lgG bin etc/os-release",
            "ls -lgG bin/ | head -4",
            "ls -gG usr/bin/ls usr/bin/crontab",
            "ls -og etc/passwd",
            "ls -ldgG proc/cpuinfo",
        ] {
            assert_as_real_bash(&h, dir.path(), line, true);
        }
        // The root, but for the kernel's file systems and lost+found, whose sizes a folder
        // on disk cannot have (and which therefore change the columns' widths).
        let fields = |text: &str| -> Vec<Vec<String>> {
            text.lines()
                .skip(1)
                .filter(|l| {
                    !["dev", "proc", "run", "sys", "lost+found"]
                        .iter()
                        .any(|n| l.ends_with(&format!(" {n}")) || l.ends_with(" .."))
                })
                .map(|l| l.split_whitespace().map(str::to_string).collect())
                .collect()
        };
        let fake = run(&h, false, "cd /; ls -lgGa /").stdout;
        let (real, _, _) = real_bash(dir.path(), "ls -lgGa .");
        assert_eq!(fields(&fake), fields(&real));

        // Times: hours and minutes within six months, the year before that and in the future.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let half_year = 31_556_952 / 2;
        for t in [
            now - 60,
            now - 86_400 * 40,
            now - half_year + 3_600,
            now - half_year - 3_600,
            now - 86_400 * 400,
            now + 86_400,
            1_663_687_647,
        ] {
            let f = dir.path().join(format!("t{t}"));
            std::fs::write(&f, "").unwrap();
            let touched = std::process::Command::new("touch")
                .args(["-d", &format!("@{t}")])
                .arg(&f)
                .status()
                .unwrap();
            assert!(touched.success());
            let (real, _, _) = real_bash(dir.path(), &format!("ls -lgG t{t}"));
            let shown: Vec<&str> = real.split_whitespace().collect();
            let want = &real[real.find(shown[3]).unwrap()..real.find(&format!(" t{t}")).unwrap()];
            assert_eq!(stat::ls_time(t, now), want, "{t}");
        }
    }

    #[test]
    fn listings_on_a_terminal_are_coloured_as_the_bashrc_asks() {
        // An interactive shell of a Debian user: `ls` is `ls --color=auto` (the skeleton
        // .bashrc's alias) and its output goes to the terminal. The real ls is given the
        // same colours (`dircolors -b`) and the terminal's width, over the same tree.
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk_as_listed(&h);
        let real_ls = |args: &str| {
            real_bash(
                dir.path(),
                &format!("eval \"$(dircolors -b)\"; ls --color=always -C -w 80 {args}"),
            )
            .0
        };
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), true);
        for (fake, real) in [
            ("cd /etc; ls", "etc"),
            ("cd /usr/bin; ls", "usr/bin"),
            ("cd /; ls -lgG etc", "-lgG etc"),
            ("cd /; ls -lgG usr/bin", "-lgG usr/bin"),
            ("cd /; ls -F usr/bin", "-F usr/bin"),
            (
                "cd /; ls -lgGF bin etc/os-release",
                "-lgGF bin etc/os-release",
            ),
            ("cd /; ls -ldgG tmp root", "-ldgG tmp root"),
            ("cd /; ls -AgG home/deploy", "-AgG home/deploy"),
        ] {
            assert_eq!(sh.run(fake).stdout, real_ls(real), "{fake}");
        }
        let entries = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| {
                    ![
                        "dev",
                        "proc",
                        "run",
                        "sys",
                        "lost+found",
                        "initrd",
                        "vmlinuz",
                        // `..` is the temporary folder's parent on disk.
                        "..\x1b",
                    ]
                    .iter()
                    .any(|n| l.contains(n))
                })
                .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
                .collect()
        };
        assert_eq!(
            entries(&sh.run("cd /; ls -lgGa /").stdout),
            entries(&real_ls("-lgGa ."))
        );
        // Not into a pipe, nor for root, whose .bashrc sets no alias; `--color` asks anyway.
        assert_eq!(sh.run("ls /usr/bin | head -1").stdout, "[\n");
        let root = User {
            name: "root".into(),
            uid: 0,
        };
        let mut rsh = Shell::new(h.clone(), root, true);
        assert!(!rsh.run("ls /").stdout.contains('\x1b'));
        assert!(
            rsh.run("ls --color /")
                .stdout
                .contains("\x1b[30;42mtmp\x1b[0m")
        );
        // Ubuntu's .bashrc also sets ll, la and l, for root too.
        let u = host(Profile::Openssh96Ubuntu);
        let mut ush = Shell::new(
            u.clone(),
            User {
                name: "root".into(),
                uid: 0,
            },
            true,
        );
        assert!(ush.run("ll /").stdout.contains(" \x1b[30;42mtmp\x1b[0m/\n"));
        assert_eq!(ush.run("cd /tmp; la").stdout, "");
        // Ubuntu's .bashrc colours grep too; Debian's leaves that alias commented out.
        assert!(
            ush.run("grep ^root /etc/passwd")
                .stdout
                .starts_with("\x1b[01;31m\x1b[Kroot\x1b[m\x1b[K:x:0:0:")
        );
        assert!(
            ush.run("grep root /etc/passwd | head -1")
                .stdout
                .starts_with("root:")
        );
        assert!(sh.run("grep ^root /etc/passwd").stdout.starts_with("root:"));
    }

    /// An exec request's shell of root on `h`.
    fn root_shell(h: &Arc<Host>) -> Shell {
        let root = User {
            name: "root".into(),
            uid: 0,
        };
        Shell::new(h.clone(), root, false)
    }

    /// Runs `line` in the session `sh` (whose writes stay for the lines after) from `/`, and
    /// in the real bash from `dir` in `locale`, as a `bash -c` of its own (errors name line
    /// 1), and asserts both print the same and end with the same status.
    fn assert_session_as_real_bash(
        sh: &mut Shell,
        dir: &std::path::Path,
        line: &str,
        locale: &str,
    ) {
        sh.run("cd /");
        sh.line = 0;
        let fake = sh.run(line);
        let (stdout, stderr, status) = real_bash_in(dir, line, locale);
        assert_eq!(
            (fake.stdout.as_str(), fake.stderr.as_str(), fake.status),
            (stdout.as_str(), stderr.as_str(), status),
            "{line}"
        );
    }

    /// A root session of the Debian profile's host and the host laid out on disk, with
    /// each of `lines` compared as [`assert_session_as_real_bash`] compares it (C.UTF-8):
    /// the session, the host and the folder, for checks after them.
    fn assert_root_session_as_real_bash(lines: &[&str]) -> (Shell, Arc<Host>, tempfile::TempDir) {
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk(&h);
        let mut sh = root_shell(&h);
        for line in lines {
            assert_session_as_real_bash(&mut sh, dir.path(), line, "C.UTF-8");
        }
        (sh, h, dir)
    }

    /// Runs `line` in the real bash from `dir`: (stdout, stderr, status).
    fn real_bash(dir: &std::path::Path, line: &str) -> (String, String, u32) {
        real_bash_in(dir, line, "C")
    }

    /// [`real_bash`] in `locale`.
    fn real_bash_in(dir: &std::path::Path, line: &str, locale: &str) -> (String, String, u32) {
        let o = std::process::Command::new("bash")
            .args(["-c", line])
            .env("LC_ALL", locale)
            .current_dir(dir)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status.code().unwrap() as u32,
        )
    }

    /// Runs `line` in the fake shell from `/` and in the real bash from `dir`, the fake host
    /// laid out on disk, and asserts they print the same (stderr too when `with_stderr`) and
    /// end with the same status.
    fn assert_as_real_bash(h: &Arc<Host>, dir: &std::path::Path, line: &str, with_stderr: bool) {
        let fake = run(h, false, &format!("cd /; {line}"));
        let (stdout, stderr, status) = real_bash(dir, line);
        let stderrs = if with_stderr {
            (fake.stderr.as_str(), stderr.as_str())
        } else {
            ("", "")
        };
        assert_eq!(
            (fake.stdout.as_str(), stderrs.0, fake.status),
            (stdout.as_str(), stderrs.1, status),
            "{line}"
        );
    }

    #[test]
    fn commands_named_by_path_run_or_fail_as_bash_runs_them() {
        // Bots try `/bin/busybox TAG` and read the error: a shell that answers "command not
        // found" for a path is no bash. Each line is run by the fake shell from `/` and by
        // the real bash from the fake host laid out on disk, with relative paths so that both
        // name the same files.
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk(&h);
        for line in [
            "bin/busybox ECCHI",
            "usr/bin/busybox; echo $?",
            "etc/passwd",
            "etc/passwd/",
            "etc",
            "etc/",
            "usr/bin/ls/",
            "./nope",
            "usr/bin/cat etc/hostname",
            "usr/bin/../bin/echo hi",
            "usr/bin/cd /etc",
            "usr/bin/uname -s && ./usr/bin/echo ok",
            "home/deploy/notes.txt || echo $?",
            "echo $(etc/hostname) done",
        ] {
            assert_as_real_bash(&h, dir.path(), line, true);
        }
        // An interactive login shell words it as `-bash`, and absolute paths work alike.
        let o = run(&h, true, "/bin/busybox ECCHI");
        assert_eq!(
            (o.stderr.as_str(), o.status),
            ("-bash: /bin/busybox: No such file or directory\n", 127)
        );
        assert_eq!(run(&h, true, "/bin/hostname").stdout, "build-07\n");
        assert_eq!(run(&h, false, "~/notes.txt").status, 126);
    }

    #[test]
    fn writes_land_in_the_sessions_copy_as_the_real_shell_and_coreutils_make_them() {
        // Each line runs in one fake shell (whose writes stay for the lines after it) and in
        // the real bash over the fake host laid out on disk, from the same relative paths,
        // as root: output, errors and status must agree. Bots' first moves are these
        // (`mkdir .ssh && echo KEY >> .ssh/authorized_keys`, a dropper in /tmp).
        let (mut sh, h, dir) = assert_root_session_as_real_bash(&[
            "echo hello > tmp/a; cat tmp/a",
            "echo one > tmp/b; echo two >> tmp/b; cat tmp/b; wc -l tmp/b",
            "echo three>>tmp/b; cat tmp/b",
            "cat nope 2>/dev/null; echo $?",
            "cat nope 2>&1 | wc -l",
            "ls nope > tmp/out 2>&1; cat tmp/out",
            "ls nope 2>&1 > tmp/out2; cat tmp/out2",
            "echo to-stderr 1>&2",
            "echo both &> tmp/both; cat tmp/both",
            "cat tmp/a nope >& tmp/both; cat tmp/both",
            "echo x > /dev/null; echo y 2> /dev/null",
            "> tmp/empty; wc -c tmp/empty",
            "cat < etc/hostname",
            "wc -l < etc/passwd",
            "grep -c root <<< 'root here'",
            "cat < nope; echo $?",
            "echo a > etc; echo $?",
            "echo a > nodir/f",
            "echo '2>not-a-redirect' \"2\">tmp/q; cat tmp/q",
            "mkdir tmp/d && ls tmp",
            "mkdir tmp/d",
            "mkdir tmp/x/y",
            "mkdir -p tmp/x/y && ls tmp/x",
            "mkdir -pv tmp/p/q",
            "mkdir -p tmp/d && echo ok",
            "mkdir etc/hostname",
            "touch tmp/t && ls tmp && rm tmp/t && ls tmp",
            "touch nodir/t",
            "rm tmp",
            "rm -d tmp/x",
            "rm -rf tmp/x; ls tmp",
            "rm -rv tmp/p",
            "rm nope; rm -f nope; echo $?",
            "rm -r /",
            "rm; mkdir; touch; chmod; chmod 700",
            "chmod 700 nope; chown root nope; chgrp root nope",
            "chmod 644 tmp/a && chown root tmp/a && echo ok",
            "chattr -ia nope",
            "cd tmp && mkdir .ssh && echo ssh-ed25519 KEY >> .ssh/authorized_keys && chmod -R go= .ssh && cat .ssh/authorized_keys",
            "ls -a tmp tmp/.ssh",
            "echo a # b; echo c; echo $0",
            "echo a#b '#c' \"#d\" \\#e $#; # all of it",
            // A dropper: written, refused until chmod, then run by the shell it names.
            "echo 'echo hi; nope' > tmp/s.sh; tmp/s.sh; echo $?",
            "chmod +x tmp/s.sh && tmp/s.sh; echo $?",
            "ls -l tmp/s.sh | awk '{print $1}'; ./tmp/s.sh 2>&1 | wc -l",
            "echo '#!/bin/sh' > tmp/d.sh; echo nope >> tmp/d.sh; chmod 755 tmp/d.sh; ./tmp/d.sh",
            "bash tmp/s.sh; sh tmp/s.sh; cd tmp && ./s.sh",
            "echo '#!/usr/bin/nonexistent' > tmp/p; chmod u+x tmp/p; tmp/p; echo $?",
            "echo '#!/usr/bin/env nonexistent' > tmp/q; chmod a+x tmp/q; tmp/q; echo $?",
            "echo -ne '\\x7fELF\\x02\\x01\\x01\\x00' > tmp/e; chmod 777 tmp/e; tmp/e; echo $?",
            "echo -e 'a\\tb\\nc\\x41\\0101\\cgone'; echo -n -e x; echo -E 'a\\tb'; echo -en",
            "chmod zz tmp/s.sh; echo $?; chmod 0644 tmp/s.sh; tmp/s.sh; echo $?",
            "chmod go-r,u=rwx tmp/s.sh; ls -l tmp/s.sh | awk '{print $1}'",
            "chmod =r tmp/s.sh; ls -l tmp/s.sh | awk '{print $1}'; chmod 600 etc/hostname; ls -l etc/hostname | awk '{print $1}'",
            "mkdir -p tmp/r/s; touch tmp/r/s/f; chmod -R a+X,go-rx tmp/r; ls -ld tmp/r tmp/r/s tmp/r/s/f | awk '{print $1}'",
            // cp and mv, and a copied program that still runs.
            "cp; cp tmp/a; mv; mv tmp/a",
            "cp tmp/a tmp/a2 && cat tmp/a2; cp nope tmp/z; cp tmp/a tmp/a; cp -v tmp/a tmp/a5",
            "cp tmp/a tmp/b etc/hostname; cp tmp/a tmp/b tmp/nodir; cp tmp tmp/zz",
            "cp -r tmp/r tmp/r2 && ls tmp/r2 tmp/r2/s; cp -r tmp/r tmp/a; cp tmp/a tmp/r; ls tmp/r",
            // GNU cp makes `in` before it refuses: both remove it.
            "cp -r tmp/r tmp/r/in; rm -rf tmp/r/in; cp tmp/a nodir/x; cp tmp/a etc/hostname/x; mv tmp/a etc/hostname/x",
            "cp bin/echo tmp/x; ls -l tmp/x | awk '{print $1, $5}'; tmp/x hello; > tmp/x; tmp/x; echo $?",
            "mv tmp/a2 tmp/a3 && cat tmp/a3 && ls tmp/a2",
            "mv tmp/a3 tmp/r/ && ls tmp/r; mv -v tmp/r/a3 tmp/a4; mv nope x",
            "mv tmp/r2 tmp/r2/sub; mv tmp/a4 tmp/r2 && ls tmp/r2; mv tmp/r2 tmp/a",
            "chmod 700 tmp/a5; mv tmp/a5 tmp/a6; ls -l tmp/a6 | awk '{print $1}'; mv tmp/r2 tmp/r3; ls tmp/r3/s",
        ]);
        // A here-document's delimiter is no file to read.
        // Here-documents without a body end at the end of the input, with bash's warning.
        assert_session_as_real_bash(&mut sh, dir.path(), "cat <<EOF; cat <<-END", "C.UTF-8");
        // None of it reached the shared host, or another session.
        assert!(!h.files.contains_key("/tmp/a"));
        assert_eq!(run(&h, false, "cat /tmp/a").status, 1);
    }

    #[test]
    fn bash_builtins_and_small_tools_answer_as_the_real_ones() {
        // Dropper scripts test before they write (`[ -w /tmp ]`), write with printf, kill
        // what competes: each line in one root session of the fake shell and in the real
        // bash over the fake host on disk.
        let (_, h, _) = assert_root_session_as_real_bash(&[
            "true; echo $?; false; echo $?; :; echo $?",
            "[ -d tmp ] && echo d; [ -f etc/passwd ] && echo f; [ -e nope ] || echo none; [ ! -f etc ] && echo notf",
            "test -w tmp && echo w; test -x usr/bin/ls && echo x; [ -s etc/hostname ] && echo s; [ -z '' ] && [ -n a ] && echo zn",
            "[ 1 -eq x ]; echo $?; [ a; echo $?; [ a b c ]; echo $?; test; echo $?; [ 3 -gt 2 -a abc = abc ] && echo both",
            "[ 1 -lt 2 ] && echo lt; [ abc != abd ] && echo ne; [ -r etc/shadow ] && echo r; [ -x tmp ] && echo xd; [ -q x ]; echo $?",
            "printf '%5s|%-4d|%x|%o|%c|%b|%%\\n' ab 7 255 8 xyz 'a\\tb'; printf '%s-' 1 2 3; echo; printf; echo $?",
            "printf '%d\\n' abc; echo $?; printf '\\x41\\101\\n'; printf '%03d %+d %.2s %X\\n' 7 5 abcdef 0x1f",
            "printf 'a\\cb'; printf '%s\\n' \"it's\"; printf 'x%sy\\n'",
            // A pid above the kernel's limit (2^22): the real kill can reach no process.
            "kill 99999999; echo $?; kill abc; kill; echo $?",
            "type ls echo nope cd; echo $?; command -v ls echo; command -v nope; echo $?",
            "read a b <<< 'one two three'; echo $a-$b; eval 'echo e1; echo e2'; umask",
            "true & wait; echo $?; [ -n \"$!\" ] && echo pid",
            "sleep; sleep x; echo $?; sleep 0; echo $?",
            "id -u; id -un; id -g; id -gn; id -n; echo $?",
            "command echo via-command; exec echo bye; echo never",
            "cut -d: -f1 etc/passwd | head -3; cut -d: -f1,7 etc/passwd | tail -1; cut -c1-4 etc/hostname; cut -f2 etc/hostname",
            "cut etc/passwd; cut -d:: -f1 etc/passwd; cut -d: -f0 etc/passwd; cut -d : -f 3- etc/passwd | head -1",
            "sort etc/passwd | head -2; cut -d: -f3 etc/passwd | sort -n | tail -2; cut -d: -f7 etc/passwd | sort | uniq -c",
            "cut -d: -f7 etc/passwd | sort -u; cut -d: -f7 etc/passwd | sort | uniq -d; sort -r etc/hostname etc/hostname",
            "echo Hello | tr a-z A-Z; echo hello | tr -d l; echo 'a  b   c' | tr -s ' '; echo abc123 | tr -dc 0-9; echo; echo abc | tr '[:lower:]' '[:upper:]'; tr",
            "basename /usr/bin/ls; basename /a/b.sh .sh; basename /; basename a/b/; dirname /usr/bin/ls; dirname ls; dirname /; dirname a/b/; basename",
            "seq 3; seq 2 4; seq 1 2 7; seq 5 -2 1; seq; seq x",
            "echo hi | tee tmp/t1; cat tmp/t1; echo more | tee -a tmp/t1 > /dev/null; cat tmp/t1",
            "md5sum etc/hostname; sha256sum etc/hostname; echo -n abc | md5sum; md5sum nope",
            "echo hello | base64; echo aGVsbG8K | base64 -d; echo '!!' | base64 -d; echo $?",
            "yes | head -2; yes ok | head -1",
        ]);
        // nohup on a terminal sends the output to nohup.out; without one it only runs.
        let mut term = Shell::new(h.clone(), h.users[0].clone(), true);
        let o = term.run("nohup echo x");
        assert_eq!(
            (o.stdout.as_str(), o.stderr.as_str()),
            (
                "",
                "nohup: ignoring input and appending output to 'nohup.out'\n"
            )
        );
        assert_eq!(term.run("cat nohup.out").stdout, "x\n");
        assert_eq!(run(&h, false, "nohup echo y").stdout, "y\n");
    }

    #[test]
    fn compound_commands_run_and_fail_as_in_bash() {
        let (_, h, _) = assert_root_session_as_real_bash(&[
            "if [ -d tmp ]; then echo yes; else echo no; fi",
            "if false; then echo a; elif true; then echo b; else echo c; fi; echo $?",
            "if false; then echo a; fi; echo $?; if true; then false; fi; echo $?",
            "for i in 1 2 3; do echo $i; done; for f in $(seq 2); do echo f$f; done; echo $i",
            "for x in a b; do for y in 1 2; do echo $x$y; done; done | sort -r",
            "while false; do echo x; done; echo $?; until true; do echo x; done; echo $?",
            "{ echo a; echo b; } | wc -l; { echo c; }",
            "f() { echo in-f; }; f; f; function g { echo g; }; g; h () { echo h; }; h",
            "for i in a b; do echo $i; done && echo ok || echo no",
            "if [ -f etc/passwd ] && [ -d tmp ]; then echo both; fi",
            "echo 'if not a keyword'; echo if then fi done",
            "fi; echo after",
            "if true; then echo x",
            "for i in 1 2; echo $i; done",
            "done",
            "echo 'if true' > tmp/m.sh; echo 'then echo multi' >> tmp/m.sh; echo fi >> tmp/m.sh; bash tmp/m.sh; sh tmp/m.sh",
            "echo 'for i in 1 2' > tmp/l.sh; echo 'do' >> tmp/l.sh; echo 'echo $i' >> tmp/l.sh; echo 'done' >> tmp/l.sh; bash tmp/l.sh",
            "printf 'if true\\nthen\\n' > tmp/bad.sh; bash tmp/bad.sh; echo $?",
            "n=5; echo $((n*2+1)) $(( (n+1) % 4 )) $((n > 3)) $((2**10)) $((-n)) $((x+1)) $(( n == 5 && 1 )) $((010)) $((0x10)) $((7/2)) $((1<<4|1))",
            "echo $((1/0)); echo after",
            "echo $((1+)); echo after",
            "i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done",
            "for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done; echo end",
            "for i in a b; do for j in 1 2; do [ $j = 2 ] && continue 2; echo $i$j; done; done; break; echo ok",
            "n=5; echo ${n:-d} ${m:-d} ${#n} ${m:=z} ${n:+set} ${q:+x}. ${e-unset} ${HOME}",
            "e=; echo [${e:-empty}] [${e-empty}] [${e:+x}] [${e+x}]",
            "case abc in a*) echo A;; *) echo B;; esac",
            "case $(uname -m) in x86_64) echo amd;; arm*|aarch64) echo arm;; esac",
            "x=zz; case $x in a) echo a;; [xyz]?) echo br;; esac; echo $?; case q in a) echo a;; esac; echo $?",
            "case abc in (abc) echo paren;; esac; case x in x) echo one; echo two;; esac; case x in x) echo last; esac",
            "case x in x) echo y;; esac | wc -l; case x in [!a-c]) echo neg;; esac",
            "case x in",
            "printf 'a\\nb\\nc\\n' > tmp/list; while read l; do echo [$l]; done < tmp/list; cat tmp/list | while read l; do echo +$l; done; echo $?",
            "for i in 1 2; do echo $i; done > tmp/out; cat tmp/out; if true; then echo e >&2; fi 2>/dev/null; echo ok",
            "{ echo g1; echo g2; } > tmp/g; cat tmp/g; while read a b; do echo $b-$a; done <<< 'x y'",
            "while read l; do echo $l; done < nope; echo $?; case a in a) echo ca;; esac > tmp/c; cat tmp/c",
            "f() { echo $# $1 $2 $@; }; f a b c; f; echo $#; echo ${1:-none} $10",
            "bash -c 'echo $0 $1 $#' name x y; sh -c 'echo $0 $2' n p q; bash -c 'echo $0'",
            "echo 'echo $1-$2 $#; shift; echo $1 $*' > tmp/p.sh; bash tmp/p.sh one two three; sh tmp/p.sh x",
            "chmod +x tmp/p.sh; tmp/p.sh a b; f() { shift 5; echo $? $1; }; f a b",
            "x='a b  c'; for i in $x; do echo [$i]; done; echo [$x] \"[$x]\"; e=; echo a $e b; printf '%s|' $x $e; echo",
            "x=' lead trail '; printf '<%s>' $x; printf '<%s>' \"$x\"; printf '<%s>' pre$x; echo; y=; printf '<%s>' \"\"$y; echo",
            "cat <<EOF\nhello $HOME \"q\" \\$x\nEOF",
            "cat <<'EOF'\nliteral $HOME \"q\" 'single'\nEOF\necho after",
            "cat <<-END\n\tindented\n\tEND",
            "cat > tmp/h.sh <<EOF\necho from-heredoc\nEOF\nbash tmp/h.sh; cat <<EOF | wc -l\na\nb\nEOF",
            "cat <<EOF\nunclosed",
            "echo a\ncat <<EOF\nx\ny",
            "printf 'cat <<EOF\\nz\\n' > tmp/hd.sh; bash tmp/hd.sh; sh tmp/hd.sh",
            "case b in a|b) echo ab;; esac; case c in a) echo a;; b|c|d) echo bcd;; esac",
            "printf 'case $1 in\\n  *) echo any;;\\nesac\\n' > tmp/c.sh; bash tmp/c.sh",
        ]);
        // At the prompt, a block left open asks for more with `>` and runs once closed.
        let mut term = Shell::new(h.clone(), h.users[0].clone(), true);
        assert_eq!(term.run_input("for i in 1 2; do").stdout, "");
        assert_eq!(term.prompt(false), "> ");
        assert_eq!(term.run_input("echo $i").stdout, "");
        assert_eq!(term.run_input("done").stdout, "1\n2\n");
        assert_eq!(
            term.run("history").stdout,
            "    1  for i in 1 2; do echo $i; done\n    2  history\n"
        );
        assert_ne!(term.prompt(false), "> ");
        assert_eq!(term.run_input("if true; then").stdout, "");
        term.cancel_input();
        assert_ne!(term.prompt(false), "> ");
        let o = term.run_input("fi");
        assert_eq!(o.stderr, "-bash: syntax error near unexpected token `fi'\n");
        // A here-document typed at the prompt is read up to its word.
        assert_eq!(term.run_input("cat <<EOF").stdout, "");
        assert_eq!(term.prompt(false), "> ");
        assert_eq!(term.run_input("typed $HOME").stdout, "");
        assert_eq!(term.run_input("EOF").stdout, "typed /home/deploy\n");
        // Loops end: a line takes at most MAX_ITERATIONS turns.
        let o = term.run_input("while true; do echo y; done | wc -l");
        assert_eq!(o.stdout, format!("{}\n", flow::MAX_ITERATIONS));
    }

    #[test]
    fn find_walks_the_host_as_findutils_walks_it() {
        let (_, h, _) = assert_root_session_as_real_bash(&[
            "find etc -maxdepth 1 -name 'host*' | sort",
            "mkdir -p tmp/a/b; touch tmp/a/b/f tmp/x.sh; find tmp | sort; find tmp -type f | sort",
            "find home -type f | sort; find home root -maxdepth 1 -type d | sort",
            "find etc/ssh -iname '*KEY*' | sort; find tmp -mindepth 2 | sort; find tmp -name '*.sh'",
            "find nope; echo $?; find etc -frob; find etc -maxdepth x; find etc -type q; find etc -name",
        ]);
        // A user is kept out of root's folders, as findutils words it.
        let o = run(&h, false, "find /root /home -maxdepth 1");
        assert_eq!(o.stdout, "/root\n/home\n/home/deploy\n");
        assert_eq!(o.stderr, "find: \u{2018}/root\u{2019}: Permission denied\n");
        assert_eq!(o.status, 1);
        assert_eq!(
            run(
                &h,
                false,
                "find /home -user deploy -name '.*' -maxdepth 2 | head -1"
            )
            .stdout,
            "/home/deploy/.bash_logout\n"
        );
    }

    #[test]
    fn modes_are_computed_as_gnu_chmod_computes_them() {
        // Each spec applied by the real chmod to a file of mode 644 (and one of 751) and a
        // folder of 755, under the sessions' umask 022, against `apply_mode`.
        let dir = tempfile::tempdir().unwrap();
        for spec in [
            "777",
            "0755",
            "4755",
            "7",
            "+x",
            "-w",
            "u+x",
            "go-r",
            "a=r",
            "=r",
            "=w",
            "u=rwx,go=",
            "g+w,o-r",
            "ugo+rw",
            "+X",
            "a+X",
            "o=u",
            "g=o",
            "u-x+w",
            "a-x,u+rx",
            "go=",
            "u+s",
            "+t",
            "",
            "z",
            "u+z",
            "8",
            "77777",
            "u",
            "+",
            "ug=rx,o+w",
        ] {
            for (mode, is_dir) in [(0o644u16, false), (0o751, false), (0o755, true)] {
                let p = dir.path().join("x");
                let _ = std::fs::remove_dir(&p);
                let _ = std::fs::remove_file(&p);
                if is_dir {
                    std::fs::create_dir(&p).unwrap();
                } else {
                    std::fs::write(&p, "").unwrap();
                }
                let script = format!(
                    "umask 022; chmod {mode:o} x; chmod -- '{spec}' x 2>/dev/null && stat -c %a x"
                );
                let (real, _, status) = real_bash(dir.path(), &script);
                let want =
                    (status == 0).then(|| u16::from_str_radix(real.trim(), 8).unwrap() & 0o777);
                assert_eq!(
                    fs::apply_mode(spec, mode, is_dir),
                    want,
                    "chmod {spec} on {mode:o}"
                );
            }
        }
    }

    #[test]
    fn variables_assignments_and_history_behave_as_in_bash() {
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk(&h);
        for line in [
            "FOO=bar; echo $FOO",
            "A=1 B=2; echo $A$B ${A}x",
            "X=1 echo hi; echo \"[$X]\"",
            "FOO=bar; unset FOO; echo \"[$FOO]\"",
            "export V=1 W; echo $V; export -n V 2>/dev/null; echo $V",
            "HISTFILE=/dev/null; echo $HISTFILE",
        ] {
            assert_as_real_bash(&h, dir.path(), line, true);
        }
        assert_eq!(run(&h, false, "echo $UID $EUID").stdout, "1000 1000\n");
        // PATH as sshd sets it for an exec request, and /etc/profile for a login shell.
        assert_eq!(
            run(&h, false, "echo $PATH").stdout,
            "/usr/local/bin:/usr/bin:/bin:/usr/games\n"
        );
        assert_eq!(
            run(&h, true, "echo $PATH").stdout,
            "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games\n"
        );
        let root = User {
            name: "root".into(),
            uid: 0,
        };
        assert_eq!(
            Shell::new(h.clone(), root, false).run("echo $PATH").stdout,
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        );
        let peer: std::net::SocketAddr = "10.1.2.3:50111".parse().unwrap();
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), false)
            .from(peer)
            .on("10.9.8.7".parse().unwrap());
        assert_eq!(sh.run("printenv HOME").stdout, "/home/deploy\n");
        assert_eq!(sh.run("printenv NOPE").status, 1);
        assert_eq!(
            sh.run("echo $SSH_CONNECTION").stdout,
            "10.1.2.3 50111 10.9.8.7 22\n"
        );
        let env = sh.run("export HISTFILE=/dev/null; env").stdout;
        assert!(env.starts_with("SHELL=/bin/bash\n"), "{env}");
        assert!(
            env.contains("\nHISTFILE=/dev/null\n") && env.ends_with("\n_=/usr/bin/env\n"),
            "{env}"
        );
        assert_eq!(sh.run("env | grep -c ^PATH=").stdout, "1\n");
        assert_eq!(
            sh.run("unset PATH; printenv PATH; echo \"[$PATH]\"").stdout,
            "[]\n"
        );
        // History: interactive shells only, as HISTCONTROL=ignoreboth keeps it.
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), true);
        for line in ["ls", " secret", "ls", "ls", "history"] {
            sh.run(line);
        }
        assert_eq!(sh.run("history").stdout, "    1  ls\n    2  history\n");
        sh.run("history -c");
        assert_eq!(sh.run("history").stdout, "    1  history\n");
        assert_eq!(
            run(&h, false, "ls; history").stdout.matches("  ls").count(),
            0
        );
        assert_eq!(run(&h, false, "groups").stdout, "deploy\n");
        assert_eq!(
            run(&h, false, "groups root deploy").stdout,
            "root : root\ndeploy : deploy\n"
        );
        assert_eq!(
            run(&h, false, "groups nobody2").stderr,
            "groups: 'nobody2': no such user\n"
        );
    }

    #[test]
    fn scripts_piped_into_sh_run_through_the_fake_shell_as_dash_and_bash_word_them() {
        // `wget -qO- URL | sh`, `curl … | bash`, `sh x.sh`: the lines are read by a shell of
        // the fake host's (nothing is executed), with dash's or bash's wording.
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk(&h);
        let mut sh = root_shell(&h);
        for line in [
            "echo 'foo; echo hi' | sh",
            "sh -c foo; echo $?",
            "sh nope.sh; echo $?",
            "bash nope.sh; echo $?",
            "bash -c foo",
            "echo 'echo a; foo' | bash",
            "echo 'uname -s' > tmp/s.sh; sh tmp/s.sh; bash tmp/s.sh; /bin/sh tmp/s.sh",
            "bash -c 'echo x > tmp/w'; cat tmp/w",
            "bash -c 'X=1; cd etc'; echo \"[$X]\"; ls tmp/w",
            "echo 'exit 3; echo no' | sh; echo $?",
            "echo 'echo $(echo nested)' | bash",
            "ls -l bin/sh | wc -l",
        ] {
            assert_session_as_real_bash(&mut sh, dir.path(), line, "C");
        }
        // Scripts nest no deeper than substitutions do, and are read only so far.
        // A script that runs itself stops where substitutions stop.
        sh.run("echo 'echo in; sh /tmp/a.sh' > /tmp/a.sh");
        let o = sh.run("sh /tmp/a.sh");
        assert_eq!(
            o.stdout.matches("in\n").count(),
            usize::from(MAX_SUBSTITUTION_DEPTH)
        );
        let long = "echo x\n".repeat(300);
        sh.run(&format!("echo '{long}' > /tmp/long.sh"));
        assert_eq!(sh.run("sh /tmp/long.sh | wc -l").stdout, "256\n");
    }

    #[test]
    fn what_a_session_keeps_is_bounded() {
        let h = host(Profile::Openssh92Debian);
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), true);
        let long = "x".repeat(4000);
        for i in 0..300 {
            sh.run(&format!("echo {i} {long}"));
            sh.run(&format!("V{i}={long}"));
        }
        let kept: usize = sh.history.iter().map(String::len).sum();
        assert!(kept <= 64 << 10 && !sh.history.is_empty(), "{kept}");
        assert!(sh.vars.len() <= 32);
        // The numbering runs on past the lines dropped.
        let last = sh.run("history 1").stdout;
        assert_eq!(last.trim_start().split(' ').next(), Some("601"), "{last}");
    }

    #[test]
    fn issue_net_names_the_release_as_base_files_does() {
        assert_eq!(
            run(&host(Profile::Openssh92Debian), false, "cat /etc/issue.net").stdout,
            "Debian GNU/Linux 12\n"
        );
        assert_eq!(
            run(&host(Profile::Openssh96Ubuntu), false, "cat /etc/issue.net").stdout,
            "Ubuntu 24.04.1 LTS\n"
        );
    }

    #[test]
    fn uptime_p_reads_as_procps_writes_it() {
        assert_eq!(pretty_uptime(0), "up 0 minutes");
        assert_eq!(pretty_uptime(3600), "up 1 hour");
        assert_eq!(pretty_uptime(61), "up 1 minute");
        assert_eq!(
            pretty_uptime(16 * 86_400 + 21 * 3600 + 20 * 60 + 7),
            "up 2 weeks, 2 days, 21 hours, 20 minutes"
        );
        let h = host(Profile::Openssh92Debian);
        assert!(run(&h, false, "uptime -p").stdout.starts_with("up "));
    }

    #[test]
    fn a_user_writes_only_where_the_modes_let_them() {
        let h = host(Profile::Openssh92Debian);
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), false);
        let o = sh.run("echo x > /etc/evil; mkdir /usr/x; touch /root/y; rm /etc/passwd");
        assert_eq!(
            o.stderr,
            "bash: line 1: /etc/evil: Permission denied\n\
             mkdir: cannot create directory \u{2018}/usr/x\u{2019}: Permission denied\n\
             touch: cannot touch '/root/y': Permission denied\n\
             rm: cannot remove '/etc/passwd': Permission denied\n"
        );
        let o = sh.run("chmod 777 /etc/passwd; chattr +i ~/notes.txt");
        assert_eq!(
            o.stderr,
            "chmod: changing permissions of '/etc/passwd': Operation not permitted\n\
             chattr: Operation not permitted while setting flags on /home/deploy/notes.txt\n"
        );
        // At home and in /tmp it writes, and `ls -l` shows the files as theirs, made now.
        let o = sh.run("mkdir -p ~/.ssh && echo KEY >> ~/.ssh/authorized_keys && echo k > /tmp/k && ls -l /tmp ~/.ssh");
        assert_eq!(o.status, 0, "{o:?}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let now = stat::ls_time(now, now);
        assert!(
            o.stdout
                .contains(&format!("-rw-r--r-- 1 deploy deploy 2 {now} k\n")),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout.contains(&format!(
                "-rw-r--r-- 1 deploy deploy 4 {now} authorized_keys\n"
            )),
            "{}",
            o.stdout
        );
        assert_eq!(sh.run("cat ~/.ssh/authorized_keys").stdout, "KEY\n");
        assert!(sh.run("ls -la ~").stdout.contains(" .ssh\n"));
        // Its own file it may make executable and run; the install's programs' modes it may
        // not change, and a file with no execute bit for it does not run.
        let o = sh.run("chmod +x /tmp/k; ls -l /tmp/k; /tmp/k; chmod -x /tmp/k; /tmp/k");
        assert!(
            o.stdout.starts_with("-rwxr-xr-x 1 deploy deploy 2 "),
            "{o:?}"
        );
        assert_eq!(
            o.stderr,
            "/tmp/k: line 1: k: command not found\nbash: line 6: /tmp/k: Permission denied\n"
        );
        let o = sh.run("chmod u+x ~/notes.txt; ~/notes.txt; chmod 700 /usr/bin/ls");
        assert_eq!(
            o.stderr,
            "/home/deploy/notes.txt: line 1: db:: command not found\n\
             chmod: changing permissions of '/usr/bin/ls': Operation not permitted\n"
        );
        let o = sh.run("mv /etc/passwd /tmp/p; cp /etc/shadow /tmp/s; cp /etc/hostname /usr/x");
        assert_eq!(
            o.stderr,
            "mv: cannot move '/etc/passwd' to '/tmp/p': Permission denied\n\
             cp: cannot open '/etc/shadow' for reading: Permission denied\n\
             cp: cannot create regular file '/usr/x': Permission denied\n"
        );
        let mut root = root_shell(&h);
        let o = root.run("echo hi > /tmp/x; chmod 700 /tmp/x; ls -l /tmp/x");
        assert!(o.stdout.starts_with("-rwx------ 1 root root 3 "), "{o:?}");
        // root runs a file with any execute bit; the others run it only through theirs.
        let o = Shell::new(Arc::new((*root.host).clone()), h.users[0].clone(), true).run("/tmp/x");
        assert_eq!(
            (o.stderr.as_str(), o.status),
            ("-bash: /tmp/x: Permission denied\n", 126)
        );
        assert_eq!(
            root.run("/tmp/x").stderr,
            "/tmp/x: line 1: hi: command not found\n"
        );
        // What a session writes is bounded: past MAX_WRITTEN bytes the rest is dropped.
        let big = "y".repeat(3000);
        for _ in 0..100 {
            sh.run(&format!("echo {big} >> /tmp/big"));
        }
        assert!(sh.host.written_bytes <= fs::MAX_WRITTEN);
        assert!(sh.host.files["/tmp/big"].len() <= fs::MAX_WRITTEN);
    }

    #[test]
    fn a_fresh_installs_files_agree_with_each_other_and_with_the_commands() {
        for p in [Profile::Openssh92Debian, Profile::Openssh96Ubuntu] {
            let h = host(p);
            let name = p.data().name;
            let cat = |path: &str| run(&h, false, &format!("cat {path}")).stdout;
            // The kernel: /proc/version names what uname prints.
            let version = cat("/proc/version");
            let (r, v) = (
                run(&h, false, "uname -r").stdout,
                run(&h, false, "uname -v").stdout,
            );
            assert!(
                version.starts_with(&format!("Linux version {} (", r.trim())),
                "{version}"
            );
            assert!(version.ends_with(&v), "{name}: {version} / {v}");
            // Every group a file or an account names exists.
            let groups: BTreeSet<String> = cat("/etc/group")
                .lines()
                .map(|l| l.split(':').nth(2).unwrap().to_string())
                .collect();
            let group_file = cat("/etc/group");
            let names: BTreeSet<&str> = group_file
                .lines()
                .map(|l| l.split(':').next().unwrap())
                .collect();
            for account in cat("/etc/passwd").lines() {
                let gid = account.split(':').nth(3).unwrap();
                assert!(groups.contains(gid), "{name}: {account}");
            }
            for g in ["shadow", "crontab", "deploy"] {
                assert!(names.contains(g), "{name}: {g}");
            }
            // /etc/shadow has every account, in order, and only root reads it.
            let root = Shell::new(
                h.clone(),
                User {
                    name: "root".into(),
                    uid: 0,
                },
                false,
            )
            .run("cat /etc/shadow");
            let shadow_names: Vec<String> = root
                .stdout
                .lines()
                .map(|l| l.split(':').next().unwrap().to_string())
                .collect();
            let passwd_names: Vec<String> = cat("/etc/passwd")
                .lines()
                .map(|l| l.split(':').next().unwrap().to_string())
                .collect();
            assert_eq!(shadow_names, passwd_names, "{name}");
            assert!(root.stdout.starts_with("root:$y$j9T$"), "{}", root.stdout);
            assert_eq!(run(&h, false, "cat /etc/shadow").status, 1);
            // The host name resolves to the host, as the installer writes it.

            assert!(
                cat("/etc/hosts").lines().any(|l| l.starts_with("127.0.1.1")
                    && (l.ends_with(" build-07") || l.ends_with("\tbuild-07"))),
                "{name}"
            );
            // A new home starts from /etc/skel.
            let home = run(&h, false, "ls -a ~").stdout;
            assert_eq!(
                home, ".\n..\n.bash_logout\n.bashrc\n.profile\nnotes.txt\n",
                "{name}"
            );
            assert_eq!(cat("~/.bashrc"), cat("/etc/skel/.bashrc"));
            // The boot: /proc/uptime and uptime agree.
            let up: f64 = cat("/proc/uptime")
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let booted = SystemTime::now()
                .duration_since(h.booted())
                .unwrap()
                .as_secs_f64();
            assert!((up - booted).abs() < 5.0, "{up} / {booted}");
            let load = cat("/proc/loadavg");
            assert_eq!(load.split(' ').count(), 5, "{load}");
            // Identifiers stay put per host and differ between hosts; no swap anywhere.
            let id = cat("/etc/machine-id");
            assert!(
                id.len() == 33 && id.trim().bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            assert_eq!(cat("/etc/machine-id"), id);
            let other = Arc::new(Host::new("build-08", &p.data().distro, vec![], &[]));
            assert_ne!(
                Shell::new(
                    other.clone(),
                    User {
                        name: "root".into(),
                        uid: 0
                    },
                    false
                )
                .run("cat /etc/machine-id")
                .stdout,
                id
            );
            assert!(!cat("/etc/fstab").contains("swap"), "{name}");
            assert!(
                run(&h, false, "free")
                    .stdout
                    .contains("Swap:              0           0           0")
            );
        }
    }

    #[test]
    fn etc_ssh_describes_the_server_the_session_came_through() {
        let sshd = Sshd {
            port: 22,
            host_keys: vec![
                ("ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJyZ".into()),
                ("rsa", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC".into()),
            ],
        };
        let users = vec![
            User {
                name: "root".into(),
                uid: 0,
            },
            User {
                name: "deploy".into(),
                uid: 1000,
            },
        ];
        let configured = [("/etc/ssh/ssh_config".to_string(), "Host *\n".to_string())];
        let h = Arc::new(
            Host::new(
                "build-07",
                &Profile::Openssh92Debian.data().distro,
                users,
                &configured,
            )
            .with_sshd(&sshd),
        );
        let as_user =
            |i: usize, line: &str| Shell::new(h.clone(), h.users[i].clone(), false).run(line);
        let listing = as_user(1, "ls -l /etc/ssh").stdout;
        for want in [
            "-rw------- 1 root root  ",
            " ssh_host_ed25519_key\n",
            " ssh_host_ed25519_key.pub\n",
            " ssh_host_rsa_key\n",
            " sshd_config\n",
            "drwxr-xr-x 2 root root 4096 ",
        ] {
            assert!(listing.contains(want), "{want:?} in {listing}");
        }
        assert!(!listing.contains("ecdsa"), "{listing}");
        assert_eq!(
            as_user(1, "cat /etc/ssh/ssh_host_rsa_key.pub").stdout,
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC root@build-07\n"
        );
        let private = as_user(1, "cat /etc/ssh/ssh_host_rsa_key");
        assert_eq!(
            (private.stderr.as_str(), private.status),
            ("cat: /etc/ssh/ssh_host_rsa_key: Permission denied\n", 1)
        );
        let private = as_user(0, "cat /etc/ssh/ssh_host_ed25519_key").stdout;
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE"));
        assert!(private.ends_with("\n-----END OPENSSH PRIVATE KEY-----\n"));
        assert!(
            !private.contains("AAAAC3NzaC1lZDI1NTE5AAAAIJyZ"),
            "no part of the key"
        );
        let config = as_user(1, "cat /etc/ssh/sshd_config").stdout;
        for want in [
            "\n#Port 22\n",
            "\nPermitRootLogin yes\n",
            "\nAllowTcpForwarding no\n",
        ] {
            assert!(config.contains(want), "{want:?} in {config}");
        }
        assert!(
            !config.contains("Subsystem"),
            "the decoy has no sftp: {config}"
        );
        assert_eq!(as_user(1, "cat /etc/ssh/ssh_config").stdout, "Host *\n");
    }

    #[test]
    fn unknown_commands_fail_as_bash_fails() {
        let h = host(Profile::Openssh96Ubuntu);
        let o = run(&h, false, "tftp -g -r bot.sh 10.0.0.1");
        assert_eq!(
            (o.stderr.as_str(), o.status),
            ("bash: line 1: tftp: command not found\n", 127)
        );
        let o = run(&h, true, "tftp -g -r bot.sh 10.0.0.1");
        assert_eq!(o.stderr, "tftp: command not found\n");
        let d = host(Profile::Openssh92Debian);
        assert_eq!(
            run(&d, true, "nc -l 4444").stderr,
            "-bash: nc: command not found\n"
        );
        let o = run(&h, true, "cat /nope; cd /nope");
        assert_eq!(
            o.stderr,
            "cat: /nope: No such file or directory\n-bash: cd: /nope: No such file or directory\n"
        );
        assert_eq!(
            run(&h, true, "cat /etc/shadow").stderr,
            "cat: /etc/shadow: Permission denied\n"
        );
        assert_eq!(
            run(&h, true, "cat /etc").stderr,
            "cat: /etc: Is a directory\n"
        );
    }

    #[test]
    fn lists_and_operators() {
        let h = host(Profile::Openssh96Ubuntu);
        let o = run(&h, false, "echo a; false_cmd && echo no || echo yes");
        assert_eq!(o.stdout, "a\nyes\n");
        let o = run(&h, false, "cat /etc/passwd | sed -n 1p");
        assert_eq!(
            (o.stdout.as_str(), o.stderr.as_str()),
            ("", "bash: line 1: sed: command not found\n"),
            "what went into the pipe is not shown"
        );
        assert_eq!(
            run(&h, false, "cat /etc/passwd | grep root").stdout,
            "root:x:0:0:root:/root:/bin/bash\n"
        );
        assert_eq!(
            run(&h, false, "id | cat -").stdout,
            "uid=1000(deploy) gid=1000(deploy) groups=1000(deploy)\n",
            "cat reads the pipe"
        );
        assert_eq!(run(&h, false, "echo x | cat").stdout, "x\n");
        assert_eq!(
            run(&h, false, "echo x; cat").stdout,
            "x\n",
            "no pipe, nothing to read"
        );
        assert_eq!(
            run(&h, false, "echo \"$USER at $HOME\" '$HOME'").stdout,
            "deploy at /home/deploy $HOME\n"
        );
        assert_eq!(
            run(&h, false, "uname -a > /tmp/x 2>&1").stdout,
            "",
            "written to the file, not shown"
        );
        assert_eq!(
            run(&h, false, "uname -a > /tmp/x 2>&1; cat /tmp/x").stdout,
            format!("{}\n", h.uname_all())
        );
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), true);
        sh.run("cd /etc");
        assert_eq!(sh.run("pwd").stdout, "/etc\n");
        assert_eq!(sh.prompt(false), "deploy@build-07:/etc$ ");
        sh.run("cd");
        assert_eq!(sh.prompt(false), "deploy@build-07:~$ ");
        assert!(
            sh.prompt(true)
                .contains("\x1b[01;32mdeploy@build-07\x1b[00m")
        );
        let o = sh.run("exit 3");
        assert!(o.exit);
        assert_eq!(o.status, 3);
        // Paths never leave the fake root.
        assert_eq!(normalize("/home/deploy", "../../../../etc"), "/etc");
    }

    #[test]
    fn columns_are_laid_out_as_the_real_ls_lays_them_out() {
        // Random folders of names, listed by the real `ls -C` 80 columns wide and by the
        // fake layout: the same text.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let n = rng.random_range(1..90);
            let mut names = BTreeSet::new();
            while names.len() < n {
                let len = rng.random_range(1..if round % 3 == 0 { 40 } else { 14 });
                let name: String = (0..len)
                    .map(|_| {
                        char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])
                    })
                    .collect();
                names.insert(name);
            }
            for name in &names {
                std::fs::write(dir.path().join(name), "").unwrap();
            }
            let real = std::process::Command::new("ls")
                .args(["-C", "-w", "80"])
                .current_dir(dir.path())
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            let items: Vec<(String, usize)> = names.iter().map(|n| (n.clone(), n.len())).collect();
            assert_eq!(
                columns_of(&items, 80, true),
                String::from_utf8(real.stdout).unwrap(),
                "{names:?}"
            );
        }
    }

    #[test]
    fn ls_lays_out_columns_and_long_lines() {
        let h = host(Profile::Openssh92Debian);
        let root = run(&h, true, "ls /").stdout;
        assert!(
            root.lines().count() < 6 && root.contains("vmlinuz.old"),
            "{root}"
        );
        // Owners and groups (the rest of the long format is compared with the real ls).
        let l = run(&h, false, "ls -l /home/deploy").stdout;
        assert!(l.contains("-rw-r--r-- 1 deploy deploy 14 "), "{l}");
        let la = run(&h, false, "ls -la").stdout;
        assert!(la.contains("\ndrwx------ 2 deploy deploy 4096 "), "{la}");
        assert!(la.contains("\ndrwxr-xr-x 3 root   root   4096 "), "{la}");
        let etc = run(&h, false, "ls -l /etc/shadow /usr/bin/crontab").stdout;
        assert!(etc.contains("-rw-r----- 1 root shadow  "), "{etc}");
        assert!(etc.contains("-rwxr-sr-x 1 root crontab "), "{etc}");
        // Ubuntu's root: the merged /usr links, 0750 homes.
        let u = host(Profile::Openssh96Ubuntu);
        let root = run(&u, false, "ls -l /").stdout;
        for want in [
            " bin -> usr/bin\n",
            "\ndrwxr-xr-x   2 root root  4096 ",
            "\ndr-xr-xr-x 137 root root     0 ",
        ] {
            assert!(root.contains(want), "{want:?} in {root}");
        }
        assert!(
            run(&u, false, "ls -ld ~")
                .stdout
                .starts_with("drwxr-x--- 2 deploy deploy 4096 ")
        );
        assert_eq!(
            run(&h, false, "ls /nope").stderr,
            "ls: cannot access '/nope': No such file or directory\n"
        );
    }

    #[test]
    fn uptime_and_free_print_as_procps_4_does() {
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        // Figures and layout as the real procps 4.0.2 printed them on this project's machine.
        let now = 1_765_053_855; // 20:44:15
        assert_eq!(
            uptime(
                at(now),
                at(now - 10 * 3600 - 59 * 60 - 3),
                1,
                [0.0, 0.0, 0.05]
            ),
            " 20:44:15 up 10:59,  1 user,  load average: 0.00, 0.00, 0.05\n"
        );
        assert_eq!(
            uptime(at(now), at(now - 3 * 86_400 - 7 * 60), 1, [0.25, 0.1, 0.04]),
            " 20:44:15 up 3 days, 7 min,  1 user,  load average: 0.25, 0.10, 0.04\n"
        );
        assert_eq!(
            uptime(at(now), at(now - 86_400 - 4 * 3600), 1, [0.0; 3]),
            " 20:44:15 up 1 day,  4:00,  1 user,  load average: 0.00, 0.00, 0.00\n"
        );
        // No terminal, no utmp entry: procps 4.0.2 then writes "0 user".
        assert_eq!(
            uptime(at(now), at(now - 600), 0, [0.0; 3]),
            " 20:44:15 up 10 min,  0 user,  load average: 0.00, 0.00, 0.00\n"
        );
        assert_eq!(
            uptime(at(now), at(now - 600), 2, [0.0; 3]),
            " 20:44:15 up 10 min,  2 users,  load average: 0.00, 0.00, 0.00\n"
        );
        for (kib, shown) in [
            (24_683_784, "23Gi"),
            (370_948, "362Mi"),
            (10_220, "9Mi"),
            (4_013_572, "3.8Gi"),
            (0, "0B"),
        ] {
            assert_eq!(human_size(kib), shown, "{kib}");
        }
        let m = free(&["-m"], 812_000);
        let lines: Vec<&str> = m.lines().collect();
        assert_eq!(
            lines[0],
            "               total        used        free      shared  buff/cache   available"
        );
        assert_eq!(lines[2], "Swap:              0           0           0");
        let mem: Vec<u64> = lines[1][4..]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(mem[0], MEMORY_KIB >> 10);
        assert_eq!(mem[1], 812_000 >> 10);
        // total = used + free + buff/cache, as the kernel's figures add up (to rounding).
        assert!(mem[0].abs_diff(mem[1] + mem[2] + mem[4]) <= 2, "{m}");
        assert!(free(&["-h"], 812_000).contains("Mem:           3.8Gi"));

        // /proc/meminfo gives the figures free prints, by procps's own arithmetic.
        let info = meminfo(812_000);
        let field = |name: &str| -> u64 {
            let line = info
                .lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap();
            line[name.len() + 1..]
                .trim()
                .trim_end_matches(" kB")
                .parse()
                .unwrap()
        };
        let cache = field("Buffers") + field("Cached") + field("SReclaimable");
        let kib: Vec<u64> = free(&[], 812_000).lines().nth(1).unwrap()[4..]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(
            kib,
            [
                field("MemTotal"),
                field("MemTotal") - field("MemFree") - cache,
                field("MemFree"),
                field("Shmem"),
                cache,
                field("MemAvailable"),
            ]
        );
        // Laid out as the kernel lays it out: values end in one column.
        let real_line = "MemTotal:       24683784 kB";
        let ours = info.lines().next().unwrap();
        assert_eq!(ours.len(), real_line.len(), "{ours}");
        assert!(info.contains("\nHugePages_Total:       0\n"), "{info}");

        // Never the same twice, as a live host's figures are not; always low.
        let mut rng = rand::rng();
        let loads: Vec<[f64; 3]> = (0..50).map(|_| load_averages(&mut rng)).collect();
        assert!(
            loads
                .iter()
                .all(|l| l.iter().all(|v| (0.0..0.4).contains(v)))
        );
        assert!(loads.windows(2).any(|w| w[0] != w[1]));
        assert!(loads.iter().all(|l| l.iter().any(|v| *v >= 0.005)));
    }

    #[test]
    fn pipelines_answer_as_the_real_tools_answer_over_the_same_files() {
        // The fake host's files written to a folder, and each pipeline run twice: by the
        // fake shell from `/`, and by the real bash, coreutils, grep and mawk from that
        // folder. Host-probing scripts run these to size up a machine.
        let h = host(Profile::Openssh92Debian);
        let dir = on_disk(&h);
        for line in [
            "cat proc/cpuinfo | grep name | wc -l",
            "cat proc/cpuinfo | grep name | head -n 1 | awk '{print $4,$5,$6,$7,$8,$9;}'",
            "grep -c processor proc/cpuinfo",
            "grep -i MODEL proc/cpuinfo | tail -1",
            "grep -w bash etc/passwd | wc -l",
            "grep -v nologin etc/passwd | awk -F: '{print $1,$6}'",
            "awk -F : '{print $1 $3}' etc/passwd | head -3",
            "grep -n root etc/passwd etc/hostname",
            "grep nothing-here etc/passwd",
            "grep ^root etc/passwd",
            "grep -c 'sh$' etc/passwd",
            "grep -E 'root|daemon' etc/passwd | wc -l",
            "grep 'root\\|daemon' etc/passwd",
            "grep -v '^#' etc/hosts",
            "grep -v -e '^#' -e '^$' etc/hosts",
            "grep -i 'NAME.*:' proc/cpuinfo | head -2",
            "grep -x 'bin:.*' etc/group",
            "grep -w 'x:[0-9]*' etc/passwd | wc -l",
            "grep -E '^[a-z]+:x:0:' etc/passwd",
            "grep -E '^[^:]+:[^:]*:[0-9]{1}' etc/passwd | wc -l",
            "grep '^[[:alpha:]_-]*:x:1[0-9][0-9]:' etc/passwd",
            "grep -F '.*' etc/passwd",
            "grep '[[:digit:]]' etc/hostname",
            "grep 'a[' etc/passwd",
            "grep '[' etc/passwd",
            "grep -E 'x[^' etc/passwd",
            "grep '[]a' etc/passwd",
            "grep '[:alpha:]' etc/passwd",
            "grep -c '[::]' etc/passwd",
            "grep '[[:foo:]]' etc/passwd",
            "grep -E '[z-a]' etc/passwd",
            "grep '[[:alpha:]' etc/passwd",
            "grep 'a\\{1' etc/passwd",
            "grep 'a\\{1,x\\}' etc/passwd",
            "grep -E 'a{2,1}' etc/passwd",
            "grep 'abc\\' etc/passwd",
            "grep -n 'bash$' etc/passwd etc/shells",
            "grep root etc/passwd -c",
            "grep -E 'x?:0:0' etc/passwd",
            "grep 'ro*t' etc/passwd",
            "grep 'r\\+o\\?t:' etc/passwd",
            "grep -E '(root|sys):x' etc/passwd",
            "grep -E '[0-9]{4,}' etc/passwd",
            "grep 'x:[0-9]\\{1,2\\}:' etc/passwd | wc -l",
            "grep -cE 'o{2}|s{1,3}h$' etc/passwd",
            "grep --color=always root etc/passwd",
            "grep --color=always -n 'o*' etc/passwd | head -3",
            "grep --color=always -c root etc/passwd etc/group",
            "grep --color=always -n -E 'x|0' etc/passwd etc/hostname",
            "grep --color=always -w 'ro*t' etc/passwd",
            "grep --color=always -iv ROOT etc/group | head -2",
            "grep --colour=always -x 'bin:.*' etc/group",
            "grep --color=always '^[a-z]*' etc/hostname",
            "awk -F: '$3 == 0 {print $1}' etc/passwd",
            "awk -F: '$3 >= 1000 && $3 < 65534 { print $1, $6 }' etc/passwd",
            "awk -F: '$7 ~ /bash$/ {print $1}' etc/passwd",
            "awk -F: '$7 !~ /nologin|false/' etc/passwd",
            "awk -F: 'NR==1 || NR == 3 {print NR\":\"$1}' etc/passwd",
            "awk '/^processor/ {n++} END {print n}' proc/cpuinfo",
            "awk -F: '{print $NF}' etc/passwd | head -3",
            "awk -F: '{print $(NF-1), length($1)}' etc/passwd | tail -2",
            "awk 'END {print NR}' etc/passwd etc/group",
            "awk -F: '$1 == \"root\" || $1 == \"daemon\" { print; next } { print \"-\" }' etc/passwd | head -4",
            "awk -F: '!($3 > 100)' etc/group | wc -l",
            "awk 'BEGIN { print \"start\" } /model name/ { print $4 }' proc/cpuinfo",
            "awk -F: '/^[a-z]+:x:[0-9]:/ {print $1}' etc/passwd",
            "cat etc/passwd | awk -F: '$3 > 990 { print $3 \" \" $1 }'",
            "awk -F: '{ s += $3 } END { print s, NR, s / NR }' etc/passwd",
            "awk -F: 'NR % 5 == 0 { n = n $1 \",\" } END { print n }' etc/passwd",
            "awk -F: '$3 * 2 - 1 > 199 { c++ } END { print c + 0 }' etc/group",
            "awk '{ print $1; x = $2 } END { print x }' etc/hosts",
            "awk 'length > 20' etc/passwd | wc -l",
            "grep root etc/missing",
            "wc etc/passwd",
            "wc -l etc/passwd etc/hostname",
            "cat etc/passwd | wc",
            "cat etc/os-release | head -2; tail -n 2 etc/passwd",
            "head -3 etc/passwd etc/hostname",
            "echo a b c | wc -w",
            "cat etc/hostname | grep -q build && echo found",
            "echo $(cat etc/hostname) `cat etc/hostname`:$(echo a; echo b)",
            "echo \"$(head -2 etc/passwd)\" | wc -l",
            "wc -l $(echo etc/passwd) | awk '{print $1}'",
            "echo $(echo $(echo nested)) '$(not run)' \"$(echo 'a;b')\"",
            "echo $(nosuchcommand) done",
        ] {
            assert_as_real_bash(&h, dir.path(), line, true);
        }
        assert_eq!(run(&h, false, "nproc").stdout, "2\n");
    }

    #[test]
    fn programs_are_on_disk_and_ls_h_sizes_them_as_coreutils_does() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [
            0, 14, 1023, 1024, 1025, 4096, 44_016, 151_344, 1_048_576, 10_485_761,
        ];
        for size in sizes {
            let f = std::fs::File::create(dir.path().join(size.to_string())).unwrap();
            f.set_len(size as u64).unwrap();
        }
        for size in sizes {
            let real = std::process::Command::new("ls")
                .arg("-lh")
                .arg(dir.path().join(size.to_string()))
                .output()
                .unwrap();
            let real = String::from_utf8(real.stdout).unwrap();
            let shown = real.split_whitespace().nth(4).unwrap();
            assert_eq!(ls_human(size), shown, "{size} bytes");
        }

        let h = host(Profile::Openssh92Debian);
        assert_eq!(
            run(&h, false, "ls -lh $(which ls)").stdout,
            "-rwxr-xr-x 1 root root 148K Sep 20  2022 /usr/bin/ls\n"
        );
        assert!(run(&h, false, "ls /usr/bin").stdout.contains("\ngrep\n"));
        let exe = run(&h, false, "cat /proc/self/exe");
        assert!(exe.stdout.starts_with("\u{7f}ELF"), "{exe:?}");
        assert_eq!(exe.status, 0);
        let cron = run(&h, false, "crontab -l");
        assert_eq!(
            (cron.stderr.as_str(), cron.status),
            ("no crontab for deploy\n", 1)
        );
        assert_eq!(run(&h, false, "echo '* * * * * x' | crontab -").status, 0);
        // lscpu and /proc/cpuinfo describe the same processors.
        let model = run(
            &h,
            false,
            "lscpu | grep 'Model name' | awk -F: '{print $2}'",
        )
        .stdout;
        let info = run(
            &h,
            false,
            "grep 'model name' /proc/cpuinfo | head -1 | awk -F: '{print $2}'",
        )
        .stdout;
        assert_eq!(model.trim(), info.trim());
        assert_eq!(model.trim(), "Intel Xeon Processor (Skylake, IBRS)");
        let lscpu = lscpu();
        let value_column = |l: &str| {
            let after = l.find(':').unwrap() + 1;
            after + l[after..].len() - l[after..].trim_start().len()
        };
        let columns: BTreeSet<usize> = lscpu.lines().map(value_column).collect();
        assert_eq!(
            columns.len(),
            1,
            "every value starts in one column: {lscpu}"
        );
        assert!(
            lscpu
                .lines()
                .any(|l| l.starts_with("CPU(s):") && l.ends_with(" 2")),
            "{lscpu}"
        );
        // Substitutions nest only so deep; the rest is left unrun.
        let many = format!("echo{}", " $(cat /proc/cpuinfo /proc/cpuinfo)".repeat(100));
        let o = run(&h, false, &many);
        assert!(o.stdout.len() <= MAX_LINE + 1, "{}", o.stdout.len());
        // Once the line is full, the substitutions left in it are never run (bash would run
        // them all): none of these unknown commands gets as far as an error.
        let full = format!(
            "echo $(cat /proc/cpuinfo /proc/cpuinfo){}",
            " $(nosuch)".repeat(100)
        );
        let o = run(&h, false, &full);
        assert_eq!(o.stderr, "", "{}", o.stderr.len());
        let deep = run(
            &h,
            false,
            "echo $(echo $(echo $(echo $(echo $(echo six)))))",
        );
        assert_eq!(deep.stdout, "$(echo six)\n");
    }

    #[test]
    fn any_line_of_shell_syntax_and_garbage_gets_an_answer_within_bounds() {
        // Lines built from the characters the parser cares about, words the shell knows and
        // multibyte text, at random: none may panic, and what comes back stays bounded.
        let pieces = [
            "$(",
            ")",
            "`",
            "'",
            "\"",
            "\\",
            "|",
            "||",
            "&&",
            ";",
            "\n",
            " ",
            "$",
            "~",
            "-",
            "-n",
            "-F:",
            "{print $1,$9}",
            "$0",
            "cat",
            "grep",
            "head",
            "tail",
            "wc",
            "awk",
            "ls -lh",
            "echo",
            "/proc/cpuinfo",
            "/etc/passwd",
            "cd",
            "..",
            "é",
            "日本",
            "\u{0}",
            "which",
            "lscpu",
            "crontab",
            "free",
            "uptime",
            "ps aux",
            "nproc",
            "exit",
            "if",
            "then",
            "else",
            "fi",
            "for i in 1 2",
            "do",
            "done",
            "while true",
            "{",
            "}",
            "case x in",
            "a|*)",
            ";;",
            "esac",
            "f()",
            "$((",
            "))",
            "**",
            "<<EOF",
            "EOF",
            "[",
            "]",
            "break",
            "&",
            "${#x}",
            "${x:-y}",
            "printf '%9999s'",
            "cp -r /etc /tmp/x",
            "chmod -R 777 /tmp",
            "find /tmp",
            "tr a-z A-Z",
        ];
        use rand::Rng;
        let h = host(Profile::Openssh96Ubuntu);
        let mut rng = rand::rng();
        for _ in 0..3000 {
            let n = rng.random_range(1..40);
            let line: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            let o = Shell::new(h.clone(), h.users[0].clone(), rng.random()).run(&line);
            assert!(o.stdout.len() + o.stderr.len() < 4 << 20, "{line:?}");
        }
    }

    /// Runs `line` in the real bash with a private copy of this machine's `/etc` mounted
    /// over `/etc` in a mount namespace of its own, so the real `passwd` and `chpasswd`
    /// change only the copy; as `nobody` when `as_nobody`: (stdout, stderr, status).
    fn real_bash_on_copied_etc(line: &str, as_nobody: bool) -> (String, String, u32) {
        let copy = tempfile::tempdir().unwrap();
        let etc = copy.path().join("etc");
        let copied = std::process::Command::new("cp")
            .args(["-a", "/etc"])
            .arg(&etc)
            .status()
            .unwrap();
        assert!(copied.success());
        let run = if as_nobody {
            "exec setpriv --reuid 65534 --regid 65534 --clear-groups bash -c \"$2\""
        } else {
            "exec bash -c \"$2\""
        };
        // Nothing runs unless the copy is in place: the real tools would change this
        // machine's passwords.
        let script = format!("mount --bind \"$1\" /etc || exit 99; {run}");
        let o = std::process::Command::new("unshare")
            .args(["-m", "sh", "-c", &script, "sh"])
            .arg(&etc)
            .arg(line)
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        let status = o.status.code().unwrap() as u32;
        assert_ne!(status, 99, "the copy of /etc could not be mounted");
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            status,
        )
    }

    #[test]
    fn passwords_change_as_the_real_passwd_and_chpasswd_change_them() {
        // Bots set a password of their own on the account they broke into, piped to
        // chpasswd or passwd. Each line runs in the fake shell and in the real tools
        // (shadow 4.13 with Debian's PAM), the real ones on a copy of /etc.
        assert!(
            runs_as_root(),
            "the comparison with the real passwd needs root (a mount namespace)"
        );
        let h = host(Profile::Openssh92Debian);
        let root_lines = [
            "echo 'root:Zq-new1' | chpasswd; echo $?",
            "echo 'rootZq1' | chpasswd",
            "echo 'nosuch:Zq1' | chpasswd",
            "printf 'a:b\nroot:x\n\nroot\n' | chpasswd",
            "printf 'root:\n' | chpasswd",
            "printf 'root:a:b\n' | chpasswd",
            "printf 'nobody:Zq1' | chpasswd",
            "chpasswd -z",
            "chpasswd --bogus",
            "chpasswd -h",
            "chpasswd -c",
            "printf 'Zq1\nZq1\n' | passwd",
            "printf 'Zq1\nZq1\n' | passwd root",
            "printf 'Zq1\nZq1\n' | passwd nobody",
            "printf 'Zq1\n' | passwd",
            "printf '\n\n' | passwd",
            "printf '\n\n\n\n\n\n\n' | passwd",
            "printf '\nZq1\nZq1\n' | passwd",
            "printf 'a\nb\nZq1\nZq1\n' | passwd",
            "passwd < /dev/null",
            "printf 'Zq1\nZq1\n' | passwd nosuch",
            "passwd -S nosuch",
            "passwd -x",
            "passwd -z",
            "passwd --bogus",
            "passwd a b",
            "passwd -h",
        ];
        for line in root_lines {
            let fake = root_shell(&h).run(line);
            let (stdout, stderr, status) = real_bash_on_copied_etc(line, false);
            assert_eq!(
                (fake.stdout.as_str(), fake.stderr.as_str(), fake.status),
                (stdout.as_str(), stderr.as_str(), status),
                "{line}"
            );
        }
        // A user (here the real nobody, the fake deploy) may change only their own password,
        // and PAM first wants the current one.
        for line in [
            "printf 'old\nZq1\nZq1\n' | passwd",
            "printf 'old\n' | passwd root",
            "echo root:Zq1 | /usr/sbin/chpasswd",
            "passwd -S",
        ] {
            let fake = run(&h, false, line);
            let (stdout, stderr, status) = real_bash_on_copied_etc(line, true);
            let real = |s: String| s.replace("nobody", "deploy");
            let fake_stdout = if line == "passwd -S" {
                // The real nobody's is locked; the fake user's has a password.
                fake.stdout.replace(" P ", " L ")
            } else {
                fake.stdout.clone()
            };
            let (stdout, stderr) = (real(stdout), real(stderr));
            let days = |s: &str| s.split(' ').skip(3).collect::<Vec<_>>().join(" ");
            if line == "passwd -S" {
                assert_eq!(days(&fake_stdout), days(&stdout), "{line}");
                assert_eq!(
                    fake_stdout.split(' ').take(2).collect::<Vec<_>>(),
                    ["deploy", "L"]
                );
            } else {
                assert_eq!(
                    (fake_stdout.as_str(), fake.stderr.as_str(), fake.status),
                    (stdout.as_str(), stderr.as_str(), status),
                    "{line}"
                );
            }
        }

        // A change shows in the session's /etc/shadow and in `passwd -S`, dated today;
        // another session's host is untouched.
        let mut sh = root_shell(&h);
        let before = sh.run("grep ^root: /etc/shadow").stdout;
        assert_eq!(sh.run("echo root:Zq-new1 | chpasswd").status, 0);
        let after = sh.run("grep ^root: /etc/shadow").stdout;
        assert_ne!(before, after);
        assert!(after.starts_with("root:$y$j9T$"), "{after}");
        let today = sh.run("date +%F").stdout;
        assert_eq!(
            sh.run("passwd -S").stdout,
            format!("root P {} 0 99999 7 -1\n", today.trim())
        );
        assert_eq!(root_shell(&h).run("grep ^root: /etc/shadow").stdout, before);

        // chpasswd lives in /usr/sbin: a Debian user's PATH does not have it, root's and
        // every Ubuntu user's do; passwd and sudo are set-uid root, as `find -perm -4000`
        // finds.
        let o = run(&h, false, "echo a:b | chpasswd");
        assert_eq!(
            (o.stderr.as_str(), o.status),
            ("bash: line 1: chpasswd: command not found\n", 127)
        );
        assert_eq!(
            run(&host(Profile::Openssh96Ubuntu), false, "which chpasswd").stdout,
            "/usr/sbin/chpasswd\n"
        );
        let mut sh = root_shell(&h);
        assert_eq!(
            sh.run("which chpasswd passwd; type chpasswd").stdout,
            "/usr/sbin/chpasswd\n/usr/bin/passwd\nchpasswd is /usr/sbin/chpasswd\n"
        );
        let l = sh.run("ls -l /usr/bin/passwd /usr/sbin/chpasswd").stdout;
        assert!(l.starts_with("-rwsr-xr-x 1 root root 68248 "), "{l}");
        assert!(l.contains("\n-rwxr-xr-x 1 root root 63856 "), "{l}");
        assert_eq!(
            sh.run("find /usr/bin -perm -4000").stdout,
            "/usr/bin/passwd\n/usr/bin/sudo\n"
        );
    }

    fn runs_as_root() -> bool {
        // /proc/self belongs to the process's effective user.
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }

    #[test]
    fn hostile_nesting_widths_and_loops_stay_within_bounds() {
        // Each would exhaust a stack, the memory or the time of a shell that took it at its
        // word; the answers must come back, bounded.
        let h = host(Profile::Openssh92Debian);
        let deep_if = format!(
            "{}true{}",
            "if true; then ".repeat(2000),
            "; fi".repeat(2000)
        );
        let deep_group = format!("{}echo x{}", "{ ".repeat(3000), "; }".repeat(3000));
        let lines = [
            deep_if.as_str(),
            deep_group.as_str(),
            &format!("echo $(({}2))", "2**".repeat(4000)),
            &format!("echo $(({}1))", "-".repeat(8000)),
            &format!("echo $(({}1{}))", "(".repeat(3000), ")".repeat(3000)),
            "printf '%999999999s|%.999999999d' x 1",
            "echo x | tr '\\0-\\U10FFFF' a",
            "f() { f; f; f; }; f",
            "while true; do while true; do echo y; done; done",
            "for i in $(seq 100000); do echo $i; done",
            "yes $(yes | head -c 1000) | head -1",
            "cp -r / /tmp/all; find / | wc -l",
            &"case x in a) ;; ".repeat(1000),
            &format!("cat <<EOF\n{}", "x\n".repeat(20000)),
        ];
        for line in lines {
            let mut sh = root_shell(&h);
            let o = sh.run(line);
            assert!(
                o.stdout.len() + o.stderr.len() < 4 << 20,
                "{}",
                &line[..60.min(line.len())]
            );
            assert!(sh.host.written_bytes <= fs::MAX_WRITTEN);
        }
        // Nesting past the limit is refused as a syntax error, at the word that opens one too many.
        let o = run(&h, false, &deep_if);
        assert_eq!(o.status, 2);
        assert!(
            o.stderr.contains("syntax error near unexpected token `if'"),
            "{}",
            o.stderr
        );
    }

    #[test]
    fn w_and_who_list_the_session_as_procps_and_coreutils_do() {
        // Rows as Debian 12's procps 4.0.2 and coreutils printed them for a root login from
        // 127.0.0.1 over the real sshd with a terminal, at 04:28 on Dec 7.
        let real_w = "root     pts/0    127.0.0.1        04:28    0.00s  0.00s   ?    w";
        let real_w_s = "root     pts/0    127.0.0.1         0.00s w -s";
        let real_who = "root     pts/0        Dec  7 04:28 (127.0.0.1)";
        let h = Arc::new(Host::new(
            "build-07",
            &Profile::Openssh92Debian.data().distro,
            vec![User {
                name: "root".into(),
                uid: 0,
            }],
            &[],
        ));
        let mut sh =
            Shell::new(h.clone(), h.users[0].clone(), true).from(([127, 0, 0, 1], 50_022).into());
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_796_617_680); // Dec  7 04:28 2026
        sh.started = at;
        let w = sh.run("w").stdout;
        let lines: Vec<&str> = w.lines().collect();
        assert!(lines[0].contains(" 1 user,  load average: "), "{w}");
        assert_eq!(
            lines[1],
            "USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT"
        );
        assert_eq!(lines[2], real_w);
        assert_eq!(sh.run("w -s").stdout.lines().nth(2), Some(real_w_s));
        assert_eq!(sh.run("w -h").stdout, format!("{real_w} -h\n"));
        assert_eq!(sh.run("who").stdout, format!("{real_who}\n"));
        // Without a terminal there is no utmp entry: headers only, and no one for `who`.
        let mut exec =
            Shell::new(h.clone(), h.users[0].clone(), false).from(([127, 0, 0, 1], 50_022).into());
        let w = exec.run("w").stdout;
        assert_eq!(w.lines().count(), 2, "{w}");
        assert!(w.contains(" 0 user,"), "{w}");
        assert_eq!(exec.run("who").stdout, "");
    }

    #[test]
    fn which_finds_the_programs_the_host_has() {
        let h = host(Profile::Openssh96Ubuntu);
        let o = run(&h, false, "which ls cat");
        assert_eq!(
            (o.stdout.as_str(), o.status),
            ("/usr/bin/ls\n/usr/bin/cat\n", 0)
        );
        let o = run(&h, false, "which cd nmap");
        assert_eq!((o.stdout.as_str(), o.status), ("", 1));
        assert_eq!(run(&h, false, "which").status, 1);
        let booted = h.booted();
        let age = SystemTime::now().duration_since(booted).unwrap();
        assert!(age.as_secs() < 40 * 86_400, "{age:?}");
        assert_eq!(booted, h.booted(), "the boot time stays put");
    }

    #[test]
    fn ctime_formats_as_c_does() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_733_821_921);
        assert_eq!(ctime(t), "Tue Dec 10 09:12:01 2024");
        assert_eq!(ctime(UNIX_EPOCH), "Thu Jan  1 00:00:00 1970");
    }

    #[test]
    fn ps_shows_the_session() {
        let h = host(Profile::Openssh96Ubuntu);
        let o = run(&h, true, "ps");
        assert!(o.stdout.starts_with("    PID TTY          TIME CMD\n"));
        assert!(o.stdout.contains(" pts/0    00:00:00 bash\n"));
        let aux = run(&h, true, "ps aux").stdout;
        assert!(aux.contains("sshd: deploy [priv]"));
        // Services started at the host's boot, the session now: the START column agrees
        // with `uptime`, not with a date fixed in the code.
        let now = SystemTime::now();
        let boot = ps_start(h.booted(), now);
        let init = aux.lines().find(|l| l.ends_with(" /sbin/init")).unwrap();
        assert!(init.contains(&format!(" {boot} ")), "{init}");
        let bash = aux.lines().find(|l| l.ends_with(" -bash")).unwrap();
        assert!(
            bash.contains(&format!(" {} ", ps_start(now, now))),
            "{bash}"
        );
        // The kernel's threads, as many as a small guest has, without memory of their own;
        // the session's own sshd on its terminal (none for an exec request); pids ascending.
        for (p, kthread, count) in [
            (Profile::Openssh96Ubuntu, "[kworker/R-rcu_g]", 65),
            (Profile::Openssh92Debian, "[rcu_gp]", 60),
        ] {
            let h = host(p);
            let aux = run(&h, false, "ps aux").stdout;
            assert!(aux.lines().count() >= count, "{aux}");
            let line = aux.lines().find(|l| l.ends_with(kthread)).expect(kthread);
            assert!(line.contains(" 0.0  0.0      0     0 ?  "), "{line}");
            let init = aux.lines().nth(1).unwrap();
            assert!(init.contains(" 0.0  0.1  10007  5001 ?  "), "{init}");
            assert!(aux.contains(" sshd: deploy@notty\n"), "{aux}");
            assert!(
                !aux.contains("-bash") && aux.contains(" ?        Rs   "),
                "{aux}"
            );
            let pids: Vec<u32> = aux
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
                .collect();
            assert!(pids.windows(2).all(|w| w[0] < w[1]), "{aux}");
        }
        assert!(
            run(&h, true, "ps aux")
                .stdout
                .contains(" sshd: deploy@pts/0\n")
        );
        // /proc holds a folder for every process ps lists (ps itself aside), and no other.
        for interactive in [false, true] {
            let mut sh = Shell::new(h.clone(), h.users[0].clone(), interactive);
            let listed: BTreeSet<u32> = sh
                .run("ls -1 /proc | cat")
                .stdout
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect();
            let aux = sh.run("ps aux").stdout;
            let pids: BTreeSet<u32> = aux
                .lines()
                .skip(1)
                .filter(|l| !l.ends_with(" ps aux"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
                .collect();
            assert_eq!(listed, pids, "interactive: {interactive}");
        }
        let o = run(
            &h,
            false,
            "ls -ld /proc/1 /proc/598 /proc/1421 /proc/1429; ls /proc | grep -c -x meminfo",
        );
        let owners: Vec<&str> = o
            .stdout
            .lines()
            .take(4)
            .map(|l| l.split_whitespace().nth(2).unwrap())
            .collect();
        // Sorted as ls sorts names: 1, 1421, 1429, 598.
        assert_eq!(
            owners,
            ["root", "root", "deploy", "systemd-network"],
            "{}",
            o.stdout
        );
        let first: Vec<&str> = o.stdout.split_whitespace().take(5).collect();
        assert_eq!(
            first,
            ["dr-xr-xr-x", "9", "root", "root", "0"],
            "{}",
            o.stdout
        );
        assert!(o.stdout.ends_with("\n1\n"), "{}", o.stdout);
    }

    #[test]
    fn ps_start_is_written_as_procps_writes_it() {
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        let now = 1_733_821_921; // Tue Dec 10 09:12:01 2024
        assert_eq!(ps_start(at(now - 3600), at(now)), "08:12");
        assert_eq!(ps_start(at(now - 86_400), at(now)), "Dec09");
        assert_eq!(ps_start(at(now - 8 * 86_400), at(now)), "Dec02");
        assert_eq!(ps_start(at(now - 400 * 86_400), at(now)), "2023");
    }
}
