//! coreutils' small text tools as scripts use them in pipelines: `cut`, `sort`, `uniq`, `tr`,
//! `basename`, `dirname`, `seq`, `tee`, `md5sum`, `sha256sum`, `base64`, `yes`, and `nohup`.
//! `cat /etc/passwd | cut -d: -f1` is how an intruder lists users; a shell where it is
//! "command not found" is no Debian. Options beyond what scripts use are taken and ignored;
//! output is bounded as every command's is.

use std::fmt::Write as _;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::fs::missing_operand;
use super::{Output, Shell};

/// Most bytes `yes` and `seq` write: they would run until the reader stops.
const MAX_GENERATED: usize = 16 << 10;

impl Shell {
    /// Runs one of this module's tools.
    pub(super) fn text_tool(
        &mut self,
        name: &str,
        args: &[&str],
        stdin: Option<&str>,
        out: &mut Output,
    ) {
        match name {
            "basename" => match args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .collect::<Vec<_>>()[..]
            {
                [] => missing_operand(name, "missing operand", out),
                [path] => {
                    let _ = writeln!(out.stdout, "{}", basename(path, ""));
                }
                [path, suffix] => {
                    let _ = writeln!(out.stdout, "{}", basename(path, suffix));
                }
                [_, _, extra, ..] => {
                    missing_operand(name, &format!("extra operand \u{2018}{extra}\u{2019}"), out)
                }
            },
            "dirname" => {
                let names: Vec<&&str> = args.iter().filter(|a| !a.starts_with('-')).collect();
                if names.is_empty() {
                    return missing_operand(name, "missing operand", out);
                }
                for n in names {
                    let _ = writeln!(out.stdout, "{}", dirname(n));
                }
            }
            "cut" => self.cut(args, stdin, out),
            "sort" => {
                let (flags, files) = split_flags(args);
                let mut lines: Vec<String> = Vec::new();
                for (_, text) in self.inputs(name, &files, stdin, out) {
                    lines.extend(text.lines().map(str::to_string));
                }
                if flags.contains('n') {
                    lines.sort_by(|a, b| {
                        leading_number(a)
                            .partial_cmp(&leading_number(b))
                            .unwrap_or(std::cmp::Ordering::Equal)
                            .then_with(|| a.cmp(b))
                    });
                } else {
                    lines.sort();
                }
                if flags.contains('r') {
                    lines.reverse();
                }
                if flags.contains('u') {
                    lines.dedup();
                }
                for l in lines {
                    let _ = writeln!(out.stdout, "{l}");
                }
            }
            "uniq" => {
                let (flags, files) = split_flags(args);
                let text: String = self
                    .inputs(name, &files[..files.len().min(1)], stdin, out)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                let mut runs: Vec<(usize, &str)> = Vec::new();
                for l in text.lines() {
                    match runs.last_mut() {
                        Some((n, last)) if *last == l => *n += 1,
                        _ => runs.push((1, l)),
                    }
                }
                for (n, l) in runs {
                    if (flags.contains('d') && n < 2) || (flags.contains('u') && n > 1) {
                        continue;
                    }
                    if flags.contains('c') {
                        let _ = writeln!(out.stdout, "{n:>7} {l}");
                    } else {
                        let _ = writeln!(out.stdout, "{l}");
                    }
                }
            }
            "tr" => self.tr(args, stdin, out),
            "seq" => seq(args, out),
            "tee" => {
                let (flags, files) = split_flags(args);
                let text = stdin.unwrap_or_default();
                for f in files {
                    let path = self.path_of(f);
                    match self.may_write(&path) {
                        Ok(()) => self.write(&path, text, flags.contains('a')),
                        Err(why) => {
                            let _ = writeln!(out.stderr, "tee: {f}: {why}");
                            out.status = 1;
                        }
                    }
                }
                out.stdout.push_str(text);
            }
            "md5sum" | "sha256sum" => {
                let (_, files) = split_flags(args);
                for (title, text) in self.inputs(name, &files, stdin, out) {
                    let hash = if name == "md5sum" {
                        crate::store::files::hex(&Md5::digest(text.as_bytes()))
                    } else {
                        crate::store::files::hex(&Sha256::digest(text.as_bytes()))
                    };
                    let _ = writeln!(out.stdout, "{hash}  {title}");
                }
            }
            "base64" => {
                let (flags, files) = split_flags(args);
                let decode = flags.contains('d') || args.contains(&"--decode");
                let text: String = self
                    .inputs(name, &files[..files.len().min(1)], stdin, out)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                let engine = base64::engine::general_purpose::STANDARD;
                if decode {
                    let clean: String = text.split_whitespace().collect();
                    match engine.decode(clean.as_bytes()) {
                        Ok(bytes) => out.stdout.push_str(&String::from_utf8_lossy(&bytes)),
                        Err(_) => {
                            out.stderr.push_str("base64: invalid input\n");
                            out.status = 1;
                        }
                    }
                } else {
                    let encoded = engine.encode(text.as_bytes());
                    for chunk in encoded.as_bytes().chunks(76) {
                        out.stdout.push_str(&String::from_utf8_lossy(chunk));
                        out.stdout.push('\n');
                    }
                }
            }
            "yes" => {
                let word = if args.is_empty() {
                    "y".to_string()
                } else {
                    args.join(" ")
                };
                while out.stdout.len() < MAX_GENERATED {
                    out.stdout.push_str(&word);
                    out.stdout.push('\n');
                }
            }
            "nohup" => {
                if args.is_empty() {
                    let _ = writeln!(
                        out.stderr,
                        "nohup: missing operand\nTry 'nohup --help' for more information."
                    );
                    out.status = 125;
                    return;
                }
                let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                // On a terminal nohup sends the output to nohup.out; elsewhere it only runs.
                if self.to_tty {
                    out.stderr
                        .push_str("nohup: ignoring input and appending output to 'nohup.out'\n");
                    let mut inner = Output::default();
                    self.command(&words, None, &mut inner);
                    let path = self.path_of("nohup.out");
                    if self.may_write(&path).is_ok() {
                        self.write(&path, &inner.stdout, true);
                    }
                    out.stderr.push_str(&inner.stderr);
                    out.status = inner.status;
                } else {
                    self.command(&words, stdin, out);
                }
            }
            _ => {}
        }
    }

