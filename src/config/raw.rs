//! The configuration files exactly as written. Unknown keys are found by `keys::check` (all of
//! them, from these structs' own field lists) before these are parsed, so serde here ignores
//! them and parsing goes on to report the other errors too. Values that need more checking than
//! their YAML type (addresses, paths, durations, sizes) stay `Spanned` strings, so validation
//! can point at them.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// `decoyd.yaml`, the main file.
#[derive(Debug, Default, Deserialize)]
pub struct RawMain {
    /// Who this sensor is and where it keeps its data.
    pub sensor: Option<RawSensor>,
    /// Folder of decoy files, one decoy per file.
    pub decoys_dir: Option<Spanned<String>>,
    /// The admin listener.
    pub admin: Option<RawAdmin>,
    /// `hashed` (default) or `plaintext`.
    pub capture_passwords: Option<Spanned<CapturePasswords>>,
    /// Retention and limits of the touch store.
    pub store: Option<RawStore>,
    /// Who lure owners are.
    pub identity: Option<RawIdentity>,
    /// How lures are checked.
    pub lures: Option<RawLures>,
    /// Weights, thresholds and noise control of scoring.
    pub scoring: Option<RawScoring>,
    /// Security Event Tokens and where they go.
    pub signals: Option<RawSignals>,
}

/// `signals:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawSignals {
    /// `iss` of every token: what each receiver has registered.
    pub issuer: Option<Spanned<String>>,
    /// Base URL where `/jwks.json` and `/.well-known/ssf-configuration` are published;
    /// default the issuer.
    pub public_base_url: Option<Spanned<String>>,
    /// A listener that serves only `/jwks.json` and `/.well-known/ssf-configuration`, for a
    /// reverse proxy to publish.
    pub public_listen: Option<Spanned<String>>,
    /// How long a retired signing key stays published.
    pub key_overlap: Option<Spanned<String>>,
    /// Longest wait between two retries of a transient failure.
    pub max_retry_delay: Option<Spanned<String>>,
    /// Wait before each retry of `invalid_key` / `authentication_failed`.
    pub auth_retry_delay: Option<Spanned<String>>,
    /// Where signals go.
    pub receivers: Option<Vec<RawReceiver>>,
}

/// One `signals.receivers` item.
#[derive(Debug, Deserialize)]
pub struct RawReceiver {
    /// Name, in `decoyd signals` and metrics.
    pub name: Spanned<String>,
    /// `okta` or `ssf`.
    pub kind: Spanned<String>,
    /// Okta: the org URL (push goes to `/security/api/v1/security-events` under it).
    pub org_url: Option<Spanned<String>>,
    /// SSF: the push endpoint.
    pub url: Option<Spanned<String>>,
    /// `aud`; default the org URL (Okta) or the push URL (SSF).
    pub audience: Option<Spanned<String>>,
    /// Event types sent: user-risk-change (Okta), session-revoked, credential-compromise.
    pub events: Option<Vec<Spanned<String>>>,
    /// Lowest level sent.
    pub min_level: Option<Spanned<String>>,
    /// Add `sub_id` (SSF 1.0; Okta does not document it).
    pub sub_id: Option<Spanned<bool>>,
    /// Add `txn`.
    pub txn: Option<Spanned<bool>>,
    /// Okta: Management API credentials, for user checks, the direct response and
    /// `decoyd okta register`.
    pub api: Option<RawOktaApi>,
    /// Okta: look each person up before a signal is pushed (default true with `api`).
    pub verify_users: Option<Spanned<bool>>,
    /// Okta: `revoke_sessions`, `revoke_tokens` or `set_risk` at `high` (default none).
    pub response: Option<Spanned<String>>,
}

/// `api:` of an Okta receiver: an SSWS token, or an OAuth service app.
#[derive(Debug, Default, Deserialize)]
pub struct RawOktaApi {
    /// File holding an SSWS API token.
    pub token_file: Option<Spanned<String>>,
    /// Environment variable holding an SSWS API token.
    pub token_env: Option<Spanned<String>>,
    /// The service app's client id (`private_key_jwt`).
    pub client_id: Option<Spanned<String>>,
    /// PEM file of the service app's RSA private key.
    pub private_key_file: Option<Spanned<String>>,
    /// Environment variable holding that PEM.
    pub private_key_env: Option<Spanned<String>>,
    /// The key's `kid` at Okta, when the app has several.
    pub key_id: Option<Spanned<String>>,
    /// Send DPoP proofs from the first request (they are sent anyway once Okta asks).
    pub dpop: Option<Spanned<bool>>,
}

