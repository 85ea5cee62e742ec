//! `ls` (coreutils 9.1) over the fake host: short and long listings, columns on a
//! terminal, `-a -A -d -F -g -G -h -l -o -1`, `--color`, and the colours the distribution's
//! `.bashrc` turns on (`alias ls='ls --color=auto'` with `dircolors`' table) when the
//! listing goes to the session's terminal.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::stat::{self, Stat};
use super::{Output, Shell, columns_of, expand_home, ls_human, normalize};

/// How `ls` was asked to list.
#[derive(Default)]
struct Options {
    /// `-a`: `.` and `..` and hidden names; `-A`: hidden names only.
    all: bool,
    almost_all: bool,
    long: bool,
    human: bool,
    /// `-d`: folders as themselves.
    itself: bool,
    /// `-F`: a mark after each name for its type.
    classify: bool,
    /// `-1`: one name per line.
    one: bool,
    /// Columns of a long listing: (owner, group).
    shown: (bool, bool),
    color: bool,
}

impl Shell {
    pub(super) fn ls(&self, args: &[&str], out: &mut Output) {
        let mut o = Options {
            shown: (true, true),
            ..Options::default()
        };
        let mut color_when = "never";
        let mut targets: Vec<&str> = Vec::new();
        for a in args.iter().copied() {
            if let Some(long) = a.strip_prefix("--") {
                match long {
                    "all" => o.all = true,
                    "almost-all" => o.almost_all = true,
                    "classify" => o.classify = true,
                    "directory" => o.itself = true,
                    "human-readable" => o.human = true,
                    "color" => color_when = "always",
                    l if l.starts_with("color=") => color_when = &l[6..],
                    "" => {}
                    _ => {
                        let _ = writeln!(
                            out.stderr,
                            "ls: unrecognized option '{a}'\nTry 'ls --help' for more information."
                        );
                        out.status = 2;
                        return;
                    }
                }
                continue;
            }
            let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
                targets.push(a);
                continue;
            };
            for f in flags.chars() {
                match f {
                    'a' => o.all = true,
                    'A' => o.almost_all = true,
                    'l' => o.long = true,
                    'h' => o.human = true,
                    'd' => o.itself = true,
                    'F' => o.classify = true,
                    '1' => o.one = true,
                    // -g leaves the owner out, -o and -G the group; -g and -o also mean -l.
                    'g' => (o.long, o.shown.0) = (true, false),
                    'o' => (o.long, o.shown.1) = (true, false),
                    'G' => o.shown.1 = false,
                    'C' => o.one = false,
                    // Sorting and the like: the listing is already sorted by name.
                    _ => {}
                }
            }
        }
        o.color = match color_when {
            "always" | "yes" | "force" => true,
            "auto" | "tty" | "if-tty" => self.to_tty,
            _ => false,
        };
        if targets.is_empty() {
            targets.push(".");
        }
        let many = targets.len() > 1;
        // As coreutils does: errors first, then the entries named, together and sorted,
        // then each folder's contents.
        let (mut entries, mut folders) = (Vec::new(), Vec::new());
        for t in &targets {
            let path = normalize(&self.cwd, &expand_home(t, &self.user));
            let Some(st) = self.stat(&path) else {
                let _ = writeln!(
                    out.stderr,
                    "ls: cannot access '{t}': No such file or directory"
                );
                out.status = 2;
                continue;
            };
            // A link to a folder is listed as itself in a long listing unless named with a
            // slash; one to a file always is.
            let as_entry = st.kind == '-'
                || o.itself
                || (st.kind == 'l' && ((o.long && !t.ends_with('/')) || !self.is_dir(&path)));
            if as_entry {
                entries.push((path, t.to_string()));
            } else {
                folders.push((path, *t));
            }
        }
        entries.sort_by(|a, b| a.1.cmp(&b.1));
        folders.sort_by(|a, b| a.1.cmp(b.1));
        // The reset coreutils writes once, before the first coloured name.
        let mut reset_due = o.color;
        self.list(&entries, &o, &mut reset_due, out);
        for (i, (path, t)) in folders.iter().enumerate() {
            if many {
                if i > 0 || !entries.is_empty() {
                    out.stdout.push('\n');
                }
                let _ = writeln!(out.stdout, "{t}:");
            }
            let mut names = self.children(path);
            if o.all {
                names.insert(0, "..".into());
                names.insert(0, ".".into());
            } else if !o.almost_all {
                names.retain(|n| !n.starts_with('.'));
            }
            let listed: Vec<(String, String)> = names
                .iter()
                .map(|n| (normalize(path, n), n.clone()))
                .collect();
            if o.long {
                let total: u64 = listed
                    .iter()
                    .filter_map(|(p, _)| self.stat(p))
                    .map(|s| s.blocks)
                    .sum();
                if o.human {
                    let _ = writeln!(out.stdout, "total {}", ls_human(total as usize * 1024));
                } else {
                    let _ = writeln!(out.stdout, "total {total}");
                }
            }
            self.list(&listed, &o, &mut reset_due, out);
        }
    }

    /// Lists (path, name as shown) pairs: long lines, columns on a terminal, else a name
    /// per line.
    fn list(
        &self,
        entries: &[(String, String)],
        o: &Options,
        reset_due: &mut bool,
        out: &mut Output,
    ) {
        if o.long {
            self.long_lines(entries, o, reset_due, out);
            return;
        }
        let items: Vec<(String, usize)> = entries
            .iter()
            .filter_map(|(p, n)| {
                let st = self.stat(p)?;
                let mut shown = self.paint(n, &st, p, o.color, reset_due);
                let mut width = n.chars().count();
                if o.classify
                    && let Some(mark) = indicator(&st, self.is_dir(p))
                {
                    shown.push(mark);
                    width += 1;
                }
                Some((shown, width))
            })
            .collect();
        if self.to_tty && !o.one {
            out.stdout.push_str(&columns_of(&items, 80, !o.color));
        } else {
            for (shown, _) in &items {
                let _ = writeln!(out.stdout, "{shown}");
            }
        }
    }

    /// `ls -l` lines, in columns as coreutils aligns them.
    fn long_lines(
        &self,
        entries: &[(String, String)],
        o: &Options,
        reset_due: &mut bool,
        out: &mut Output,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let rows: Vec<(Stat, String, String)> = entries
            .iter()
            .filter_map(|(p, n)| {
                let st = self.stat(p)?;
                let size = if o.human {
                    ls_human(st.size as usize)
                } else {
                    st.size.to_string()
                };
                let mut name = self.paint(n, &st, p, o.color, reset_due);
                if let Some(t) = &st.target {
                    let resolved = normalize(&super::parent(p), t);
                    let target = self.stat(&resolved);
                    let _ = write!(name, " -> ");
                    match &target {
                        Some(ts) => {
                            name.push_str(&self.paint(t, ts, &resolved, o.color, reset_due))
                        }
                        None => name.push_str(&paint_as(t, link_target_color(t, o.color))),
                    }
                    if o.classify
                        && let Some(ts) = &target
                        && let Some(mark) = indicator(ts, self.is_dir(&resolved))
                    {
                        name.push(mark);
                    }
                } else if o.classify
                    && let Some(mark) = indicator(&st, self.is_dir(p))
                {
                    name.push(mark);
                }
                Some((st, size, name))
            })
            .collect();
        let width =
            |f: &dyn Fn(&(Stat, String, String)) -> usize| rows.iter().map(f).max().unwrap_or(0);
        let wl = width(&|r| r.0.links.to_string().len());
        let wo = width(&|r| r.0.owner.len());
        let wg = width(&|r| r.0.group.len());
        let ws = width(&|r| r.1.len());
        let (owner, group) = o.shown;
        for (st, size, name) in &rows {
            let mut line = format!("{}{} {:>wl$} ", st.kind, st.mode, st.links);
            if owner {
                let _ = write!(line, "{:<wo$} ", st.owner);
            }
            if group {
                let _ = write!(line, "{:<wg$} ", st.group);
            }
            let _ = writeln!(
                out.stdout,
                "{line}{size:>ws$} {} {name}",
                stat::ls_time(st.mtime, now)
            );
        }
    }

    /// `name` in the colour of its entry, if colours are on; the first coloured name of a
    /// listing carries the reset coreutils writes before it.
    fn paint(
        &self,
        name: &str,
        st: &Stat,
        path: &str,
        color: bool,
        reset_due: &mut bool,
    ) -> String {
        let Some(code) = color
            .then(|| color_of(st, self.is_dir(path), name))
            .flatten()
        else {
            return name.to_string();
        };
        let reset = if std::mem::take(reset_due) {
            "\x1b[0m"
        } else {
            ""
        };
        format!("{reset}{}", paint_as(name, Some(code)))
    }
}

