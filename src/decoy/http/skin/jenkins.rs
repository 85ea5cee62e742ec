//! The Jenkins skin: a Jenkins 2.479.3 LTS controller on its bundled Jetty 12.0.16, with
//! security enabled and no read access for anonymous users, which is how an internal Jenkins
//! usually looks from outside.
//!
//! What it answers, as that release does:
//! - every path anonymous may not read (nearly all): 403 with the "Authentication required"
//!   page that redirects to `/login?from=...`;
//! - `/login` (200) and `/loginError` (401): the sign-in page; a POST to
//!   `/j_spring_security_check`: 302 to `/loginError`, whatever was submitted;
//! - HTTP Basic: 401 with `WWW-Authenticate: Basic realm="Jenkins"`; any other POST: 403
//!   "No valid crumb was included in the request" (the CSRF filter runs first);
//! - war files served before any check: `/robots.txt`, `/favicon.ico`, `/static/<hash>/...`;
//! - unparseable input: Jetty 12's connection-level error page; the HTTP/2 preface: 426.
//!
//! Per instance, as on a real controller: the session hash (`X-Jenkins-Session`, also the
//! `/static/` prefix) and the session cookie name change at every start; the instance
//! identity key (`X-Instance-Identity`) is stable, derived from the decoy's seed.
//!
//! Known differences: the favicon, logo and stylesheet are our own drawings (a favicon hash
//! lookup will not say "Jenkins"); pages behind the login do not exist; responses are never
//! gzip-compressed; the identity key is a well-formed RSA public key with a random modulus
//! (no small factors) rather than a product of two primes.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use hyper::{Method, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Page, RawError, Req, http_date, raw_response, response};
use crate::decoy::http::template::html_escape;

/// The Jenkins LTS release imitated.
pub const VERSION: &str = "2.479.3";
/// The Jetty release that Jenkins version bundles (through Winstone 8).
pub const JETTY: &str = "12.0.16";

const FAVICON: &[u8] = include_bytes!("jenkins/favicon.ico");
const LOGO: &str = include_str!("jenkins/logo.svg");
const STYLES: &str = include_str!("jenkins/simple-page.css");
const REDIRECT_JS: &str = include_str!("jenkins/redirect.js");
/// Jenkins's robots.txt, which has no final newline.
const ROBOTS: &str = "# we don't want robots to click \"build\" links\nUser-agent: *\nDisallow: /";

/// Last-Modified of war files: the release date of the imitated version.
static RELEASED: LazyLock<SystemTime> = LazyLock::new(|| {
    httpdate::parse_http_date("Wed, 08 Jan 2025 12:00:00 GMT").unwrap_or(SystemTime::UNIX_EPOCH)
});

/// Trees anonymous may enter; a missing page there is Jenkins's "Oops!" 404, not a 403.
const READABLE_TREES: &[&str] = &[
    "/securityRealm/",
    "/adjuncts/",
    "/federatedLoginService/",
    "/signup/",
];

/// One running Jenkins look-alike.
#[derive(Debug)]
pub struct Jenkins {
    /// Changes at every start: `X-Jenkins-Session` and the `/static/<hash>/` prefix.
    session: String,
    /// Changes at every start: `JSESSIONID.<8 hex>`.
    cookie: String,
    /// Stable: base64 DER SubjectPublicKeyInfo of an RSA-2048 key.
    identity: String,
    /// Jetty's session id counter.
    counter: AtomicU32,
}

impl Clone for Jenkins {
    fn clone(&self) -> Self {
        Jenkins {
            session: self.session.clone(),
            cookie: self.cookie.clone(),
            identity: self.identity.clone(),
            counter: AtomicU32::new(self.counter.load(Ordering::Relaxed)),
        }
    }
}

