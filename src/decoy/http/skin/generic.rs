//! The generic skin: a plain corporate sign-in page served by an application behind nginx
//! (Ubuntu 24.04's nginx 1.24.0 by default). Error pages, reason phrases and header order are
//! nginx's own, including its error-page padding for browsers that would otherwise replace a
//! short error page with their own. The operator may supply the page itself (`page:`).

use std::sync::LazyLock;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::{Method, Response};

use super::{Page, RawError, Req, http_date, raw_response, response, session_id};
use crate::decoy::http::template::PageTemplate;

static PAGE: LazyLock<PageTemplate> = LazyLock::new(|| {
    PageTemplate::compile(include_str!("generic/login.html")).expect("built-in page compiles")
});
const CSS: &str = include_str!("generic/login.css");
const FAVICON: &[u8] = include_bytes!("generic/favicon.ico");
const ROBOTS: &str = "User-agent: *\nDisallow: /\n";

const INVALID: &str = "Invalid username or password.";
const MISSING: &str = "Please enter your username and password.";

/// Settings of the generic skin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericSkin {
    /// Title and heading of the page.
    pub title: String,
    /// The `Server` header, also shown on nginx error pages.
    pub server_header: String,
    /// The operator's own login page, instead of the built-in one.
    pub page: Option<PageTemplate>,
}

impl Default for GenericSkin {
    fn default() -> Self {
        GenericSkin {
            title: "Sign in".into(),
            server_header: "nginx/1.24.0 (Ubuntu)".into(),
            page: None,
        }
    }
}

/// A running generic skin.
#[derive(Clone, Debug)]
pub struct GenericSite {
    skin: GenericSkin,
    /// Last-Modified of the static files: one deploy date per sensor and decoy, stable across
    /// restarts (a file that got older after a restart would be a tell).
    asset_mtime: SystemTime,
}

impl GenericSite {
    /// An instance whose asset date comes from `seed`.
    pub fn new(skin: GenericSkin, seed: [u8; 32]) -> GenericSite {
        let n = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
        // Some second in the 400 days after 2025-01-06 00:00 UTC.
        let secs = 1_736_121_600 + n % (400 * 86_400);
        GenericSite {
            skin,
            asset_mtime: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        }
    }
    fn page(&self, error: &str) -> String {
        self.skin
            .page
            .as_ref()
            .unwrap_or(&PAGE)
            .render(&self.skin.title, error)
    }

    /// Answers a parsed request.
    pub fn answer(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let is_get = matches!(*req.method, Method::GET | Method::HEAD);
        let path = req.path;
        if req.missing_host {
            return self.error_page(400, req, now, true);
        }
        if req.body_too_large {
            return self.error_page(413, req, now, true);
        }
        if req.authorization {
            return self.basic_challenge(req, now);
        }
        match (is_get, *req.method == Method::POST, path) {
            (_, true, "/api/login" | "/api/v1/login" | "/api/auth/login") => {
                self.json_invalid(req, now)
            }
            (_, true, "/login" | "/") if req.json => self.json_invalid(req, now),
            (_, true, "/login" | "/") => {
                let msg = if req.login { INVALID } else { MISSING };
                self.login_page(200, msg, req, now)
            }
            (true, _, "/" | "/login" | "/index.html") => self.login_page(200, "", req, now),
            (true, _, "/static/css/login.css") => self.asset("text/css", CSS.as_bytes(), req, now),
            (true, _, "/favicon.ico") => self.asset("image/x-icon", FAVICON, req, now),
            (true, _, "/robots.txt") => self.asset("text/plain", ROBOTS.as_bytes(), req, now),
            (false, false, _) if !matches!(*req.method, Method::OPTIONS) => {
                self.error_page(405, req, now, false)
            }
            _ => self.error_page(404, req, now, false),
        }
    }

    fn login_page(
        &self,
        status: u16,
        error: &str,
        req: &Req<'_>,
        now: SystemTime,
    ) -> Response<Page> {
        let body = self.page(error);
        response(
            status,
            None,
            vec![
                ("Server", self.skin.server_header.clone()),
                ("Date", http_date(now)),
                ("Content-Type", "text/html; charset=utf-8".into()),
                ("Content-Length", body.len().to_string()),
                ("Connection", connection(req.keep_alive)),
                (
                    "Set-Cookie",
                    format!("sid={}; Path=/; HttpOnly; SameSite=Lax", session_id(16)),
                ),
                ("Cache-Control", "no-store".into()),
                ("X-Frame-Options", "SAMEORIGIN".into()),
                ("X-Content-Type-Options", "nosniff".into()),
            ],
            Page::sized(body),
        )
    }

