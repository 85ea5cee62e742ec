//! `cp` and `mv` (coreutils 9.1), over the session's copy of the fake host ([`super::fs`]).
//! Droppers copy one of the host's programs to learn whether a folder lets them write and
//! run (`cp /bin/echo .x; >.x; chmod 777 .x`), and move what they wrote under a name that
//! looks like the system's. A copied program keeps its size and still runs as that program;
//! a moved entry keeps its owner, mode and time. The host's own programs are copied, never
//! moved or removed.

use std::fmt::Write as _;
use std::sync::Arc;

use super::fs::{MAX_MADE, UMASK, Written, missing_operand, mode_bits};
use super::{ELF_HEAD, Output, Shell, normalize, parent, program_at};

impl Shell {
    /// `cp [-r|-R|-a] [-v] SOURCE... DEST` and `mv [-v] SOURCE... DEST`; other options
    /// (`-f`, `-p`, `-i`, `-n`) are taken and change nothing here.
    pub(super) fn transfer(&mut self, tool: &str, args: &[&str], out: &mut Output) {
        let (mut recursive, mut verbose, mut operands_only) = (tool == "mv", false, false);
        let mut names = Vec::new();
        for a in args.iter().copied() {
            if operands_only || a == "-" || !a.starts_with('-') {
                names.push(a);
            } else if a == "--" {
                operands_only = true;
            } else if let Some(long) = a.strip_prefix("--") {
                recursive |= matches!(long, "recursive" | "archive");
                verbose |= long == "verbose";
            } else {
                recursive |= a.contains(['r', 'R', 'a']);
                verbose |= a.contains('v');
            }
        }
        let (dest, sources) = match names.split_last() {
            None => return missing_operand(tool, "missing file operand", out),
            Some((d, [])) => {
                let what = format!("missing destination file operand after '{d}'");
                return missing_operand(tool, &what, out);
            }
            Some((d, s)) => (*d, s),
        };
        let dest_path = self.path_of(dest);
        let into = self.host.dirs.contains(&dest_path);
        if sources.len() > 1 && !into {
            let why = if self.host.stat(&dest_path).is_some() {
                "Not a directory"
            } else {
                "No such file or directory"
            };
            let _ = writeln!(out.stderr, "{tool}: target '{dest}': {why}");
            out.status = 1;
            return;
        }
        for src in sources {
            let from = self.path_of(src);
            let (to, shown) = if into {
                let base = from.rsplit('/').next().unwrap_or_default();
                let shown = format!("{}/{base}", dest.trim_end_matches('/'));
                (normalize(&dest_path, base), shown)
            } else {
                (dest_path.clone(), dest.to_string())
            };
            let done = if tool == "mv" {
                self.move_one(src, &from, &to, &shown)
            } else {
                self.copy_one(src, &from, &to, &shown, recursive)
            };
            match done {
                Err(why) => {
                    let _ = writeln!(out.stderr, "{tool}: {why}");
                    out.status = 1;
                }
                Ok(()) if verbose => {
                    let renamed = if tool == "mv" { "renamed " } else { "" };
                    let _ = writeln!(out.stdout, "{renamed}'{src}' -> '{shown}'");
                }
                Ok(()) => {}
            }
        }
    }

    /// Checks common to both tools: what is at `from`, and whether it may go to `to`.
    /// `Ok(true)` for a folder.
    fn check_transfer(
        &self,
        src: &str,
        from: &str,
        to: &str,
        shown: &str,
        verb: &str,
        recursive: bool,
    ) -> Result<bool, String> {
        let Some(st) = self.host.stat(from) else {
            return Err(format!("cannot stat '{src}': No such file or directory"));
        };
        let dir = st.kind == 'd';
        // The target is looked up first: under a file it cannot even be.
        if self.host.files.contains_key(&parent(to)) {
            return Err(format!("cannot stat '{shown}': Not a directory"));
        }
        if dir && verb == "copy" && !recursive {
            return Err(format!("-r not specified; omitting directory '{src}'"));
        }
        if from == to {
            return Err(format!("'{src}' and '{shown}' are the same file"));
        }
        if dir && to.starts_with(&format!("{}/", from.trim_end_matches('/'))) {
            return Err(if verb == "copy" {
                format!("cannot copy a directory, '{src}', into itself, '{shown}'")
            } else {
                format!("cannot move '{src}' to a subdirectory of itself, '{shown}'")
            });
        }
        match self.host.stat(to) {
            Some(t) if t.kind == 'd' && !dir => Err(format!(
                "cannot overwrite directory '{shown}' with non-directory"
            )),
            Some(t) if t.kind != 'd' && dir => Err(format!(
                "cannot overwrite non-directory '{shown}' with directory '{src}'"
            )),
            _ => Ok(dir),
        }
    }

