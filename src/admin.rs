//! The admin listener (default 127.0.0.1:9470): `/healthz` and `/metrics` without
//! authentication (like other exporters; bind it to loopback or a management network), and
//! `/api/v1/...` for the CLI, authenticated by the bearer token in the data dir (mode 0600).
//!
//! - `GET /api/v1/status`: bound addresses, store counters, last flushed sequence.
//! - `GET /api/v1/events?after=SEQ&tail=N&limit=N&decoy=NAME&source=IP&wait=SECS`: flushed
//!   touches as JSON lines, oldest first; with `wait`, blocks until something newer than
//!   `after` is on disk (long poll, for `decoyd events --follow`).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info_span, warn};

use crate::app::Listening;
use crate::metrics::Metrics;
use crate::store::{EventQuery, Store, StoreStats};
use crate::touch::Timestamp;

/// Longest long poll.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// What the admin API serves from.
pub struct AdminState {
    /// The store.
    pub store: Store,
    /// Metrics.
    pub metrics: Metrics,
    /// Bearer token for `/api`.
    pub token: String,
    /// Sensor id.
    pub sensor: String,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// What is bound.
    pub listening: Vec<Listening>,
    /// Fires at shutdown (ends long polls).
    pub shutdown: CancellationToken,
    /// The signing keys.
    pub keys: Arc<std::sync::Mutex<crate::signal::keys::KeyRing>>,
    /// Issuer and receivers.
    pub signals: Arc<crate::signal::SignalSettings>,
    /// Operators' clears, for the scorer.
    pub clears: tokio::sync::mpsc::Sender<crate::score::scorer::ClearRequest>,
    /// Lures planted by `decoyd lures plant` while the daemon runs, for the watcher.
    pub replanted: tokio::sync::mpsc::Sender<crate::store::PlantedLure>,
}

/// `GET /api/v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    /// Sensor id.
    pub sensor: String,
    /// decoyd version.
    pub version: String,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// Every listener and the address it actually bound.
    pub listening: Vec<Listening>,
    /// Store counters, including the last flushed sequence.
    pub store: StoreStats,
}

/// Serves the admin API until shutdown. With `public`, only the two discovery documents are
/// served (`/jwks.json`, `/.well-known/ssf-configuration`): a listener a reverse proxy may
/// publish without exposing `/api` or `/metrics`.
pub async fn run(
    listener: TcpListener,
    state: Arc<AdminState>,
    tracker: TaskTracker,
    public: bool,
) {
    let span = if public {
        info_span!("public")
    } else {
        info_span!("admin")
    };
    async move {
        loop {
            let accepted = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let state = state.clone();
            tracker.spawn(
                async move {
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move {
                            let answer = if public {
                                route_public(&req, &state)
                            } else {
                                route(req, &state, peer).await
                            };
                            Ok::<_, Infallible>(answer)
                        }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .max_buf_size(16 * 1024)
                        .serve_connection(TokioIo::new(stream), svc);
                    if let Err(e) = conn.await {
                        debug!(error = %e, "admin connection error");
                    }
                }
                .in_current_span(),
            );
        }
    }
    .instrument(span)
    .await
}

fn json_response(
    status: StatusCode,
    body: impl Into<Bytes>,
    ctype: &'static str,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ctype),
    );
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    r
}

fn error(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": msg }).to_string();
    json_response(status, body, "application/json")
}

/// Compares two secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    req.headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()))
}

fn route_public(req: &Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported");
    }
    match req.uri().path() {
        "/jwks.json" => json_response(StatusCode::OK, jwks(state).to_string(), "application/json"),
        "/.well-known/ssf-configuration" => json_response(
            StatusCode::OK,
            state.signals.ssf_configuration().to_string(),
            "application/json",
        ),
        _ => error(StatusCode::NOT_FOUND, "no such document"),
    }
}

