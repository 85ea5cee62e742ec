//! The rules: a subject's evidence in, a [`Verdict`] out. Pure: no clock, no store.
//!
//! Each evidence record (one kind of evidence, from one source, at one decoy, about one lure,
//! however many touches it counts) is an independent piece of evidence with the confidence
//! its kind's weight gives. Pieces combine as independent chances: `1 - Π(1 - w)`, so more
//! evidence raises confidence but never above 100, and a flood of one kind from one source
//! (a brute force of 10,000 attempts) is one piece, not 10,000. Correlations add pieces of
//! their own: a honeytoken used from several sources, a lure read and then its honeytoken used,
//! one source at several decoys. Then the caps: evidence from typed usernames (and
//! connections) alone never reaches `high`, and connections and page visits alone never pass
//! `low`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::identity::Evidence;
use super::{EvidenceKind, Level, ScoringSettings, Subject};
use crate::touch::Timestamp;

/// Evidence of one kind, from one source, at one decoy, about one lure: many touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// The kind.
    pub kind: EvidenceKind,
    /// Where from (none for a lure file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
    /// The decoy (or lure) touched.
    pub decoy: String,
    /// The lure involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lure: Option<String>,
    /// First touch.
    pub first_at: Timestamp,
    /// Latest touch.
    pub last_at: Timestamp,
    /// Touches.
    pub count: u64,
}

impl EvidenceRecord {
    /// Whether `e` adds to this record rather than starting one of its own.
    pub fn matches(&self, e: &Evidence) -> bool {
        self.kind == e.kind
            && self.source == e.source
            && self.decoy == e.decoy
            && self.lure == e.lure
    }

    /// A record of `e` alone.
    pub fn of(e: &Evidence) -> EvidenceRecord {
        EvidenceRecord {
            kind: e.kind,
            source: e.source,
            decoy: e.decoy.clone(),
            lure: e.lure.clone(),
            first_at: e.at,
            last_at: e.at,
            count: e.count,
        }
    }

    fn reason(&self, subject: &Subject) -> String {
        let n = |c: u64| {
            if c == 1 {
                "once".to_string()
            } else {
                format!("{c} times")
            }
        };
        let from = self
            .source
            .map(|s| format!(" from {s}"))
            .unwrap_or_default();
        let lure = self.lure.as_deref().unwrap_or("(unknown)");
        let d = &self.decoy;
        match self.kind {
            EvidenceKind::HoneytokenSession => format!(
                "{} commands at decoy {d}{from} in a session opened by lure {lure}'s honeytoken",
                self.count
            ),
            EvidenceKind::HoneytokenUsed => {
                format!(
                    "honeytoken of lure {lure} used at decoy {d}{from}, {}",
                    n(self.count)
                )
            }
            EvidenceKind::LureChanged => format!(
                "lure {lure} modified, deleted or replaced, {}",
                n(self.count)
            ),
            EvidenceKind::LureOpened => format!("lure {lure} opened, {}", n(self.count)),
            EvidenceKind::LoginKnownUser => match subject {
                Subject::User(u) => format!(
                    "login attempts as {u} at decoy {d}{from}, {}",
                    n(self.count)
                ),
                Subject::Source(_) => format!(
                    "login attempts as a listed user at decoy {d}, {}",
                    n(self.count)
                ),
            },
            EvidenceKind::LoginGuessedName => {
                format!("login attempts at decoy {d}{from}, {}", n(self.count))
            }
            EvidenceKind::PageVisit => {
                format!("pages of decoy {d} fetched{from}, {}", n(self.count))
            }
            EvidenceKind::Connection => {
                format!("connections to decoy {d}{from}, {}", n(self.count))
            }
        }
    }
}

/// How sure decoyd is about one subject, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Who.
    pub subject: Subject,
    /// 0 to 100.
    pub score: u8,
    /// The score's level.
    pub level: Level,
    /// Why, strongest first.
    pub reasons: Vec<String>,
}

