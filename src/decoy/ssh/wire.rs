//! The socket under russh. [`Wire`] passes bytes through unchanged while it:
//! - copies the client's first bytes (identification line and KEXINIT, bounded) as russh reads
//!   them, so failed logins can be attributed to a client version and HASSH;
//! - answers a first line that is not an SSH identification as OpenSSH does ("Invalid SSH
//!   identification string.", "Protocol major versions differ.") and ends the connection;
//! - ends the connection when the login grace time passes without a successful login, or the
//!   daemon stops;
//! - counts bytes both ways.
//!
//! The server's banner is not held back: russh writes it at once, and the server speaks first.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::kexinit::{self, Ident, KexLists};
use crate::touch::{SshClient, SshEnd, preview};

/// Bytes copied at most: an identification line with its CR LF and a large KEXINIT.
const MAX_CAPTURE: usize = kexinit::MAX_ID_LINE + 2 + 4 + kexinit::MAX_KEXINIT;

/// What the client said first, and how the connection is going; shared by the [`Wire`], the
/// session handler and the connection task.
#[derive(Debug, Default)]
pub struct Tap {
    first: Mutex<First>,
    authenticated: AtomicBool,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    end: Mutex<Option<SshEnd>>,
}

#[derive(Debug, Default)]
struct First {
    /// Copied bytes; emptied once the KEXINIT is parsed or the copy gives up.
    bytes: Vec<u8>,
    done: bool,
    ident: Option<Ident>,
    /// The HASSH of the client's KEXINIT, computed once when it is parsed.
    hassh: Option<String>,
    /// The first bytes, kept for the record when they were not SSH.
    garbage: String,
}

impl Tap {
    /// The client's identification and HASSH, as far as they are known.
    pub fn client(&self) -> SshClient {
        let f = self.first.lock().unwrap_or_else(|p| p.into_inner());
        SshClient {
            version: match &f.ident {
                Some(Ident::Ssh2(v)) => Some(v.clone()),
                _ => None,
            },
            hassh: f.hassh.clone(),
        }
    }

    /// The client's first bytes when they were not an SSH identification.
    pub fn garbage(&self) -> String {
        self.first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .garbage
            .clone()
    }

    /// Marks the login as successful: the grace timer no longer applies.
    pub fn set_authenticated(&self) {
        self.authenticated.store(true, Ordering::Relaxed);
    }

    /// Records why the connection ends, unless a reason is already known.
    pub fn end(&self, why: SshEnd) {
        let mut e = self.end.lock().unwrap_or_else(|p| p.into_inner());
        e.get_or_insert(why);
    }

    /// Why the connection ended, if something on our side ended it.
    pub fn ended(&self) -> Option<SshEnd> {
        *self.end.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes received and sent.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.bytes_in.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
        )
    }

    /// Copies newly read bytes; returns what to answer if the identification is refused.
    fn observe(&self, new: &[u8]) -> Option<&'static [u8]> {
        let mut f = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if f.done {
            return None;
        }
        let room = MAX_CAPTURE - f.bytes.len();
        let before = f.bytes.len();
        f.bytes.extend_from_slice(&new[..new.len().min(room)]);
        if !matches!(f.ident, Some(Ident::Ssh2(_))) {
            // A line still incomplete stays so while plain bytes arrive: judging it again
            // from the start for every small piece would cost a slow sender's connection
            // time quadratic in its line.
            let plain = |b: &u8| !matches!(b, b'\n' | b'\r' | 0);
            if before > 0
                && f.bytes[before - 1] != b'\r'
                && f.bytes[before..].iter().all(plain)
                && f.bytes.len() <= kexinit::MAX_ID_LINE
            {
                return None;
            }
            match kexinit::ident(&f.bytes) {
                Ident::Incomplete => return None,
                Ident::Ssh2(v) => f.ident = Some(Ident::Ssh2(v)),
                refused => {
                    let (answer, why) = if refused == Ident::OtherVersion {
                        (
                            &b"Protocol major versions differ.\r\n"[..],
                            SshEnd::BadVersion,
                        )
                    } else {
                        (
                            &b"Invalid SSH identification string.\r\n"[..],
                            SshEnd::NotSsh,
                        )
                    };
                    f.garbage = first_bytes(&f.bytes);
                    f.ident = Some(refused);
                    f.done = true;
                    f.bytes = Vec::new();
                    drop(f);
                    self.end(why);
                    return Some(answer);
                }
            }
        }
        let line_end = f
            .bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let packet = &f.bytes[line_end..];
        let complete = packet.len() >= 4 && {
            let len = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]) as usize;
            packet.len() >= 4 + len || len > kexinit::MAX_KEXINIT
        };
        if complete || f.bytes.len() >= MAX_CAPTURE {
            f.hassh = kexinit::kexinit(packet).as_ref().map(KexLists::hassh);
            f.done = true;
            f.bytes = Vec::new();
        }
        None
    }
}

/// The record of a first line that is not an identification. An `SSH-` line is kept as
/// sent; anything else may be a request meant for another service (with credentials in its
/// headers) or text typed by mistake, so it gets the same treatment as unrecognised input
/// to the HTTP decoy: a request line without its query, or a marker.
fn first_bytes(bytes: &[u8]) -> String {
    if bytes.starts_with(b"SSH-") {
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        preview(&bytes[..end])
    } else {
        crate::decoy::http::capture::safe_preview(bytes)
    }
}

