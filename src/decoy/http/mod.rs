//! The HTTP login decoy (`kind: http`): HTTP/1.1 on hyper with our own accept loop, so every
//! limit is ours: global and per-source connection caps, a header-read timeout, a body-read
//! timeout, and header and body size caps.
//!
//! Per connection: the first request head is read and classified by [`sniff`] (garbage, TLS,
//! an HTTP/2 preface and oversized heads are answered the way the imitated product answers
//! them); well-formed requests go to hyper. Each request becomes one touch, with credentials
//! moved into typed fields by [`capture`] and passwords hashed; the answer is sent only after
//! the store has the touch on disk, and after the configured delay when credentials were
//! submitted. Connections that end without any recorded request are touches too.

pub mod capture;
pub mod skin;
pub mod sniff;
pub mod template;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tracing::{Instrument, debug, info_span};

pub use skin::{GenericSkin, Skin};
pub use template::PageTemplate;

use self::skin::{Page, RawError, Req, Site};
use self::sniff::Sniff;
use super::DecoyCtx;
use super::limit::ConnPermit;
use super::listen::{self, OpenGuard};
use crate::config::units::DelayRange;
use crate::touch::{
    Connection, ConnectionEnd, Credential, CredentialSource, Event, HoneytokenVia, HttpMalformed,
    HttpRequest, MAX_FIELD, MalformedReason, Timestamp, Touch, clip,
};

/// Where in an HTTP request a honeytoken was found.
fn honeytoken_via(source: CredentialSource) -> HoneytokenVia {
    match source {
        CredentialSource::Form => HoneytokenVia::HttpForm,
        CredentialSource::Json => HoneytokenVia::HttpJson,
        CredentialSource::Basic => HoneytokenVia::HttpBasic,
        CredentialSource::Bearer => HoneytokenVia::HttpBearer,
        CredentialSource::Query => HoneytokenVia::HttpQuery,
    }
}

/// Settings of one HTTP decoy.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The page set.
    pub skin: Skin,
    /// Delay before answering a submitted credential.
    pub answer_delay: DelayRange,
    /// Resource limits.
    pub limits: HttpLimits,
}

impl HttpSettings {
    /// Default answer delay: about what a real password check with a slow hash takes.
    pub const DEFAULT_DELAY: DelayRange = DelayRange {
        min: Duration::from_millis(150),
        max: Duration::from_millis(450),
    };
}

/// Resource limits of one HTTP decoy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time allowed to send a request head.
    pub header_read_timeout: Duration,
    /// Time allowed to send a request body.
    pub body_read_timeout: Duration,
    /// Time a client may leave an answer unread before the connection is closed.
    pub write_timeout: Duration,
    /// Largest request head.
    pub max_header_bytes: usize,
    /// Largest request body read.
    pub max_body_bytes: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one source address.
    pub max_connections_per_source: usize,
}

impl HttpLimits {
    /// hyper's smallest read buffer.
    pub const MIN_HEADER_BYTES: usize = 8192;
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 512,
            max_connections_per_source: 32,
        }
    }
}

struct Shared {
    settings: HttpSettings,
    site: Site,
    ctx: DecoyCtx,
}

/// Serves the decoy on `listener` until `ctx.shutdown` fires.
pub async fn run(listener: TcpListener, settings: HttpSettings, ctx: DecoyCtx) {
    let span = info_span!("decoy", name = %ctx.name, kind = "http");
    async move {
        // The app logs the bound address of every listener; here, what serves it.
        debug!(skin = settings.skin.name(), "serving");
        let site = settings.skin.instance(ctx.seed);
        let (max, per_source) = (
            settings.limits.max_connections,
            settings.limits.max_connections_per_source,
        );
        let shared = Arc::new(Shared {
            settings,
            site,
            ctx: ctx.clone(),
        });
        listen::accept_loop(listener, &ctx, max, per_source, |stream, peer, permit| {
            let conn = serve(stream, peer, shared.clone(), permit);
            ctx.tracker.spawn(conn.in_current_span());
        })
        .await;
    }
    .instrument(span)
    .await
}

/// Most header lines in one request head.
const MAX_HEADERS: usize = 256;

