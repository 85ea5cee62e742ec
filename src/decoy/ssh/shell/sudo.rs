//! `sudo`, as Debian 12's and Ubuntu 24.04's builds (1.9.13p3, 1.9.15p5; PAM, no lecture)
//! answer a user who is not in sudoers: they ask for the password first and refuse after.
//! An intruder's first move on a new login is often `sudo -l`, `sudo -i` or `sudo su`; a
//! "command not found" there, or a refusal before any password, shows the host is not what
//! it claims. At a terminal the password is read with the echo off over the session's next
//! lines ([`Shell::answer_password`]), and each one is recorded, hashed: the intruder's guess
//! at the user's password. Root's sudo runs its command without asking.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Output, Shell};

/// Passwords sudo asks for before it gives up (`passwd_tries`).
const TRIES: u32 = 3;

/// How long pam_unix holds a wrong password back before sudo hears of it.
const PAM_DELAY: Duration = Duration::from_secs(2);

/// sudo waiting at the terminal for a password, the echo off.
#[derive(Clone, Debug)]
pub(super) struct Asking {
    /// Wrong passwords so far.
    failed: u32,
    /// What the right one is answered with.
    refusal: String,
    /// The prompt, asked again after a wrong one.
    prompt: String,
}

/// What a sudo command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Mode {
    /// Run a command (or a shell, with `-i` or `-s`).
    Run,
    List,
    Validate,
    Edit,
    Version,
    Help,
    /// `-k` or `-K` alone: drop the cached credentials, which there are none of.
    Forget,
}

/// A parsed command line.
#[derive(Debug)]
struct Call {
    mode: Mode,
    non_interactive: bool,
    stdin: bool,
    prompt: Option<String>,
    /// `-i` or `-s`.
    shell: bool,
    /// The command and its arguments, after the options and any `VAR=value`.
    command: Vec<String>,
}

/// Why a command line is refused before anything runs: the lines sudo writes first (an
/// option it does not know, say), then its usage.
struct Bad(String);

/// Short options and whether each takes a value, as the Linux build's getopt string
/// (`+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv`). `a` and `c` are in it but the build
/// has no case for them: usage.
const TAKES_VALUE: &str = "aCcDgpRrTtUu";
const FLAGS: &str = "ABbEeHhiKklNnPSsVv";

/// Long options: name, the short one it stands for, whether it takes a value.
const LONG: &[(&str, char, bool)] = &[
    ("background", 'b', false),
    ("preserve-env", 'E', false),
    ("edit", 'e', false),
    ("set-home", 'H', false),
    ("login", 'i', false),
    ("remove-timestamp", 'K', false),
    ("list", 'l', false),
    ("preserve-groups", 'P', false),
    ("shell", 's', false),
    ("other-user", 'U', true),
    ("validate", 'v', false),
    ("askpass", 'A', false),
    ("auth-type", 'a', true),
    ("bell", 'B', false),
    ("close-from", 'C', true),
    ("login-class", 'c', true),
    ("chdir", 'D', true),
    ("group", 'g', true),
    ("help", 'h', false),
    ("host", 'h', true),
    ("reset-timestamp", 'k', false),
    ("no-update", 'N', false),
    ("non-interactive", 'n', false),
    ("prompt", 'p', true),
    ("chroot", 'R', true),
    ("role", 'r', true),
    ("stdin", 'S', false),
    ("command-timeout", 'T', true),
    ("type", 't', true),
    ("user", 'u', true),
    ("version", 'V', false),
];

