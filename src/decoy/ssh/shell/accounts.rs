//! `passwd` and `chpasswd`, as shadow 4.13 answers them through Debian's PAM stack
//! (`pam_unix.so obscure yescrypt`). Bots change the password of the account they broke into
//! (`echo "root:NEW" | chpasswd`, `echo -e "NEW\nNEW" | passwd`) before anything else: a
//! "command not found" there shows the shell is not what it claims. A change is made in the
//! session's copy of `/etc/shadow` (a new hash, today's date), so `passwd -S` and
//! `cat /etc/shadow` show it; nothing outside the session changes.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Output, Shell};

const PASSWD_USAGE: &str = "Usage: passwd [options] [LOGIN]

Options:
  -a, --all                     report password status on all accounts
  -d, --delete                  delete the password for the named account
  -e, --expire                  force expire the password for the named account
  -h, --help                    display this help message and exit
  -k, --keep-tokens             change password only if expired
  -i, --inactive INACTIVE       set password inactive after expiration
                                to INACTIVE
  -l, --lock                    lock the password of the named account
  -n, --mindays MIN_DAYS        set minimum number of days before password
                                change to MIN_DAYS
  -q, --quiet                   quiet mode
  -r, --repository REPOSITORY   change password in REPOSITORY repository
  -R, --root CHROOT_DIR         directory to chroot into
  -S, --status                  report password status on the named account
  -u, --unlock                  unlock the password of the named account
  -w, --warndays WARN_DAYS      set expiration warning days to WARN_DAYS
  -x, --maxdays MAX_DAYS        set maximum number of days before password
                                change to MAX_DAYS

";

const CHPASSWD_USAGE: &str = "Usage: chpasswd [options]

Options:
  -c, --crypt-method METHOD     the crypt method (one of NONE DES MD5 SHA256 SHA512 YESCRYPT)
  -e, --encrypted               supplied passwords are encrypted
  -h, --help                    display this help message and exit
  -m, --md5                     encrypt the clear text password using
                                the MD5 algorithm
  -R, --root CHROOT_DIR         directory to chroot into
  -s, --sha-rounds              number of rounds for the SHA, BCRYPT
                                or YESCRYPT crypt algorithms

";

/// PAM's words when the new password is refused or the input ends.
const TOKEN_ERROR: &str = "Authentication token manipulation error";

/// Tries pam_unix gives a new password that is empty.
const TRIES: usize = 3;

/// The options of one of the two tools: (short letter, long name, takes a value).
type Options = &'static [(char, &'static str, bool)];

const PASSWD_OPTIONS: Options = &[
    ('a', "all", false),
    ('d', "delete", false),
    ('e', "expire", false),
    ('h', "help", false),
    ('k', "keep-tokens", false),
    ('i', "inactive", true),
    ('l', "lock", false),
    ('n', "mindays", true),
    ('q', "quiet", false),
    ('r', "repository", true),
    ('R', "root", true),
    ('S', "status", false),
    ('u', "unlock", false),
    ('w', "warndays", true),
    ('x', "maxdays", true),
];

const CHPASSWD_OPTIONS: Options = &[
    ('c', "crypt-method", true),
    ('e', "encrypted", false),
    ('h', "help", false),
    ('m', "md5", false),
    ('R', "root", true),
    ('s', "sha-rounds", true),
];

