//! The delivery worker: pushes each pending signal to its receiver (RFC 8935: the token is the
//! body, `Content-Type: application/secevent+jwt`, `Accept: application/json`) until it is
//! accepted or rejected for good, sending the very same token every time.
//!
//! - any 2xx: delivered;
//! - 400 `invalid_key` / `authentication_failed`: a key rotation may be settling at the
//!   receiver, so a few slow retries ([`super::AUTH_RETRIES`]), then dead;
//! - 429: retried at `X-Rate-Limit-Reset` (epoch seconds), or with backoff;
//! - any other 4xx (`invalid_request`, `invalid_audience`, `invalid_issuer`, ...): dead at
//!   once, logged at error with the receiver's description;
//! - 5xx, timeouts, connection errors: retried without limit, with exponential backoff and
//!   jitter up to `signals.max_retry_delay`.
//!
//! Every state change is written to the store before the next attempt, so a restart (or
//! `kill -9`) resumes with what is still pending.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::okta::{self, UserCheck};
use super::outbox::{Signal, SignalState, entry};
use super::{AUTH_RETRIES, SignalSettings};
use crate::metrics::Metrics;
use crate::score::Level;
use crate::store::{IdentityBatch, Store};
use crate::touch::Timestamp;

/// Longest receiver answer kept with a signal.
const MAX_ANSWER: usize = 512;
/// Time allowed for one push.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait honoured for `X-Rate-Limit-Reset`.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Delivered,
    /// Try again at this time.
    Retry(Timestamp),
    /// Rejected for good.
    Dead,
}

/// Decides what an answer means for a signal that has had `attempts` attempts (this one
/// included). Pure, so every branch is tested without a receiver.
pub fn classify(
    status: Option<u16>,
    body: &str,
    rate_limit_reset: Option<u64>,
    attempts: u32,
    now: Timestamp,
    s: &SignalSettings,
    jitter: f64,
) -> Outcome {
    let after = |d: Duration| Timestamp::from_micros(now.micros() + d.as_micros() as u64);
    let backoff = || {
        let exp = Duration::from_secs(1 << attempts.saturating_sub(1).min(20));
        let d = exp.min(s.max_retry_delay);
        after(d.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0)))
    };
    match status {
        Some(c) if (200..300).contains(&c) => Outcome::Delivered,
        Some(429) => match rate_limit_reset {
            Some(reset) => {
                let wait = Duration::from_secs(reset.saturating_sub(now.micros() / 1_000_000))
                    .min(MAX_RATE_LIMIT_WAIT);
                // Never sooner than a second: the reset is in whole seconds.
                Outcome::Retry(after(wait.max(Duration::from_secs(1))))
            }
            None => Outcome::Retry(backoff()),
        },
        Some(c) if (400..500).contains(&c) => {
            let err = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["err"].as_str().map(String::from))
                .unwrap_or_default();
            let settling = matches!(err.as_str(), "invalid_key" | "authentication_failed");
            if settling && attempts <= AUTH_RETRIES {
                Outcome::Retry(after(s.auth_retry_delay))
            } else {
                Outcome::Dead
            }
        }
        // 5xx, 1xx/3xx answers a receiver should never give, timeouts, connection errors.
        _ => Outcome::Retry(backoff()),
    }
}

/// Whether `new` makes the pending `old` stale: for the same receiver and person, an entry of
/// the same kind (event type, or direct response) says what is true now, and a lowered level
/// (an operator's clear) withdraws everything still waiting. Sending a stale entry after the
/// new one would undo it at the receiver: a HIGH after the LOW of a clear.
pub fn supersedes(new: &Signal, old: &Signal) -> bool {
    old.state == SignalState::Pending
        && old.jti != new.jti
        && old.receiver == new.receiver
        && old.email == new.email
        && old.created_at <= new.created_at
        && ((old.action == new.action && old.event == new.event) || new.level < new.previous)
}

/// Queues `s`; returns the entries it supersedes, taken out of the queue and marked.
pub fn admit(queue: &mut HashMap<String, Signal>, s: Signal) -> Vec<Signal> {
    let stale: Vec<String> = queue
        .values()
        .filter(|old| supersedes(&s, old))
        .map(|old| old.jti.clone())
        .collect();
    let out = stale
        .into_iter()
        .filter_map(|j| queue.remove(&j))
        .map(|mut old| {
            old.state = SignalState::Superseded;
            old.last_answer = Some(format!("superseded by {} before delivery", s.jti));
            old
        })
        .collect();
    queue.insert(s.jti.clone(), s);
    out
}

