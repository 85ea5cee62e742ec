//! The SSH decoy (`kind: ssh`): an OpenSSH look-alike on russh. A realism [`profile`] fixes
//! the banner, algorithm lists, host key types and auth methods of one real build; host keys
//! are made once and kept ([`hostkeys`]); the client's identification and KEXINIT are copied
//! off the socket as russh reads them ([`wire`]); every authentication request is recorded
//! before it is answered, with OpenSSH's semantics: all methods stay available after a
//! failure, failures are delayed, the sixth ends the connection with "Too many
//! authentication failures" ([`handler`]). Nothing is accepted except credentials listed
//! under `accept:`; those reach a fake shell that executes nothing ([`shell`], [`tty`]).

pub mod distro;
pub mod handler;
pub mod hostkeys;
pub mod kexinit;
pub mod profile;
pub mod shell;
pub mod ssh_client;
pub mod tty;
pub mod wire;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use russh::keys::{PrivateKey, PublicKey};
use russh::{MethodSet, SshId};
use tokio::net::{TcpListener, TcpStream};
use tracing::{Instrument, debug, info_span};

use self::handler::{Conn, ConnError, Stats};
use self::profile::Profile;
use self::shell::{Host, Sshd, User};
use self::wire::{Tap, Wire};
use super::DecoyCtx;
use super::limit::ConnPermit;
use super::listen::{self, OpenGuard};
use crate::config::units::DelayRange;
use crate::honeytoken::Match;
use crate::touch::{Event, SshConnection, SshEnd};

/// Settings of one SSH decoy.
#[derive(Clone, Debug)]
pub struct SshSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The OpenSSH build it imitates.
    pub profile: Profile,
    /// Delay before a failed password or keyboard-interactive attempt is answered (the PAM
    /// delay of the imitated build). Zero turns off every failure delay.
    pub failure_delay: DelayRange,
    /// Time allowed from connect to a successful login (OpenSSH `LoginGraceTime`).
    pub login_grace_time: Duration,
    /// Failed authentication requests allowed per connection (OpenSSH `MaxAuthTries`).
    pub max_auth_tries: u32,
    /// The only credentials ever accepted.
    pub accept: Vec<Accept>,
    /// Whether the honeytokens of lures bound to this decoy (`credential_for`) log in too.
    pub accept_honeytokens: bool,
    /// The fake host behind an accepted login.
    pub shell: ShellSettings,
    /// Resource limits.
    pub limits: SshLimits,
}

impl SshSettings {
    /// Default failure delay: what a failed password costs on a stock Debian or Ubuntu sshd
    /// with PAM (measured here on Debian 12: 1.9 to 4.5 s).
    pub const DEFAULT_FAILURE_DELAY: DelayRange = DelayRange {
        min: Duration::from_secs(2),
        max: Duration::from_secs(4),
    };
    /// OpenSSH's LoginGraceTime default.
    pub const DEFAULT_LOGIN_GRACE_TIME: Duration = Duration::from_secs(120);
    /// OpenSSH's MaxAuthTries default.
    pub const DEFAULT_MAX_AUTH_TRIES: u32 = 6;
}

/// A credential that opens the fake shell.
#[derive(Clone)]
pub struct Accept {
    /// Login name.
    pub user: String,
    /// What proves it.
    pub secret: Secret,
}

/// The secret half of an accepted credential.
#[derive(Clone)]
pub enum Secret {
    /// A password.
    Password(String),
    /// A public key (the client must prove it holds the private half).
    Key(Box<PublicKey>),
}

impl fmt::Debug for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.secret {
            Secret::Password(_) => "password [redacted]",
            Secret::Key(_) => "public key",
        };
        f.debug_struct("Accept")
            .field("user", &self.user)
            .field("secret", &what)
            .finish()
    }
}

/// The fake host's settings.
#[derive(Clone, Debug, Default)]
pub struct ShellSettings {
    /// Its host name.
    pub hostname: String,
    /// Files `cat` can show: absolute path and content.
    pub files: Vec<(String, String)>,
}