/// getopt_long's reading of `args`: the option letters given, then the other words; or its
/// complaint.
fn options(tool: &str, spec: Options, args: &[&str]) -> Result<(String, Vec<String>), String> {
    let mut given = String::new();
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == "--" {
            words.extend(it.map(|w| w.to_string()));
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or_default();
            let Some((c, _, value)) = spec.iter().find(|(_, l, _)| *l == name) else {
                let shown: String = a.chars().take(256).collect();
                return Err(format!("{tool}: unrecognized option '{shown}'\n"));
            };
            if *value && !long.contains('=') && it.next().is_none() {
                return Err(format!("{tool}: option '--{name}' requires an argument\n"));
            }
            given.push(*c);
        } else if a.len() > 1 && a.starts_with('-') {
            let letters: Vec<char> = a[1..].chars().collect();
            for (i, l) in letters.iter().enumerate() {
                let Some((c, _, value)) = spec.iter().find(|(c, _, _)| c == l) else {
                    return Err(format!("{tool}: invalid option -- '{l}'\n"));
                };
                given.push(*c);
                if *value {
                    // The rest of the word, or the next one, is its value.
                    if i + 1 == letters.len() && it.next().is_none() {
                        return Err(format!("{tool}: option requires an argument -- '{l}'\n"));
                    }
                    break;
                }
            }
        } else {
            words.push(a.to_string());
        }
    }
    Ok((given, words))
}

/// [`options`] for one of the two tools: `None` once it has answered by itself (its usage for
/// `-h` on stdout; a complaint and the usage on stderr, with `bad_status`).
fn parse(
    tool: &str,
    spec: Options,
    usage: &str,
    bad_status: u32,
    args: &[&str],
    out: &mut Output,
) -> Option<(String, Vec<String>)> {
    match options(tool, spec, args) {
        Ok((given, _)) if given.contains('h') => {
            out.stdout.push_str(usage);
            None
        }
        Ok(parsed) => Some(parsed),
        Err(e) => {
            out.stderr.push_str(&e);
            out.stderr.push_str(usage);
            out.status = bad_status;
            None
        }
    }
}

/// The lines a tool reads from its standard input (none at a terminal: nothing is piped).
fn lines(stdin: Option<&str>) -> Vec<&str> {
    stdin.map_or_else(Vec::new, |s| s.lines().collect())
}

impl Shell {
    /// Whether `/etc/passwd` (as this session sees it) has an account `name`.
    fn has_account(&self, name: &str) -> bool {
        self.host.files.get("/etc/passwd").is_some_and(|p| {
            p.lines()
                .any(|l| l.split(':').next() == Some(name) && l.contains(':'))
        })
    }

    /// `/etc/shadow`'s line for `name`, split at its colons.
    fn shadow_entry(&self, name: &str) -> Option<Vec<String>> {
        let shadow = self.host.files.get("/etc/shadow")?;
        shadow
            .lines()
            .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
            .find(|f| f.first().map(String::as_str) == Some(name))
    }

