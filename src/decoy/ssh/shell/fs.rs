//! What a session writes: redirections into files, `mkdir`, `touch`, `rm`, and the attribute
//! changes `chmod`, `chown`, `chgrp` and `chattr`. An intruder's first moves are writes (a key
//! of their own in `~/.ssh/authorized_keys`, a dropper in `/tmp`); a shell where `mkdir` is
//! "command not found", or where `echo x > f` prints `x`, reads as a honeypot. Writes go to
//! the session's own copy of the fake host, in memory and bounded by [`MAX_WRITTEN`]; nothing
//! here touches the disk. Who may write where is checked by the owners and modes `ls -l`
//! shows: root anywhere but the kernel's file systems, a user in their home and the sticky
//! folders for temporary files.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::stat::Stat;
use super::{Host, Output, PROGRAMS, Shell, expand_home, normalize, parent, program_size};

/// Most bytes one session may write into files; what goes past it is dropped. Droppers
/// typed as `echo -e '\x7f\x45…' >> f` run to tens of KiB; with every session of a decoy
/// writing this much, its sessions hold `max_connections` × 256 KiB.
pub(super) const MAX_WRITTEN: usize = 256 << 10;
/// Most files and folders one session may make.
pub(super) const MAX_MADE: usize = 512;
/// Folders anyone may make files in (mode 1777): only their owner may remove them.
const STICKY: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// A file or folder the session made or wrote to.
#[derive(Clone, Debug)]
pub(super) struct Written {
    pub owner: String,
    pub mtime: u64,
    pub dir: bool,
    /// The install's file, written over: its owner and mode stay.
    pub kept: bool,
    /// The permission bits `chmod` gave it; `None`: as made, or as installed.
    pub mode: Option<u16>,
    /// A copy of one of the host's programs (`cp /bin/echo .x`): its size, and it runs.
    pub program: Option<&'static str>,
}

/// Where one of a command's outputs goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Sink {
    Stdout,
    Stderr,
    Null,
    File(String),
}

/// A redirection as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Redirect {
    /// `[n]>target`, `[n]>>target`, `&>target` (`fd` 0 for both outputs).
    Out {
        fd: u8,
        append: bool,
        target: String,
    },
    /// `[n]>&m`.
    Dup { fd: u8, to: String },
    /// `<target`.
    In(String),
    /// `<<<word`.
    Here(String),
}

