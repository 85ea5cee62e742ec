//! The outbox: one signal per receiver per level change of a person, its token signed once
//! when the change is made, so every retry sends the very same token (same `jti`). Signals are
//! written by the scorer in the same atomic batch as the change that made them, and then only
//! change state: pending → delivered, or pending → dead (rejected for good, with the
//! receiver's answer). Without receivers a change is kept as `held`, for `decoyd signals`.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tracing::{error, info};

use super::keys::KeyRing;
use super::okta::{Action, UserCheck};
use super::set::{self, EventType, SetClaims};
use super::{Receiver, SignalSettings};
use crate::score::{Change, Level};
use crate::store::{IdentityBatch, Store};
use crate::touch::Timestamp;

/// Where a signal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalState {
    /// Waiting for delivery (or for its next retry).
    Pending,
    /// A receiver accepted it (any 2xx).
    Delivered,
    /// Rejected for good: not retried.
    Dead,
    /// No receiver is configured: kept, never sent.
    Held,
    /// A newer entry for the same receiver and person made it stale before it was
    /// delivered: never sent.
    Superseded,
}

/// One signal for one receiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The token's `jti`; the outbox key.
    pub jti: String,
    /// The receiver; none when held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Where it is pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The event type.
    pub event: EventType,
    /// Whose level changed.
    pub email: String,
    /// The level sent.
    pub level: Level,
    /// The level before.
    pub previous: Level,
    /// The signed token, sent as is on every attempt.
    pub token: String,
    /// The key it was signed with (kept in the JWKS while the signal is pending).
    pub kid: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// Where it stands.
    pub state: SignalState,
    /// Attempts so far.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_attempt_at: Timestamp,
    /// The receiver's last answer (status and body, bounded), or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_answer: Option<String>,
    /// When it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// A direct response through Okta's Management API instead of a push: then `token` and
    /// `kid` are empty and `event` is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// What the Okta user lookup found, when the receiver checks users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_user: Option<UserCheck>,
    /// Why, for a direct response (`riskReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `reason_admin`: the verdict's strongest reasons, concisely.
fn reason_admin(change: &Change) -> String {
    let mut r = change
        .reasons
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if r.len() > 500 {
        r = crate::touch::clip(&r, 500);
    }
    if r.is_empty() {
        format!("decoyd: level {}", change.to)
    } else {
        format!("decoyd: {r}")
    }
}

fn receives(r: &Receiver, change: &Change) -> bool {
    if change.by.is_some() {
        // An operator's clear is sent to every receiver that was sent the level it lowers.
        change.from >= r.min_level
    } else {
        change.to >= r.min_level
    }
}

/// The signals a person's level change makes: one per receiver and event type it is for, or
/// one held signal when there are no receivers.
pub fn for_change(
    settings: &SignalSettings,
    keys: &KeyRing,
    email: &str,
    change: &Change,
) -> Vec<Signal> {
    let reason = reason_admin(change);
    let make = |receiver: Option<&Receiver>, event: EventType| {
        let jti = set::new_jti();
        let audience = receiver
            .map(|r| r.audience.as_str())
            .unwrap_or(&settings.issuer);
        let claims = set::claims(&SetClaims {
            issuer: &settings.issuer,
            audience,
            jti: &jti,
            issued_at: Timestamp::now().micros() / 1_000_000,
            event,
            email,
            level: change.to,
            previous: change.from,
            event_timestamp: change.at.micros() / 1_000_000,
            reason_admin: &reason,
            sub_id: receiver.is_some_and(|r| r.sub_id),
            txn: receiver.filter(|r| r.txn).map(|_| jti.as_str()),
        });
        let (token, kid) = set::sign(keys, &claims);
        Signal {
            jti: jti.clone(),
            receiver: receiver.map(|r| r.name.clone()),
            url: receiver.map(|r| r.push_url.clone()),
            event,
            email: email.to_string(),
            level: change.to,
            previous: change.from,
            token,
            kid,
            created_at: Timestamp::now(),
            state: if receiver.is_some() {
                SignalState::Pending
            } else {
                SignalState::Held
            },
            attempts: 0,
            next_attempt_at: Timestamp::now(),
            last_answer: None,
            delivered_at: None,
            action: None,
            okta_user: None,
            reason: None,
        }
    };
    if settings.receivers.is_empty() {
        return vec![make(None, EventType::UserRiskChange)];
    }
    let mut out = Vec::new();
    for r in settings.receivers.iter().filter(|r| receives(r, change)) {
        for e in &r.events {
            // Session revocation and credential compromise say nothing about a lowered level.
            if change.to < change.from && *e != EventType::UserRiskChange {
                continue;
            }
            out.push(make(Some(r), *e));
        }
    }
    for r in &settings.receivers {
        if let Some(action) = r.api.as_ref().and_then(|a| a.response)
            && responds(action, change)
        {
            out.push(Signal {
                jti: set::new_jti(),
                receiver: Some(r.name.clone()),
                url: r.api.as_ref().map(|a| a.org_url.clone()),
                event: EventType::UserRiskChange,
                email: email.to_string(),
                level: change.to,
                previous: change.from,
                token: String::new(),
                kid: String::new(),
                created_at: Timestamp::now(),
                state: SignalState::Pending,
                attempts: 0,
                next_attempt_at: Timestamp::now(),
                last_answer: None,
                delivered_at: None,
                action: Some(action),
                okta_user: None,
                reason: Some(reason.clone()),
            });
        }
    }
    out
}