async fn write_stale(store: &Store, stale: Vec<Signal>) {
    if stale.is_empty() {
        return;
    }
    for s in &stale {
        info!(receiver = ?s.receiver, jti = %s.jti, identity = %s.email, answer = ?s.last_answer, "signal superseded before delivery: not sent");
    }
    let batch = IdentityBatch {
        outbox: stale.iter().map(entry).collect(),
        ..Default::default()
    };
    if let Err(e) = store.put_identities(batch).await {
        error!(error = %e, "superseded signals could not be marked; they stay pending in the store");
    }
}

/// The HTTPS client of signals and of Okta's API: short timeouts, no redirects (a receiver
/// that redirects is misconfigured, and a redirect could carry credentials elsewhere).
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("decoyd/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Pushes signals until shutdown. `pending` is what the store holds at start; `new` brings
/// signals the scorer has just written. Each receiver has a lane of its own, so a slow or
/// unreachable receiver (or a hung Okta API) never holds up another's signals.
pub async fn run(
    store: Store,
    settings: Arc<SignalSettings>,
    pending: Vec<Signal>,
    mut new: mpsc::Receiver<Signal>,
    metrics: Metrics,
    shutdown: CancellationToken,
) {
    if settings.receivers.is_empty() {
        // Nothing is ever pending without receivers; the HTTPS client (and the trust store it
        // loads) is not worth its memory.
        return;
    }
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "cannot build the HTTPS client; signals stay in the outbox");
            return;
        }
    };
    // One lane per configured receiver, and one for signals of receivers no longer
    // configured (still pushed where they were meant to go).
    let mut names: Vec<Option<String>> = settings
        .receivers
        .iter()
        .map(|r| Some(r.name.clone()))
        .collect();
    names.push(None);
    let lane_of = |s: &Signal| -> Option<String> {
        s.receiver
            .clone()
            .filter(|n| settings.receivers.iter().any(|r| &r.name == n))
    };
    let mut by_lane: HashMap<Option<String>, Vec<Signal>> = HashMap::new();
    for s in pending {
        by_lane.entry(lane_of(&s)).or_default().push(s);
    }
    let lanes = tokio_util::task::TaskTracker::new();
    let mut senders: HashMap<Option<String>, mpsc::Sender<Signal>> = HashMap::new();
    for name in names {
        let (tx, rx) = mpsc::channel(1024);
        let api = name
            .as_ref()
            .and_then(|n| settings.receivers.iter().find(|r| &r.name == n))
            .and_then(|r| r.api.clone())
            .map(|a| okta::Client::new(client.clone(), a));
        lanes.spawn(lane(
            Lane {
                store: store.clone(),
                settings: settings.clone(),
                client: client.clone(),
                api,
                metrics: metrics.clone(),
                shutdown: shutdown.clone(),
            },
            by_lane.remove(&name).unwrap_or_default(),
            rx,
        ));
        senders.insert(name, tx);
    }
    lanes.close();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            got = new.recv() => match got {
                Some(s) => {
                    let tx = &senders[&lane_of(&s)];
                    if tx.send(s).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    drop(senders);
    lanes.wait().await;
}

/// What one receiver's lane works with.
struct Lane {
    store: Store,
    settings: Arc<SignalSettings>,
    client: reqwest::Client,
    api: Option<okta::Client>,
    metrics: Metrics,
    shutdown: CancellationToken,
}

/// Delivers one receiver's signals, in the order they were made, each when it is due.
async fn lane(l: Lane, pending: Vec<Signal>, mut new: mpsc::Receiver<Signal>) {
    let Lane {
        store,
        settings,
        client,
        api,
        metrics,
        shutdown,
    } = l;
    let mut queue: HashMap<String, Signal> = HashMap::new();
    let mut stale = Vec::new();
    // In the order they were made, so a newer entry supersedes an older one.
    for s in pending
        .into_iter()
        .filter(|s| s.state == SignalState::Pending)
    {
        stale.extend(admit(&mut queue, s));
    }
    write_stale(&store, stale).await;
    if !queue.is_empty() {
        info!(pending = queue.len(), "signals waiting for delivery");
    }
    loop {
        let now = Timestamp::now();
        let mut due: Vec<String> = queue
            .values()
            .filter(|s| s.next_attempt_at <= now)
            .map(|s| s.jti.clone())
            .collect();
        due.sort_by_key(|j| queue[j].created_at);
        for jti in due {
            if shutdown.is_cancelled() {
                return;
            }
            let mut sig = queue.remove(&jti).expect("due signals are queued");
            attempt(&client, api.as_ref(), &mut sig, &settings, &metrics).await;
            let batch = IdentityBatch {
                outbox: vec![entry(&sig)],
                ..Default::default()
            };
            if let Err(e) = store.put_identities(batch).await {
                error!(jti = %sig.jti, error = %e, "a signal's state could not be written; it is retried");
            }
            if sig.state == SignalState::Pending {
                queue.insert(jti, sig);
            }
            // Take new signals between attempts, so a slow receiver does not hold them up.
            let mut stale = Vec::new();
            while let Ok(s) = new.try_recv() {
                stale.extend(admit(&mut queue, s));
            }
            write_stale(&store, stale).await;
        }
        let next = queue.values().map(|s| s.next_attempt_at).min();
        let sleep = async {
            match next {
                Some(t) => {
                    let wait = t.micros().saturating_sub(Timestamp::now().micros());
                    tokio::time::sleep(Duration::from_micros(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(s) = new.recv() => {
                let stale = admit(&mut queue, s);
                write_stale(&store, stale).await;
            }
            _ = sleep => {}
        }
    }
}

/// Pushes a token: (status, body start, rate limit reset), or no status and the error.
async fn push(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> (Option<u16>, String, Option<u64>) {
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(token.to_string())
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            let reset = r
                .headers()
                .get("x-rate-limit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            // Bounded: only the start of an answer is read, however much a receiver sends.
            let body = match read_start(r, MAX_ANSWER).await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => format!("(answer unreadable: {e})"),
            };
            (Some(status), body, reset)
        }
        Err(e) => (None, format!("{e}"), None),
    }
}

/// The first `max` bytes of an answer's body; the rest is never read.
pub async fn read_start(mut r: reqwest::Response, max: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while out.len() < max {
        match r.chunk().await? {
            Some(c) => out.extend_from_slice(&c[..c.len().min(max - out.len())]),
            None => break,
        }
    }
    Ok(out)
}

/// Looks the signal's person up in Okta, unless that is already settled.
async fn check_user(api: &okta::Client, sig: &mut Signal, receiver: &str, metrics: &Metrics) {
    if matches!(
        sig.okta_user,
        Some(UserCheck::Found { .. } | UserCheck::NotFound | UserCheck::Ambiguous)
    ) {
        return;
    }
    let check = api.find_user(&sig.email).await;
    let result = match &check {
        UserCheck::Found { status, .. } => {
            debug!(receiver = %receiver, identity = %sig.email, okta_status = %status, "Okta user found");
            "found"
        }
        UserCheck::Ambiguous => {
            warn!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, "several Okta users have this primary email: no direct response is made for it");
            "ambiguous"
        }
        UserCheck::NotFound => {
            warn!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, "no Okta user has this login or email: Okta drops a signal about an unknown user without a word (see decoyd signals)");
            "not_found"
        }
        UserCheck::Failed { error, .. } => {
            warn!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, error = %error, "the Okta user lookup failed");
            "failed"
        }
    };
    metrics
        .okta_user_checks
        .get_or_create(&[
            ("receiver", Arc::<str>::from(receiver)),
            ("result", Arc::<str>::from(result)),
        ])
        .inc();
    sig.okta_user = Some(check);
}

/// Makes a direct response: (status, body, rate limit reset) as for a push, or the outcome
/// when there is nothing to send.
async fn respond(
    api: Option<&okta::Client>,
    sig: &Signal,
    action: okta::Action,
) -> Result<(Option<u16>, String, Option<u64>), String> {
    let Some(api) = api else {
        return Err("the receiver has no Okta API credentials any more".into());
    };
    match &sig.okta_user {
        Some(UserCheck::Found { id, .. }) => {
            let reason = sig.reason.as_deref().unwrap_or("decoyd");
            let a = api
                .respond(action, id, sig.level == Level::High, reason)
                .await;
            Ok((a.status, a.body, a.rate_limit_reset))
        }
        Some(UserCheck::NotFound) => Err(format!("no Okta user has login or email {}", sig.email)),
        Some(UserCheck::Ambiguous) => Err(format!(
            "several Okta users have the primary email {}: not acting on any of them",
            sig.email
        )),
        // Okta's answer to the lookup decides, as it would for the call itself: a 401 is
        // retried a few times, a 403 (missing scope) is final, a 5xx is retried.
        Some(UserCheck::Failed {
            error,
            status,
            rate_limit_reset,
        }) => Ok((
            *status,
            format!("user lookup failed: {error}"),
            *rate_limit_reset,
        )),
        None => Ok((None, "user lookup not made".into(), None)),
    }
}

async fn attempt(
    client: &reqwest::Client,
    api: Option<&okta::Client>,
    sig: &mut Signal,
    settings: &SignalSettings,
    metrics: &Metrics,
) {
    let Some(url) = sig.url.clone() else {
        sig.state = SignalState::Held;
        return;
    };
    let receiver = sig.receiver.clone().unwrap_or_default();
    // Before a push when the receiver checks users, and always before a direct response,
    // which needs the user's id.
    // A push is never held back by more than one lookup: it is made at the first attempt.
    if let Some(api) = api
        && (sig.action.is_some() || (api.api().verify_users && sig.okta_user.is_none()))
    {
        check_user(api, sig, &receiver, metrics).await;
    }
    sig.attempts += 1;
    let answered = match sig.action {
        Some(action) => respond(api, sig, action).await,
        None => Ok(push(client, &url, &sig.token).await),
    };
    let (status, body, reset) = match answered {
        Ok(a) => a,
        Err(why) => {
            sig.state = SignalState::Dead;
            sig.last_answer = Some(crate::touch::clip(&why, MAX_ANSWER));
            metrics
                .signals
                .get_or_create(&[
                    ("receiver", Arc::<str>::from(receiver.as_str())),
                    ("outcome", Arc::<str>::from("dead")),
                ])
                .inc();
            error!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, answer = ?sig.last_answer, "Okta response impossible: dead-lettered (see decoyd signals)");
            return;
        }
    };
    sig.last_answer = Some(match status {
        Some(c) => crate::touch::clip(&format!("{c} {}", body.trim()), MAX_ANSWER),
        None => crate::touch::clip(&body, MAX_ANSWER),
    });
    let now = Timestamp::now();
    let outcome = if sig.action.is_some() && status == Some(401) && sig.attempts <= AUTH_RETRIES {
        // The Management API's 401: a token revoked or expired early, or a key being
        // rotated at the app; the next try gets a new token.
        Outcome::Retry(Timestamp::from_micros(
            now.micros() + settings.auth_retry_delay.as_micros() as u64,
        ))
    } else {
        classify(
            status,
            &body,
            reset,
            sig.attempts,
            now,
            settings,
            rand::rng().random(),
        )
    };
    let label = |o: &'static str| {
        [
            ("receiver", Arc::<str>::from(receiver.as_str())),
            ("outcome", Arc::<str>::from(o)),
        ]
    };
    match outcome {
        Outcome::Delivered => {
            sig.state = SignalState::Delivered;
            sig.delivered_at = Some(now);
            metrics.signals.get_or_create(&label("delivered")).inc();
            match sig.action {
                Some(a) => {
                    info!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, action = a.name(), attempts = sig.attempts, "Okta response made")
                }
                None => {
                    info!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, level = %sig.level, attempts = sig.attempts, "signal delivered")
                }
            }
        }
        Outcome::Dead => {
            sig.state = SignalState::Dead;
            metrics.signals.get_or_create(&label("dead")).inc();
            error!(receiver = %receiver, jti = %sig.jti, identity = %sig.email, answer = ?sig.last_answer, "signal rejected for good: dead-lettered (see decoyd signals)");
        }
        Outcome::Retry(at) => {
            sig.next_attempt_at = at;
            metrics.signals.get_or_create(&label("retried")).inc();
            if sig.attempts == 1 {
                warn!(receiver = %receiver, jti = %sig.jti, answer = ?sig.last_answer, "signal not delivered; retrying");
            } else {
                debug!(receiver = %receiver, jti = %sig.jti, attempts = sig.attempts, answer = ?sig.last_answer, "signal not delivered; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000_000;

    fn s() -> SignalSettings {
        SignalSettings::defaults("x")
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_micros(NOW + secs * 1_000_000)
    }

    fn c(
        status: Option<u16>,
        body: &str,
        reset: Option<u64>,
        attempts: u32,
        jitter: f64,
    ) -> Outcome {
        classify(
            status,
            body,
            reset,
            attempts,
            Timestamp::from_micros(NOW),
            &s(),
            jitter,
        )
    }

    #[test]
    fn every_answer_gets_the_treatment_okta_documents() {
        let err = |e: &str| format!(r#"{{"err":"{e}","description":"d"}}"#);
        let cases = [
            (c(Some(202), "", None, 1, 1.0), Outcome::Delivered),
            (c(Some(204), "", None, 1, 1.0), Outcome::Delivered),
            (
                c(Some(400), &err("invalid_audience"), None, 1, 1.0),
                Outcome::Dead,
            ),
            (
                c(Some(400), &err("invalid_issuer"), None, 1, 1.0),
                Outcome::Dead,
            ),
            (
                c(Some(400), &err("invalid_request"), None, 1, 1.0),
                Outcome::Dead,
            ),
            (c(Some(404), "not found", None, 1, 1.0), Outcome::Dead),
            (
                c(Some(400), &err("invalid_key"), None, 1, 1.0),
                Outcome::Retry(at(60)),
            ),
            (
                c(Some(400), &err("authentication_failed"), None, 3, 1.0),
                Outcome::Retry(at(60)),
            ),
            (
                c(Some(400), &err("invalid_key"), None, 4, 1.0),
                Outcome::Dead,
            ),
            (
                c(Some(429), "", Some(NOW / 1_000_000 + 30), 1, 1.0),
                Outcome::Retry(at(30)),
            ),
            (
                c(Some(429), "", Some(NOW / 1_000_000 - 5), 1, 1.0),
                Outcome::Retry(at(1)),
            ),
            (c(Some(429), "", None, 3, 1.0), Outcome::Retry(at(4))),
            (c(Some(503), "", None, 1, 1.0), Outcome::Retry(at(1))),
            (
                c(None, "connection refused", None, 2, 1.0),
                Outcome::Retry(at(2)),
            ),
            (c(None, "timeout", None, 5, 1.0), Outcome::Retry(at(16))),
            // Capped, and never given up.
            (c(Some(500), "", None, 40, 1.0), Outcome::Retry(at(300))),
        ];
        for (i, (got, expected)) in cases.into_iter().enumerate() {
            assert_eq!(got, expected, "case {i}");
        }
    }

    fn sig(jti: &str, email: &str, level: Level, previous: Level, at: u64) -> Signal {
        Signal {
            jti: jti.into(),
            receiver: Some("okta".into()),
            url: Some("https://acme.okta.com/x".into()),
            event: super::super::EventType::UserRiskChange,
            email: email.into(),
            level,
            previous,
            token: "t".into(),
            kid: "k".into(),
            created_at: Timestamp::from_micros(at),
            state: SignalState::Pending,
            attempts: 1,
            next_attempt_at: Timestamp::from_micros(at),
            last_answer: None,
            delivered_at: None,
            action: None,
            okta_user: None,
            reason: None,
        }
    }

    #[test]
    fn a_newer_entry_supersedes_what_it_makes_stale_and_nothing_else() {
        let mut q = HashMap::new();
        assert!(
            admit(
                &mut q,
                sig("medium", "alice", Level::Medium, Level::None, 1)
            )
            .is_empty()
        );
        let mut revoke = sig("revoke", "alice", Level::High, Level::Medium, 2);
        revoke.action = Some(okta::Action::RevokeSessions);
        assert!(admit(&mut q, revoke).is_empty());
        assert!(admit(&mut q, sig("bob", "bob", Level::High, Level::None, 2)).is_empty());
        // The high push makes the pending medium push stale, not the direct response.
        let stale = admit(&mut q, sig("high", "alice", Level::High, Level::Medium, 3));
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].jti, "medium");
        assert_eq!(stale[0].state, SignalState::Superseded);
        assert_eq!(
            stale[0].last_answer.as_deref(),
            Some("superseded by high before delivery")
        );
        // An operator's clear withdraws everything still waiting for alice, and only for her.
        let mut stale: Vec<String> = admit(&mut q, sig("low", "alice", Level::Low, Level::High, 4))
            .into_iter()
            .map(|s| s.jti)
            .collect();
        stale.sort();
        assert_eq!(stale, ["high", "revoke"]);
        let mut left: Vec<&str> = q.keys().map(String::as_str).collect();
        left.sort();
        assert_eq!(left, ["bob", "low"]);
    }

    #[test]
    fn backoff_is_jittered_between_half_and_all_of_the_step() {
        assert_eq!(c(Some(503), "", None, 5, 0.0), Outcome::Retry(at(8)));
        assert_eq!(c(Some(503), "", None, 5, 1.0), Outcome::Retry(at(16)));
    }
}