    fn json_invalid(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let body = format!(r#"{{"error":"invalid_credentials","message":"{INVALID}"}}"#);
        response(
            401,
            None,
            vec![
                ("Server", self.skin.server_header.clone()),
                ("Date", http_date(now)),
                ("Content-Type", "application/json".into()),
                ("Content-Length", body.len().to_string()),
                ("Connection", connection(req.keep_alive)),
                ("Cache-Control", "no-store".into()),
            ],
            Page::sized(body),
        )
    }

    fn asset(
        &self,
        ctype: &str,
        body: &'static [u8],
        req: &Req<'_>,
        now: SystemTime,
    ) -> Response<Page> {
        let mtime = self.asset_mtime;
        let secs = mtime
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        response(
            200,
            None,
            vec![
                ("Server", self.skin.server_header.clone()),
                ("Date", http_date(now)),
                ("Content-Type", ctype.into()),
                ("Content-Length", body.len().to_string()),
                ("Last-Modified", http_date(mtime)),
                ("Connection", connection(req.keep_alive)),
                ("ETag", format!("\"{secs:x}-{:x}\"", body.len())),
                ("Accept-Ranges", "bytes".into()),
            ],
            Page::sized(Bytes::from_static(body)),
        )
    }

    fn basic_challenge(&self, req: &Req<'_>, now: SystemTime) -> Response<Page> {
        let body = nginx_page(401, &self.skin.server_header, req.user_agent);
        response(
            401,
            Some("Unauthorized"),
            vec![
                ("Server", self.skin.server_header.clone()),
                ("Date", http_date(now)),
                ("Content-Type", "text/html".into()),
                ("Content-Length", body.len().to_string()),
                ("Connection", connection(req.keep_alive)),
                ("WWW-Authenticate", "Basic realm=\"Restricted\"".into()),
            ],
            Page::sized(body),
        )
    }

    fn error_page(
        &self,
        status: u16,
        req: &Req<'_>,
        now: SystemTime,
        close: bool,
    ) -> Response<Page> {
        let body = nginx_page(status, &self.skin.server_header, req.user_agent);
        response(
            status,
            Some(nginx_reason(status)),
            vec![
                ("Server", self.skin.server_header.clone()),
                ("Date", http_date(now)),
                ("Content-Type", "text/html".into()),
                ("Content-Length", body.len().to_string()),
                ("Connection", connection(req.keep_alive && !close)),
            ],
            Page::sized(body),
        )
    }

    /// nginx answers unparseable input with 400 (or 414 for an overlong request line) and
    /// closes the connection.
    pub fn raw_error(&self, err: RawError, now: SystemTime) -> Option<(u16, Bytes)> {
        let (status, body) = match err {
            // nginx without HTTP/2 reads the preface as a request line it cannot parse.
            RawError::BadRequest | RawError::Tls | RawError::Http2Preface => {
                (400, nginx_page(400, &self.skin.server_header, None))
            }
            RawError::BadVersion => (505, nginx_page(505, &self.skin.server_header, None)),
            RawError::UriTooLong => (414, nginx_page(414, &self.skin.server_header, None)),
            RawError::HeadTooLarge => (400, nginx_page(494, &self.skin.server_header, None)),
        };
        let line = format!("{status} {}", nginx_reason(status));
        let headers = [
            ("Server", self.skin.server_header.clone()),
            ("Date", http_date(now)),
            ("Content-Type", "text/html".into()),
            ("Content-Length", body.len().to_string()),
            ("Connection", "close".into()),
        ];
        Some((status, raw_response(&line, &headers, body.as_bytes())))
    }
}

/// nginx's `Connection` header: what the client asked for (it closes HTTP/1.0 connections
/// unless asked to keep them, and HTTP/1.1 ones when asked to close).
fn connection(keep_alive: bool) -> String {
    if keep_alive { "keep-alive" } else { "close" }.into()
}

/// nginx's reason phrases, which differ from the RFC's for some codes.
fn nginx_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Not Allowed",
        408 => "Request Time-out",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        505 => "HTTP Version Not Supported",
        _ => "Bad Request",
    }
}

