//! The CLI's client for the running daemon's admin API. The daemon writes the address it
//! actually bound to `admin.addr` in the data dir; the token is `admin.token` beside it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::admin::Status;
use crate::store::files;

/// Largest admin API answer read.
const MAX_RESPONSE: usize = 256 << 20;

/// A connection target for the admin API.
#[derive(Clone)]
pub struct AdminClient {
    addr: SocketAddr,
    token: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("addr", &self.addr)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl AdminClient {
    /// Finds a running daemon for `data_dir`: its recorded address answers `status` with our
    /// token. `None` when no daemon answers (stopped, or killed and its file left behind).
    pub async fn discover(data_dir: &Path) -> Option<AdminClient> {
        let addr: SocketAddr = std::fs::read_to_string(data_dir.join(files::ADMIN_ADDR))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let token = files::read_admin_token(data_dir)?;
        let c = AdminClient { addr, token };
        c.status().await.ok().map(|_| c)
    }

    /// The admin address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`, returning the body of a 200 answer.
    pub async fn get(&self, path_and_query: &str, timeout: Duration) -> anyhow::Result<Bytes> {
        let work = async {
            let stream = TcpStream::connect(self.addr).await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let req = Request::get(path_and_query)
                .header(hyper::header::HOST, self.addr.to_string())
                .header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                )
                .body(Empty::<Bytes>::new())?;
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            // Bounded: a page of events is at most MAX_READ records.
            #[allow(clippy::disallowed_methods)]
            let body = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("reading the admin API's answer: {e}"))?
                .to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, work)
            .await
            .with_context(|| format!("the admin API at {} did not answer in time", self.addr))??;
        if status != StatusCode::OK {
            bail!(
                "the admin API at {} answered {status}: {}",
                self.addr,
                String::from_utf8_lossy(&body).trim()
            );
        }
        Ok(body)
    }

    /// `POST path` with a JSON body; succeeds on a 2xx answer.
    pub async fn post_json(&self, path: &str, value: &impl serde::Serialize) -> anyhow::Result<()> {
        self.post_json_answer(path, value).await.map(|_| ())
    }

    /// `POST path` with a JSON body, returning the body of a 2xx answer.
    pub async fn post_json_answer(
        &self,
        path: &str,
        value: &impl serde::Serialize,
    ) -> anyhow::Result<Bytes> {
        let body = serde_json::to_vec(value)?;
        let work = async {
            let stream = TcpStream::connect(self.addr).await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let req = Request::post(path)
                .header(hyper::header::HOST, self.addr.to_string())
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                )
                .body(http_body_util::Full::new(Bytes::from(body)))?;
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            #[allow(clippy::disallowed_methods)]
            let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("reading the admin API's answer: {e}"))?
                .to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .with_context(|| format!("the admin API at {} did not answer in time", self.addr))??;
        if !status.is_success() {
            bail!(
                "the admin API at {} answered {status}: {}",
                self.addr,
                String::from_utf8_lossy(&body).trim()
            );
        }
        Ok(body)
    }

    /// `GET /api/v1/status`.
    pub async fn status(&self) -> anyhow::Result<Status> {
        let body = self.get("/api/v1/status", Duration::from_secs(5)).await?;
        Ok(serde_json::from_slice(&body)?)
    }
}
