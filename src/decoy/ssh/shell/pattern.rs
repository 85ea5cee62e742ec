//! The patterns the fake host's `grep` understands: POSIX basic (with GNU's `\|`, `\+`,
//! `\?`) and extended syntax, anchors, `.`, bracket expressions with ranges and the
//! `[:class:]` names, `\w` and `\s`, and the quantifiers `*`, `+`, `?` and intervals.
//! Groups are read as their contents (a quantifier after one applies to its last atom);
//! back-references and word assertions are not supported. Both are rare in the lines
//! intruders type.
//!
//! A line is matched by walking the set of positions every branch can have reached after
//! each of its pieces, never by backtracking, so the time is bounded by the pattern's size
//! times the line's length whatever the pattern.

/// One atom of a pattern.
#[derive(Clone, Debug)]
enum Atom {
    Char(char),
    Any,
    /// A bracket expression: its ranges (inclusive), negated or not.
    Set(bool, Vec<(char, char)>),
}

#[derive(Clone, Debug)]
struct Piece {
    atom: Atom,
    /// Fewest repeats.
    min: u32,
    /// Most repeats; `None` for no limit.
    max: Option<u32>,
}

/// The largest count an interval may give (GNU grep allows more; such patterns are not
/// typed by people).
const MAX_REPEAT: u32 = 255;

#[derive(Clone, Debug, Default)]
struct Branch {
    starts: bool,
    ends: bool,
    pieces: Vec<Piece>,
}

/// A parsed pattern: matches when any branch does.
#[derive(Clone, Debug)]
pub(super) struct Pattern {
    branches: Vec<Branch>,
    fold: bool,
}

/// How a pattern is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Syntax {
    Basic,
    Extended,
    Fixed,
}

/// grep's message for a bracket expression left open.
pub(super) const UNMATCHED: &str = "grep: Unmatched [, [^, [:, [., or [=";
const INVALID: &str = "grep: Invalid regular expression";

