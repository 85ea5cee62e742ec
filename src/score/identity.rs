//! Who a touch is about, strongest first: the owner of the lure whose honeytoken was used
//! (and, after such a login, of every command in that session); the owner of a lure file that
//! was touched; a user listed in `identity.users` whose name was typed at a decoy. Every
//! network touch is also evidence about its source address, which is never an identity of
//! its own: a source verdict is never signalled.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use super::{EvidenceKind, ScoringSettings, Subject};
use crate::store::StoredTouch;
use crate::touch::{Event, LureAction, NO_ADDRESS, Timestamp};

/// One piece of evidence from one touch, about one subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Who it is about.
    pub subject: Subject,
    /// What kind of evidence.
    pub kind: EvidenceKind,
    /// Where it came from (none for a lure file).
    pub source: Option<IpAddr>,
    /// The decoy touched.
    pub decoy: String,
    /// The lure involved.
    pub lure: Option<String>,
    /// When.
    pub at: Timestamp,
    /// Touches it stands for (folded records count more than one).
    pub count: u64,
}

/// Most honeytoken sessions remembered at once.
const MAX_SESSIONS: usize = 4096;

/// SSH sessions a honeytoken opened, by source and decoy: their commands are the owner's
/// evidence too. Bounded; the oldest is forgotten first.
#[derive(Debug, Default)]
pub struct Sessions {
    owners: HashMap<(IpAddr, String), (String, String)>,
    order: VecDeque<(IpAddr, String)>,
}

impl Sessions {
    fn insert(&mut self, key: (IpAddr, String), owner: String, lure: String) {
        if self.owners.insert(key.clone(), (owner, lure)).is_none() {
            self.order.push_back(key);
            if self.order.len() > MAX_SESSIONS
                && let Some(old) = self.order.pop_front()
            {
                self.owners.remove(&old);
            }
        }
    }
}