/// The verdict on `subject` from `records`: those seen within the window before `now`, and
/// after `since` (an operator's clear) when given.
pub fn verdict(
    subject: &Subject,
    records: &[EvidenceRecord],
    since: Option<Timestamp>,
    now: Timestamp,
    s: &ScoringSettings,
) -> Verdict {
    let window_start = now.micros().saturating_sub(s.window.as_micros() as u64);
    let live: Vec<&EvidenceRecord> = records
        .iter()
        .filter(|r| r.last_at.micros() >= window_start)
        .filter(|r| since.is_none_or(|c| r.last_at > c))
        .collect();
    let mut pieces: Vec<(f64, String)> = live
        .iter()
        .map(|r| (s.weight(r.kind), r.reason(subject)))
        .collect();

    // One lure's honeytoken from several sources; a lure read, then its honeytoken used.
    let mut used_from: BTreeMap<&str, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut first_used: BTreeMap<&str, Timestamp> = BTreeMap::new();
    for r in live
        .iter()
        .filter(|r| r.kind == EvidenceKind::HoneytokenUsed)
    {
        let lure = r.lure.as_deref().unwrap_or("");
        used_from.entry(lure).or_default().extend(r.source);
        let f = first_used.entry(lure).or_insert(r.first_at);
        *f = (*f).min(r.first_at);
    }
    for (lure, sources) in &used_from {
        if sources.len() > 1 {
            pieces.push((
                s.bonus_many_sources,
                format!(
                    "the honeytoken of lure {lure} was used from {} sources",
                    sources.len()
                ),
            ));
        }
    }
    for (lure, used_at) in &first_used {
        let read = live.iter().find(|r| {
            matches!(r.kind, EvidenceKind::LureOpened | EvidenceKind::LureChanged)
                && r.lure.as_deref() == Some(*lure)
                && r.first_at <= *used_at
        });
        if let Some(r) = read {
            pieces.push((
                s.bonus_read_then_used,
                format!(
                    "lure {lure} was read at {}, then its honeytoken used at {used_at}",
                    r.first_at
                ),
            ));
        }
    }
    // One source at several decoys.
    let decoys: BTreeSet<&str> = live
        .iter()
        .filter(|r| r.source.is_some())
        .map(|r| r.decoy.as_str())
        .collect();
    if decoys.len() > 1 && matches!(subject, Subject::Source(_)) {
        pieces.push((
            s.bonus_many_decoys,
            format!(
                "touched {} decoys: {}",
                decoys.len(),
                decoys.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }

    pieces.sort_by(|a, b| b.0.total_cmp(&a.0));
    let doubt: f64 = pieces
        .iter()
        .map(|(p, _)| 1.0 - p.clamp(0.0, 1.0))
        .product();
    let mut score = ((1.0 - doubt) * 100.0).round().clamp(0.0, 100.0) as u8;
    let mut reasons: Vec<String> = pieces.into_iter().map(|(_, r)| r).collect();
    // The caps hold whatever the thresholds: never `high` from typed names, never above
    // `low` from a sweep.
    let [_, medium, high] = s.thresholds;
    let name_cap = s.typed_name_cap.min(high.saturating_sub(1));
    let scan_cap = s.scan_cap.min(medium.saturating_sub(1));
    let strongest = live.iter().map(|r| r.kind).max();
    if let Some(k) = strongest {
        if k <= EvidenceKind::PageVisit && score > scan_cap {
            score = scan_cap;
            reasons.push(format!(
                "connections and page visits alone are capped at {scan_cap}"
            ));
        } else if !k.reaches_high() && score > name_cap {
            score = name_cap;
            reasons.push(format!(
                "typed usernames alone are capped at {name_cap}: only lure and honeytoken evidence reaches high"
            ));
        }
    }
    Verdict {
        subject: subject.clone(),
        score,
        level: s.level(score),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000_000;
    const NOW: u64 = 1_800_000_000_000_000;

    fn rec(
        kind: EvidenceKind,
        source: Option<&str>,
        decoy: &str,
        lure: Option<&str>,
        at_h: u64,
        count: u64,
    ) -> EvidenceRecord {
        EvidenceRecord {
            kind,
            source: source.map(|s| s.parse().unwrap()),
            decoy: decoy.into(),
            lure: lure.map(String::from),
            first_at: Timestamp::from_micros(NOW - at_h * H),
            last_at: Timestamp::from_micros(NOW - at_h * H),
            count,
        }
    }

    fn alice() -> Subject {
        Subject::User("alice@example.com".into())
    }

    fn judge(subject: &Subject, records: &[EvidenceRecord]) -> Verdict {
        verdict(
            subject,
            records,
            None,
            Timestamp::from_micros(NOW),
            &ScoringSettings::default(),
        )
    }

    use EvidenceKind::*;

    #[test]
    fn each_kind_alone_lands_on_its_rung_of_the_ladder() {
        let src = Subject::Source("192.0.2.7".parse().unwrap());
        let cases: [(&Subject, EvidenceKind, u8, Level); 8] = [
            (&src, Connection, 5, Level::None),
            (&src, PageVisit, 10, Level::None),
            (&src, LoginGuessedName, 20, Level::Low),
            (&alice(), LoginKnownUser, 30, Level::Low),
            (&alice(), LureOpened, 60, Level::Medium),
            (&alice(), LureChanged, 70, Level::Medium),
            (&alice(), HoneytokenUsed, 90, Level::High),
            (&alice(), HoneytokenSession, 95, Level::High),
        ];
        for (subject, kind, score, level) in cases {
            let v = judge(
                subject,
                &[rec(
                    kind,
                    Some("192.0.2.7"),
                    "ssh",
                    Some("alice-notes"),
                    1,
                    1,
                )],
            );
            assert_eq!((v.score, v.level), (score, level), "{kind:?}");
            assert_eq!(v.reasons.len(), 1, "{kind:?}: {:?}", v.reasons);
        }
    }

    #[test]
    fn a_flood_from_one_source_is_one_piece_of_evidence() {
        let src = Subject::Source("192.0.2.7".parse().unwrap());
        let one = judge(
            &src,
            &[rec(LoginGuessedName, Some("192.0.2.7"), "ssh", None, 1, 1)],
        );
        let flood = judge(
            &src,
            &[rec(
                LoginGuessedName,
                Some("192.0.2.7"),
                "ssh",
                None,
                1,
                10_000,
            )],
        );
        assert_eq!(one.score, flood.score);
        assert!(
            flood.reasons[0].contains("10000 times"),
            "{:?}",
            flood.reasons
        );
    }

    #[test]
    fn more_evidence_raises_confidence_but_never_above_100() {
        let mut records = Vec::new();
        let mut last = 0;
        for (i, kind) in [LureOpened, LureChanged, HoneytokenUsed, HoneytokenSession]
            .into_iter()
            .enumerate()
        {
            records.push(rec(
                kind,
                Some(&format!("192.0.2.{i}")),
                "ssh",
                Some("alice-notes"),
                1,
                1,
            ));
            let v = judge(&alice(), &records);
            assert!(v.score > last, "{kind:?}: {} after {last}", v.score);
            assert!(v.score <= 100);
            last = v.score;
        }
        for i in 0..200 {
            records.push(rec(
                HoneytokenUsed,
                Some(&format!("10.0.{}.{}", i / 250, i % 250)),
                "ssh",
                Some("alice-notes"),
                1,
                1,
            ));
        }
        assert_eq!(judge(&alice(), &records).score, 100);
    }

    #[test]
    fn typed_usernames_alone_never_reach_high_however_many() {
        let records: Vec<_> = (0..300)
            .map(|i| {
                rec(
                    LoginKnownUser,
                    Some(&format!("10.1.{}.{}", i / 200, i % 200)),
                    if i % 2 == 0 { "ssh" } else { "web" },
                    None,
                    1,
                    50,
                )
            })
            .collect();
        let v = judge(&alice(), &records);
        assert_eq!((v.score, v.level), (79, Level::Medium));
        assert!(
            v.reasons
                .last()
                .unwrap()
                .contains("only lure and honeytoken evidence reaches high")
        );
        // One lure read on top of it, and it may.
        let mut with_lure = records.clone();
        with_lure.push(rec(LureOpened, None, "alice-aws", Some("alice-aws"), 1, 1));
        assert_eq!(judge(&alice(), &with_lure).level, Level::High);
    }

    #[test]
    fn a_port_sweep_that_never_authenticates_stays_low() {
        let src = Subject::Source("192.0.2.9".parse().unwrap());
        let records: Vec<_> = (0..40)
            .flat_map(|d| {
                [
                    rec(Connection, Some("192.0.2.9"), &format!("d{d}"), None, 1, 3),
                    rec(PageVisit, Some("192.0.2.9"), &format!("d{d}"), None, 1, 3),
                ]
            })
            .collect();
        let v = judge(&src, &records);
        assert_eq!((v.score, v.level), (49, Level::Low));
        assert!(v.reasons.iter().any(|r| r.contains("touched 40 decoys")));
    }

    #[test]
    fn correlations_add_confidence_and_say_so() {
        // One source at several decoys.
        let src = Subject::Source("192.0.2.7".parse().unwrap());
        let one = judge(
            &src,
            &[rec(LoginGuessedName, Some("192.0.2.7"), "ssh", None, 2, 1)],
        );
        let two = judge(
            &src,
            &[
                rec(LoginGuessedName, Some("192.0.2.7"), "ssh", None, 2, 1),
                rec(LoginGuessedName, Some("192.0.2.7"), "web", None, 1, 1),
            ],
        );
        assert!(two.score > one.score);
        assert!(
            two.reasons
                .iter()
                .any(|r| r == "touched 2 decoys: ssh, web"),
            "{:?}",
            two.reasons
        );
        // One honeytoken from two sources.
        let a = [rec(
            HoneytokenUsed,
            Some("192.0.2.1"),
            "ssh",
            Some("alice-notes"),
            1,
            1,
        )];
        let b = [
            a[0].clone(),
            rec(
                HoneytokenUsed,
                Some("192.0.2.2"),
                "ssh",
                Some("alice-notes"),
                1,
                1,
            ),
        ];
        let (va, vb) = (judge(&alice(), &a), judge(&alice(), &b));
        assert!(vb.score > va.score);
        assert!(
            vb.reasons
                .iter()
                .any(|r| r == "the honeytoken of lure alice-notes was used from 2 sources")
        );
        // A read, then the use.
        let read_then_used = [
            rec(LureOpened, None, "alice-notes", Some("alice-notes"), 3, 1),
            rec(
                HoneytokenUsed,
                Some("192.0.2.1"),
                "ssh",
                Some("alice-notes"),
                1,
                1,
            ),
        ];
        let v = judge(&alice(), &read_then_used);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.starts_with("lure alice-notes was read at ")),
            "{:?}",
            v.reasons
        );
        // Used before it was read: no such story.
        let used_then_read = [
            rec(LureOpened, None, "alice-notes", Some("alice-notes"), 1, 1),
            rec(
                HoneytokenUsed,
                Some("192.0.2.1"),
                "ssh",
                Some("alice-notes"),
                3,
                1,
            ),
        ];
        assert!(
            !judge(&alice(), &used_then_read)
                .reasons
                .iter()
                .any(|r| r.contains("was read at"))
        );
    }

    #[test]
    fn old_evidence_and_evidence_before_a_clear_no_longer_count() {
        let records = [rec(
            HoneytokenUsed,
            Some("192.0.2.1"),
            "ssh",
            Some("alice-notes"),
            24 * 8,
            1,
        )];
        assert_eq!(judge(&alice(), &records).level, Level::None);
        let recent = [rec(
            HoneytokenUsed,
            Some("192.0.2.1"),
            "ssh",
            Some("alice-notes"),
            2,
            1,
        )];
        let cleared = Timestamp::from_micros(NOW - H);
        let v = verdict(
            &alice(),
            &recent,
            Some(cleared),
            Timestamp::from_micros(NOW),
            &ScoringSettings::default(),
        );
        assert_eq!(v.level, Level::None);
    }

    #[test]
    fn weights_and_thresholds_come_from_the_settings() {
        let s = ScoringSettings {
            thresholds: [10, 20, 30],
            ..ScoringSettings::default()
        };
        let v = verdict(
            &alice(),
            &[rec(LoginKnownUser, Some("192.0.2.1"), "ssh", None, 1, 1)],
            None,
            Timestamp::from_micros(NOW),
            &s,
        );
        assert_eq!(
            (v.score, v.level),
            (29, Level::Medium),
            "capped below high, whatever the thresholds"
        );
        let mut w = ScoringSettings::default();
        w.weights[LureOpened as usize] = 0.95;
        let v = verdict(
            &alice(),
            &[rec(LureOpened, None, "l", Some("l"), 1, 1)],
            None,
            Timestamp::from_micros(NOW),
            &w,
        );
        assert_eq!((v.score, v.level), (95, Level::High));
    }
}