impl Pattern {
    /// Reads `text`; `fold` ignores case. An error is grep's message.
    pub fn parse(text: &str, syntax: Syntax, fold: bool) -> Result<Pattern, &'static str> {
        let text = if fold {
            text.to_lowercase()
        } else {
            text.to_string()
        };
        let chars: Vec<char> = text.chars().collect();
        let mut branches = vec![Branch::default()];
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            let branch = branches.last_mut().unwrap_or_else(|| unreachable!());
            if syntax == Syntax::Fixed {
                if c == '\n' {
                    branches.push(Branch::default());
                } else {
                    branch.pieces.push(Piece::one(Atom::Char(c)));
                }
                continue;
            }
            let extended = syntax == Syntax::Extended;
            let quantifier = |q: char| match q {
                '+' => (1, None),
                '?' => (0, Some(1)),
                _ => (0, None),
            };
            let atom = match c {
                '\n' => {
                    branches.push(Branch::default());
                    continue;
                }
                '^' if branch.pieces.is_empty() && !branch.starts => {
                    branch.starts = true;
                    continue;
                }
                '$' if i == chars.len()
                    || (extended && matches!(chars.get(i), Some('|' | ')')))
                    || (!extended && chars[i..].starts_with(&['\\', '|'])) =>
                {
                    branch.ends = true;
                    continue;
                }
                '|' if extended => {
                    branches.push(Branch::default());
                    continue;
                }
                '(' | ')' if extended => continue,
                '*' | '+' | '?' if (extended || c == '*') && !branch.pieces.is_empty() => {
                    repeat(&mut branch.pieces, quantifier(c));
                    continue;
                }
                '{' if extended && !branch.pieces.is_empty() => {
                    let (bounds, next) = interval(&chars, i, "}")?;
                    i = next;
                    repeat(&mut branch.pieces, bounds);
                    continue;
                }
                '.' => Atom::Any,
                '[' => {
                    let (set, next) = bracket(&chars, i)?;
                    i = next;
                    set
                }
                '\\' => {
                    let Some(&e) = chars.get(i) else {
                        return Err("grep: Trailing backslash");
                    };
                    i += 1;
                    match e {
                        '|' if !extended => {
                            branches.push(Branch::default());
                            continue;
                        }
                        '(' | ')' | '<' | '>' | 'b' | 'B' if !extended || !"()".contains(e) => {
                            continue;
                        }
                        '+' | '?' if !extended && !branch.pieces.is_empty() => {
                            repeat(&mut branch.pieces, quantifier(e));
                            continue;
                        }
                        '{' if !extended && !branch.pieces.is_empty() => {
                            let (bounds, next) = interval(&chars, i, "\\}")?;
                            i = next;
                            repeat(&mut branch.pieces, bounds);
                            continue;
                        }
                        'w' => Atom::Set(false, word_ranges()),
                        'W' => Atom::Set(true, word_ranges()),
                        's' => Atom::Set(false, space_ranges()),
                        'S' => Atom::Set(true, space_ranges()),
                        other => Atom::Char(other),
                    }
                }
                other => Atom::Char(other),
            };
            branch.pieces.push(Piece::one(atom));
        }
        Ok(Pattern { branches, fold })
    }

    /// Whether `line` holds a match; `word` asks for one bounded by non-word characters
    /// (`-w`), `whole` for the whole line (`-x`).
    pub fn matches(&self, line: &str, word: bool, whole: bool) -> bool {
        let hay = self.hay(line);
        let n = hay.len();
        self.branches.iter().any(|b| {
            let edges = Edges {
                b,
                hay: &hay,
                word,
                whole,
            };
            let mut at: Vec<bool> = (0..=n).map(|i| edges.may_start(i)).collect();
            for p in &b.pieces {
                at = p.step(&at, &hay);
                if !at.contains(&true) {
                    return false;
                }
            }
            (0..=n).any(|e| at[e] && edges.may_end(e))
        })
    }

    /// The characters of `line` as this pattern compares them.
    fn hay(&self, line: &str) -> Vec<char> {
        if self.fold {
            line.to_lowercase().chars().collect()
        } else {
            line.chars().collect()
        }
    }
}

/// Where a match of one branch may start and end in a line: anchors, `-w` and `-x`.
struct Edges<'a> {
    b: &'a Branch,
    hay: &'a [char],
    word: bool,
    whole: bool,
}

