//! The daemon: builds the pipeline from a validated config, binds every socket before serving
//! anything, runs until SIGINT or SIGTERM, then drains: stop accepting, let in-flight answers
//! finish, write and flush every queued touch, exit.
//!
//! Data flow: each decoy (`decoy::run`) → `Touch` → `Store::record` (durable) → answer.
//! Scoring and signals join here when they exist.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::admin::{self, AdminState};
use crate::config::{Config, Origin};
use crate::decoy::{self, DecoyCtx, lure};
use crate::honeytoken::Honeytokens;
use crate::metrics::Metrics;
use crate::signal::keys::KeyRing;
use crate::store::{Store, StoreError, files};
use crate::touch::{PasswordHasher, Timestamp};

/// How long shutdown waits for in-flight answers before closing them.
const DRAIN: Duration = Duration::from_secs(10);

/// One bound listener, as reported by `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Listening {
    /// Decoy name (or `admin`).
    pub name: String,
    /// `http`, `ssh`, `admin`.
    pub kind: String,
    /// The address actually bound.
    pub addr: SocketAddr,
}

/// The `decoyd check` summary.
pub fn summary(config: &Config) -> String {
    let mut s = String::new();
    let origin = match &config.origin {
        Origin::File(p) => p.display().to_string(),
        Origin::BuiltIn => "built-in default (no config file found)".into(),
    };
    let _ = writeln!(s, "ok: {origin}");
    let _ = writeln!(
        s,
        "  sensor {}, data dir {}",
        config.sensor_id,
        config.data_dir.display()
    );
    let _ = writeln!(s, "  admin API on {}", config.admin_listen);
    let n = config.decoys.len();
    let _ = writeln!(s, "  {n} decoy{}:", if n == 1 { "" } else { "s" });
    for d in &config.decoys {
        let _ = writeln!(
            s,
            "    {}: {} [{}]",
            d.name,
            d.kind.describe(),
            d.file.display()
        );
    }
    let r = &config.signals.receivers;
    let _ = writeln!(
        s,
        "  signals issued as {}: {}",
        config.signals.issuer,
        if r.is_empty() {
            "no receivers (kept in the outbox)".to_string()
        } else {
            format!(
                "{} receiver{}:",
                r.len(),
                if r.len() == 1 { "" } else { "s" }
            )
        }
    );
    for r in r {
        let api = match &r.api {
            None => String::new(),
            Some(a) => format!(
                ", Okta API as {}{}{}",
                match &a.credentials {
                    crate::signal::okta::Credentials::Ssws(_) => "an SSWS token".to_string(),
                    crate::signal::okta::Credentials::ServiceApp(app) =>
                        format!("service app {}", app.client_id),
                    crate::signal::okta::Credentials::NotRead => "credentials not read".into(),
                },
                if a.verify_users {
                    ", users checked"
                } else {
                    ""
                },
                a.response
                    .map(|x| format!(", response {} at high", x.name()))
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(
            s,
            "    {}: {} from {}{api}",
            r.name, r.push_url, r.min_level
        );
    }
    s
}

/// Runs the sensor until SIGINT/SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    files::ensure_data_dir(&data_dir)?;
    let secret = files::sensor_secret(&data_dir)?;
    let token = files::admin_token(&data_dir)?;
    let metrics = Metrics::new();
    let (store, writer) = Store::open(&data_dir, config.store.clone(), metrics.clone()).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow::anyhow!(
            "another decoyd is already running with data dir {} (sled allows one process at a time)",
            data_dir.display()
        ),
        e => anyhow::Error::new(e).context("cannot open the store"),
    })?;

    // Load what decoys keep on disk, then bind everything before serving anything, and
    // report every failure together.
    let mut failures = Vec::new();
    let mut decoys = Vec::new();
    for spec in &config.decoys {
        let ready = match spec.kind.prepare(&spec.name, &data_dir) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                failures.push(format!(
                    "{}: decoy {:?}: {e:#}",
                    spec.file.display(),
                    spec.name
                ));
                continue;
            }
        };
        let addr = spec.kind.listen().expect("network decoys listen");
        match TcpListener::bind(addr).await {
            Ok(l) => decoys.push((spec, ready, l)),
            Err(e) => failures.push(format!(
                "{}: decoy {:?} cannot listen on {addr}: {e}",
                spec.file.display(),
                spec.name
            )),
        }
    }
    let keys = match KeyRing::load_or_create(&data_dir) {
        Ok(k) => Some(k),
        Err(e) => {
            failures.push(format!("signing keys: {e:#}"));
            None
        }
    };
    let fleet = match files::fleet_key(&data_dir, config.fleet_secret_file.as_deref()) {
        Ok(k) => Some(k),
        Err(e) => {
            failures.push(format!("{e:#}"));
            None
        }
    };
    let admin_listener = match TcpListener::bind(config.admin_listen).await {
        Ok(l) => Some(l),
        Err(e) => {
            failures.push(format!(
                "admin API cannot listen on {}: {e}",
                config.admin_listen
            ));
            None
        }
    };
    let public_listener = match config.signals.public_listen {
        Some(addr) => match TcpListener::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                failures.push(format!("the public listener cannot listen on {addr}: {e}"));
                None
            }
        },
        None => None,
    };
    if !failures.is_empty() {
        writer.shutdown().await;
        bail!("{}", failures.join("\n"));
    }
    let admin_listener = admin_listener.expect("no failures means bound");
    let fleet = fleet.expect("no failures means a fleet key");
    let keys = Arc::new(Mutex::new(keys.expect("no failures means signing keys")));
    let honeytokens = Honeytokens::new(
        fleet.clone(),
        config.decoys.iter().filter_map(|d| match &d.kind {
            decoy::DecoyKind::Lure(l) => Some(l.info(&d.name)),
            _ => None,
        }),
    );

    let mut listening = Vec::new();
    for (spec, _, l) in &decoys {
        listening.push(Listening {
            name: spec.name.to_string(),
            kind: spec.kind.label().into(),
            addr: l.local_addr()?,
        });
    }
    let admin_addr = admin_listener.local_addr()?;
    listening.push(Listening {
        name: "admin".into(),
        kind: "admin".into(),
        addr: admin_addr,
    });
    if let Some(l) = &public_listener {
        listening.push(Listening {
            name: "public".into(),
            kind: "public".into(),
            addr: l.local_addr()?,
        });
    }
    files::write_private(
        &data_dir.join(files::ADMIN_ADDR),
        admin_addr.to_string().as_bytes(),
    )
    .context("cannot record the admin address")?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let hasher = PasswordHasher::new(secret.0, config.capture_passwords);
    for (spec, ready, listener) in decoys {
        let ctx = DecoyCtx {
            name: spec.name.clone(),
            sensor: config.sensor_id.clone(),
            store: store.clone(),
            hasher: hasher.clone(),
            honeytokens: honeytokens.clone(),
            seed: secret.derive(&format!("decoy:{}", spec.name)),
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(decoy::run(ready, listener, ctx));
    }

    // Lures are planted once the decoys they point at have their ports.
    let bound: HashMap<String, SocketAddr> =
        listening.iter().map(|l| (l.name.clone(), l.addr)).collect();
    let watched = lure::plant_missing(
        &config.decoys,
        &config.sensor_id,
        &config.advertise_host,
        &fleet,
        &store,
        &bound,
    )
    .await;
    let (replanted_tx, replanted) = tokio::sync::mpsc::channel(64);
    let (watching_tx, watching) = tokio::sync::oneshot::channel();
    if lure::own(&config.decoys, &config.sensor_id)
        .next()
        .is_some()
    {
        tracker.spawn(lure::watch::run(
            watched,
            lure::watch::WatchCtx {
                store: store.clone(),
                sensor: config.sensor_id.clone(),
                check_every: config.lure_check_every,
                shutdown: shutdown.clone(),
                replanted,
                ignore_processes: config.ignore_processes.clone(),
                metrics: metrics.clone(),
                ready: Some(watching_tx),
            },
        ));
        // The admin API (what reports the sensor up) starts once the lures are watched.
        let _ = watching.await;
    }
    let signal_settings = Arc::new(config.signals.clone());
    let pending = crate::signal::outbox::decode_all(store.outbox().unwrap_or_default());
    let (deliver_tx, deliver_rx) = tokio::sync::mpsc::channel(1024);
    tracker.spawn(crate::signal::deliver::run(
        store.clone(),
        signal_settings.clone(),
        pending,
        deliver_rx,
        metrics.clone(),
        shutdown.clone(),
    ));
    let (clears_tx, clears) = tokio::sync::mpsc::channel(16);
    tracker.spawn(crate::score::scorer::run(
        store.clone(),
        config.scoring.clone(),
        shutdown.clone(),
        clears,
        crate::score::scorer::SignalCtx {
            settings: signal_settings.clone(),
            keys: keys.clone(),
            deliver: deliver_tx,
        },
    ));
    let admin_state = Arc::new(AdminState {
        store: store.clone(),
        metrics: metrics.clone(),
        token,
        sensor: config.sensor_id.to_string(),
        started_at: Timestamp::now(),
        listening: listening.clone(),
        shutdown: shutdown.clone(),
        replanted: replanted_tx,
        clears: clears_tx,
        keys,
        signals: signal_settings,
    });
    let admin_tracker = TaskTracker::new();
    if let Some(l) = public_listener {
        tokio::spawn(admin::run(
            l,
            admin_state.clone(),
            admin_tracker.clone(),
            true,
        ));
    }
    tokio::spawn(admin::run(
        admin_listener,
        admin_state,
        admin_tracker.clone(),
        false,
    ));
    tokio::spawn(prune_periodically(
        store.clone(),
        config.store.prune_every,
        config.store.retention,
        shutdown.clone(),
    ));

    for l in &listening {
        info!(name = %l.name, kind = %l.kind, addr = %l.addr, "listening");
    }
    info!(sensor = %config.sensor_id, data_dir = %data_dir.display(), decoys = listening.iter().filter(|l| l.kind != "admin" && l.kind != "public").count(), "decoyd running");

    wait_for_signal().await?;
    info!("shutting down: no new connections; finishing answers in flight");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        warn!(after = ?DRAIN, "connections still open at shutdown were closed");
    }
    writer.shutdown().await;
    admin_tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_tracker.wait()).await;
    remove_admin_addr(&data_dir, admin_addr);
    let flushed = store.flushed();
    info!(
        last_flushed_seq = flushed.seq,
        touches = flushed.touches,
        "stopped; every touch is on disk"
    );
    Ok(())
}

/// Removes `admin.addr` if it still names this process's listener.
fn remove_admin_addr(dir: &Path, addr: SocketAddr) {
    let path = dir.join(files::ADMIN_ADDR);
    if std::fs::read_to_string(&path).is_ok_and(|s| s.trim() == addr.to_string()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Enforces the retention age on touches and on finished signals.
async fn prune_periodically(
    store: Store,
    every: Duration,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                store.prune_by_age().await;
                crate::signal::outbox::prune(&store, retention, std::time::SystemTime::now()).await;
            }
        }
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => info!(signal = "SIGTERM", "signal received"),
        _ = int.recv() => info!(signal = "SIGINT", "signal received"),
    }
    Ok(())
}
