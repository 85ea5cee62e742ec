//! bash's builtins beyond `cd`, `echo`, `exit` and the variables: `true`, `false`, `:`,
//! `test` and `[`, `printf`, `kill`, `type`, `command`, `read`, `eval`, `source`, `umask`,
//! `ulimit`, `wait`, and the ones a decoy has nothing to show for (`set`, `trap`, `shopt`…),
//! which succeed quietly. A bash that answers "command not found" to `[` or `true` is no bash:
//! dropper scripts test folders with `[ -w /tmp ]` before they write, and `printf` is how they
//! write binaries where `echo -e` is missing. Messages are bash 5.2's.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{Output, Shell, expand_home, normalize};

/// Builtins bash has that nothing here models: taken, and they succeed with no output.
const QUIET: &[&str] = &[
    "set",
    "trap",
    "shopt",
    "hash",
    "jobs",
    "disown",
    "bind",
    "complete",
    "compgen",
    "declare",
    "typeset",
    "local",
    "readonly",
    "return",
    "let",
    "times",
    "enable",
    "builtin",
    "caller",
    "dirs",
    "pushd",
    "popd",
    "suspend",
    "fg",
    "bg",
    "alias",
    "unalias",
    "getopts",
    "mapfile",
    "readarray",
    "help",
    "fc",
];

/// Every builtin `type` and `command -v` report as such.
pub(super) const BUILTINS: &[&str] = &[
    "cd", "pwd", "echo", "exit", "export", "unset", "history", "true", "false", ":", "test", "[",
    "printf", "kill", "type", "command", "read", "eval", "source", ".", "umask", "ulimit", "wait",
    "exec", "break", "continue", "shift",
];

/// Whether `name` is a builtin this module answers.
pub(super) fn handles(name: &str) -> bool {
    // The first seven are answered where the shell keeps its state; `exec` runs a command.
    QUIET.contains(&name) || (BUILTINS[7..].contains(&name) && name != "exec")
}

