//! The daemon's scoring task. It follows the store: every touch on disk, in order, once,
//! resuming after a restart (or `kill -9`) from the last sequence number it scored, which is
//! written in the same atomic batch as the states that touch changed. So no touch is scored
//! twice or missed, and a level change is on disk together with the evidence that made it
//! (the batch a signal outbox will join).
//!
//! It also applies operators' clears, which reach it from the admin API.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::identity::{Sessions, evidence};
use super::{Change, IdentityState, Level, ScoringSettings, Subject};
use crate::signal::SignalSettings;
use crate::signal::keys::KeyRing;
use crate::signal::outbox::{self, Signal, SignalState, for_change};
use crate::store::{EventQuery, IdentityBatch, Store, StoreError};
use crate::touch::Timestamp;

/// Source states kept; beyond, the one with the oldest evidence is dropped. Sources are
/// attacker-chosen (IPv6 gives plenty), so they are bounded; people are bounded by the config.
pub const MAX_SOURCES: usize = 10_000;
/// Records read per turn.
const PAGE: usize = 1000;
/// Least time between two batches: touches arriving sooner gather into the next one. A touch
/// after a quiet spell is scored at once.
const GATHER: Duration = Duration::from_millis(20);

/// An operator's clear, from the admin API.
#[derive(Debug)]
pub struct ClearRequest {
    /// The identity (email address).
    pub email: String,
    /// Who asks.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The state after the clear, or why there is none.
    pub reply: oneshot::Sender<Result<IdentityState, String>>,
}

/// Loads every identity state from the store.
pub fn load(store: &Store) -> Result<(Vec<IdentityState>, u64), StoreError> {
    let (raw, scored) = store.identities()?;
    Ok((decode_all(raw), scored))
}

/// Decodes stored states; an undecodable one is logged and skipped.
pub fn decode_all(raw: Vec<Vec<u8>>) -> Vec<IdentityState> {
    raw.into_iter()
        .filter_map(|v| match serde_json::from_slice(&v) {
            Ok(s) => Some(s),
            Err(e) => {
                error!(error = %e, "an identity state in the store cannot be read; it is skipped");
                None
            }
        })
        .collect()
}

/// The states, people first (highest level first), then sources.
pub fn sorted(mut states: Vec<IdentityState>) -> Vec<IdentityState> {
    states.sort_by(|a, b| {
        let person = |s: &IdentityState| matches!(s.subject, Subject::User(_));
        person(b)
            .cmp(&person(a))
            .then(b.level.cmp(&a.level))
            .then(b.score.cmp(&a.score))
            .then(a.subject.cmp(&b.subject))
    });
    states
}

/// The clear itself, on stored states: used by the daemon and by the CLI when none runs.
pub fn apply_clear(
    states: &mut HashMap<Subject, IdentityState>,
    email: &str,
    by: &str,
    reason: &str,
    settings: &ScoringSettings,
) -> Result<(IdentityState, Change), String> {
    let subject = Subject::User(email.to_string());
    let st = states
        .get_mut(&subject)
        .ok_or_else(|| format!("no identity {email:?} on record"))?;
    let c = st.clear(Timestamp::now(), by, reason, settings);
    info!(identity = %email, from = %c.from, to = %c.to, by = ?by, reason = ?reason, "identity cleared by an operator");
    Ok((st.clone(), c))
}

/// What the scorer needs to turn a person's level change into signals.
#[derive(Clone)]
pub struct SignalCtx {
    /// Issuer and receivers.
    pub settings: Arc<SignalSettings>,
    /// The signing keys.
    pub keys: Arc<Mutex<KeyRing>>,
    /// The delivery worker, told of each pending signal once it is on disk.
    pub deliver: mpsc::Sender<Signal>,
}

impl SignalCtx {
    /// The signals for `change` of `subject` (none for a source).
    pub fn signals(&self, subject: &Subject, change: &Change) -> Vec<Signal> {
        let Subject::User(email) = subject else {
            return Vec::new();
        };
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for_change(&self.settings, &keys, email, change)
    }

    /// Hands the pending ones among `signals` (now on disk) to the delivery worker.
    pub async fn hand_over(&self, signals: Vec<Signal>) {
        for s in signals
            .into_iter()
            .filter(|s| s.state == SignalState::Pending)
        {
            let _ = self.deliver.send(s).await;
        }
    }
}

/// One state as a batch entry.
pub fn entry(st: &IdentityState) -> (String, Vec<u8>) {
    (
        st.subject.key(),
        serde_json::to_vec(st).expect("states always serialize"),
    )
}