/// The client's TCP stream as russh sees it.
pub struct Wire {
    inner: TcpStream,
    tap: std::sync::Arc<Tap>,
    grace: Pin<Box<Sleep>>,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// An answer to a refused identification, and how much of it is written.
    refusal: Option<(&'static [u8], usize)>,
    /// Bytes read ahead from the socket (already observed), and what of them russh has not
    /// taken yet: russh reads a packet in small steps (its length, then the rest), and one
    /// socket read serves them all.
    ahead: Box<[u8]>,
    start: usize,
    end: usize,
}

/// Read-ahead per connection: a few packets of a handshake.
const READ_AHEAD: usize = 4096;

impl Wire {
    /// Wraps `inner`; the connection ends `login_grace` from now unless a login succeeds, and
    /// when `shutdown` fires.
    pub fn new(
        inner: TcpStream,
        tap: std::sync::Arc<Tap>,
        login_grace: Duration,
        shutdown: CancellationToken,
    ) -> Wire {
        Wire {
            inner,
            tap,
            grace: Box::pin(tokio::time::sleep(login_grace)),
            shutdown: Box::pin(shutdown.cancelled_owned()),
            refusal: None,
            ahead: vec![0; READ_AHEAD].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.shutdown.as_mut().poll(cx).is_ready() {
            this.tap.end(SshEnd::Shutdown);
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        if !this.tap.authenticated.load(Ordering::Relaxed)
            && this.grace.as_mut().poll(cx).is_ready()
        {
            // OpenSSH closes without a word when LoginGraceTime passes.
            this.tap.end(SshEnd::LoginGraceTime);
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        loop {
            if let Some((answer, written)) = &mut this.refusal {
                while *written < answer.len() {
                    match Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]) {
                        Poll::Ready(Ok(n)) if n > 0 => *written += n,
                        Poll::Ready(_) => break,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                // russh sees the end of the stream and gives up on the connection.
                return Poll::Ready(Ok(()));
            }
            if this.start < this.end {
                let n = (this.end - this.start).min(buf.remaining());
                buf.put_slice(&this.ahead[this.start..this.start + n]);
                this.start += n;
                return Poll::Ready(Ok(()));
            }
            let mut ahead = ReadBuf::new(&mut this.ahead);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut ahead))?;
            let n = ahead.filled().len();
            this.tap.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            match this.tap.observe(&this.ahead[..n]) {
                None => {
                    this.start = 0;
                    this.end = n;
                }
                // russh never sees the refused line: what was read ahead is dropped.
                Some(answer) => this.refusal = Some((answer, 0)),
            }
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, data))?;
        this.tap.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_bounded_and_freed() {
        let tap = Tap::default();
        assert_eq!(tap.observe(b"SSH-2.0-Go\r\n"), None);
        assert_eq!(tap.client().version.as_deref(), Some("SSH-2.0-Go"));
        // A packet claiming to be huge ends the copy without a fingerprint.
        assert_eq!(tap.observe(&[0x7f, 0xff, 0xff, 0xff, 0, 0]), None);
        assert!(tap.first.lock().unwrap().done);
        assert!(tap.first.lock().unwrap().bytes.capacity() == 0);
        assert_eq!(tap.client().hassh, None);
        for _ in 0..100 {
            assert_eq!(tap.observe(&[0; 4096]), None);
        }
    }

    #[test]
    fn refused_identifications_get_openssh_answers() {
        let tap = Tap::default();
        assert_eq!(
            tap.observe(b"GET / HTTP/1.1\r\n"),
            Some(&b"Invalid SSH identification string.\r\n"[..])
        );
        assert_eq!(tap.ended(), Some(SshEnd::NotSsh));
        assert_eq!(tap.garbage(), "GET / HTTP/1.1\\r\\n…");
        let tap = Tap::default();
        tap.observe(b"hunter2 oops wrong window\r\n");
        assert_eq!(
            tap.garbage(),
            "[27 bytes of text that is not a request line]"
        );
        let tap = Tap::default();
        assert_eq!(
            tap.observe(b"SSH-1.5-x\n"),
            Some(&b"Protocol major versions differ.\r\n"[..])
        );
        assert_eq!(tap.ended(), Some(SshEnd::BadVersion));
    }

    #[test]
    fn an_identification_in_pieces_is_judged_as_a_whole() {
        let tap = Tap::default();
        for b in b"SSH-2.0-OpenSSH_9.6\r\n" {
            assert_eq!(tap.observe(&[*b]), None);
        }
        assert_eq!(tap.client().version.as_deref(), Some("SSH-2.0-OpenSSH_9.6"));
        let invalid = Some(&b"Invalid SSH identification string.\r\n"[..]);
        // A NUL, or a byte after a CR, arriving in a later piece is refused at once.
        for pieces in [
            &[&b"SSH-2.0-a"[..], b"b", b"\0"],
            &[b"SSH-2.0-a", b"\r", b"b"],
        ] {
            let tap = Tap::default();
            let answers: Vec<_> = pieces.iter().map(|p| tap.observe(p)).collect();
            assert_eq!(answers.last(), Some(&invalid), "{pieces:?}");
            assert!(answers[..answers.len() - 1].iter().all(Option::is_none));
        }
        // sshd's 8192 bytes are allowed; the 8193rd plain byte is refused as it arrives.
        let tap = Tap::default();
        assert_eq!(tap.observe(b"SSH-2.0-"), None);
        for _ in 8..kexinit::MAX_ID_LINE {
            assert_eq!(tap.observe(b"x"), None);
        }
        assert_eq!(tap.observe(b"x"), invalid);
    }
}
