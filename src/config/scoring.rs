//! The `scoring:` section and `identity.users`: raw values to [`ScoringSettings`], every
//! problem at its position.

use std::path::Path;

use super::{ConfigError, ConfigErrors, parse_spanned, raw, units};
use crate::score::{Cidr, EvidenceKind, ScoringSettings};

/// Names of the correlation weights, beside the evidence kinds'.
const BONUSES: [&str; 3] = ["many_sources", "read_then_used", "many_decoys"];

/// Validates scoring settings.
pub fn build(
    file: &Path,
    raw: raw::RawScoring,
    identity: &raw::RawIdentity,
    errors: &mut ConfigErrors,
) -> Option<ScoringSettings> {
    let before = errors.0.len();
    let mut s = ScoringSettings::default();
    for a in raw.allow_sources.iter().flatten() {
        match Cidr::parse(a.value.trim()) {
            Ok(c) => s.allow_sources.push(c),
            Err(m) => errors.push(ConfigError::spanned(file, a, m)),
        }
    }
    if let Some(w) = parse_spanned(file, &raw.window, units::parse_duration, s.window, errors) {
        s.window = w;
    }
    for (name, w) in raw.weights.iter().flatten() {
        if !(0.0..=1.0).contains(&w.value) {
            errors.push(ConfigError::spanned(
                file,
                w,
                format!("weight {name} out of range: expected 0 to 1 (a confidence)"),
            ));
            continue;
        }
        match (
            EvidenceKind::ALL.iter().find(|k| k.name() == name),
            name.as_str(),
        ) {
            (Some(k), _) => s.weights[*k as usize] = w.value,
            (None, "many_sources") => s.bonus_many_sources = w.value,
            (None, "read_then_used") => s.bonus_read_then_used = w.value,
            (None, "many_decoys") => s.bonus_many_decoys = w.value,
            (None, _) => {
                let known: Vec<&str> = EvidenceKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .chain(BONUSES)
                    .collect();
                errors.push(ConfigError::spanned(
                    file,
                    w,
                    format!(
                        "unknown weight {name:?}: expected one of {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let t = raw.thresholds.unwrap_or_default();
    for (i, v) in [&t.low, &t.medium, &t.high].into_iter().enumerate() {
        if let Some(v) = v {
            s.thresholds[i] = v.value;
        }
    }
    let [low, medium, high] = s.thresholds;
    if !(1 <= low && low < medium && medium < high && high <= 100) {
        let at = t.high.as_ref().or(t.medium.as_ref()).or(t.low.as_ref());
        if let Some(at) = at {
            errors.push(ConfigError::spanned(
                file,
                at,
                format!("thresholds {low}, {medium}, {high} out of order: expected 1 <= low < medium < high <= 100"),
            ));
        }
    }
    if let Some(c) = &raw.typed_name_cap {
        s.typed_name_cap = c.value.min(100);
    }
    if let Some(c) = &raw.scan_cap {
        s.scan_cap = c.value.min(100);
    }
    for (name, email) in identity.users.iter().flatten() {
        let e = email.value.trim();
        let ok = e.len() <= 254
            && e.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok || name.is_empty() || name.len() > 256 {
            errors.push(ConfigError::spanned(
                file,
                email,
                format!("invalid identity for user {name:?}: expected an email address like alice@example.com"),
            ));
            continue;
        }
        s.users.push((name.clone(), e.to_string()));
    }
    (errors.0.len() == before).then_some(s)
}