fn parse(args: &[&str]) -> Result<Call, Bad> {
    let mut call = Call {
        mode: Mode::Run,
        non_interactive: false,
        stdin: false,
        prompt: None,
        shell: false,
        command: Vec::new(),
    };
    let mut given = String::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        i += 1;
        if a == "--" {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            // getopt_long takes any unambiguous prefix; `--host` and `--help` share `h`.
            let found: Vec<_> = LONG
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let Some(&(full, short, value)) = exact.or(if found.len() == 1 {
                Some(found[0])
            } else {
                None
            }) else {
                let shown: String = a.chars().take(256).collect();
                return Err(Bad(if found.is_empty() {
                    format!("sudo: unrecognized option '{shown}'\n")
                } else {
                    format!("sudo: option '{shown}' is ambiguous\n")
                }));
            };
            let arg = match (value, inline) {
                (true, Some(v)) => Some(v.to_string()),
                (true, None) if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].to_string())
                }
                (true, None) => {
                    return Err(Bad(format!(
                        "sudo: option '--{full}' requires an argument\n"
                    )));
                }
                (false, Some(_)) if short != 'E' => {
                    return Err(Bad(format!(
                        "sudo: option '--{full}' doesn't allow an argument\n"
                    )));
                }
                (false, _) => None,
            };
            // `--host=H` is not help.
            let short = if full == "host" { 'Z' } else { short };
            take(&mut call, &mut given, short, arg)?;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let letters: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < letters.len() {
                let c = letters[j];
                j += 1;
                if TAKES_VALUE.contains(c) {
                    let rest: String = letters[j..].iter().collect();
                    let arg = if !rest.is_empty() {
                        rest
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].to_string()
                    } else {
                        return Err(Bad(format!("sudo: option requires an argument -- '{c}'\n")));
                    };
                    take(&mut call, &mut given, c, Some(arg))?;
                    break;
                }
                if c == 'h' && j < letters.len() {
                    // `-hHOST`: a remote host, not help.
                    take(&mut call, &mut given, 'Z', None)?;
                    break;
                }
                if !FLAGS.contains(c) {
                    return Err(Bad(format!("sudo: invalid option -- '{c}'\n")));
                }
                take(&mut call, &mut given, c, None)?;
            }
            continue;
        }
        // Options end at the first word that is not one; `VAR=value` words before the
        // command set its environment.
        i -= 1;
        break;
    }
    let rest = &args[i..];
    let assigns = rest
        .iter()
        .take_while(|w| w.split_once('=').is_some_and(|(n, _)| is_name(n)))
        .count();
    call.command = rest[assigns..].iter().map(|w| w.to_string()).collect();
    let nothing = call.command.is_empty() && assigns == 0;
    match call.mode {
        Mode::Help if args.len() > 1 => return Err(Bad(String::new())),
        Mode::Version if !nothing => return Err(Bad(String::new())),
        // `-k command`: forget, then run it.
        Mode::Forget if !nothing || call.shell => call.mode = Mode::Run,
        Mode::Run if call.command.is_empty() && !call.shell => return Err(Bad(String::new())),
        Mode::Edit if call.command.is_empty() => return Err(Bad(String::new())),
        _ => {}
    }
    Ok(call)
}

/// Applies one option; `Z` stands for the remote host option.
fn take(call: &mut Call, given: &mut String, c: char, arg: Option<String>) -> Result<(), Bad> {
    let mode = match c {
        'l' => Some(Mode::List),
        'v' => Some(Mode::Validate),
        'e' => Some(Mode::Edit),
        'V' => Some(Mode::Version),
        'h' => Some(Mode::Help),
        'k' | 'K' => Some(Mode::Forget),
        _ => None,
    };
    match c {
        'a' | 'c' => return Err(Bad(String::new())),
        'n' => call.non_interactive = true,
        'S' => call.stdin = true,
        'p' => call.prompt = arg,
        'i' | 's' => {
            let other_mode = !matches!(call.mode, Mode::Run | Mode::Forget);
            if other_mode || given.contains(['i', 's']) && !given.contains(c) {
                return Err(exclusive());
            }
            call.shell = true;
        }
        _ => {}
    }
    match mode {
        // `-k` and `-K` go with any mode.
        Some(Mode::Forget) if call.mode == Mode::Run => call.mode = Mode::Forget,
        Some(Mode::Forget) | None => {}
        Some(mode) => {
            let other_mode = !matches!(call.mode, Mode::Run | Mode::Forget) && call.mode != mode;
            if call.shell || other_mode {
                return Err(exclusive());
            }
            call.mode = mode;
        }
    }
    given.push(c);
    Ok(())
}

fn exclusive() -> Bad {
    Bad("sudo: Only one of the -e, -h, -i, -K, -l, -s, -v or -V options may be specified\n".into())
}

fn is_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The usage lines, as sudo writes them for a bad command line (and atop its help).
const USAGE: &str = "usage: sudo -h | -K | -k | -V
usage: sudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]
usage: sudo -l [-ABkNnS] [-g group] [-h host] [-p prompt] [-U user]
            [-u user] [command [arg ...]]
usage: sudo [-ABbEHkNnPS] [-r role] [-t type] [-C num] [-D directory]
            [-g group] [-h host] [-p prompt] [-R directory] [-T timeout]
            [-u user] [VAR=value] [-i | -s] [command [arg ...]]
