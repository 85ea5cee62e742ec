//! The Okta Management API, for what a push cannot do:
//!
//! - registering this sensor as a Security Events Provider (`decoyd okta register`);
//! - checking that a signal's email is an Okta user before it is pushed, because Okta drops
//!   an event about an unknown user without a word;
//! - the direct response for orgs without Identity Threat Protection: ending the user's
//!   sessions (`oauthTokens=true`), global token revocation, or setting the user's risk.
//!
//! Credentials are an `SSWS` API token, or an OAuth service app that authenticates at
//! `/oauth2/v1/token` with a signed client assertion (`private_key_jwt`, Okta's recommended
//! way). When the app requires DPoP, or Okta answers that a proof is missing, every request
//! carries a DPoP proof made with a P-256 key that lives only in memory, and the nonce Okta asks
//! for is sent on a second try. No secret, token or key appears in `Debug` or in a log.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::deliver::read_start;

/// Longest answer of the Management API that is read.
const MAX_ANSWER: usize = 64 * 1024;
/// An access token is renewed this long before Okta says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime of a client assertion (Okta allows at most an hour).
const ASSERTION_LIFETIME: u64 = 300;
/// Longest lifetime believed of an access token, whatever the token endpoint says.
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);
/// How long a lookup's answer (found, not found) is reused for the same person.
const USER_CACHE_LIFE: Duration = Duration::from_secs(600);
/// Most people whose lookup is remembered.
const USER_CACHE_MAX: usize = 10_000;

/// Scope to read users.
pub const SCOPE_USERS_READ: &str = "okta.users.read";
/// Scope to end a user's sessions.
pub const SCOPE_USERS_MANAGE: &str = "okta.users.manage";
/// Scope of global token revocation.
pub const SCOPE_UNIVERSAL_LOGOUT: &str = "okta.universalLogout.manage";
/// Scope to set a user's risk.
pub const SCOPE_USER_RISK: &str = "okta.userRisk.manage";
/// Scope to register a Security Events Provider.
pub const SCOPE_PROVIDERS: &str = "okta.securityEventsProviders.manage";

/// A secret: shown as `(secret)` by `Debug`, never formatted anywhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(secret)")
    }
}

/// An OAuth service app that authenticates with `private_key_jwt`.
#[derive(Clone)]
pub struct ServiceApp {
    /// The app's client id.
    pub client_id: String,
    /// The private key whose public half is registered with the app.
    pub key: Arc<RsaKeyPair>,
    /// The key's `kid` at Okta, when the app has several keys.
    pub key_id: Option<String>,
    /// Send DPoP proofs from the first request (otherwise only once Okta asks for them).
    pub dpop: bool,
}

impl std::fmt::Debug for ServiceApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceApp")
            .field("client_id", &self.client_id)
            .field("key", &"(secret)")
            .field("key_id", &self.key_id)
            .field("dpop", &self.dpop)
            .finish()
    }
}

impl PartialEq for ServiceApp {
    fn eq(&self, o: &ServiceApp) -> bool {
        self.client_id == o.client_id
            && self.key_id == o.key_id
            && self.dpop == o.dpop
            && self.key.public_key().as_ref() == o.key.public_key().as_ref()
    }
}

impl Eq for ServiceApp {}

/// How decoyd authenticates to the Management API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: SSWS <token>`.
    Ssws(Secret),
    /// OAuth client credentials with a signed client assertion.
    ServiceApp(ServiceApp),
    /// Not read: the config was loaded by a command that never calls Okta.
    NotRead,
}

/// The direct response, for orgs without Identity Threat Protection. Made once, when a person
/// reaches `high`: evidence from a typed name alone never gets there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `DELETE /api/v1/users/{id}/sessions?oauthTokens=true`.
    RevokeSessions,
    /// `POST /oauth2/v1/global-token-revocation`.
    RevokeTokens,
    /// `PUT /api/v1/users/{id}/risk` (HIGH; LOW when an operator clears the person).
    SetRisk,
}

impl Action {
    /// The name used in config and `decoyd signals`.
    pub fn name(self) -> &'static str {
        match self {
            Action::RevokeSessions => "revoke_sessions",
            Action::RevokeTokens => "revoke_tokens",
            Action::SetRisk => "set_risk",
        }
    }

    /// Parses a config value.
    pub fn from_name(s: &str) -> Option<Action> {
        [
            Action::RevokeSessions,
            Action::RevokeTokens,
            Action::SetRisk,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    fn scope(self) -> &'static str {
        match self {
            Action::RevokeSessions => SCOPE_USERS_MANAGE,
            Action::RevokeTokens => SCOPE_UNIVERSAL_LOGOUT,
            Action::SetRisk => SCOPE_USER_RISK,
        }
    }
}

