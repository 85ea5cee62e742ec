//! `decoyd receiver`: a small SSF push receiver (RFC 8935) that checks tokens the way Okta
//! documents and prints each accepted one, so an operator can try the whole chain without an
//! Okta org. It verifies against a transmitter's JWKS (a URL, fetched at every request so a
//! rotation is seen at once, or a file) and answers 202, or 400 with `err` and `description`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::set::USER_RISK_CHANGE;

/// Largest JWKS read.
const MAX_JWKS: usize = 256 * 1024;
/// Largest token accepted.
const MAX_TOKEN: usize = 64 * 1024;

/// What a token must say, beyond its signature.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// `iss`, when given.
    pub issuer: Option<String>,
    /// `aud`, when given.
    pub audience: Option<String>,
}

/// A rejection, as Okta words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// `invalid_request`, `invalid_key`, `authentication_failed`, `invalid_issuer`,
    /// `invalid_audience`.
    pub err: &'static str,
    /// What is wrong.
    pub description: String,
}

fn reject(err: &'static str, description: impl Into<String>) -> Rejected {
    Rejected {
        err,
        description: description.into(),
    }
}

fn part(p: &str) -> Result<Value, Rejected> {
    let bytes = B64
        .decode(p)
        .map_err(|_| reject("invalid_request", "not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| reject("invalid_request", "not JSON"))
}

/// Verifies a compact SET against `jwks`; returns its claims.
pub fn verify(token: &str, jwks: &Value, expect: &Expect) -> Result<Value, Rejected> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [h, c, sig] = parts[..] else {
        return Err(reject("invalid_request", "not a compact JWS"));
    };
    let header = part(h)?;
    if header["typ"] != "secevent+jwt" {
        return Err(reject(
            "invalid_request",
            format!("typ is {}", header["typ"]),
        ));
    }
    if header["alg"] != "RS256" {
        return Err(reject(
            "invalid_request",
            format!("alg is {}", header["alg"]),
        ));
    }
    let kid = header["kid"].as_str().unwrap_or("");
    let key = jwks["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| reject("invalid_key", format!("kid {kid:?} is not in the JWKS")))?;
    if key["kty"] != "RSA" || key["alg"] != "RS256" || key["use"] != "sig" {
        return Err(reject("invalid_key", "the JWK is not an RS256 signing key"));
    }
    let n = B64
        .decode(key["n"].as_str().unwrap_or(""))
        .map_err(|_| reject("invalid_key", "bad modulus"))?;
    let e = B64
        .decode(key["e"].as_str().unwrap_or(""))
        .map_err(|_| reject("invalid_key", "bad exponent"))?;
    let sig = B64
        .decode(sig)
        .map_err(|_| reject("authentication_failed", "bad signature encoding"))?;
    RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .verify(
        &RSA_PKCS1_2048_8192_SHA256,
        format!("{h}.{c}").as_bytes(),
        &sig,
    )
    .map_err(|_| reject("authentication_failed", "the signature does not verify"))?;
    let claims = part(c)?;
    if let Some(iss) = &expect.issuer
        && claims["iss"] != iss.as_str()
    {
        return Err(reject(
            "invalid_issuer",
            format!("iss is {}", claims["iss"]),
        ));
    }
    if let Some(aud) = &expect.audience
        && claims["aud"] != aud.as_str()
    {
        return Err(reject(
            "invalid_audience",
            format!("aud is {}", claims["aud"]),
        ));
    }
    for required in ["iss", "aud", "jti", "iat", "events"] {
        if claims.get(required).is_none() {
            return Err(reject("invalid_request", format!("{required} is missing")));
        }
    }
    for forbidden in ["exp", "sub"] {
        if claims.get(forbidden).is_some() {
            return Err(reject(
                "invalid_request",
                format!("{forbidden} must not be present"),
            ));
        }
    }
    let seconds = |v: &Value| v.as_u64().is_some_and(|s| s < 100_000_000_000);
    if !seconds(&claims["iat"]) {
        return Err(reject("invalid_request", "iat must be seconds"));
    }
    let events = claims["events"]
        .as_object()
        .filter(|e| e.len() == 1)
        .ok_or_else(|| reject("invalid_request", "exactly one event is required"))?;
    let (uri, ev) = events.iter().next().expect("one event");
    if !seconds(&ev["event_timestamp"]) {
        return Err(reject("invalid_request", "event_timestamp must be seconds"));
    }
    if uri == USER_RISK_CHANGE {
        let user = &ev["subject"]["user"];
        if user["format"] != "email" || !user["email"].as_str().is_some_and(|m| m.contains('@')) {
            return Err(reject("invalid_request", "subject.user must be an email"));
        }
        const LEVELS: [&str; 5] = ["low", "medium", "high", "secure", "none"];
        for f in ["current_level", "previous_level"] {
            if !ev[f].as_str().is_some_and(|l| LEVELS.contains(&l)) {
                return Err(reject("invalid_request", format!("{f} is not a level")));
            }
        }
        if !ev["initiating_entity"]
            .as_str()
            .is_some_and(|e| ["admin", "user", "policy", "system"].contains(&e))
        {
            return Err(reject("invalid_request", "initiating_entity"));
        }
        for f in ["reason_admin", "reason_user"] {
            if !ev[f]["en"].is_string() {
                return Err(reject("invalid_request", format!("{f}.en is required")));
            }
        }
    }
    Ok(claims)
}

/// Where the transmitter's JWKS is.
#[derive(Clone, Debug)]
pub enum JwksSource {
    /// Fetched over HTTP(S) at every request.
    Url(String),
    /// Read from a file at every request.
    File(std::path::PathBuf),
}

impl JwksSource {
    /// `http…` is a URL, anything else a file.
    pub fn parse(s: &str) -> JwksSource {
        if s.starts_with("http://") || s.starts_with("https://") {
            JwksSource::Url(s.to_string())
        } else {
            JwksSource::File(s.into())
        }
    }

    async fn load(&self, client: &reqwest::Client) -> Result<Value, String> {
        match self {
            JwksSource::Url(u) => {
                let r = client.get(u).send().await.map_err(|e| format!("{e}"))?;
                // Bounded: a JWKS is a few kilobytes.
                let b = super::deliver::read_start(r, MAX_JWKS)
                    .await
                    .map_err(|e| format!("{e}"))?;
                serde_json::from_slice(&b).map_err(|e| format!("{u}: {e}"))
            }
            JwksSource::File(p) => {
                let b = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
                serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display()))
            }
        }
    }
}

