//! What an HTTP request says about its sender, with credentials moved out. Usernames and
//! secrets are found in form bodies, JSON bodies, `Authorization` headers and the query string;
//! they come back as [`Submitted`] values (plaintext, in memory only, for the caller to hash)
//! and are replaced by `[redacted]` in every other field that is kept.

use base64::Engine;
use hyper::HeaderMap;
use hyper::header::HeaderValue;

use crate::touch::{CredentialSource, clip};

/// Most credentials taken from one request.
const MAX_CREDENTIALS: usize = 4;
/// Most field names kept from one body.
const MAX_FIELDS: usize = 32;
/// Most headers kept.
const MAX_HEADERS: usize = 16;
/// Longest header value kept.
const MAX_HEADER_VALUE: usize = 256;
/// Longest username kept.
pub const MAX_USERNAME: usize = 256;
/// Deepest JSON nesting searched for credentials.
const MAX_JSON_DEPTH: usize = 4;

const REDACTED: &str = "[redacted]";

/// Headers kept as they are (credentials never travel in these).
const KEPT_HEADERS: &[&str] = &[
    "referer",
    "origin",
    "content-type",
    "accept",
    "accept-language",
    "accept-encoding",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "via",
    "x-requested-with",
];

/// A credential as submitted: plaintext, never stored as is.
#[derive(Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Where it was found.
    pub source: CredentialSource,
    /// The username, if one was given.
    pub username: Option<String>,
    /// The password or token, if one was given.
    pub secret: Option<String>,
}

impl std::fmt::Debug for Submitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitted")
            .field("source", &self.source)
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// The parts of a request that are kept, and the credentials it carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured {
    /// The query string with credential values redacted.
    pub query: Option<String>,
    /// Selected headers, credentials redacted.
    pub headers: Vec<(String, String)>,
    /// Names of form or JSON fields.
    pub fields: Vec<String>,
    /// Credentials found.
    pub submitted: Vec<Submitted>,
}

/// What a field name says about its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Other,
    User(u8),
    Secret(u8),
}

fn role(name: &str) -> Role {
    let lower = name.to_ascii_lowercase();
    // `login[password]`, `user.email`: the innermost name says what it is.
    let key = lower
        .rsplit(['[', '.'])
        .next()
        .unwrap_or(&lower)
        .trim_end_matches(']');
    if ["csrf", "xsrf", "crumb", "authenticity", "captcha"]
        .iter()
        .any(|w| key.contains(w))
    {
        return Role::Other;
    }
    const SECRET: &[&str] = &[
        "p",
        "pin",
        "password",
        "j_password",
        "pass",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
        "secret",
        "pw",
    ];
    const USER: &[&str] = &[
        "username",
        "j_username",
        "user",
        "email",
        "user_name",
        "userid",
        "uname",
        "usr",
    ];
    // Names that are sometimes the submit button (`login=Log in`): weaker than the above.
    const USER_WEAK: &[&str] = &["login", "log", "account", "uid"];
    if SECRET.contains(&key) {
        Role::Secret(2)
    } else if key.contains("pass")
        || key.contains("secret")
        || key.contains("token")
        || key.contains("key")
        || key.contains("auth")
        || key.ends_with("pwd")
    {
        Role::Secret(1)
    } else if USER.contains(&key) {
        Role::User(3)
    } else if USER_WEAK.contains(&key) {
        Role::User(2)
    } else if key.contains("user") || key.contains("login") || key.contains("email") {
        Role::User(1)
    } else {
        Role::Other
    }
}

/// Picks the best username and secret from name/value pairs.
fn credential_from_pairs<'a>(
    source: CredentialSource,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Submitted> {
    let mut user: Option<(u8, &str)> = None;
    let mut secret: Option<(u8, &str)> = None;
    for (k, v) in pairs {
        match role(k) {
            Role::User(score) if user.is_none_or(|(s, _)| score > s) => user = Some((score, v)),
            Role::Secret(score) if secret.is_none_or(|(s, _)| score > s) => {
                secret = Some((score, v))
            }
            _ => {}
        }
    }
    if user.is_none() && secret.is_none() {
        return None;
    }
    Some(Submitted {
        source,
        username: user.map(|(_, u)| clip(u, MAX_USERNAME)),
        secret: secret.map(|(_, s)| s.to_string()),
    })
}

