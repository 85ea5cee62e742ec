//! The `signals:` section: raw values to [`SignalSettings`], every problem at its position.
//! Plain `http://` is accepted only for loopback addresses.

use std::path::Path;

use serde_saphyr::Spanned;

use super::{ConfigError, ConfigErrors, parse_spanned, raw, units};
use crate::score::Level;
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

/// Validates the section; `host` is the sensor's advertised name (default issuer).
pub fn build(
    file: &Path,
    raw: raw::RawSignals,
    host: &str,
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
        if let (Some(push_url), Some(audience), Some(min_level)) = (push, audience, min_level) {
            s.receivers.push(Receiver {
                name,
                kind,
                push_url,
                audience,
                events,
                min_level,
                sub_id: r.sub_id.map(|b| b.value).unwrap_or(false),
                txn: r.txn.map(|b| b.value).unwrap_or(false),
            });
        }
    }
    (errors.0.len() == before).then_some(s)
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