impl Shell {
    /// Runs the builtin `name` (one [`handles`] accepts).
    pub(super) fn builtin(
        &mut self,
        name: &str,
        args: &[&str],
        stdin: Option<&str>,
        out: &mut Output,
    ) {
        out.status = 0;
        match name {
            "true" | ":" => {}
            "false" => out.status = 1,
            "test" | "[" => {
                let args = if name == "[" {
                    match args.split_last() {
                        Some((&"]", rest)) => rest,
                        _ => {
                            out.stderr.push_str(&self.builtin_error("[: missing `]'"));
                            out.status = 2;
                            return;
                        }
                    }
                } else {
                    args
                };
                match self.test(args) {
                    Ok(true) => {}
                    Ok(false) => out.status = 1,
                    Err(why) => {
                        out.stderr
                            .push_str(&self.builtin_error(&format!("{name}: {why}")));
                        out.status = 2;
                    }
                }
            }
            "printf" => self.printf(args, out),
            "kill" => self.kill(args, out),
            "type" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if BUILTINS.contains(a) || QUIET.contains(a) {
                        let _ = writeln!(out.stdout, "{a} is a shell builtin");
                    } else if let Some(path) = self.which(a) {
                        let _ = writeln!(out.stdout, "{a} is {path}");
                    } else {
                        let shown: String = a.chars().take(256).collect();
                        out.stderr
                            .push_str(&self.builtin_error(&format!("type: {shown}: not found")));
                        out.status = 1;
                    }
                }
            }
            "command" => match args.first() {
                Some(&("-v" | "-V")) => {
                    let mut found = false;
                    for a in &args[1..] {
                        if BUILTINS.contains(a) || QUIET.contains(a) {
                            let _ = writeln!(out.stdout, "{a}");
                        } else if let Some(path) = self.which(a) {
                            let _ = writeln!(out.stdout, "{path}");
                        } else {
                            continue;
                        }
                        found = true;
                    }
                    out.status = u32::from(!found);
                }
                Some(_) => {
                    let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                    self.command(&words, stdin, out);
                }
                None => {}
            },
            "read" => {
                let names: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                // Its own input, or the next line of the block it is in.
                let line = match stdin {
                    Some(s) => s.lines().next().map(str::to_string),
                    None => self.input.as_mut().and_then(|lines| lines.pop_front()),
                };
                let Some(line) = line else {
                    out.status = 1;
                    return;
                };
                let mut fields = line.split_whitespace();
                let names = if names.is_empty() {
                    vec!["REPLY"]
                } else {
                    names
                };
                for (i, n) in names.iter().enumerate() {
                    let value = if i + 1 == names.len() {
                        fields.by_ref().collect::<Vec<_>>().join(" ")
                    } else {
                        fields.next().unwrap_or_default().to_string()
                    };
                    self.set_var(n, &value);
                }
            }
            "eval" => {
                let line = args.join(" ");
                self.run_nested(&line, out);
            }
            "source" | "." => {
                let Some(file) = args.first() else {
                    let usage = format!("{name}: filename argument required");
                    out.stderr.push_str(&self.builtin_error(&usage));
                    out.status = 2;
                    return;
                };
                let path = normalize(&self.cwd, &expand_home(file, &self.user));
                match self.host.files.get(&path).cloned() {
                    Some(text) if self.can_read(&path) => {
                        for line in text.lines().take(256) {
                            self.run_nested(line, out);
                            if out.exit {
                                break;
                            }
                        }
                    }
                    _ if file == &"/dev/null" => {}
                    _ => {
                        let shown: String = file.chars().take(256).collect();
                        let why = format!("{shown}: No such file or directory");
                        out.stderr.push_str(&self.builtin_error(&why));
                        out.status = 1;
                    }
                }
            }
            "umask" => out.stdout.push_str("0022\n"),
            "shift" => {
                let n = args.first().map_or(Some(1), |a| a.parse::<usize>().ok());
                match n {
                    Some(n) if n <= self.params.len() => {
                        Arc::make_mut(&mut self.params).drain(..n);
                    }
                    _ => out.status = 1,
                }
            }
            "break" | "continue" => {
                let n = args.first().map_or(Some(1), |a| a.parse::<u32>().ok());
                match n {
                    // Outside a loop bash says so and goes on (status 0).
                    Some(_) if self.loops == 0 => {
                        let why =
                            format!("{name}: only meaningful in a `for', `while', or `until' loop");
                        out.stderr.push_str(&self.builtin_error(&why));
                    }
                    Some(n) if n > 0 => {
                        self.breaking = Some((name == "continue", n.min(self.loops)));
                    }
                    _ => {
                        let shown: String = args[0].chars().take(64).collect();
                        let why = format!("{name}: {shown}: loop count out of range");
                        out.stderr.push_str(&self.builtin_error(&why));
                        out.status = 1;
                    }
                }
            }
            "ulimit" => out.stdout.push_str(ulimit(args)),
            _ => {}
        }
    }

    /// Runs `line` in this shell, as `eval` and `source` do, adding what it writes to `out`.
    fn run_nested(&mut self, line: &str, out: &mut Output) {
        if self.depth >= super::MAX_SUBSTITUTION_DEPTH {
            return;
        }
        self.depth += 1;
        let line_no = self.line;
        let o = self.run(line);
        self.line = line_no;
        self.depth -= 1;
        out.stdout.push_str(&o.stdout);
        out.stderr.push_str(&o.stderr);
        out.status = o.status;
        out.exit |= o.exit;
    }

    /// `test`'s expression: `Err` with bash's complaint when it is malformed.
    fn test(&self, args: &[&str]) -> Result<bool, String> {
        match args {
            [] => Ok(false),
            ["!", rest @ ..] => self.test(rest).map(|b| !b),
            [a] => Ok(!a.is_empty()),
            [op, operand] if op.starts_with('-') => self.unary(op, operand),
            [_, _] => Err(format!("{}: unary operator expected", args[0])),
            [a, "-a", rest @ ..] => Ok(self.test(&[a])? & self.test(rest)?),
            [a, "-o", rest @ ..] => Ok(self.test(&[a])? | self.test(rest)?),
            [x, op, y] => self.binary(x, op, y),
            [x, op, y, "-a", rest @ ..] => Ok(self.binary(x, op, y)? & self.test(rest)?),
            [x, op, y, "-o", rest @ ..] => Ok(self.binary(x, op, y)? | self.test(rest)?),
            [u, x, "-a", rest @ ..] if u.starts_with('-') => {
                Ok(self.unary(u, x)? & self.test(rest)?)
            }
            [u, x, "-o", rest @ ..] if u.starts_with('-') => {
                Ok(self.unary(u, x)? | self.test(rest)?)
            }
            _ => Err("too many arguments".into()),
        }
    }

    fn unary(&self, op: &str, operand: &str) -> Result<bool, String> {
        let path = normalize(&self.cwd, &expand_home(operand, &self.user));
        let st = (!operand.is_empty())
            .then(|| self.host.stat(&path))
            .flatten();
        Ok(match op {
            "-n" => !operand.is_empty(),
            "-z" => operand.is_empty(),
            "-e" | "-a" => st.is_some(),
            "-f" => st.is_some_and(|s| s.kind == '-' || (s.kind == 'l' && !self.is_dir(&path))),
            "-d" => self.is_dir(&path),
            "-L" | "-h" => st.is_some_and(|s| s.kind == 'l'),
            "-s" => st.is_some_and(|s| s.size > 0),
            "-r" => st.is_some() && self.can_read(&path),
            "-w" => st.is_some() && self.can_write(&path),
            "-x" => st.is_some() && (self.is_dir(&path) || self.can_execute(&path)),
            "-b" | "-c" | "-p" | "-S" | "-t" | "-g" | "-u" | "-k" | "-O" | "-G" | "-N" => false,
            _ => return Err(format!("{op}: unary operator expected")),
        })
    }

    fn binary(&self, x: &str, op: &str, y: &str) -> Result<bool, String> {
        let int = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{v}: integer expression expected"))
        };
        Ok(match op {
            "=" | "==" => x == y,
            "!=" => x != y,
            "<" => x < y,
            ">" => x > y,
            "-eq" => int(x)? == int(y)?,
            "-ne" => int(x)? != int(y)?,
            "-lt" => int(x)? < int(y)?,
            "-le" => int(x)? <= int(y)?,
            "-gt" => int(x)? > int(y)?,
            "-ge" => int(x)? >= int(y)?,
            _ => return Err(format!("{op}: binary operator expected")),
        })
    }

    /// Whether this session's user may write to `path` (an existing entry).
    fn can_write(&self, path: &str) -> bool {
        self.host.dirs.contains(path) && self.may_change_in(path)
            || !self.host.dirs.contains(path) && self.may_write(path).is_ok()
    }

    /// `printf FORMAT [ARGUMENT]...`: `%s %b %c %d %i %u %x %X %o %%` with flags, width and
    /// precision, the format reused while arguments remain.
    fn printf(&self, args: &[&str], out: &mut Output) {
        let Some((format, mut rest)) = args.split_first() else {
            out.stderr
                .push_str("printf: usage: printf [-v var] format [arguments]\n");
            out.status = 2;
            return;
        };
        let mut text = String::new();
        loop {
            let before = rest.len();
            let errors = printf_once(format, &mut rest, &mut text);
            for e in errors {
                out.stderr
                    .push_str(&self.builtin_error(&format!("printf: {e}: invalid number")));
                out.status = 1;
            }
            if rest.is_empty() || rest.len() == before || text.len() > 64 << 10 {
                break;
            }
        }
        out.stdout.push_str(&text);
    }

    /// `kill [-SIGNAL] PID...`: the host's processes are there to be killed by root (they
    /// stay: init and the kernel's threads ignore it, the services restart); someone else's
    /// refuse a user; any other pid is no process.
    fn kill(&mut self, args: &[&str], out: &mut Output) {
        let pids: Vec<&str> = args
            .iter()
            .copied()
            .skip_while(|a| a.starts_with('-') && a.len() > 1)
            .collect();
        if pids.is_empty() && !args.contains(&"-l") {
            out.stderr.push_str(
                "kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n",
            );
            out.status = 2;
            return;
        }
        if args.contains(&"-l") {
            out.stdout.push_str(KILL_L);
            return;
        }
        let own = self.session_pids();
        let system = super::system_pids(self.host.distro);
        for p in pids {
            let shown: String = p.chars().take(64).collect();
            let why = match p.parse::<u32>() {
                Err(_) => format!("kill: {shown}: arguments must be process or job IDs"),
                Ok(pid) if own.contains(&pid) || Some(pid) == self.last_job => continue,
                Ok(pid) if system.contains(&pid) => {
                    if self.user.uid == 0 {
                        continue;
                    }
                    format!("kill: ({pid}) - Operation not permitted")
                }
                Ok(pid) => format!("kill: ({pid}) - No such process"),
            };
            out.stderr.push_str(&self.builtin_error(&why));
            out.status = 1;
        }
    }
}

