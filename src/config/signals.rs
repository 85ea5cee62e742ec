//! The `signals:` section: raw values to [`SignalSettings`], every problem at its position.
//! Plain `http://` is accepted only for loopback addresses.

use std::path::Path;

use serde_saphyr::Spanned;

use super::{ConfigError, ConfigErrors, parse_spanned, raw, units};
use crate::score::Level;
use crate::signal::okta::{Action, Credentials, OktaApi, Secret, ServiceApp, parse_private_key};
use crate::signal::{EventType, Receiver, ReceiverKind, SignalSettings};

/// Checks a URL: `https://`, or `http://` to a loopback address only.
pub fn check_url(v: &Spanned<String>, what: &str) -> Result<String, String> {
    let u = v.value.trim().trim_end_matches('/').to_string();
    let (scheme, rest) = u
        .split_once("://")
        .ok_or_else(|| format!("invalid {what} {u:?}: expected an https:// URL"))?;
    let host = rest.split('/').next().unwrap_or("");
    let host_only = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("").to_string()
    } else {
        host.rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(host)
            .to_string()
    };
    if host_only.is_empty() || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid {what} {u:?}: expected an https:// URL"));
    }
    match scheme {
        "https" => Ok(u),
        "http" => {
            let loopback = host_only == "localhost"
                || host_only
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(u)
            } else {
                Err(format!(
                    "{what} {u:?} is plain http: only loopback receivers may use http://, anything else needs https://"
                ))
            }
        }
        _ => Err(format!("invalid {what} {u:?}: expected an https:// URL")),
    }
}

