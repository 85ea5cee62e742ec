//! `kind: lure` decoy files: raw values to [`LureSettings`], every problem at its position.
//! What needs the whole catalogue (the decoy `credential_for` names, the owner's domain) is
//! checked by [`check_catalogue`] once every file is read.

use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::{ConfigError, ConfigErrors, parse_spanned, raw, read_bounded, resolve_path, units};
use crate::decoy::lure::template::MAX_TEMPLATE_BYTES;
use crate::decoy::lure::{Builtin, LureSettings, LureTemplate, TargetSpec};
use crate::decoy::{DecoyKind, DecoySpec};

/// The keys a lure file may have.
pub fn schema() -> super::keys::Schema {
    use super::keys::Schema;
    Schema::of::<raw::RawLure>().section("target", Schema::of::<raw::RawTarget>())
}

/// Where a lure's catalogue-wide values were written, for [`check_catalogue`].
#[derive(Clone, Debug)]
pub struct LureRefs {
    /// The decoy's name.
    pub name: Arc<str>,
    /// The file.
    pub file: std::path::PathBuf,
    /// `owner:` and its position.
    pub owner: (String, u64, u64),
    /// `credential_for:` and its position.
    pub credential_for: Option<(String, u64, u64)>,
}

fn at<T>(v: &Spanned<T>) -> (u64, u64) {
    (v.referenced.line(), v.referenced.column())
}

/// Validates a lure; `None` when anything is wrong (all of it is in `errors`).
pub fn build(
    file: &Path,
    base: &Path,
    raw: raw::RawLure,
    errors: &mut ConfigErrors,
) -> Option<LureSettings> {
    let before = errors.0.len();
    if let Err(m) = super::check_sensor_id(raw.host.value.trim()) {
        errors.push(ConfigError::spanned(
            file,
            &raw.host,
            format!("invalid lure host (the sensor id that plants it): {m}"),
        ));
    }
    let path = resolve_path(file, base, &raw.path, errors);
    let owner = raw.owner.value.trim();
    if owner.is_empty()
        || owner.len() > 254
        || owner.chars().any(|c| c.is_whitespace() || c.is_control())
        || owner.starts_with('@')
        || owner.ends_with('@')
    {
        errors.push(ConfigError::spanned(
            file,
            &raw.owner,
            format!("invalid owner {owner:?}: expected an email address, or a user name with `identity.email_domain` set"),
        ));
    }
    let template = match (&raw.template, &raw.template_file) {
        (Some(_), Some(f)) => {
            errors.push(ConfigError::spanned(
                file,
                f,
                "a lure has either `template` or `template_file`, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(ConfigError::spanned(
                file,
                &raw.path,
                format!(
                    "missing `template:`: expected one of {}, or `template_file:`",
                    Builtin::names()
                ),
            ));
            None
        }
        (Some(t), None) => match Builtin::from_name(t.value.trim()) {
            Some(b) => Some(LureTemplate::builtin(b)),
            None => {
                errors.push(ConfigError::spanned(
                    file,
                    t,
                    format!(
                        "unknown template {:?}: expected one of {}",
                        t.value,
                        Builtin::names()
                    ),
                ));
                None
            }
        },
        (None, Some(f)) => resolve_path(file, base, f, errors).and_then(|p| {
            let text = match read_bounded(&p, MAX_TEMPLATE_BYTES as u64) {
                Ok(t) => t,
                Err(m) => {
                    errors.push(ConfigError::spanned(
                        file,
                        f,
                        format!("template file {}: {m}", p.display()),
                    ));
                    return None;
                }
            };
            match LureTemplate::custom(&text) {
                Ok(t) if t.has_secret() => Some(t),
                Ok(_) => {
                    errors.push(ConfigError::spanned(
                        file,
                        f,
                        format!("template file {} has no secret placeholder: expected at least one of {{{{password}}}}, {{{{api_key}}}}, {{{{aws_secret}}}}", p.display()),
                    ));
                    None
                }
                Err(errs) => {
                    for e in errs {
                        errors.push(ConfigError::at(&p, e.line, e.column, e.message));
                    }
                    None
                }
            }
        }),
    };
    let raw_target = raw.target.unwrap_or_default();
    let text = |v: &Option<Spanned<String>>, what: &str, errors: &mut ConfigErrors| {
        v.as_ref().and_then(|s| {
            let t = s.value.trim();
            if t.is_empty()
                || t.len() > 253
                || t.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                errors.push(ConfigError::spanned(
                    file,
                    s,
                    format!(
                        "invalid target {what} {:?}: expected 1 to 253 characters without spaces",
                        s.value
                    ),
                ));
                None
            } else {
                Some(t.to_string())
            }
        })
    };
    let target = TargetSpec {
        host: text(&raw_target.host, "host", errors),
        port: match &raw_target.port {
            Some(p) if p.value == 0 => {
                errors.push(ConfigError::spanned(
                    file,
                    p,
                    "target port 0 is no address to write into a lure: expected 1 to 65535",
                ));
                None
            }
            p => p.as_ref().map(|p| p.value),
        },
        user: text(&raw_target.user, "user", errors),
    };
    let mode = raw.mode.as_ref().and_then(|m| {
        let t = m.value.trim();
        match u32::from_str_radix(t.strip_prefix("0o").unwrap_or(t), 8) {
            Ok(v) if v <= 0o777 && v & 0o400 != 0 => Some(v),
            _ => {
                errors.push(ConfigError::spanned(
                    file,
                    m,
                    format!("invalid mode {:?}: expected octal permission bits the owner can read, like \"0600\" or \"0644\"", m.value),
                ));
                None
            }
        }
    });
    let file_owner = raw
        .file_owner
        .as_ref()
        .and_then(|o| match parse_owner(o.value.trim()) {
            Ok(v) => Some(v),
            Err(m) => {
                errors.push(ConfigError::spanned(file, o, m));
                None
            }
        });
    let age = parse_spanned(
        file,
        &raw.age,
        units::parse_duration,
        std::time::Duration::ZERO,
        errors,
    );
    if errors.0.len() > before {
        return None;
    }
    Some(LureSettings {
        host: Arc::from(raw.host.value.trim()),
        path: path?,
        owner: Arc::from(owner),
        template: template?,
        credential_for: raw
            .credential_for
            .as_ref()
            .map(|c| Arc::from(c.value.trim())),
        target,
        mode,
        file_owner,
        age: raw.age.as_ref().and(age),
    })
}