/// One pass of `printf`'s format over the arguments left in `rest`, appended to `text`.
/// Returns the arguments that were no number.
fn printf_once(format: &str, rest: &mut &[&str], text: &mut String) -> Vec<String> {
    let mut errors = Vec::new();
    let mut next = || -> Option<&str> {
        let (first, tail) = rest.split_first()?;
        *rest = tail;
        Some(first)
    };
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            let (s, used) = escape_at(&format[i..]);
            text.push_str(&s);
            i += used;
            continue;
        }
        if c != b'%' {
            let ch = format[i..].chars().next().unwrap_or_default();
            text.push(ch);
            i += ch.len_utf8();
            continue;
        }
        // %[flags][width][.precision]conversion
        let start = i;
        i += 1;
        while i < b.len() && matches!(b[i], b'-' | b'+' | b' ' | b'#' | b'0') {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        let Some(&conv) = b.get(i) else {
            text.push_str(&format[start..]);
            break;
        };
        i += 1;
        let spec = &format[start + 1..i - 1];
        let left = spec.contains('-');
        let zero = spec.starts_with('0') || spec.contains("-0") || spec.contains("+0");
        let (width, precision) = match spec
            .trim_start_matches(['-', '+', ' ', '#', '0'])
            .split_once('.')
        {
            Some((w, p)) => (
                w.parse().unwrap_or(0usize),
                Some(p.parse().unwrap_or(0usize)),
            ),
            None => (
                spec.trim_start_matches(['-', '+', ' ', '#', '0'])
                    .parse()
                    .unwrap_or(0),
                None,
            ),
        };
        let body = match conv {
            b'%' => "%".to_string(),
            b's' => {
                let s = next().unwrap_or_default();
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.to_string(),
                }
            }
            b'b' => super::echo_escapes(next().unwrap_or_default()).0,
            b'c' => next()
                .and_then(|s| s.chars().next())
                .map(String::from)
                .unwrap_or_default(),
            b'd' | b'i' | b'u' | b'x' | b'X' | b'o' => {
                let arg = next().unwrap_or("0");
                let n = parse_number(arg).unwrap_or_else(|| {
                    errors.push(arg.chars().take(64).collect());
                    0
                });
                let digits = match conv {
                    b'x' => format!("{n:x}"),
                    b'X' => format!("{n:X}"),
                    b'o' => format!("{n:o}"),
                    _ => n.to_string(),
                };
                if spec.contains('+') && n >= 0 && matches!(conv, b'd' | b'i') {
                    format!("+{digits}")
                } else {
                    digits
                }
            }
            _ => {
                // An unknown conversion is printed as typed, as bash does after complaining.
                format!("%{spec}{}", char::from(conv))
            }
        };
        // A width is honoured up to what one command may print.
        let pad = width.min(MAX_WIDTH).saturating_sub(body.chars().count());
        if left {
            text.push_str(&body);
            text.extend(std::iter::repeat_n(' ', pad));
        } else {
            let fill = if zero && conv != b's' { '0' } else { ' ' };
            text.extend(std::iter::repeat_n(fill, pad));
            text.push_str(&body);
        }
    }
    errors
}