/// Resource limits of one SSH decoy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one source address.
    pub max_connections_per_source: usize,
    /// An accepted session with no traffic for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for SshLimits {
    fn default() -> Self {
        SshLimits {
            max_connections: 256,
            max_connections_per_source: 32,
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// An SSH decoy with its host keys loaded, ready to serve.
pub struct Ready {
    settings: SshSettings,
    keys: Vec<PrivateKey>,
}

impl Ready {
    /// Loads (or creates, the first time) the decoy's host keys from the data dir.
    pub fn prepare(settings: &SshSettings, data_dir: &Path, decoy: &str) -> anyhow::Result<Ready> {
        let keys = hostkeys::load_or_create(
            &hostkeys::dir(data_dir, decoy),
            settings.profile.data().host_keys,
        )?;
        Ok(Ready {
            settings: settings.clone(),
            keys,
        })
    }
}

/// What every connection of one decoy shares.
pub struct Shared {
    settings: SshSettings,
    ctx: DecoyCtx,
    config: Arc<russh::server::Config>,
    methods: MethodSet,
    host: Arc<Host>,
    /// The listener's address when it names one IP address: every connection's own local
    /// address, known without asking the kernel (one system call less per connection).
    local: Option<SocketAddr>,
    /// Previous login per user, for the "Last login:" line (as lastlog would show it).
    last_login: Mutex<HashMap<String, (SystemTime, IpAddr)>>,
}

impl Shared {
    /// The user an accepted password logs in as.
    fn accepts_password(&self, user: &str, password: &str) -> Option<User> {
        let ok = self.settings.accept.iter().any(|a| {
            a.user == user
                && matches!(&a.secret, Secret::Password(p) if constant_time_eq(p.as_bytes(), password.as_bytes()))
        });
        ok.then(|| self.host.user(user).cloned()).flatten()
    }

    /// The user a recognised honeytoken logs in as: only with `accept_honeytokens`, only a
    /// token of a lure bound to this decoy, and only as the user that lure names.
    fn accepts_honeytoken(&self, user: &str, m: &Match) -> Option<User> {
        let lure = m.lure.as_ref()?;
        let ok = self.settings.accept_honeytokens
            && lure.credential_for.as_deref() == Some(&*self.ctx.name)
            && lure.user.as_deref() == Some(user);
        ok.then(|| self.host.user(user).cloned()).flatten()
    }

    /// Whether `key` may log in as `user`.
    fn accepts_key(&self, user: &str, key: &PublicKey) -> bool {
        self.settings.accept.iter().any(|a| {
            a.user == user && matches!(&a.secret, Secret::Key(k) if k.key_data() == key.key_data())
        })
    }

    /// Takes the previous login of `user` and records this one.
    fn last_login(&self, user: &str, from: IpAddr) -> Option<(SystemTime, IpAddr)> {
        let mut m = self.last_login.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(user.to_string(), (SystemTime::now(), from))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The fake host's users: those of `accept:`, then the users named by lures whose
/// honeytokens log in here; one per distinct name, root as uid 0, the others from 1000 up
/// in that order.
fn users<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<User> {
    let mut users: Vec<User> = Vec::new();
    let mut next = 1000;
    for name in names {
        if users.iter().any(|u| u.name == name) {
            continue;
        }
        let uid = if name == "root" {
            0
        } else {
            next += 1;
            next - 1
        };
        users.push(User {
            name: name.to_string(),
            uid,
        });
    }
    users
}

/// The TYPE of `/etc/ssh/ssh_host_TYPE_key` for a host key algorithm.
fn key_file_type(a: russh::keys::Algorithm) -> Option<&'static str> {
    match a {
        russh::keys::Algorithm::Ed25519 => Some("ed25519"),
        russh::keys::Algorithm::Ecdsa { .. } => Some("ecdsa"),
        russh::keys::Algorithm::Rsa { .. } => Some("rsa"),
        _ => None,
    }
}

/// Serves the decoy on `listener` until `ctx.shutdown` fires.
pub async fn run(listener: TcpListener, ready: Ready, ctx: DecoyCtx) {
    let span = info_span!("decoy", name = %ctx.name, kind = "ssh");
    async move {
        let Ready { settings, keys } = ready;
        let profile = settings.profile;
        debug!(profile = %profile, "serving");
        let config = russh::server::Config {
            server_id: SshId::Standard(profile.data().id.into()),
            methods: profile.methods(),
            // Failures are delayed by the handler, per method, as OpenSSH delays them.
            auth_rejection_time: Duration::ZERO,
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys,
            preferred: profile.preferred(),
            // The handler ends the connection at max_auth_tries; this is only a backstop.
            max_auth_attempts: settings.max_auth_tries as usize + 2,
            inactivity_timeout: Some(settings.limits.idle_timeout),
            keepalive_interval: None,
            server_sig_algs: Some(
                profile
                    .data()
                    .server_sig_algs
                    .iter()
                    .map(|a| a.to_string())
                    .collect(),
            ),
            publickey_hostbound: true,
            ping: profile.data().ping,
            openssh_dispatch: true,
            invalid_types_from: Some(profile.data().invalid_types_from),
            // sshd reads a client's EXT_INFO since 9.6, the release that lists ext-info-s.
            ext_info_in_auth: profile.data().kex.contains(&"ext-info-s"),
            // sshd sends EXT_INFO in the flight that carries its NEWKEYS.
            ext_info_with_newkeys: true,
            ..Default::default()
        };
        let bound = if settings.accept_honeytokens {
            ctx.honeytokens.bound_to(&ctx.name)
        } else {
            Vec::new()
        };
        let names = settings
            .accept
            .iter()
            .map(|a| a.user.as_str())
            .chain(bound.iter().filter_map(|l| l.user.as_deref()));
        let sshd = Sshd {
            port: listener.local_addr().map_or(22, |a| a.port()),
            host_keys: config
                .keys
                .iter()
                .filter_map(|k| {
                    Some((
                        key_file_type(k.algorithm())?,
                        k.public_key().to_openssh().ok()?,
                    ))
                })
                .collect(),
        };
        let host = Host::new(
            &settings.shell.hostname,
            &profile.data().distro,
            users(names),
            &settings.shell.files,
        )
        .with_sshd(&sshd);
        let (max, per_source) = (
            settings.limits.max_connections,
            settings.limits.max_connections_per_source,
        );
        let local = listener
            .local_addr()
            .ok()
            .filter(|a| !a.ip().is_unspecified());
        let shared = Arc::new(Shared {
            local,
            methods: profile.methods(),
            settings,
            ctx: ctx.clone(),
            config: Arc::new(config),
            host: Arc::new(host),
            last_login: Mutex::new(HashMap::new()),
        });
        listen::accept_loop(listener, &ctx, max, per_source, |stream, peer, permit| {
            let conn = serve(stream, peer, shared.clone(), permit);
            ctx.tracker.spawn(conn.in_current_span());
        })
        .await;
    }
    .instrument(span)
    .await
}

async fn serve(stream: TcpStream, peer: SocketAddr, sh: Arc<Shared>, _permit: ConnPermit) {
    let started = Instant::now();
    let _open = OpenGuard::new(&sh.ctx);
    // Interactive traffic: without this each small reply waits for the client's delayed ACK
    // (russh's own `nodelay` setting applies only to the listeners it accepts on itself).
    let _ = stream.set_nodelay(true);
    let local = sh
        .local
        .unwrap_or_else(|| stream.local_addr().unwrap_or(peer));
    let tap = Arc::new(Tap::default());
    let wire = Wire::new(
        stream,
        tap.clone(),
        sh.settings.login_grace_time,
        sh.ctx.shutdown.clone(),
    );
    let stats = Arc::new(Stats::default());
    let conn = Conn::new(sh.clone(), peer, local, tap.clone(), stats.clone());
    let result = match russh::server::run_stream(sh.config.clone(), wire, conn).await {
        Ok(session) => session.await,
        Err(e) => Err(e),
    };
    let ended = tap.ended().unwrap_or_else(|| match &result {
        Ok(()) => SshEnd::Closed,
        Err(e) => e.end(),
    });
    if let Err(e) = &result {
        debug!(peer = %peer, error = %e, ?ended, "connection ended");
    }
    let (bytes_in, bytes_out) = tap.bytes();
    let event = Event::SshConnection(SshConnection {
        ended,
        duration_ms: started.elapsed().as_millis() as u64,
        bytes_in,
        bytes_out,
        auth_attempts: stats.auth_attempts(),
        probe_user: stats.probe_user(),
        accepted_user: stats.accepted_user(),
        commands: stats.commands(),
        client: tap.client(),
        preview: tap.garbage(),
    });
    let _ = sh.ctx.store.record(sh.ctx.touch(peer, local, event)).await;
}

impl ConnError {
    /// How a session that ended with this error is recorded.
    fn end(&self) -> SshEnd {
        match self {
            ConnError::Ssh(russh::Error::InactivityTimeout) => SshEnd::Idle,
            ConnError::Ssh(russh::Error::IO(_) | russh::Error::Disconnect) => SshEnd::Closed,
            ConnError::NotDurable => SshEnd::Closed,
            ConnError::Ssh(_) => SshEnd::ProtocolError,
        }
    }
}
