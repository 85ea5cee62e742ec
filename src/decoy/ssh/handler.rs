//! One SSH connection as russh drives it: authentication with OpenSSH's semantics, and the
//! channels of an accepted login. Every authentication request and every command line is in
//! the store before its answer goes out; if the store cannot take it, the connection ends
//! unanswered.
//!
//! OpenSSH's rules, copied: the first `none` request is free and every other failure counts;
//! a failure keeps every method available; the failure that reaches `max_auth_tries` ends the
//! connection with "Too many authentication failures"; a failed password waits for the PAM
//! delay and every failure for OpenSSH's per-user 5–9 ms.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use russh::keys::{HashAlg, PublicKey};
use russh::server::{
    Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Response, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelOpenFailure, Disconnect};
use sha2::Sha256;
use tracing::debug;

use super::Shared;
use super::shell::{self, Shell, User};
use super::tty::{Key, LineEditor};
use super::wire::Tap;
use crate::config::units::DelayRange;
use crate::honeytoken::Match;
use crate::touch::{
    Event, HoneytokenUsed, HoneytokenVia, MAX_FIELD, SshAuth, SshAuthMethod, SshAuthResult,
    SshClient, SshCommand, SshCommandSource, SshEnd, SshKey, SshRequest, Touch, clip,
};

/// Sessions one connection may open (OpenSSH `MaxSessions`).
const MAX_SESSIONS: usize = 10;

/// Why a session ended early, as the handler sees it.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// russh failed or the client misbehaved.
    #[error(transparent)]
    Ssh(#[from] russh::Error),
    /// A touch could not be made durable, so nothing more is answered.
    #[error("a touch could not be stored")]
    NotDurable,
}

/// Counters the connection task reads when the session is over.
#[derive(Debug, Default)]
pub struct Stats {
    auth_attempts: AtomicU32,
    commands: AtomicU32,
    accepted: Mutex<Option<String>>,
    probe_user: Mutex<Option<String>>,
}

impl Stats {
    /// Authentication requests made.
    pub fn auth_attempts(&self) -> u32 {
        self.auth_attempts.load(Ordering::Relaxed)
    }

    /// Command lines recorded.
    pub fn commands(&self) -> u32 {
        self.commands.load(Ordering::Relaxed)
    }