async fn serve(mut stream: TcpStream, peer: SocketAddr, sh: Arc<Shared>, _permit: ConnPermit) {
    let started = Instant::now();
    let _open = OpenGuard::new(&sh.ctx);
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let limits = &sh.settings.limits;

    let mut buf = BytesMut::with_capacity(4096);
    let sniffed = tokio::select! {
        r = tokio::time::timeout(limits.header_read_timeout, sniff::read_head(&mut stream, &mut buf, limits.max_header_bytes)) => r,
        _ = sh.ctx.shutdown.cancelled() => return,
    };
    let ended = match sniffed {
        Ok(Ok(Sniff::Http)) => None,
        Ok(Ok(Sniff::Closed)) => Some(ConnectionEnd::Closed),
        Ok(Err(_)) => Some(ConnectionEnd::Error),
        Err(_) => Some(ConnectionEnd::Timeout),
        Ok(Ok(Sniff::Malformed(reason))) => {
            let err = match reason {
                MalformedReason::Http2Preface => RawError::Http2Preface,
                MalformedReason::RequestLineTooLong => RawError::UriTooLong,
                MalformedReason::HeadTooLarge => RawError::HeadTooLarge,
                MalformedReason::TlsHandshake => RawError::Tls,
                MalformedReason::BadRequestLine | MalformedReason::BadRequestHead => {
                    RawError::BadRequest
                }
                MalformedReason::UnsupportedVersion => RawError::BadVersion,
            };
            answer_raw(stream, peer, local, &sh, reason, err, &buf).await;
            return;
        }
        Ok(Ok(Sniff::HeadTooLarge)) => {
            let reason = MalformedReason::HeadTooLarge;
            answer_raw(
                stream,
                peer,
                local,
                &sh,
                reason,
                RawError::HeadTooLarge,
                &buf,
            )
            .await;
            return;
        }
    };
    if let Some(ended) = ended {
        let event = Event::Connection(Connection {
            ended,
            duration_ms: started.elapsed().as_millis() as u64,
            bytes: buf.len() as u64,
            preview: capture::safe_preview(&buf),
        });
        let _ = sh.ctx.store.record(touch(&sh, peer, local, event)).await;
        return;
    }

    let first_bytes = capture::safe_preview(&buf);
    let received = Arc::new(AtomicU64::new(buf.len() as u64));
    let (give_back, taken_back) = tokio::sync::oneshot::channel();
    let io = sniff::DecoyStream::new(
        buf.freeze(),
        stream,
        received.clone(),
        limits.write_timeout,
        give_back,
    )
    .answer_http10_as_11(sh.site.answers_http10_as_11());
    // Requests recorded on this connection; a connection with none is a touch of its own.
    let recorded = Arc::new(AtomicU64::new(0));
    let service = {
        let sh = sh.clone();
        let recorded = recorded.clone();
        service_fn(move |req| handle(req, sh.clone(), peer, local, recorded.clone()))
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(HttpLimits::MIN_HEADER_BYTES))
        // nginx and Jetty limit heads by size only, while hyper also counts headers (100 by
        // default) and allocates room for the limit on every request. 256 is far beyond what
        // clients send yet cheap; a head with more gets the product's "too large" answer.
        .max_headers(MAX_HEADERS)
        .title_case_headers(true)
        .keep_alive(true)
        .half_close(false);
    let mut conn = Box::pin(builder.serve_connection(TokioIo::new(io), service));
    let mut draining = false;
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            _ = sh.ctx.shutdown.cancelled(), if !draining => {
                // Finish the request in flight, then close.
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    };
    // hyper lets go of the socket only when its connection is dropped.
    drop(conn);
    if let Ok((status, stream)) = taken_back.await {
        // hyper rejected a request head: record it, then answer as the product does.
        let (reason, err) = match status {
            431 => (MalformedReason::HeadTooLarge, RawError::HeadTooLarge),
            414 => (MalformedReason::RequestLineTooLong, RawError::UriTooLong),
            _ => (MalformedReason::BadRequestHead, RawError::BadRequest),
        };
        answer_raw(stream, peer, local, &sh, reason, err, &[]).await;
    } else if recorded.load(Ordering::Relaxed) == 0 {
        let ended = match &result {
            Ok(()) => ConnectionEnd::Closed,
            Err(e) if e.is_timeout() => ConnectionEnd::Timeout,
            Err(e) if e.is_parse_too_large() => ConnectionEnd::TooLarge,
            Err(_) => ConnectionEnd::Error,
        };
        let event = Event::Connection(Connection {
            ended,
            duration_ms: started.elapsed().as_millis() as u64,
            bytes: received.load(Ordering::Relaxed),
            preview: first_bytes,
        });
        let _ = sh.ctx.store.record(touch(&sh, peer, local, event)).await;
    }
    if let Err(e) = result {
        debug!(peer = %peer, error = %e, "connection ended with an error");
    }
}

fn touch(sh: &Shared, peer: SocketAddr, local: SocketAddr, event: Event) -> Touch {
    sh.ctx.touch(peer, local, event)
}

/// Records unparseable input, then sends the product's answer to it and closes.
async fn answer_raw(
    mut stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    sh: &Shared,
    reason: MalformedReason,
    err: RawError,
    buf: &[u8],
) {
    let answer = sh.site.raw_error(err, buf, SystemTime::now());
    let event = Event::HttpMalformed(HttpMalformed {
        reason,
        preview: capture::safe_preview(buf),
        status: answer.as_ref().map(|(s, _)| *s),
    });
    debug!(peer = %peer, ?reason, "malformed input");
    if sh
        .ctx
        .store
        .record(touch(sh, peer, local, event))
        .await
        .is_err()
    {
        return;
    }
    if let Some((_, bytes)) = answer {
        let write = async {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
    }
}

/// How reading a request body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyEnd {
    Complete,
    TooLarge,
    Timeout,
    Error,
}

