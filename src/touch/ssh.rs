//! What the SSH decoy records. One connection yields: an [`SshAuth`] per authentication
//! request (written before its answer), an [`SshCommand`] per command line of an accepted
//! session (written before its output), an [`SshRequest`] per refused channel or forwarding
//! request, and one [`SshConnection`] when the connection ends. The client's identification
//! string and HASSH are in every auth record, so each stands on its own in a SIEM.

use serde::{Deserialize, Serialize};

use super::Password;

/// The client software as it introduced itself, and the fingerprint of its key exchange offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshClient {
    /// The client's identification line (`SSH-2.0-...`), escaped and bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// HASSH of the client's KEXINIT: md5 of its kex, cipher, MAC and compression lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hassh: Option<String>,
}

/// How a client tried to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SshAuthMethod {
    /// `none`, after the first request (the first one only asks for the methods and is
    /// recorded with the connection).
    None,
    /// A password.
    Password,
    /// A public key (offered, or signed).
    Publickey,
    /// Keyboard-interactive (refused by builds that do not offer it).
    KeyboardInteractive,
}

/// The answer an authentication request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SshAuthResult {
    /// Refused; the client may try again.
    Failure,
    /// Refused, and this was the last failure allowed: the connection was closed with
    /// "Too many authentication failures".
    TooManyFailures,
    /// Accepted: a credential the decoy's config lists under `accept:`.
    Accepted,
}

/// A public key offered for authentication.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshKey {
    /// Algorithm, e.g. `ssh-ed25519`, `rsa-sha2-512`.
    pub algorithm: String,
    /// `SHA256:...`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

/// One authentication request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshAuth {
    /// Which request of the connection this was (1 for the first).
    pub attempt: u32,
    /// The method.
    pub method: SshAuthMethod,
    /// The username, bounded.
    pub username: String,
    /// The password, as a keyed hash unless lab mode keeps plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// The new password of a request to change the password (`password` holds the old one),
    /// hashed like it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_password: Option<Password>,
    /// The public key offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SshKey>,
    /// Keyboard-interactive submethods requested, bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submethods: Option<String>,
    /// The answer.
    pub result: SshAuthResult,
    /// Who the client said it was.
    #[serde(flatten)]
    pub client: SshClient,
}

/// Where a command line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SshCommandSource {
    /// Typed (or piped) into an interactive shell.
    Shell,
    /// An `exec` request (`ssh host 'command'`).
    Exec,
    /// A line typed at a program's password prompt in the shell (sudo's), with the
    /// terminal's echo off: `command` names the program, and the line is kept only as
    /// `password`, hashed like a login password.
    Prompt,
}

/// One command line in an accepted session, and how the fake host answered it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshCommand {
    /// The username the session logged in as.
    pub username: String,
    /// Shell line or exec request.
    pub source: SshCommandSource,
    /// The command line, bounded.
    pub command: String,
    /// Exit status the fake shell reported.
    pub status: u32,
    /// What was typed at a password prompt (`source: prompt`), hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
}

/// A channel or global request the decoy refused: port forwarding, subsystems, agent or X11
/// forwarding, too many sessions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshRequest {
    /// The username, when the session was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The request type: `direct-tcpip`, `tcpip-forward`, `subsystem`, `x11-req`, ...
    pub request: String,
    /// What it asked for (target address, subsystem name), bounded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Why an SSH connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SshEnd {
    /// The client closed it (or sent a disconnect).
    Closed,
    /// The first line was not an SSH identification string; the decoy answered as OpenSSH
    /// does and closed.
    NotSsh,
    /// The client named another protocol version (SSH-1.x).
    BadVersion,
    /// No successful login within `login_grace_time`.
    LoginGraceTime,
    /// Idle for longer than the idle timeout.
    Idle,
    /// Closed after the last authentication failure allowed.
    TooManyFailures,
    /// The client sent something the protocol does not allow (bad packet, failed key
    /// exchange, oversized packet).
    ProtocolError,
    /// The daemon stopped.
    Shutdown,
}

/// One SSH connection, recorded when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SshConnection {
    /// How it ended.
    pub ended: SshEnd,
    /// How long it was open, in milliseconds.
    pub duration_ms: u64,
    /// Bytes received from the client.
    pub bytes_in: u64,
    /// Bytes sent to the client.
    pub bytes_out: u64,
    /// Authentication requests made, counting the first `none` request.
    pub auth_attempts: u32,
    /// The username of a first `none` request: OpenSSH clients open with one to learn the
    /// methods before they try a credential; it is recorded here, not as an attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_user: Option<String>,
    /// The username of an accepted login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_user: Option<String>,
    /// Command lines recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commands: u32,
    /// Who the client said it was.
    #[serde(flatten)]
    pub client: SshClient,
    /// The client's first bytes, escaped, when they were not an SSH identification string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub preview: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
