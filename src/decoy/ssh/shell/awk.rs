//! The fake host's `awk` (mawk 1.3.4 on both distributions): programs of `BEGIN`, `END`
//! and `PATTERN { ACTION }` rules, the kind intruders type to pick accounts and fields out
//! of system files (`awk -F: '$3 == 0 {print $1}' /etc/passwd`). Patterns compare fields,
//! `NR`, `NF`, strings and numbers (numerically when both sides look like numbers, as awk
//! does), match extended regular expressions (`/re/`, `~`, `!~`), and combine with `&&`,
//! `||`, `!` and parentheses. Actions are `print` lists (`,` joins with a space, juxtaposed
//! terms concatenate), assignments to variables (`=`, `+=`, `-=`, `++`, `--`) and `next`;
//! expressions have `+ - * / %`, `length`, `$NF` and `$(NF-1)`. Arrays, `printf`, `if` and
//! the other functions are not known: a program using them prints nothing, as if it had
//! matched nothing.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::pattern::{Pattern, Syntax};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Re(String),
    Word(String),
    Field,
    Op(&'static str),
}

#[derive(Clone, Debug)]
enum Expr {
    Str(String),
    Num(f64),
    Field(Box<Expr>),
    Nr,
    Nf,
    Length(Option<Box<Expr>>),
    /// `NF - k`, inside `$( )`.
    NfMinus(f64),
    Concat(Vec<Expr>),
    Var(String),
    /// `+ - * / %`.
    Arith(Box<Expr>, char, Box<Expr>),
    Match(Box<Expr>, Pattern, bool),
    Compare(Box<Expr>, &'static str, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Debug)]
enum Stmt {
    Print(Vec<Expr>),
    Next,
    /// `v = e`, `v += e`, `v -= e` (`v++` is `v += 1`).
    Assign(String, char, Expr),
}

#[derive(Clone, Debug)]
enum When {
    Begin,
    End,
    Always,
    If(Expr),
}

/// A parsed program.
pub(super) struct Program {
    rules: Vec<(When, Vec<Stmt>)>,
}

/// One record being read: its text, fields and number.
struct Record<'a> {
    line: &'a str,
    fields: Vec<&'a str>,
    nr: usize,
}

impl Program {
    /// Reads `text`; `None` for what this awk does not run.
    pub fn parse(text: &str) -> Option<Program> {
        let toks = lex(text)?;
        let mut p = Parser { toks, at: 0 };
        let mut rules = Vec::new();
        while p.peek().is_some() {
            if p.eat(&Tok::Op(";")) || p.eat(&Tok::Op("\n")) {
                continue;
            }
            let when = if p.eat(&Tok::Word("BEGIN".into())) {
                When::Begin
            } else if p.eat(&Tok::Word("END".into())) {
                When::End
            } else if p.peek() == Some(&Tok::Op("{")) {
                When::Always
            } else {
                When::If(p.or()?)
            };
            let action = if p.eat(&Tok::Op("{")) {
                let a = p.statements()?;
                p.expect(&Tok::Op("}"))?;
                a
            } else {
                vec![Stmt::Print(Vec::new())]
            };
            rules.push((when, action));
        }
        Some(Program { rules })
    }