/// Serves until the process is stopped, printing each accepted token's claims as a JSON line.
pub async fn run(listen: SocketAddr, jwks: JwksSource, expect: Expect) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    info!(addr = %listener.local_addr()?, "SSF receiver listening");
    let shared = Arc::new((jwks, expect, client));
    loop {
        let (stream, peer) = listener.accept().await?;
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &shared, peer).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    shared: &(JwksSource, Expect, reqwest::Client),
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (jwks, expect, client) = shared;
    let bad = |r: Rejected| {
        warn!(peer = %peer, err = r.err, description = %r.description, "token rejected");
        answer(
            StatusCode::BAD_REQUEST,
            json!({ "err": r.err, "description": r.description }),
        )
    };
    if req.method() != Method::POST {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "err": "invalid_request", "description": "POST a token" }),
        );
    }
    let ctype = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ctype != "application/secevent+jwt" {
        return bad(reject(
            "invalid_request",
            format!("Content-Type is {ctype:?}"),
        ));
    }
    // Bounded: a token is a few kilobytes.
    #[allow(clippy::disallowed_methods)]
    let body = match http_body_util::Limited::new(req.into_body(), MAX_TOKEN)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return bad(reject("invalid_request", "token too large")),
    };
    let token = String::from_utf8_lossy(&body);
    let keys = match jwks.load(client).await {
        Ok(k) => k,
        Err(e) => return bad(reject("invalid_key", format!("cannot load the JWKS: {e}"))),
    };
    match verify(&token, &keys, expect) {
        Ok(claims) => {
            println!("{claims}");
            answer(StatusCode::ACCEPTED, json!({}))
        }
        Err(r) => bad(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::keys::KeyRing;
    use crate::signal::set::{self, EventType, SetClaims};

    fn token(keys: &KeyRing, aud: &str) -> String {
        let c = set::claims(&SetClaims {
            issuer: "https://decoyd.example",
            audience: aud,
            jti: "j1",
            issued_at: 1_763_800_000,
            event: EventType::UserRiskChange,
            email: "alice@example.com",
            level: crate::score::Level::High,
            previous: crate::score::Level::None,
            event_timestamp: 1_763_800_000,
            reason_admin: "r",
            sub_id: false,
            txn: None,
        });
        set::sign(keys, &c).0
    }

    #[test]
    fn tokens_verify_and_every_fault_is_named_as_okta_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path()).unwrap();
        let jwks = keys.jwks(Duration::ZERO, &[]);
        let expect = Expect {
            issuer: Some("https://decoyd.example".into()),
            audience: Some("https://acme.okta.com".into()),
        };
        let good = token(&keys, "https://acme.okta.com");
        let claims = verify(&good, &jwks, &expect).unwrap();
        assert_eq!(claims["jti"], "j1");

        let err = |t: &str, j: &Value| verify(t, j, &expect).unwrap_err().err;
        // Tampered claims: the signature no longer verifies.
        let parts: Vec<&str> = good.split('.').collect();
        let mut c: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        c["events"][USER_RISK_CHANGE]["subject"]["user"]["email"] = json!("ceo@example.com");
        let tampered = format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2]);
        assert_eq!(err(&tampered, &jwks), "authentication_failed");
        assert_eq!(
            err(&token(&keys, "https://other.okta.com"), &jwks),
            "invalid_audience"
        );
        assert_eq!(err(&good, &json!({"keys": []})), "invalid_key");
        assert_eq!(err("a.b", &jwks), "invalid_request");
        let wrong_iss = Expect {
            issuer: Some("https://x".into()),
            ..expect.clone()
        };
        assert_eq!(
            verify(&good, &jwks, &wrong_iss).unwrap_err().err,
            "invalid_issuer"
        );
        // Another key pair with the same kid: the signature decides.
        let other = KeyRing::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        let mut forged_jwks = other.jwks(Duration::ZERO, &[]);
        forged_jwks["keys"][0]["kid"] = json!(keys.current());
        assert_eq!(err(&good, &forged_jwks), "authentication_failed");
    }
}
