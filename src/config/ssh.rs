//! `kind: ssh` decoy files: raw values to [`SshSettings`], every problem at its position.

use std::path::Path;
use std::time::Duration;

use russh::keys::PublicKey;
use serde_saphyr::Spanned;

use super::{ConfigError, ConfigErrors, bounded_u32, parse_listen, parse_spanned, raw, units};
use crate::decoy::ssh::profile::Profile;
use crate::decoy::ssh::shell::{MAX_FILE_BYTES, MAX_FILES, normalize};
use crate::decoy::ssh::{Accept, Secret, ShellSettings, SshLimits, SshSettings};

/// The keys an SSH decoy file may have.
pub fn schema() -> super::keys::Schema {
    use super::keys::Schema;
    Schema::of::<raw::RawSsh>()
        .section("accept", Schema::of::<raw::RawAccept>())
        .section("shell", Schema::of::<raw::RawShell>())
        .section("limits", Schema::of::<raw::RawSshLimits>())
}

/// Validates an SSH decoy; `None` when anything is wrong (all of it is in `errors`).
pub fn build(file: &Path, raw: raw::RawSsh, errors: &mut ConfigErrors) -> Option<SshSettings> {
    let before = errors.0.len();
    let listen = parse_listen(file, &raw.listen, errors);
    let profile = match &raw.profile {
        None => Some(Profile::DEFAULT),
        Some(p) => Profile::from_name(p.value.trim()).or_else(|| {
            errors.push(ConfigError::spanned(
                file,
                p,
                format!(
                    "unknown profile {:?}: expected one of {}",
                    p.value,
                    Profile::names()
                ),
            ));
            None
        }),
    };
    let failure_delay = parse_spanned(
        file,
        &raw.failure_delay,
        units::parse_delay_range,
        SshSettings::DEFAULT_FAILURE_DELAY,
        errors,
    );
    if let (Some(d), Some(v)) = (failure_delay, &raw.failure_delay)
        && d.max > Duration::from_secs(30)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "failure_delay is too long: expected at most 30s",
        ));
    }
    let grace = parse_spanned(
        file,
        &raw.login_grace_time,
        units::parse_duration,
        SshSettings::DEFAULT_LOGIN_GRACE_TIME,
        errors,
    );
    check_range(
        file,
        grace,
        &raw.login_grace_time,
        "login_grace_time",
        Duration::from_millis(10),
        Duration::from_secs(3600),
        "10ms to 1h",
        errors,
    );
    let max_auth_tries = bounded_u32(
        file,
        &raw.max_auth_tries,
        SshSettings::DEFAULT_MAX_AUTH_TRIES,
        1,
        100,
        errors,
    );
    let accept = raw
        .accept
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| build_accept(file, a, errors))
        .collect::<Vec<_>>();
    let shell = build_shell(file, raw.shell.unwrap_or_default(), errors);
    let limits = build_limits(file, raw.limits.unwrap_or_default(), errors);
    if errors.0.len() > before {
        return None;
    }
    Some(SshSettings {
        listen: listen?,
        profile: profile?,
        failure_delay: failure_delay?,
        login_grace_time: grace?,
        max_auth_tries: max_auth_tries? as u32,
        accept,
        accept_honeytokens: raw.accept_honeytokens.map(|b| b.value).unwrap_or(false),
        shell: shell?,
        limits: limits?,
    })
}

#[allow(clippy::too_many_arguments)]
fn check_range(
    file: &Path,
    value: Option<Duration>,
    raw: &Option<Spanned<String>>,
    what: &str,
    min: Duration,
    max: Duration,
    expected: &str,
    errors: &mut ConfigErrors,
) {
    if let (Some(d), Some(v)) = (value, raw)
        && (d < min || d > max)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            format!("{what} out of range: expected {expected}"),
        ));
    }
}