/// Validates the section; `host` is the sensor's advertised name (default issuer). Paths are
/// relative to `base`, the main file's folder.
pub fn build(
    file: &Path,
    base: &Path,
    raw: raw::RawSignals,
    host: &str,
    secrets: super::Secrets,
    errors: &mut ConfigErrors,
) -> Option<SignalSettings> {
    let before = errors.0.len();
    let mut s = SignalSettings::defaults(host);
    let url = |v: &Spanned<String>, what: &str, errors: &mut ConfigErrors| match check_url(v, what)
    {
        Ok(u) => Some(u),
        Err(m) => {
            errors.push(ConfigError::spanned(file, v, m));
            None
        }
    };
    if let Some(i) = &raw.issuer
        && let Some(u) = url(i, "issuer", errors)
    {
        s.issuer = u.clone();
        s.public_base_url = u;
    }
    if let Some(b) = &raw.public_base_url
        && let Some(u) = url(b, "public_base_url", errors)
    {
        s.public_base_url = u;
    }
    if let Some(l) = &raw.public_listen {
        s.public_listen = super::parse_listen(file, l, errors);
    }
    for (value, slot) in [
        (&raw.key_overlap, &mut s.key_overlap),
        (&raw.max_retry_delay, &mut s.max_retry_delay),
        (&raw.auth_retry_delay, &mut s.auth_retry_delay),
    ] {
        if let Some(d) = parse_spanned(file, value, units::parse_duration, *slot, errors) {
            *slot = d;
        }
    }
    for r in raw.receivers.into_iter().flatten() {
        let name = r.name.value.trim().to_string();
        if let Err(m) = super::check_name("receiver name", &name) {
            errors.push(ConfigError::spanned(file, &r.name, m));
        }
        if s.receivers.iter().any(|x| x.name == name) {
            errors.push(ConfigError::spanned(
                file,
                &r.name,
                format!("receiver {name:?} is defined twice"),
            ));
        }
        let kind = match r.kind.value.trim() {
            "okta" => ReceiverKind::Okta,
            "ssf" => ReceiverKind::Ssf,
            other => {
                errors.push(ConfigError::spanned(
                    file,
                    &r.kind,
                    format!("unknown receiver kind {other:?}: expected okta or ssf"),
                ));
                continue;
            }
        };
        let (push, default_aud) = match (kind, &r.org_url, &r.url) {
            (ReceiverKind::Okta, Some(o), None) => match url(o, "org_url", errors) {
                Some(o) => (
                    Some(format!("{o}/security/api/v1/security-events")),
                    Some(o),
                ),
                None => (None, None),
            },
            (ReceiverKind::Ssf, None, Some(u)) => {
                let u = url(u, "url", errors);
                (u.clone(), u)
            }
            (ReceiverKind::Okta, _, _) => {
                errors.push(ConfigError::spanned(
                    file,
                    &r.kind,
                    "an okta receiver has `org_url` (https://acme.okta.com) and no `url`",
                ));
                (None, None)
            }
            (ReceiverKind::Ssf, _, _) => {
                errors.push(ConfigError::spanned(
                    file,
                    &r.kind,
                    "an ssf receiver has `url` (its push endpoint) and no `org_url`",
                ));
                (None, None)
            }
        };
        let audience = match &r.audience {
            Some(a) if !a.value.trim().is_empty() => Some(a.value.trim().to_string()),
            Some(a) => {
                errors.push(ConfigError::spanned(file, a, "empty audience"));
                None
            }
            None => default_aud,
        };
        let mut events = Vec::new();
        for e in r.events.iter().flatten() {
            match EventType::from_name(e.value.trim()) {
                Some(EventType::CredentialCompromise) if kind == ReceiverKind::Okta => {
                    errors.push(ConfigError::spanned(
                        file,
                        e,
                        "Okta does not accept RISC credential-compromise: expected user-risk-change or session-revoked",
                    ));
                }
                Some(t) => events.push(t),
                None => errors.push(ConfigError::spanned(
                    file,
                    e,
                    format!(
                        "unknown event {:?}: expected user-risk-change, session-revoked or credential-compromise",
                        e.value
                    ),
                )),
            }
        }
        if events.is_empty() {
            events.push(match kind {
                ReceiverKind::Okta => EventType::UserRiskChange,
                ReceiverKind::Ssf => EventType::SessionRevoked,
            });
        }
        let min_level = match r.min_level.as_ref().map(|m| m.value.trim()) {
            None => Some(Level::Medium),
            Some("low") => Some(Level::Low),
            Some("medium") => Some(Level::Medium),
            Some("high") => Some(Level::High),
            Some(other) => {
                errors.push(ConfigError::spanned(
                    file,
                    r.min_level.as_ref().expect("given"),
                    format!("unknown min_level {other:?}: expected low, medium or high"),
                ));
                None
            }
        };
        let api = okta_api(
            file,
            base,
            &r,
            kind,
            default_aud_org(&push),
            secrets,
            errors,
        );
        if let (Some(push_url), Some(audience), Some(min_level), Ok(api)) =
            (push, audience, min_level, api)
        {
            s.receivers.push(Receiver {
                name,
                kind,
                push_url,
                audience,
                events,
                min_level,
                sub_id: r.sub_id.map(|b| b.value).unwrap_or(false),
                txn: r.txn.map(|b| b.value).unwrap_or(false),
                api,
            });
        }
    }
    (errors.0.len() == before).then_some(s)
}

/// The org URL of an Okta push URL.
fn default_aud_org(push: &Option<String>) -> Option<String> {
    push.as_ref()
        .and_then(|p| p.strip_suffix("/security/api/v1/security-events"))
        .map(String::from)
}

/// A secret read from a file (which others may not read) or from the environment, trimmed.
fn read_secret(
    file: &Path,
    base: &Path,
    from_file: Option<&Spanned<String>>,
    from_env: Option<&Spanned<String>>,
    what: &str,
    errors: &mut ConfigErrors,
) -> Option<String> {
    let (value, at) = match (from_file, from_env) {
        (Some(f), None) => {
            let path = super::resolve_path(file, base, f, errors)?;
            use std::os::unix::fs::PermissionsExt;
            let read = std::fs::metadata(&path).and_then(|m| {
                if m.permissions().mode() & 0o077 != 0 {
                    Err(std::io::Error::other(format!(
                        "its group or others may read it (mode {:o}): chmod 600 {}",
                        m.permissions().mode() & 0o777,
                        path.display()
                    )))
                } else {
                    std::fs::read_to_string(&path)
                }
            });
            match read {
                Ok(v) => (v, f),
                Err(e) => {
                    errors.push(ConfigError::spanned(
                        file,
                        f,
                        format!("cannot use {what} file {}: {e}", path.display()),
                    ));
                    return None;
                }
            }
        }
        (None, Some(e)) => match std::env::var(e.value.trim()) {
            Ok(v) => (v, e),
            Err(_) => {
                errors.push(ConfigError::spanned(
                    file,
                    e,
                    format!(
                        "the environment variable {:?} ({what}) is not set",
                        e.value.trim()
                    ),
                ));
                return None;
            }
        },
        (Some(_), Some(e)) => {
            errors.push(ConfigError::spanned(
                file,
                e,
                format!("give the {what} in a file or in the environment, not both"),
            ));
            return None;
        }
        (None, None) => return None,
    };
    let v = value.trim().to_string();
    if v.is_empty() {
        errors.push(ConfigError::spanned(
            file,
            at,
            format!("the {what} is empty"),
        ));
        return None;
    }
    Some(v)
}