usage: sudo -e [-ABkNnS] [-r role] [-t type] [-C num] [-D directory]
            [-g group] [-h host] [-p prompt] [-R directory] [-T timeout]
            [-u user] file ...
";

/// `sudo -h`'s options: (option, what it does), wrapped as sudo wraps them.
const HELP: &[(&str, &str)] = &[
    (
        "-A, --askpass",
        "use a helper program for password prompting",
    ),
    ("-b, --background", "run command in the background"),
    ("-B, --bell", "ring bell when prompting"),
    ("-C, --close-from=num", "close all file descriptors >= num"),
    (
        "-D, --chdir=directory",
        "change the working directory before running command",
    ),
    (
        "-E, --preserve-env",
        "preserve user environment when running command",
    ),
    (
        "    --preserve-env=list",
        "preserve specific environment variables",
    ),
    ("-e, --edit", "edit files instead of running a command"),
    (
        "-g, --group=group",
        "run command as the specified group name or ID",
    ),
    (
        "-H, --set-home",
        "set HOME variable to target user's home dir",
    ),
    ("-h, --help", "display help message and exit"),
    (
        "-h, --host=host",
        "run command on host (if supported by plugin)",
    ),
    (
        "-i, --login",
        "run login shell as the target user; a command may also be specified",
    ),
    ("-K, --remove-timestamp", "remove timestamp file completely"),
    ("-k, --reset-timestamp", "invalidate timestamp file"),
    (
        "-l, --list",
        "list user's privileges or check a specific command; use twice for longer format",
    ),
    (
        "-n, --non-interactive",
        "non-interactive mode, no prompts are used",
    ),
    (
        "-P, --preserve-groups",
        "preserve group vector instead of setting to target's",
    ),
    ("-p, --prompt=prompt", "use the specified password prompt"),
    (
        "-R, --chroot=directory",
        "change the root directory before running command",
    ),
    (
        "-r, --role=role",
        "create SELinux security context with specified role",
    ),
    ("-S, --stdin", "read password from standard input"),
    (
        "-s, --shell",
        "run shell as the target user; a command may also be specified",
    ),
    (
        "-t, --type=type",
        "create SELinux security context with specified type",
    ),
    (
        "-T, --command-timeout=timeout",
        "terminate command after the specified time limit",
    ),
    (
        "-U, --other-user=user",
        "in list mode, display privileges for user",
    ),
    (
        "-u, --user=user",
        "run command (or edit file) as specified user name or ID",
    ),
    ("-V, --version", "display version information and exit"),
    (
        "-v, --validate",
        "update user's timestamp without running a command",
    ),
    ("--", "stop processing command line arguments"),
];

/// sudo's word wrap for its help: a line longer than 80 columns breaks at the last space
/// within them, and what follows is indented by 32 and given 48 columns a line.
fn wrap(line: &str, out: &mut String) {
    const COLS: usize = 80;
    const INDENT: usize = 32;
    let mut rest = line;
    let mut have = COLS;
    let mut first = true;
    while !rest.is_empty() {
        let mut cut = rest.len();
        if rest.len() > have {
            cut = rest[..have]
                .rfind(' ')
                .or_else(|| rest[have..].find(' ').map(|p| p + have))
                .unwrap_or(rest.len());
        }
        if !first {
            out.push_str(&" ".repeat(INDENT));
        }
        out.push_str(&rest[..cut]);
        out.push('\n');
        rest = rest[cut..].trim_start_matches([' ', '\t']);
        have = COLS - INDENT;
        first = false;
    }
}

fn help() -> String {
    let mut s = String::from("sudo - execute a command as another user\n\n");
    s.push_str(USAGE);
    s.push_str("\nOptions:\n");
    for (option, what) in HELP {
        wrap(&format!("  {option:<30}{what}"), &mut s);
    }
    s
}