/// Where a command's input comes from and its outputs go, once its redirections are open.
#[derive(Debug)]
pub(super) struct Plan {
    pub out: Sink,
    pub err: Sink,
    pub stdin: Option<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn kernel_fs(path: &str) -> bool {
    ["/proc", "/sys"]
        .iter()
        .any(|k| path == *k || path.starts_with(&format!("{k}/")))
}

impl Host {
    /// How `ls -l` shows what the session made: its owner's, mode 644 or 755 (umask 022),
    /// dated when made. A file of the install written over keeps its owner and mode.
    pub(super) fn stat_written(&self, path: &str, w: &Written) -> Option<Stat> {
        if w.kept {
            let mut st = self.stat_of_install(path)?;
            st.mtime = w.mtime;
            if let Some(m) = w.mode {
                st.mode = mode_str(m);
            }
            return Some(st);
        }
        let mut st = Stat {
            kind: '-',
            mode: "rw-r--r--",
            links: 1,
            owner: w.owner.clone(),
            group: w.owner.clone(),
            size: match w
                .program
                .and_then(|p| PROGRAMS.iter().find(|q| q.name == p))
            {
                Some(p) => p.size as u64,
                None => self.files.get(path).map_or(0, |f| f.len() as u64),
            },
            mtime: w.mtime,
            target: None,
            blocks: 0,
        };
        if w.dir {
            st.kind = 'd';
            st.mode = "rwxr-xr-x";
            st.size = 4096;
            let prefix = format!("{path}/");
            st.links = 2 + self
                .dirs
                .iter()
                .filter(|d| d.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
                .count();
        }
        if let Some(m) = w.mode {
            st.mode = mode_str(m);
        }
        st.blocks = st.size.div_ceil(4096) * 4;
        Some(st)
    }
}

/// How `ls` writes permission bits (the low nine; set-id and sticky bits are not kept).
pub(super) fn mode_str(bits: u16) -> &'static str {
    static ALL: LazyLock<Vec<String>> = LazyLock::new(|| {
        (0..512u16)
            .map(|m| {
                (0..9)
                    .map(|i| {
                        if m & (0o400 >> i) != 0 {
                            char::from(b"rwxrwxrwx"[i])
                        } else {
                            '-'
                        }
                    })
                    .collect()
            })
            .collect()
    });
    &ALL[usize::from(bits & 0o777)]
}

/// The permission bits of a mode as `ls` writes it (`s` and `t` carry an execute bit).
pub(super) fn mode_bits(shown: &str) -> u16 {
    shown
        .bytes()
        .take(9)
        .enumerate()
        .filter(|(_, c)| !matches!(c, b'-' | b'S' | b'T'))
        .fold(0, |m, (i, _)| m | (0o400 >> i))
}

/// Sessions' umask (Debian's and Ubuntu's default): symbolic modes without `ugoa` spare it.
pub(super) const UMASK: u16 = 0o022;

/// The bits `chmod SPEC` gives an entry with bits `old`: octal, or GNU chmod's symbolic
/// clauses (`u+x,go-w`, `a=r`, `+X`, `g=u`). `None` for a mode chmod calls invalid.
pub(super) fn apply_mode(spec: &str, old: u16, dir: bool) -> Option<u16> {
    if !spec.is_empty() && spec.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return u16::from_str_radix(spec, 8)
            .ok()
            .filter(|&m| m <= 0o7777)
            .map(|m| m & 0o777);
    }
    let mut bits = old;
    for clause in spec.split(',') {
        let b = clause.as_bytes();
        let mut i = 0;
        let mut who = 0u16;
        while let Some(c) = b.get(i) {
            who |= match c {
                b'u' => 0o700,
                b'g' => 0o070,
                b'o' => 0o007,
                b'a' => 0o777,
                _ => break,
            };
            i += 1;
        }
        let masked = who == 0;
        if masked {
            who = 0o777 & !UMASK;
        }
        if i == b.len() {
            return None;
        }
        while let Some(&op) = b.get(i) {
            if !matches!(op, b'+' | b'-' | b'=') {
                return None;
            }
            i += 1;
            let mut perm = 0u16;
            while let Some(c) = b.get(i) {
                perm |= match c {
                    b'r' => 0o444,
                    b'w' => 0o222,
                    b'x' => 0o111,
                    b'X' if dir || bits & 0o111 != 0 => 0o111,
                    b'X' | b's' | b't' => 0,
                    // Copies of another class's bits, to every class.
                    b'u' => ((bits >> 6) & 7) * 0o111,
                    b'g' => ((bits >> 3) & 7) * 0o111,
                    b'o' => (bits & 7) * 0o111,
                    _ => break,
                };
                i += 1;
            }
            let perm = perm & who;
            bits = match op {
                b'+' => bits | perm,
                b'-' => bits & !perm,
                // `=` clears the classes named (all of them when none is, umask or not).
                _ => (bits & !(if masked { 0o777 } else { who })) | perm,
            };
        }
    }
    Some(bits)
}

impl Shell {
    pub(super) fn path_of(&self, word: &str) -> String {
        normalize(&self.cwd, &expand_home(word, &self.user))
    }

    fn owns(&self, path: &str) -> bool {
        self.host
            .stat(path)
            .is_some_and(|st| st.owner == self.user.name)
    }

    /// Whether this session's user may make or remove entries in the folder `dir`.
    pub(super) fn may_change_in(&self, dir: &str) -> bool {
        self.user.uid == 0 || STICKY.contains(&dir) || self.owns(dir)
    }