    /// `cut -d DELIM -f LIST`, `cut -c LIST` (`-b` as `-c`), `-s`.
    fn cut(&self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let (mut delim, mut list, mut chars, mut only_delimited) = ('\t', None, false, false);
        let mut files = Vec::new();
        let mut it = args.iter().copied();
        while let Some(a) = it.next() {
            if let Some(rest) = a.strip_prefix("-d") {
                let v = if rest.is_empty() {
                    it.next().unwrap_or_default()
                } else {
                    rest
                };
                match v.chars().next() {
                    Some(c) if v.chars().count() == 1 => delim = c,
                    _ => {
                        return missing_operand(
                            "cut",
                            "the delimiter must be a single character",
                            out,
                        );
                    }
                }
            } else if let Some(rest) = a.strip_prefix("-f") {
                list = Some(if rest.is_empty() {
                    it.next().unwrap_or_default()
                } else {
                    rest
                });
            } else if let Some(rest) = a.strip_prefix("-c").or_else(|| a.strip_prefix("-b")) {
                list = Some(if rest.is_empty() {
                    it.next().unwrap_or_default()
                } else {
                    rest
                });
                chars = true;
            } else if a == "-s" {
                only_delimited = true;
            } else {
                files.push(a);
            }
        }
        let Some(list) = list else {
            return missing_operand(
                "cut",
                "you must specify a list of bytes, characters, or fields",
                out,
            );
        };
        let Some(ranges) = parse_list(list) else {
            let zero = list.split([',', '-']).any(|n| n.parse() == Ok(0u64));
            let why = match (zero, chars) {
                (true, false) => "fields are numbered from 1".to_string(),
                (true, true) => "byte/character positions are numbered from 1".to_string(),
                (false, false) => format!("invalid field value \u{2018}{list}\u{2019}"),
                (false, true) => "invalid byte or character range".to_string(),
            };
            return missing_operand("cut", &why, out);
        };
        let wanted = |i: usize| ranges.iter().any(|&(a, b)| a <= i && i <= b);
        for (_, text) in self.inputs("cut", &files, stdin, out) {
            for line in text.lines() {
                if chars {
                    let kept: String = line
                        .chars()
                        .enumerate()
                        .filter(|(i, _)| wanted(i + 1))
                        .map(|(_, c)| c)
                        .collect();
                    let _ = writeln!(out.stdout, "{kept}");
                } else if !line.contains(delim) {
                    if !only_delimited {
                        let _ = writeln!(out.stdout, "{line}");
                    }
                } else {
                    let kept: Vec<&str> = line
                        .split(delim)
                        .enumerate()
                        .filter(|(i, _)| wanted(i + 1))
                        .map(|(_, f)| f)
                        .collect();
                    let _ = writeln!(out.stdout, "{}", kept.join(&delim.to_string()));
                }
            }
        }
    }