/// Whether a change calls for the direct response: reaching `high` (which a typed name alone
/// never does), or, for `set_risk`, an operator's clear of someone who was `high`.
fn responds(action: Action, change: &Change) -> bool {
    let reached_high = change.by.is_none() && change.to == Level::High && change.from < Level::High;
    let cleared_high = change.by.is_some() && change.from == Level::High && change.to < Level::High;
    reached_high || (action == Action::SetRisk && cleared_high)
}

/// Decodes stored signals; an undecodable one is logged and skipped.
pub fn decode_all(raw: Vec<Vec<u8>>) -> Vec<Signal> {
    let mut v: Vec<Signal> = raw
        .into_iter()
        .filter_map(|b| match serde_json::from_slice(&b) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "a signal in the outbox cannot be read; it is skipped");
                None
            }
        })
        .collect();
    v.sort_by_key(|s| s.created_at);
    v
}

/// The kids of signals still waiting: their keys stay in the JWKS.
pub fn pending_kids(signals: &[Signal]) -> Vec<String> {
    let mut k: Vec<String> = signals
        .iter()
        .filter(|s| s.state == SignalState::Pending && !s.kid.is_empty())
        .map(|s| s.kid.clone())
        .collect();
    k.sort();
    k.dedup();
    k
}

/// Whether a signal is finished with (delivered, dead, superseded or held) and its last
/// activity is before `cutoff`. A pending signal never expires: it is retried until a
/// receiver accepts or refuses it.
pub fn expired(s: &Signal, cutoff: Timestamp) -> bool {
    let last = [s.created_at, s.next_attempt_at]
        .into_iter()
        .chain(s.delivered_at)
        .max()
        .unwrap_or(s.created_at);
    s.state != SignalState::Pending && last < cutoff
}

/// Removes from the outbox the finished signals older than the store's retention age, as
/// touches that old are pruned: the outbox keeps to the same window. Returns how many.
pub async fn prune(store: &Store, retention: Duration, now: SystemTime) -> usize {
    let raw = match store.outbox() {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, "cannot read the signal outbox to prune it");
            return 0;
        }
    };
    let cutoff = Timestamp::from(now.checked_sub(retention).unwrap_or(SystemTime::UNIX_EPOCH));
    let gone: Vec<String> = decode_all(raw)
        .into_iter()
        .filter(|s| expired(s, cutoff))
        .map(|s| s.jti)
        .collect();
    if gone.is_empty() {
        return 0;
    }
    let n = gone.len();
    let batch = IdentityBatch {
        outbox_remove: gone,
        ..Default::default()
    };
    match store.put_identities(batch).await {
        Ok(()) => {
            info!(signals = n, retention = ?retention, "pruned finished signals older than the retention age");
            n
        }
        Err(e) => {
            error!(error = %e, "cannot prune the signal outbox");
            0
        }
    }
}