    fn copy_one(
        &mut self,
        src: &str,
        from: &str,
        to: &str,
        shown: &str,
        recursive: bool,
    ) -> Result<(), String> {
        let dir = self.check_transfer(src, from, to, shown, "copy", recursive)?;
        let Some(st) = self.host.stat(from) else {
            return Ok(());
        };
        if dir {
            if !self.host.dirs.contains(to) {
                self.may_write(to)
                    .map_err(|why| format!("cannot create directory '{shown}': {why}"))?;
                self.make_dir(to);
            }
            let mut failed = None;
            for child in self.host.children(from) {
                let (f, t) = (normalize(from, &child), normalize(to, &child));
                let (s, sh) = (format!("{src}/{child}"), format!("{shown}/{child}"));
                if let Err(e) = self.copy_one(&s, &f, &t, &sh, true) {
                    failed.get_or_insert(e);
                }
            }
            return failed.map_or(Ok(()), Err);
        }
        if !self.can_read(from) {
            return Err(format!(
                "cannot open '{src}' for reading: Permission denied"
            ));
        }
        self.may_write(to)
            .map_err(|why| format!("cannot create regular file '{shown}': {why}"))?;
        // A program copies as that program (through its link), the install's head of it
        // as its content, as `cat` shows programs.
        let program = program_at(from, "")
            .map(|p| p.link.filter(|l| !l.contains('/')).unwrap_or(p.name))
            .or_else(|| self.host.written.get(from).and_then(|w| w.program));
        let text = match program {
            Some(_) => ELF_HEAD.to_string(),
            None => self.host.files.get(from).cloned().unwrap_or_default(),
        };
        let existed = self.host.stat(to).is_some();
        self.write(to, &text, false);
        if let Some(w) = Arc::make_mut(&mut self.host).written.get_mut(to) {
            w.program = program;
            // A new file takes the source's mode, less the umask (cp without -p).
            if !existed {
                w.mode = Some(mode_bits(st.mode) & !UMASK);
            }
        }
        Ok(())
    }

    fn move_one(&mut self, src: &str, from: &str, to: &str, shown: &str) -> Result<(), String> {
        self.check_transfer(src, from, to, shown, "move", true)?;
        let refused = || format!("cannot move '{src}' to '{shown}': Permission denied");
        if program_at(from, "").is_some()
            || !self.may_change_in(&parent(from))
            || !self.may_change_in(&parent(to))
        {
            return Err(refused());
        }
        if !self.host.dirs.contains(&parent(to)) {
            return Err(format!(
                "cannot move '{src}' to '{shown}': No such file or directory"
            ));
        }
        // Everything at and under `from`, with how `ls -l` shows it now.
        let under = format!("{}/", from.trim_end_matches('/'));
        let h = &self.host;
        let moving: Vec<_> = h
            .files
            .keys()
            .chain(h.dirs.iter())
            .filter(|p| *p == from || p.starts_with(&under))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|p| h.stat(&p).map(|st| (p, st)))
            .collect();
        if h.written.len() + moving.len() > MAX_MADE {
            return Err(format!(
                "cannot move '{src}' to '{shown}': No space left on device"
            ));
        }
        let host = Arc::make_mut(&mut self.host);
        if host.files.remove(to).is_some() {
            host.written.remove(to);
        }
        for (p, st) in moving {
            let q = format!("{to}{}", &p[from.len()..]);
            if let Some(text) = host.files.remove(&p) {
                host.files.insert(q.clone(), text);
            }
            let dir = host.dirs.remove(&p);
            if dir {
                host.dirs.insert(q.clone());
            }
            // Kept as `ls -l` showed it: the install's entries too, now the session's own.
            let program = host.written.remove(&p).and_then(|w| w.program);
            host.written.insert(
                q,
                Written {
                    owner: st.owner,
                    mtime: st.mtime,
                    dir,
                    kept: false,
                    mode: Some(mode_bits(st.mode)),
                    program,
                },
            );
        }
        Ok(())
    }
}