/// An Okta receiver's Management API settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OktaApi {
    /// `https://acme.okta.com`.
    pub org_url: String,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Look the person up before a signal is pushed.
    pub verify_users: bool,
    /// The direct response at `high`, if any.
    pub response: Option<Action>,
}

/// What a user lookup found, kept with the signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum UserCheck {
    /// An Okta user has this login or email.
    Found {
        /// The user's id (`00u…`).
        id: String,
        /// Its status (`ACTIVE`, `SUSPENDED`, ...).
        status: String,
    },
    /// No Okta user has it: Okta would drop the signal silently.
    NotFound,
    /// Several users have it as their primary email: no direct response is made, since it
    /// could strike the wrong person.
    Ambiguous,
    /// The lookup could not be made.
    Failed {
        /// Why.
        error: String,
        /// Okta's status, if it answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Okta's `X-Rate-Limit-Reset`, for the retry.
        #[serde(skip)]
        rate_limit_reset: Option<u64>,
    },
}

/// An answer of the API, or of the token endpoint when no token could be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The status; none for a connection error or timeout.
    pub status: Option<u16>,
    /// The start of the body, or the error.
    pub body: String,
    /// `X-Rate-Limit-Reset`, epoch seconds.
    pub rate_limit_reset: Option<u64>,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `status body`, for a signal's last answer and for errors.
    pub fn summary(&self) -> String {
        match self.status {
            Some(s) => format!("{s} {}", self.body.trim()),
            None => self.body.clone(),
        }
    }
}

struct AccessToken {
    value: Secret,
    dpop: bool,
    until: Instant,
}

/// A P-256 key for DPoP proofs, made when first needed and kept in memory only: the tokens it
/// is bound to die with the process anyway.
struct DpopKey {
    key: EcdsaKeyPair,
    jwk: Value,
}

