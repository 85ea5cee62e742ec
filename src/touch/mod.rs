//! The `Touch`: the one record every decoy emits, whatever its kind. A touch says when, which
//! decoy on which sensor, who from, and what happened (one enum variant per kind of event,
//! with typed fields). Every attacker-supplied string in it is bounded by [`clip`] before it is
//! stored, and passwords are never kept in clear unless the lab switch says so ([`password`]).

pub mod lure;
pub mod password;
pub mod ssh;

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use lure::{HoneytokenUsed, HoneytokenVia, LureAccess, LureAction, LureProcess, LureSeenBy};
pub use password::{CharClass, Password, PasswordHasher};
pub use ssh::{
    SshAuth, SshAuthMethod, SshAuthResult, SshClient, SshCommand, SshCommandSource, SshConnection,
    SshEnd, SshKey, SshRequest,
};

/// Largest attacker-supplied string kept in a touch field, in bytes.
pub const MAX_FIELD: usize = 1024;
/// Bytes of unparseable input kept as a preview.
pub const MAX_PREVIEW: usize = 64;

/// The address lure touches carry as source and local address: a file has none.
pub const NO_ADDRESS: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// One interaction with a decoy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Touch {
    /// When it happened.
    pub at: Timestamp,
    /// The sensor that saw it.
    pub sensor: Arc<str>,
    /// The decoy that was touched.
    pub decoy: Arc<str>,
    /// Who touched it.
    pub source: SocketAddr,
    /// The local address that was touched.
    pub local: SocketAddr,
    /// What happened.
    pub event: Event,
}

/// What happened, typed per kind of touch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A connection that ended before any request was answered: port scans, banner grabs,
    /// clients that gave up or were cut off while sending.
    Connection(Connection),
    /// A complete HTTP request and the answer it got.
    HttpRequest(HttpRequest),
    /// Bytes that are not HTTP/1.x (garbage, TLS, an HTTP/2 preface), and the answer they got.
    HttpMalformed(HttpMalformed),
    /// Connections closed at once because a connection cap was reached; the record's count
    /// says how many came from this source since the previous such record.
    ConnectionRefused(ConnectionRefused),
    /// An SSH authentication request and its answer.
    SshAuth(SshAuth),
    /// A command line in an accepted SSH session.
    SshCommand(SshCommand),
    /// A refused SSH channel or forwarding request.
    SshRequest(SshRequest),
    /// An SSH connection, recorded when it ends.
    SshConnection(SshConnection),
    /// Something done to a planted lure file.
    LureAccess(LureAccess),
    /// A lure's credential, offered at a decoy.
    HoneytokenUsed(HoneytokenUsed),
}

impl Event {
    /// Short name of the event type, as used in metrics and `decoyd events`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Connection(_) => "connection",
            Event::HttpRequest(_) => "http_request",
            Event::HttpMalformed(_) => "http_malformed",
            Event::ConnectionRefused(_) => "connection_refused",
            Event::SshAuth(_) => "ssh_auth",
            Event::SshCommand(_) => "ssh_command",
            Event::SshRequest(_) => "ssh_request",
            Event::SshConnection(_) => "ssh_connection",
            Event::LureAccess(_) => "lure_access",
            Event::HoneytokenUsed(_) => "honeytoken_used",
        }
    }
}

/// A connection that ended without an answered request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Connection {
    /// How the connection ended.
    pub ended: ConnectionEnd,
    /// How long it stayed open, in milliseconds.
    pub duration_ms: u64,
    /// Bytes the client sent.
    pub bytes: u64,
    /// The first bytes the client sent, escaped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub preview: String,
}

/// Connections refused at a cap.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnectionRefused {
    /// The cap: `max_connections` or `max_connections_per_source`.
    pub cap: String,
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionEnd {
    /// The client closed it.
    Closed,
    /// The client was too slow and the decoy closed it.
    Timeout,
    /// The client sent more than the decoy reads, and the decoy closed it.
    TooLarge,
    /// A protocol error ended it.
    Error,
}

/// Where a captured credential was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// An `application/x-www-form-urlencoded` body.
    Form,
    /// A JSON body.
    Json,
    /// An `Authorization: Basic` header.
    Basic,
    /// An `Authorization: Bearer` header (the token is kept as the secret).
    Bearer,
    /// The query string.
    Query,
}

/// A username and/or secret someone submitted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Credential {
    /// Where it was found.
    pub source: CredentialSource,
    /// The username as typed (bounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password or token, as a keyed hash unless lab mode keeps plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
}

/// A complete HTTP request, with credentials moved out of every other field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Request method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query string with credential values removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `Host` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `User-Agent` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Selected other headers (credentials never among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Names of submitted form or JSON fields (values are not kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Body length in bytes as received (up to the body limit).
    pub body_bytes: u64,
    /// Credentials found in the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Status code of the answer; none when the client stopped sending its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Input that is not an HTTP/1.x request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpMalformed {
    /// What the bytes looked like.
    pub reason: MalformedReason,
    /// The first bytes, escaped.
    pub preview: String,
    /// Status code of the answer, if one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Kinds of non-HTTP/1 input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedReason {
    /// The HTTP/2 connection preface on a cleartext port.
    Http2Preface,
    /// A TLS handshake on a cleartext port.
    TlsHandshake,
    /// A first line that is not `METHOD target HTTP/1.x`.
    BadRequestLine,
    /// A well-formed request line with an HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// A request line longer than the header limit.
    RequestLineTooLong,
    /// A request head larger than the header limit.
    HeadTooLarge,
    /// A later request head that does not parse (a header line without a colon, control
    /// bytes, an invalid target).
    BadRequestHead,
}

/// A wall-clock time with microsecond precision, written as RFC 3339 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// Microseconds since the Unix epoch.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// Builds a timestamp from microseconds since the Unix epoch.
    pub fn from_micros(us: u64) -> Timestamp {
        Timestamp(us)
    }

    /// The same instant as a `SystemTime`.
    pub fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.0)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            humantime::format_rfc3339_micros(self.system_time())
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_rfc3339(&s)
            .map(Timestamp::from)
            .map_err(serde::de::Error::custom)
    }
}

/// Bounds an attacker-supplied string to `max` bytes at a character boundary, marking what
/// was cut so the record never claims to be complete when it is not.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[+{} bytes]", &s[..end], s.len() - end)
}

/// Renders raw bytes for a preview: printable ASCII as is, everything else as `\xNN`.
pub fn preview(bytes: &[u8]) -> String {
    preview_text(bytes, MAX_PREVIEW)
}

/// Like [`preview`], keeping up to `max` bytes.
pub fn preview_text(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries_and_marks_the_cut() {
        assert_eq!(clip("short", 10), "short");
        let s = "é".repeat(10); // 20 bytes
        let c = clip(&s, 5);
        assert!(c.starts_with("éé"));
        assert!(c.ends_with("…[+16 bytes]"));
    }

    #[test]
    fn preview_escapes_control_bytes() {
        assert_eq!(preview(b"GET\r\n\x16\x03\\"), "GET\\r\\n\\x16\\x03\\\\");
        assert!(preview(&[b'a'; 100]).ends_with('…'));
    }

    #[test]
    fn timestamp_round_trips_through_json() {
        let t = Timestamp::from_micros(1_700_000_000_123_456);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2023-11-14T22:13:20.123456Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&j).unwrap(), t);
    }
}