/// `identity:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawIdentity {
    /// Domain appended to a lure `owner:` given without one.
    pub email_domain: Option<Spanned<String>>,
    /// Usernames typed at decoys that are identities: name → email address.
    pub users: Option<std::collections::BTreeMap<String, Spanned<String>>>,
}

/// `scoring:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawScoring {
    /// Sources recorded but never scored (scanners, IT tools): addresses or ADDR/LEN.
    pub allow_sources: Option<Vec<Spanned<String>>>,
    /// Evidence older than this no longer adds to a score.
    pub window: Option<Spanned<String>>,
    /// Confidence (0 to 1) per kind of evidence and per correlation.
    pub weights: Option<std::collections::BTreeMap<String, Spanned<f64>>>,
    /// Lowest scores of the levels.
    pub thresholds: Option<RawThresholds>,
    /// Highest score from typed usernames alone (kept below `high`).
    pub typed_name_cap: Option<Spanned<u8>>,
    /// Highest score from connections and page visits alone (kept below `medium`).
    pub scan_cap: Option<Spanned<u8>>,
}

/// `scoring.thresholds`.
#[derive(Debug, Default, Deserialize)]
pub struct RawThresholds {
    /// Lowest score of `low`.
    pub low: Option<Spanned<u8>>,
    /// Lowest score of `medium`.
    pub medium: Option<Spanned<u8>>,
    /// Lowest score of `high`.
    pub high: Option<Spanned<u8>>,
}

/// `lures:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawLures {
    /// How often planted lures are checked against what was planted.
    pub check_every: Option<Spanned<String>>,
    /// Executables whose opens of lures are not recorded (when attribution is on).
    pub ignore_processes: Option<Vec<Spanned<String>>>,
}

/// `sensor:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawSensor {
    /// Sensor id; default the host name.
    pub id: Option<Spanned<String>>,
    /// Data folder; default `./decoyd-data` next to the main file.
    pub data_dir: Option<Spanned<String>>,
    /// The fleet secret that mints and recognises honeytokens; default one of this sensor's
    /// own in the data dir.
    pub fleet_secret_file: Option<Spanned<String>>,
    /// The host name lures use for decoys that listen on every address; default the
    /// machine's host name.
    pub advertise_host: Option<Spanned<String>>,
}

/// `admin:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawAdmin {
    /// Listen address of the admin API.
    pub listen: Option<Spanned<String>>,
}

/// `store:` section.
#[derive(Debug, Default, Deserialize)]
pub struct RawStore {
    /// Touches older than this are pruned.
    pub retention: Option<Spanned<String>>,
    /// Touches beyond this many bytes are pruned, oldest first.
    pub max_size: Option<Spanned<String>>,
    /// Touches waiting for the disk before decoys slow down.
    pub write_queue: Option<Spanned<u32>>,
    /// Memory sled may use for its page cache.
    pub cache_size: Option<Spanned<String>>,
    /// Under load, how long a group commit waits for more touches before it syncs.
    pub commit_window: Option<Spanned<String>>,
}

/// How passwords typed at decoys are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapturePasswords {
    /// Keyed hash with the per-sensor secret, plus length and character classes.
    #[default]
    Hashed,
    /// The typed text itself: labs only.
    Plaintext,
}

/// Just the `kind:` of a decoy file, read first so the body's errors keep their positions.
#[derive(Debug, Deserialize)]
pub struct RawKind {
    /// The decoy kind.
    pub kind: Option<Spanned<String>>,
}

/// A `kind: http` decoy file.
#[derive(Debug, Deserialize)]
pub struct RawHttp {
    /// Always `http` here.
    #[allow(dead_code)]
    pub kind: String,
    /// Address and port to listen on.
    pub listen: Spanned<String>,
    /// Built-in page set: `generic` (default) or a product skin.
    pub skin: Option<Spanned<String>>,
    /// Generic skin only: a custom login page template.
    pub page: Option<Spanned<String>>,
    /// Generic skin only: the page title and product name shown.
    pub title: Option<Spanned<String>>,
    /// Generic skin only: the `Server` header.
    pub server_header: Option<Spanned<String>>,
    /// Delay before answering a login attempt, e.g. `200ms..600ms`.
    pub answer_delay: Option<Spanned<String>>,
    /// Resource limits.
    pub limits: Option<RawHttpLimits>,
}

