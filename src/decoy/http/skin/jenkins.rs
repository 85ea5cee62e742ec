//! The Jenkins skin: a Jenkins LTS controller on its bundled Jetty, with security enabled and
//! no read access for anonymous users, which is how an internal Jenkins usually looks from
//! outside. Everything but the login pages and static assets answers 403 with Jenkins's
//! "Authentication required" redirect page and permission headers; a failed login redirects
//! to `/loginError` (401); HTTP Basic with a wrong password gets Jenkins's 401; a POST without
//! a CSRF crumb gets 403; errors before parsing get Jetty's terse "Bad Message" answers.
//!
//! Per instance, as on a real controller: the session hash (`X-Jenkins-Session`, also the
//! static resource prefix) changes at every start; the session cookie name and the instance
//! identity key (`X-Instance-Identity`) are stable, derived from the decoy's seed.
//!
//! Known differences from a real Jenkins: the favicon, logo and stylesheet are our own
//! drawings (a favicon hash lookup will not say "Jenkins"); pages reachable only after login
//! do not exist; `X-Instance-Identity` is a well-formed RSA public key whose modulus is random
//! (without small factors) rather than a product of two primes.

use std::fmt::Write as _;
use std::sync::LazyLock;
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
/// The Jetty release that Jenkins version bundles.
pub const JETTY: &str = "12.0.16";

const FAVICON: &[u8] = include_bytes!("jenkins/favicon.ico");
const LOGO: &str = include_str!("jenkins/logo.svg");
const STYLES: &str = include_str!("jenkins/styles.css");
const REDIRECT_JS: &str = include_str!("jenkins/redirect.js");
const ROBOTS: &str =
    "# we don't want robots to click \"build\" links\nUser-agent: *\nDisallow: /\n";

/// Last-Modified of static assets: the release date of the imitated version.
static RELEASED: LazyLock<SystemTime> = LazyLock::new(|| {
    httpdate::parse_http_date("Wed, 08 Jan 2025 12:00:00 GMT").unwrap_or(SystemTime::UNIX_EPOCH)
});

/// One running Jenkins look-alike.
#[derive(Clone, Debug)]
pub struct Jenkins {
    /// Changes at every start: `X-Jenkins-Session` and the `/static/<hash>/` prefix.
    session: String,
    /// Stable: `JSESSIONID.<suffix>`.
    cookie: String,
    /// Stable: base64 DER SubjectPublicKeyInfo of an RSA-2048 key.
    identity: String,
}

impl Jenkins {
    /// An instance whose stable values come from `seed`.
    pub fn new(seed: [u8; 32]) -> Jenkins {
        let mut rng = StdRng::from_seed(seed);
        let cookie = format!("JSESSIONID.{:08x}", rng.random::<u32>());
        let identity = base64::engine::general_purpose::STANDARD.encode(rsa_spki(&mut rng));
        Jenkins {
            session: format!("{:08x}", rand::random::<u32>()),
            cookie,
            identity,
        }
    }

    fn static_prefix(&self) -> String {
        format!("/static/{}", self.session)
    }

    /// A new Jetty session cookie, as Jenkins issues with every anonymous page.
    fn set_cookie(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let id: String = (0..24)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect();
        format!(
            "{}=node0{id}{}.node0; Path=/; HttpOnly",
            self.cookie,
            rand::random_range(0..40)
        )
    }