/// A query string with the values of username- and secret-like keys replaced by
/// `[redacted]`; unchanged (the attacker's own spelling) when it has none. Both `&` and `;`
/// separate pairs, as some servers accept either.
pub fn redact_query(q: &str) -> String {
    let normalized = q.replace(';', "&");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(normalized.as_bytes())
        .into_owned()
        .collect();
    if pairs.iter().all(|(k, _)| role(k) == Role::Other) {
        return q.to_string();
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, if role(k) == Role::Other { v } else { REDACTED });
    }
    ser.finish()
}

/// A request target with its query redacted.
fn redact_target(target: &str) -> String {
    match target.split_once('?') {
        Some((path, q)) => format!("{path}?{}", redact_query(q)),
        None => target.to_string(),
    }
}

/// A preview of the first bytes of a connection that cannot carry a secret. A request line of
/// the exact shape `METHOD target HTTP/x.y` (or the start of one) is rebuilt from its parts
/// with the query redacted; headers and body, where credentials travel, are never kept. Other
/// text is replaced by a marker, since it could hold anything; binary input (a TLS hello,
/// garbage) is kept as escaped bytes.
pub fn safe_preview(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let line_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&bytes[..line_end]);
    let more = if line_end < bytes.len() {
        "\\r\\n…"
    } else {
        ""
    };
    if let Some(rebuilt) = request_line_parts(line) {
        return format!("{}{more}", crate::touch::preview(rebuilt.as_bytes()));
    }
    let printable = bytes
        .iter()
        .take(64)
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n' || b == b'\t')
        .count();
    if printable * 10 >= bytes.len().min(64) * 9 {
        format!("[{} bytes of text that is not a request line]", bytes.len())
    } else {
        crate::touch::preview(bytes)
    }
}

/// `METHOD SP target [SP HTTP/d.d]` (the version may be missing from a line still arriving),
/// rebuilt with the query redacted; `None` for anything else.
fn request_line_parts(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next();
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let ok = !method.is_empty()
        && method.len() <= 32
        && method.chars().all(tchar)
        && !target.is_empty()
        && target.chars().all(|c| c.is_ascii_graphic())
        && parts.next().is_none()
        && version.is_none_or(|v| {
            let v = v.as_bytes();
            v.len() == 8
                && v.starts_with(b"HTTP/")
                && v[5].is_ascii_digit()
                && v[6] == b'.'
                && v[7].is_ascii_digit()
        });
    if !ok {
        return None;
    }
    let mut out = format!("{method} {}", redact_target(target));
    if let Some(v) = version {
        out.push(' ');
        out.push_str(v);
    }
    Some(out)
}

/// Captures everything kept from one request.
pub fn capture(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Captured {
    let mut out = Captured::default();

    if let Some(q) = query {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        if let Some(c) = credential_from_pairs(
            CredentialSource::Query,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ) {
            out.submitted.push(c);
        }
        out.query = Some(clip(&redact_query(q), crate::touch::MAX_FIELD));
    }

    for (name, value) in headers.iter() {
        let n = name.as_str();
        let kept = match n {
            "authorization" | "proxy-authorization" => {
                if let Some(c) = authorization(value) {
                    out.submitted.push(c);
                }
                let text = String::from_utf8_lossy(value.as_bytes());
                let scheme = text.split_whitespace().next().unwrap_or("");
                Some(format!("{} {REDACTED}", clip(scheme, 32)))
            }
            "cookie" => {
                let text = String::from_utf8_lossy(value.as_bytes());
                let names: Vec<String> = text
                    .split(';')
                    .filter_map(|p| p.split('=').next())
                    .map(|n| format!("{}={REDACTED}", clip(n.trim(), 64)))
                    .take(16)
                    .collect();
                Some(names.join("; "))
            }
            // A browser sends the page it came from: after a GET form, with its query.
            "referer" | "origin" => {
                let text = String::from_utf8_lossy(value.as_bytes());
                let kept = match text.split_once('?') {
                    Some((base, q)) => format!("{base}?{}", redact_query(q)),
                    None => text.into_owned(),
                };
                Some(clip(&kept, MAX_HEADER_VALUE))
            }
            _ if KEPT_HEADERS.contains(&n) => Some(clip(
                &String::from_utf8_lossy(value.as_bytes()),
                MAX_HEADER_VALUE,
            )),
            _ => None,
        };
        if let Some(v) = kept
            && out.headers.len() < MAX_HEADERS
        {
            out.headers.push((n.to_string(), v));
        }
    }

    if !body.is_empty() {
        let ctype = headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let trimmed = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &body[i..])
            .unwrap_or(&[]);
        if ctype.contains("json") || (ctype.is_empty() && trimmed.first() == Some(&b'{')) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
                let mut pairs = Vec::new();
                json_pairs(&v, 0, &mut pairs, &mut out.fields);
                if let Some(c) = credential_from_pairs(
                    CredentialSource::Json,
                    pairs.iter().map(|(k, v)| (*k, *v)),
                ) {
                    out.submitted.push(c);
                }
            }
        } else if ctype.starts_with("application/x-www-form-urlencoded")
            || (ctype.is_empty() && looks_like_form(body))
        {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            for (k, _) in pairs.iter().take(MAX_FIELDS) {
                out.fields.push(clip(k, 64));
            }
            if let Some(c) = credential_from_pairs(
                CredentialSource::Form,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ) {
                out.submitted.push(c);
            }
        }
    }
    out.submitted.truncate(MAX_CREDENTIALS);
    out
}