/// `limits:` of an HTTP decoy.
#[derive(Debug, Default, Deserialize)]
pub struct RawHttpLimits {
    /// Time allowed for a request's headers.
    pub header_read_timeout: Option<Spanned<String>>,
    /// Time allowed for a request's body.
    pub body_read_timeout: Option<Spanned<String>>,
    /// Time an answer may stay unread before the connection is closed.
    pub write_timeout: Option<Spanned<String>>,
    /// Largest request head.
    pub max_header_size: Option<Spanned<String>>,
    /// Largest request body read.
    pub max_body_size: Option<Spanned<String>>,
    /// Connections open at once on this decoy.
    pub max_connections: Option<Spanned<u32>>,
    /// Connections open at once from one source address.
    pub max_connections_per_source: Option<Spanned<u32>>,
}

/// A `kind: ssh` decoy file.
#[derive(Debug, Deserialize)]
pub struct RawSsh {
    /// Always `ssh` here.
    #[allow(dead_code)]
    pub kind: String,
    /// Address and port to listen on.
    pub listen: Spanned<String>,
    /// The OpenSSH build imitated, e.g. `openssh-9.6p1-ubuntu`.
    pub profile: Option<Spanned<String>>,
    /// Delay before a failed password is answered, e.g. `2s..4s`.
    pub failure_delay: Option<Spanned<String>>,
    /// Time allowed to log in.
    pub login_grace_time: Option<Spanned<String>>,
    /// Failed attempts allowed per connection.
    pub max_auth_tries: Option<Spanned<u32>>,
    /// The only credentials accepted.
    pub accept: Option<Vec<RawAccept>>,
    /// Let the honeytokens of lures bound to this decoy into the fake shell.
    pub accept_honeytokens: Option<Spanned<bool>>,
    /// The fake host behind an accepted login.
    pub shell: Option<RawShell>,
    /// Resource limits.
    pub limits: Option<RawSshLimits>,
}

/// One `accept:` item.
#[derive(Debug, Deserialize)]
pub struct RawAccept {
    /// Login name.
    pub user: Spanned<String>,
    /// A password that logs in as `user`.
    pub password: Option<Spanned<String>>,
    /// A public key (`ssh-ed25519 AAAA... comment`) that logs in as `user`.
    pub key: Option<Spanned<String>>,
}

/// `shell:` of an SSH decoy.
#[derive(Debug, Default, Deserialize)]
pub struct RawShell {
    /// Host name shown by `hostname` and the prompt.
    pub hostname: Option<Spanned<String>>,
    /// Files `cat` shows: absolute path to content.
    pub files: Option<std::collections::BTreeMap<String, Spanned<String>>>,
}

/// `limits:` of an SSH decoy.
#[derive(Debug, Default, Deserialize)]
pub struct RawSshLimits {
    /// Connections open at once on this decoy.
    pub max_connections: Option<Spanned<u32>>,
    /// Connections open at once from one source address.
    pub max_connections_per_source: Option<Spanned<u32>>,
    /// Idle time after which an accepted session is closed.
    pub idle_timeout: Option<Spanned<String>>,
}

/// A `kind: lure` decoy file.
#[derive(Debug, Deserialize)]
pub struct RawLure {
    /// Always `lure` here.
    #[allow(dead_code)]
    pub kind: String,
    /// The sensor id that plants and watches it.
    pub host: Spanned<String>,
    /// Where the file goes.
    pub path: Spanned<String>,
    /// Whose secret it pretends to be.
    pub owner: Spanned<String>,
    /// A built-in template.
    pub template: Option<Spanned<String>>,
    /// A custom template file, instead of a built-in.
    pub template_file: Option<Spanned<String>>,
    /// The decoy its credential is for.
    pub credential_for: Option<Spanned<String>>,
    /// What the file names.
    pub target: Option<RawTarget>,
    /// File mode, octal, e.g. `"0600"`.
    pub mode: Option<Spanned<String>>,
    /// File owner: a user name, a uid, or `uid:gid`.
    pub file_owner: Option<Spanned<String>>,
    /// How old the file looks, e.g. `90d`.
    pub age: Option<Spanned<String>>,
}

/// `target:` of a lure.
#[derive(Debug, Default, Deserialize)]
pub struct RawTarget {
    /// Host name or address.
    pub host: Option<Spanned<String>>,
    /// Port.
    pub port: Option<Spanned<u16>>,
    /// Login name.
    pub user: Option<Spanned<String>>,
}
