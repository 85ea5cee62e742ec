//! An identity's state: its level, which only rises by itself (a fall would tell the identity
//! provider to restore access just because evidence aged out) and falls only when an operator
//! clears it; its current score and reasons; its evidence, bounded; and the history of its
//! level changes, each of which is what a signal is made from. Pure.

use serde::{Deserialize, Serialize};

use super::identity::Evidence;
use super::rules::{EvidenceRecord, verdict};
use super::{Level, ScoringSettings, Subject};
use crate::touch::Timestamp;

/// Evidence records kept per subject; beyond, the weakest and oldest goes first.
pub const MAX_EVIDENCE: usize = 64;
/// Level changes kept per subject; beyond, the oldest goes first.
pub const MAX_HISTORY: usize = 100;

/// A change of level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// When.
    pub at: Timestamp,
    /// The level before.
    pub from: Level,
    /// The level after.
    pub to: Level,
    /// The score then.
    pub score: u8,
    /// Why.
    pub reasons: Vec<String>,
    /// The operator who made it, for a clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Everything decoyd holds about one subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityState {
    /// Who.
    pub subject: Subject,
    /// The level: the highest the evidence has reached since the last clear.
    pub level: Level,
    /// The score of the evidence in the window now.
    pub score: u8,
    /// Why, strongest first.
    pub reasons: Vec<String>,
    /// First evidence ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_evidence: Option<Timestamp>,
    /// Latest evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evidence: Option<Timestamp>,
    /// The evidence, bounded.
    pub evidence: Vec<EvidenceRecord>,
    /// Level changes, oldest first.
    pub history: Vec<Change>,
    /// The last operator clear: evidence before it no longer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<Timestamp>,
}

impl IdentityState {
    /// A subject with no evidence.
    pub fn new(subject: Subject) -> IdentityState {
        IdentityState {
            subject,
            level: Level::None,
            score: 0,
            reasons: Vec::new(),
            first_evidence: None,
            last_evidence: None,
            evidence: Vec::new(),
            history: Vec::new(),
            cleared_at: None,
        }
    }

    /// Adds one piece of evidence and judges again at `now`. Returns the change when the
    /// level rose.
    pub fn add(&mut self, e: &Evidence, now: Timestamp, s: &ScoringSettings) -> Option<Change> {
        self.record(e);
        self.judge(now, s)
    }