/// The escape at the start of `s` (which begins with a backslash) in a printf format:
/// what it stands for and the bytes it takes. Octal takes up to three
/// digits here (`\\101`), where echo -e wants a leading 0.
fn escape_at(s: &str) -> (String, usize) {
    let b = s.as_bytes();
    let digits = |radix: u32, from: usize, max: usize| {
        let n = b[from..]
            .iter()
            .take(max)
            .take_while(|c| char::from(**c).is_digit(radix))
            .count();
        (n > 0).then(|| {
            (
                u32::from_str_radix(&s[from..from + n], radix).unwrap_or(0),
                n,
            )
        })
    };
    match b.get(1) {
        None => ("\\".into(), 1),
        Some(b'x') => match digits(16, 2, 2) {
            Some((v, n)) => (char::from(v as u8).to_string(), 2 + n),
            None => ("\\x".into(), 2),
        },
        // `\\c` stops output only in a `%b` argument; in the format it is two characters.
        Some(b'c') => ("\\c".into(), 2),
        Some(b'0'..=b'7') => {
            let (v, n) = digits(8, 1, 3).unwrap_or((0, 1));
            (char::from((v & 0xff) as u8).to_string(), 1 + n)
        }
        Some(_) => {
            let len = 1 + s[1..].chars().next().map_or(0, char::len_utf8);
            (super::echo_escapes(&s[..len]).0, len)
        }
    }
}

