//! Security Event Tokens (RFC 8417), as Okta accepts them: a JWS signed RS256 with header
//! `typ: secevent+jwt` and the signer's `kid`; claims `iss`, `aud`, `jti` (128 random bits),
//! `iat` (seconds) and exactly one event; never `exp` or `sub`. `sub_id` and `txn` (SSF 1.0)
//! only when a receiver asks for them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::keys::KeyRing;
use crate::score::Level;

/// Okta's user risk change: what drives Universal Logout.
pub const USER_RISK_CHANGE: &str =
    "https://schemas.okta.com/secevent/okta/event-type/user-risk-change";
/// CAEP session revoked.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// RISC credential compromise.
pub const CREDENTIAL_COMPROMISE: &str =
    "https://schemas.openid.net/secevent/risc/event-type/credential-compromise";

/// The event types a receiver may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    /// Okta's `user-risk-change`.
    UserRiskChange,
    /// CAEP `session-revoked`.
    SessionRevoked,
    /// RISC `credential-compromise`.
    CredentialCompromise,
}

impl EventType {
    /// The event's URI.
    pub fn uri(self) -> &'static str {
        match self {
            EventType::UserRiskChange => USER_RISK_CHANGE,
            EventType::SessionRevoked => SESSION_REVOKED,
            EventType::CredentialCompromise => CREDENTIAL_COMPROMISE,
        }
    }

    /// The name used in the config.
    pub fn from_name(s: &str) -> Option<EventType> {
        match s {
            "user-risk-change" => Some(EventType::UserRiskChange),
            "session-revoked" => Some(EventType::SessionRevoked),
            "credential-compromise" => Some(EventType::CredentialCompromise),
            _ => None,
        }
    }
}

/// What one token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetClaims<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `aud`.
    pub audience: &'a str,
    /// `jti`.
    pub jti: &'a str,
    /// `iat`, seconds.
    pub issued_at: u64,
    /// The event.
    pub event: EventType,
    /// The user's email address.
    pub email: &'a str,
    /// The level now.
    pub level: Level,
    /// The level before.
    pub previous: Level,
    /// When it happened, seconds.
    pub event_timestamp: u64,
    /// Why, for administrators.
    pub reason_admin: &'a str,
    /// Add `sub_id` (SSF 1.0).
    pub sub_id: bool,
    /// Add `txn`.
    pub txn: Option<&'a str>,
}

/// A new `jti`: 128 random bits, hex.
pub fn new_jti() -> String {
    crate::store::files::hex(&rand::random::<[u8; 16]>())
}

/// The claims as JSON.
pub fn claims(c: &SetClaims) -> Value {
    let subject = json!({ "format": "email", "email": c.email });
    let event = match c.event {
        EventType::UserRiskChange => json!({
            "subject": { "user": subject },
            "event_timestamp": c.event_timestamp,
            "current_level": c.level.to_string(),
            "previous_level": c.previous.to_string(),
            "initiating_entity": "system",
            "reason_admin": { "en": c.reason_admin },
            "reason_user": { "en": "Suspicious activity was detected on your account" },
        }),
        EventType::SessionRevoked => json!({
            "subject": subject,
            "event_timestamp": c.event_timestamp,
            "initiating_entity": "system",
            "reason_admin": { "en": c.reason_admin },
            "reason_user": { "en": "Suspicious activity was detected on your account" },
        }),
        EventType::CredentialCompromise => json!({
            "subject": subject,
            "credential_type": "password",
            "event_timestamp": c.event_timestamp,
            "reason_admin": { "en": c.reason_admin },
        }),
    };
    let mut claims = json!({
        "iss": c.issuer,
        "aud": c.audience,
        "jti": c.jti,
        "iat": c.issued_at,
        "events": { c.event.uri(): event },
    });
    if c.sub_id {
        claims["sub_id"] = subject;
    }
    if let Some(t) = c.txn {
        claims["txn"] = json!(t);
    }
    claims
}

/// Signs `claims` with the ring's current key: the compact token, and the kid it carries.
pub fn sign(keys: &KeyRing, claims: &Value) -> (String, String) {
    let kid = keys.current().to_string();
    let header = json!({ "alg": "RS256", "typ": "secevent+jwt", "kid": kid });
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let (kid, sig) = keys.sign(input.as_bytes());
    (format!("{input}.{}", B64.encode(sig)), kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> SetClaims<'static> {
        SetClaims {
            issuer: "https://decoyd.acme.com",
            audience: "https://acme.okta.com",
            jti: "5f0c6f0e9c1b4a0f8f7f2a0d4b9e3c11",
            issued_at: 1_763_800_000,
            event: EventType::UserRiskChange,
            email: "alice@acme.com",
            level: Level::High,
            previous: Level::Low,
            event_timestamp: 1_763_799_995,
            reason_admin: "Honeytoken from lure alice-aws used at decoy ssh-build from 10.1.2.3",
            sub_id: false,
            txn: None,
        }
    }

    #[test]
    fn the_user_risk_change_is_exactly_what_okta_documents() {
        let c = claims(&example());
        let expected = json!({
            "iss": "https://decoyd.acme.com",
            "aud": "https://acme.okta.com",
            "jti": "5f0c6f0e9c1b4a0f8f7f2a0d4b9e3c11",
            "iat": 1763800000,
            "events": {
                "https://schemas.okta.com/secevent/okta/event-type/user-risk-change": {
                    "subject": { "user": { "format": "email", "email": "alice@acme.com" } },
                    "event_timestamp": 1763799995,
                    "current_level": "high",
                    "previous_level": "low",
                    "initiating_entity": "system",
                    "reason_admin": { "en": "Honeytoken from lure alice-aws used at decoy ssh-build from 10.1.2.3" },
                    "reason_user": { "en": "Suspicious activity was detected on your account" }
                }
            }
        });
        assert_eq!(c, expected);
        assert!(c.get("exp").is_none() && c.get("sub").is_none() && c.get("sub_id").is_none());
    }

    #[test]
    fn other_receivers_get_their_event_and_optional_members() {
        let mut e = example();
        e.event = EventType::SessionRevoked;
        e.sub_id = true;
        e.txn = Some("t-1");
        let c = claims(&e);
        assert_eq!(c["events"].as_object().unwrap().len(), 1);
        assert_eq!(
            c["events"][SESSION_REVOKED]["subject"]["email"],
            "alice@acme.com"
        );
        assert_eq!(c["sub_id"]["format"], "email");
        assert_eq!(c["txn"], "t-1");
        e.event = EventType::CredentialCompromise;
        assert_eq!(
            claims(&e)["events"][CREDENTIAL_COMPROMISE]["credential_type"],
            "password"
        );
    }

    #[test]
    fn a_token_has_the_header_okta_checks_and_a_fresh_jti() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path()).unwrap();
        let (token, kid) = sign(&keys, &claims(&example()));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "secevent+jwt", "kid": kid})
        );
        assert_eq!(new_jti().len(), 32);
        assert_ne!(new_jti(), new_jti());
    }
}