/// A Jetty servlet error (`sendError`) or a connection-level error before any servlet.
enum JettyError<'a> {
    Servlet { uri: &'a str },
    Connection { uri: &'a str },
}

impl Jenkins {
    /// An instance whose stable values come from `seed`.
    pub fn new(seed: [u8; 32]) -> Jenkins {
        let mut stable = StdRng::from_seed(seed);
        Jenkins {
            session: format!("{:08x}", rand::random::<u32>()),
            cookie: format!("JSESSIONID.{:08x}", rand::random::<u32>()),
            identity: base64::engine::general_purpose::STANDARD.encode(rsa_spki(&mut stable)),
            counter: AtomicU32::new(rand::random_range(0..8)),
        }
    }

    fn res(&self) -> String {
        format!("/static/{}", self.session)
    }

    fn server() -> (&'static str, String) {
        ("Server", format!("Jetty({JETTY})"))
    }

    /// Jetty's session cookie, issued to clients that do not send one.
    fn new_session(&self, req: &Req<'_>) -> Option<String> {
        if req
            .cookie
            .is_some_and(|c| c.contains(&format!("{}=", self.cookie)))
        {
            return None;
        }
        let r: u64 = rand::random();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "{}=node0{}{}{n}.node0; Path=/; HttpOnly",
            self.cookie,
            base36(r >> 32),
            base36(r & 0xffff_ffff)
        ))
    }

    /// `Server`, `Date`, and `Vary` for GET (Jetty's gzip handler adds it).
    fn head(req: &Req<'_>, now: SystemTime) -> Vec<(&'static str, String)> {
        let mut h = vec![Self::server(), ("Date", http_date(now))];
        if *req.method == Method::GET {
            h.push(("Vary", "Accept-Encoding".into()));
        }
        h.push(("X-Content-Type-Options", "nosniff".into()));
        h
    }

    fn advertise(&self, h: &mut Vec<(&'static str, String)>) {
        h.push(("X-Hudson", "1.395".into()));
        h.push(("X-Jenkins", VERSION.into()));
        h.push(("X-Jenkins-Session", self.session.clone()));
    }

    /// Answers a parsed request.
    pub fn answer(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let path = req.path;
        if req.missing_host {
            return self.jetty_error(
                400,
                "Bad Request",
                "No Host",
                JettyError::Connection { uri: path },
                now,
            );
        }
        if req.body_too_large {
            let msg = "Form is larger than max length 200000";
            return self.jetty_error(
                400,
                "Bad Request",
                msg,
                JettyError::Servlet { uri: path },
                now,
            );
        }
        if path.contains(';') {
            let msg = "Semicolons are not allowed in the request URI";
            return self.jetty_error(
                400,
                "Bad Request",
                msg,
                JettyError::Servlet { uri: path },
                now,
            );
        }
        // War files come before any security check.
        let get = matches!(*req.method, Method::GET | Method::HEAD);
        if get && let Some(r) = self.war_file(req, now) {
            return r;
        }
        if *req.method == Method::POST && path == "/j_spring_security_check" {
            return self.login_failed(req, now);
        }
        if req.basic_user.is_some() {
            return self.jetty_error(
                401,
                "Unauthorized",
                "Unauthorized",
                JettyError::Servlet { uri: path },
                now,
            );
        }
        if *req.method == Method::POST {
            // The CSRF filter runs before anything else looks at a POST.
            let msg = "No valid crumb was included in the request";
            return self.jetty_error(
                403,
                "Forbidden",
                msg,
                JettyError::Servlet { uri: path },
                now,
            );
        }
        match path {
            "/login" => self.login_page(200, false, req, now),
            "/loginError" => self.login_page(401, true, req, now),
            "/logout" => self.redirect("/", req, now),
            "/cli" => self.redirect("/cli/", req, now),
            "/whoAmI/api/json" => self.whoami(req, now),
            _ if READABLE_TREES.iter().any(|t| path.starts_with(t)) => self.oops(req, now),
            _ => self.authentication_required(req, now),
        }
    }

    fn war_file(&self, req: &Req<'_>, now: SystemTime) -> Option<Response<Page>> {
        let path = req.path;
        let (ctype, body, long) = match path {
            "/robots.txt" => ("text/plain", Bytes::from_static(ROBOTS.as_bytes()), false),
            "/favicon.ico" => (
                "image/vnd.microsoft.icon",
                Bytes::from_static(FAVICON),
                false,
            ),
            _ => {
                let rest = path.strip_prefix("/static/")?;
                // Any hash is accepted, as on Jenkins; the file must exist.
                let file = rest.split_once('/').map(|(_, f)| f).unwrap_or("");
                let (ctype, body): (&str, &'static [u8]) = match file {
                    "jsbundles/simple-page.css" => ("text/css", STYLES.as_bytes()),
                    "scripts/redirect.js" => ("application/javascript", REDIRECT_JS.as_bytes()),
                    "images/svgs/logo.svg" | "favicon.svg" => ("image/svg+xml", LOGO.as_bytes()),
                    "favicon.ico" => ("image/vnd.microsoft.icon", FAVICON),
                    _ => {
                        return Some(self.jetty_error(
                            404,
                            "Not Found",
                            "Not Found",
                            JettyError::Servlet { uri: path },
                            now,
                        ));
                    }
                };
                (ctype, Bytes::from_static(body), true)
            }
        };
        let expires = now + Duration::from_secs(if long { 365 * 86_400 } else { 86_400 });
        let mut h = Self::head(req, now);
        h.push(("Last-Modified", http_date(*RELEASED)));
        h.push(("Expires", http_date(expires)));
        h.push(("Accept-Ranges", "bytes".into()));
        if ctype == "text/css" || ctype == "application/javascript" {
            h.push(("Cache-Control", "max-age=86400, public".into()));
        }
        h.push(("Content-Type", ctype.into()));
        h.push(("Content-Length", body.len().to_string()));
        Some(response(200, None, h, Page::sized(body)))
    }

    fn login_page(
        &self,
        status: u16,
        error: bool,
        req: &Req<'_>,
        now: SystemTime,
    ) -> Response<Page> {
        let from = if error {
            String::new()
        } else {
            req.query
                .and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "from")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default()
        };
        let res = self.res();
        let input = if error {
            "jenkins-input jenkins-input--error"
        } else {
            "jenkins-input"
        };
        let mut body = String::with_capacity(2400);
        let _ = write!(
            body,
            "<!DOCTYPE html><html lang=\"en-US\"><head data-rooturl=\"\" data-resurl=\"{res}\" data-imagesurl=\"{res}/images\" resURL=\"{res}\">\
<title>Sign in [Jenkins]</title><meta name=\"ROBOTS\" content=\"NOFOLLOW\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"icon\" href=\"{res}/favicon.svg\" type=\"image/svg+xml\"><link rel=\"alternate icon\" href=\"{res}/favicon.ico\" sizes=\"any\">\
<link rel=\"stylesheet\" href=\"{res}/jsbundles/simple-page.css\" type=\"text/css\"></head>\
<body class=\"app-sign-in-register\"><div class=\"app-sign-in-register__branding\"><div class=\"app-sign-in-register__branding__starburst\"></div>\
<img src=\"{res}/images/svgs/logo.svg\" alt=\"logo\"></div><main id=\"main-panel\" class=\"app-sign-in-register__content\">\
<div class=\"app-sign-in-register__content-inner\"><h1>Sign in to Jenkins</h1><form name=\"login\" action=\"j_spring_security_check\" method=\"post\">"
        );
        if error {
            body.push_str(
                "<div class=\"app-sign-in-register__error\">Invalid username or password</div>",
            );
        }
        let _ = write!(
            body,
            "<div class=\"jenkins-form-item\"><label class=\"app-sign-in-register__form-label\" for=\"j_username\">Username</label>\
<input autocorrect=\"off\" autocomplete=\"off\" name=\"j_username\" id=\"j_username\" class=\"{input}\" autocapitalize=\"off\" autofocus=\"autofocus\" type=\"text\"></div>\
<div class=\"jenkins-form-item\"><label class=\"app-sign-in-register__form-label\" for=\"j_password\">Password</label>\
<input name=\"j_password\" id=\"j_password\" class=\"{input}\" type=\"password\"></div>\
<div class=\"jenkins-checkbox\"><input type=\"checkbox\" id=\"remember_me\" name=\"remember_me\"><label for=\"remember_me\">Keep me signed in</label></div>\
<input name=\"from\" type=\"hidden\" value=\"{}\"><button type=\"submit\" name=\"Submit\" class=\"jenkins-button jenkins-button--primary\">Sign in</button>\
</form><div class=\"footer\"></div></div></main></body></html>",
            html_escape(&from)
        );
        let cookie = self.new_session(req);
        let mut h = Self::head(req, now);
        h.push(("Content-Type", "text/html;charset=utf-8".into()));
        // The page sets Expires: 0; Jetty overwrites it in place when it adds a new session.
        let expires = if cookie.is_some() {
            "Thu, 01 Jan 1970 00:00:00 GMT"
        } else {
            "0"
        };
        h.push(("Expires", expires.into()));
        h.push(("Cache-Control", "no-cache,no-store,must-revalidate".into()));
        self.advertise(&mut h);
        h.push(("X-Frame-Options", "sameorigin".into()));
        h.push(("X-Instance-Identity", self.identity.clone()));
        if let Some(c) = cookie {
            h.push(("Set-Cookie", c));
        }
        response(status, None, h, Page::chunked(body))
    }

    /// A failed login: Spring Security clears remember-me and redirects to `/loginError`.
    fn login_failed(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let mut h = vec![
            Self::server(),
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
        ];
        h.push((
            "Set-Cookie",
            "remember-me=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0".into(),
        ));
        if let Some(c) = self.new_session(req) {
            h.push(("Set-Cookie", c));
        }
        h.push(("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()));
        h.push(("Location", "/loginError".into()));
        h.push(("Content-Length", "0".into()));
        response(302, None, h, Page::sized(Bytes::new()))
    }

    fn redirect(&self, to: &str, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let mut h = Self::head(req, now);
        if let Some(c) = self.new_session(req) {
            h.push(("Set-Cookie", c));
            h.push(("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()));
        }
        // Jetty 12 keeps redirects relative.
        h.push(("Location", to.to_string()));
        h.push(("Content-Length", "0".into()));
        response(302, None, h, Page::sized(Bytes::new()))
    }

    /// What anonymous gets for everything it may not read.
    fn authentication_required(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let mut from = req.path.to_string();
        if let Some(q) = req.query {
            from.push('?');
            from.push_str(q);
        }
        let login = format!(
            "/login?from={}",
            form_urlencoded::byte_serialize(from.as_bytes()).collect::<String>()
        );
        let login = html_escape(&login);
        let mut body = format!(
            "<html><head><meta http-equiv='refresh' content='1;url={login}'/><script id='redirect' data-redirect-url='{login}' \
src='{}/scripts/redirect.js'></script></head><body style='background-color:white; color:white;'>\n\n\n\
Authentication required\n<!--\n-->\n\n</body></html>",
            self.res()
        );
        // Jenkins pads the page so browsers do not swap in their own error page.
        body.push_str(&" ".repeat(300));
        let mut h = Self::head(req, now);
        if let Some(c) = self.new_session(req) {
            h.push(("Set-Cookie", c));
            h.push(("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()));
        }
        h.push(("Content-Type", "text/html;charset=utf-8".into()));
        self.advertise(&mut h);
        response(403, None, h, Page::chunked(body))
    }

    fn whoami(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let body = r#"{"_class":"hudson.security.WhoAmI","anonymous":true,"authenticated":true,"authorities":["anonymous"],"name":"anonymous"}"#;
        let mut h = Self::head(req, now);
        h.push(("Content-Type", "application/json;charset=utf-8".into()));
        self.advertise(&mut h);
        response(200, None, h, Page::chunked(body))
    }

    /// Jenkins's own 404 page, for missing pages in trees anonymous may enter.
    fn oops(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let res = self.res();
        let body = format!(
            "<!DOCTYPE html><html lang=\"en-US\"><head resURL=\"{res}\" data-rooturl=\"\" data-resurl=\"{res}\" data-imagesurl=\"{res}/images\">\
<title>Not Found [Jenkins]</title><link rel=\"stylesheet\" href=\"{res}/jsbundles/simple-page.css\" type=\"text/css\">\
<link rel=\"icon\" href=\"{res}/favicon.svg\" type=\"image/svg+xml\"></head><body><div id=\"main-panel\"><h1>Oops!</h1>\
<p>This page may not exist, or you may not have permission to see it. If you have an account, try <a href=\"/login?from={}\">logging in</a>.</p>\
</div></body></html>",
            form_urlencoded::byte_serialize(req.path.as_bytes()).collect::<String>()
        );
        let mut h = Self::head(req, now);
        if let Some(c) = self.new_session(req) {
            h.push(("Set-Cookie", c));
            h.push(("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()));
        }
        h.push(("Content-Type", "text/html;charset=utf-8".into()));
        self.advertise(&mut h);
        response(404, None, h, Page::chunked(body))
    }

    fn jetty_error(
        &self,
        status: u16,
        reason: &'static str,
        message: &str,
        kind: JettyError<'_>,
        now: SystemTime,
    ) -> Response<Page> {
        let servlet = matches!(kind, JettyError::Servlet { .. });
        let body = jetty_error_page(status, message, kind, JETTY);
        let mut h = vec![Self::server(), ("Date", http_date(now))];
        if servlet {
            h.push(("X-Content-Type-Options", "nosniff".into()));
            if status == 401 {
                h.push(("WWW-Authenticate", "Basic realm=\"Jenkins\"".into()));
            }
        }
        h.push(("Cache-Control", "must-revalidate,no-cache,no-store".into()));
        h.push(("Content-Type", "text/html;charset=iso-8859-1".into()));
        h.push(("Content-Length", body.len().to_string()));
        response(status, Some(reason), h, Page::sized(body))
    }

    /// Jetty's answers to what its HTTP/1.1 parser rejects; the connection is closed after.
    pub fn raw_error(&self, err: RawError, first: &[u8], now: SystemTime) -> Option<(u16, Bytes)> {
        let (status, reason, message) = match err {
            RawError::Tls => (
                400,
                "Bad Request",
                "Illegal character CNTL=0x16".to_string(),
            ),
            RawError::BadRequest => (400, "Bad Request", illegal_character(first)),
            RawError::BadVersion => (
                505,
                "HTTP Version Not Supported",
                "Unknown Version".to_string(),
            ),
            RawError::UriTooLong => (414, "URI Too Long", "URI Too Long".to_string()),
            RawError::HeadTooLarge => (
                431,
                "Request Header Fields Too Large",
                "Request Header Fields Too Large".to_string(),
            ),
            RawError::Http2Preface => {
                // PRI is not a method Jetty writes an error body for.
                let headers = [
                    Self::server(),
                    ("Date", http_date(now)),
                    ("Content-Length", "0".into()),
                ];
                let head: Vec<(&str, String)> = headers.into_iter().collect();
                return Some((426, raw_response("426 Upgrade Required", &head, b"")));
            }
        };
        let uri = match err {
            RawError::HeadTooLarge => request_path(first).unwrap_or("/badMessage"),
            _ => "/badMessage",
        };
        let body = jetty_error_page(status, &message, JettyError::Connection { uri }, JETTY);
        let headers = [
            Self::server(),
            ("Date", http_date(now)),
            ("Cache-Control", "must-revalidate,no-cache,no-store".into()),
            ("Content-Type", "text/html;charset=iso-8859-1".into()),
            ("Content-Length", body.len().to_string()),
        ];
        let head: Vec<(&str, String)> = headers.into_iter().collect();
        Some((
            status,
            raw_response(&format!("{status} {reason}"), &head, body.as_bytes()),
        ))
    }
}

/// Jetty 12's error page: the servlet form (with a SERVLET row) or the connection form.
fn jetty_error_page(status: u16, message: &str, kind: JettyError<'_>, jetty: &str) -> String {
    let m = html_escape(message);
    let (uri, servlet, body_open) = match kind {
        JettyError::Servlet { uri } => (uri, true, "<body>"),
        JettyError::Connection { uri } => (uri, false, "<body>\n"),
    };
    let mut s = format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n<title>Error {status} {m}</title>\n</head>\n\
{body_open}<h2>HTTP ERROR {status} {m}</h2>\n<table>\n<tr><th>URI:</th><td>{}</td></tr>\n<tr><th>STATUS:</th><td>{status}</td></tr>\n\
<tr><th>MESSAGE:</th><td>{m}</td></tr>\n",
        html_escape(uri)
    );
    if servlet {
        s.push_str("<tr><th>SERVLET:</th><td>Stapler</td></tr>\n");
    }
    let _ = write!(
        s,
        "</table>\n<hr/><a href=\"https://jetty.org/\">Powered by Jetty:// {jetty}</a><hr/>\n\n</body>\n</html>\n"
    );
    s
}

/// The path of a request line, if the bytes start with one.
fn request_path(first: &[u8]) -> Option<&str> {
    let line = first.split(|&b| b == b'\n').next()?;
    let target = line.split(|&b| b == b' ').nth(1)?;
    let target = std::str::from_utf8(target).ok()?;
    Some(target.split('?').next().unwrap_or(target)).filter(|t| t.starts_with('/'))
}

/// Jetty's parser message for the first byte it cannot accept.
fn illegal_character(first: &[u8]) -> String {
    let bad = first
        .iter()
        .copied()
        .find(|&b| !(b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~ /:?=;@,".contains(&b)));
    match bad {
        Some(b) if b < 0x20 || b == 0x7f => format!("Illegal character CNTL=0x{b:x}"),
        Some(b) if b >= 0x80 => format!("Illegal character OTEXT=0x{b:x}"),
        Some(b) => format!("Illegal character 0x{b:x}"),
        None => "Bad Request".to_string(),
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// DER SubjectPublicKeyInfo of an RSA-2048 public key with a random odd modulus that has no
/// small prime factors, and exponent 65537.
fn rsa_spki(rng: &mut StdRng) -> Vec<u8> {
    const SMALL_PRIMES: &[u32] = &[
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    ];
    let modulus = loop {
        let mut n = [0u8; 256];
        rng.fill(&mut n[..]);
        n[0] |= 0xc0;
        n[255] |= 1;
        let divisible = SMALL_PRIMES
            .iter()
            .any(|&p| n.iter().fold(0u32, |r, &b| (r * 256 + u32::from(b)) % p) == 0);
        if !divisible {
            break n;
        }
    };
    let mut der = vec![
        0x30, 0x82, 0x01, 0x22, // SEQUENCE
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
        0x00, // rsaEncryption
        0x03, 0x82, 0x01, 0x0f, 0x00, // BIT STRING
        0x30, 0x82, 0x01, 0x0a, // RSAPublicKey
        0x02, 0x82, 0x01, 0x01, 0x00, // INTEGER modulus (leading zero: positive)
    ];
    der.extend_from_slice(&modulus);
    der.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a Method, path: &'a str) -> Req<'a> {
        Req::test(method, path)
    }

    fn header<'a>(r: &'a Response<Page>, name: &str) -> &'a str {
        r.headers().get(name).unwrap().to_str().unwrap()
    }

    fn names(r: &Response<Page>) -> Vec<&str> {
        r.headers().keys().map(|k| k.as_str()).collect()
    }

    #[test]
    fn anonymous_is_sent_to_login_with_jenkins_headers_in_jettys_order() {
        let j = Jenkins::new([7; 32]);
        let r = j.answer(&req(&Method::GET, "/manage"), SystemTime::now());
        assert_eq!(r.status(), 403);
        assert_eq!(
            names(&r),
            vec![
                "server",
                "date",
                "vary",
                "x-content-type-options",
                "set-cookie",
                "expires",
                "content-type",
                "x-hudson",
                "x-jenkins",
                "x-jenkins-session"
            ]
        );
        assert_eq!(header(&r, "x-jenkins"), VERSION);
        assert_eq!(header(&r, "server"), format!("Jetty({JETTY})"));
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(body.contains("url=/login?from=%2Fmanage'"), "{body}");
        assert!(body.ends_with(&format!("</body></html>{}", " ".repeat(300))));
    }

    #[test]
    fn a_session_cookie_is_only_issued_to_clients_without_one() {
        let j = Jenkins::new([7; 32]);
        let r = j.answer(&req(&Method::GET, "/"), SystemTime::now());
        let cookie = header(&r, "set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(
            cookie.starts_with("JSESSIONID.") && cookie.ends_with(".node0"),
            "{cookie}"
        );
        let mut again = req(&Method::GET, "/");
        again.cookie = Some(&cookie);
        let r = j.answer(&again, SystemTime::now());
        assert!(r.headers().get("set-cookie").is_none());
    }

    #[test]
    fn failed_login_redirects_to_login_error() {
        let j = Jenkins::new([7; 32]);
        let mut rq = req(&Method::POST, "/j_spring_security_check");
        rq.login = true;
        let r = j.answer(&rq, SystemTime::now());
        assert_eq!(r.status(), 302);
        assert_eq!(header(&r, "location"), "/loginError");
        let r = j.answer(&req(&Method::GET, "/loginError"), SystemTime::now());
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("www-authenticate").is_none());
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(
            body.contains("<title>Sign in [Jenkins]</title>")
                && body.contains("<h1>Sign in to Jenkins</h1>")
        );
        assert!(body.contains("app-sign-in-register__error\">Invalid username or password<"));
    }

    #[test]
    fn the_identity_key_is_stable_and_the_session_is_not() {
        let (a, b, c) = (
            Jenkins::new([1; 32]),
            Jenkins::new([1; 32]),
            Jenkins::new([2; 32]),
        );
        assert_eq!(a.identity, b.identity);
        assert_ne!(a.identity, c.identity);
        assert_ne!(a.session, b.session, "a new start gets a new session hash");
        let der = base64::engine::general_purpose::STANDARD
            .decode(&a.identity)
            .unwrap();
        assert_eq!(der.len(), 294, "RSA-2048 SubjectPublicKeyInfo");
    }

    #[test]
    fn basic_auth_and_crumbless_posts() {
        let j = Jenkins::new([7; 32]);
        let mut rq = req(&Method::GET, "/api/json");
        rq.basic_user = Some("admin");
        let r = j.answer(&rq, SystemTime::now());
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, "www-authenticate"), "Basic realm=\"Jenkins\"");
        let r = j.answer(&req(&Method::POST, "/script"), SystemTime::now());
        assert_eq!(r.status(), 403);
        assert!(
            String::from_utf8_lossy(r.body().bytes())
                .contains("No valid crumb was included in the request")
        );
    }

    #[test]
    fn jetty_error_pages_match_real_captures_byte_for_byte_in_length() {
        // Lengths of pages captured from Jenkins on Jetty 12.0.25 and 12.1.8.
        let tls = jetty_error_page(
            400,
            "Illegal character CNTL=0x16",
            JettyError::Connection { uri: "/badMessage" },
            "12.0.25",
        );
        assert_eq!(tls.len(), 456);
        let tls = jetty_error_page(
            400,
            "Illegal character CNTL=0x16",
            JettyError::Connection { uri: "/badMessage" },
            "12.1.8",
        );
        assert_eq!(tls.len(), 455);
        let big = jetty_error_page(
            431,
            "Request Header Fields Too Large",
            JettyError::Connection { uri: "/" },
            "12.0.25",
        );
        assert_eq!(big.len(), 458);
        assert_eq!(ROBOTS.len(), 71);
    }

    #[test]
    fn raw_errors_are_jettys() {
        let j = Jenkins::new([7; 32]);
        let (s, bytes) = j
            .raw_error(RawError::Tls, b"\x16\x03\x01", SystemTime::now())
            .unwrap();
        assert_eq!(s, 400);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\nServer: Jetty(12.0.16)\r\nDate: "),
            "{text}"
        );
        assert!(text.contains("<h2>HTTP ERROR 400 Illegal character CNTL=0x16</h2>"));
        let (s, bytes) = j
            .raw_error(
                RawError::Http2Preface,
                b"PRI * HTTP/2.0\r\n",
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(s, 426);
        assert!(String::from_utf8_lossy(&bytes).ends_with("Content-Length: 0\r\n\r\n"));
        assert_eq!(illegal_character(b"\x00\x01"), "Illegal character CNTL=0x0");
        assert_eq!(
            illegal_character(b"GE\xffT"),
            "Illegal character OTEXT=0xff"
        );
    }
}