    /// `tr [-d] [-s] [-c] SET1 [SET2]`.
    fn tr(&self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let (flags, sets) = split_flags(args);
        let (delete, squeeze, complement) = (
            flags.contains('d'),
            flags.contains('s'),
            flags.contains(['c', 'C']),
        );
        let needed = if delete && !squeeze {
            1
        } else {
            2 - usize::from(squeeze && !delete)
        };
        if sets.len() < needed.max(1) {
            let what = match sets.first() {
                None => "missing operand".to_string(),
                Some(s) => format!("missing operand after \u{2018}{s}\u{2019}"),
            };
            return missing_operand("tr", &what, out);
        }
        let set1 = expand_set(sets[0]);
        let set2 = sets.get(1).map(|s| expand_set(s)).unwrap_or_default();
        let in1 = |c: char| set1.contains(&c) != complement;
        let text = stdin.unwrap_or_default();
        let mut done = String::with_capacity(text.len());
        let mut last: Option<char> = None;
        for c in text.chars() {
            let mapped = if delete {
                if in1(c) {
                    continue;
                }
                c
            } else if !set2.is_empty() && in1(c) {
                match set1.iter().position(|&x| x == c) {
                    Some(i) => set2.get(i).or(set2.last()).copied().unwrap_or(c),
                    None => *set2.last().unwrap_or(&c),
                }
            } else {
                c
            };
            let squeeze_set = if delete || set2.is_empty() {
                &set1
            } else {
                &set2
            };
            if squeeze && last == Some(mapped) && squeeze_set.contains(&mapped) {
                continue;
            }
            last = Some(mapped);
            done.push(mapped);
        }
        out.stdout.push_str(&done);
    }
}

/// Single-letter flags (bundled or not) and the other words, `-` being a word.
fn split_flags<'a>(args: &[&'a str]) -> (String, Vec<&'a str>) {
    let mut flags = String::new();
    let mut words = Vec::new();
    for a in args {
        match a.strip_prefix('-') {
            Some(f) if !f.is_empty() && !f.starts_with('-') => flags.push_str(f),
            Some(f) if f.starts_with('-') => {}
            _ => words.push(*a),
        }
    }
    (flags, words)
}

fn basename(path: &str, suffix: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            String::new()
        } else {
            "/".into()
        };
    }
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    match base.strip_suffix(suffix) {
        Some(b) if !b.is_empty() && !suffix.is_empty() => b.to_string(),
        _ => base.to_string(),
    }
}

fn dirname(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.starts_with('/') {
            "/".into()
        } else {
            ".".into()
        };
    }
    match trimmed.rsplit_once('/') {
        None => ".".into(),
        Some((head, _)) => {
            let head = head.trim_end_matches('/');
            if head.is_empty() {
                "/".into()
            } else {
                head.to_string()
            }
        }
    }
}