    /// Gives `name` a new password in this session's `/etc/shadow`: a yescrypt-shaped hash
    /// drawn from the password (it matches nothing) and today as the day of the change.
    fn change_password(&mut self, name: &str, password: &str) {
        let Some(shadow) = self.host.files.get("/etc/shadow").cloned() else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let hash = self.host.hash_like(&format!("{name}:{password}:{now}"));
        let mut out = String::with_capacity(shadow.len() + 64);
        for line in shadow.lines() {
            let mut fields: Vec<&str> = line.split(':').collect();
            let day = (now / 86_400).to_string();
            if fields.first() == Some(&name) && fields.len() > 2 {
                fields[1] = &hash;
                fields[2] = &day;
                out.push_str(&fields.join(":"));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        self.write("/etc/shadow", &out, false);
    }

    /// `passwd [options] [LOGIN]`.
    pub(super) fn passwd(&mut self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        let Some((given, words)) = parse("passwd", PASSWD_OPTIONS, PASSWD_USAGE, 6, args, out)
        else {
            return;
        };
        if words.len() > 1 {
            out.stderr.push_str(PASSWD_USAGE);
            out.status = 2;
            return;
        }
        let me = self.user.name.clone();
        let name = words.first().cloned().unwrap_or_else(|| me.clone());
        if !self.has_account(&name) {
            let shown: String = name.chars().take(256).collect();
            let _ = writeln!(out.stderr, "passwd: user '{shown}' does not exist");
            out.status = 1;
            return;
        }
        let root = self.user.uid == 0;
        if given.contains('S') {
            let Some(f) = self.shadow_entry(&name).filter(|f| f.len() >= 7) else {
                return;
            };
            let state = match f[1].as_str() {
                "" => "NP",
                h if h.starts_with(['!', '*']) => "L",
                _ => "P",
            };
            let date = f[2].parse::<u64>().map_or_else(
                |_| "never".to_string(),
                |d| {
                    let c = super::date::Civil::of(d * 86_400);
                    format!("{}-{:02}-{:02}", c.year, c.month, c.day)
                },
            );
            let number = |s: &str| if s.is_empty() { "-1" } else { s }.to_string();
            let _ = writeln!(
                out.stdout,
                "{name} {state} {date} {} {} {} {}",
                number(&f[3]),
                number(&f[4]),
                number(&f[5]),
                number(&f[6])
            );
            return;
        }
        let modifies = given.chars().any(|c| "deilnuwxk".contains(c));
        if !root && (name != me || modifies) {
            let _ = writeln!(
                out.stderr,
                "passwd: You may not view or modify password information for {name}."
            );
            out.status = 1;
            return;
        }
        if modifies {
            out.stdout.push_str("passwd: password changed.\n");
            return;
        }
        if !root {
            // pam_unix asks a user for the current password first, and the one typed here
            // never matches the hash in this host's shadow.
            let _ = writeln!(out.stdout, "Changing password for {name}.");
            out.stderr.push_str("Current password: ");
            let _ = writeln!(
                out.stderr,
                "passwd: {TOKEN_ERROR}\npasswd: password unchanged"
            );
            out.status = 10;
            return;
        }
        let mut input = lines(stdin).into_iter();
        let mut changed = None;
        for _ in 0..TRIES {
            out.stderr.push_str("New password: ");
            let Some(first) = input.next() else {
                out.stderr.push_str("Password change has been aborted.\n");
                break;
            };
            out.stderr.push_str("Retype new password: ");
            let Some(again) = input.next() else {
                out.stderr.push_str("Password change has been aborted.\n");
                break;
            };
            if first != again {
                out.stderr.push_str("Sorry, passwords do not match.\n");
                break;
            }
            if first.is_empty() {
                out.stderr.push_str("No password has been supplied.\n");
                continue;
            }
            changed = Some(first.to_string());
            break;
        }
        match changed {
            Some(p) => {
                self.change_password(&name, &p);
                if !given.contains('q') {
                    out.stderr
                        .push_str("passwd: password updated successfully\n");
                }
            }
            None => {
                let _ = writeln!(
                    out.stderr,
                    "passwd: {TOKEN_ERROR}\npasswd: password unchanged"
                );
                out.status = 10;
            }
        }
    }

    /// `chpasswd`: one `user:password` a line from its standard input.
    pub(super) fn chpasswd(&mut self, args: &[&str], stdin: Option<&str>, out: &mut Output) {
        if parse("chpasswd", CHPASSWD_OPTIONS, CHPASSWD_USAGE, 2, args, out).is_none() {
            return;
        }
        let root = self.user.uid == 0;
        let mut failed = false;
        for (n, line) in lines(stdin).into_iter().enumerate() {
            let n = n + 1;
            let Some((name, password)) = line.split_once(':') else {
                let _ = writeln!(out.stderr, "chpasswd: line {n}: missing new password");
                failed = true;
                continue;
            };
            let shown: String = name.chars().take(256).collect();
            if !root {
                // PAM asks the caller for the account's current password, which is not there.
                let _ = writeln!(out.stdout, "Changing password for {shown}.");
            } else if password.is_empty() {
                for _ in 0..TRIES {
                    out.stderr.push_str("No password has been supplied.\n");
                }
            }
            if root && self.has_account(name) && !password.is_empty() {
                self.change_password(name, password);
                continue;
            }
            let _ = writeln!(
                out.stderr,
                "chpasswd: (user {shown}) pam_chauthtok() failed, error:\n{TOKEN_ERROR}\n\
                 chpasswd: (line {n}, user {shown}) password not changed"
            );
            failed = true;
        }
        out.status = u32::from(failed);
    }
}