fn paint_as(text: &str, code: Option<&str>) -> String {
    match code {
        Some(c) => format!("\x1b[{c}m{text}\x1b[0m"),
        None => text.to_string(),
    }
}

/// A link's target the host does not list, coloured as what the chain of links ends at
/// (as coreutils colours it): `/run` and what is under it exist on a running host
/// (folders); an alternative leads to a program.
fn link_target_color(target: &str, color: bool) -> Option<&'static str> {
    if !color {
        return None;
    }
    if target.starts_with("/run") {
        Some("01;34")
    } else if target.starts_with("/etc/alternatives/") {
        Some("01;32")
    } else {
        None
    }
}

/// The colour `dircolors`' default table gives an entry.
fn color_of(st: &Stat, is_dir: bool, name: &str) -> Option<&'static str> {
    let m = st.mode.as_bytes();
    match st.kind {
        'l' => Some("01;36"),
        'd' | '-' if is_dir || st.kind == 'd' => {
            let (sticky, other_writable) = (m[8] == b't' || m[8] == b'T', m[7] == b'w');
            Some(match (sticky, other_writable) {
                (true, true) => "30;42",
                (false, true) => "34;42",
                (true, false) => "37;44",
                (false, false) => "01;34",
            })
        }
        _ if m[2] == b's' || m[2] == b'S' => Some("37;41"),
        _ if m[5] == b's' || m[5] == b'S' => Some("30;43"),
        _ if m[2] == b'x' || m[5] == b'x' || m[8] == b'x' => Some("01;32"),
        _ => extension_color(name),
    }
}