    /// The username of the `none` request a client opened with.
    pub fn probe_user(&self) -> Option<String> {
        self.probe_user
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The user an accepted login logged in as.
    pub fn accepted_user(&self) -> Option<String> {
        self.accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// One session channel of an accepted login.
#[derive(Default)]
struct Chan {
    /// The terminal type, when the client asked for a pty.
    term: Option<String>,
    /// Set once a shell runs on the channel.
    shell: Option<(Shell, LineEditor)>,
}

/// The russh handler of one connection.
pub struct Conn {
    sh: Arc<Shared>,
    peer: SocketAddr,
    local: SocketAddr,
    tap: Arc<Tap>,
    stats: Arc<Stats>,
    /// Set by the failure that reaches `max_auth_tries`: russh sends the disconnect instead of
    /// its failure reply.
    ends_session: bool,
    /// Authentication requests so far.
    requests: u32,
    /// Failures that count towards `max_auth_tries`.
    failures: u32,
    client: Option<SshClient>,
    user: Option<User>,
    /// The password of the accepted login, if it was one: sudo in the fake shell takes it.
    login_password: Option<String>,
    channels: HashMap<ChannelId, Chan>,
    /// A honeytoken recognised in the request being answered: recorded with its answer.
    honeytoken: Option<HoneytokenUsed>,
}

impl Conn {
    /// A handler for a new connection from `peer` to `local`.
    pub fn new(
        sh: Arc<Shared>,
        peer: SocketAddr,
        local: SocketAddr,
        tap: Arc<Tap>,
        stats: Arc<Stats>,
    ) -> Conn {
        Conn {
            sh,
            peer,
            local,
            tap,
            stats,
            ends_session: false,
            requests: 0,
            failures: 0,
            client: None,
            user: None,
            login_password: None,
            channels: HashMap::new(),
            honeytoken: None,
        }
    }

    fn touch(&self, event: Event) -> Touch {
        self.sh.ctx.touch(self.peer, self.local, event)
    }

    async fn record(&self, event: Event) -> Result<(), ConnError> {
        self.sh
            .ctx
            .store
            .record(self.touch(event))
            .await
            .map(|_| ())
            .map_err(|_| ConnError::NotDurable)
    }

    /// Records an auth request's touch, and the honeytoken use found in it, together.
    async fn record_auth(&mut self, event: SshAuth) -> Result<(), ConnError> {
        let Some(used) = self.honeytoken.take() else {
            return self.record(Event::SshAuth(event)).await;
        };
        let touches = vec![
            (self.touch(Event::HoneytokenUsed(used)), 1),
            (self.touch(Event::SshAuth(event)), 1),
        ];
        for (_, r) in self.sh.ctx.store.record_all(touches).await {
            r.map_err(|_| ConnError::NotDurable)?;
        }
        Ok(())
    }

    /// Checks an offered secret against the fleet's honeytokens, in memory, before anything
    /// hashes it; a match is kept for [`Conn::record_auth`].
    fn honeytoken(&mut self, user: &str, secret: &str, via: HoneytokenVia) -> Option<Match> {
        let m = self.sh.ctx.honeytokens.recognise(secret)?;
        m.log(self.peer, Some(user));
        self.honeytoken = Some(m.used(via, Some(user), false));
        Some(m)
    }

    /// The client's identification and HASSH: both are on the wire long before any
    /// authentication request, so they are read once, at the first.
    fn client(&mut self) -> SshClient {
        self.client.get_or_insert_with(|| self.tap.client()).clone()
    }

    fn reject(&self) -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(self.sh.methods.clone()),
            partial_success: false,
        }
    }

    /// Counts one authentication request.
    fn request(&mut self) -> u32 {
        self.requests += 1;
        self.stats
            .auth_attempts
            .store(self.requests, Ordering::Relaxed);
        self.requests
    }

    fn auth_event(
        &mut self,
        method: SshAuthMethod,
        user: &str,
        password: Option<&str>,
        result: SshAuthResult,
    ) -> SshAuth {
        SshAuth {
            attempt: self.requests,
            method,
            username: clip(user, MAX_FIELD),
            password: password.map(|p| self.sh.ctx.hasher.capture(p)),
            key: None,
            new_password: None,
            submethods: None,
            result,
            client: self.client(),
        }
    }

    /// Records a failed request, waits as OpenSSH would, and answers it; the failure that
    /// reaches the limit ends the connection instead.
    async fn fail(&mut self, mut event: SshAuth) -> Result<Auth, ConnError> {
        self.failures += 1;
        let last = self.failures >= self.sh.settings.max_auth_tries;
        if last {
            event.result = SshAuthResult::TooManyFailures;
        }
        let delay = failure_delay(&self.sh.settings.failure_delay, &self.sh.ctx.seed, &event);
        let (stored, ()) = tokio::join!(self.record_auth(event), tokio::time::sleep(delay));
        stored?;
        if last {
            self.tap.end(SshEnd::TooManyFailures);
            // OpenSSH answers the last failure with the disconnect alone: russh drops the
            // failure reply for this one when `auth_rejection_ends_session` says so.
            self.ends_session = true;
        }
        Ok(self.reject())
    }

    /// A refused public key (or certificate).
    async fn fail_key(&mut self, user: &str, key: SshKey) -> Result<Auth, ConnError> {
        let mut event =
            self.auth_event(SshAuthMethod::Publickey, user, None, SshAuthResult::Failure);
        event.key = Some(key);
        self.fail(event).await
    }

    async fn accepted(
        &mut self,
        method: SshAuthMethod,
        user: User,
        password: Option<&str>,
        key: Option<SshKey>,
    ) -> Result<Auth, ConnError> {
        let mut event = self.auth_event(method, &user.name, password, SshAuthResult::Accepted);
        event.key = key;
        self.record_auth(event).await?;
        tracing::info!(peer = %self.peer, user = ?user.name, "login accepted");
        *self
            .stats
            .accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(user.name.clone());
        self.user = Some(user);
        self.login_password = password.map(str::to_string);
        self.tap.set_authenticated();
        Ok(Auth::Accept)
    }

    async fn refuse_request(&self, request: &str, detail: String) -> Result<(), ConnError> {
        debug!(peer = %self.peer, request, detail = ?detail, "request refused");
        self.record(Event::SshRequest(SshRequest {
            username: self.user.as_ref().map(|u| u.name.clone()),
            request: request.to_string(),
            detail: clip(&detail, MAX_FIELD),
        }))
        .await
    }

    /// Waits out what the commands' `sleep`s asked for, up to `MAX_SLEEP` and half the idle
    /// timeout (the session reads nothing meanwhile, so a longer wait would end it as idle),
    /// or until the daemon stops.
    async fn sleep(&self, asked: Duration) {
        let wait = asked
            .min(MAX_SLEEP)
            .min(self.sh.settings.limits.idle_timeout / 2);
        if wait.is_zero() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.sh.ctx.shutdown.cancelled() => {}
        }
    }

