//! The session's variables and history: what sshd puts into a session's environment
//! (`PATH` as each distribution sets it, `SSH_CONNECTION`…), what the intruder assigns or
//! exports, and bash's history list. Intruders clear their tracks first (`unset HISTFILE`,
//! `export HISTFILE=/dev/null`, `history -c`); a shell that answers "command not found" to
//! an assignment, or has no `PATH`, gives itself away.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{MAX_LINE, Output, Shell};
use crate::decoy::ssh::profile::Family;

/// Most variables a session may set (or unset).
const MAX_VARS: usize = 32;
/// Lines bash keeps in its history list (`HISTSIZE` of the stock `.bashrc`).
const HISTSIZE: usize = 1000;
/// Most bytes of history a session keeps: the oldest lines go first past it.
const MAX_HISTORY_BYTES: usize = 64 << 10;

/// Whether `word` is an assignment, `NAME=value`: its name and value.
pub(super) fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((name, value))
}

impl Shell {
    /// `PATH`: sshd's compiled-in default for an exec request; for an interactive login,
    /// what `/etc/profile` sets (Debian) or `/etc/environment` (Ubuntu, through pam_env,
    /// for both).
    pub(super) fn path(&self) -> &'static str {
        let root = self.user.uid == 0;
        match (self.host.distro.family, self.interactive, root) {
            (Family::Ubuntu, _, _) => {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games:/snap/bin"
            }
            (Family::Debian, _, true) => {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            }
            (Family::Debian, true, false) => {
                "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
            }
            (Family::Debian, false, false) => "/usr/local/bin:/usr/bin:/bin:/usr/games",
        }
    }

    /// The session's environment, in the order sshd and bash make it.
    fn environment(&self) -> Vec<(String, String)> {
        let u = &self.user;
        let mut env: Vec<(String, String)> = vec![("SHELL".into(), "/bin/bash".into())];
        if self.interactive {
            env.push(("TERM".into(), "xterm-256color".into()));
        }
        env.push(("PWD".into(), self.cwd.clone()));
        env.push(("LOGNAME".into(), u.name.clone()));
        if self.interactive {
            env.push(("XDG_SESSION_TYPE".into(), "tty".into()));
            env.push(("MOTD_SHOWN".into(), "pam".into()));
        }
        env.push(("HOME".into(), u.home()));
        env.push(("LANG".into(), "C.UTF-8".into()));
        if let Some(peer) = self.peer {
            // The host's own address, as `ip` and `ss` show it (not the loopback a local
            // session really reached).
            let local = self.net().address;
            let port = self.host.ssh_port;
            env.push((
                "SSH_CONNECTION".into(),
                format!("{} {} {local} {port}", peer.ip(), peer.port()),
            ));
            env.push((
                "SSH_CLIENT".into(),
                format!("{} {} {port}", peer.ip(), peer.port()),
            ));
        }
        if self.interactive {
            env.push(("XDG_SESSION_CLASS".into(), "user".into()));
            env.push((
                "XDG_SESSION_ID".into(),
                (self.session_pid() % 97).to_string(),
            ));
            env.push(("SSH_TTY".into(), "/dev/pts/0".into()));
            env.push(("XDG_RUNTIME_DIR".into(), format!("/run/user/{}", u.uid)));
        }
        env.push(("USER".into(), u.name.clone()));
        env.push(("SHLVL".into(), "1".into()));
        env.push(("PATH".into(), self.path().into()));
        env.push(("MAIL".into(), format!("/var/mail/{}", u.name)));
        for (name, value) in self.vars.iter() {
            match env.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1.clone_from(value),
                None => env.push((name.clone(), value.clone())),
            }
        }
        env.retain(|(n, _)| !self.unset.contains(n));
        env.push(("_".into(), "/usr/bin/env".into()));
        env
    }

    /// The value of `$name`, if set.
    pub(super) fn var(&self, name: &str) -> Option<String> {
        if self.unset.iter().any(|n| n == name) {
            return None;
        }
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        Some(match name {
            "HOME" => self.user.home(),
            "USER" | "LOGNAME" => self.user.name.clone(),
            "PWD" => self.cwd.clone(),
            "HOSTNAME" => self.host.hostname.clone(),
            "SHELL" | "BASH" => "/bin/bash".into(),
            "PATH" => self.path().into(),
            "UID" | "EUID" => self.user.uid.to_string(),
            "$" => (self.session_pid() + 2).to_string(),
            "HISTSIZE" if self.interactive => HISTSIZE.to_string(),
            "HISTFILE" if self.interactive => format!("{}/.bash_history", self.user.home()),
            "BASH_VERSION" => match self.host.distro.family {
                Family::Debian => "5.2.15(1)-release".into(),
                Family::Ubuntu => "5.2.21(1)-release".into(),
            },
            _ => {
                return self
                    .environment()
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v);
            }
        })
    }

    /// Sets `$name`, within [`MAX_VARS`].
    pub(super) fn set_var(&mut self, name: &str, value: &str) {
        self.unset.retain(|n| n != name);
        if self.vars.len() >= MAX_VARS && !self.vars.contains_key(name) {
            return;
        }
        let value = &value[..super::floor_char_boundary(value, MAX_LINE)];
        std::sync::Arc::make_mut(&mut self.vars).insert(name.to_string(), value.to_string());
    }

    /// `env` and `printenv [NAME…]`.
    pub(super) fn env(&self, tool: &str, args: &[&str], out: &mut Output) {
        let env = self.environment();
        if tool == "printenv" && !args.is_empty() {
            for a in args {
                match env.iter().find(|(n, _)| n == a) {
                    Some((_, v)) => {
                        let _ = writeln!(out.stdout, "{v}");
                    }
                    None => out.status = 1,
                }
            }
            return;
        }
        for (n, v) in &env {
            if tool == "printenv" && n == "_" {
                let _ = writeln!(out.stdout, "_=/usr/bin/printenv");
            } else {
                let _ = writeln!(out.stdout, "{n}={v}");
            }
        }
    }

    /// `export [NAME[=value]…]` and `unset NAME…`.
    pub(super) fn export(&mut self, tool: &str, args: &[&str], out: &mut Output) {
        for a in args.iter().filter(|a| !a.starts_with('-')) {
            match (tool, assignment(a)) {
                ("export", Some((name, value))) => self.set_var(name, value),
                ("export", None) => {}
                (_, _) => {
                    if self.vars.contains_key(*a) {
                        std::sync::Arc::make_mut(&mut self.vars).remove(*a);
                    }
                    if self.unset.len() < MAX_VARS && !self.unset.iter().any(|n| n == a) {
                        self.unset.push(a.to_string());
                    }
                }
            }
        }
        if tool == "export" && args.is_empty() {
            for (n, v) in self.environment().iter().filter(|(n, _)| n != "_") {
                let _ = writeln!(out.stdout, "declare -x {n}=\"{v}\"");
            }
        }
    }

    /// Adds a typed line to the history list, as `HISTCONTROL=ignoreboth` keeps it: not
    /// lines starting with a space, not a repeat of the line before.
    pub(super) fn remember(&mut self, line: &str) {
        if !self.interactive || self.depth > 0 || line.starts_with(' ') || line.trim().is_empty() {
            return;
        }
        if self.history.last().is_some_and(|l| l == line) {
            return;
        }
        self.history.push(line.to_string());
        while self.history.len() > HISTSIZE
            || self.history.iter().map(String::len).sum::<usize>() > MAX_HISTORY_BYTES
        {
            self.history.remove(0);
            self.history_base += 1;
        }
    }

    /// `history [-c] [N]`: nothing in a shell that is not interactive (bash keeps no
    /// history there).
    pub(super) fn history(&mut self, args: &[&str], out: &mut Output) {
        if args.first() == Some(&"-c") {
            self.history.clear();
            self.history_base = 0;
            return;
        }
        let n = args
            .first()
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let skip = self.history.len().saturating_sub(n);
        for (i, line) in self.history.iter().enumerate().skip(skip) {
            let _ = writeln!(out.stdout, "{:>5}  {line}", self.history_base + i + 1);
        }
    }

    /// `groups [USER…]`: each account is in its own group alone.
    pub(super) fn groups(&self, args: &[&str], out: &mut Output) {
        if args.is_empty() {
            let _ = writeln!(out.stdout, "{}", self.user.name);
            return;
        }
        let passwd = self
            .host
            .files
            .get("/etc/passwd")
            .cloned()
            .unwrap_or_default();
        let group = self
            .host
            .files
            .get("/etc/group")
            .cloned()
            .unwrap_or_default();
        for a in args {
            let gid = passwd
                .lines()
                .find(|l| l.split(':').next() == Some(a))
                .and_then(|l| l.split(':').nth(3));
            let name = gid.and_then(|gid| {
                group
                    .lines()
                    .find(|l| l.split(':').nth(2) == Some(gid))
                    .and_then(|l| l.split(':').next())
            });
            match name {
                Some(g) => {
                    let _ = writeln!(out.stdout, "{a} : {g}");
                }
                None => {
                    let _ = writeln!(out.stderr, "groups: '{a}': no such user");
                    out.status = 1;
                }
            }
        }
    }
}