async fn route(
    req: Request<Incoming>,
    state: &AdminState,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let post_ok = matches!(
        path.as_str(),
        "/api/v1/lures" | "/api/v1/identities/clear" | "/api/v1/keys/rotate"
    );
    if req.method() != Method::GET
        && req.method() != Method::HEAD
        && !(post_ok && req.method() == Method::POST)
    {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported here");
    }
    match path.as_str() {
        "/healthz" => json_response(StatusCode::OK, "ok\n", "text/plain; charset=utf-8"),
        "/jwks.json" => json_response(StatusCode::OK, jwks(state).to_string(), "application/json"),
        "/.well-known/ssf-configuration" => json_response(
            StatusCode::OK,
            state.signals.ssf_configuration().to_string(),
            "application/json",
        ),
        "/metrics" => json_response(
            StatusCode::OK,
            state.metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        p if p.starts_with("/api/") => {
            if !authorized(&req, &state.token) {
                debug!(peer = %peer, path = ?p, "admin API request without a valid token");
                let mut r = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
                r.headers_mut().insert(
                    hyper::header::WWW_AUTHENTICATE,
                    hyper::header::HeaderValue::from_static("Bearer"),
                );
                return r;
            }
            match p {
                "/api/v1/status" => {
                    let status = Status {
                        sensor: state.sensor.clone(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        started_at: state.started_at,
                        listening: state.listening.clone(),
                        store: state.store.stats(),
                    };
                    json_response(
                        StatusCode::OK,
                        serde_json::to_vec(&status).unwrap_or_default(),
                        "application/json",
                    )
                }
                "/api/v1/events" => events(req.uri().query().unwrap_or(""), state).await,
                "/api/v1/lures" if req.method() == Method::POST => put_lure(req, state).await,
                "/api/v1/identities/clear" => clear_identity(req, state).await,
                "/api/v1/signals" => match state.store.outbox() {
                    Ok(raw) => json_response(
                        StatusCode::OK,
                        serde_json::to_vec(&crate::signal::outbox::decode_all(raw))
                            .unwrap_or_default(),
                        "application/json",
                    ),
                    Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                },
                "/api/v1/keys/rotate" => {
                    let rotated = state
                        .keys
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .rotate();
                    match rotated {
                        Ok(kid) => {
                            tracing::info!(kid = %kid, "signing key rotated");
                            json_response(
                                StatusCode::OK,
                                serde_json::json!({ "kid": kid }).to_string(),
                                "application/json",
                            )
                        }
                        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
                    }
                }
                "/api/v1/identities" => match crate::score::scorer::load(&state.store) {
                    Ok((states, _)) => json_response(
                        StatusCode::OK,
                        serde_json::to_vec(&crate::score::scorer::sorted(states))
                            .unwrap_or_default(),
                        "application/json",
                    ),
                    Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                },
                "/api/v1/lures" => match state.store.lures() {
                    Ok(l) => json_response(
                        StatusCode::OK,
                        serde_json::to_vec(&l).unwrap_or_default(),
                        "application/json",
                    ),
                    Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                },
                _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// The published keys: the signer, those retired within the overlap, and those of signals
/// still pending.
pub fn jwks(state: &AdminState) -> serde_json::Value {
    let signals = crate::signal::outbox::decode_all(state.store.outbox().unwrap_or_default());
    let pending = crate::signal::outbox::pending_kids(&signals);
    state
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .jwks(state.signals.key_overlap, &pending)
}

/// `POST /api/v1/identities/clear` with `{"email", "reason", "by"}`: an operator lowers a
/// false positive. The scorer applies it, so it never races with new evidence.
async fn clear_identity(req: Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    #[derive(Deserialize)]
    struct Clear {
        email: String,
        reason: String,
        by: String,
    }
    let body = match read_json_body::<Clear>(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = crate::score::scorer::ClearRequest {
        email: body.email,
        by: body.by,
        reason: body.reason,
        reply,
    };
    if state.clears.send(request).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "scoring is not running");
    }
    match answer.await {
        Ok(Ok(st)) => json_response(
            StatusCode::OK,
            serde_json::to_vec(&st).unwrap_or_default(),
            "application/json",
        ),
        Ok(Err(m)) => error(StatusCode::NOT_FOUND, &m),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "scoring stopped"),
    }
}

/// A bounded JSON body, or the error answer.
async fn read_json_body<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
) -> Result<T, Response<Full<Bytes>>> {
    use http_body_util::BodyExt;
    // Bounded: these requests are a few hundred bytes.
    #[allow(clippy::disallowed_methods)]
    let body = http_body_util::Limited::new(req.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))?
        .to_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")))
}

/// `POST /api/v1/lures`: a lure `decoyd lures plant` has just planted. Recorded, then
/// watched.
async fn put_lure(req: Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    let rec: crate::store::PlantedLure = match read_json_body(req).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(e) = state.store.put_lure(rec.clone()).await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    let _ = state.replanted.send(rec).await;
    json_response(StatusCode::OK, "{}", "application/json")
}

/// Parses the events query; `Err` says which parameter is wrong.
pub fn parse_event_query(query: &str) -> Result<(EventQuery, Option<Duration>), String> {
    let mut q = EventQuery::default();
    let mut wait = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let bad = || format!("invalid value for `{k}`");
        match k.as_ref() {
            "after" => q.after = Some(v.parse().map_err(|_| bad())?),
            "tail" => q.tail = Some(v.parse().map_err(|_| bad())?),
            "limit" => q.limit = Some(v.parse().map_err(|_| bad())?),
            "decoy" => q.decoy = Some(v.into_owned()),
            "source" => q.source = Some(v.parse::<IpAddr>().map_err(|_| bad())?),
            "wait" => {
                wait = Some(Duration::from_secs(v.parse::<u64>().map_err(|_| bad())?).min(MAX_WAIT))
            }
            _ => return Err(format!("unknown parameter `{k}`")),
        }
    }
    Ok((q, wait))
}

async fn events(query: &str, state: &AdminState) -> Response<Full<Bytes>> {
    let (q, wait) = match parse_event_query(query) {
        Ok(x) => x,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let mut found = state.store.events(&q);
    if let (Ok(list), Some(wait), Some(after)) = (&found, wait, q.after)
        && list.is_empty()
    {
        // Long poll: wait for the next flush past `after` (any decoy), then read again.
        tokio::select! {
            _ = state.store.wait_beyond(after, wait) => {}
            _ = state.shutdown.cancelled() => {}
        }
        found = state.store.events(&q);
    }
    match found {
        Ok(list) => {
            let mut body = Vec::new();
            for rec in list {
                if serde_json::to_writer(&mut body, &rec).is_ok() {
                    body.push(b'\n');
                }
            }
            json_response(StatusCode::OK, body, "application/x-ndjson")
        }
        Err(e) => {
            warn!(error = %e, "reading events failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reading the store failed",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_query_parsing() {
        let (q, w) =
            parse_event_query("after=5&tail=10&decoy=web&source=10.0.0.1&wait=999").unwrap();
        assert_eq!(q.after, Some(5));
        assert_eq!(q.tail, Some(10));
        assert_eq!(q.decoy.as_deref(), Some("web"));
        assert_eq!(q.source, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(w, Some(MAX_WAIT));
        assert!(parse_event_query("after=x").unwrap_err().contains("after"));
        assert!(parse_event_query("bogus=1").unwrap_err().contains("bogus"));
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