/// A signal as a batch entry.
pub fn entry(s: &Signal) -> (String, Vec<u8>) {
    (
        s.jti.clone(),
        serde_json::to_vec(s).expect("signals always serialize"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::ReceiverKind;

    fn receiver(name: &str, min: Level, events: Vec<EventType>) -> Receiver {
        Receiver {
            name: name.into(),
            kind: ReceiverKind::Ssf,
            push_url: format!("http://127.0.0.1:1/{name}"),
            audience: format!("aud-{name}"),
            events,
            min_level: min,
            sub_id: false,
            txn: false,
            api: None,
        }
    }

    fn change(from: Level, to: Level, by: Option<&str>) -> Change {
        Change {
            at: Timestamp::from_micros(1_800_000_000_000_000),
            from,
            to,
            score: 90,
            reasons: vec![
                "honeytoken of lure alice-notes used at decoy ssh from 10.1.2.3, once".into(),
            ],
            by: by.map(String::from),
        }
    }

    #[test]
    fn each_receiver_gets_what_it_asked_for_at_its_level() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path()).unwrap();
        let mut s = SignalSettings::defaults("sensor.example");
        s.receivers = vec![
            receiver("okta", Level::Medium, vec![EventType::UserRiskChange]),
            receiver(
                "soc",
                Level::High,
                vec![EventType::SessionRevoked, EventType::CredentialCompromise],
            ),
        ];
        let to_medium = for_change(
            &s,
            &keys,
            "alice@example.com",
            &change(Level::None, Level::Medium, None),
        );
        assert_eq!(
            to_medium
                .iter()
                .map(|x| x.receiver.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["okta"]
        );
        let to_high = for_change(
            &s,
            &keys,
            "alice@example.com",
            &change(Level::Medium, Level::High, None),
        );
        assert_eq!(to_high.len(), 3);
        assert!(
            to_high
                .iter()
                .all(|x| x.state == SignalState::Pending && x.kid == keys.current())
        );
        let jtis: std::collections::HashSet<_> = to_high.iter().map(|x| &x.jti).collect();
        assert_eq!(jtis.len(), 3);
        // A clear from high tells both, as a lowered risk only.
        let clear = for_change(
            &s,
            &keys,
            "alice@example.com",
            &change(Level::High, Level::Low, Some("jdoe")),
        );
        assert_eq!(
            clear
                .iter()
                .map(|x| (x.receiver.as_deref().unwrap(), x.event, x.level))
                .collect::<Vec<_>>(),
            [("okta", EventType::UserRiskChange, Level::Low)]
        );
        let soc_only = SignalSettings {
            receivers: vec![s.receivers[1].clone()],
            ..s.clone()
        };
        let clear = for_change(
            &soc_only,
            &keys,
            "alice@example.com",
            &change(Level::High, Level::Low, Some("jdoe")),
        );
        assert!(
            clear.is_empty(),
            "session revocation says nothing about a cleared level"
        );
    }

    #[test]
    fn the_direct_response_is_made_at_high_only_and_set_risk_is_lowered_by_a_clear() {
        use crate::signal::okta::{Credentials, OktaApi, Secret};
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path()).unwrap();
        let with = |action: Action| {
            let mut r = receiver("okta", Level::Medium, vec![EventType::UserRiskChange]);
            r.api = Some(OktaApi {
                org_url: "https://acme.okta.com".into(),
                credentials: Credentials::Ssws(Secret::new("t".into())),
                verify_users: true,
                response: Some(action),
            });
            let mut s = SignalSettings::defaults("sensor.example");
            s.receivers = vec![r];
            s
        };
        let actions = |s: &SignalSettings, from, to, by| {
            for_change(s, &keys, "alice@example.com", &change(from, to, by))
                .into_iter()
                .filter_map(|x| {
                    x.action
                        .map(|a| (a, x.level, x.kid.is_empty(), x.token.is_empty()))
                })
                .collect::<Vec<_>>()
        };
        let revoke = with(Action::RevokeSessions);
        assert!(actions(&revoke, Level::None, Level::Medium, None).is_empty());
        assert_eq!(
            actions(&revoke, Level::Medium, Level::High, None),
            [(Action::RevokeSessions, Level::High, true, true)]
        );
        assert!(actions(&revoke, Level::High, Level::Low, Some("jdoe")).is_empty());
        let risk = with(Action::SetRisk);
        assert_eq!(
            actions(&risk, Level::High, Level::Low, Some("jdoe")),
            [(Action::SetRisk, Level::Low, true, true)]
        );
        assert!(actions(&risk, Level::Medium, Level::Low, Some("jdoe")).is_empty());
        // An action's empty kid never keeps a key in the JWKS.
        let made = for_change(
            &revoke,
            &keys,
            "a@example.com",
            &change(Level::None, Level::High, None),
        );
        assert_eq!(pending_kids(&made), vec![keys.current().to_string()]);
    }

    #[test]
    fn without_receivers_a_change_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path()).unwrap();
        let s = SignalSettings::defaults("sensor.example");
        let held = for_change(
            &s,
            &keys,
            "alice@example.com",
            &change(Level::None, Level::High, None),
        );
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].state, SignalState::Held);
        assert_eq!(held[0].receiver, None);
    }

    #[test]
    fn reason_admin_is_concise() {
        let mut c = change(Level::None, Level::High, None);
        c.reasons = (0..10)
            .map(|i| format!("reason {i} {}", "x".repeat(100)))
            .collect();
        let r = reason_admin(&c);
        assert!(r.starts_with("decoyd: reason 0"));
        assert!(!r.contains("reason 3"));
        assert!(r.len() < 520);
    }

    fn finished(jti: &str, state: SignalState, at: u64, delivered: Option<u64>) -> Signal {
        Signal {
            jti: jti.into(),
            receiver: Some("okta".into()),
            url: Some("https://acme.okta.com/x".into()),
            event: EventType::UserRiskChange,
            email: "alice@example.com".into(),
            level: Level::High,
            previous: Level::None,
            token: "t".into(),
            kid: "k".into(),
            created_at: Timestamp::from_micros(at),
            state,
            attempts: 1,
            next_attempt_at: Timestamp::from_micros(at),
            last_answer: None,
            delivered_at: delivered.map(Timestamp::from_micros),
            action: None,
            okta_user: None,
            reason: None,
        }
    }

    #[test]
    fn only_finished_signals_older_than_the_cutoff_expire() {
        let cutoff = Timestamp::from_micros(1_000);
        for state in [
            SignalState::Delivered,
            SignalState::Dead,
            SignalState::Superseded,
            SignalState::Held,
        ] {
            assert!(
                expired(&finished("a", state, 10, None), cutoff),
                "{state:?}"
            );
            assert!(
                !expired(&finished("b", state, 2_000, None), cutoff),
                "{state:?}"
            );
        }
        // Made long ago but delivered after the cutoff: kept.
        let late = finished("c", SignalState::Delivered, 10, Some(2_000));
        assert!(!expired(&late, cutoff));
        // Still waiting, however old: never pruned.
        assert!(!expired(
            &finished("d", SignalState::Pending, 10, None),
            cutoff
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pruning_removes_old_finished_signals_from_the_store_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = crate::metrics::Metrics::new();
        let (store, writer) =
            Store::open(dir.path(), crate::store::StoreSettings::default(), metrics).unwrap();
        let day = 86_400_000_000u64;
        let now = 400 * day;
        let signals = [
            finished(
                "old-delivered",
                SignalState::Delivered,
                now - 100 * day,
                None,
            ),
            finished("old-dead", SignalState::Dead, now - 95 * day, None),
            finished("old-pending", SignalState::Pending, now - 200 * day, None),
            finished("recent", SignalState::Delivered, now - 10 * day, None),
        ];
        let batch = IdentityBatch {
            outbox: signals.iter().map(entry).collect(),
            ..Default::default()
        };
        store.put_identities(batch).await.unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(now);
        let retention = Duration::from_secs(90 * 86_400);
        assert_eq!(prune(&store, retention, at).await, 2);
        let mut left: Vec<String> = decode_all(store.outbox().unwrap())
            .into_iter()
            .map(|s| s.jti)
            .collect();
        left.sort();
        assert_eq!(left, vec!["old-pending", "recent"]);
        // Nothing more to do the second time.
        assert_eq!(prune(&store, retention, at).await, 0);
        writer.shutdown().await;
    }
}