/// A login name as `useradd` takes it.
fn valid_user(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn build_accept(file: &Path, a: raw::RawAccept, errors: &mut ConfigErrors) -> Option<Accept> {
    let user = a.user.value.trim().to_string();
    if !valid_user(&user) {
        errors.push(ConfigError::spanned(
            file,
            &a.user,
            format!(
                "invalid user {user:?}: expected a login name of up to 32 lower-case letters, digits, `_` or `-`"
            ),
        ));
        return None;
    }
    match (a.password, a.key) {
        (Some(p), None) => {
            if p.value.is_empty() || p.value.len() > 256 {
                errors.push(ConfigError::spanned(
                    file,
                    &p,
                    "invalid password: expected 1 to 256 bytes",
                ));
                return None;
            }
            Some(Accept {
                user,
                secret: Secret::Password(p.value),
            })
        }
        (None, Some(k)) => match PublicKey::from_openssh(k.value.trim()) {
            Ok(key) => Some(Accept {
                user,
                secret: Secret::Key(Box::new(key)),
            }),
            Err(e) => {
                errors.push(ConfigError::spanned(
                    file,
                    &k,
                    format!(
                        "invalid public key ({e}): expected one line as in authorized_keys, like `ssh-ed25519 AAAA... comment`"
                    ),
                ));
                None
            }
        },
        (Some(_), Some(k)) => {
            errors.push(ConfigError::spanned(
                file,
                &k,
                "an accept item has either `password` or `key`, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(ConfigError::spanned(
                file,
                &a.user,
                format!("accept item for {user:?} has no `password` or `key`"),
            ));
            None
        }
    }
}

/// The machine's own short host name: what a real sshd on this host would show.
fn default_hostname() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let short = host.split('.').next().unwrap_or("").trim().to_string();
    if valid_hostname(&short) {
        short
    } else {
        "localhost".into()
    }
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 63
        && !h.starts_with('-')
        && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn build_shell(
    file: &Path,
    raw: raw::RawShell,
    errors: &mut ConfigErrors,
) -> Option<ShellSettings> {
    let before = errors.0.len();
    let hostname = match &raw.hostname {
        None => default_hostname(),
        Some(h) if valid_hostname(h.value.trim()) => h.value.trim().to_string(),
        Some(h) => {
            errors.push(ConfigError::spanned(
                file,
                h,
                format!(
                    "invalid hostname {:?}: expected 1 to 63 letters, digits or `-`",
                    h.value
                ),
            ));
            String::new()
        }
    };
    let mut files = Vec::new();
    let raw_files = raw.files.unwrap_or_default();
    if raw_files.len() > MAX_FILES {
        let first = raw_files.values().next().expect("more than the maximum");
        errors.push(ConfigError::spanned(
            file,
            first,
            format!("too many shell files: expected at most {MAX_FILES}"),
        ));
    }
    for (path, content) in raw_files {
        if !path.starts_with('/') || path.contains('\0') || normalize("/", &path) != path {
            errors.push(ConfigError::spanned(
                file,
                &content,
                format!(
                    "invalid shell file path {path:?}: expected an absolute path without `.`, `..` or `//`, like /home/deploy/notes.txt"
                ),
            ));
            continue;
        }
        if content.value.len() > MAX_FILE_BYTES {
            errors.push(ConfigError::spanned(
                file,
                &content,
                format!("shell file {path} is too large: expected at most 64KiB"),
            ));
            continue;
        }
        files.push((path, content.value));
    }
    (errors.0.len() == before).then_some(ShellSettings { hostname, files })
}

fn build_limits(
    file: &Path,
    raw: raw::RawSshLimits,
    errors: &mut ConfigErrors,
) -> Option<SshLimits> {
    let d = SshLimits::default();
    let caps = super::connection_caps(
        file,
        (&raw.max_connections, &raw.max_connections_per_source),
        (d.max_connections, d.max_connections_per_source),
        errors,
    );
    let idle = parse_spanned(
        file,
        &raw.idle_timeout,
        units::parse_duration,
        d.idle_timeout,
        errors,
    );
    check_range(
        file,
        idle,
        &raw.idle_timeout,
        "idle_timeout",
        Duration::from_millis(10),
        Duration::from_secs(86_400),
        "10ms to 24h",
        errors,
    );
    Some(SshLimits {
        max_connections: caps?.0,
        max_connections_per_source: caps?.1,
        idle_timeout: idle?,
    })
}