    /// Runs the lines a shell channel completed; records them all, then answers.
    async fn keys(
        &mut self,
        channel: ChannelId,
        keys: Vec<Key>,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        let Some(user) = self.user.as_ref().map(|u| u.name.clone()) else {
            return Ok(());
        };
        let Some(chan) = self.channels.get_mut(&channel) else {
            return Ok(());
        };
        let color = chan.term.as_deref().is_some_and(color_term);
        let Some((shell, editor)) = chan.shell.as_mut() else {
            return Ok(());
        };
        let tty = editor.tty;
        let (mut out, mut err) = (String::new(), String::new());
        let mut events = Vec::new();
        let mut exit = None;
        let mut slept = Duration::ZERO;
        for key in keys {
            if shell.asks_password() {
                // A line at sudo's prompt is a password: kept hashed, never as text.
                let o = match &key {
                    Key::Line(line) => {
                        events.push((
                            self.sh.ctx.touch(
                                self.peer,
                                self.local,
                                Event::SshCommand(SshCommand {
                                    username: user.clone(),
                                    source: SshCommandSource::Prompt,
                                    command: "sudo".into(),
                                    status: 1,
                                    password: Some(self.sh.ctx.hasher.capture(line)),
                                }),
                            ),
                            1,
                        ));
                        shell.answer_password(line)
                    }
                    Key::Interrupt => shell.stop_asking(false),
                    Key::Eof => shell.stop_asking(true),
                };
                slept = slept.saturating_add(o.slept);
                out.push_str(&o.stdout);
                if !shell.asks_password() {
                    out.push_str(&shell.prompt(color));
                }
                continue;
            }
            match key {
                Key::Line(line) => {
                    if !line.trim().is_empty() {
                        let o = shell.run_input(&line);
                        events.push((
                            self.sh.ctx.touch(
                                self.peer,
                                self.local,
                                Event::SshCommand(SshCommand {
                                    username: user.clone(),
                                    source: SshCommandSource::Shell,
                                    command: clip(&line, MAX_FIELD),
                                    status: o.status,
                                    password: None,
                                }),
                            ),
                            1,
                        ));
                        slept = slept.saturating_add(o.slept);
                        out.push_str(&o.stdout);
                        if tty {
                            out.push_str(&o.stderr);
                        } else {
                            err.push_str(&o.stderr);
                        }
                        if o.exit {
                            exit = Some(o.status);
                            break;
                        }
                    }
                    if tty && !shell.asks_password() {
                        out.push_str(&shell.prompt(color));
                    }
                }
                Key::Interrupt => {
                    shell.cancel_input();
                    out.push_str(&shell.prompt(color));
                }
                Key::Eof => {
                    if tty {
                        out.push_str("logout\n");
                    }
                    exit = Some(0);
                    break;
                }
            }
        }
        editor.hidden = shell.asks_password();
        let n = events.len() as u32;
        if n > 0 {
            let results = self.sh.ctx.store.record_all(events).await;
            if results.iter().any(|(_, r)| r.is_err()) {
                return Err(ConnError::NotDurable);
            }
            self.stats.commands.fetch_add(n, Ordering::Relaxed);
        }
        self.sleep(slept).await;
        send(session, channel, &out, &err, tty)?;
        if let Some(status) = exit {
            end_channel(session, channel, status)?;
            self.channels.remove(&channel);
        }
        Ok(())
    }
}