    /// Headers Jenkins advertises on its pages.
    fn advertise(&self, h: &mut Vec<(&'static str, String)>) {
        h.push(("X-Hudson", "1.395".into()));
        h.push(("X-Jenkins", VERSION.into()));
        h.push(("X-Jenkins-Session", self.session.clone()));
    }

    /// Answers a parsed request.
    pub fn answer(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let get = matches!(*req.method, Method::GET | Method::HEAD);
        if req.body_too_large {
            return self.jetty_error(
                413,
                "Payload Too Large",
                "Form is larger than max length 200000",
                req.path,
                now,
            );
        }
        if let Some(user) = req.basic_user {
            let msg = format!("Invalid password/token for user: {user}");
            return self.jetty_error(401, "Unauthorized", &msg, req.path, now);
        }
        let path = req.path;
        if *req.method == Method::POST && path == "/j_spring_security_check" {
            return self.login_failed(req, now);
        }
        if get {
            match path {
                "/login" => return self.login_page(200, false, req.query, now),
                "/loginError" => return self.login_page(401, true, None, now),
                "/favicon.ico" => {
                    return self.asset("image/vnd.microsoft.icon", Bytes::from_static(FAVICON), now);
                }
                "/robots.txt" => {
                    return self.asset("text/plain", Bytes::from_static(ROBOTS.as_bytes()), now);
                }
                "/logout" => return self.redirect("/", req, now),
                _ => {}
            }
            if let Some(rest) = path.strip_prefix("/static/") {
                // Any hash works, as on Jenkins; the file must exist.
                let file = rest.split_once('/').map(|(_, f)| f).unwrap_or("");
                return match file {
                    "jsbundles/styles.css" => {
                        self.asset("text/css", Bytes::from_static(STYLES.as_bytes()), now)
                    }
                    "scripts/redirect.js" => self.asset(
                        "application/javascript",
                        Bytes::from_static(REDIRECT_JS.as_bytes()),
                        now,
                    ),
                    "images/svgs/logo.svg" => {
                        self.asset("image/svg+xml", Bytes::from_static(LOGO.as_bytes()), now)
                    }
                    "favicon.svg" | "favicon.ico" => {
                        self.asset("image/vnd.microsoft.icon", Bytes::from_static(FAVICON), now)
                    }
                    _ => self.jetty_error(404, "Not Found", "Not Found", path, now),
                };
            }
        }
        if *req.method == Method::POST {
            // The CSRF filter runs before anything else looks at a POST.
            return self.jetty_error(
                403,
                "Forbidden",
                "No valid crumb was included in the request",
                path,
                now,
            );
        }
        self.authentication_required(req, now)
    }

    fn login_page(
        &self,
        status: u16,
        error: bool,
        query: Option<&str>,
        now: SystemTime,
    ) -> Response<Page> {
        let from = query
            .and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "from")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        let res = self.static_prefix();
        let mut body = String::with_capacity(2400);
        let _ = write!(
            body,
            "<!DOCTYPE html><html lang=\"en-US\"><head data-rooturl=\"\" data-resurl=\"{res}\" data-imagesurl=\"{res}/images\" resURL=\"{res}\">\
<title>Sign in [Jenkins]</title><meta name=\"ROBOTS\" content=\"NOFOLLOW\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"stylesheet\" href=\"{res}/jsbundles/styles.css\" type=\"text/css\"><link rel=\"icon\" href=\"{res}/favicon.svg\" type=\"image/svg+xml\">\
<link rel=\"alternate icon\" href=\"/favicon.ico\" sizes=\"32x32\"></head><body>\
<div class=\"simple-page\" role=\"main\"><div class=\"modal login\"><div id=\"loginIntroDefault\"><div class=\"logo\">\
<img src=\"{res}/images/svgs/logo.svg\" alt=\"\"></div><h1>Welcome to Jenkins!</h1></div>\
<form name=\"login\" action=\"j_spring_security_check\" method=\"post\">"
        );
        let input_class = if error { "danger" } else { "normal" };
        if error {
            body.push_str("<div class=\"alert alert-danger\">Invalid username or password</div>");
        }
        let _ = write!(
            body,
            "<div class=\"jenkins-form-item jenkins-form-item--tight\"><input aria-label=\"Username\" class=\"jenkins-input {input_class}\" \
type=\"text\" name=\"j_username\" id=\"j_username\" autocorrect=\"off\" autocomplete=\"off\" autocapitalize=\"off\" autofocus=\"autofocus\" placeholder=\"Username\"></div>\
<div class=\"jenkins-form-item jenkins-form-item--tight\"><input aria-label=\"Password\" class=\"jenkins-input {input_class}\" type=\"password\" name=\"j_password\" placeholder=\"Password\"></div>\
<div class=\"jenkins-checkbox jenkins-form-item jenkins-form-item--tight jenkins-!-margin-bottom-3\"><input type=\"checkbox\" id=\"remember_me\" name=\"remember_me\">\
<label for=\"remember_me\">Keep me signed in</label></div><input type=\"hidden\" name=\"from\" value=\"{}\">\
<div class=\"submit\"><button type=\"submit\" name=\"Submit\" class=\"jenkins-button jenkins-button--primary\">Sign in</button></div></form>\
<div class=\"footer\"></div></div></div></body></html>",
            html_escape(&from)
        );
        let mut h = vec![
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Content-Type", "text/html;charset=utf-8".into()),
            ("Expires", "0".into()),
            ("Cache-Control", "no-cache,no-store,must-revalidate".into()),
            ("X-Hudson-Theme", "default".into()),
            ("Referrer-Policy", "same-origin".into()),
            ("Cross-Origin-Opener-Policy", "same-origin".into()),
            ("Set-Cookie", self.set_cookie()),
        ];
        self.advertise(&mut h);
        h.push(("X-Instance-Identity", self.identity.clone()));
        h.push(("X-Frame-Options", "sameorigin".into()));
        h.push(("Server", format!("Jetty({JETTY})")));
        response(status, None, h, Page::chunked(body))
    }