    /// Adds one piece of evidence without judging (the scorer judges once per batch).
    pub fn record(&mut self, e: &Evidence) {
        match self.evidence.iter_mut().find(|r| r.matches(e)) {
            Some(r) => {
                r.count = r.count.saturating_add(e.count);
                r.first_at = r.first_at.min(e.at);
                r.last_at = r.last_at.max(e.at);
            }
            None => {
                self.evidence.push(EvidenceRecord::of(e));
                if self.evidence.len() > MAX_EVIDENCE {
                    let weakest = self
                        .evidence
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, r)| (r.kind, r.last_at))
                        .map(|(i, _)| i)
                        .expect("not empty");
                    self.evidence.remove(weakest);
                }
            }
        }
        self.first_evidence = Some(self.first_evidence.map_or(e.at, |f| f.min(e.at)));
        self.last_evidence = Some(self.last_evidence.map_or(e.at, |l| l.max(e.at)));
    }

    /// Judges the evidence again at `now`; the level only rises.
    pub fn judge(&mut self, now: Timestamp, s: &ScoringSettings) -> Option<Change> {
        let v = verdict(&self.subject, &self.evidence, self.cleared_at, now, s);
        self.score = v.score;
        self.reasons = v.reasons;
        if v.level <= self.level {
            return None;
        }
        let change = Change {
            at: now,
            from: self.level,
            to: v.level,
            score: v.score,
            reasons: self.reasons.clone(),
            by: None,
        };
        self.level = v.level;
        self.push(change.clone());
        Some(change)
    }

    /// An operator's clear: the level goes back to low (or stays lower), and the evidence so
    /// far no longer counts. Always recorded, with who and why.
    pub fn clear(&mut self, now: Timestamp, by: &str, why: &str, s: &ScoringSettings) -> Change {
        let to = self.level.min(Level::Low);
        let change = Change {
            at: now,
            from: self.level,
            to,
            score: 0,
            reasons: vec![format!("cleared by {by}: {why}")],
            by: Some(by.to_string()),
        };
        self.level = to;
        self.cleared_at = Some(now);
        let v = verdict(&self.subject, &self.evidence, self.cleared_at, now, s);
        self.score = v.score;
        self.reasons = v.reasons;
        self.push(change.clone());
        change
    }

    fn push(&mut self, c: Change) {
        self.history.push(c);
        if self.history.len() > MAX_HISTORY {
            self.history.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::EvidenceKind;

    fn ev(kind: EvidenceKind, source: &str, at: u64) -> Evidence {
        Evidence {
            subject: Subject::User("alice@example.com".into()),
            kind,
            source: Some(source.parse().unwrap()),
            decoy: "ssh".into(),
            lure: Some("alice-notes".into()),
            at: Timestamp::from_micros(at),
            count: 1,
        }
    }

    const T: u64 = 1_800_000_000_000_000;
    const DAY: u64 = 86_400_000_000;

    #[test]
    fn the_level_rises_with_evidence_and_never_falls_by_itself() {
        let s = ScoringSettings::default();
        let mut st = IdentityState::new(Subject::User("alice@example.com".into()));
        let c = st
            .add(
                &ev(EvidenceKind::LureOpened, "0.0.0.0", T),
                Timestamp::from_micros(T),
                &s,
            )
            .unwrap();
        assert_eq!((c.from, c.to, c.score), (Level::None, Level::Medium, 60));
        let c = st
            .add(
                &ev(EvidenceKind::HoneytokenUsed, "192.0.2.1", T + 1),
                Timestamp::from_micros(T + 1),
                &s,
            )
            .unwrap();
        assert_eq!((c.from, c.to), (Level::Medium, Level::High));
        // The same evidence again: no change, and no second record.
        assert!(
            st.add(
                &ev(EvidenceKind::HoneytokenUsed, "192.0.2.1", T + 2),
                Timestamp::from_micros(T + 2),
                &s
            )
            .is_none()
        );
        assert_eq!(st.evidence.len(), 2);
        assert_eq!(st.evidence[1].count, 2);
        // Eight days on, the evidence is out of the window: the score falls, the level stays.
        assert!(st.judge(Timestamp::from_micros(T + 8 * DAY), &s).is_none());
        assert_eq!((st.score, st.level), (0, Level::High));
        assert_eq!(st.history.len(), 2);
    }

    #[test]
    fn a_clear_lowers_to_low_says_who_and_why_and_forgets_the_evidence_before_it() {
        let s = ScoringSettings::default();
        let mut st = IdentityState::new(Subject::User("alice@example.com".into()));
        st.add(
            &ev(EvidenceKind::HoneytokenUsed, "192.0.2.1", T),
            Timestamp::from_micros(T),
            &s,
        );
        let c = st.clear(
            Timestamp::from_micros(T + 10),
            "jdoe",
            "red team exercise",
            &s,
        );
        assert_eq!((c.from, c.to), (Level::High, Level::Low));
        assert_eq!(c.by.as_deref(), Some("jdoe"));
        assert_eq!(c.reasons, ["cleared by jdoe: red team exercise"]);
        assert_eq!((st.level, st.score), (Level::Low, 0));
        // Judging again does not bring the old evidence back.
        assert!(st.judge(Timestamp::from_micros(T + 20), &s).is_none());
        assert_eq!(st.level, Level::Low);
        // New evidence does.
        let c = st
            .add(
                &ev(EvidenceKind::HoneytokenUsed, "192.0.2.9", T + 30),
                Timestamp::from_micros(T + 30),
                &s,
            )
            .unwrap();
        assert_eq!((c.from, c.to), (Level::Low, Level::High));
    }

    #[test]
    fn evidence_and_history_stay_bounded_keeping_the_strongest() {
        let s = ScoringSettings::default();
        let mut st = IdentityState::new(Subject::User("alice@example.com".into()));
        st.add(
            &ev(EvidenceKind::HoneytokenUsed, "192.0.2.1", T),
            Timestamp::from_micros(T),
            &s,
        );
        for i in 0..500u64 {
            let e = ev(
                EvidenceKind::LoginKnownUser,
                &format!("10.0.{}.{}", i / 250, i % 250),
                T + i,
            );
            st.add(&e, Timestamp::from_micros(T + i), &s);
        }
        assert_eq!(st.evidence.len(), MAX_EVIDENCE);
        assert!(
            st.evidence
                .iter()
                .any(|r| r.kind == EvidenceKind::HoneytokenUsed)
        );
        for i in 0..300 {
            st.clear(Timestamp::from_micros(T + 1000 + i), "op", "test", &s);
        }
        assert_eq!(st.history.len(), MAX_HISTORY);
    }
}