/// Positions of the values [`check_catalogue`] checks.
pub fn refs(file: &Path, name: &str, raw: &raw::RawLure) -> LureRefs {
    let (ol, oc) = at(&raw.owner);
    LureRefs {
        name: Arc::from(name),
        file: file.to_path_buf(),
        owner: (raw.owner.value.trim().to_string(), ol, oc),
        credential_for: raw.credential_for.as_ref().map(|c| {
            let (l, col) = at(c);
            (c.value.trim().to_string(), l, col)
        }),
    }
}

/// `alice`, `1000` or `1000:1000` → uid and maybe gid.
fn parse_owner(s: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("invalid file_owner {s:?}: expected a user name, a uid, or uid:gid");
    if let Some((u, g)) = s.split_once(':') {
        let uid = u.parse().map_err(|_| bad())?;
        let gid = g.parse().map_err(|_| bad())?;
        return Ok((uid, Some(gid)));
    }
    if let Ok(uid) = s.parse() {
        return Ok((uid, None));
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == s).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
        .find_map(|(u, g)| Some((u?, Some(g?))))
        .ok_or_else(|| {
            format!("unknown user {s:?} in file_owner: not in /etc/passwd; give a uid instead")
        })
}

/// Checks what needs every decoy: `credential_for` names an SSH or HTTP decoy, and an owner
/// without a domain gets `email_domain`'s (or is an error without one).
pub fn check_catalogue(
    decoys: &mut [DecoySpec],
    refs: &[LureRefs],
    email_domain: Option<&str>,
    errors: &mut ConfigErrors,
) {
    let network: Vec<(Arc<str>, &'static str)> = decoys
        .iter()
        .filter(|d| !matches!(d.kind, DecoyKind::Lure(_)))
        .map(|d| (d.name.clone(), d.kind.label()))
        .collect();
    for r in refs {
        if let Some((c, line, col)) = &r.credential_for
            && !network.iter().any(|(n, _)| **n == **c)
        {
            let known: Vec<&str> = network.iter().map(|(n, _)| &**n).collect();
            errors.push(ConfigError::at(
                &r.file,
                *line,
                *col,
                format!(
                    "credential_for names no SSH or HTTP decoy {c:?}: expected one of {}",
                    if known.is_empty() {
                        "(none defined)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        let (owner, line, col) = &r.owner;
        if !owner.contains('@') {
            match email_domain {
                Some(d) => {
                    if let Some(spec) = decoys.iter_mut().find(|s| s.name == r.name)
                        && let DecoyKind::Lure(l) = &mut spec.kind
                    {
                        l.owner = Arc::from(format!("{owner}@{d}"));
                    }
                }
                None => errors.push(ConfigError::at(
                    &r.file,
                    *line,
                    *col,
                    format!("owner {owner:?} has no domain: write the email address, or set `identity.email_domain` in the main file"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_names_uids_or_pairs() {
        assert_eq!(parse_owner("1000"), Ok((1000, None)));
        assert_eq!(parse_owner("1000:50"), Ok((1000, Some(50))));
        assert_eq!(parse_owner("root"), Ok((0, Some(0))));
        assert!(
            parse_owner("no-such-user-here")
                .unwrap_err()
                .contains("/etc/passwd")
        );
        assert!(parse_owner("1:x").is_err());
    }
}