    /// A failed login: Spring Security redirects to `/loginError` with a fresh session.
    fn login_failed(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        self.redirect("/loginError", req, now)
    }

    fn redirect(&self, to: &str, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        // Jetty makes the Location absolute from the Host header.
        let host = req
            .host
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| req.local.to_string());
        let h = vec![
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Set-Cookie", self.set_cookie()),
            ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()),
            ("Location", format!("http://{host}{to}")),
            ("Content-Length", "0".into()),
            ("Server", format!("Jetty({JETTY})")),
        ];
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
Authentication required\n<!--\n\nanonymous is missing the Overall/Read permission\n\n-->\n\n</body></html>",
            self.static_prefix()
        );
        // Jenkins pads the page so browsers do not swap in their own error page.
        for _ in 0..10 {
            body.push_str("                              ");
        }
        let mut h = vec![
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Set-Cookie", self.set_cookie()),
            ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT".into()),
            ("Content-Type", "text/html;charset=utf-8".into()),
        ];
        self.advertise(&mut h);
        h.extend([
            ("X-You-Are-Authenticated-As", "anonymous".into()),
            (
                "X-You-Are-In-Group-Disabled",
                "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose".into(),
            ),
            ("X-Required-Permission", "hudson.model.Hudson.Read".into()),
            ("X-Permission-Implied-By", "hudson.security.Permission.GenericRead".into()),
            ("X-Permission-Implied-By", "hudson.model.Hudson.Administer".into()),
            ("Server", format!("Jetty({JETTY})")),
        ]);
        response(403, None, h, Page::chunked(body))
    }

    fn asset(&self, ctype: &str, body: Bytes, now: SystemTime) -> Response<Page> {
        let expires = now + Duration::from_secs(365 * 86_400);
        let h = vec![
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Last-Modified", http_date(*RELEASED)),
            ("Expires", http_date(expires)),
            ("Cache-Control", "max-age=31536000, public".into()),
            ("Content-Type", ctype.to_string()),
            ("Content-Length", body.len().to_string()),
            ("Server", format!("Jetty({JETTY})")),
        ];
        response(200, None, h, Page::sized(body))
    }

    /// Jetty's servlet error page, as Jenkins's `sendError` calls produce it.
    fn jetty_error(
        &self,
        status: u16,
        reason: &'static str,
        message: &str,
        uri: &str,
        now: SystemTime,
    ) -> Response<Page> {
        let m = html_escape(message);
        let body = format!(
            "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n<title>Error {status} {m}</title>\n</head>\n\
<body>\n<h2>HTTP ERROR {status} {m}</h2>\n<table>\n<tr><th>URI:</th><td>{}</td></tr>\n<tr><th>STATUS:</th><td>{status}</td></tr>\n\
<tr><th>MESSAGE:</th><td>{m}</td></tr>\n<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n\n</body>\n</html>\n",
            html_escape(uri)
        );
        let mut h = vec![
            ("Date", http_date(now)),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Cache-Control", "must-revalidate,no-cache,no-store".into()),
            ("Content-Type", "text/html;charset=utf-8".into()),
        ];
        if status == 401 {
            h.push(("WWW-Authenticate", "Basic realm=\"Jenkins\"".into()));
        }
        h.push(("Content-Length", body.len().to_string()));
        h.push(("Server", format!("Jetty({JETTY})")));
        response(status, Some(reason), h, Page::sized(body))
    }

    /// Jetty answers what its HTTP/1.1 parser rejects with a terse page and closes.
    pub fn raw_error(&self, err: RawError, first: &[u8], _now: SystemTime) -> Option<(u16, Bytes)> {
        let (status, reason, detail) = match err {
            RawError::Tls => (
                400,
                "Bad Request",
                "Illegal character CNTL=0x16".to_string(),
            ),
            RawError::BadRequest => (400, "Bad Request", illegal_character(first)),
            RawError::Http2Preface => (426, "Upgrade Required", "Upgrade Required".to_string()),
            RawError::UriTooLong => (414, "URI Too Long", "URI Too Long".to_string()),
            RawError::HeadTooLarge => (
                431,
                "Request Header Fields Too Large",
                "Request Header Fields Too Large".to_string(),
            ),
        };
        let body = format!("<h1>Bad Message {status}</h1><pre>reason: {detail}</pre>");
        let headers = [
            ("Content-Type", "text/html;charset=iso-8859-1".to_string()),
            ("Content-Length", body.len().to_string()),
            ("Connection", "close".to_string()),
        ];
        Some((
            status,
            raw_response(&format!("{status} {reason}"), &headers, body.as_bytes()),
        ))
    }
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
        None => "Unknown Version".to_string(),
    }
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

    #[test]
    fn anonymous_is_sent_to_login_with_jenkins_headers() {
        let j = Jenkins::new([7; 32]);
        let r = j.answer(&req(&Method::GET, "/"), SystemTime::now());
        assert_eq!(r.status(), 403);
        assert_eq!(header(&r, "x-jenkins"), VERSION);
        assert_eq!(header(&r, "x-you-are-authenticated-as"), "anonymous");
        assert_eq!(header(&r, "server"), format!("Jetty({JETTY})"));
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(body.contains("url=/login?from=%2F"), "{body}");
        assert!(body.contains("Authentication required"));
    }

    #[test]
    fn failed_login_redirects_to_login_error() {
        let j = Jenkins::new([7; 32]);
        let mut rq = req(&Method::POST, "/j_spring_security_check");
        rq.login = true;
        let r = j.answer(&rq, SystemTime::now());
        assert_eq!(r.status(), 302);
        assert_eq!(header(&r, "location"), "http://ci.corp:8080/loginError");
        let r = j.answer(&req(&Method::GET, "/loginError"), SystemTime::now());
        assert_eq!(r.status(), 401);
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(
            body.contains("Invalid username or password")
                && body.contains("<title>Sign in [Jenkins]</title>")
        );
    }

    #[test]
    fn stable_values_come_from_the_seed_and_the_session_from_the_start() {
        let a = Jenkins::new([1; 32]);
        let b = Jenkins::new([1; 32]);
        let c = Jenkins::new([2; 32]);
        assert_eq!(a.cookie, b.cookie);
        assert_eq!(a.identity, b.identity);
        assert_ne!(a.identity, c.identity);
        assert_eq!(a.session.len(), 8);
        let der = base64::engine::general_purpose::STANDARD
            .decode(&a.identity)
            .unwrap();
        assert_eq!(der.len(), 294, "RSA-2048 SubjectPublicKeyInfo");
    }

    #[test]
    fn basic_auth_and_crumbless_posts() {
        let j = Jenkins::new([7; 32]);
        let mut rq = req(&Method::GET, "/api/json");
        rq.basic_user = Some("<admin>");
        let r = j.answer(&rq, SystemTime::now());
        assert_eq!(r.status(), 401);
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(
            body.contains("Invalid password/token for user: &lt;admin&gt;"),
            "{body}"
        );
        let r = j.answer(&req(&Method::POST, "/script"), SystemTime::now());
        assert_eq!(r.status(), 403);
        assert!(String::from_utf8_lossy(r.body().bytes()).contains("No valid crumb"));
    }

    #[test]
    fn jetty_names_the_first_illegal_byte() {
        assert_eq!(illegal_character(b"\x00\x01"), "Illegal character CNTL=0x0");
        assert_eq!(
            illegal_character(b"GE\xffT"),
            "Illegal character OTEXT=0xff"
        );
    }
}
