//! bash's compound commands: `if`/`elif`/`else`/`fi`, `for NAME [in WORDS]; do …; done`,
//! `while`/`until`, `{ …; }` groups, and functions (`name() { …; }`). A shell where `if` is
//! "command not found" breaks every script at its first test, and bots' scripts are little
//! else. A line is cut into commands by [`super::split_commands`]; a reserved word that begins
//! a command opens or closes a block, and the blocks are parsed into [`Node`]s. Input that
//! leaves a block open is incomplete (bash's `>` prompt, or a script's next lines); a word out
//! of place is bash's syntax error. Loops stop after [`MAX_ITERATIONS`] turns: a real
//! `while true` would run until the intruder gives up, and here nothing runs.

use std::sync::Arc;

use super::{Output, Sep, Shell};

/// Blocks one line may nest.
const MAX_NESTING: usize = 32;

/// Turns of all loops one line may take.
pub(super) const MAX_ITERATIONS: usize = 1000;

/// One command of a list, with the separator before it.
#[derive(Clone, Debug)]
pub(super) struct Item {
    pub sep: Sep,
    pub node: Node,
    /// A compound command's own redirections, as typed after its closing word
    /// (`done < list`, `fi > log 2>&1`).
    pub redirect: Option<String>,
}

#[derive(Clone, Debug)]
pub(super) enum Node {
    /// A simple command (or pipeline stage) as typed; sent to the background when `true`.
    Simple(String, bool),
    If {
        arms: Vec<(Vec<Item>, Vec<Item>)>,
        otherwise: Option<Vec<Item>>,
    },
    For {
        var: String,
        /// The words after `in`, unexpanded; `None` without `in` (the positional
        /// parameters, of which there are none).
        list: Option<String>,
        body: Vec<Item>,
    },
    While {
        until: bool,
        cond: Vec<Item>,
        body: Vec<Item>,
    },
    Group(Vec<Item>),
    Function(String, Arc<Vec<Item>>),
    Case {
        /// The word matched, unexpanded.
        subject: String,
        /// Each arm's glob patterns and commands.
        arms: Vec<(Vec<String>, Vec<Item>)>,
    },
}

/// Why a line does not parse.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ParseError {
    /// A block is still open: more lines are needed.
    Incomplete,
    /// A reserved word where none may be: bash's "syntax error near unexpected token".
    Unexpected(String),
}

/// A command of the line, cut at its reserved words.
enum Tok {
    Word(&'static str, Sep),
    Cmd(String, Sep, bool),
    /// `case WORD in`: the word.
    Case(String, Sep),
    /// The patterns that open an arm of `case` (`a|b)`).
    Patterns(Vec<String>),
    /// Redirections after a closing word.
    Redirect(String),
}

const OPENERS: &[&str] = &["if", "then", "elif", "else", "while", "until", "do", "{"];
const CLOSERS: &[&str] = &["fi", "done", "}", "esac"];

/// The reserved word `cmd` begins with, and what follows it.
fn reserved(cmd: &str) -> Option<(&'static str, &str)> {
    let t = cmd.trim_start();
    let end = t.find([' ', '\t']).unwrap_or(t.len());
    let word = OPENERS
        .iter()
        .chain(CLOSERS)
        .chain(&["for"])
        .find(|w| **w == &t[..end])?;
    Some((word, &t[end..]))
}

/// `name()` or `function name` at the start of `cmd`: the function's name and the rest.
fn function_head(cmd: &str) -> Option<(&str, &str)> {
    let t = cmd.trim_start();
    let (name, rest) = if let Some(r) = t.strip_prefix("function ") {
        let r = r.trim_start();
        let end = r.find([' ', '\t', '(']).unwrap_or(r.len());
        let rest = r[end..].trim_start();
        (&r[..end], rest.strip_prefix("()").unwrap_or(rest))
    } else {
        let open = t.find('(')?;
        let rest = t[open..]
            .strip_prefix('(')?
            .trim_start()
            .strip_prefix(')')?;
        (t[..open].trim_end(), rest)
    };
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !name.as_bytes()[0].is_ascii_digit();
    ok.then_some((name, rest))
}

/// `case WORD in` at the start of `cmd`: the word and what follows `in` (all of the rest
/// when `in` is missing, which the parser then refuses).
fn case_head(cmd: &str) -> Option<(&str, &str)> {
    let t = cmd.trim_start().strip_prefix("case")?;
    if !t.starts_with(char::is_whitespace) {
        return None;
    }
    let t = t.trim_start();
    // The word ends at a blank outside quotes and `$(...)`.
    let (mut depth, mut quote) = (0u32, None);
    let end = t
        .char_indices()
        .find(|&(_, c)| {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => depth = depth.saturating_sub(1),
                (None, c) if c.is_whitespace() && depth == 0 => return true,
                _ => {}
            }
            false
        })
        .map_or(t.len(), |(i, _)| i);
    let (subject, rest) = (&t[..end], t[end..].trim_start());
    let rest = match rest.strip_prefix("in") {
        Some(r) if r.is_empty() || r.starts_with(char::is_whitespace) => r,
        _ => rest,
    };
    Some((subject, rest))
}

