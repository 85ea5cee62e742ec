//! `find` (GNU findutils 4.9) over the fake host: the starting points, then what is under
//! them, filtered by the tests intruders use to look around (`-name`, `-iname`, `-type`,
//! `-perm -4000` for set-uid programs, `-user`, `-maxdepth`, `-mindepth`, `-writable`,
//! `-print`). Folders the user may not read give findutils' "Permission denied" and are not
//! entered. `-exec` and `-delete` are refused as an unknown predicate would be. Entries are
//! listed in name order (a real file system gives its own order), and at most
//! [`MAX_FOUND`].

use std::fmt::Write as _;

use super::{Output, Shell, normalize};

/// Most entries one `find` lists.
const MAX_FOUND: usize = 20_000;

/// One test of the expression, all of which must hold.
enum Test {
    Name(String, bool),
    Type(char),
    /// Set-uid (`-perm -4000`, `-perm -u=s`, `/4000`).
    SetUid,
    User(String),
    Writable,
    /// A test nothing on this host passes (`-perm` with other bits).
    Never,
}

impl Shell {
    pub(super) fn find(&self, args: &[&str], out: &mut Output) {
        let starts: Vec<&str> = args
            .iter()
            .copied()
            .take_while(|a| !a.starts_with('-') || *a == "-")
            .collect();
        let mut tests = Vec::new();
        let (mut max_depth, mut min_depth) = (usize::MAX, 0);
        let mut it = args[starts.len()..].iter().copied();
        while let Some(a) = it.next() {
            let mut value = |what: &str| {
                it.next()
                    .map(str::to_string)
                    .ok_or_else(|| format!("find: missing argument to `{what}'"))
            };
            let test = match a {
                "-name" | "-iname" => value(a).map(|v| Some(Test::Name(v, a == "-iname"))),
                "-type" => value(a).and_then(|v| match v.as_str() {
                    "f" | "d" | "l" => Ok(Some(Test::Type(v.chars().next().unwrap_or('f')))),
                    _ => Err(format!("find: Unknown argument to -type: {v}")),
                }),
                "-perm" => value(a).map(|v| {
                    let suid = matches!(v.as_str(), "-4000" | "/4000" | "-u=s" | "/u=s" | "-u+s");
                    // Other modes are not looked at: nothing matches them.
                    Some(if suid { Test::SetUid } else { Test::Never })
                }),
                "-user" => value(a).map(|v| Some(Test::User(v))),
                "-writable" => Ok(Some(Test::Writable)),
                "-maxdepth" | "-mindepth" => value(a).and_then(|v| match v.parse::<usize>() {
                    Ok(n) => {
                        if a == "-maxdepth" {
                            max_depth = n;
                        } else {
                            min_depth = n;
                        }
                        Ok(None)
                    }
                    Err(_) => Err(format!(
                        "find: Expected a positive decimal integer argument to {a}, but got \u{2018}{v}\u{2019}"
                    )),
                }),
                "-print" | "-xdev" | "-mount" | "-follow" => Ok(None),
                other => Err(format!("find: unknown predicate `{other}'")),
            };
            match test {
                Ok(Some(t)) => tests.push(t),
                Ok(None) => {}
                Err(message) => {
                    let message: String = message.chars().take(300).collect();
                    let _ = writeln!(out.stderr, "{message}");
                    out.status = 1;
                    return;
                }
            }
        }
        let starts = if starts.is_empty() { vec!["."] } else { starts };
        let mut found = 0;
        for start in starts {
            let path = normalize(&self.cwd, start);
            if self.host.stat(&path).is_none() && !self.is_dir(&path) {
                let _ = writeln!(
                    out.stderr,
                    "find: \u{2018}{start}\u{2019}: No such file or directory"
                );
                out.status = 1;
                continue;
            }
            self.walk(
                &path,
                start,
                0,
                (min_depth, max_depth),
                &tests,
                &mut found,
                out,
            );
        }
    }

    /// Lists `path` (shown as `shown`) and, for a folder, what is under it.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        path: &str,
        shown: &str,
        depth: usize,
        (min, max): (usize, usize),
        tests: &[Test],
        found: &mut usize,
        out: &mut Output,
    ) {
        if *found >= MAX_FOUND {
            return;
        }
        *found += 1;
        if depth >= min && self.passes(path, tests) {
            let _ = writeln!(out.stdout, "{shown}");
        }
        let is_dir = self.is_dir(path) && self.host.link_target(path).is_none();
        if !is_dir || depth >= max {
            return;
        }
        let readable = self.user.uid == 0 || self.can_read(path) && self.can_enter(path);
        if !readable {
            let _ = writeln!(
                out.stderr,
                "find: \u{2018}{shown}\u{2019}: Permission denied"
            );
            out.status = 1;
            return;
        }
        for child in self.children(path) {
            let sub = normalize(path, &child);
            let sub_shown = if shown.ends_with('/') {
                format!("{shown}{child}")
            } else {
                format!("{shown}/{child}")
            };
            self.walk(&sub, &sub_shown, depth + 1, (min, max), tests, found, out);
        }
    }

    fn passes(&self, path: &str, tests: &[Test]) -> bool {
        let st = self.host.stat(path);
        let kind = st.as_ref().map_or('d', |s| s.kind);
        let name = path
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("/");
        tests.iter().all(|t| match t {
            Test::Name(p, fold) => {
                let (p, n) = if *fold {
                    (p.to_lowercase(), name.to_lowercase())
                } else {
                    (p.clone(), name.to_string())
                };
                super::flow::glob(
                    &p.chars().collect::<Vec<_>>(),
                    &n.chars().collect::<Vec<_>>(),
                )
            }
            // `ls` writes a plain file's kind as `-`.
            Test::Type(k) => kind == if *k == 'f' { '-' } else { *k },
            Test::SetUid => st
                .as_ref()
                .is_some_and(|s| s.mode.as_bytes().get(2) == Some(&b's')),
            Test::User(u) => st.as_ref().is_some_and(|s| &s.owner == u),
            Test::Never => false,
            Test::Writable => {
                if kind == 'd' {
                    self.may_change_in(path)
                } else {
                    self.may_write(path).is_ok()
                }
            }
        })
    }

    /// Whether the user may search the folder `path` (its `x` bits).
    fn can_enter(&self, path: &str) -> bool {
        let Some(st) = self.host.stat(path) else {
            return true;
        };
        let m = st.mode.as_bytes();
        let x = |i: usize| m.get(i).is_some_and(|c| matches!(c, b'x' | b's' | b't'));
        x(8) || (st.owner == self.user.name && x(2)) || (st.group == self.user.name && x(5))
    }
}