/// A list of 1-based positions for `cut`: `3`, `1,3`, `2-4`, `-2`, `5-`.
fn parse_list(list: &str) -> Option<Vec<(usize, usize)>> {
    let num = |s: &str| s.parse::<usize>().ok().filter(|&n| n > 0);
    list.split(',')
        .map(|part| match part.split_once('-') {
            None => num(part).map(|n| (n, n)),
            Some(("", "")) => None,
            Some(("", b)) => num(b).map(|b| (1, b)),
            Some((a, "")) => num(a).map(|a| (a, usize::MAX)),
            Some((a, b)) => Some((num(a)?, num(b)?)).filter(|(a, b)| a <= b),
        })
        .collect()
}

/// What `sort -n` compares: the number a line begins with (0 when none).
fn leading_number(line: &str) -> f64 {
    let t = line.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0.0)
}

/// A `tr` set with its ranges, classes and escapes spelled out.
fn expand_set(set: &str) -> Vec<char> {
    /// A class's name and who belongs to it.
    type Class = (&'static str, fn(char) -> bool);
    const CLASSES: &[Class] = &[
        ("[:upper:]", |c| c.is_ascii_uppercase()),
        ("[:lower:]", |c| c.is_ascii_lowercase()),
        ("[:digit:]", |c| c.is_ascii_digit()),
        ("[:alpha:]", |c| c.is_ascii_alphabetic()),
        ("[:alnum:]", |c| c.is_ascii_alphanumeric()),
        ("[:space:]", |c| c.is_ascii_whitespace() || c == '\u{b}'),
        ("[:blank:]", |c| c == ' ' || c == '\t'),
        ("[:punct:]", |c| c.is_ascii_punctuation()),
    ];
    let (text, _) = super::echo_escapes(set);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        if let Some((name, test)) = CLASSES.iter().find(|(n, _)| rest.starts_with(n)) {
            out.extend((0u8..128).map(char::from).filter(|&c| test(c)));
            rest = &rest[name.len()..];
            continue;
        }
        let mut it = rest.chars();
        let a = it.next().unwrap_or_default();
        let after = it.as_str();
        match (
            after.strip_prefix('-'),
            after.strip_prefix('-').and_then(|r| r.chars().next()),
        ) {
            (Some(r), Some(b)) if a <= b => {
                // A range spans at most the Basic Multilingual Plane's worth of characters.
                out.extend((a..=b).take(0x1_0000));
                rest = &r[b.len_utf8()..];
            }
            _ => {
                out.push(a);
                rest = after;
            }
        }
    }
    out
}

/// `seq [FIRST [INCREMENT]] LAST`, integers.
fn seq(args: &[&str], out: &mut Output) {
    let nums: Vec<Result<i64, &str>> = args
        .iter()
        .filter(|a| a.parse::<i64>().is_ok() || !a.starts_with('-'))
        .map(|a| a.parse::<i64>().map_err(|_| *a))
        .collect();
    if let Some(Err(bad)) = nums.iter().find(|n| n.is_err()) {
        let shown: String = bad.chars().take(256).collect();
        return missing_operand(
            "seq",
            &format!("invalid floating point argument: \u{2018}{shown}\u{2019}"),
            out,
        );
    }
    let n: Vec<i64> = nums.into_iter().flatten().collect();
    let (first, step, last) = match n[..] {
        [] => return missing_operand("seq", "missing operand", out),
        [l] => (1, 1, l),
        [f, l] => (f, 1, l),
        [f, s, l] => (f, s, l),
        [_, _, _, x, ..] => {
            return missing_operand("seq", &format!("extra operand \u{2018}{x}\u{2019}"), out);
        }
    };
    if step == 0 {
        return missing_operand(
            "seq",
            "invalid Zero increment value: \u{2018}0\u{2019}",
            out,
        );
    }
    let mut v = first;
    while (step > 0 && v <= last) || (step < 0 && v >= last) {
        let _ = writeln!(out.stdout, "{v}");
        if out.stdout.len() >= MAX_GENERATED {
            break;
        }
        v += step;
    }
}