/// The patterns opening an arm of `case` at the start of `piece`, and what follows them.
fn arm_head(piece: &str) -> Option<(Vec<String>, &str)> {
    let t = piece.trim_start();
    let t = t.strip_prefix('(').unwrap_or(t);
    let close = t.find(')')?;
    let patterns = t[..close]
        .split('|')
        .map(|p| p.trim().to_string())
        .collect();
    Some((patterns, &t[close + 1..]))
}

fn tokens(pieces: &[(&str, Sep, bool)]) -> Vec<Tok> {
    let mut toks = Vec::new();
    // After `case WORD in` and after `;;`, a piece begins with an arm's patterns.
    let mut arm_next = false;
    let mut i = 0;
    while i < pieces.len() {
        let (first, sep, bg) = pieces[i];
        i += 1;
        // `a|b)` was cut at its `|` as if it were a pipe: joined again.
        let mut joined = first.to_string();
        let open_arm = |t: &str, arm_next: bool| {
            if arm_next {
                !t.contains(')') && reserved(t).is_none_or(|(w, _)| w != "esac")
            } else {
                case_head(t).is_some_and(|(_, r)| !r.trim().is_empty() && !r.contains(')'))
            }
        };
        while open_arm(&joined, arm_next) && pieces.get(i).is_some_and(|p| p.1 == Sep::Pipe) {
            joined.push('|');
            joined.push_str(pieces[i].0);
            i += 1;
        }
        let piece = joined.as_str();
        let (mut rest, mut sep) = (piece, sep);
        if piece == ";;" {
            toks.push(Tok::Word(";;", sep));
            arm_next = true;
            continue;
        }
        if arm_next && !piece.trim().is_empty() {
            if reserved(piece).is_some_and(|(w, _)| w == "esac") {
                arm_next = false;
            } else if let Some((patterns, after)) = arm_head(piece) {
                toks.push(Tok::Patterns(patterns));
                (rest, sep, arm_next) = (after, Sep::Then, false);
            }
        }
        loop {
            if let Some((subject, after_in)) = case_head(rest) {
                toks.push(Tok::Case(subject.to_string(), sep));
                (rest, sep, arm_next) = (after_in, Sep::Then, true);
                if rest.trim().is_empty() {
                    break;
                }
                // An arm may begin on the same line (`case $x in a) …`), or `esac` end it.
                arm_next = false;
                if reserved(rest).is_none_or(|(w, _)| w != "esac")
                    && let Some((patterns, body)) = arm_head(rest)
                {
                    toks.push(Tok::Patterns(patterns));
                    rest = body;
                }
                continue;
            }
            if let Some((name, after)) = function_head(rest) {
                toks.push(Tok::Word("function", sep));
                toks.push(Tok::Cmd(name.to_string(), Sep::Then, false));
                (rest, sep) = (after, Sep::Then);
                continue;
            }
            match reserved(rest) {
                Some(("for", after)) => {
                    toks.push(Tok::Word("for", sep));
                    toks.push(Tok::Cmd(after.trim().to_string(), Sep::Then, false));
                    break;
                }
                Some((w, after)) if CLOSERS.contains(&w) && !after.trim().is_empty() => {
                    toks.push(Tok::Word(w, sep));
                    toks.push(Tok::Redirect(after.trim().to_string()));
                    break;
                }
                Some((w, after)) => {
                    toks.push(Tok::Word(w, sep));
                    (rest, sep) = (after, Sep::Then);
                }
                None => {
                    if !rest.trim().is_empty() {
                        toks.push(Tok::Cmd(rest.to_string(), sep, bg));
                    }
                    break;
                }
            }
        }
    }
    toks
}