impl Edges<'_> {
    fn may_start(&self, i: usize) -> bool {
        (!(self.b.starts || self.whole) || i == 0)
            && (!self.word || i == 0 || !is_word(self.hay[i - 1]))
    }

    fn may_end(&self, e: usize) -> bool {
        let n = self.hay.len();
        (!(self.b.ends || self.whole) || e == n) && (!self.word || e == n || !is_word(self.hay[e]))
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Pattern {
    /// The matches `grep --color` marks in `line`, as char index ranges: leftmost first,
    /// each as long as it can be, empty ones left out. Lines longer than [`SPAN_LIMIT`]
    /// characters are not searched (each start costs a pass over the line).
    pub fn spans(&self, line: &str, word: bool, whole: bool) -> Vec<(usize, usize)> {
        let hay = self.hay(line);
        let n = hay.len();
        if n > SPAN_LIMIT {
            return Vec::new();
        }
        let mut spans = Vec::new();
        let mut s = 0;
        while s <= n {
            let mut best: Option<usize> = None;
            for b in &self.branches {
                let edges = Edges {
                    b,
                    hay: &hay,
                    word,
                    whole,
                };
                if !edges.may_start(s) {
                    continue;
                }
                let mut at = vec![false; n + 1];
                at[s] = true;
                for p in &b.pieces {
                    at = p.step(&at, &hay);
                }
                best = best.max((s..=n).rev().find(|&e| at[e] && edges.may_end(e)));
            }
            match best {
                Some(e) if e > s => {
                    spans.push((s, e));
                    s = e;
                }
                _ => s += 1,
            }
        }
        spans
    }
}

/// The longest line `grep --color` marks matches in.
pub(super) const SPAN_LIMIT: usize = 1024;

impl Piece {
    fn one(atom: Atom) -> Piece {
        Piece {
            atom,
            min: 1,
            max: Some(1),
        }
    }

    /// The positions reachable from any of `at` by this piece.
    fn step(&self, at: &[bool], hay: &[char]) -> Vec<bool> {
        let once = |from: &[bool]| -> Vec<bool> {
            let mut next = vec![false; from.len()];
            for (i, c) in hay.iter().enumerate() {
                if from[i] && self.atom.matches(*c) {
                    next[i + 1] = true;
                }
            }
            next
        };
        let mut cur = at.to_vec();
        for _ in 0..self.min {
            cur = once(&cur);
        }
        match self.max {
            None => {
                for (i, c) in hay.iter().enumerate() {
                    if cur[i] && self.atom.matches(*c) {
                        cur[i + 1] = true;
                    }
                }
            }
            Some(max) => {
                for _ in self.min..max {
                    let more = once(&cur);
                    for (c, m) in cur.iter_mut().zip(more) {
                        *c |= m;
                    }
                }
            }
        }
        cur
    }
}

/// Applies a quantifier `(min, max)` to the last piece; a second one multiplies the first.
fn repeat(pieces: &mut [Piece], (min, max): (u32, Option<u32>)) {
    if let Some(last) = pieces.last_mut() {
        last.min = last.min.saturating_mul(min).min(MAX_REPEAT);
        last.max = match (last.max, max) {
            (Some(a), Some(b)) => Some(a.saturating_mul(b).min(MAX_REPEAT)),
            _ => None,
        };
    }
}

/// An interval `{n}`, `{n,}`, `{,m}` or `{n,m}` whose `{` is at `from - 1`, closed by
/// `close`: the bounds and the index past it.
fn interval(
    chars: &[char],
    from: usize,
    close: &str,
) -> Result<((u32, Option<u32>), usize), &'static str> {
    const BAD: &str = "grep: Invalid content of \\{\\}";
    let rest: String = chars[from..].iter().collect();
    let end = rest.find(close).ok_or("grep: Unmatched \\{")?;
    let body = &rest[..end];
    let number = |t: &str| -> Result<Option<u32>, &'static str> {
        if t.is_empty() {
            return Ok(None);
        }
        let n: u32 = t.parse().map_err(|_| BAD)?;
        if n > MAX_REPEAT {
            return Err("grep: Regular expression too big");
        }
        Ok(Some(n))
    };
    let bounds = match body.split_once(',') {
        None => {
            let n = number(body)?.ok_or(BAD)?;
            (n, Some(n))
        }
        Some((a, b)) => (number(a)?.unwrap_or(0), number(b)?),
    };
    if bounds.1.is_some_and(|m| m < bounds.0) {
        return Err(BAD);
    }
    Ok((bounds, from + body.chars().count() + close.chars().count()))
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            Atom::Any => true,
            Atom::Set(negated, ranges) => {
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated
            }
        }
    }
}