fn looks_like_form(body: &[u8]) -> bool {
    body.contains(&b'=') && body.iter().all(|&b| (0x21..0x7f).contains(&b))
}

/// Collects string-valued fields of a JSON document (bounded depth and count).
fn json_pairs<'a>(
    v: &'a serde_json::Value,
    depth: usize,
    pairs: &mut Vec<(&'a str, &'a str)>,
    names: &mut Vec<String>,
) {
    if depth > MAX_JSON_DEPTH {
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if names.len() < MAX_FIELDS {
                    names.push(clip(k, 64));
                }
                match v {
                    serde_json::Value::String(s) if pairs.len() < 64 => {
                        pairs.push((k.as_str(), s.as_str()))
                    }
                    _ => json_pairs(v, depth + 1, pairs, names),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items.iter().take(16) {
                json_pairs(item, depth + 1, pairs, names);
            }
        }
        _ => {}
    }
}

/// `Authorization: Basic` (username and password) or `Bearer` (a token as the secret).
fn authorization(value: &HeaderValue) -> Option<Submitted> {
    let text = String::from_utf8_lossy(value.as_bytes());
    let (scheme, rest) = text.trim().split_once(char::is_whitespace)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest))
            .ok()?;
        let decoded = String::from_utf8_lossy(&raw);
        let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
        Some(Submitted {
            source: CredentialSource::Basic,
            username: Some(clip(user, MAX_USERNAME)),
            secret: Some(pass.to_string()),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Some(Submitted {
            source: CredentialSource::Bearer,
            username: None,
            secret: Some(rest.to_string()),
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn form_post() {
        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let c = capture(
            None,
            &h,
            b"j_username=admin&j_password=s3cret%21&from=%2F&Submit=Sign+in",
        );
        assert_eq!(c.submitted.len(), 1);
        assert_eq!(c.submitted[0].source, CredentialSource::Form);
        assert_eq!(c.submitted[0].username.as_deref(), Some("admin"));
        assert_eq!(c.submitted[0].secret.as_deref(), Some("s3cret!"));
        assert_eq!(c.fields, vec!["j_username", "j_password", "from", "Submit"]);
    }

    #[test]
    fn csrf_tokens_are_not_secrets_and_exact_names_win() {
        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let c = capture(
            None,
            &h,
            b"csrf_token=abc&login=Log+in&username=bob&password=pw",
        );
        assert_eq!(c.submitted[0].username.as_deref(), Some("bob"));
        assert_eq!(c.submitted[0].secret.as_deref(), Some("pw"));
    }

    #[test]
    fn json_body_nested() {
        let h = headers(&[("content-type", "application/json")]);
        let c = capture(
            None,
            &h,
            br#"{"auth":{"user":{"email":"a@b.c"},"password":"pw1"}}"#,
        );
        assert_eq!(c.submitted[0].source, CredentialSource::Json);
        assert_eq!(c.submitted[0].username.as_deref(), Some("a@b.c"));
        assert_eq!(c.submitted[0].secret.as_deref(), Some("pw1"));
    }

    #[test]
    fn basic_and_bearer_are_captured_and_redacted() {
        let h = headers(&[
            ("authorization", "Basic YWxpY2U6aHVudGVyMg=="),
            ("user-agent", "x"),
        ]);
        let c = capture(None, &h, b"");
        assert_eq!(c.submitted[0].username.as_deref(), Some("alice"));
        assert_eq!(c.submitted[0].secret.as_deref(), Some("hunter2"));
        assert_eq!(
            c.headers,
            vec![("authorization".to_string(), "Basic [redacted]".to_string())]
        );
        let h = headers(&[("authorization", "Bearer tok123")]);
        let c = capture(None, &h, b"");
        assert_eq!(c.submitted[0].source, CredentialSource::Bearer);
        assert_eq!(c.submitted[0].secret.as_deref(), Some("tok123"));
        assert!(
            !format!("{c:?}").contains("tok123"),
            "Debug never shows a secret"
        );
    }

    #[test]
    fn query_credentials_are_stripped_from_the_stored_query() {
        let c = capture(
            Some("user=eve&pass=topsecret&next=%2Fhome"),
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(c.submitted[0].source, CredentialSource::Query);
        assert_eq!(c.submitted[0].secret.as_deref(), Some("topsecret"));
        let q = c.query.unwrap();
        assert!(!q.contains("topsecret") && !q.contains("eve"), "{q}");
        assert!(q.contains("next=%2Fhome"), "{q}");
    }

    #[test]
    fn previews_keep_the_request_line_only_with_the_query_redacted() {
        let p = safe_preview(
            b"GET /login?user=a&password=Zq-prev1 HTTP/1.1\r\nAuthorization: Basic eDp5\r\n",
        );
        assert_eq!(
            p,
            "GET /login?user=%5Bredacted%5D&password=%5Bredacted%5D HTTP/1.1\\r\\n…"
        );
        let p =
            safe_preview(b"POST /x?page=2 HTTP/1.1\r\nContent-Length: 9\r\n\r\npassword=secret");
        assert!(
            !p.contains("secret") && p.starts_with("POST /x?page=2 HTTP/1.1"),
            "{p}"
        );
        // A partial request line (a slow client) is judged the same way.
        assert!(!safe_preview(b"GET /a?p=Zq-part").contains("Zq-part"));
        // Nothing sent, nothing shown (a port scan's connection).
        assert_eq!(safe_preview(b""), "");
        // Binary input is shown as it came.
        assert_eq!(safe_preview(b"\x16\x03\x01"), "\\x16\\x03\\x01");
        // Anything not of the exact shape is never kept as text.
        for odd in [
            &b"GET  /login?user=a&password=Zq-odd1 HTTP/1.1\r\n"[..],
            b"M-SEARCH /login?password=Zq-odd2 HTTP/3.0\r\n",
            b"GET\t/login?password=Zq-odd3 HTTP/1.1\r\n",
            b"GET / HTTP/1.1\rHost: x\r\rpassword=Zq-odd4",
            b"GET /a?x=1 HTTP/1.1 password=Zq-odd5\r\n",
            b"password=Zq-odd6&user=a",
        ] {
            let p = safe_preview(odd);
            assert!(!p.contains("Zq-"), "{p}");
        }
        assert_eq!(
            safe_preview(b"M-SEARCH * HTTP/1.1\r\n"),
            "M-SEARCH * HTTP/1.1\\r\\n…",
            "an unusual method of the right shape is kept"
        );
    }

    #[test]
    fn referer_and_unknown_secret_keys_are_redacted() {
        let h = headers(&[(
            "referer",
            "http://intranet/login?username=a&password=Zq-ref",
        )]);
        let c = capture(Some("u=admin&p=Zq-short&api_key=Zq-key&q=select"), &h, b"");
        let all = format!("{:?} {:?}", c.headers, c.query);
        assert!(!all.contains("Zq-"), "{all}");
        assert!(c.query.unwrap().contains("q=select"), "other values stay");
    }

    #[test]
    fn cookies_keep_names_only() {
        let h = headers(&[("cookie", "JSESSIONID=abc; remember-me=xyz")]);
        let c = capture(None, &h, b"");
        assert_eq!(
            c.headers[0].1,
            "JSESSIONID=[redacted]; remember-me=[redacted]"
        );
    }

    #[test]
    fn garbage_bodies_are_harmless() {
        let h = headers(&[("content-type", "application/json")]);
        let c = capture(None, &h, b"{\"a\": [[[[[[[[[[[[[[[[[[");
        assert!(c.submitted.is_empty());
        let deep = "[".repeat(100_000);
        let c = capture(None, &h, deep.as_bytes());
        assert!(c.submitted.is_empty());
        let h = headers(&[("authorization", "Basic !!!notbase64")]);
        assert!(capture(None, &h, b"").submitted.is_empty());
    }
}