impl Shell {
    pub(super) fn sudo(&mut self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let call = match parse(args) {
            Ok(call) => call,
            Err(Bad(first)) => {
                out.stderr.push_str(&first);
                out.stderr.push_str(USAGE);
                out.status = 1;
                return;
            }
        };
        let version = self.host.distro.sudo_version;
        match call.mode {
            Mode::Help => {
                out.stdout.push_str(&help());
                return;
            }
            Mode::Version => {
                let _ = write!(
                    out.stdout,
                    "Sudo version {version}\nSudoers policy plugin version {version}\nSudoers file grammar version 50\nSudoers I/O plugin version {version}\nSudoers audit plugin version {version}\n"
                );
                return;
            }
            Mode::Forget => return,
            _ => {}
        }
        if self.user.uid == 0 {
            // Root is let through without a password: the command runs, as root still.
            if call.mode == Mode::Run && !call.command.is_empty() {
                let words: Vec<String> = call.command.clone();
                self.command(&words, stdin, out);
            } else if call.mode == Mode::List {
                let _ = write!(out.stdout, "{}", self.root_privileges());
            }
            return;
        }
        out.status = 1;
        if call.non_interactive {
            out.stderr.push_str("sudo: a password is required\n");
            return;
        }
        let prompt = self.sudo_prompt(call.prompt.as_deref());
        let refusal = match call.mode {
            Mode::List => format!(
                "Sorry, user {} may not run sudo on {}.\n",
                self.user.name, self.host.hostname
            ),
            _ => format!("{} is not in the sudoers file.\n", self.user.name),
        };
        // `-S` reads standard input: what is piped in, or the end of it without a terminal
        // (an exec request's input, which this shell does not read).
        let piped = stdin.or(if self.interactive { None } else { Some("") });
        if let (true, Some(piped)) = (call.stdin, piped) {
            // The prompt goes to standard error and, with no terminal to turn the echo off,
            // no newline follows what was read.
            let mut failed = 0;
            for line in piped.lines().take(TRIES as usize) {
                out.stderr.push_str(&prompt);
                if self.is_login_password(line) {
                    out.stderr.push_str(&refusal);
                    return;
                }
                failed += 1;
                out.slept += PAM_DELAY;
                if failed < TRIES {
                    out.stderr.push_str("Sorry, try again.\n");
                }
            }
            if failed < TRIES {
                out.stderr.push_str(&prompt);
                out.stderr.push_str("\nsudo: no password was provided\n");
            }
            out.stderr.push_str(&gave_up(failed));
            return;
        }
        if !self.interactive {
            out.stderr.push_str("sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n");
            return;
        }
        // At the terminal: the prompt, then the session's next lines are the answers. The
        // rest of this line waits for them, which this shell does not keep: it is dropped.
        out.stdout.push_str(&prompt);
        self.asking = Some(Asking {
            failed: 0,
            refusal,
            prompt,
        });
        self.aborted = true;
    }

    /// Whether sudo waits at the terminal for a password: the session's next line is that,
    /// for [`Shell::answer_password`], and is not echoed.
    pub fn asks_password(&self) -> bool {
        self.asking.is_some()
    }

    /// A line typed at sudo's password prompt.
    pub fn answer_password(&mut self, line: &str) -> Output {
        let mut out = Output {
            status: 1,
            ..Output::default()
        };
        let Some(mut asking) = self.asking.take() else {
            return out;
        };
        // The echo was off: sudo ends the line the Enter key did not.
        out.stdout.push('\n');
        if self.is_login_password(line) {
            out.stdout.push_str(&asking.refusal);
        } else {
            asking.failed += 1;
            out.slept = PAM_DELAY;
            if asking.failed < TRIES {
                out.stdout.push_str("Sorry, try again.\n");
                out.stdout.push_str(&asking.prompt);
                self.asking = Some(asking);
                return out;
            }
            out.stdout.push_str(&gave_up(asking.failed));
        }
        self.last_status = 1;
        out
    }

    /// Ctrl-C or Ctrl-D at sudo's prompt: it stops asking.
    pub fn stop_asking(&mut self, eof: bool) -> Output {
        let mut out = Output {
            status: 1,
            ..Output::default()
        };
        if let Some(asking) = self.asking.take() {
            out.stdout.push('\n');
            if eof {
                out.stdout.push_str("sudo: no password was provided\n");
                out.stdout.push_str(&gave_up(asking.failed));
            }
            self.last_status = 1;
        }
        out
    }

    /// The prompt, with `-p`'s escapes: `%p` and `%u` the user, `%h` and `%H` the host.
    fn sudo_prompt(&self, custom: Option<&str>) -> String {
        let Some(p) = custom else {
            return format!("[sudo] password for {}: ", self.user.name);
        };
        let mut s = String::new();
        let mut chars = p.chars().take(256);
        while let Some(c) = chars.next() {
            if c != '%' {
                s.push(c);
                continue;
            }
            match chars.next() {
                Some('p' | 'u') => s.push_str(&self.user.name),
                Some('h' | 'H') => s.push_str(&self.host.hostname),
                Some('U') => s.push_str("root"),
                Some('%') => s.push('%'),
                Some(o) => {
                    s.push('%');
                    s.push(o);
                }
                None => s.push('%'),
            }
        }
        s
    }