/// Parses the commands of a line (or of several, joined) into a list.
pub(super) fn parse(pieces: &[(&str, Sep, bool)]) -> Result<Vec<Item>, ParseError> {
    let toks = tokens(pieces);
    // The parser and the runner recurse once per block: blocks nested deeper than
    // MAX_NESTING are refused at the word that opens one too many.
    let mut depth = 0usize;
    for t in &toks {
        match t {
            Tok::Word("if" | "while" | "until" | "for" | "{" | "function", _) | Tok::Case(..) => {
                depth += 1;
                if depth > MAX_NESTING {
                    let word = match t {
                        Tok::Word(w, _) => w,
                        _ => &"case",
                    };
                    return Err(ParseError::Unexpected((*word).into()));
                }
            }
            Tok::Word("fi" | "done" | "}" | "esac", _) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let mut at = 0;
    let (items, stop) = list(&toks, &mut at, &[])?;
    match stop {
        None => Ok(items),
        Some(w) => Err(ParseError::Unexpected(w.into())),
    }
}

/// Reads items until one of the reserved words in `until` (returned), or the end.
fn list(
    toks: &[Tok],
    at: &mut usize,
    until: &[&str],
) -> Result<(Vec<Item>, Option<&'static str>), ParseError> {
    let mut items = Vec::new();
    while let Some(t) = toks.get(*at) {
        *at += 1;
        let (word, sep) = match t {
            Tok::Cmd(text, sep, bg) => {
                items.push(Item {
                    sep: *sep,
                    node: Node::Simple(text.clone(), *bg),
                    redirect: None,
                });
                continue;
            }
            // Not after a block: words of a command of their own.
            Tok::Redirect(text) => {
                items.push(Item {
                    sep: Sep::Then,
                    node: Node::Simple(text.clone(), false),
                    redirect: None,
                });
                continue;
            }
            Tok::Word(w, sep) => (*w, *sep),
            Tok::Case(subject, sep) => {
                let mut arms = Vec::new();
                loop {
                    match toks.get(*at) {
                        Some(Tok::Patterns(p)) => {
                            *at += 1;
                            let (body, stop) = expect(toks, at, &[";;", "esac"])?;
                            arms.push((p.clone(), body));
                            if stop == "esac" {
                                break;
                            }
                        }
                        Some(Tok::Word("esac", _)) => {
                            *at += 1;
                            break;
                        }
                        Some(Tok::Word(w, _)) => return Err(ParseError::Unexpected((*w).into())),
                        Some(Tok::Cmd(c, ..)) => {
                            let first = c.split_whitespace().next().unwrap_or_default();
                            return Err(ParseError::Unexpected(first.into()));
                        }
                        Some(Tok::Case(..)) => return Err(ParseError::Unexpected("case".into())),
                        Some(Tok::Redirect(r)) => return Err(ParseError::Unexpected(r.clone())),
                        None => return Err(ParseError::Incomplete),
                    }
                }
                items.push(Item {
                    sep: *sep,
                    node: Node::Case {
                        subject: subject.clone(),
                        arms,
                    },
                    redirect: take_redirect(toks, at),
                });
                continue;
            }
            Tok::Patterns(p) => {
                let first = p.first().cloned().unwrap_or_default();
                return Err(ParseError::Unexpected(format!("{first})")));
            }
        };
        if until.contains(&word) {
            return Ok((items, Some(word)));
        }
        let node = match word {
            "if" => {
                let mut arms = Vec::new();
                let mut otherwise = None;
                loop {
                    let (cond, _) = expect(toks, at, &["then"])?;
                    let (body, stop) = expect(toks, at, &["elif", "else", "fi"])?;
                    arms.push((cond, body));
                    match stop {
                        "elif" => continue,
                        "else" => {
                            otherwise = Some(expect(toks, at, &["fi"])?.0);
                            break;
                        }
                        _ => break,
                    }
                }
                Node::If { arms, otherwise }
            }
            "for" => {
                let header = match toks.get(*at) {
                    Some(Tok::Cmd(h, ..)) => {
                        *at += 1;
                        h.clone()
                    }
                    _ => return Err(ParseError::Unexpected("newline".into())),
                };
                let mut words = header.split_whitespace();
                let var = words.next().unwrap_or_default().to_string();
                let list = match words.next() {
                    Some("in") => Some(words.collect::<Vec<_>>().join(" ")),
                    Some(other) => return Err(ParseError::Unexpected(other.into())),
                    None => None,
                };
                expect_word(toks, at, "do")?;
                let (body, _) = expect(toks, at, &["done"])?;
                Node::For { var, list, body }
            }
            "while" | "until" => {
                let (cond, _) = expect(toks, at, &["do"])?;
                let (body, _) = expect(toks, at, &["done"])?;
                Node::While {
                    until: word == "until",
                    cond,
                    body,
                }
            }
            "{" => Node::Group(expect(toks, at, &["}"])?.0),
            "function" => {
                let name = match toks.get(*at) {
                    Some(Tok::Cmd(n, ..)) => n.clone(),
                    _ => return Err(ParseError::Unexpected("(".into())),
                };
                *at += 1;
                match toks.get(*at) {
                    Some(Tok::Word("{", _)) => *at += 1,
                    None => return Err(ParseError::Incomplete),
                    Some(Tok::Word(w, _)) => return Err(ParseError::Unexpected((*w).into())),
                    Some(Tok::Cmd(c, ..)) => {
                        let first = c.split_whitespace().next().unwrap_or_default();
                        return Err(ParseError::Unexpected(first.into()));
                    }
                    Some(Tok::Case(..) | Tok::Patterns(_) | Tok::Redirect(_)) => {
                        return Err(ParseError::Unexpected("case".into()));
                    }
                }
                Node::Function(name, Arc::new(expect(toks, at, &["}"])?.0))
            }
            other => return Err(ParseError::Unexpected(other.into())),
        };
        let redirect = take_redirect(toks, at);
        items.push(Item {
            sep,
            node,
            redirect,
        });
    }
    if until.is_empty() {
        Ok((items, None))
    } else {
        Err(ParseError::Incomplete)
    }
}

/// The redirections written after the block just read, if any.
fn take_redirect(toks: &[Tok], at: &mut usize) -> Option<String> {
    match toks.get(*at) {
        Some(Tok::Redirect(r)) => {
            *at += 1;
            Some(r.clone())
        }
        _ => None,
    }
}

/// A list ended by one of `until`: the list and the word that ended it.
fn expect(
    toks: &[Tok],
    at: &mut usize,
    until: &[&str],
) -> Result<(Vec<Item>, &'static str), ParseError> {
    match list(toks, at, until)? {
        (items, Some(w)) => Ok((items, w)),
        (_, None) => Err(ParseError::Incomplete),
    }
}

fn expect_word(toks: &[Tok], at: &mut usize, word: &str) -> Result<(), ParseError> {
    match toks.get(*at) {
        Some(Tok::Word(w, _)) if *w == word => {
            *at += 1;
            Ok(())
        }
        Some(Tok::Word(w, _)) => Err(ParseError::Unexpected((*w).into())),
        Some(Tok::Cmd(c, ..)) => Err(ParseError::Unexpected(
            c.split_whitespace().next().unwrap_or_default().into(),
        )),
        Some(Tok::Case(..)) => Err(ParseError::Unexpected("case".into())),
        Some(Tok::Patterns(p)) => Err(ParseError::Unexpected(p.join("|"))),
        Some(Tok::Redirect(r)) => Err(ParseError::Unexpected(r.clone())),
        None => Err(ParseError::Incomplete),
    }
}

impl Shell {
    /// Runs a parsed list: `&&` and `||` look at the status before them, a pipe hands what
    /// the stage before it wrote to the next.
    pub(super) fn run_items(&mut self, items: &[Item], out: &mut Output) {
        let mut piped: Option<String> = None;
        for (i, item) in items.iter().enumerate() {
            let stdin = piped.take().filter(|_| item.sep == Sep::Pipe);
            let skip = match item.sep {
                Sep::And => out.status != 0,
                Sep::Or => out.status == 0,
                Sep::Then | Sep::Pipe => false,
            };
            if skip {
                continue;
            }
            let piped_on = items.get(i + 1).is_some_and(|n| n.sep == Sep::Pipe);
            // A block's own redirections are opened before it runs.
            let plan = match &item.redirect {
                Some(r) => {
                    let r = self.substitute(r, out);
                    let (_, redirects) = super::words(&r, self);
                    match self.open(&redirects, out) {
                        Some(plan) => Some(plan),
                        None => {
                            self.last_status = out.status;
                            continue;
                        }
                    }
                }
                None => None,
            };
            // What a block reads (`done < list`, `… | while read`) is read line by line by
            // the `read`s inside it.
            let block_input = plan.as_ref().and_then(|p| p.stdin.clone()).or_else(|| {
                (!matches!(item.node, Node::Simple(..)))
                    .then(|| stdin.clone())
                    .flatten()
            });
            let outer_input = block_input.map(|text| {
                let lines = text.lines().map(str::to_string).collect();
                self.input.replace(lines)
            });
            let (shown, wrote) = (out.stdout.len(), out.stderr.len());
            match &item.node {
                Node::Simple(cmd, background) => {
                    self.simple(cmd, stdin, piped_on, *background, out);
                }
                Node::If { arms, otherwise } => {
                    let mut ran = false;
                    for (cond, body) in arms {
                        self.run_items(cond, out);
                        if out.exit {
                            return;
                        }
                        if out.status == 0 {
                            self.run_items(body, out);
                            ran = true;
                            break;
                        }
                    }
                    match otherwise {
                        Some(body) if !ran => self.run_items(body, out),
                        None if !ran => out.status = 0,
                        _ => {}
                    }
                }
                Node::For { var, list, body } => {
                    let words = match list {
                        Some(l) => {
                            let l = self.substitute(l, out);
                            super::words(&l, self).0
                        }
                        None => Vec::new(),
                    };
                    out.status = 0;
                    self.loops += 1;
                    for w in words {
                        if !self.turn() {
                            break;
                        }
                        self.set_var(var, &w);
                        self.run_items(body, out);
                        if out.exit || self.aborted || self.leave_loop() {
                            break;
                        }
                    }
                    self.loops -= 1;
                }
                Node::While { until, cond, body } => {
                    let mut status = 0;
                    self.loops += 1;
                    while self.turn() {
                        self.run_items(cond, out);
                        if out.exit || (out.status == 0) == *until {
                            break;
                        }
                        self.run_items(body, out);
                        status = out.status;
                        if out.exit || self.aborted || self.leave_loop() {
                            break;
                        }
                    }
                    self.loops -= 1;
                    out.status = status;
                }
                Node::Group(body) => self.run_items(body, out),
                Node::Case { subject, arms } => {
                    let subject = self.substitute(subject, out);
                    let subject = super::words(&subject, self).0.join(" ");
                    out.status = 0;
                    let chosen = arms.iter().find(|(patterns, _)| {
                        patterns.iter().any(|p| {
                            let p = super::words(p, self).0.join(" ");
                            glob(
                                &p.chars().collect::<Vec<_>>(),
                                &subject.chars().collect::<Vec<_>>(),
                            )
                        })
                    });
                    if let Some((_, body)) = chosen {
                        self.run_items(body, out);
                    }
                }
                Node::Function(name, body) => {
                    self.define(name, body.clone());
                    out.status = 0;
                }
            }
            if let Some(outer) = outer_input {
                self.input = outer;
            }
            if let Some(plan) = plan {
                let printed = out.stdout.split_off(shown);
                let errors = out.stderr.split_off(wrote);
                self.route(&printed, &plan.out, out);
                self.route(&errors, &plan.err, out);
            }
            if piped_on {
                piped = Some(out.stdout.split_off(shown));
            }
            self.last_status = out.status;
            if out.exit
                || self.aborted
                || self.breaking.is_some()
                || out.stdout.len() + out.stderr.len() > 256 << 10
            {
                break;
            }
        }
    }

    /// After a loop's body: whether `break` (or a `continue` meant for a loop further out)
    /// ends this loop. A `continue` for this one is used up and the loop goes on.
    fn leave_loop(&mut self) -> bool {
        match self.breaking.take() {
            None => false,
            Some((true, 1)) => false,
            Some((_, 1)) => true,
            Some((cont, n)) => {
                self.breaking = Some((cont, n - 1));
                true
            }
        }
    }

    /// Counts one loop turn; `false` once the line has taken its share.
    fn turn(&mut self) -> bool {
        self.turns += 1;
        self.turns <= MAX_ITERATIONS
    }

    /// bash's answer to a line that does not parse (status 2).
    pub(super) fn syntax_error(&self, e: &ParseError, text: &str, out: &mut Output) {
        let message = match e {
            ParseError::Unexpected(t) => format!("syntax error near unexpected token `{t}'"),
            ParseError::Incomplete => "syntax error: unexpected end of file".into(),
        };
        let text = if self.interactive && self.depth == 0 {
            format!("-bash: {message}\n")
        } else if self.dash {
            format!(
                "{}: {}: Syntax error: {}\n",
                self.zero(),
                self.line,
                dash_wording(e)
            )
        } else {
            let zero = if self.script.is_some() {
                self.zero()
            } else {
                "bash: -c"
            };
            // The end of the file is on the line after the last one.
            let line = match e {
                ParseError::Incomplete => self.line + text.lines().count() as u32,
                ParseError::Unexpected(_) => self.line,
            };
            let mut t = format!("{zero}: line {line}: {message}\n");
            // A misplaced word: bash shows the line it was on.
            if matches!(e, ParseError::Unexpected(_)) {
                let shown = text.lines().last().unwrap_or_default();
                t.push_str(&format!("{zero}: line {line}: `{shown}'\n"));
            }
            t
        };
        out.stderr.push_str(&text);
        out.status = 2;
    }
}

/// dash's words for the same errors.
fn dash_wording(e: &ParseError) -> String {
    match e {
        ParseError::Unexpected(t) => format!("\"{t}\" unexpected"),
        ParseError::Incomplete => "end of file unexpected".into(),
    }
}

/// Whether `s` matches the shell pattern `p` (`*`, `?`, `[...]` with `!`/`^` and ranges).
/// Backtracks to the last `*` only, so it takes at most `p.len() * s.len()` steps.
pub(super) fn glob(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => bracket(&p[pi..], s[si]),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == s[si]).then_some(2),
            Some(&c) => (c == s[si]).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                si += 1;
            }
            None => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A bracket expression at the start of `p` against `c`: the pattern characters it takes
/// when `c` matches. An unclosed `[` is a plain character.
fn bracket(p: &[char], c: char) -> Option<usize> {
    let negate = matches!(p.get(1), Some('!' | '^'));
    let mut i = 1 + usize::from(negate);
    let first = i;
    let mut hit = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    if i >= p.len() {
        return (c == '[').then_some(1);
    }
    (hit != negate).then_some(i + 1)
}