/// The widest field printf pads to (bash pads to any width: `%999999999s`).
const MAX_WIDTH: usize = 64 << 10;

/// A number as printf reads one: decimal, `0x` hex, `0` octal, or `'c` a character's code.
fn parse_number(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(c) = t.strip_prefix(['\'', '"']) {
        return Some(c.chars().next().map_or(0, |c| i64::from(u32::from(c))));
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `ulimit`'s answers: Debian's and Ubuntu's defaults for a login session.
fn ulimit(args: &[&str]) -> &'static str {
    match args.first().copied() {
        Some("-n") => "1024\n",
        Some("-u") => "7645\n",
        Some("-s") => "8192\n",
        Some("-c") => "0\n",
        Some("-a") => ULIMIT_A,
        _ => "unlimited\n",
    }
}

const ULIMIT_A: &str = "real-time non-blocking time  (microseconds, -R) unlimited
core file size              (blocks, -c) 0
data seg size               (kbytes, -d) unlimited
scheduling priority                 (-e) 0
file size                   (blocks, -f) unlimited
pending signals                     (-i) 7645
max locked memory           (kbytes, -l) 251212
max memory size             (kbytes, -m) unlimited
open files                          (-n) 1024
pipe size                (512 bytes, -p) 8
POSIX message queues         (bytes, -q) 819200
real-time priority                  (-r) 0
stack size                  (kbytes, -s) 8192
cpu time                   (seconds, -t) unlimited
max user processes                  (-u) 7645
virtual memory              (kbytes, -v) unlimited
file locks                          (-x) unlimited
";

const KILL_L: &str = " 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP
 6) SIGABRT\t 7) SIGBUS\t 8) SIGFPE\t 9) SIGKILL\t10) SIGUSR1
11) SIGSEGV\t12) SIGUSR2\t13) SIGPIPE\t14) SIGALRM\t15) SIGTERM
16) SIGSTKFLT\t17) SIGCHLD\t18) SIGCONT\t19) SIGSTOP\t20) SIGTSTP
21) SIGTTIN\t22) SIGTTOU\t23) SIGURG\t24) SIGXCPU\t25) SIGXFSZ
26) SIGVTALRM\t27) SIGPROF\t28) SIGWINCH\t29) SIGIO\t30) SIGPWR
31) SIGSYS\t34) SIGRTMIN\t35) SIGRTMIN+1\t36) SIGRTMIN+2\t37) SIGRTMIN+3
38) SIGRTMIN+4\t39) SIGRTMIN+5\t40) SIGRTMIN+6\t41) SIGRTMIN+7\t42) SIGRTMIN+8
43) SIGRTMIN+9\t44) SIGRTMIN+10\t45) SIGRTMIN+11\t46) SIGRTMIN+12\t47) SIGRTMIN+13
48) SIGRTMIN+14\t49) SIGRTMIN+15\t50) SIGRTMAX-14\t51) SIGRTMAX-13\t52) SIGRTMAX-12
53) SIGRTMAX-11\t54) SIGRTMAX-10\t55) SIGRTMAX-9\t56) SIGRTMAX-8\t57) SIGRTMAX-7
58) SIGRTMAX-6\t59) SIGRTMAX-5\t60) SIGRTMAX-4\t61) SIGRTMAX-3\t62) SIGRTMAX-2
63) SIGRTMAX-1\t64) SIGRTMAX
";
