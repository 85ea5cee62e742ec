//! Skins: the complete page sets that make an HTTP decoy look like one real product, down to
//! the `Server` header, header order and spelling, reason phrases, chunked or sized bodies,
//! error pages and favicon. A skin answers every request the way that product answers an
//! anonymous visitor, and every submitted credential with that product's "invalid
//! credentials" response.
//!
//! [`Skin`] is the configured choice; [`Site`] is one running instance of it, with the
//! per-instance values a real installation has (session hashes, cookie names, identity keys)
//! derived from a seed, so they are stable across restarts where the product's are.

pub mod generic;
pub mod jenkins;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::{Method, Response, StatusCode};

pub use generic::{GenericSite, GenericSkin};

/// The built-in page sets (configuration).
#[derive(Clone, Debug)]
pub enum Skin {
    /// A plain corporate sign-in page behind nginx, optionally the operator's own page.
    Generic(GenericSkin),
    /// A Jenkins controller with security enabled (login page, assets, Jetty error pages).
    Jenkins,
}

/// A running skin with its per-instance values.
#[derive(Clone, Debug)]
pub enum Site {
    /// See [`GenericSite`].
    Generic(GenericSite),
    /// See [`jenkins::Jenkins`].
    Jenkins(jenkins::Jenkins),
}

/// What a skin needs to know about a request.
#[derive(Clone, Debug)]
pub struct Req<'a> {
    /// Request method.
    pub method: &'a Method,
    /// Path without query.
    pub path: &'a str,
    /// The raw query, if any.
    pub query: Option<&'a str>,
    /// `Host` header, if any.
    pub host: Option<&'a str>,
    /// The local address the request came in on.
    pub local: SocketAddr,
    /// User agent, if any.
    pub user_agent: Option<&'a str>,
    /// Credentials were submitted in a form or JSON body, or the query.
    pub login: bool,
    /// An `Authorization` header was sent.
    pub authorization: bool,
    /// The username of HTTP Basic authentication, if sent.
    pub basic_user: Option<&'a str>,
    /// The body was JSON.
    pub json: bool,
    /// The body exceeded the decoy's limit (and was not read to its end).
    pub body_too_large: bool,
    /// An HTTP/1.1 request without a `Host` header.
    pub missing_host: bool,
    /// The `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// The connection stays open after this answer (HTTP/1.1 without `Connection: close`, or
    /// HTTP/1.0 with `Connection: keep-alive`).
    pub keep_alive: bool,
}

#[cfg(test)]
impl<'a> Req<'a> {
    /// A plain anonymous request, for skin tests.
    pub fn test(method: &'a Method, path: &'a str) -> Req<'a> {
        Req {
            method,
            path,
            query: None,
            host: Some("ci.corp:8080"),
            local: "127.0.0.1:8080".parse().expect("valid"),
            user_agent: None,
            login: false,
            authorization: false,
            basic_user: None,
            json: false,
            body_too_large: false,
            missing_host: false,
            cookie: None,
            keep_alive: true,
        }
    }
}

/// Input answered before (or instead of) HTTP parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawError {
    /// A first line that is not an HTTP/1.x request line (garbage).
    BadRequest,
    /// A TLS handshake on the cleartext port.
    Tls,
    /// A request line with an HTTP version other than 1.0 or 1.1.
    BadVersion,
    /// The HTTP/2 preface on a cleartext HTTP/1.1 port.
    Http2Preface,
    /// A request line longer than the header limit.
    UriTooLong,
    /// A request head larger than the header limit.
    HeadTooLarge,
}

impl Skin {
    /// The skin's name in config.
    pub fn name(&self) -> &'static str {
        match self {
            Skin::Generic(_) => "generic",
            Skin::Jenkins => "jenkins",
        }
    }

    /// Starts an instance. `seed` is secret and stable per sensor and decoy.
    pub fn instance(&self, seed: [u8; 32]) -> Site {
        match self {
            Skin::Generic(g) => Site::Generic(GenericSite::new(g.clone(), seed)),
            Skin::Jenkins => Site::Jenkins(jenkins::Jenkins::new(seed)),
        }
    }
}

impl Site {
    /// The answer to a parsed request.
    pub fn answer(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        match self {
            Site::Generic(g) => g.answer(req, now),
            Site::Jenkins(j) => j.answer(req, now),
        }
    }

    /// Whether the product answers HTTP/1.0 requests with an `HTTP/1.1` status line (nginx
    /// does; Jetty answers in the request's version, as hyper does).
    pub fn answers_http10_as_11(&self) -> bool {
        matches!(self, Site::Generic(_))
    }

    /// The complete answer (status line, headers, body) to input that never became a request.
    /// `None` means the product closes the connection without a word.
    /// `first` holds the bytes received, for products that quote the offending one.
    pub fn raw_error(&self, err: RawError, first: &[u8], now: SystemTime) -> Option<(u16, Bytes)> {
        match self {
            Site::Generic(g) => g.raw_error(err, now),
            Site::Jenkins(j) => j.raw_error(err, first, now),
        }
    }
}

/// A response body: sized (`Content-Length`) or, as servers that stream pages send it,
/// chunked.
#[derive(Debug)]
pub struct Page {
    data: Option<Bytes>,
    chunked: bool,
}

impl Page {
    /// A body sent with `Content-Length`.
    pub fn sized(data: impl Into<Bytes>) -> Page {
        Page {
            data: Some(data.into()),
            chunked: false,
        }
    }

    /// A body sent with `Transfer-Encoding: chunked`.
    pub fn chunked(data: impl Into<Bytes>) -> Page {
        Page {
            data: Some(data.into()),
            chunked: true,
        }
    }

    /// The body bytes (tests).
    pub fn bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or(&[])
    }
}

impl Body for Page {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.data
                .take()
                .filter(|d| !d.is_empty())
                .map(|d| Ok(Frame::data(d))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(|d| d.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        if self.chunked {
            SizeHint::default()
        } else {
            SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
        }
    }
}

/// Header names whose real-world spelling is not the title case hyper writes. The connection
/// wrapper restores them on the way out (same length, so in place).
pub const CANONICAL_CASE: &[(&[u8], &[u8])] = &[
    (b"\r\nWww-Authenticate:", b"\r\nWWW-Authenticate:"),
    (b"\r\nEtag:", b"\r\nETag:"),
];

/// IMF-fixdate for the `Date` header.
pub fn http_date(now: SystemTime) -> String {
    httpdate::fmt_http_date(now)
}

/// Builds a response with headers in exactly the given order and an optional non-standard
/// reason phrase (products word some of theirs differently from the RFC).
pub fn response(
    status: u16,
    reason: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Page,
) -> Response<Page> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(reason) = reason {
        r.extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(reason.as_bytes()));
    }
    let h = r.headers_mut();
    for (name, value) in headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            h.append(name, v);
        }
    }
    r
}

/// A whole HTTP/1.1 response as bytes, for answers written before hyper takes over.
pub fn raw_response(status_line: &str, headers: &[(&str, String)], body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// A random token for session cookies (hex of `bytes` random bytes).
pub fn session_id(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    crate::store::files::hex(&raw)
}
