//! Decoys: listeners and watchers that no honest person or program touches. Each kind is a
//! variant of the closed [`DecoyKind`] enum with its own settings and its own module. A network
//! decoy is `run(listener, settings, ctx)`: it takes an already-bound socket and stops accepting
//! when `ctx.shutdown` fires, finishing what is in flight (tracked by `ctx.tracker`).
//!
//! Every decoy turns what it sees into a [`crate::touch::Touch`] and awaits
//! [`crate::store::Store::record`] before it answers: nothing is answered that is not on disk.

pub mod http;
pub mod limit;
pub mod listen;
pub mod lure;
pub mod ssh;
pub mod template;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::honeytoken::Honeytokens;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::touch::{Event, PasswordHasher, Timestamp, Touch};

/// One decoy as configured: its name (the file stem), its file, and its kind.
#[derive(Clone, Debug)]
pub struct DecoySpec {
    /// The decoy's name.
    pub name: Arc<str>,
    /// The file that defines it.
    pub file: PathBuf,
    /// What it is.
    pub kind: DecoyKind,
}

/// The kinds of decoy.
#[derive(Clone, Debug)]
pub enum DecoyKind {
    /// A fake login page.
    Http(http::HttpSettings),
    /// A fake SSH server.
    Ssh(ssh::SshSettings),
    /// A planted file with honeytoken credentials.
    Lure(lure::LureSettings),
}

impl DecoyKind {
    /// The configured listen address of a network decoy.
    pub fn listen(&self) -> Option<SocketAddr> {
        match self {
            DecoyKind::Http(h) => Some(h.listen),
            DecoyKind::Ssh(s) => Some(s.listen),
            DecoyKind::Lure(_) => None,
        }
    }

    /// The `kind:` name.
    pub fn label(&self) -> &'static str {
        match self {
            DecoyKind::Http(_) => "http",
            DecoyKind::Ssh(_) => "ssh",
            DecoyKind::Lure(_) => "lure",
        }
    }

    /// A short description for `decoyd check`.
    pub fn describe(&self) -> String {
        match self {
            DecoyKind::Http(h) => format!("http on {} ({} skin)", h.listen, h.skin.name()),
            DecoyKind::Ssh(s) => format!(
                "ssh on {} ({}, {} accepted credential{})",
                s.listen,
                s.profile,
                s.accept.len(),
                if s.accept.len() == 1 { "" } else { "s" }
            ),
            DecoyKind::Lure(l) => format!(
                "lure {} on {} for {} ({}{})",
                l.path.display(),
                l.host,
                l.owner,
                l.template.name,
                l.credential_for
                    .as_deref()
                    .map(|d| format!(", credential for {d}"))
                    .unwrap_or_default()
            ),
        }
    }

    /// Loads what a network decoy needs from the data dir (SSH host keys, created the first
    /// time), before any port is bound. `None` for a lure, which has no listener.
    pub fn prepare(&self, name: &str, data_dir: &Path) -> anyhow::Result<Option<Ready>> {
        Ok(match self {
            DecoyKind::Http(h) => Some(Ready::Http(h.clone())),
            DecoyKind::Ssh(s) => Some(Ready::Ssh(ssh::Ready::prepare(s, data_dir, name)?)),
            DecoyKind::Lure(_) => None,
        })
    }
}

/// A decoy with everything loaded, ready to serve its listener.
pub enum Ready {
    /// A fake login page.
    Http(http::HttpSettings),
    /// A fake SSH server with its host keys.
    Ssh(ssh::Ready),
}

/// What every decoy needs from the rest of the pipeline.
#[derive(Clone)]
pub struct DecoyCtx {
    /// The decoy's name, in every touch.
    pub name: Arc<str>,
    /// The sensor id, in every touch.
    pub sensor: Arc<str>,
    /// Where touches go.
    pub store: Store,
    /// How typed passwords are kept.
    pub hasher: PasswordHasher,
    /// Recognises the fleet's honeytokens among offered credentials.
    pub honeytokens: Honeytokens,
    /// Secret, stable per sensor and decoy: seeds per-instance values a real product keeps
    /// across restarts (host keys, instance identities, cookie names).
    pub seed: [u8; 32],
    /// Metrics.
    pub metrics: Metrics,
    /// Fires when the daemon stops.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for in-flight answers.
    pub tracker: TaskTracker,
}

impl DecoyCtx {
    /// A touch of this decoy, now.
    pub fn touch(&self, source: SocketAddr, local: SocketAddr, event: Event) -> Touch {
        Touch {
            at: Timestamp::now(),
            sensor: self.sensor.clone(),
            decoy: self.name.clone(),
            source,
            local,
            event,
        }
    }
}

/// Runs one network decoy on its bound listener until shutdown.
pub async fn run(ready: Ready, listener: TcpListener, ctx: DecoyCtx) {
    match ready {
        Ready::Http(settings) => http::run(listener, settings, ctx).await,
        Ready::Ssh(ready) => ssh::run(listener, ready, ctx).await,
    }
}
