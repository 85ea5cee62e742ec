//! What lures and honeytokens record. A [`LureAccess`] is something done to a planted lure
//! file (seen by the watcher as it happens, or found by the periodic check); a
//! [`HoneytokenUsed`] is a lure's credential offered at a network decoy, recognised in memory
//! by its MAC (the credential itself is never stored). Both name the lure and its owner, so
//! each record says whose machine was robbed.

use serde::{Deserialize, Serialize};

/// What happened to a lure file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LureAction {
    /// The file was opened (a read, most often: `cat`, an editor, a credential scanner).
    Opened,
    /// Its contents were changed in place.
    Modified,
    /// It was deleted.
    Deleted,
    /// It was renamed or moved away.
    Renamed,
    /// Another file now stands at its path (an editor's save, `sed -i`, a copy over it).
    Replaced,
    /// The periodic check found it gone.
    Missing,
}

/// How the lure touch was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LureSeenBy {
    /// The file watcher, as it happened.
    Watch,
    /// The periodic integrity check (metadata, then a hash when that changed).
    Check,
}

/// A process that touched a lure, when the kernel says (fanotify).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LureProcess {
    /// Process id.
    pub pid: u32,
    /// Real user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Login user id (who logged in, whatever they became since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_uid: Option<u32>,
    /// Executable path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Command line, bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
}

/// Something done to a planted lure.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LureAccess {
    /// The lure's name.
    pub lure: String,
    /// Whose lure it is.
    pub owner: String,
    /// The file's path.
    pub path: String,
    /// What happened.
    pub action: LureAction,
    /// How it was seen.
    pub seen_by: LureSeenBy,
    /// Who did it, when attribution is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<LureProcess>,
}

/// Where a honeytoken was offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoneytokenVia {
    /// An SSH password.
    SshPassword,
    /// An SSH keyboard-interactive answer.
    SshKeyboardInteractive,
    /// An HTTP form field.
    HttpForm,
    /// An HTTP JSON field.
    HttpJson,
    /// HTTP Basic authentication.
    HttpBasic,
    /// An HTTP bearer token.
    HttpBearer,
    /// An HTTP query parameter.
    HttpQuery,
}

/// A lure's credential, offered at a decoy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HoneytokenUsed {
    /// The lure id the token carries (16 hex digits), known to every sensor of the fleet.
    pub lure_id: String,
    /// The lure's name, when it is in this sensor's catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lure: Option<String>,
    /// The lure's owner: the identity whose secret was stolen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The sensor that planted the lure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planted_by: Option<String>,
    /// Where it was offered.
    pub via: HoneytokenVia,
    /// The username offered with it (bounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether the decoy let it in (an SSH decoy with `accept_honeytokens: true`).
    pub accepted: bool,
}