/// How long a failure waits before its answer: PAM's delay (`range`) for passwords, and
/// OpenSSH's own per-user floor for every failure.
///
/// A request to change the password gets the floor only: sshd refuses it without asking PAM,
/// so PAM's delay never comes.
fn failure_delay(range: &DelayRange, seed: &[u8; 32], event: &SshAuth) -> Duration {
    if range.max.is_zero() {
        return Duration::ZERO;
    }
    let floor = user_delay(seed, &event.username);
    match event.method {
        SshAuthMethod::Password if event.new_password.is_some() => floor,
        SshAuthMethod::Password | SshAuthMethod::KeyboardInteractive => range.sample().max(floor),
        SshAuthMethod::Publickey | SshAuthMethod::None => floor,
    }
}

/// OpenSSH's per-user delay on failures: 5 ms plus up to 4.2 ms keyed on the user name, the
/// same for every attempt at one name (sshd keys it with a secret made at start-up; ours is
/// the decoy's, so it is also stable across restarts).
fn user_delay(seed: &[u8; 32], user: &str) -> Duration {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed).expect("any key length");
    mac.update(b"failure-delay\0");
    mac.update(user.as_bytes());
    let d = mac.finalize().into_bytes();
    let x = u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
    Duration::from_nanos(5_000_000 + ((x * 4_200_000) >> 32))
}

/// The longest a shell's `sleep` holds its answer back: long enough for an attacker's timing
/// check (`sleep 5; echo done`), short enough that a `sleep 3600` does not hold a session's
/// task for an hour.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// The stock `.bashrc` turns on a color prompt for these terminal types.
fn color_term(term: &str) -> bool {
    term == "xterm-color" || term.ends_with("-256color")
}

fn key_of(key: &PublicKey, algorithm: &russh::keys::Algorithm) -> SshKey {
    SshKey {
        algorithm: algorithm.to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    }
}

/// Most output sent for one batch of input: `cat` of many files in one line must not make
/// the decoy queue megabytes for a client.
const MAX_OUTPUT: usize = 64 * 1024;

/// Sends output; on a terminal, newlines become CR LF and stderr shares the stream. A client
/// that has stopped reading (its window is full and earlier output is still queued) gets no
/// more: the commands are still recorded, but nothing piles up in memory for it.
fn send(
    session: &mut Session,
    channel: ChannelId,
    out: &str,
    err: &str,
    tty: bool,
) -> Result<(), ConnError> {
    if session.has_pending_data(channel) {
        debug!(?channel, "client is not reading its output; output dropped");
        return Ok(());
    }
    let out = &out[..shell::floor_char_boundary(out, MAX_OUTPUT)];
    let err = &err[..shell::floor_char_boundary(err, MAX_OUTPUT)];
    if !out.is_empty() {
        let bytes = if tty {
            out.replace('\n', "\r\n")
        } else {
            out.to_string()
        };
        session.data(channel, bytes.into_bytes())?;
    }
    if !err.is_empty() {
        session.extended_data(channel, 1, err.as_bytes().to_vec())?;
    }
    Ok(())
}

