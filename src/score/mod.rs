//! Scoring: touches become verdicts about who is compromised, how sure decoyd is, and why.
//!
//! - [`identity`]: who a touch is about (pure): the owner of the lure whose honeytoken was
//!   used, the owner of a lure that was touched, a listed user whose name was typed at a
//!   decoy, and always the source address.
//! - [`rules`]: the evidence of a window in, a [`Verdict`] out (pure). Independent pieces of
//!   evidence combine so that more of them raise confidence but never above 100; typed
//!   usernames alone never reach `high`; connections alone never pass `low`.
//! - [`state`]: an identity's level, which only an operator lowers, and its history (pure).
//! - [`scorer`]: the daemon's task that follows the store and keeps the states in it.

pub mod identity;
pub mod rules;
pub mod scorer;
pub mod state;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use rules::{EvidenceRecord, Verdict, verdict};
pub use state::{Change, IdentityState};

/// Who a verdict is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A person, by email address: the identity a signal would name.
    User(String),
    /// A source address: what is known of an attacker with no identity (never signalled).
    Source(IpAddr),
}

impl Subject {
    /// The store key.
    pub fn key(&self) -> String {
        match self {
            Subject::User(e) => format!("user:{e}"),
            Subject::Source(ip) => format!("source:{ip}"),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(e) => f.write_str(e),
            Subject::Source(ip) => write!(f, "source {ip}"),
        }
    }
}

/// How sure decoyd is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Nothing to say.
    #[default]
    None,
    /// Someone looked around.
    Low,
    /// Likely compromised.
    Medium,
    /// Compromised: a stolen secret was used, or a lure was read and its secret used.
    High,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        })
    }
}

/// The kinds of evidence, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A connection or a banner grab, nothing more.
    Connection,
    /// A page of a decoy was fetched.
    PageVisit,
    /// A login attempt with a name that is no known user.
    LoginGuessedName,
    /// A login attempt with the name of a listed user.
    LoginKnownUser,
    /// A lure file was opened.
    LureOpened,
    /// A lure file was modified, deleted, renamed or replaced.
    LureChanged,
    /// A lure's honeytoken was used.
    HoneytokenUsed,
    /// Commands were run in a session a honeytoken opened.
    HoneytokenSession,
}

impl EvidenceKind {
    /// Every kind, weakest first.
    pub const ALL: [EvidenceKind; 8] = [
        EvidenceKind::Connection,
        EvidenceKind::PageVisit,
        EvidenceKind::LoginGuessedName,
        EvidenceKind::LoginKnownUser,
        EvidenceKind::LureOpened,
        EvidenceKind::LureChanged,
        EvidenceKind::HoneytokenUsed,
        EvidenceKind::HoneytokenSession,
    ];

    /// The name used in the config's `scoring.weights`.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Connection => "connection",
            EvidenceKind::PageVisit => "page_visit",
            EvidenceKind::LoginGuessedName => "login_guessed_name",
            EvidenceKind::LoginKnownUser => "login_known_user",
            EvidenceKind::LureOpened => "lure_opened",
            EvidenceKind::LureChanged => "lure_changed",
            EvidenceKind::HoneytokenUsed => "honeytoken_used",
            EvidenceKind::HoneytokenSession => "honeytoken_session",
        }
    }

    /// Whether this kind can carry an identity to `high`: only lures and honeytokens can.
    pub fn reaches_high(self) -> bool {
        self >= EvidenceKind::LureOpened
    }
}

/// Every weight and threshold of the rules; the main config's `scoring:` overrides them.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringSettings {
    /// Confidence (0 to 1) one piece of evidence of each kind gives, by kind.
    pub weights: [f64; 8],
    /// Extra confidence when one lure's honeytoken is used from more than one source.
    pub bonus_many_sources: f64,
    /// Extra confidence when a lure was read and then its honeytoken used.
    pub bonus_read_then_used: f64,
    /// Extra confidence when one source touched more than one decoy.
    pub bonus_many_decoys: f64,
    /// Lowest score of `low`, `medium`, `high`.
    pub thresholds: [u8; 3],
    /// Highest score from typed usernames (and connections) alone: below `high`.
    pub typed_name_cap: u8,
    /// Highest score from connections and page visits alone.
    pub scan_cap: u8,
    /// Evidence older than this no longer adds to a score (levels stay; see [`state`]).
    pub window: Duration,
    /// Sources that are recorded but never scored above none (scanners, IT tools).
    pub allow_sources: Vec<Cidr>,
    /// Usernames typed at decoys that are identities: name → email.
    pub users: Vec<(String, String)>,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        ScoringSettings {
            weights: [0.05, 0.10, 0.20, 0.30, 0.60, 0.70, 0.90, 0.95],
            bonus_many_sources: 0.50,
            bonus_read_then_used: 0.50,
            bonus_many_decoys: 0.20,
            thresholds: [20, 50, 80],
            typed_name_cap: 79,
            scan_cap: 49,
            window: Duration::from_secs(7 * 86_400),
            allow_sources: Vec::new(),
            users: Vec::new(),
        }
    }
}

impl ScoringSettings {
    /// The weight of a kind.
    pub fn weight(&self, kind: EvidenceKind) -> f64 {
        self.weights[kind as usize]
    }

    /// The level of a score.
    pub fn level(&self, score: u8) -> Level {
        let [low, medium, high] = self.thresholds;
        if score >= high {
            Level::High
        } else if score >= medium {
            Level::Medium
        } else if score >= low {
            Level::Low
        } else {
            Level::None
        }
    }

    /// Whether touches from `ip` are never scored.
    pub fn allowed(&self, ip: IpAddr) -> bool {
        self.allow_sources.iter().any(|c| c.contains(ip))
    }
}

/// An address block, e.g. `10.0.9.0/24` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// First address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/LEN` or a bare address.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let bad = || {
            format!(
                "invalid address block {s:?}: expected an address or ADDR/LEN, like 10.0.9.0/24"
            )
        };
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u32) {
            match ip.to_canonical() {
                IpAddr::V4(v) => (u32::from(v) as u128, 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        };
        let (a, wa) = bits(self.addr);
        let (b, wb) = bits(ip);
        if wa != wb {
            return false;
        }
        let shift = wa - self.prefix as u32;
        if shift >= 128 {
            return true;
        }
        (a >> shift) == (b >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_blocks_match_their_addresses_only() {
        let cases = [
            ("10.0.9.0/24", "10.0.9.77", true),
            ("10.0.9.0/24", "10.0.10.1", false),
            ("10.0.9.5", "10.0.9.5", true),
            ("10.0.9.5", "10.0.9.6", false),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("10.0.9.0/24", "::ffff:10.0.9.1", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "10.0.0.1", false),
            ("::/0", "2001:db8::1", true),
        ];
        for (block, ip, expected) in cases {
            let c = Cidr::parse(block).unwrap();
            assert_eq!(c.contains(ip.parse().unwrap()), expected, "{block} {ip}");
        }
        for bad in ["10.0.9.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn levels_follow_the_thresholds() {
        let s = ScoringSettings::default();
        let cases = [
            (0, Level::None),
            (19, Level::None),
            (20, Level::Low),
            (49, Level::Low),
            (50, Level::Medium),
            (79, Level::Medium),
            (80, Level::High),
            (100, Level::High),
        ];
        for (score, level) in cases {
            assert_eq!(s.level(score), level, "{score}");
        }
    }
}