/// The `api:`, `verify_users` and `response` of a receiver. `Err` means an error was
/// reported; `Ok(None)`, no API.
fn okta_api(
    file: &Path,
    base: &Path,
    r: &raw::RawReceiver,
    kind: ReceiverKind,
    org_url: Option<String>,
    secrets: super::Secrets,
    errors: &mut ConfigErrors,
) -> Result<Option<OktaApi>, ()> {
    let before = errors.0.len();
    let response = match &r.response {
        None => None,
        Some(v) if v.value.trim() == "none" => None,
        Some(v) => match Action::from_name(v.value.trim()) {
            Some(a) => Some(a),
            None => {
                errors.push(ConfigError::spanned(
                    file,
                    v,
                    format!(
                        "unknown response {:?}: expected none, revoke_sessions, revoke_tokens or set_risk",
                        v.value
                    ),
                ));
                None
            }
        },
    };
    if kind != ReceiverKind::Okta {
        for (key, set) in [
            (
                "verify_users",
                r.verify_users.as_ref().map(|v| v.referenced),
            ),
            ("response", r.response.as_ref().map(|v| v.referenced)),
        ] {
            if let Some(at) = set {
                errors.push(ConfigError::located(
                    file,
                    at,
                    format!("`{key}` is for okta receivers (Okta's Management API)"),
                ));
            }
        }
    }
    let Some(api) = &r.api else {
        let need = "needs Okta API credentials: add `api:` with `token_file`, or `client_id` and `private_key_file`";
        if let Some(v) = r.verify_users.as_ref().filter(|v| v.value) {
            errors.push(ConfigError::spanned(
                file,
                v,
                format!("`verify_users` {need}"),
            ));
        }
        if let (Some(v), Some(_)) = (&r.response, response) {
            errors.push(ConfigError::spanned(file, v, format!("`response` {need}")));
        }
        return if errors.0.len() == before {
            Ok(None)
        } else {
            Err(())
        };
    };
    if kind != ReceiverKind::Okta {
        errors.push(ConfigError::spanned(
            file,
            &r.kind,
            "`api:` is for okta receivers (Okta's Management API)",
        ));
        return Err(());
    }
    let ssws = api.token_file.is_some() || api.token_env.is_some();
    if ssws {
        for (key, set) in [
            ("key_id", api.key_id.as_ref().map(|v| v.referenced)),
            ("dpop", api.dpop.as_ref().map(|v| v.referenced)),
        ] {
            if let Some(at) = set {
                errors.push(ConfigError::located(
                    file,
                    at,
                    format!("`{key}` is for an OAuth service app, not an SSWS token"),
                ));
            }
        }
        if let (Some(Action::RevokeTokens), Some(v)) = (response, &r.response) {
            errors.push(ConfigError::spanned(file, v, "revoke_tokens (global token revocation, scope okta.universalLogout.manage) needs an OAuth service app, not an SSWS token"));
        }
    }
    if let Some(k) = &api.key_id
        && (k.value.trim().is_empty() || !k.value.trim().bytes().all(|b| b.is_ascii_graphic()))
    {
        errors.push(ConfigError::spanned(
            file,
            k,
            "invalid key_id: expected the key's kid at Okta",
        ));
    }
    let app =
        api.client_id.is_some() || api.private_key_file.is_some() || api.private_key_env.is_some();
    let credentials = match (ssws, app) {
        _ if secrets == super::Secrets::Skip => {
            if ssws == app {
                errors.push(ConfigError::spanned(
                    file,
                    &r.name,
                    "`api:` needs either an SSWS token or a service app, not both or neither",
                ));
            }
            Some(Credentials::NotRead)
        }
        (true, false) => read_secret(
            file,
            base,
            api.token_file.as_ref(),
            api.token_env.as_ref(),
            "Okta API token",
            errors,
        )
        .and_then(|t| {
            let at = api
                .token_file
                .as_ref()
                .or(api.token_env.as_ref())
                .expect("one is set");
            if t.bytes().all(|b| b.is_ascii_graphic()) {
                Some(Credentials::Ssws(Secret::new(t)))
            } else {
                errors.push(ConfigError::spanned(
                    file,
                    at,
                    "the Okta API token has characters no token has (spaces or control characters)",
                ));
                None
            }
        }),
        (false, true) => {
            let client_id = match &api.client_id {
                Some(c)
                    if !c.value.trim().is_empty()
                        && c.value.trim().bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Some(c.value.trim().to_string())
                }
                Some(c) => {
                    errors.push(ConfigError::spanned(file, c, "invalid client_id"));
                    None
                }
                None => {
                    errors.push(ConfigError::spanned(
                        file,
                        &r.name,
                        "an OAuth service app needs `client_id` as well as its private key",
                    ));
                    None
                }
            };
            let pem = if api.private_key_file.is_none() && api.private_key_env.is_none() {
                errors.push(ConfigError::spanned(
                    file,
                    &r.name,
                    "an OAuth service app needs `private_key_file` (or `private_key_env`)",
                ));
                None
            } else {
                read_secret(
                    file,
                    base,
                    api.private_key_file.as_ref(),
                    api.private_key_env.as_ref(),
                    "service app private key",
                    errors,
                )
            };
            let key = pem.and_then(|p| match parse_private_key(&p) {
                Ok(k) => Some(k),
                Err(m) => {
                    let at = api
                        .private_key_file
                        .as_ref()
                        .or(api.private_key_env.as_ref())
                        .expect("one is set");
                    errors.push(ConfigError::spanned(file, at, m));
                    None
                }
            });
            match (client_id, key) {
                (Some(client_id), Some(key)) => Some(Credentials::ServiceApp(ServiceApp {
                    client_id,
                    key: std::sync::Arc::new(key),
                    key_id: api.key_id.as_ref().map(|k| k.value.trim().to_string()),
                    dpop: api.dpop.as_ref().is_some_and(|d| d.value),
                })),
                _ => None,
            }
        }
        (true, true) => {
            errors.push(ConfigError::spanned(
                file,
                &r.name,
                "`api:` has both an SSWS token and a service app: keep one",
            ));
            None
        }
        (false, false) => {
            errors.push(ConfigError::spanned(
                file,
                &r.name,
                "`api:` needs `token_file` / `token_env` (SSWS), or `client_id` and `private_key_file` / `private_key_env` (OAuth service app)",
            ));
            None
        }
    };
    match (credentials, org_url) {
        (Some(credentials), Some(org_url)) if errors.0.len() == before => Ok(Some(OktaApi {
            org_url,
            credentials,
            verify_users: r.verify_users.as_ref().is_none_or(|v| v.value),
            response,
        })),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: &str) -> Spanned<String> {
        serde_saphyr::from_str::<Spanned<String>>(&format!("{s:?}")).unwrap()
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://acme.okta.com",
            "http://127.0.0.1:8080/events",
            "http://[::1]:9/x",
            "http://localhost:1",
        ] {
            assert!(check_url(&sp(ok), "url").is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.okta.com",
            "http://10.0.0.1/x",
            "ftp://x",
            "acme.okta.com",
            "https://",
        ] {
            assert!(check_url(&sp(bad), "url").is_err(), "{bad}");
        }
        assert_eq!(
            check_url(&sp("https://acme.okta.com/"), "u").unwrap(),
            "https://acme.okta.com"
        );
    }
}