    /// What `sudo -l` shows root: Ubuntu's and Debian's stock sudoers.
    fn root_privileges(&self) -> String {
        format!(
            "Matching Defaults entries for root on {}:\n    env_reset, mail_badpass,\n    secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin{},\n    use_pty\n\nUser root may run the following commands on {}:\n    (ALL : ALL) ALL\n",
            self.host.hostname,
            if self.host.distro.family == crate::decoy::ssh::profile::Family::Ubuntu {
                "\\:/snap/bin"
            } else {
                ""
            },
            self.host.hostname
        )
    }

    /// Whether `typed` is the password the session logged in with: sudo takes it, and
    /// refuses the user only then.
    fn is_login_password(&self, typed: &str) -> bool {
        self.password.as_deref() == Some(typed)
    }
}

/// What sudo says last after `failed` wrong passwords.
fn gave_up(failed: u32) -> String {
    match failed {
        0 => "sudo: a password is required\n".into(),
        1 => "sudo: 1 incorrect password attempt\n".into(),
        n => format!("sudo: {n} incorrect password attempts\n"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::host;
    use super::super::{Host, User};
    use super::*;
    use crate::decoy::ssh::profile::Profile;

    fn deploy(h: &Arc<Host>, tty: bool) -> Shell {
        Shell::new(h.clone(), h.users[0].clone(), tty).with_password(Some("s3cret".into()))
    }

    const PROMPT: &str = "[sudo] password for deploy: ";

    #[test]
    fn at_a_terminal_sudo_asks_three_times_and_refuses_after_the_right_password() {
        let h = host(Profile::Openssh96Ubuntu);
        let mut sh = deploy(&h, true);
        let o = sh.run_input("sudo -i; echo after");
        assert_eq!((o.stdout.as_str(), o.stderr.as_str()), (PROMPT, ""));
        assert!(sh.asks_password());
        let o = sh.answer_password("guess");
        assert_eq!(o.stdout, format!("\nSorry, try again.\n{PROMPT}"));
        assert_eq!(o.slept, PAM_DELAY);
        assert!(sh.asks_password());
        let o = sh.answer_password("s3cret");
        assert_eq!(o.stdout, "\ndeploy is not in the sudoers file.\n");
        assert_eq!(o.slept, Duration::ZERO);
        assert!(!sh.asks_password());
        assert_eq!(sh.run_input("echo $?").stdout, "1\n");
        // The passwords went to sudo, not into bash's history.
        let history = sh.run_input("history").stdout;
        assert!(
            !history.contains("guess") && history.contains("sudo -i"),
            "{history}"
        );

        sh.run_input("sudo -l");
        for _ in 0..2 {
            sh.answer_password("x");
        }
        let o = sh.answer_password("y");
        assert_eq!(o.stdout, "\nsudo: 3 incorrect password attempts\n");
        assert!(!sh.asks_password());
        sh.run_input("sudo -l");
        assert_eq!(
            sh.answer_password("s3cret").stdout,
            "\nSorry, user deploy may not run sudo on build-07.\n"
        );
        sh.run_input("sudo id");
        sh.answer_password("x");
        assert_eq!(
            sh.stop_asking(true).stdout,
            "\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n"
        );
        sh.run_input("sudo -p 'pw for %u@%h: ' id");
        assert_eq!(sh.stop_asking(false).stdout, "\n");
        assert!(!sh.asks_password());

        // A login by key has no password that sudo would take.
        let mut sh = Shell::new(h.clone(), h.users[0].clone(), true);
        assert_eq!(
            sh.run_input("sudo -p 'pw for %u@%h: ' id").stdout,
            "pw for deploy@build-07: "
        );
        assert!(sh.answer_password("").stdout.contains("Sorry, try again."));
    }

    #[test]
    fn without_a_terminal_sudo_answers_as_the_build_does() {
        let h = host(Profile::Openssh92Debian);
        let run = |line: &str| {
            let o = deploy(&h, false).run(line);
            (o.stdout, o.stderr, o.status)
        };
        let no_tty = "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n";
        assert_eq!(run("sudo id"), (String::new(), no_tty.into(), 1));
        assert_eq!(run("sudo -n id").1, "sudo: a password is required\n");
        assert_eq!(
            run("echo guess | sudo -S id").1,
            format!(
                "{PROMPT}Sorry, try again.\n{PROMPT}\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n"
            )
        );
        let o = deploy(&h, false).run("printf 'a\\nb\\nc\\nd\\n' | sudo -S id");
        assert_eq!(
            o.stderr,
            format!(
                "{PROMPT}Sorry, try again.\n{PROMPT}Sorry, try again.\n{PROMPT}sudo: 3 incorrect password attempts\n"
            )
        );
        assert_eq!(o.slept, PAM_DELAY * 3);
        assert_eq!(
            run("echo s3cret | sudo -S id").1,
            format!("{PROMPT}deploy is not in the sudoers file.\n")
        );
        assert_eq!(
            run("sudo -S id").1,
            format!("{PROMPT}\nsudo: no password was provided\nsudo: a password is required\n")
        );
        assert_eq!(
            run("sudo -V").0,
            "Sudo version 1.9.13p3\nSudoers policy plugin version 1.9.13p3\nSudoers file grammar version 50\nSudoers I/O plugin version 1.9.13p3\nSudoers audit plugin version 1.9.13p3\n"
        );
        let (_, err, status) = run("sudo");
        assert!(err.starts_with("usage: sudo -h | -K | -k | -V\n"));
        assert_eq!(status, 1);
        assert_eq!(run("sudo -k"), (String::new(), String::new(), 0));
        assert!(
            run("sudo -h")
                .0
                .starts_with("sudo - execute a command as another user\n\nusage:")
        );

        // Root's sudo runs the command.
        let root = User {
            name: "root".into(),
            uid: 0,
        };
        let o = Shell::new(h.clone(), root, false).run("sudo -u root id");
        assert_eq!(o.stdout, "uid=0(root) gid=0(root) groups=0(root)\n");
    }

    #[test]
    fn help_wraps_as_sudo_does() {
        let h = help();
        assert!(h.contains(
            "  -i, --login                   run login shell as the target user; a command\n                                may also be specified\n"
        ));
        assert!(h.contains(
            "  -l, --list                    list user's privileges or check a specific\n                                command; use twice for longer format\n"
        ));
        assert!(
            h.contains("  -V, --version                 display version information and exit\n")
        );
        assert!(h.lines().all(|l| l.len() <= 80), "{h}");
    }

    #[test]
    fn options_parse_as_getopt_reads_them() {
        let c = parse(&["-u", "root", "-S", "id", "-u"]).ok().unwrap();
        assert_eq!(c.command, ["id", "-u"]);
        assert!(c.stdin);
        let c = parse(&["-iu", "root"]).ok().unwrap();
        assert!(c.shell && c.command.is_empty());
        let c = parse(&["FOO=1", "env"]).ok().unwrap();
        assert_eq!(c.command, ["env"]);
        assert_eq!(parse(&["--list"]).ok().unwrap().mode, Mode::List);
        assert_eq!(parse(&["--ver"]).ok().unwrap().mode, Mode::Version);
        assert_eq!(parse(&["-k"]).ok().unwrap().mode, Mode::Forget);
        assert_eq!(parse(&["-k", "id"]).ok().unwrap().mode, Mode::Run);
        assert_eq!(parse(&["-k", "-l"]).ok().unwrap().mode, Mode::List);
        assert_eq!(parse(&["-l", "-k"]).ok().unwrap().mode, Mode::List);
        assert!(parse(&["-k", "-i"]).ok().unwrap().shell);
        let bad = |a: &[&str]| parse(a).err().map(|Bad(s)| s);
        assert_eq!(bad(&[]).as_deref(), Some(""));
        assert_eq!(
            bad(&["-x"]).as_deref(),
            Some("sudo: invalid option -- 'x'\n")
        );
        assert_eq!(
            bad(&["--nope"]).as_deref(),
            Some("sudo: unrecognized option '--nope'\n")
        );
        assert_eq!(
            bad(&["-u"]).as_deref(),
            Some("sudo: option requires an argument -- 'u'\n")
        );
        assert_eq!(
            bad(&["-l", "-i"]).as_deref(),
            Some(
                "sudo: Only one of the -e, -h, -i, -K, -l, -s, -v or -V options may be specified\n"
            )
        );
        assert_eq!(bad(&["-V", "id"]).as_deref(), Some(""));
    }
}