impl DpopKey {
    fn new() -> Option<DpopKey> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?;
        // Uncompressed point: 0x04, x (32 bytes), y (32 bytes).
        let p = key.public_key().as_ref().to_vec();
        if p.len() != 65 || p[0] != 4 {
            return None;
        }
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": B64.encode(&p[1..33]),
            "y": B64.encode(&p[33..]),
        });
        Some(DpopKey { key, jwk })
    }

    /// A proof for one request (RFC 9449 §4.2).
    fn proof(&self, method: &str, url: &str, nonce: Option<&str>, token: Option<&str>) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut claims = json!({
            "htm": method,
            "htu": htu,
            "iat": now_secs(),
            "jti": super::set::new_jti(),
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = token {
            claims["ath"] = json!(B64.encode(Sha256::digest(t.as_bytes())));
        }
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("ECDSA signing of a bounded message does not fail");
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The client assertion for `private_key_jwt` (RFC 7523): signed by the app's key, for the
/// org's token endpoint.
pub fn client_assertion(app: &ServiceApp, token_url: &str) -> String {
    let mut header = json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(k) = &app.key_id {
        header["kid"] = json!(k);
    }
    let iat = now_secs();
    let claims = json!({
        "iss": app.client_id,
        "sub": app.client_id,
        "aud": token_url,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME,
        "jti": super::set::new_jti(),
    });
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let mut sig = vec![0u8; app.key.public_modulus_len()];
    app.key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("RSA signing of a bounded message does not fail");
    format!("{input}.{}", B64.encode(sig))
}

/// Reads an RSA private key in PEM: PKCS#8 (`BEGIN PRIVATE KEY`, as Okta's console gives it)
/// or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
pub fn parse_private_key(pem: &str) -> Result<RsaKeyPair, String> {
    let block = |label: &str| {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = pem.find(&begin)? + begin.len();
        let stop = pem[start..].find(&end)? + start;
        let b64: String = pem[start..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD.decode(b64).ok()
    };
    if let Some(der) = block("PRIVATE KEY") {
        return RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| "the PRIVATE KEY block is not an RSA key".to_string());
    }
    if let Some(der) = block("RSA PRIVATE KEY") {
        return RsaKeyPair::from_der(&der)
            .map_err(|_| "the RSA PRIVATE KEY block is not an RSA key".to_string());
    }
    Err("expected a PEM RSA private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into())
}

/// A header value that HTTP logging must never print.
fn sensitive(v: String) -> reqwest::header::HeaderValue {
    let mut h = reqwest::header::HeaderValue::from_str(&v)
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("invalid"));
    h.set_sensitive(true);
    h
}

/// A value for an Okta filter expression: quoted, with `"` and `\` escaped.
fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A client of one org's Management API.
pub struct Client {
    http: reqwest::Client,
    api: OktaApi,
    dpop_required: AtomicBool,
    dpop: std::sync::OnceLock<Option<DpopKey>>,
    /// The last DPoP nonce of the token endpoint and of the API: each server's own.
    nonces: std::sync::Mutex<[Option<String>; 2]>,
    tokens: tokio::sync::Mutex<HashMap<&'static str, AccessToken>>,
    users: std::sync::Mutex<HashMap<String, (UserCheck, Instant)>>,
}

/// Which server a DPoP nonce is for.
#[derive(Clone, Copy)]
enum NonceOf {
    TokenEndpoint = 0,
    Api = 1,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("okta::Client")
            .field("org_url", &self.api.org_url)
            .finish()
    }
}

enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl Client {
    /// A client for `api`, sending through `http`.
    pub fn new(http: reqwest::Client, api: OktaApi) -> Client {
        let dpop = matches!(&api.credentials, Credentials::ServiceApp(a) if a.dpop);
        Client {
            http,
            api,
            dpop_required: AtomicBool::new(dpop),
            dpop: std::sync::OnceLock::new(),
            nonces: std::sync::Mutex::new([None, None]),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
            users: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn api(&self) -> &OktaApi {
        &self.api
    }

    fn dpop_key(&self) -> Option<&DpopKey> {
        self.dpop.get_or_init(DpopKey::new).as_ref()
    }

    fn nonce(&self, of: NonceOf) -> Option<String> {
        self.nonces.lock().ok().and_then(|n| n[of as usize].clone())
    }

    /// Keeps the `DPoP-Nonce` a server sent (on any answer, RFC 9449 §8.2).
    fn remember_nonce(&self, of: NonceOf, r: &reqwest::Response) -> bool {
        match r.headers().get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            Some(n) if n.len() <= 512 => {
                if let Ok(mut slots) = self.nonces.lock() {
                    slots[of as usize] = Some(n.to_string());
                }
                true
            }
            _ => false,
        }
    }

    async fn answer_of(r: Result<reqwest::Response, reqwest::Error>) -> Answer {
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let rate_limit_reset = r
                    .headers()
                    .get("x-rate-limit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                let body = match read_start(r, MAX_ANSWER).await {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(e) => format!("(answer unreadable: {e})"),
                };
                Answer {
                    status: Some(status),
                    body,
                    rate_limit_reset,
                }
            }
            Err(e) => Answer {
                status: None,
                body: e.to_string(),
                rate_limit_reset: None,
            },
        }
    }

    /// An access token for `scope`, from the cache or the token endpoint.
    async fn access_token(
        &self,
        app: &ServiceApp,
        scope: &'static str,
    ) -> Result<(Secret, bool), Answer> {
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(scope)
            && t.until > Instant::now()
        {
            return Ok((t.value.clone(), t.dpop));
        }
        let url = format!("{}/oauth2/v1/token", self.api.org_url);
        // At most: one try, one with the nonce Okta asks for, one more if a proof was missing.
        let mut answer = None;
        for _ in 0..3 {
            let dpop = self.dpop_required.load(Ordering::Relaxed);
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("scope", scope)
                .append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .append_pair("client_assertion", &client_assertion(app, &url))
                .finish();
            let mut req = self
                .http
                .post(&url)
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form);
            if dpop && let Some(k) = self.dpop_key() {
                req = req.header(
                    "DPoP",
                    sensitive(k.proof(
                        "POST",
                        &url,
                        self.nonce(NonceOf::TokenEndpoint).as_deref(),
                        None,
                    )),
                );
            }
            let sent = req.send().await;
            let got_nonce = match &sent {
                Ok(r) => self.remember_nonce(NonceOf::TokenEndpoint, r),
                Err(_) => false,
            };
            if let Ok(r) = &sent
                && r.status().as_u16() == 400
            {
                // Okta's DPoP answers: `use_dpop_nonce` with a DPoP-Nonce header, or
                // `invalid_dpop_proof` when the app requires proofs and none was sent.
                let a = Self::answer_of(sent).await;
                let err = serde_json::from_str::<Value>(&a.body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(String::from))
                    .unwrap_or_default();
                if err == "use_dpop_nonce" && got_nonce {
                    self.dpop_required.store(true, Ordering::Relaxed);
                    answer = Some(a);
                    continue;
                }
                if err == "invalid_dpop_proof" && !dpop {
                    self.dpop_required.store(true, Ordering::Relaxed);
                    answer = Some(a);
                    continue;
                }
                return Err(Answer {
                    body: format!("token endpoint: {}", a.body),
                    ..a
                });
            }
            let a = Self::answer_of(sent).await;
            if !a.ok() {
                return Err(Answer {
                    body: format!("token endpoint: {}", a.body),
                    ..a
                });
            }
            let v: Value = serde_json::from_str(&a.body).unwrap_or_default();
            let Some(value) = v["access_token"].as_str() else {
                return Err(Answer {
                    status: None,
                    body: "token endpoint: no access_token in its answer".into(),
                    rate_limit_reset: None,
                });
            };
            let bound = v["token_type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
            // Bounded: a hostile or broken answer must not overflow the clock.
            let life =
                Duration::from_secs(v["expires_in"].as_u64().unwrap_or(300)).min(MAX_TOKEN_LIFE);
            let now = Instant::now();
            let token = AccessToken {
                value: Secret(value.to_string()),
                dpop: bound,
                until: now
                    .checked_add(life.saturating_sub(TOKEN_MARGIN))
                    .unwrap_or(now),
            };
            let out = (token.value.clone(), token.dpop);
            tokens.insert(scope, token);
            return Ok(out);
        }
        Err(answer.map_or_else(
            || Answer {
                status: None,
                body: "token endpoint: no answer".into(),
                rate_limit_reset: None,
            },
            |a| Answer {
                body: format!("token endpoint: {}", a.body),
                ..a
            },
        ))
    }

    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        scope: &'static str,
    ) -> Answer {
        let url = format!("{}{path_and_query}", self.api.org_url);
        let auth = match &self.api.credentials {
            Credentials::NotRead => Err(Answer {
                status: None,
                body: "the Okta API credentials were not read".into(),
                rate_limit_reset: None,
            }),
            Credentials::Ssws(t) => Ok((format!("SSWS {}", t.expose()), None)),
            Credentials::ServiceApp(app) => match self.access_token(app, scope).await {
                Ok((t, true)) => Ok((format!("DPoP {}", t.expose()), Some(t))),
                Ok((t, false)) => Ok((format!("Bearer {}", t.expose()), None)),
                Err(a) => Err(a),
            },
        };
        let (authorization, bound) = match auth {
            Ok(a) => a,
            Err(a) => return a,
        };
        let mut answer = None;
        // A second try only when Okta asks for a DPoP nonce.
        for _ in 0..2 {
            let m = match method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
                Method::Put => reqwest::Method::PUT,
                Method::Delete => reqwest::Method::DELETE,
            };
            let mut req = self
                .http
                .request(m, &url)
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    reqwest::header::AUTHORIZATION,
                    sensitive(authorization.clone()),
                );
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_string());
            }
            if let (Some(t), Some(k)) = (&bound, self.dpop_key()) {
                // The API's own nonce, only once it has asked for one.
                req = req.header(
                    "DPoP",
                    sensitive(k.proof(
                        method.as_str(),
                        &url,
                        self.nonce(NonceOf::Api).as_deref(),
                        Some(t.expose()),
                    )),
                );
            }
            let sent = req.send().await;
            let retry = match &sent {
                Ok(r) => {
                    let got = self.remember_nonce(NonceOf::Api, r);
                    let asks = r.status().as_u16() == 401
                        && bound.is_some()
                        && r.headers()
                            .get(reqwest::header::WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.contains("use_dpop_nonce"));
                    asks && got
                }
                Err(_) => false,
            };
            let a = Self::answer_of(sent).await;
            if a.status == Some(401) && !retry {
                // The token may have been revoked or expired early: the next call gets a new one.
                self.tokens.lock().await.remove(scope);
            }
            if retry && answer.is_none() {
                answer = Some(a);
                continue;
            }
            return a;
        }
        answer.expect("the loop answers")
    }

    /// Looks a person up by login, then by primary email; a found or not-found answer is
    /// reused for a while, so the signals of one level change cost one lookup.
    pub async fn find_user(&self, email: &str) -> UserCheck {
        let key = email.to_ascii_lowercase();
        if let Ok(cache) = self.users.lock()
            && let Some((c, at)) = cache.get(&key)
            && at.elapsed() < USER_CACHE_LIFE
        {
            return c.clone();
        }
        let check = self.look_up(email).await;
        if matches!(check, UserCheck::Found { .. } | UserCheck::NotFound)
            && let Ok(mut cache) = self.users.lock()
        {
            if cache.len() >= USER_CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < USER_CACHE_LIFE);
                if cache.len() >= USER_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (check.clone(), Instant::now()));
        }
        check
    }

    async fn look_up(&self, email: &str) -> UserCheck {
        let mut last = None;
        for field in ["profile.login", "profile.email"] {
            let expr = format!("{field} eq {}", quoted(email));
            let key = if field == "profile.login" {
                "filter"
            } else {
                "search"
            };
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair(key, &expr)
                .append_pair("limit", "2")
                .finish();
            let a = self
                .call(
                    Method::Get,
                    &format!("/api/v1/users?{q}"),
                    None,
                    SCOPE_USERS_READ,
                )
                .await;
            if !a.ok() {
                return UserCheck::Failed {
                    error: crate::touch::clip(&a.summary(), 300),
                    status: a.status,
                    rate_limit_reset: a.rate_limit_reset,
                };
            }
            match serde_json::from_str::<Value>(&a.body) {
                Ok(Value::Array(users)) => {
                    // A login is unique; a primary email need not be.
                    if users.len() > 1 {
                        return UserCheck::Ambiguous;
                    }
                    if let Some(u) = users.first()
                        && let Some(id) = u["id"].as_str()
                    {
                        return UserCheck::Found {
                            id: crate::touch::clip(id, 64),
                            status: crate::touch::clip(u["status"].as_str().unwrap_or(""), 32),
                        };
                    }
                    last = Some(UserCheck::NotFound);
                }
                _ => {
                    return UserCheck::Failed {
                        error: "the users API did not answer a list".into(),
                        status: None,
                        rate_limit_reset: None,
                    };
                }
            }
        }
        last.unwrap_or(UserCheck::NotFound)
    }

    /// Makes the direct response for the user `id`; `high` false means an operator cleared
    /// the person (only `set_risk` has something to say then).
    pub async fn respond(&self, action: Action, id: &str, high: bool, reason: &str) -> Answer {
        let id_path: String = form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
        match action {
            Action::RevokeSessions => {
                self.call(
                    Method::Delete,
                    &format!("/api/v1/users/{id_path}/sessions?oauthTokens=true"),
                    None,
                    action.scope(),
                )
                .await
            }
            Action::RevokeTokens => {
                let body = json!({ "sub_id": { "format": "opaque", "id": id } });
                self.call(
                    Method::Post,
                    "/oauth2/v1/global-token-revocation",
                    Some(&body),
                    action.scope(),
                )
                .await
            }
            Action::SetRisk => {
                let body = json!({
                    "riskLevel": if high { "HIGH" } else { "LOW" },
                    "riskReason": crate::touch::clip(reason, 500),
                });
                self.call(
                    Method::Put,
                    &format!("/api/v1/users/{id_path}/risk"),
                    Some(&body),
                    action.scope(),
                )
                .await
            }
        }
    }

    /// Creates the Security Events Provider `name`, or replaces it when it exists. Returns
    /// whether it was created, and Okta's answer.
    pub async fn register(&self, name: &str, settings: Value) -> Result<(bool, Value), String> {
        let list = self
            .call(
                Method::Get,
                "/api/v1/security-events-providers",
                None,
                SCOPE_PROVIDERS,
            )
            .await;
        if !list.ok() {
            return Err(format!(
                "cannot list Security Events Providers: {}",
                list.summary()
            ));
        }
        let existing = match serde_json::from_str::<Value>(&list.body) {
            Ok(Value::Array(v)) => v
                .into_iter()
                .find(|p| p["name"].as_str() == Some(name))
                .and_then(|p| p["id"].as_str().map(String::from)),
            _ => return Err("the Security Events Providers list is not a list".into()),
        };
        let body = json!({ "name": name, "type": "decoyd", "settings": settings });
        let (created, a) = match &existing {
            Some(id) => (
                false,
                self.call(
                    Method::Put,
                    &format!(
                        "/api/v1/security-events-providers/{}",
                        form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
                    ),
                    Some(&body),
                    SCOPE_PROVIDERS,
                )
                .await,
            ),
            None => (
                true,
                self.call(
                    Method::Post,
                    "/api/v1/security-events-providers",
                    Some(&body),
                    SCOPE_PROVIDERS,
                )
                .await,
            ),
        };
        if !a.ok() {
            return Err(format!(
                "Okta refused the Security Events Provider: {}",
                a.summary()
            ));
        }
        Ok((
            created,
            serde_json::from_str(&a.body).unwrap_or(Value::Null),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    };

    fn parts(jws: &str) -> (Value, Value, Vec<u8>, String) {
        let p: Vec<&str> = jws.split('.').collect();
        assert_eq!(p.len(), 3);
        (
            serde_json::from_slice(&B64.decode(p[0]).unwrap()).unwrap(),
            serde_json::from_slice(&B64.decode(p[1]).unwrap()).unwrap(),
            B64.decode(p[2]).unwrap(),
            format!("{}.{}", p[0], p[1]),
        )
    }

    fn app(dir: &std::path::Path) -> ServiceApp {
        let ring = super::super::keys::KeyRing::load_or_create(dir).unwrap();
        let kid = ring.current().to_string();
        let der = std::fs::read(dir.join("signing").join(format!("{kid}.p8"))).unwrap();
        ServiceApp {
            client_id: "0oa-test".into(),
            key: Arc::new(RsaKeyPair::from_pkcs8(&der).unwrap()),
            key_id: Some("k1".into()),
            dpop: false,
        }
    }

    #[test]
    fn the_client_assertion_is_signed_by_the_app_for_the_token_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let a = app(dir.path());
        let jws = client_assertion(&a, "https://acme.okta.com/oauth2/v1/token");
        let (h, c, sig, input) = parts(&jws);
        assert_eq!(h, json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
        assert_eq!(c["iss"], "0oa-test");
        assert_eq!(c["sub"], "0oa-test");
        assert_eq!(c["aud"], "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            ASSERTION_LIFETIME
        );
        assert_eq!(c["jti"].as_str().unwrap().len(), 32);
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, a.key.public_key().as_ref())
            .verify(input.as_bytes(), &sig)
            .expect("the signature verifies with the app's public key");
    }

    #[test]
    fn a_dpop_proof_names_the_request_and_binds_the_token() {
        let k = DpopKey::new().unwrap();
        let p = k.proof(
            "DELETE",
            "https://acme.okta.com/api/v1/users/00u1/sessions?oauthTokens=true",
            Some("n-1"),
            Some("tok"),
        );
        let (h, c, sig, input) = parts(&p);
        assert_eq!(h["typ"], "dpop+jwt");
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["jwk"]["kty"], "EC");
        assert!(h["jwk"].get("d").is_none(), "never the private part");
        assert_eq!(c["htm"], "DELETE");
        assert_eq!(c["htu"], "https://acme.okta.com/api/v1/users/00u1/sessions");
        assert_eq!(c["nonce"], "n-1");
        assert_eq!(c["ath"], B64.encode(Sha256::digest(b"tok")));
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, k.key.public_key().as_ref())
            .verify(input.as_bytes(), &sig)
            .expect("the proof verifies with the key it carries");
    }

    #[test]
    fn private_keys_are_read_from_pem_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let a = app(dir.path());
        let der = a.key.as_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let k = parse_private_key(&pem).unwrap();
        assert_eq!(k.public_key().as_ref(), a.key.public_key().as_ref());
        assert!(parse_private_key("not a key").is_err());
        assert!(
            parse_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let s = format!(
            "{:?} {:?}",
            Credentials::Ssws(Secret::new("00abcdefSECRET".into())),
            Credentials::ServiceApp(app(dir.path()))
        );
        assert!(!s.contains("SECRET"), "{s}");
        assert!(s.contains("(secret)") && s.contains("0oa-test"), "{s}");
    }

    #[test]
    fn filter_values_are_quoted_and_escaped() {
        assert_eq!(quoted("alice@example.com"), r#""alice@example.com""#);
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn actions_have_config_names() {
        for a in [
            Action::RevokeSessions,
            Action::RevokeTokens,
            Action::SetRisk,
        ] {
            assert_eq!(Action::from_name(a.name()), Some(a));
        }
        assert_eq!(Action::from_name("logout"), None);
    }
}