async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
    max: usize,
    timeout: Duration,
) -> (Bytes, BodyEnd) {
    if declared.is_some_and(|n| n > max as u64) {
        return (Bytes::new(), BodyEnd::TooLarge);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out = BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return (out.freeze(), BodyEnd::Timeout),
            Ok(None) => return (out.freeze(), BodyEnd::Complete),
            Ok(Some(Err(_))) => return (out.freeze(), BodyEnd::Error),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > max {
                        return (out.freeze(), BodyEnd::TooLarge);
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Why no answer was sent to a request.
#[derive(Debug, thiserror::Error)]
enum NoAnswer {
    #[error("the request body did not arrive")]
    BodyIncomplete,
    #[error("the touch could not be stored")]
    NotDurable,
}

async fn handle(
    req: Request<Incoming>,
    sh: Arc<Shared>,
    peer: SocketAddr,
    local: SocketAddr,
    recorded: Arc<AtomicU64>,
) -> Result<Response<Page>, NoAnswer> {
    let (parts, body) = req.into_parts();
    let limits = &sh.settings.limits;
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (body, body_end) = read_body(
        body,
        declared,
        limits.max_body_bytes,
        limits.body_read_timeout,
    )
    .await;
    let complete = body_end == BodyEnd::Complete;
    let captured = capture::capture(
        parts.uri.query(),
        &parts.headers,
        if complete { &body } else { &[] },
    );
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| clip(&String::from_utf8_lossy(v.as_bytes()), MAX_FIELD))
    };
    let user_agent = header(hyper::header::USER_AGENT);
    let now = SystemTime::now();
    let host = header(hyper::header::HOST);
    let basic_user = captured
        .submitted
        .iter()
        .find(|c| c.source == CredentialSource::Basic)
        .and_then(|c| c.username.clone());
    let connection = parts
        .headers
        .get(hyper::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let keep_alive = match parts.version {
        hyper::Version::HTTP_11 => !connection.contains("close"),
        hyper::Version::HTTP_10 => connection.contains("keep-alive"),
        _ => false,
    };
    let sreq = Req {
        keep_alive,
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        host: host.as_deref(),
        local,
        user_agent: user_agent.as_deref(),
        basic_user: basic_user.as_deref(),
        login: captured.submitted.iter().any(|c| {
            matches!(
                c.source,
                CredentialSource::Form | CredentialSource::Json | CredentialSource::Query
            )
        }),
        authorization: parts.headers.contains_key(hyper::header::AUTHORIZATION),
        json: parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json")),
        body_too_large: body_end == BodyEnd::TooLarge,
        missing_host: parts.version == hyper::Version::HTTP_11
            && !parts.headers.contains_key(hyper::header::HOST),
        cookie: parts
            .headers
            .get(hyper::header::COOKIE)
            .and_then(|v| v.to_str().ok()),
    };
    let response = match body_end {
        BodyEnd::Timeout | BodyEnd::Error => None,
        BodyEnd::Complete | BodyEnd::TooLarge => Some(sh.site.answer(&sreq, now)),
    };
    // Honeytokens are recognised in memory, before the secrets are hashed.
    let mut used = Vec::new();
    for s in &captured.submitted {
        if let Some(m) = s
            .secret
            .as_deref()
            .and_then(|p| sh.ctx.honeytokens.recognise(p))
        {
            m.log(peer, s.username.as_deref());
            used.push(m.used(honeytoken_via(s.source), s.username.as_deref(), false));
        }
    }
    let credentials: Vec<Credential> = captured
        .submitted
        .into_iter()
        .map(|s| Credential {
            source: s.source,
            username: s.username,
            password: s.secret.map(|p| sh.ctx.hasher.capture(&p)),
        })
        .collect();
    let delay = if credentials.is_empty() {
        Duration::ZERO
    } else {
        sh.settings.answer_delay.sample()
    };
    let event = Event::HttpRequest(HttpRequest {
        method: clip(parts.method.as_str(), 32),
        path: clip(parts.uri.path(), MAX_FIELD),
        query: captured.query,
        host,
        user_agent,
        headers: captured.headers,
        fields: captured.fields,
        body_bytes: declared.unwrap_or(body.len() as u64).max(body.len() as u64),
        credentials,
        status: response.as_ref().map(|r| r.status().as_u16()),
    });
    let mut t = touch(&sh, peer, local, event);
    t.at = Timestamp::from(now);
    let mut touches: Vec<(Touch, u64)> = used
        .into_iter()
        .map(|u| {
            let mut h = touch(&sh, peer, local, Event::HoneytokenUsed(u));
            h.at = t.at;
            (h, 1)
        })
        .collect();
    touches.push((t, 1));
    let (stored, ()) = tokio::join!(sh.ctx.store.record_all(touches), tokio::time::sleep(delay));
    if stored.iter().any(|(_, r)| r.is_err()) {
        return Err(NoAnswer::NotDurable);
    }
    recorded.fetch_add(1, Ordering::Relaxed);
    response.ok_or(NoAnswer::BodyIncomplete)
}