/// A bracket expression whose `[` is at `from - 1`: the set and the index past its `]`.
fn bracket(chars: &[char], from: usize) -> Result<(Atom, usize), &'static str> {
    let mut i = from;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    // GNU grep's wordings: a `[` or `[^` that ends the pattern is refused before the
    // bracket is read, one left open later is "unmatched".
    if i == chars.len() {
        return Err(INVALID);
    }
    let body = i;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i).ok_or(UNMATCHED)?;
        if c == ']' && i > body {
            // `[:alpha:]` where `[[:alpha:]]` was meant: grep refuses it rather than
            // match one of its letters.
            let inner = &chars[body..i];
            if inner.len() > 1
                && inner[0] == ':'
                && inner[inner.len() - 1] == ':'
                && inner.iter().any(|c| *c != ':')
            {
                return Err("grep: character class syntax is [[:space:]], not [:space:]");
            }
            return Ok((Atom::Set(negated, ranges), i + 1));
        }
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest.find(":]").ok_or(UNMATCHED)?;
            ranges.extend(class(&rest[..end]).ok_or("grep: Invalid character class name")?);
            i += 2 + rest[..end].chars().count() + 2;
            continue;
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            if chars[i + 2] < c {
                return Err("grep: Invalid range end");
            }
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

fn class(name: &str) -> Option<Vec<(char, char)>> {
    Some(match name {
        "alpha" => vec![('a', 'z'), ('A', 'Z')],
        "digit" => vec![('0', '9')],
        "alnum" => vec![('a', 'z'), ('A', 'Z'), ('0', '9')],
        "upper" => vec![('A', 'Z')],
        "lower" => vec![('a', 'z')],
        "space" => space_ranges(),
        "blank" => vec![(' ', ' '), ('\t', '\t')],
        "xdigit" => vec![('0', '9'), ('a', 'f'), ('A', 'F')],
        "punct" => vec![('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "print" => vec![(' ', '~')],
        "graph" => vec![('!', '~')],
        "cntrl" => vec![('\0', '\u{1f}'), ('\u{7f}', '\u{7f}')],
        _ => return None,
    })
}

fn word_ranges() -> Vec<(char, char)> {
    vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]
}

fn space_ranges() -> Vec<(char, char)> {
    vec![(' ', ' '), ('\t', '\r')]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn any_pattern_is_read_or_refused_and_matching_stays_bounded() {
        // Attackers type garbage: every pattern made of regex syntax and text either parses
        // or gets grep's message, and matching never panics whatever the line.
        const PARTS: &[&str] = &[
            "[",
            "]",
            "[^",
            "[:",
            ":]",
            "[:alpha:]",
            "\\",
            "\\(",
            "\\)",
            "\\{",
            "\\}",
            "{",
            "}",
            "{2}",
            "{1,",
            ",3}",
            "{99999}",
            "*",
            "+",
            "?",
            "|",
            "\\|",
            "^",
            "$",
            ".",
            "a",
            "é",
            "-",
            "(",
            ")",
            "\\w",
            "x",
            "\n",
            "0",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let line = "root:x:0:0:root:/root:/bin/bash é ab ba";
        for _ in 0..5000 {
            let n = rng.random_range(0..8);
            let text: String = (0..n)
                .map(|_| PARTS[rng.random_range(0..PARTS.len())])
                .collect();
            for syntax in [Syntax::Basic, Syntax::Extended, Syntax::Fixed] {
                let fold = rng.random_bool(0.5);
                match Pattern::parse(&text, syntax, fold) {
                    Ok(p) => {
                        let (w, x) = (rng.random_bool(0.5), rng.random_bool(0.2));
                        let found = p.matches(line, w, x);
                        let spans = p.spans(line, w, x);
                        // A marked span is a match.
                        assert!(spans.is_empty() || found, "{text:?}");
                        assert!(spans.windows(2).all(|s| s[0].1 <= s[1].0), "{text:?}");
                    }
                    Err(message) => assert!(message.starts_with("grep: "), "{text:?}"),
                }
            }
        }
        // Repeats are capped, so a pattern cannot ask for an unbounded walk.
        assert!(Pattern::parse("a{256}", Syntax::Extended, false).is_err());
        let long = "a".repeat(SPAN_LIMIT + 1);
        let p = Pattern::parse("a*a*a*a*a*b", Syntax::Basic, false).unwrap();
        assert!(!p.matches(&long, false, false));
        assert!(p.spans(&long, false, false).is_empty());
    }
}