/// The evidence in one stored touch. Touches from `allow_sources` give none.
pub fn evidence(
    rec: &StoredTouch,
    settings: &ScoringSettings,
    sessions: &mut Sessions,
) -> Vec<Evidence> {
    let t = &rec.touch;
    let network = t.source != NO_ADDRESS;
    let ip = t.source.ip().to_canonical();
    if network && settings.allowed(ip) {
        return Vec::new();
    }
    let one = |subject: Subject, kind: EvidenceKind, lure: Option<&str>| Evidence {
        subject,
        kind,
        source: network.then_some(ip),
        decoy: t.decoy.to_string(),
        lure: lure.map(str::to_string),
        at: t.at,
        count: rec.count.max(1),
    };
    let user = |name: &str| {
        settings
            .users
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, email)| Subject::User(email.clone()))
    };
    let source = Subject::Source(ip);
    let mut out = Vec::new();
    match &t.event {
        Event::Connection(_)
        | Event::ConnectionRefused(_)
        | Event::HttpMalformed(_)
        | Event::SshConnection(_) => out.push(one(source, EvidenceKind::Connection, None)),
        Event::HttpRequest(h) => {
            if h.credentials.is_empty() {
                out.push(one(source, EvidenceKind::PageVisit, None));
            } else {
                out.push(one(source, EvidenceKind::LoginGuessedName, None));
                let mut named: Vec<Subject> = h
                    .credentials
                    .iter()
                    .filter_map(|c| c.username.as_deref().and_then(user))
                    .collect();
                named.dedup();
                for s in named {
                    out.push(one(s, EvidenceKind::LoginKnownUser, None));
                }
            }
        }
        Event::SshAuth(a) => {
            out.push(one(source, EvidenceKind::LoginGuessedName, None));
            if let Some(s) = user(&a.username) {
                out.push(one(s, EvidenceKind::LoginKnownUser, None));
            }
        }
        Event::SshCommand(_) | Event::SshRequest(_) => {
            match sessions.owners.get(&(ip, t.decoy.to_string())) {
                Some((owner, lure)) => {
                    let lure = lure.clone();
                    out.push(one(
                        Subject::User(owner.clone()),
                        EvidenceKind::HoneytokenSession,
                        Some(&lure),
                    ));
                    out.push(one(source, EvidenceKind::HoneytokenSession, Some(&lure)));
                }
                None => out.push(one(source, EvidenceKind::LoginGuessedName, None)),
            }
        }
        Event::HoneytokenUsed(h) => {
            out.push(one(source, EvidenceKind::HoneytokenUsed, h.lure.as_deref()));
            if let Some(owner) = &h.owner {
                out.push(one(
                    Subject::User(owner.clone()),
                    EvidenceKind::HoneytokenUsed,
                    h.lure.as_deref(),
                ));
                if h.accepted {
                    sessions.insert(
                        (ip, t.decoy.to_string()),
                        owner.clone(),
                        h.lure.clone().unwrap_or_default(),
                    );
                }
            }
        }
        Event::LureAccess(l) => {
            let kind = match l.action {
                LureAction::Opened => EvidenceKind::LureOpened,
                _ => EvidenceKind::LureChanged,
            };
            out.push(one(Subject::User(l.owner.clone()), kind, Some(&l.lure)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::touch::{
        Credential, CredentialSource, HoneytokenUsed, HoneytokenVia, HttpRequest, LureAccess,
        LureSeenBy, SshAuth, SshAuthMethod, SshAuthResult, SshCommand, SshCommandSource, Touch,
    };

    fn stored(source: &str, event: Event) -> StoredTouch {
        StoredTouch {
            seq: 1,
            count: 3,
            last_at: None,
            touch: Touch {
                at: Timestamp::from_micros(1),
                sensor: "s".into(),
                decoy: "ssh".into(),
                source: source.parse().unwrap(),
                local: "127.0.0.1:22".parse().unwrap(),
                event,
            },
        }
    }

    fn auth(user: &str) -> Event {
        Event::SshAuth(SshAuth {
            attempt: 1,
            method: SshAuthMethod::Password,
            username: user.into(),
            password: None,
            key: None,
            new_password: None,
            submethods: None,
            result: SshAuthResult::Failure,
            client: Default::default(),
        })
    }

    fn used(accepted: bool, owner: Option<&str>) -> Event {
        Event::HoneytokenUsed(HoneytokenUsed {
            lure_id: "00".into(),
            lure: owner.map(|_| "alice-notes".into()),
            owner: owner.map(String::from),
            planted_by: None,
            via: HoneytokenVia::SshPassword,
            username: Some("deploy".into()),
            accepted,
        })
    }

    fn command() -> Event {
        Event::SshCommand(SshCommand {
            username: "deploy".into(),
            source: SshCommandSource::Exec,
            command: "id".into(),
            status: 0,
            password: None,
        })
    }

    fn settings() -> ScoringSettings {
        ScoringSettings {
            users: vec![("alice".into(), "alice@example.com".into())],
            allow_sources: vec![crate::score::Cidr::parse("10.0.9.0/24").unwrap()],
            ..ScoringSettings::default()
        }
    }

    /// Subject, kind, lure, count.
    type Found = (Subject, EvidenceKind, Option<String>, u64);

    fn kinds(rec: StoredTouch, sessions: &mut Sessions) -> Vec<Found> {
        evidence(&rec, &settings(), sessions)
            .into_iter()
            .map(|e| (e.subject, e.kind, e.lure, e.count))
            .collect()
    }

    #[test]
    fn every_touch_names_its_source_and_the_strongest_identity_it_can() {
        let alice = Subject::User("alice@example.com".into());
        let src = Subject::Source("192.0.2.1".parse().unwrap());
        let lure = Some("alice-notes".to_string());
        let mut sessions = Sessions::default();
        let form = Event::HttpRequest(HttpRequest {
            method: "POST".into(),
            path: "/login".into(),
            query: None,
            host: None,
            user_agent: None,
            headers: vec![],
            fields: vec![],
            body_bytes: 0,
            credentials: vec![Credential {
                source: CredentialSource::Form,
                username: Some("alice".into()),
                password: None,
            }],
            status: Some(200),
        });
        let cases: Vec<(StoredTouch, Vec<Found>)> = vec![
            (
                stored("192.0.2.1:5", auth("root")),
                vec![(src.clone(), EvidenceKind::LoginGuessedName, None, 3)],
            ),
            (
                stored("192.0.2.1:5", auth("alice")),
                vec![
                    (src.clone(), EvidenceKind::LoginGuessedName, None, 3),
                    (alice.clone(), EvidenceKind::LoginKnownUser, None, 3),
                ],
            ),
            (
                stored("192.0.2.1:5", form),
                vec![
                    (src.clone(), EvidenceKind::LoginGuessedName, None, 3),
                    (alice.clone(), EvidenceKind::LoginKnownUser, None, 3),
                ],
            ),
            // An allowed source gives nothing, whatever it did.
            (stored("10.0.9.4:5", auth("alice")), vec![]),
            (
                stored(
                    "[::ffff:10.0.9.4]:5",
                    used(false, Some("alice@example.com")),
                ),
                vec![],
            ),
            // A token of an unknown lure names the source only.
            (
                stored("192.0.2.1:5", used(false, None)),
                vec![(src.clone(), EvidenceKind::HoneytokenUsed, None, 3)],
            ),
            (
                stored("192.0.2.1:5", used(false, Some("alice@example.com"))),
                vec![
                    (src.clone(), EvidenceKind::HoneytokenUsed, lure.clone(), 3),
                    (alice.clone(), EvidenceKind::HoneytokenUsed, lure.clone(), 3),
                ],
            ),
            // Commands without a honeytoken session are the source's only.
            (
                stored("192.0.2.1:5", command()),
                vec![(src.clone(), EvidenceKind::LoginGuessedName, None, 3)],
            ),
            (
                stored("192.0.2.1:5", used(true, Some("alice@example.com"))),
                vec![
                    (src.clone(), EvidenceKind::HoneytokenUsed, lure.clone(), 3),
                    (alice.clone(), EvidenceKind::HoneytokenUsed, lure.clone(), 3),
                ],
            ),
            // After an accepted token, the session's commands are the owner's.
            (
                stored("192.0.2.1:6", command()),
                vec![
                    (
                        alice.clone(),
                        EvidenceKind::HoneytokenSession,
                        lure.clone(),
                        3,
                    ),
                    (
                        src.clone(),
                        EvidenceKind::HoneytokenSession,
                        lure.clone(),
                        3,
                    ),
                ],
            ),
            (
                stored(
                    "0.0.0.0:0",
                    Event::LureAccess(LureAccess {
                        lure: "alice-aws".into(),
                        owner: "alice@example.com".into(),
                        path: "/x".into(),
                        action: LureAction::Opened,
                        seen_by: LureSeenBy::Watch,
                        process: None,
                    }),
                ),
                vec![(
                    alice.clone(),
                    EvidenceKind::LureOpened,
                    Some("alice-aws".into()),
                    3,
                )],
            ),
            (
                stored(
                    "0.0.0.0:0",
                    Event::LureAccess(LureAccess {
                        lure: "alice-aws".into(),
                        owner: "alice@example.com".into(),
                        path: "/x".into(),
                        action: LureAction::Deleted,
                        seen_by: LureSeenBy::Watch,
                        process: None,
                    }),
                ),
                vec![(
                    alice.clone(),
                    EvidenceKind::LureChanged,
                    Some("alice-aws".into()),
                    3,
                )],
            ),
        ];
        for (i, (rec, expected)) in cases.into_iter().enumerate() {
            assert_eq!(kinds(rec, &mut sessions), expected, "case {i}");
        }
    }
}