fn end_channel(session: &mut Session, channel: ChannelId, status: u32) -> Result<(), ConnError> {
    session.exit_status_request(channel, status)?;
    session.eof(channel)?;
    session.close(channel)?;
    Ok(())
}

/// OpenSSH's description for a channel it will not open.
fn prohibited() -> ChannelOpenFailure {
    ChannelOpenFailure::Other {
        code: 1,
        reason: "open failed".into(),
    }
}

impl Handler for Conn {
    type Error = ConnError;

    fn auth_rejection_ends_session(&mut self) -> Option<(Disconnect, String)> {
        self.ends_session.then(|| {
            (
                Disconnect::ProtocolError,
                "Too many authentication failures".into(),
            )
        })
    }

    async fn auth_none(&mut self, user: &str) -> Result<Auth, ConnError> {
        if self.request() == 1 {
            // How every OpenSSH client learns the methods before it tries a credential: not a
            // failure, and not a touch of its own. The connection record keeps the name.
            *self
                .stats
                .probe_user
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(clip(user, MAX_FIELD));
            return Ok(self.reject());
        }
        let event = self.auth_event(SshAuthMethod::None, user, None, SshAuthResult::Failure);
        self.fail(event).await
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, ConnError> {
        self.request();
        if let Some(m) = self.honeytoken(user, password, HoneytokenVia::SshPassword)
            && let Some(u) = self.sh.accepts_honeytoken(user, &m)
        {
            if let Some(h) = self.honeytoken.as_mut() {
                h.accepted = true;
            }
            return self
                .accepted(SshAuthMethod::Password, u, Some(password), None)
                .await;
        }
        if let Some(u) = self.sh.accepts_password(user, password) {
            return self
                .accepted(SshAuthMethod::Password, u, Some(password), None)
                .await;
        }
        let event = self.auth_event(
            SshAuthMethod::Password,
            user,
            Some(password),
            SshAuthResult::Failure,
        );
        self.fail(event).await
    }

    async fn auth_password_change(
        &mut self,
        user: &str,
        password: &str,
        new_password: &str,
    ) -> Result<Auth, ConnError> {
        // sshd never logs in on a change request ("password change not supported"), whatever
        // the old password: a failed password attempt that also carries the new one.
        self.request();
        let _ = self.honeytoken(user, password, HoneytokenVia::SshPassword);
        let mut event = self.auth_event(
            SshAuthMethod::Password,
            user,
            Some(password),
            SshAuthResult::Failure,
        );
        event.new_password = Some(self.sh.ctx.hasher.capture(new_password));
        self.fail(event).await
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, ConnError> {
        if self.sh.accepts_key(user, offer.public_key) && self.sh.host.user(user).is_some() {
            // The signature decides; the attempt is recorded then.
            return Ok(Auth::Accept);
        }
        self.request();
        let key = key_of(offer.public_key, offer.algorithm);
        self.fail_key(user, key).await
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, ConnError> {
        self.request();
        let k = key_of(key.public_key, key.algorithm);
        if self.sh.accepts_key(user, key.public_key)
            && let Some(u) = self.sh.host.user(user).cloned()
        {
            return self
                .accepted(SshAuthMethod::Publickey, u, None, Some(k))
                .await;
        }
        self.fail_key(user, k).await
    }

    async fn auth_openssh_certificate(
        &mut self,
        user: &str,
        certificate: &russh::keys::Certificate,
    ) -> Result<Auth, ConnError> {
        self.request();
        let key = SshKey {
            algorithm: certificate.algorithm().to_certificate_type(),
            fingerprint: certificate
                .public_key()
                .fingerprint(HashAlg::Sha256)
                .to_string(),
        };
        self.fail_key(user, key).await
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        submethods: &str,
        _response: Option<Response<'a>>,
    ) -> Result<Auth, ConnError> {
        // Neither stock build enables keyboard-interactive: refused like any unknown method.
        self.request();
        let mut event = self.auth_event(
            SshAuthMethod::KeyboardInteractive,
            user,
            None,
            SshAuthResult::Failure,
        );
        if !submethods.is_empty() {
            event.submethods = Some(clip(submethods, MAX_FIELD));
        }
        self.fail(event).await
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), ConnError> {
        // Input reaches `data`; the channel object would only buffer a second copy.
        let id = channel.id();
        drop(channel);
        if self.user.is_none() || self.channels.len() >= MAX_SESSIONS {
            reply.reject(prohibited()).await;
            return Ok(());
        }
        self.channels.insert(id, Chan::default());
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), ConnError> {
        drop(channel);
        self.refuse_request(
            "direct-tcpip",
            format!("{host_to_connect}:{port_to_connect}"),
        )
        .await?;
        reply.reject(prohibited()).await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        channel: Channel<Msg>,
        socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), ConnError> {
        drop(channel);
        self.refuse_request("direct-streamlocal@openssh.com", socket_path.to_string())
            .await?;
        reply.reject(prohibited()).await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), ConnError> {
        drop(channel);
        reply.reject(prohibited()).await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, ConnError> {
        self.refuse_request("tcpip-forward", format!("{address}:{port}"))
            .await?;
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, ConnError> {
        self.refuse_request("streamlocal-forward@openssh.com", socket_path.to_string())
            .await?;
        Ok(false)
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), ConnError> {
        match self.channels.get_mut(&channel) {
            Some(c) if c.shell.is_none() => {
                c.term = Some(term.chars().take(64).collect());
                session.channel_success(channel)?;
            }
            _ => session.channel_failure(channel)?,
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        // Stock sshd_config: AcceptEnv LANG LC_*.
        if variable_name == "LANG" || variable_name.starts_with("LC_") {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        self.refuse_request("x11-req", String::new()).await?;
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, ConnError> {
        self.refuse_request("auth-agent-req@openssh.com", String::new())
            .await?;
        Ok(false)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        self.refuse_request("subsystem", name.to_string()).await?;
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        let Some(user) = self.user.clone() else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        let last = self.sh.last_login(&user.name, self.peer.ip());
        let Some(chan) = self.channels.get_mut(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        if chan.shell.is_some() {
            session.channel_failure(channel)?;
            return Ok(());
        }
        let tty = chan.term.is_some();
        let color = chan.term.as_deref().is_some_and(color_term);
        let sh = Shell::new(self.sh.host.clone(), user, tty)
            .from(self.peer)
            .on(self.local.ip())
            .with_password(self.login_password.clone());
        let mut banner = String::new();
        if tty {
            banner.push_str(&self.sh.host.motd());
            if let Some((at, from)) = last {
                banner.push_str(&format!("Last login: {} from {from}\n", shell::ctime(at)));
            }
            banner.push_str(&sh.prompt(color));
        }
        chan.shell = Some((sh, LineEditor::new(tty)));
        session.channel_success(channel)?;
        send(session, channel, &banner, "", tty)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), ConnError> {
        let (Some(user), true) = (self.user.clone(), self.channels.contains_key(&channel)) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        let command =
            String::from_utf8_lossy(&data[..data.len().min(shell::MAX_LINE)]).into_owned();
        let (stdout, stderr, status, slept) = match scp_refusal(&command) {
            Some(answer) => (answer, String::new(), 1, Duration::ZERO),
            None => {
                let o = Shell::new(self.sh.host.clone(), user.clone(), false)
                    .from(self.peer)
                    .on(self.local.ip())
                    .with_password(self.login_password.clone())
                    .run(&command);
                (o.stdout, o.stderr, o.status, o.slept)
            }
        };
        self.record(Event::SshCommand(SshCommand {
            username: user.name,
            source: SshCommandSource::Exec,
            command: clip(&command, MAX_FIELD),
            status,
            password: None,
        }))
        .await?;
        self.stats.commands.fetch_add(1, Ordering::Relaxed);
        session.channel_success(channel)?;
        self.sleep(slept).await;
        send(session, channel, &stdout, &stderr, false)?;
        end_channel(session, channel, status)?;
        self.channels.remove(&channel);
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), ConnError> {
        let Some((_, editor)) = self
            .channels
            .get_mut(&channel)
            .and_then(|c| c.shell.as_mut())
        else {
            return Ok(());
        };
        let (echo, keys) = editor.feed(data);
        if !echo.is_empty() {
            session.data(channel, echo)?;
        }
        self.keys(channel, keys, session).await
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), ConnError> {
        // Piped input has ended: the last line runs, then the shell exits.
        let Some((_, editor)) = self
            .channels
            .get_mut(&channel)
            .and_then(|c| c.shell.as_mut())
        else {
            return Ok(());
        };
        if editor.tty {
            return Ok(());
        }
        let keys = editor.finish();
        self.keys(channel, keys, session).await
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), ConnError> {
        self.channels.remove(&channel);
        Ok(())
    }
}

/// Legacy scp (`scp -O`) runs `scp -t DIR` to upload: writes are refused as an unwritable
/// folder refuses them.
fn scp_refusal(command: &str) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first() != Some(&"scp")
        || !words
            .iter()
            .any(|w| w.starts_with('-') && (w.contains('t') || w.contains('f')))
    {
        return None;
    }
    let target = words.last().copied().unwrap_or(".");
    let target: String = target.chars().take(256).collect();
    let why = if words.iter().any(|w| w.starts_with('-') && w.contains('f')) {
        "No such file or directory"
    } else {
        "Permission denied"
    };
    Some(format!("\x01scp: {target}: {why}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_user_delay_is_openssh_sized_and_stable() {
        let seed = [7; 32];
        let a = user_delay(&seed, "root");
        assert!(
            a >= Duration::from_millis(5) && a < Duration::from_micros(9200),
            "{a:?}"
        );
        assert_eq!(a, user_delay(&seed, "root"));
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|i| user_delay(&seed, &format!("u{i}")))
            .collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn a_password_change_waits_only_for_the_floor_a_password_for_pam() {
        let seed = [7; 32];
        let range = DelayRange {
            min: Duration::from_secs(2),
            max: Duration::from_secs(4),
        };
        let event = |method, new_password: Option<&str>| SshAuth {
            attempt: 1,
            method,
            username: "root".into(),
            password: None,
            new_password: new_password.map(|p| crate::touch::Password {
                hmac: String::new(),
                plaintext: None,
                length: p.len() as u32,
                classes: Vec::new(),
            }),
            key: None,
            submethods: None,
            result: SshAuthResult::Failure,
            client: Default::default(),
        };
        let floor = user_delay(&seed, "root");
        let pw = failure_delay(&range, &seed, &event(SshAuthMethod::Password, None));
        assert!(pw >= range.min && pw <= range.max, "{pw:?}");
        let change = event(SshAuthMethod::Password, Some("new"));
        assert_eq!(failure_delay(&range, &seed, &change), floor);
        let key = event(SshAuthMethod::Publickey, None);
        assert_eq!(failure_delay(&range, &seed, &key), floor);
        assert_eq!(
            failure_delay(&DelayRange::ZERO, &seed, &change),
            Duration::ZERO
        );
    }

    #[test]
    fn scp_writes_are_refused() {
        assert_eq!(
            scp_refusal("scp -t /tmp"),
            Some("\x01scp: /tmp: Permission denied\n".into())
        );
        assert_eq!(
            scp_refusal("scp -r -d -t -- ."),
            Some("\x01scp: .: Permission denied\n".into())
        );
        assert!(
            scp_refusal("scp -f /etc/passwd")
                .unwrap()
                .contains("No such file")
        );
        assert_eq!(scp_refusal("cat /etc/passwd"), None);
    }
}