/// Most lines a script run by `sh` or `bash` may hold; the rest is not read.
const MAX_SCRIPT_LINES: usize = 256;

impl Shell {
    /// `bash`/`sh` run from the session: `-c CMD`, a script file, or the lines piped in, each
    /// through a shell of their own (this fake one: nothing is executed). What they write
    /// to files stays; their variables and folder do not, as a child process's would not.
    /// Nested no deeper than command substitutions.
    pub(super) fn sub_shell(
        &mut self,
        name: &str,
        args: &[&str],
        stdin: Option<&str>,
        out: &mut Output,
    ) {
        let dash = name != "bash";
        let shown = if dash { "sh" } else { "bash" };
        let options: Vec<&str> = args
            .iter()
            .copied()
            .take_while(|a| a.starts_with('-'))
            .collect();
        let rest = &args[options.len()..];
        let reads_command = options.iter().any(|o| o.contains('c'));
        let file = rest.first().copied().filter(|_| !reads_command);
        let script = if reads_command {
            match rest.first() {
                Some(cmd) => cmd.to_string(),
                None => {
                    let _ = writeln!(out.stderr, "{shown}: -c: option requires an argument");
                    out.status = 2;
                    return;
                }
            }
        } else if let Some(file) = rest.first() {
            let path = super::normalize(&self.cwd, &super::expand_home(file, &self.user));
            match self.host.files.get(&path) {
                Some(text) if self.can_read(&path) => text.clone(),
                _ => {
                    if dash {
                        let _ = writeln!(out.stderr, "sh: 0: cannot open {file}: No such file");
                        out.status = 2;
                    } else {
                        let _ = writeln!(out.stderr, "bash: {file}: No such file or directory");
                        out.status = 127;
                    }
                    return;
                }
            }
        } else {
            // No script and nothing piped: an interactive shell, which is not modelled.
            stdin.unwrap_or_default().to_string()
        };
        if self.depth >= super::MAX_SUBSTITUTION_DEPTH {
            return;
        }
        let history = std::mem::take(&mut self.history);
        let mut sub = self.clone();
        self.history = history;
        sub.depth += 1;
        sub.interactive = false;
        sub.dash = dash;
        sub.line = 0;
        sub.last_status = 0;
        sub.script = file.map(str::to_string);
        // A script's arguments follow its name; `-c CMD NAME ARG…` names `$0` and then them.
        let (zero, params) = match (reads_command, rest) {
            (true, [_, zero, params @ ..]) => (Some(zero.to_string()), params),
            (false, [_, params @ ..]) => (None, params),
            _ => (None, &[][..]),
        };
        if zero.is_some() {
            sub.script = zero;
        }
        sub.params = Arc::new(params.iter().map(|p| p.to_string()).collect());
        // Lines of a block (`if …` to `fi`) run together, numbered from the block's first.
        let mut chunk = String::new();
        let lines: Vec<&str> = script.lines().take(MAX_SCRIPT_LINES).collect();
        let mut first = 0;
        for (n, line) in lines.iter().enumerate() {
            if chunk.is_empty() {
                first = n;
            } else {
                chunk.push('\n');
            }
            chunk.push_str(line);
            if n + 1 < lines.len() && !super::complete(&chunk) {
                continue;
            }
            sub.line = first as u32;
            let o = sub.run(&std::mem::take(&mut chunk));
            sub.line = n as u32 + 1;
            out.stdout.push_str(&o.stdout);
            out.stderr.push_str(&o.stderr);
            sub.last_status = o.status;
            if o.exit || sub.aborted {
                break;
            }
            if out.stdout.len() + out.stderr.len() > 64 << 10 {
                break;
            }
        }
        out.status = sub.last_status;
        // Files are the host's, and stay written.
        self.host = sub.host;
    }
}