    /// Why `path` cannot be opened for writing, if it cannot (the kernel's reason).
    pub(super) fn may_write(&self, path: &str) -> Result<(), &'static str> {
        let h = &self.host;
        if h.dirs.contains(path) {
            return Err("Is a directory");
        }
        let exists = h.files.contains_key(path) || program_size(path, "").is_some();
        if kernel_fs(path) {
            return Err(if exists {
                "Permission denied"
            } else {
                "No such file or directory"
            });
        }
        let dir = parent(path);
        if !h.dirs.contains(&dir) {
            return Err(if h.files.contains_key(&dir) {
                "Not a directory"
            } else {
                "No such file or directory"
            });
        }
        let allowed = if exists {
            self.user.uid == 0 || self.owns(path)
        } else {
            self.may_change_in(&dir)
        };
        if allowed {
            Ok(())
        } else {
            Err("Permission denied")
        }
    }

    /// Writes `text` into the file at `path` (made if missing), within [`MAX_WRITTEN`].
    pub(super) fn write(&mut self, path: &str, text: &str, append: bool) {
        let owner = self.user.name.clone();
        let host = Arc::make_mut(&mut self.host);
        let (kept, mode) = match host.written.get(path) {
            Some(w) => (w.kept, w.mode),
            None => (host.files.contains_key(path), None),
        };
        if !kept && !host.written.contains_key(path) && host.written.len() >= MAX_MADE {
            return;
        }
        let room = MAX_WRITTEN.saturating_sub(host.written_bytes);
        let text = &text[..super::floor_char_boundary(text, room)];
        host.written_bytes += text.len();
        let file = host.files.entry(path.to_string()).or_default();
        if !append {
            file.clear();
        }
        file.push_str(text);
        host.written.insert(
            path.to_string(),
            Written {
                owner,
                mtime: now(),
                dir: false,
                kept,
                mode,
                program: None,
            },
        );
    }

    pub(super) fn make_dir(&mut self, path: &str) {
        let owner = self.user.name.clone();
        let host = Arc::make_mut(&mut self.host);
        if host.written.len() >= MAX_MADE {
            return;
        }
        host.dirs.insert(path.to_string());
        host.written.insert(
            path.to_string(),
            Written {
                owner,
                mtime: now(),
                dir: true,
                kept: false,
                mode: None,
                program: None,
            },
        );
    }

    /// Opens a command's redirections, left to right as bash does. `None` when one cannot
    /// be opened: bash's message is in `out` and the command is not run.
    pub(super) fn open(&mut self, redirects: &[Redirect], out: &mut Output) -> Option<Plan> {
        let mut plan = Plan {
            out: Sink::Stdout,
            err: Sink::Stderr,
            stdin: None,
        };
        for r in redirects {
            let fail = |sh: &Shell, out: &mut Output, target: &str, why: &str| {
                let shown: String = target.chars().take(256).collect();
                out.stderr
                    .push_str(&sh.builtin_error(&format!("{shown}: {why}")));
                out.status = 1;
            };
            match r {
                Redirect::Out { fd, append, target } => {
                    let sink = match target.as_str() {
                        "/dev/null" => Sink::Null,
                        "/dev/stdout" => plan.out.clone(),
                        "/dev/stderr" => plan.err.clone(),
                        "" => {
                            fail(self, out, "", "No such file or directory");
                            return None;
                        }
                        t => {
                            let path = self.path_of(t);
                            if let Err(why) = self.may_write(&path) {
                                fail(self, out, t, why);
                                return None;
                            }
                            // Opened: made if missing, emptied unless appended to.
                            self.write(&path, "", *append);
                            Sink::File(path)
                        }
                    };
                    match fd {
                        0 => (plan.out, plan.err) = (sink.clone(), sink),
                        1 => plan.out = sink,
                        2 => plan.err = sink,
                        _ => {}
                    }
                }
                Redirect::Dup { fd, to } => {
                    let sink = match to.as_str() {
                        "1" => plan.out.clone(),
                        "2" => plan.err.clone(),
                        "-" => Sink::Null,
                        t if t.bytes().all(|b| b.is_ascii_digit()) => {
                            fail(self, out, t, "Bad file descriptor");
                            return None;
                        }
                        // `>&file` is `&>file`.
                        t => {
                            let again = Redirect::Out {
                                fd: 0,
                                append: false,
                                target: t.to_string(),
                            };
                            let sub = self.open(std::slice::from_ref(&again), out)?;
                            (plan.out, plan.err) = (sub.out.clone(), sub.out);
                            continue;
                        }
                    };
                    match fd {
                        1 => plan.out = sink,
                        2 => plan.err = sink,
                        _ => {}
                    }
                }
                Redirect::In(target) => {
                    let path = self.path_of(target);
                    let why = match self.host.files.get(&path) {
                        Some(_) if !self.can_read(&path) => "Permission denied",
                        Some(text) => {
                            plan.stdin = Some(text.clone());
                            continue;
                        }
                        None if target == "/dev/null" => {
                            plan.stdin = Some(String::new());
                            continue;
                        }
                        None if self.host.dirs.contains(&path) => "Is a directory",
                        None => "No such file or directory",
                    };
                    fail(self, out, target, why);
                    return None;
                }
                Redirect::Here(word) => plan.stdin = Some(format!("{word}\n")),
            }
        }
        Some(plan)
    }

    /// Sends what a command wrote to where its redirections point.
    pub(super) fn route(&mut self, text: &str, sink: &Sink, out: &mut Output) {
        match sink {
            Sink::Stdout => out.stdout.push_str(text),
            Sink::Stderr => out.stderr.push_str(text),
            Sink::Null => {}
            Sink::File(path) => {
                if !text.is_empty() {
                    self.write(path, text, true);
                }
            }
        }
    }

    /// `mkdir [-p] [-v] [-m MODE] DIR...`, as coreutils 9 words it in a UTF-8 locale.
    pub(super) fn mkdir(&mut self, args: &[&str], out: &mut Output) {
        let (mut parents, mut verbose) = (false, false);
        let mut names = Vec::new();
        let mut it = args.iter().copied();
        while let Some(a) = it.next() {
            match a {
                "-m" | "--mode" => {
                    it.next();
                }
                "-p" | "--parents" => parents = true,
                "-v" | "--verbose" => verbose = true,
                a if a.starts_with("--mode=") => {}
                a if a.starts_with('-') && a.len() > 1 => {
                    parents |= a.contains('p');
                    verbose |= a.contains('v');
                }
                a => names.push(a),
            }
        }
        if names.is_empty() {
            return missing_operand("mkdir", "missing operand", out);
        }
        for name in names {
            let path = self.path_of(name);
            // The folders to make, outermost first.
            let mut missing = Vec::new();
            let mut cur = path.clone();
            while !self.host.dirs.contains(&cur) && !self.host.files.contains_key(&cur) {
                missing.push(cur.clone());
                if !parents {
                    break;
                }
                cur = parent(&cur);
            }
            missing.reverse();
            let why = if missing.is_empty() {
                (!parents || self.host.files.contains_key(&path)).then_some("File exists")
            } else {
                self.may_write(&missing[0]).err()
            };
            if let Some(why) = why {
                let _ = writeln!(
                    out.stderr,
                    "mkdir: cannot create directory \u{2018}{name}\u{2019}: {why}"
                );
                out.status = 1;
                continue;
            }
            for (i, dir) in missing.iter().enumerate() {
                self.make_dir(dir);
                if verbose {
                    // Each as typed: the name, less the parts below the folder made.
                    let mut shown = name.trim_end_matches('/');
                    for _ in i + 1..missing.len() {
                        shown = shown.rsplit_once('/').map_or(shown, |(head, _)| head);
                    }
                    let _ = writeln!(out.stdout, "mkdir: created directory '{shown}'");
                }
            }
        }
    }

    /// `touch [-c] FILE...`: makes missing files, dates existing ones now.
    pub(super) fn touch(&mut self, args: &[&str], out: &mut Output) {
        let mut no_create = false;
        let mut names = Vec::new();
        let mut it = args.iter().copied();
        while let Some(a) = it.next() {
            match a {
                "-d" | "-t" | "-r" => {
                    it.next();
                }
                "-c" | "--no-create" => no_create = true,
                a if a.starts_with('-') && a.len() > 1 => no_create |= a.contains('c'),
                a => names.push(a),
            }
        }
        if names.is_empty() {
            return missing_operand("touch", "missing file operand", out);
        }
        for name in names {
            let path = self.path_of(name);
            if self.host.dirs.contains(&path) {
                continue;
            }
            let exists = self.host.files.contains_key(&path);
            if !exists && no_create {
                continue;
            }
            match self.may_write(&path) {
                Ok(()) => self.write(&path, "", true),
                Err(why) => {
                    let _ = writeln!(out.stderr, "touch: cannot touch '{name}': {why}");
                    out.status = 1;
                }
            }
        }
    }

    /// `rm [-r] [-f] [-d] [-v] FILE...`.
    pub(super) fn rm(&mut self, args: &[&str], out: &mut Output) {
        let (mut recursive, mut force, mut empty_dirs, mut verbose) = (false, false, false, false);
        let mut names = Vec::new();
        let mut options_done = false;
        for a in args.iter().copied() {
            match a {
                "--" if !options_done => options_done = true,
                "--recursive" => recursive = true,
                "--force" => force = true,
                "--dir" => empty_dirs = true,
                "--verbose" => verbose = true,
                a if !options_done && a.starts_with('-') && a.len() > 1 => {
                    recursive |= a.contains('r') || a.contains('R');
                    force |= a.contains('f');
                    empty_dirs |= a.contains('d');
                    verbose |= a.contains('v');
                }
                a => names.push(a),
            }
        }
        if names.is_empty() {
            if !force {
                missing_operand("rm", "missing operand", out);
            }
            return;
        }
        for name in names {
            let path = self.path_of(name);
            let is_dir = self.host.dirs.contains(&path);
            let exists = is_dir
                || self.host.files.contains_key(&path)
                || program_size(&path, "").is_some()
                || self.host.link_target(&path).is_some();
            let why = if path == "/" && recursive {
                out.stderr.push_str(
                    "rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n",
                );
                out.status = 1;
                continue;
            } else if !exists {
                (!force).then_some("No such file or directory")
            } else if is_dir && !recursive && !empty_dirs {
                Some("Is a directory")
            } else if is_dir && !recursive && !self.host.children(&path).is_empty() {
                Some("Directory not empty")
            } else if kernel_fs(&path)
                || !self.may_change_in(&parent(&path))
                || (STICKY.contains(&parent(&path).as_str())
                    && self.user.uid != 0
                    && !self.owns(&path))
            {
                Some("Permission denied")
            } else {
                None
            };
            if let Some(why) = why {
                let _ = writeln!(out.stderr, "rm: cannot remove '{name}': {why}");
                out.status = 1;
                continue;
            }
            if verbose {
                // Depth first, each folder after what it held (the real order is the file
                // system's; this one is sorted).
                let mut order = Vec::new();
                removal_order(&self.host, &path, &mut order);
                for (p, dir) in order {
                    let what = if dir { "removed directory" } else { "removed" };
                    let shown = format!("{name}{}", &p[path.len()..]);
                    let _ = writeln!(out.stdout, "{what} '{shown}'");
                }
            }
            let host = Arc::make_mut(&mut self.host);
            let inside = format!("{path}/");
            let gone = |p: &String| p == &path || p.starts_with(&inside);
            host.files.retain(|p, _| !gone(p));
            host.dirs.retain(|p| !gone(p));
            host.written.retain(|p, _| !gone(p));
        }
    }

    /// `chmod`, `chown`, `chgrp`: checked (the file exists, the user may change it); a mode
    /// `chmod` takes is kept (`-R` through folders) and shown by `ls` and obeyed by exec;
    /// owners and groups are not kept.
    pub(super) fn change(&mut self, tool: &str, args: &[&str], out: &mut Output) {
        let operands: Vec<&str> = args
            .iter()
            .copied()
            // `chmod -x f` takes `-x` as a mode, not an option.
            .filter(|a| !a.starts_with('-') || (tool == "chmod" && a.len() > 1 && !a.contains('R')))
            .collect();
        let recursive = args
            .iter()
            .any(|a| a.starts_with('-') && a.contains('R') || *a == "--recursive");
        let Some((spec, files)) = operands.split_first().filter(|(_, f)| !f.is_empty()) else {
            let what = match operands.first() {
                Some(spec) => format!("missing operand after \u{2018}{spec}\u{2019}"),
                None => "missing operand".into(),
            };
            return missing_operand(tool, &what, out);
        };
        for f in files {
            let path = self.path_of(f);
            let exists = self.host.stat(&path).is_some();
            let message = if !exists {
                format!("{tool}: cannot access '{f}': No such file or directory")
            } else if tool == "chmod" && (self.user.uid == 0 || self.owns(&path)) {
                if !self.chmod(spec, &path, recursive) {
                    let _ = writeln!(out.stderr, "chmod: invalid mode: \u{2018}{spec}\u{2019}");
                    out.stderr
                        .push_str("Try 'chmod --help' for more information.\n");
                    out.status = 1;
                    return;
                }
                continue;
            } else if self.user.uid == 0 {
                continue;
            } else if tool == "chmod" {
                format!("{tool}: changing permissions of '{f}': Operation not permitted")
            } else {
                format!("{tool}: changing ownership of '{f}': Operation not permitted")
            };
            let _ = writeln!(out.stderr, "{message}");
            out.status = 1;
        }
    }

    /// Gives `path` (and with `recursive` what is under it) the mode `spec` makes of its
    /// own; `false` when `spec` is no mode.
    fn chmod(&mut self, spec: &str, path: &str, recursive: bool) -> bool {
        let mut paths = vec![path.to_string()];
        if recursive && self.host.dirs.contains(path) {
            let under = format!("{}/", path.trim_end_matches('/'));
            let h = &self.host;
            paths.extend(h.dirs.iter().filter(|d| d.starts_with(&under)).cloned());
            paths.extend(h.files.keys().filter(|f| f.starts_with(&under)).cloned());
        }
        for p in paths {
            let Some(st) = self.host.stat(&p) else {
                continue;
            };
            // Links have no mode of their own.
            if st.kind == 'l' {
                continue;
            }
            let dir = st.kind == 'd';
            let Some(bits) = apply_mode(spec, mode_bits(st.mode), dir) else {
                return false;
            };
            let host = Arc::make_mut(&mut self.host);
            let room = host.written.len() < MAX_MADE;
            match host.written.get_mut(&p) {
                Some(w) => w.mode = Some(bits),
                None if room => {
                    host.written.insert(
                        p,
                        Written {
                            owner: st.owner,
                            mtime: st.mtime,
                            dir,
                            kept: true,
                            mode: Some(bits),
                            program: None,
                        },
                    );
                }
                None => {}
            }
        }
        true
    }

    /// Whether this session's user may execute the file at `path` (its mode says so).
    pub(super) fn can_execute(&self, path: &str) -> bool {
        let Some(st) = self.host.stat(path) else {
            return false;
        };
        let m = mode_bits(st.mode);
        if self.user.uid == 0 {
            m & 0o111 != 0
        } else if st.owner == self.user.name {
            m & 0o100 != 0
        } else {
            m & 0o001 != 0
        }
    }

    /// `chattr [-R] [+-=]FLAGS FILE...` (e2fsprogs): setting `i` or `a` needs root.
    pub(super) fn chattr(&mut self, args: &[&str], out: &mut Output) {
        let flags: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| a.starts_with(['+', '-', '=']) && *a != "-R" && *a != "-V" && *a != "-f")
            .collect();
        let files: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !a.starts_with(['+', '-', '=']))
            .collect();
        if flags.is_empty() || files.is_empty() {
            out.stderr.push_str(
                "Usage: chattr [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n",
            );
            out.status = 1;
            return;
        }
        let sets_protected = flags
            .iter()
            .any(|f| !f.starts_with('-') && (f.contains('i') || f.contains('a')));
        for f in files {
            let path = self.path_of(f);
            let message = match self.host.stat(&path) {
                None => format!("chattr: No such file or directory while trying to stat {f}"),
                Some(_) if self.user.uid == 0 => continue,
                Some(_) if sets_protected || !self.owns(&path) => {
                    format!("chattr: Operation not permitted while setting flags on {f}")
                }
                Some(_) => continue,
            };
            let _ = writeln!(out.stderr, "{message}");
            out.status = 1;
        }
    }
}

/// coreutils' answer to a command line that names nothing to work on.
pub(super) fn missing_operand(tool: &str, what: &str, out: &mut Output) {
    let _ = writeln!(
        out.stderr,
        "{tool}: {what}\nTry '{tool} --help' for more information."
    );
    out.status = 1;
}

/// What removing `path` removes, in the order `rm -rv` lists it: (path, is a folder).
fn removal_order(host: &Host, path: &str, order: &mut Vec<(String, bool)>) {
    let dir = host.dirs.contains(path) && host.link_target(path).is_none();
    if dir {
        for child in host.children(path) {
            removal_order(host, &normalize(path, &child), order);
        }
    }
    order.push((path.to_string(), dir));
}