/// An nginx error page. `494` is nginx's internal code for an oversized header, sent as 400.
fn nginx_page(status: u16, server: &str, ua: Option<&str>) -> String {
    let (title, heading, extra) = match status {
        401 => (
            "401 Authorization Required",
            "401 Authorization Required",
            None,
        ),
        403 => ("403 Forbidden", "403 Forbidden", None),
        404 => ("404 Not Found", "404 Not Found", None),
        405 => ("405 Not Allowed", "405 Not Allowed", None),
        408 => ("408 Request Time-out", "408 Request Time-out", None),
        413 => (
            "413 Request Entity Too Large",
            "413 Request Entity Too Large",
            None,
        ),
        414 => (
            "414 Request-URI Too Large",
            "414 Request-URI Too Large",
            None,
        ),
        494 => (
            "400 Request Header Or Cookie Too Large",
            "400 Bad Request",
            Some("Request Header Or Cookie Too Large"),
        ),
        505 => (
            "505 HTTP Version Not Supported",
            "505 HTTP Version Not Supported",
            None,
        ),
        _ => ("400 Bad Request", "400 Bad Request", None),
    };
    let mut s = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{heading}</h1></center>\r\n"
    );
    if let Some(e) = extra {
        s.push_str(&format!("<center>{e}</center>\r\n"));
    }
    s.push_str(&format!(
        "<hr><center>{server}</center>\r\n</body>\r\n</html>\r\n"
    ));
    // nginx pads error pages for browsers that replace short ones with their own.
    if ua.is_some_and(|u| u.contains("MSIE ") || u.contains("Chrome/")) {
        for _ in 0..6 {
            s.push_str("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a Method, path: &'a str) -> Req<'a> {
        Req::test(method, path)
    }

    #[test]
    fn login_page_then_invalid_credentials() {
        let s = GenericSite::new(GenericSkin::default(), [0; 32]);
        let now = SystemTime::now();
        let r = s.answer(&req(&Method::GET, "/"), now);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["server"], "nginx/1.24.0 (Ubuntu)");
        let mut post = req(&Method::POST, "/login");
        post.login = true;
        let r = s.answer(&post, now);
        assert_eq!(r.status(), 200);
        let body = String::from_utf8_lossy(r.body().bytes()).into_owned();
        assert!(body.contains(INVALID));
    }

    #[test]
    fn unknown_paths_get_nginx_404() {
        let s = GenericSite::new(GenericSkin::default(), [0; 32]);
        let r = s.answer(&req(&Method::GET, "/wp-admin"), SystemTime::now());
        assert_eq!(r.status(), 404);
        let page = nginx_page(404, "nginx/1.24.0 (Ubuntu)", None);
        assert!(page.starts_with("<html>\r\n<head><title>404 Not Found</title></head>"));
        assert!(page.contains("<hr><center>nginx/1.24.0 (Ubuntu)</center>"));
        assert!(nginx_page(404, "nginx", Some("Mozilla/5.0 Chrome/120.0")).contains("padding"));
    }

    #[test]
    fn basic_auth_is_challenged() {
        let s = GenericSite::new(GenericSkin::default(), [0; 32]);
        let mut r = req(&Method::GET, "/admin");
        r.authorization = true;
        let resp = s.answer(&r, SystemTime::now());
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Basic realm=\"Restricted\""
        );
    }

    #[test]
    fn custom_page_is_used() {
        let skin = GenericSkin {
            page: Some(PageTemplate::compile("<b>{{title}}</b>{{error}}").unwrap()),
            title: "Acme VPN".into(),
            ..GenericSkin::default()
        };
        assert_eq!(
            GenericSite::new(skin, [0; 32]).page("bad"),
            "<b>Acme VPN</b>bad"
        );
    }

    #[test]
    fn asset_dates_are_stable_per_seed_and_connection_follows_the_client() {
        let a = GenericSite::new(GenericSkin::default(), [1; 32]);
        let b = GenericSite::new(GenericSkin::default(), [1; 32]);
        assert_eq!(a.asset_mtime, b.asset_mtime);
        assert!(a.asset_mtime < SystemTime::now());
        let mut r = req(&Method::GET, "/");
        r.keep_alive = false;
        assert_eq!(
            a.answer(&r, SystemTime::now()).headers()["connection"],
            "close"
        );
        r.keep_alive = true;
        assert_eq!(
            a.answer(&r, SystemTime::now()).headers()["connection"],
            "keep-alive"
        );
    }
}