    /// Runs the program over `input` with field separator `sep`.
    pub fn run(&self, sep: Option<&str>, input: &str, out: &mut String) {
        let mut vars: Vars = HashMap::new();
        let vars = &mut vars;
        let empty = Record {
            line: "",
            fields: Vec::new(),
            nr: 0,
        };
        for (when, action) in &self.rules {
            if matches!(when, When::Begin) {
                exec(action, &empty, vars, out);
            }
        }
        let mut last_nr = 0;
        for (i, line) in input.lines().enumerate() {
            let fields: Vec<&str> = match sep {
                Some(s) if !s.is_empty() && s != " " => line.split(s).collect(),
                _ => line.split_whitespace().collect(),
            };
            let rec = Record {
                line,
                fields,
                nr: i + 1,
            };
            last_nr = rec.nr;
            for (when, action) in &self.rules {
                let run = match when {
                    When::Always => true,
                    When::If(e) => truth(&eval(e, &rec, vars)),
                    When::Begin | When::End => false,
                };
                if run && exec(action, &rec, vars, out) {
                    break;
                }
            }
            if out.len() > super::MAX_FILE_BYTES {
                break;
            }
        }
        let end = Record {
            line: "",
            fields: Vec::new(),
            nr: last_nr,
        };
        for (when, action) in &self.rules {
            if matches!(when, When::End) {
                exec(action, &end, vars, out);
            }
        }
    }
}

/// The program's variables.
type Vars = HashMap<String, Val>;

/// Most variables a program may set: a bound on what garbage programs can grow.
const MAX_VARS: usize = 256;

/// Longest string a value may hold.
const MAX_VALUE: usize = super::MAX_LINE;

fn cap(mut t: String) -> String {
    if t.len() > MAX_VALUE {
        t.truncate(super::floor_char_boundary(&t, MAX_VALUE));
    }
    t
}

/// Runs an action; true when it asks for the `next` record.
fn exec(action: &[Stmt], rec: &Record, vars: &mut Vars, out: &mut String) -> bool {
    for s in action {
        match s {
            Stmt::Next => return true,
            Stmt::Assign(name, op, e) => {
                let v = eval(e, rec, vars);
                let new = match op {
                    '=' => v,
                    _ => {
                        let old = vars.get(name).and_then(number).unwrap_or(0.0);
                        let by = number(&v).unwrap_or_else(|| leading_number(&text(&v)));
                        Val::Num(if *op == '+' { old + by } else { old - by })
                    }
                };
                let new = match new {
                    Val::Str(t) => Val::Str(cap(t)),
                    other => other,
                };
                if vars.len() < MAX_VARS || vars.contains_key(name) {
                    vars.insert(name.clone(), new);
                }
            }
            Stmt::Print(list) if list.is_empty() => {
                let _ = writeln!(out, "{}", rec.line);
            }
            Stmt::Print(list) => {
                let parts: Vec<String> = list.iter().map(|e| text(&eval(e, rec, vars))).collect();
                let _ = writeln!(out, "{}", parts.join(" "));
            }
        }
    }
    false
}

/// A value: awk's strings and numbers (a string from input may compare as a number).
#[derive(Clone, Debug)]
enum Val {
    Str(String),
    Num(f64),
    /// Input that looks like a number: compared numerically against numbers.
    StrNum(String, f64),
}

fn val_of_input(s: &str) -> Val {
    match s.trim().parse::<f64>() {
        Ok(n)
            if !s.trim().is_empty()
                && s.trim()
                    .chars()
                    .all(|c| c.is_ascii_digit() || ".-+eE".contains(c)) =>
        {
            Val::StrNum(s.to_string(), n)
        }
        _ => Val::Str(s.to_string()),
    }
}

fn text(v: &Val) -> String {
    match v {
        Val::Str(s) | Val::StrNum(s, _) => s.clone(),
        Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Val::Num(n) => g6(*n),
    }
}

/// A number as C's `%.6g` writes it (awk's OFMT): six significant digits, trailing zeros
/// dropped, an exponent for the very large and very small.
fn g6(n: f64) -> String {
    if !n.is_finite() {
        return if n.is_nan() {
            "nan".into()
        } else if n > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if n == 0.0 {
        return "0".into();
    }
    let exp = n.abs().log10().floor() as i32;
    let trim = |t: String| -> String {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if !(-4..6).contains(&exp) {
        let t = format!("{n:.5e}"); // "2.99930e3"
        let (mantissa, e) = t.split_once('e').unwrap_or((&t, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa.to_string()), e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    trim(format!("{n:.decimals$}"))
}

fn number(v: &Val) -> Option<f64> {
    match v {
        Val::Num(n) | Val::StrNum(_, n) => Some(*n),
        Val::Str(_) => None,
    }
}

/// The number a string starts with, as awk reads one in arithmetic ("12abc" is 12).
fn leading_number(s: &str) -> f64 {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+'))
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    t[..end].parse().unwrap_or(0.0)
}

fn truth(v: &Val) -> bool {
    match v {
        Val::Num(n) => *n != 0.0,
        Val::StrNum(_, n) => *n != 0.0,
        Val::Str(s) => !s.is_empty(),
    }
}

fn eval(e: &Expr, rec: &Record, vars: &Vars) -> Val {
    let boolean = |b: bool| Val::Num(f64::from(u8::from(b)));
    match e {
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Num(n) => Val::Num(*n),
        Expr::Nr => Val::Num(rec.nr as f64),
        Expr::Nf => Val::Num(rec.fields.len() as f64),
        Expr::NfMinus(k) => Val::Num(rec.fields.len() as f64 - k),
        Expr::Field(i) => {
            let i = number(&eval(i, rec, vars)).unwrap_or(0.0);
            if i < 0.0 {
                return Val::Str(String::new());
            }
            match i as usize {
                0 => val_of_input(rec.line),
                n => val_of_input(rec.fields.get(n - 1).copied().unwrap_or("")),
            }
        }
        Expr::Length(of) => {
            let s = match of {
                Some(x) => text(&eval(x, rec, vars)),
                None => rec.line.to_string(),
            };
            Val::Num(s.chars().count() as f64)
        }
        Expr::Concat(parts) => {
            // Bounded, as every value: `n = n n` on each record must not double forever.
            let mut joined = String::new();
            for p in parts {
                joined.push_str(&text(&eval(p, rec, vars)));
                if joined.len() > MAX_VALUE {
                    break;
                }
            }
            Val::Str(cap(joined))
        }
        Expr::Var(name) => vars
            .get(name)
            .cloned()
            .unwrap_or(Val::StrNum(String::new(), 0.0)),
        Expr::Arith(a, op, b) => {
            let num = |v: Val| number(&v).unwrap_or_else(|| leading_number(&text(&v)));
            let (a, b) = (num(eval(a, rec, vars)), num(eval(b, rec, vars)));
            Val::Num(match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                // mawk prints inf and nan where others stop: either way, no panic.
                '/' => a / b,
                _ => a % b,
            })
        }
        Expr::Match(x, re, negated) => {
            boolean(re.matches(&text(&eval(x, rec, vars)), false, false) != *negated)
        }
        Expr::Compare(a, op, b) => {
            let (a, b) = (eval(a, rec, vars), eval(b, rec, vars));
            // Numbers compare as numbers; anything else as strings.
            let both_numeric = !matches!(a, Val::Str(_)) && !matches!(b, Val::Str(_));
            let ord = if both_numeric {
                number(&a)
                    .unwrap_or(0.0)
                    .partial_cmp(&number(&b).unwrap_or(0.0))
                    .unwrap_or(std::cmp::Ordering::Equal)
            } else {
                text(&a).cmp(&text(&b))
            };
            use std::cmp::Ordering::*;
            boolean(match *op {
                "==" => ord == Equal,
                "!=" => ord != Equal,
                "<" => ord == Less,
                "<=" => ord != Greater,
                ">" => ord == Greater,
                _ => ord != Less,
            })
        }
        Expr::And(a, b) => boolean(truth(&eval(a, rec, vars)) && truth(&eval(b, rec, vars))),
        Expr::Or(a, b) => boolean(truth(&eval(a, rec, vars)) || truth(&eval(b, rec, vars))),
        Expr::Not(a) => boolean(!truth(&eval(a, rec, vars))),
    }
}

fn lex(text: &str) -> Option<Vec<Tok>> {
    let c: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    // Where a `/` starts a regular expression rather than dividing.
    let operand_expected = |toks: &[Tok]| {
        !matches!(
            toks.last(),
            Some(Tok::Str(_) | Tok::Num(_) | Tok::Word(_) | Tok::Re(_) | Tok::Op(")"))
        )
    };
    while i < c.len() {
        let ch = c[i];
        match ch {
            ' ' | '\t' => i += 1,
            '\n' => {
                toks.push(Tok::Op("\n"));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match *c.get(i)? {
                        '"' => break,
                        '\\' => {
                            i += 1;
                            s.push(match *c.get(i)? {
                                'n' => '\n',
                                't' => '\t',
                                o => o,
                            });
                        }
                        o => s.push(o),
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Str(s));
            }
            '/' if operand_expected(&toks) => {
                let mut s = String::new();
                i += 1;
                loop {
                    match *c.get(i)? {
                        '/' => break,
                        '\\' if c.get(i + 1) == Some(&'/') => {
                            s.push('/');
                            i += 1;
                        }
                        o => s.push(o),
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Re(s));
            }
            '$' => {
                toks.push(Tok::Field);
                i += 1;
            }
            d if d.is_ascii_digit()
                || (d == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                    i += 1;
                }
                toks.push(Tok::Num(
                    c[start..i].iter().collect::<String>().parse().ok()?,
                ));
            }
            a if a.is_alphabetic() || a == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Word(c[start..i].iter().collect()));
            }
            _ => {
                let two: String = c[i..(i + 2).min(c.len())].iter().collect();
                let op = [
                    "==", "!=", "<=", ">=", "&&", "||", "!~", "++", "--", "+=", "-=",
                ]
                .into_iter()
                .find(|o| *o == two);
                if let Some(op) = op {
                    toks.push(Tok::Op(op));
                    i += 2;
                    continue;
                }
                let op = [
                    "<", ">", "~", "!", "(", ")", "{", "}", ";", ",", "-", "+", "*", "/", "%", "=",
                ]
                .into_iter()
                .find(|o| o.starts_with(ch))?;
                toks.push(Tok::Op(op));
                i += 1;
            }
        }
    }
    Some(toks)
}

/// Words that are not variables.
const BUILTINS: &[&str] = &["NR", "FNR", "NF", "length", "print", "next", "BEGIN", "END"];

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Option<()> {
        self.eat(t).then_some(())
    }

    fn statements(&mut self) -> Option<Vec<Stmt>> {
        let mut out = Vec::new();
        loop {
            while self.eat(&Tok::Op(";")) || self.eat(&Tok::Op("\n")) {}
            match self.peek() {
                Some(Tok::Op("}")) | None => return Some(out),
                Some(Tok::Word(w)) if w == "print" => {
                    self.at += 1;
                    let mut list = Vec::new();
                    if !matches!(self.peek(), Some(Tok::Op(";" | "}" | "\n")) | None) {
                        list.push(self.concat()?);
                        while self.eat(&Tok::Op(",")) {
                            list.push(self.concat()?);
                        }
                    }
                    out.push(Stmt::Print(list));
                }
                Some(Tok::Word(w)) if w == "next" => {
                    self.at += 1;
                    out.push(Stmt::Next);
                }
                Some(Tok::Word(w)) if !BUILTINS.contains(&w.as_str()) => {
                    let name = w.clone();
                    self.at += 1;
                    let stmt = if self.eat(&Tok::Op("++")) {
                        Stmt::Assign(name, '+', Expr::Num(1.0))
                    } else if self.eat(&Tok::Op("--")) {
                        Stmt::Assign(name, '-', Expr::Num(1.0))
                    } else if self.eat(&Tok::Op("+=")) {
                        Stmt::Assign(name, '+', self.or()?)
                    } else if self.eat(&Tok::Op("-=")) {
                        Stmt::Assign(name, '-', self.or()?)
                    } else if self.eat(&Tok::Op("=")) {
                        Stmt::Assign(name, '=', self.or()?)
                    } else {
                        return None;
                    };
                    out.push(stmt);
                }
                _ => return None,
            }
        }
    }

    fn or(&mut self) -> Option<Expr> {
        let mut e = self.and()?;
        while self.eat(&Tok::Op("||")) {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Some(e)
    }

    fn and(&mut self) -> Option<Expr> {
        let mut e = self.not()?;
        while self.eat(&Tok::Op("&&")) {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Some(e)
    }

    fn not(&mut self) -> Option<Expr> {
        if self.eat(&Tok::Op("!")) {
            return Some(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Option<Expr> {
        let left = self.concat()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(&Tok::Op(op)) {
                return Some(Expr::Compare(Box::new(left), op, Box::new(self.concat()?)));
            }
        }
        for (op, negated) in [("~", false), ("!~", true)] {
            if self.eat(&Tok::Op(op)) {
                let re = match self.peek()?.clone() {
                    Tok::Re(r) | Tok::Str(r) => {
                        self.at += 1;
                        r
                    }
                    _ => return None,
                };
                let p = Pattern::parse(&re, Syntax::Extended, false).ok()?;
                return Some(Expr::Match(Box::new(left), p, negated));
            }
        }
        Some(left)
    }

    /// Terms side by side: concatenated.
    fn concat(&mut self) -> Option<Expr> {
        let mut parts = vec![self.additive()?];
        while matches!(
            self.peek(),
            Some(Tok::Str(_) | Tok::Num(_) | Tok::Field | Tok::Word(_) | Tok::Op("("))
        ) && !matches!(self.peek(), Some(Tok::Word(w)) if w == "print" || w == "next")
        {
            parts.push(self.additive()?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Concat(parts)
        })
    }

    fn additive(&mut self) -> Option<Expr> {
        let mut e = self.multiplicative()?;
        loop {
            let op = if self.eat(&Tok::Op("+")) {
                '+'
            } else if self.eat(&Tok::Op("-")) {
                '-'
            } else {
                return Some(e);
            };
            e = Expr::Arith(Box::new(e), op, Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Option<Expr> {
        let mut e = self.term()?;
        loop {
            let op = if self.eat(&Tok::Op("*")) {
                '*'
            } else if self.eat(&Tok::Op("/")) {
                '/'
            } else if self.eat(&Tok::Op("%")) {
                '%'
            } else {
                return Some(e);
            };
            e = Expr::Arith(Box::new(e), op, Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Option<Expr> {
        let t = self.peek()?.clone();
        self.at += 1;
        Some(match t {
            Tok::Str(s) => Expr::Str(s),
            Tok::Num(n) => Expr::Num(n),
            Tok::Re(r) => Expr::Match(
                Box::new(Expr::Field(Box::new(Expr::Num(0.0)))),
                Pattern::parse(&r, Syntax::Extended, false).ok()?,
                false,
            ),
            Tok::Field => match self.peek()?.clone() {
                Tok::Num(n) => {
                    self.at += 1;
                    Expr::Field(Box::new(Expr::Num(n)))
                }
                Tok::Word(w) if w == "NF" => {
                    self.at += 1;
                    Expr::Field(Box::new(Expr::Nf))
                }
                Tok::Op("(") => {
                    self.at += 1;
                    self.expect(&Tok::Word("NF".into()))?;
                    let k = if self.eat(&Tok::Op("-")) {
                        match self.peek()?.clone() {
                            Tok::Num(k) => {
                                self.at += 1;
                                k
                            }
                            _ => return None,
                        }
                    } else {
                        0.0
                    };
                    self.expect(&Tok::Op(")"))?;
                    Expr::Field(Box::new(Expr::NfMinus(k)))
                }
                _ => return None,
            },
            Tok::Word(w) => match w.as_str() {
                "NR" | "FNR" => Expr::Nr,
                "NF" => Expr::Nf,
                "length" => {
                    if self.eat(&Tok::Op("(")) {
                        if self.eat(&Tok::Op(")")) {
                            Expr::Length(None)
                        } else {
                            let x = self.concat()?;
                            self.expect(&Tok::Op(")"))?;
                            Expr::Length(Some(Box::new(x)))
                        }
                    } else {
                        Expr::Length(None)
                    }
                }
                "print" | "next" | "BEGIN" | "END" => return None,
                _ => Expr::Var(w),
            },
            Tok::Op("(") => {
                let e = self.or()?;
                self.expect(&Tok::Op(")"))?;
                e
            }
            Tok::Op("-") => match self.peek()?.clone() {
                Tok::Num(n) => {
                    self.at += 1;
                    Expr::Num(-n)
                }
                _ => return None,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn numbers_print_as_c_prints_them_with_six_significant_digits() {
        for n in [
            2_999.304_347_8,
            0.5,
            1.0 / 3.0,
            123_456.7,
            1_234_567.8,
            0.000_012_34,
            -42.125,
            1e-5,
        ] {
            let real = std::process::Command::new("bash")
                .args(["-c", &format!("LC_ALL=C printf '%.6g' {n:e}")])
                .output()
                .unwrap();
            assert_eq!(g6(n), String::from_utf8(real.stdout).unwrap(), "{n}");
        }
    }

    #[test]
    fn any_program_is_run_or_left_alone_within_bounds() {
        const PARTS: &[&str] = &[
            "{", "}", "print", " ", "$1", "$NF", "$(NF-1)", "$", "NR", "==", "!=", "<", ">=", "&&",
            "||", "!", "(", ")", "/ro/", "/", "~", "\"x\"", "\"", "n", "++", "+=", "=", "-", "*",
            "%", "0", "1", ";", ",", "BEGIN", "END", "next", "length", "\n",
        ];
        // A value that doubles on every record stays bounded.
        let doubling = Program::parse("{ n = n n $0 } END { print length(n) }").unwrap();
        let mut out = String::new();
        doubling.run(None, &"abcdefgh\n".repeat(200), &mut out);
        assert!(
            out.trim().parse::<usize>().unwrap() <= 2 * MAX_VALUE,
            "{out}"
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let input = "root:x:0:0:root:/root:/bin/bash\n:::\n\nbin:x:2:2::/bin:/usr/sbin/nologin\n";
        for _ in 0..5000 {
            let n = rng.random_range(0..12);
            let program: String = (0..n)
                .map(|_| PARTS[rng.random_range(0..PARTS.len())])
                .collect();
            if let Some(p) = Program::parse(&program) {
                let mut out = String::new();
                p.run(Some(":"), input, &mut out);
                assert!(out.len() <= 4 * input.len() + 1024, "{program:?}");
            }
        }
    }
}
