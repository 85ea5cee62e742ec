//! Signals: signed Security Event Tokens pushed over the OpenID Shared Signals Framework to
//! Okta and other receivers, from a durable outbox.
//!
//! - [`keys`]: the RSA signing keys and the JWKS.
//! - [`set`]: the tokens themselves.
//! - [`outbox`]: a signal per receiver per level change, written by the scorer in the same
//!   atomic batch as the change.
//! - [`deliver`]: the worker that pushes them, retrying until a receiver accepts or rejects for
//!   good, always with the same token.
//! - [`okta`]: Okta's Management API: registration, user checks, the direct response.
//! - [`receiver`]: `decoyd receiver`, a push receiver that checks tokens as Okta does.

pub mod deliver;
pub mod keys;
pub mod okta;
pub mod outbox;
pub mod receiver;
pub mod set;

use std::time::Duration;

use crate::score::Level;
pub use set::EventType;

/// Kinds of receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverKind {
    /// Okta: `user-risk-change` to `/security/api/v1/security-events`.
    Okta,
    /// Any SSF push receiver (RFC 8935).
    Ssf,
}

/// One receiver, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: ReceiverKind,
    /// Where tokens are pushed.
    pub push_url: String,
    /// `aud`.
    pub audience: String,
    /// What it is sent.
    pub events: Vec<EventType>,
    /// The lowest level it is sent.
    pub min_level: Level,
    /// Add `sub_id`.
    pub sub_id: bool,
    /// Add `txn`.
    pub txn: bool,
    /// Okta's Management API, when credentials are configured.
    pub api: Option<okta::OktaApi>,
}

/// The `signals:` section, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalSettings {
    /// `iss`.
    pub issuer: String,
    /// Where the discovery documents are published.
    pub public_base_url: String,
    /// The listener that serves only the discovery documents, if any.
    pub public_listen: Option<std::net::SocketAddr>,
    /// How long a retired key stays in the JWKS.
    pub key_overlap: Duration,
    /// Longest wait between retries of a transient failure.
    pub max_retry_delay: Duration,
    /// Wait before each retry of `invalid_key` / `authentication_failed`.
    pub auth_retry_delay: Duration,
    /// Where signals go; none keeps them in the outbox, shown by `decoyd signals`.
    pub receivers: Vec<Receiver>,
}

impl SignalSettings {
    /// Defaults for a sensor advertised as `host`: no receivers.
    pub fn defaults(host: &str) -> SignalSettings {
        let issuer = format!("https://{host}");
        SignalSettings {
            public_base_url: issuer.clone(),
            public_listen: None,
            issuer,
            key_overlap: Duration::from_secs(7 * 86_400),
            max_retry_delay: Duration::from_secs(300),
            auth_retry_delay: Duration::from_secs(60),
            receivers: Vec::new(),
        }
    }

    /// The SSF transmitter configuration (`/.well-known/ssf-configuration`).
    pub fn ssf_configuration(&self) -> serde_json::Value {
        serde_json::json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks.json", self.public_base_url.trim_end_matches('/')),
            "spec_version": "1_0",
            "delivery_methods_supported": ["urn:ietf:rfc:8935"],
        })
    }
}

/// Retries of `invalid_key` / `authentication_failed` before a signal is dead-lettered.
pub const AUTH_RETRIES: u32 = 3;