fn extension_color(name: &str) -> Option<&'static str> {
    const ARCHIVES: &[&str] = &[
        "tar", "tgz", "arc", "arj", "taz", "lha", "lz4", "lzh", "lzma", "tlz", "txz", "tzo", "t7z",
        "zip", "z", "dz", "gz", "lrz", "lz", "lzo", "xz", "zst", "tzst", "bz2", "bz", "tbz",
        "tbz2", "tz", "deb", "rpm", "jar", "war", "ear", "sar", "rar", "alz", "ace", "zoo", "cpio",
        "7z", "rz", "cab", "wim", "swm", "dwm", "esd",
    ];
    const MEDIA: &[&str] = &[
        "avif", "jpg", "jpeg", "mjpg", "mjpeg", "gif", "bmp", "pbm", "pgm", "ppm", "tga", "xbm",
        "xpm", "tif", "tiff", "png", "svg", "svgz", "mng", "pcx", "mov", "mpg", "mpeg", "m2v",
        "mkv", "webm", "webp", "ogm", "mp4", "m4v", "mp4v", "vob", "qt", "nuv", "wmv", "asf", "rm",
        "rmvb", "flc", "avi", "fli", "flv", "gl", "dl", "xcf", "xwd", "yuv", "cgm", "emf", "ogv",
        "ogx",
    ];
    const AUDIO: &[&str] = &[
        "aac", "au", "flac", "m4a", "mid", "midi", "mka", "mp3", "mpc", "ogg", "ra", "wav", "oga",
        "opus", "spx", "xspf",
    ];
    const LEFTOVERS: &[&str] = &[
        "bak",
        "old",
        "orig",
        "part",
        "rej",
        "swp",
        "tmp",
        "dpkg-dist",
        "dpkg-old",
        "ucf-dist",
        "ucf-new",
        "ucf-old",
        "rpmnew",
        "rpmorig",
        "rpmsave",
    ];
    if name.ends_with('~') || name.ends_with('#') {
        return Some("00;90");
    }
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let ext = ext.as_str();
    if ARCHIVES.contains(&ext) {
        Some("01;31")
    } else if MEDIA.contains(&ext) {
        Some("01;35")
    } else if AUDIO.contains(&ext) {
        Some("00;36")
    } else if LEFTOVERS.contains(&ext) {
        Some("00;90")
    } else {
        None
    }
}

/// `-F`'s mark for an entry.
fn indicator(st: &Stat, is_dir: bool) -> Option<char> {
    let m = st.mode.as_bytes();
    match st.kind {
        'l' => Some('@'),
        'd' => Some('/'),
        _ if is_dir => Some('/'),
        _ if m[2] == b'x' || m[5] == b'x' || m[8] == b'x' || m[2] == b's' || m[5] == b's' => {
            Some('*')
        }
        _ => None,
    }
}