/// Scores every touch the store flushes until shutdown.
pub async fn run(
    store: Store,
    settings: ScoringSettings,
    shutdown: CancellationToken,
    mut clears: mpsc::Receiver<ClearRequest>,
    signals: SignalCtx,
) {
    let (states, mut scored) = match load(&store) {
        Ok(x) => x,
        Err(e) => {
            error!(error = %e, "cannot read identity states; scoring is off");
            return;
        }
    };
    let mut states: HashMap<Subject, IdentityState> =
        states.into_iter().map(|s| (s.subject.clone(), s)).collect();
    let mut sessions = Sessions::default();
    let mut last_batch: Option<tokio::time::Instant> = None;
    loop {
        // Everything on disk beyond what was scored, a page at a time.
        let page = match store.events(&EventQuery {
            after: Some(scored),
            limit: Some(PAGE),
            ..Default::default()
        }) {
            Ok(p) => p,
            Err(e) => {
                error!(error = %e, "cannot read touches to score");
                Vec::new()
            }
        };
        if let Some(last) = page.last().map(|r| r.seq) {
            let now = Timestamp::now();
            let mut dirty: HashSet<Subject> = HashSet::new();
            for rec in &page {
                for e in evidence(rec, &settings, &mut sessions) {
                    states
                        .entry(e.subject.clone())
                        .or_insert_with(|| IdentityState::new(e.subject.clone()))
                        .record(&e);
                    dirty.insert(e.subject);
                }
            }
            // Judged once per subject per batch: a flood costs one verdict, not one per touch.
            let mut made = Vec::new();
            let mut changed = false;
            for subject in &dirty {
                if let Some(st) = states.get_mut(subject)
                    && let Some(c) = st.judge(now, &settings)
                {
                    log_change(subject, c.from, c.to, c.score, &c.reasons);
                    made.extend(signals.signals(subject, &c));
                    changed = true;
                }
            }
            let removed = evict_sources(&mut states, &mut dirty);
            let batch = IdentityBatch {
                put: dirty
                    .iter()
                    .filter_map(|s| states.get(s))
                    .map(entry)
                    .collect(),
                remove: removed.iter().map(Subject::key).collect(),
                scored: Some(last),
                outbox: made.iter().map(outbox::entry).collect(),
                outbox_remove: Vec::new(),
                // Evidence alone rides on the next group commit of touches: the states and
                // the scored position are lost or kept together, so a crash only means the
                // same touches are scored again. A level change is synced at once.
                lazy: !changed,
            };
            if let Err(e) = store.put_identities(batch).await {
                error!(error = %e, "identity states could not be written; scoring stops");
                return;
            }
            scored = last;
            last_batch = Some(tokio::time::Instant::now());
            signals.hand_over(made).await;
            if page.len() == PAGE {
                continue;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(req) = clears.recv() => {
                let r = apply_clear(&mut states, &req.email, &req.by, &req.reason, &settings);
                let mut made = Vec::new();
                if let Ok((st, change)) = &r {
                    made = signals.signals(&st.subject, change);
                    let batch = IdentityBatch {
                        put: vec![entry(st)],
                        outbox: made.iter().map(outbox::entry).collect(),
                        ..Default::default()
                    };
                    if let Err(e) = store.put_identities(batch).await {
                        let _ = req.reply.send(Err(format!("cannot record the clear: {e}")));
                        continue;
                    }
                }
                signals.hand_over(made).await;
                let _ = req.reply.send(r.map(|(st, _)| st));
            }
            _ = store.wait_beyond(scored, Duration::from_secs(5)) => {
                // In a burst, let touches gather, so a flood is scored (and its states
                // written) a few times a second, not once per touch.
                if let Some(t) = last_batch {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep_until(t + GATHER) => {}
                    }
                }
            }
        }
    }
}

fn log_change(subject: &Subject, from: Level, to: Level, score: u8, reasons: &[String]) {
    match subject {
        Subject::User(u) => {
            warn!(identity = %u, from = %from, to = %to, score, reasons = ?reasons, "identity level raised")
        }
        Subject::Source(ip) => {
            debug!(source = %ip, from = %from, to = %to, score, "source level raised")
        }
    }
}

/// Drops the sources with the oldest evidence beyond [`MAX_SOURCES`].
fn evict_sources(
    states: &mut HashMap<Subject, IdentityState>,
    dirty: &mut HashSet<Subject>,
) -> Vec<Subject> {
    let n = states
        .keys()
        .filter(|s| matches!(s, Subject::Source(_)))
        .count();
    if n <= MAX_SOURCES {
        return Vec::new();
    }
    let mut sources: Vec<(Option<Timestamp>, Subject)> = states
        .values()
        .filter(|s| matches!(s.subject, Subject::Source(_)))
        .map(|s| (s.last_evidence, s.subject.clone()))
        .collect();
    sources.sort();
    let gone: Vec<Subject> = sources
        .into_iter()
        .take(n - MAX_SOURCES)
        .map(|(_, s)| s)
        .collect();
    for s in &gone {
        states.remove(s);
        dirty.remove(s);
    }
    gone
}
